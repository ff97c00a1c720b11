//! The string formats the server checks (`date`, `date-time`, `uuid*`, `byte`, `ipv4`,
//! `ipv6`, `cidr`, ...), with Go's (and strfmt's) acceptance rules.

pub(super) fn format_ok(format: &str, s: &str) -> bool {
    match format.replace('-', "").as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "uuid" => is_uuid(s, None),
        "uuid3" => is_uuid(s, Some('3')),
        "uuid4" => is_uuid(s, Some('4')),
        "uuid5" => is_uuid(s, Some('5')),
        "byte" => is_base64(s),
        "ipv4" => s.parse::<std::net::IpAddr>().is_ok() && s.contains('.'),
        "ipv6" => s.parse::<std::net::IpAddr>().is_ok() && s.contains(':'),
        "cidr" => is_cidr(s),
        "hexcolor" => {
            let h = s.strip_prefix('#').unwrap_or(s);
            (h.len() == 3 || h.len() == 6) && h.bytes().all(|b| b.is_ascii_hexdigit())
        }
        _ => true,
    }
}

/// strfmt `IsDate`: Go `time.Parse("2006-01-02")`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    match (digits(0..4), digits(5..7), digits(8..10)) {
        (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some(),
        _ => false,
    }
}

/// strfmt `IsDateTime`: a valid date, `t`, then `hh:mm:ss(.frac)?(z|±hh:mm)` (case-insensitive).
pub(super) fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let t = parts[1].as_bytes();
    let two = |i: usize| t.get(i..i + 2).filter(|p| p.iter().all(u8::is_ascii_digit));
    let (Some(h), Some(m), Some(sec)) = (two(0), two(3), two(6)) else { return false };
    if t.get(2) != Some(&b':') || t.get(5) != Some(&b':') {
        return false;
    }
    let mut i = 8;
    // `(.[0-9]+)?`: any one character, then digits.
    if t.len() > i + 1 && t[i] != b'z' && t[i] != b'+' && t[i] != b'-' && t[i + 1].is_ascii_digit() {
        i += 1;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
    }
    let zone = &t[i.min(t.len())..];
    let zone_ok = zone == b"z"
        || (zone.len() == 6
            && (zone[0] == b'+' || zone[0] == b'-')
            && zone[1].is_ascii_digit()
            && zone[2].is_ascii_digit()
            && zone[3] == b':'
            && zone[4].is_ascii_digit()
            && zone[5].is_ascii_digit());
    zone_ok && h <= &b"23"[..] && m <= &b"59"[..] && sec <= &b"59"[..]
}

fn is_uuid(s: &str, version: Option<char>) -> bool {
    let hex: Vec<char> = s.chars().filter(|c| *c != '-').collect();
    // Dashes are optional but only at the canonical positions.
    let canonical_dashes = {
        let b = s.as_bytes();
        let mut pos = 0;
        let mut ok = true;
        for (gi, len) in [8usize, 4, 4, 4, 12].iter().enumerate() {
            if gi > 0 && b.get(pos) == Some(&b'-') {
                pos += 1;
            }
            let Some(group) = b.get(pos..pos + len) else {
                ok = false;
                break;
            };
            if !group.iter().all(u8::is_ascii_hexdigit) {
                ok = false;
                break;
            }
            pos += len;
        }
        ok && pos == b.len()
    };
    if !canonical_dashes || hex.len() != 32 {
        return false;
    }
    match version {
        None => true,
        Some(v) => hex[12] == v && (v == '3' || matches!(hex[16].to_ascii_lowercase(), '8' | '9' | 'a' | 'b')),
    }
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else { return false };
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else { return false };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    !bits.is_empty() && bits.len() <= 3 && bits.bytes().all(|c| c.is_ascii_digit()) && bits.parse::<u32>().is_ok_and(|n| n <= max)
}
