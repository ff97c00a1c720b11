//! Go's formatting of quoted strings and numbers, which the real apiserver's messages use, so ours
//! match byte for byte.
//!
//! - [`go_quote`]: `strconv.Quote` (`%q`).
//! - [`go_float_v`]: `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
//! - [`go_json`], [`go_json_float`], [`go_json_string`], [`go_json_strings`],
//!   [`write_go_json_string`]: what `encoding/json` writes (keys sorted, HTML-safe escapes, its
//!   own float rules). The crate's one JSON writer: FieldsV1 keys, last-applied annotations and
//!   error texts all go through it.

use serde_json::Value;

/// Nesting beyond which [`go_json`] writes `null` instead of recursing further (a stack guard).
const MAX_DEPTH: usize = 256;

// =============================================================================================
// Strings
// =============================================================================================

/// Go's `strconv.Quote` (`%q`): printable characters kept, others escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || (c.is_whitespace() && c != ' ') || is_format_char(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Unicode format characters Go's `unicode.IsPrint` rejects (zero-width spaces, BOM, ...).
fn is_format_char(c: char) -> bool {
    matches!(c as u32, 0xad | 0x600..=0x605 | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0xfeff)
}

// =============================================================================================
// Floats
// =============================================================================================

/// Shortest round-trip digits and decimal exponent of a finite, non-zero `|f|`.
fn float_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Exponent form of [`float_digits`]: `d.ddde±XX`, at least two exponent digits.
fn fmt_e(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Plain decimal form of [`float_digits`], padded with zeros as needed.
fn fmt_f(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let dp = exp + 1;
    let nd = digits.len() as i32;
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(digits);
    } else if dp >= nd {
        out.push_str(digits);
        out.push_str(&"0".repeat((dp - nd) as usize));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, exponent
/// form when the decimal exponent is < -4 or >= 6: `1e+06`, `0.5`, `3`, `NaN`, `+Inf`.
pub fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let (digits, exp) = float_digits(f);
    if !(-4..6).contains(&exp) {
        fmt_e(f < 0.0, &digits, exp)
    } else {
        fmt_f(f < 0.0, &digits, exp)
    }
}

// =============================================================================================
// encoding/json
// =============================================================================================

/// Go's `encoding/json` float: plain decimal unless < 1e-6 or >= 1e21 (`1e-7`, `1e+21`).
/// Non-finite values (which Go refuses to encode) come out as `null`.
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let (digits, exp) = float_digits(f);
    if !(1e-6..1e21).contains(&f.abs()) {
        let s = fmt_e(f < 0.0, &digits, exp);
        // Go trims `e-07` to `e-7` (but keeps `e+21`).
        match s.find("e-0") {
            Some(i) => format!("{}e-{}", &s[..i], &s[i + 3..]),
            None => s,
        }
    } else {
        fmt_f(f < 0.0, &digits, exp)
    }
}

/// `json.Marshal` of an unstructured value: compact, keys sorted, HTML-safe escapes.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out, 0);
    out
}

fn write_go_json(v: &Value, out: &mut String, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("null");
        return;
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // An unstructured number is an int64 when it fits, else a float64.
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(f)) => out.push_str(&go_json_float(f)),
            (None, None) => out.push_str("null"),
        },
        Value::String(s) => write_go_json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(x, out, depth + 1);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(k, out);
                out.push(':');
                write_go_json(&m[k.as_str()], out, depth + 1);
            }
            out.push('}');
        }
    }
}

/// `json.Marshal(string)`: `s` quoted as [`write_go_json_string`] writes it.
pub fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_go_json_string(s, &mut out);
    out
}

/// `json.Marshal([]string)` with Go's HTML-safe escaping.
pub fn go_json_strings(values: &[String]) -> String {
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_go_json_string(v, &mut out);
    }
    out.push(']');
    out
}

/// Appends `s` as a Go `encoding/json` string: quoted, HTML-safe (`<`, `>`, `&`, U+2028, U+2029
/// as `\u00XX`), other control characters as `\u00XX` unless they have a short escape (Go
/// 1.22 and later write `\b` and `\f` short too).
pub fn write_go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}\u{200b}é"), "\"a\\\"b\\\\c\\n\\x01\\u200bé\"");
    }

    #[test]
    fn go_float_v_matches_strconv_g() {
        for (f, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (123456.0, "123456"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (-2.5e-7, "-2.5e-07"),
            (1e21, "1e+21"),
            (0.0, "0"),
            (12.34, "12.34"),
        ] {
            assert_eq!(go_float_v(f), s, "{f}");
        }
        assert_eq!(go_float_v(-0.0), "-0");
        assert_eq!(go_float_v(f64::NAN), "NaN");
        assert_eq!(go_float_v(f64::INFINITY), "+Inf");
        assert_eq!(go_float_v(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn go_json_number_and_value_text() {
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(f64::NAN), "null");
        assert_eq!(go_json_strings(&["a<b".to_string(), "\n".to_string()]), "[\"a\\u003cb\",\"\\n\"]");
        assert_eq!(go_json_strings(&[]), "[]");
        assert_eq!(go_json_string("\u{8}\u{c}\u{1f}\u{2028}\t"), "\"\\b\\f\\u001f\\u2028\\t\"");
        assert_eq!(go_json(&json!({"b": [1, 2.5, "<&>"], "a": null})), "{\"a\":null,\"b\":[1,2.5,\"\\u003c\\u0026\\u003e\"]}");
    }
}
