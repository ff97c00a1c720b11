//! `pattern`: Go regular expressions (RE2) matched with Rust's `regex`, after rewriting the
//! Perl classes to their ASCII meaning as Go has them.

use std::cell::RefCell;
use std::collections::HashMap;

/// Go `regexp.MatchString` (RE2, unanchored). Perl classes are rewritten to their ASCII
/// meaning, as in Go. Compiled patterns are cached per thread.
pub(super) fn pattern_matches(pattern: &str, text: &str) -> Result<bool, String> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Result<regex::Regex, String>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 512 {
            cache.clear();
        }
        let re = cache.entry(pattern.to_string()).or_insert_with(|| {
            regex::RegexBuilder::new(&go_regex(pattern))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| e.to_string().lines().last().unwrap_or("invalid pattern").trim().to_string())
        });
        match re {
            Ok(re) => Ok(re.is_match(text)),
            Err(e) => Err(e.clone()),
        }
    })
}

/// Rewrites `\d \w \s` (and negations) to Go's ASCII-only classes.
fn go_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match (n, in_class) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[0-9A-Za-z_]"),
                    ('W', false) => Some("[^0-9A-Za-z_]"),
                    ('s', false) => Some("[\\t\\n\\f\\r ]"),
                    ('S', false) => Some("[^\\t\\n\\f\\r ]"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("0-9A-Za-z_"),
                    ('s', true) => Some("\\t\\n\\f\\r "),
                    ('D', true) => Some("[:^digit:]"),
                    ('W', true) => Some("[:^word:]"),
                    ('S', true) => Some("[:^space:]"),
                    _ => None,
                };
                match rep {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            // Go takes these literally inside a class; Rust would read nesting or set operators.
            '[' | '&' | '~' if in_class && !(c == '[' && chars.peek() == Some(&':')) => {
                out.push('\\');
                out.push(c);
            }
            '[' if in_class => {
                // POSIX class inside a bracket: copy through its closing `:]`.
                out.push('[');
                let mut prev = '[';
                for n in chars.by_ref() {
                    out.push(n);
                    if prev == ':' && n == ']' {
                        break;
                    }
                    prev = n;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}
