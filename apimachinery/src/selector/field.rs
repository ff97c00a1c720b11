//! Field selectors (`pkg/fields/selector.go`): `field=value` / `field!=value` terms, their
//! escaping, and the values of an object's fields they compare.

use std::fmt;


use super::SelectorError;
use crate::view::JsonView;
use crate::gofmt::go_quote;

/// Field selector operators. `=` and `==` mean the same (`hasTerm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    Equals,
    NotEquals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    operator: FieldOperator,
    value: String,
}

/// A parsed `?fieldSelector=`: the AND of `field=value` / `field!=value` terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// `fields.ParseSelector`: comma-separated terms (a `\,` stays inside the value), sorted as
    /// Go sorts them; values are unescaped (`\\`, `\,`, `\=`). No whitespace trimming, like Go.
    pub fn parse(selector: &str) -> Result<FieldSelector, SelectorError> {
        let mut parts = split_terms(selector);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(SelectorError::new(format!("invalid selector: '{selector}'; can't understand '{part}'")));
            };
            let value = unescape_value(rhs).map_err(SelectorError::new)?;
            terms.push(FieldTerm { field: lhs.to_string(), operator: op, value });
        }
        Ok(FieldSelector { terms })
    }

    /// The terms as `(field, operator, value)`, in Go's (sorted) order.
    pub fn requirements(&self) -> Vec<(&str, FieldOperator, &str)> {
        self.terms.iter().map(|t| (t.field.as_str(), t.operator, t.value.as_str())).collect()
    }

    /// True when there are no terms (matches everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The server's field-label conversion check: the first term whose field is not allowed
    /// gives `"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"`.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), SelectorError> {
        for t in &self.terms {
            if !allowed.contains(&t.field.as_str()) {
                let list: Vec<String> = allowed.iter().map(|a| go_quote(a)).collect();
                return Err(SelectorError::new(format!(
                    "{} is not a known field selector: only {}",
                    go_quote(&t.field),
                    list.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Every term holds; a field `get` cannot resolve counts as the empty string (Go's
    /// `fields.Set.Get`), so `metadata.namespace=` matches cluster-scoped objects.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let have = get(&t.field).unwrap_or_default();
            match t.operator {
                FieldOperator::Equals => have == t.value,
                FieldOperator::NotEquals => have != t.value,
            }
        })
    }

    /// [`FieldSelector::matches`] over [`field_value`] of `obj`.
    pub fn matches_object(&self, obj: &impl JsonView) -> bool {
        self.matches(|f| field_value(obj, f))
    }

    /// `RequiresExactMatch`: the value an `=`/`==` term pins `field` to, if any.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.operator == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    /// `Selector.String()`: terms joined by `,`, values re-escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.operator == FieldOperator::Equals { "=" } else { "!=" };
            write!(f, "{}{}{}", t.field, op, escape_value(&t.value))?;
        }
        Ok(())
    }
}

/// `fields.splitTerms`: split on commas not preceded by a backslash escape.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// `fields.splitTerm`: the first `!=`, `==` or `=` splits field from value.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        if let Some(r) = rest.strip_prefix("!=") {
            return Some((&term[..i], FieldOperator::NotEquals, r));
        }
        if let Some(r) = rest.strip_prefix("==") {
            return Some((&term[..i], FieldOperator::Equals, r));
        }
        if let Some(r) = rest.strip_prefix('=') {
            return Some((&term[..i], FieldOperator::Equals, r));
        }
    }
    None
}

/// `fields.UnescapeValue`, with Go's error texts (an unescaped rune prints as its code point).
fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => return Err(format!("invalid field selector: invalid escape sequence: \\{c}")),
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return Err(format!("invalid field selector: unescaped character in value: {}", c as u32)),
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

/// `fields.EscapeValue`.
fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The value a field selector compares for `field` (a dotted path such as `metadata.name`,
/// `involvedObject.kind`, `spec.nodeName`, `status.phase`). Strings as is, numbers and
/// booleans as text; missing, null, objects and arrays give `None`.
pub fn field_value(obj: &impl JsonView, field: &str) -> Option<String> {
    if field.is_empty() {
        return None;
    }
    obj.path(field.split('.'))?.scalar_text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_selectors_parse_and_match() {
        let f = FieldSelector::parse("metadata.name=w1,metadata.namespace!=kube-system").unwrap();
        assert_eq!(
            f.requirements(),
            vec![("metadata.name", FieldOperator::Equals, "w1"), ("metadata.namespace", FieldOperator::NotEquals, "kube-system")]
        );
        let obj = json!({"metadata": {"name": "w1", "namespace": "default"}});
        assert!(f.matches_object(&obj));
        assert!(!f.matches_object(&json!({"metadata": {"name": "w2", "namespace": "default"}})));
        let f = FieldSelector::parse("metadata.name==w1").unwrap();
        assert_eq!(f.requires_exact_match("metadata.name"), Some("w1"));
        // A missing field is the empty string.
        assert!(FieldSelector::parse("metadata.namespace=").unwrap().matches_object(&json!({"metadata": {"name": "n"}})));
        assert!(FieldSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn field_selector_escapes_and_errors() {
        let f = FieldSelector::parse(r"metadata.name=a\,b\=c").unwrap();
        assert_eq!(f.requirements()[0].2, "a,b=c");
        assert_eq!(f.to_string(), r"metadata.name=a\,b\=c");
        assert_eq!(
            FieldSelector::parse("metadata.name").unwrap_err().message,
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        assert_eq!(FieldSelector::parse(r"a=b\x").unwrap_err().message, "invalid field selector: invalid escape sequence: \\x");
        assert_eq!(FieldSelector::parse(r"a=b\").unwrap_err().message, "invalid field selector: invalid escape sequence: \\");
        assert_eq!(FieldSelector::parse("a=b=c").unwrap_err().message, "invalid field selector: unescaped character in value: 61");
    }

    #[test]
    fn field_selector_validation_message() {
        let f = FieldSelector::parse("spec.x=1,metadata.name=a").unwrap();
        assert_eq!(
            f.validate(&["metadata.name", "metadata.namespace"]).unwrap_err().message,
            "\"spec.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let f = FieldSelector::parse("spec.color=red").unwrap();
        assert!(f.validate(&["metadata.name", "metadata.namespace", "spec.color"]).is_ok());
    }

    #[test]
    fn field_values() {
        let ev = json!({
            "involvedObject": {"kind": "Widget", "name": "w1"},
            "spec": {"nodeName": "n1", "replicas": 3, "paused": true},
            "status": {"phase": "Running"},
            "metadata": {"name": "e1"}
        });
        assert_eq!(field_value(&ev, "involvedObject.kind").as_deref(), Some("Widget"));
        assert_eq!(field_value(&ev, "spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(field_value(&ev, "status.phase").as_deref(), Some("Running"));
        assert_eq!(field_value(&ev, "spec.replicas").as_deref(), Some("3"));
        assert_eq!(field_value(&ev, "spec.paused").as_deref(), Some("true"));
        assert_eq!(field_value(&ev, "spec"), None);
        assert_eq!(field_value(&ev, "metadata.namespace"), None);
        assert_eq!(field_value(&ev, ""), None);
        let f = FieldSelector::parse("involvedObject.kind=Widget,involvedObject.name=w1").unwrap();
        assert!(f.matches(|p| field_value(&ev, p)));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn field_parse_never_panics(s in "\\PC{0,40}") {
                if let Ok(f) = FieldSelector::parse(&s) {
                    let _ = f.validate(&["metadata.name"]);
                    let _ = f.matches(|_| None);
                }
            }

            #[test]
            fn field_escape_round_trips(v in "[a-z,=\\\\]{0,12}") {
                let f = FieldSelector::parse(&format!("metadata.name={}", escape_value(&v))).unwrap();
                prop_assert_eq!(f.requirements()[0].2, v.as_str());
            }
        }
    }
}
