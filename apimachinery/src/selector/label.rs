//! Label selectors (`pkg/labels/selector.go`, `metav1.LabelSelectorAsSelector`): requirements,
//! their validation and matching, from the `?labelSelector=` syntax, a JSON
//! `metav1.LabelSelector` or a Service-style map.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::label_parser::Parser;
use super::names::{label_value_errors, qualified_name_errors};
use super::SelectorError;
use crate::view::JsonView;
use crate::gofmt::{go_json_strings, go_quote};

/// `selection.Operator` for label requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `k=v`
    Equals,
    /// `k==v`
    DoubleEquals,
    /// `k!=v`
    NotEquals,
    /// `k in (a,b)`
    In,
    /// `k notin (a,b)`
    NotIn,
    /// `k`
    Exists,
    /// `!k`
    DoesNotExist,
    /// `k>5` (integer comparison)
    GreaterThan,
    /// `k<5` (integer comparison)
    LessThan,
}

impl Operator {
    /// The Go `selection.Operator` string (used in `NotSupported`-style messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One `key op values` term. Values are kept sorted and de-duplicated, like Go's `sets.String`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// `labels.NewRequirement`: validates the key, the value count for the operator and each
    /// value. Errors use field paths relative to a nil root (`key`, `values[0][k]`), as in Go.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Requirement, SelectorError> {
        new_requirement(key, operator, values, false).map_err(SelectorError::new)
    }

    /// `Requirement.Matches`: a missing key satisfies `!=`, `notin` and `!k` only.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_lookup(|key| labels.get(key).map(String::as_str))
    }

    /// The same, reading each label through `label` (no map of the labels is built).
    fn matches_lookup<'a>(&self, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        let got = label(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => got.is_some_and(|v| self.values.iter().any(|w| w == v)),
            Operator::NotIn | Operator::NotEquals => got.is_none_or(|v| !self.values.iter().any(|w| w == v)),
            Operator::Exists => got.is_some(),
            Operator::DoesNotExist => got.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = got.and_then(|v| v.parse::<i64>().ok()) else { return false };
                if self.values.len() != 1 {
                    return false;
                }
                let Ok(want) = self.values[0].parse::<i64>() else { return false };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// `Requirement.String()`: `!k`, `k`, `k=v`, `k in (a,b)`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        f.write_str(&self.values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A label selector: the AND of its requirements, or "nothing" (a null `metav1.LabelSelector`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Matches every object (the empty selector).
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// Matches no object: what a null `metav1.LabelSelector` means.
    pub fn nothing() -> Self {
        LabelSelector { requirements: Vec::new(), nothing: true }
    }

    /// `labels.Parse`: the `?labelSelector=` string syntax. Requirements come out sorted by key.
    pub fn parse(selector: &str) -> Result<LabelSelector, SelectorError> {
        let mut parser = Parser::new(selector);
        let mut requirements = parser.parse().map_err(SelectorError::new)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// `metav1.LabelSelectorAsSelector` for a JSON `metav1.LabelSelector`
    /// (`{"matchLabels":{..},"matchExpressions":[{"key","operator","values"}]}`), as used by
    /// Deployments, ReplicaSets, Jobs and PodDisruptionBudgets. `null` selects nothing and `{}`
    /// selects everything.
    pub fn from_label_selector_json(selector: &Value) -> Result<LabelSelector, SelectorError> {
        let obj = match selector {
            Value::Null => return Ok(LabelSelector::nothing()),
            Value::Object(o) => o,
            other => return Err(SelectorError::new(format!("invalid label selector: expected an object, got {}", json_type(other)))),
        };
        let match_labels = match obj.get("matchLabels") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                return Err(SelectorError::new(format!("invalid label selector: matchLabels must be an object, got {}", json_type(other))))
            }
        };
        let match_expressions = match obj.get("matchExpressions") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a),
            Some(other) => {
                return Err(SelectorError::new(format!(
                    "invalid label selector: matchExpressions must be an array, got {}",
                    json_type(other)
                )))
            }
        };
        let count = match_labels.map_or(0, |m| m.len()) + match_expressions.map_or(0, |e| e.len());
        if count == 0 {
            return Ok(LabelSelector::everything());
        }
        let mut requirements = Vec::with_capacity(count);
        if let Some(labels) = match_labels {
            for (k, v) in labels {
                let Some(v) = v.as_str() else {
                    return Err(SelectorError::new(format!("invalid label selector: matchLabels[{k}] must be a string")));
                };
                requirements.push(new_requirement(k, Operator::Equals, vec![v.to_string()], false).map_err(SelectorError::new)?);
            }
        }
        if let Some(exprs) = match_expressions {
            for expr in exprs {
                let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
                let op_text = expr.get("operator").and_then(Value::as_str).unwrap_or("");
                let op = match op_text {
                    "In" => Operator::In,
                    "NotIn" => Operator::NotIn,
                    "Exists" => Operator::Exists,
                    "DoesNotExist" => Operator::DoesNotExist,
                    other => return Err(SelectorError::new(format!("{} is not a valid label selector operator", go_quote(other)))),
                };
                let mut values = Vec::new();
                match expr.get("values") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(a)) => {
                        for v in a {
                            match v.as_str() {
                                Some(s) => values.push(s.to_string()),
                                None => return Err(SelectorError::new("invalid label selector: values must be strings")),
                            }
                        }
                    }
                    Some(_) => return Err(SelectorError::new("invalid label selector: values must be an array")),
                }
                // Go copies with append([]string(nil), ...): an empty list renders as `null`.
                requirements.push(new_requirement(key, op, values, true).map_err(SelectorError::new)?);
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// `labels.SelectorFromSet`: a Service-style `map[string]string` selector (`k=v` for every
    /// entry, no validation, like Go). An empty map selects everything.
    pub fn from_set(set: &BTreeMap<String, String>) -> LabelSelector {
        let requirements = set
            .iter()
            .map(|(k, v)| Requirement { key: k.clone(), operator: Operator::Equals, values: vec![v.clone()] })
            .collect();
        LabelSelector { requirements, nothing: false }
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True when the selector does not restrict anything (matches every object).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for [`LabelSelector::nothing`].
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// All requirements hold for `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches against an object's `metadata.labels` (non-string label values are ignored),
    /// read in place: a list filters every object of its kind through this.
    pub fn matches_object(&self, obj: &impl JsonView) -> bool {
        let labels = obj.path(["metadata", "labels"]);
        !self.nothing && self.requirements.iter().all(|r| r.matches_lookup(|key| labels.and_then(|l| l.field(key)).and_then(JsonView::text)))
    }
}

impl fmt::Display for LabelSelector {
    /// `Selector.String()`: requirements joined by `,` (empty for everything and nothing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// An object's `metadata.labels` as a map (missing or malformed labels give an empty map).
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

/// `labels.NewRequirement` with a nil field path. `nil_values` renders an empty value list as
/// `null` (a nil Go slice) instead of `[]` in the error text.
pub(super) fn new_requirement(key: &str, operator: Operator, values: Vec<String>, nil_values: bool) -> Result<Requirement, String> {
    let mut values = values;
    values.sort();
    values.dedup();
    let mut errs: Vec<String> = Vec::new();
    let key_errs = qualified_name_errors(key);
    if !key_errs.is_empty() {
        errs.push(format!("key: Invalid value: {}: {}", go_quote(key), key_errs.join("; ")));
    }
    let rendered = || {
        if values.is_empty() && nil_values {
            "null".to_string()
        } else {
            go_json_strings(&values)
        }
    };
    match operator {
        Operator::In | Operator::NotIn => {
            if values.is_empty() {
                errs.push(format!("values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty", rendered()));
            }
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
            if values.len() != 1 {
                errs.push(format!("values: Invalid value: {}: exact-match compatibility requires one single value", rendered()));
            }
        }
        Operator::Exists | Operator::DoesNotExist => {
            if !values.is_empty() {
                errs.push(format!("values: Invalid value: {}: values set must be empty for exists and does not exist", rendered()));
            }
        }
        Operator::GreaterThan | Operator::LessThan => {
            if values.len() != 1 {
                errs.push(format!("values: Invalid value: {}: for 'Gt', 'Lt' operators, exactly one value is required", rendered()));
            }
            for (i, v) in values.iter().enumerate() {
                if v.parse::<i64>().is_err() {
                    errs.push(format!(
                        "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                        go_quote(v)
                    ));
                }
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let value_errs = label_value_errors(v);
        if !value_errs.is_empty() {
            errs.push(format!("values[{i}][{key}]: Invalid value: {}: {}", go_quote(v), value_errs.join("; ")));
        }
    }
    if errs.is_empty() {
        Ok(Requirement { key: key.to_string(), operator, values })
    } else {
        Err(aggregate(errs))
    }
}

/// `utilerrors.NewAggregate(...).Error()`: one message as is, several as `[a, b]`, duplicates once.
fn aggregate(errs: Vec<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        seen.remove(0)
    } else {
        format!("[{}]", seen.join(", "))
    }
}

/// The JSON type name the apiserver's selector conversion errors use.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn err(s: &str) -> String {
        LabelSelector::parse(s).unwrap_err().message
    }

    #[test]
    fn parses_every_operator() {
        let s = LabelSelector::parse("app=web, tier==front,env!=prod, zone in (a, b),team notin (x),canary,!legacy").unwrap();
        let ops: Vec<(String, Operator, Vec<String>)> =
            s.requirements().iter().map(|r| (r.key.clone(), r.operator, r.values.clone())).collect();
        assert_eq!(
            ops,
            vec![
                ("app".into(), Operator::Equals, vec!["web".into()]),
                ("canary".into(), Operator::Exists, vec![]),
                ("env".into(), Operator::NotEquals, vec!["prod".into()]),
                ("legacy".into(), Operator::DoesNotExist, vec![]),
                ("team".into(), Operator::NotIn, vec!["x".into()]),
                ("tier".into(), Operator::DoubleEquals, vec!["front".into()]),
                ("zone".into(), Operator::In, vec!["a".into(), "b".into()]),
            ]
        );
        assert_eq!(s.to_string(), "app=web,canary,env!=prod,!legacy,team notin (x),tier==front,zone in (a,b)");
    }

    #[test]
    fn matching_follows_go_semantics() {
        let l = labels(&[("app", "web"), ("env", "dev"), ("zone", "a")]);
        let yes = ["app=web", "app==web", "env!=prod", "missing!=x", "zone in (a,b)", "zone notin (c)", "missing notin (c)", "app", "!missing", ""];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&l), "{s} should match");
        }
        let no = ["app=db", "env!=dev", "zone in (b)", "missing in (a)", "zone notin (a)", "missing", "!app", "app=web,env=prod"];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&l), "{s} should not match");
        }
    }

    #[test]
    fn whitespace_and_empty_values() {
        let s = LabelSelector::parse("  a = b ,\tc in ( x , y )  ").unwrap();
        assert_eq!(s.to_string(), "a=b,c in (x,y)");
        // `k=` means the empty value; `in ()` and `(a,)` include the empty value.
        let s = LabelSelector::parse("k=").unwrap();
        assert!(s.matches(&labels(&[("k", "")])));
        assert!(!s.matches(&labels(&[])));
        let s = LabelSelector::parse("x in (foo,,baz),y,z notin ()").unwrap();
        assert_eq!(s.requirements()[0].values, vec!["", "baz", "foo"]);
        assert_eq!(s.requirements()[2].values, vec![""]);
    }

    #[test]
    fn keywords_are_values_in_value_position() {
        let s = LabelSelector::parse("in in (in, notin)").unwrap();
        assert_eq!(s.requirements()[0].key, "in");
        assert!(s.matches(&labels(&[("in", "notin")])));
        let s = LabelSelector::parse("a=in").unwrap();
        assert_eq!(s.requirements()[0].values, vec!["in"]);
    }

    #[test]
    fn prefixed_keys() {
        let s = LabelSelector::parse("app.kubernetes.io/name=eno").unwrap();
        assert!(s.matches(&labels(&[("app.kubernetes.io/name", "eno")])));
    }

    #[test]
    fn gt_and_lt() {
        let s = LabelSelector::parse("replicas>2,weight<10").unwrap();
        assert!(s.matches(&labels(&[("replicas", "3"), ("weight", "9")])));
        assert!(!s.matches(&labels(&[("replicas", "2"), ("weight", "9")])));
        assert!(!s.matches(&labels(&[("replicas", "x"), ("weight", "9")])));
        assert_eq!(
            err("a>x"),
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
    }

    #[test]
    fn syntax_errors_have_go_messages() {
        assert_eq!(err("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
        assert_eq!(err("=a"), "found '=', expected: !, identifier, or 'end of string'");
        assert_eq!(err("a,"), "found '', expected: identifier after ','");
        assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(err("a in b"), "unable to parse requirement: found 'b' expected: '('");
        assert_eq!(err("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
        assert_eq!(err("a in (=)"), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
        assert_eq!(err("a=(b)"), "unable to parse requirement: found '(', expected: identifier");
        assert_eq!(err("!"), "unable to parse requirement: found '', expected: identifier");
        assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
    }

    #[test]
    fn invalid_keys_and_values() {
        assert_eq!(
            err("-app=x"),
            "unable to parse requirement: <nil>: Invalid value: \"-app\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            err("app=-x"),
            "unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        let long = "a".repeat(64);
        assert!(err(&long).contains("name part must be no more than 63 characters"));
        assert!(err(&format!("k={long}")).contains("must be no more than 63 characters"));
        assert!(err("Example.com/a").contains("prefix part a lowercase RFC 1123 subdomain"));
        assert!(err("/a").contains("prefix part must be non-empty"));
        assert!(err("a/b/c").contains("a qualified name must consist of"));
    }

    #[test]
    fn metav1_label_selector_json() {
        let s = LabelSelector::from_label_selector_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "back"]},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        assert_eq!(s.to_string(), "app=web,!legacy,tier in (back,front)");
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "front")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "front"), ("legacy", "1")])));
        assert!(LabelSelector::from_label_selector_json(&json!({})).unwrap().matches(&labels(&[])));
        let nothing = LabelSelector::from_label_selector_json(&Value::Null).unwrap();
        assert!(nothing.is_nothing() && !nothing.matches(&labels(&[])));
    }

    #[test]
    fn metav1_label_selector_errors() {
        let e = LabelSelector::from_label_selector_json(&json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]})).unwrap_err();
        assert_eq!(e.message, "\"Foo\" is not a valid label selector operator");
        let e = LabelSelector::from_label_selector_json(&json!({"matchExpressions": [{"key": "a", "operator": "In"}]})).unwrap_err();
        assert_eq!(e.message, "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty");
        let e = LabelSelector::from_label_selector_json(&json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}))
            .unwrap_err();
        assert_eq!(e.message, "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist");
        let e = LabelSelector::from_label_selector_json(&json!({"matchLabels": {"-a": "b"}})).unwrap_err();
        assert!(e.message.starts_with("key: Invalid value: \"-a\": name part must consist"), "{}", e.message);
        assert!(LabelSelector::from_label_selector_json(&json!("x")).is_err());
        assert!(LabelSelector::from_label_selector_json(&json!({"matchLabels": [1]})).is_err());
    }

    #[test]
    fn service_style_set() {
        let s = LabelSelector::from_set(&labels(&[("app", "web")]));
        assert!(s.matches_object(&json!({"metadata": {"labels": {"app": "web", "x": "y"}}})));
        assert!(!s.matches_object(&json!({"metadata": {}})));
        assert!(LabelSelector::from_set(&BTreeMap::new()).is_empty());
    }

    #[test]
    fn requirement_constructor_validates() {
        assert!(Requirement::new("a", Operator::In, vec![]).is_err());
        assert!(Requirement::new("a", Operator::Equals, vec!["x".into(), "y".into()]).is_err());
        let r = Requirement::new("a", Operator::In, vec!["y".into(), "x".into(), "x".into()]).unwrap();
        assert_eq!(r.values, vec!["x", "y"]);
        assert_eq!(r.to_string(), "a in (x,y)");
        // Several errors aggregate as a bracketed list.
        let e = Requirement::new("-a", Operator::Exists, vec!["v".into()]).unwrap_err().message;
        assert!(e.starts_with("[key: Invalid value: \"-a\""), "{e}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn label_parse_never_panics(s in "\\PC{0,40}") {
                let _ = LabelSelector::parse(&s);
            }

            #[test]
            fn label_parse_never_panics_on_selector_alphabet(s in "[a-z!=<>(), \t\\-_./0-9]{0,30}") {
                if let Ok(sel) = LabelSelector::parse(&s) {
                    // Whatever parses re-parses to the same selector from its String() form.
                    let again = LabelSelector::parse(&sel.to_string()).unwrap();
                    prop_assert_eq!(again, sel);
                }
            }
        }
    }
}
