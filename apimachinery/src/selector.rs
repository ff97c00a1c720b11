//! Label and field selectors, parsed and matched the way the apiserver does.
//!
//! Ports of k8s.io/apimachinery `pkg/labels/selector.go` (the lexer/parser, `NewRequirement`
//! validation and `Matches`), `pkg/apis/meta/v1/helpers.go` (`LabelSelectorAsSelector`) and
//! `pkg/fields/selector.go` (term splitting, escaping). Error texts are the Go ones verbatim,
//! because kubectl prints them to users unchanged.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::gofmt::{go_json_strings, go_quote};

/// A selector that failed to parse or validate; `message` is the apiserver's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    pub message: String,
}

impl SelectorError {
    fn new(message: impl Into<String>) -> Self {
        SelectorError { message: message.into() }
    }
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

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
        let got = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => got.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn | Operator::NotEquals => got.is_none_or(|v| !self.values.contains(v)),
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

    /// Matches against an object's `metadata.labels` (non-string label values are ignored).
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(&labels_of(obj))
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
fn new_requirement(key: &str, operator: Operator, values: Vec<String>, nil_values: bool) -> Result<Requirement, String> {
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

// --- the lexer and parser (labels/selector.go) ------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Eos,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "in" => Tok::In,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "notin" => Tok::NotIn,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// Go's `read`: a NUL byte reads like the end of the string.
    fn read(&mut self) -> u8 {
        match self.src.as_bytes().get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn scan_id_or_keyword(&mut self) -> (Tok, String) {
        let start = self.pos;
        let mut end;
        loop {
            end = self.pos;
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
        }
        // Slicing at ASCII delimiters keeps UTF-8 boundaries intact.
        let lit = self.src.get(start..end).unwrap_or("").to_string();
        match keyword(&lit) {
            Some(t) => (t, lit),
            None => (Tok::Identifier, lit),
        }
    }

    fn scan_special_symbol(&mut self) -> (Tok, String) {
        let start = self.pos;
        let mut last: Option<(Tok, usize)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special(ch) {
                let buf = self.src.get(start..self.pos).unwrap_or("");
                if let Some(t) = keyword(buf) {
                    last = Some((t, self.pos));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            } else {
                self.unread();
                break;
            }
        }
        match last {
            Some((t, end)) => (t, self.src.get(start..end).unwrap_or("").to_string()),
            // Unreachable with the current token table (every special byte is a token); kept
            // so odd input can never loop.
            None => (Tok::Eos, String::new()),
        }
    }

    fn lex(&mut self) -> (Tok, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Tok::Eos, String::new());
        }
        self.unread();
        if is_special(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_id_or_keyword()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Tok, String)>,
    position: usize,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser {
    fn new(selector: &str) -> Parser {
        let mut lexer = Lexer { src: selector, pos: 0 };
        let mut items = Vec::new();
        loop {
            let (t, lit) = lexer.lex();
            items.push((t, lit));
            if t == Tok::Eos {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    fn map(ctx: Ctx, t: Tok) -> Tok {
        if ctx == Ctx::Values && matches!(t, Tok::In | Tok::NotIn) {
            Tok::Identifier
        } else {
            t
        }
    }

    fn lookahead(&self, ctx: Ctx) -> (Tok, String) {
        match self.items.get(self.position) {
            Some((t, lit)) => (Self::map(ctx, *t), lit.clone()),
            None => (Tok::Eos, String::new()),
        }
    }

    fn consume(&mut self, ctx: Ctx) -> (Tok, String) {
        let r = self.lookahead(ctx);
        self.position += 1;
        r
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Ctx::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self.parse_requirement().map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::Eos => return Ok(requirements),
                        Tok::Comma => {
                            let (t2, l2) = self.lookahead(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!("found '{l2}', expected: identifier after ','"));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::Eos => return Ok(requirements),
                _ => return Err(format!("found '{lit}', expected: !, identifier, or 'end of string'")),
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = inferred {
            return new_requirement(&key, op, Vec::new(), false);
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        new_requirement(&key, op, values, false)
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Ctx::Values);
        if tok == Tok::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Ctx::Values);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let errs = qualified_name_errors(&lit);
        if !errs.is_empty() {
            return Err(format!("<nil>: Invalid value: {}: {}", go_quote(&lit), errs.join("; ")));
        }
        let (t, _) = self.lookahead(Ctx::Values);
        if (t == Tok::Eos || t == Tok::Comma) && op != Some(Operator::DoesNotExist) {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.consume(Ctx::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Ctx::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let s = self.parse_identifiers_list()?;
                let (t, _) = self.consume(Ctx::Values);
                if t != Tok::ClosedPar {
                    // Go reports the literal looked at before the list, not the offending one.
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.consume(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut s: Vec<String> = Vec::new();
        let insert = |s: &mut Vec<String>, v: &str| {
            if !s.iter().any(|x| x == v) {
                s.push(v.to_string());
            }
        };
        loop {
            let (tok, lit) = self.consume(Ctx::Values);
            match tok {
                Tok::Identifier => {
                    insert(&mut s, &lit);
                    let (t2, l2) = self.lookahead(Ctx::Values);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(s),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        insert(&mut s, "");
                    }
                    let (t2, _) = self.lookahead(Ctx::Values);
                    if t2 == Tok::ClosedPar {
                        insert(&mut s, "");
                        return Ok(s);
                    }
                    if t2 == Tok::Comma {
                        self.consume(Ctx::Values);
                        insert(&mut s, "");
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        let (tok, _) = self.lookahead(Ctx::Values);
        if tok == Tok::Eos || tok == Tok::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.consume(Ctx::Values);
        if tok == Tok::Identifier {
            Ok(vec![lit])
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

// --- name validation (util/validation/validation.go) ------------------------------------------

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// `validation.RegexError`, including Go's doubled spaces after each example.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(e);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(fmt);
    out.push_str("')");
    out
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
                && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// `validation.IsQualifiedName`: label keys (`[prefix/]name`).
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.len() {
        1 => parts[0],
        2 => {
            let prefix = parts[0];
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    errs.push("prefix part must be no more than 253 characters".to_string());
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, &["example.com"])
                    ));
                }
            }
            parts[1]
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {}", regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])));
    }
    errs
}

/// `validation.IsValidLabelValue`: empty, or a qualified-name part of at most 63 characters.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

// ---------------------------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------------------------

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
    pub fn matches_object(&self, obj: &Value) -> bool {
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
pub fn field_value(obj: &Value, field: &str) -> Option<String> {
    if field.is_empty() {
        return None;
    }
    let mut cur = obj;
    for part in field.split('.') {
        cur = cur.as_object()?.get(part)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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
