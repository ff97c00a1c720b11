//! Go's `time.Duration` text format, which Eno manifests use (`eno.azure.io/reconcile-interval`)
//! and which error messages should echo back in the same spelling users wrote.
//!
//! The parser follows `time.ParseDuration` exactly (same grammar, same integer overflow rules,
//! same fraction rounding), so a value Eno accepts is accepted here and vice versa, except that
//! negative durations are rejected: no Eno annotation has a meaning for them.
//!
//! Why not `kube::core::Duration` (which the synthesizer's `execTimeout`/`podTimeout` use):
//! it accepts text Go refuses (the empty string, `-+5s`, values past Go's `1<<63 - 1` ns), so an
//! annotation Eno would reject would be honoured here. `kube_core_accepts_what_go_rejects`
//! below pins those cases.

use std::time::Duration;

/// Largest Go duration, in nanoseconds (`1<<63 - 1`).
const MAX_NANOS: u64 = i64::MAX as u64;
/// `1<<63`: Go compares against this before applying the sign.
const LIMIT: u64 = 1 << 63;

/// Parses a Go duration string such as `1h30m`, `15m`, `1.5s`, `300ms`, `2us`/`2µs` or `0`.
///
/// Errors are short sentences naming the offending text, fit for a user-facing message.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?}");
    let mut s = text.as_bytes();
    let mut negative = false;
    if let Some(&sign @ (b'-' | b'+')) = s.first() {
        negative = sign == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        // The next character must be [0-9.].
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part.
        let before = s.len();
        let (mut value, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let has_int = s.len() != before;
        // Fraction part.
        let (mut fraction, mut scale, mut has_fraction) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            (fraction, scale, s) = leading_fraction(s);
            has_fraction = s.len() != before;
        }
        if !has_int && !has_fraction {
            // "." or ".s"
            return Err(invalid());
        }
        // Unit: everything up to the next number.
        let unit_len = s.iter().position(|&c| c == b'.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let Some(unit_nanos) = unit_nanos(unit) else {
            return Err(format!("unknown unit {:?} in duration {text:?}", String::from_utf8_lossy(unit)));
        };
        if value > LIMIT / unit_nanos {
            return Err(invalid());
        }
        value *= unit_nanos;
        if fraction > 0 {
            // Go computes this in float64 and truncates; do the same to agree on rounding.
            value += (fraction as f64 * (unit_nanos as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        if total == 0 {
            return Ok(Duration::ZERO);
        }
        return Err(format!("negative duration {text:?}"));
    }
    if total > MAX_NANOS {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total))
}

fn unit_nanos(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => 1,
        // "us", U+00B5 (micro sign) and U+03BC (Greek small letter mu), as Go accepts.
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60 * 1_000_000_000,
        b"h" => 3600 * 1_000_000_000,
        _ => return None,
    })
}

/// Consumes `[0-9]*`; `None` when the number overflows Go's limit.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes `[0-9]*` after a decimal point; digits past the precision limit are ignored.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > MAX_NANOS / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > LIMIT {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

/// Formats like Go's `Duration.String()`: `10s`, `1m30s`, `1h0m0s`, `1.5s`, `300ms`, `2µs`, `0s`.
/// Durations beyond Go's range are clamped to its maximum.
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX).min(MAX_NANOS);
    match nanos {
        0 => "0s".to_owned(),
        1..=999 => format!("{nanos}ns"),
        1_000..=999_999 => {
            let (int, frac) = split_fraction(nanos, 3);
            format!("{int}{frac}µs")
        }
        1_000_000..=999_999_999 => {
            let (int, frac) = split_fraction(nanos, 6);
            format!("{int}{frac}ms")
        }
        _ => {
            let (seconds, frac) = split_fraction(nanos, 9);
            let (minutes, hours) = (seconds / 60, seconds / 3600);
            let mut out = String::new();
            if hours > 0 {
                out.push_str(&format!("{hours}h"));
            }
            if minutes > 0 {
                out.push_str(&format!("{}m", minutes % 60));
            }
            out.push_str(&format!("{}{frac}s", seconds % 60));
            out
        }
    }
}

/// `value / 10^precision` and its fraction as `.ddd` without trailing zeros (empty when zero).
fn split_fraction(value: u64, precision: u32) -> (u64, String) {
    let divisor = 10u64.pow(precision);
    let fraction = value % divisor;
    if fraction == 0 {
        return (value / divisor, String::new());
    }
    let digits = format!("{fraction:0width$}", width = precision as usize);
    (value / divisor, format!(".{}", digits.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NS: u64 = 1;
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;

    #[test]
    fn parses_what_go_parses() {
        // Cases from Go's own `parseDurationTests`, minus the negative ones.
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600 * MS),
            ("5.s", 5 * S),
            (".5s", 500 * MS),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4 * MS),
            ("1.0040s", S + 4 * MS),
            ("100.00100s", 100 * S + MS),
            ("10ns", 10 * NS),
            ("11us", 11 * US),
            ("12µs", 12 * US),
            ("12μs", 12 * US),
            ("13ms", 13 * MS),
            ("14s", 14 * S),
            ("15m", 15 * M),
            ("16h", 16 * H),
            ("3h30m", 3 * H + 30 * M),
            ("1h30m", H + 30 * M),
            ("10.5s4m", 4 * M + 10 * S + 500 * MS),
            ("1h2m3s4ms5us6ns", H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS),
            ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
            ("52763797000ns", 52763797000 * NS),
            ("0.3333333333333333333h", 20 * M),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX as u64),
            ("9223372036854775.807us", i64::MAX as u64),
            ("9223372036s854ms775us807ns", i64::MAX as u64),
            ("0.100000000000000000000h", 6 * M),
            ("0.830103483285477580700h", 49 * M + 48 * S + 372_539_827),
            ("1.5s", 1500 * MS),
            ("300ms", 300 * MS),
            ("2us", 2 * US),
            ("0s", 0),
            ("0h0m", 0),
        ];
        for &(text, nanos) in cases {
            assert_eq!(parse_go_duration(text), Ok(Duration::from_nanos(nanos)), "{text}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        let cases: &[(&str, &str)] = &[
            ("", "invalid duration \"\""),
            ("3", "missing unit in duration \"3\""),
            ("-", "invalid duration \"-\""),
            ("s", "invalid duration \"s\""),
            (".", "invalid duration \".\""),
            ("-.", "invalid duration \"-.\""),
            (".s", "invalid duration \".s\""),
            ("+.s", "invalid duration \"+.s\""),
            ("1d", "unknown unit \"d\" in duration \"1d\""),
            ("1.5 s", "unknown unit \" s\" in duration \"1.5 s\""),
            ("15M", "unknown unit \"M\" in duration \"15M\""),
            ("1e3s", "unknown unit \"e\" in duration \"1e3s\""),
            ("5s ", "unknown unit \"s \" in duration \"5s \""),
            (" 5s", "invalid duration \" 5s\""),
            ("9223372036854775810ns", "invalid duration \"9223372036854775810ns\""),
            ("9223372036854775808ns", "invalid duration \"9223372036854775808ns\""),
            ("9223372036854775.808us", "invalid duration \"9223372036854775.808us\""),
            ("9223372036854ms775us808ns", "invalid duration \"9223372036854ms775us808ns\""),
            ("2562048h", "invalid duration \"2562048h\""),
            ("-1s", "negative duration \"-1s\""),
            ("-1.5h", "negative duration \"-1.5h\""),
            ("1h-5m", "unknown unit \"h-\" in duration \"1h-5m\""),
        ];
        for &(text, message) in cases {
            assert_eq!(parse_go_duration(text), Err(message.to_owned()), "{text}");
        }
        assert_eq!(parse_go_duration("2562047h"), Ok(Duration::from_nanos(2562047 * H)));
    }

    #[test]
    fn formats_like_go() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1100, "1.1µs"),
            (2200 * US, "2.2ms"),
            (300 * MS, "300ms"),
            (3300 * MS, "3.3s"),
            (10 * S, "10s"),
            (4 * M + 5 * S, "4m5s"),
            (4 * M + 5001 * MS, "4m5.001s"),
            (5 * H + 6 * M + 7001 * MS, "5h6m7.001s"),
            (8 * M + 1, "8m0.000000001s"),
            (H, "1h0m0s"),
            (i64::MAX as u64, "2562047h47m16.854775807s"),
        ];
        for &(nanos, text) in cases {
            assert_eq!(format_go_duration(Duration::from_nanos(nanos)), text, "{nanos}");
        }
        assert_eq!(format_go_duration(Duration::MAX), "2562047h47m16.854775807s");
    }

    /// The cases that keep this parser: `kube::core::Duration` takes them, Go does not.
    #[test]
    fn kube_core_accepts_what_go_rejects() {
        for text in ["", "-+5s", "9223372036854775810ns", "2562048h"] {
            assert!(text.parse::<kube::core::Duration>().is_ok(), "kube-core now rejects {text:?}: switch to it");
            assert!(parse_go_duration(text).is_err(), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn formatted_durations_parse_back(nanos in 0..=i64::MAX as u64) {
            let duration = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_go_duration(&format_go_duration(duration)), Ok(duration));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,24}") {
            let _ = parse_go_duration(&text);
        }

        #[test]
        fn duration_like_text_never_panics(text in "[-+]?([0-9]{0,22}(\\.[0-9]{0,22})?(ns|us|µs|ms|s|m|h|x)?){1,4}") {
            let _ = parse_go_duration(&text);
        }
    }
}
