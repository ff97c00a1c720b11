//! `eno.azure.io/overrides`: conditional changes to a desired manifest, decided at
//! reconciliation time from the live object and the composition.
//!
//! The annotation is a JSON list of `{path, value | valueExpression, condition}`, applied in
//! order. A false or failing condition skips its override (so does a failing `valueExpression`,
//! one that yields `null`, or one evaluated without a live object): a bad expression keeps the
//! synthesized value instead of blocking reconciliation. `value: null` (or no value at all)
//! removes the field (in a list, the element becomes `null`). Paths are parsed and walked as
//! Eno's are, quirks included (see [`Path::parse`] and [`apply_at`]). A malformed annotation (not a list, a bad path, both `value` and
//! `valueExpression`) is an error on the resource: it is the synthesizer's bug, not a runtime
//! condition.
//!
//! Overrides run before the other control annotations are read, so they can switch
//! `disable-reconciliation`, `disable-updates`, `reconcile-interval` or `deletion-strategy`.

use serde_json::{Map, Value};

use super::cel::{self, CelError, Vars};
use super::memo::Memo;
use std::rc::Rc;

pub use crate::api::annotations::OVERRIDES;

/// One step of a path after the leading `self`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// `.name` or `["name"]` / `['name']`.
    Field(String),
    /// `[2]`.
    Index(usize),
    /// `[*]`: every element of a list.
    All,
    /// `[key="value"]`: the list elements whose `key` is the string `value`.
    Matching { key: String, value: String },
}

/// A parsed override path: `self` followed by segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path(pub Vec<Segment>);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverridesError {
    #[error("{OVERRIDES} is not a JSON list of overrides: {0}")]
    Json(String),
    #[error("{OVERRIDES}[{index}]: {reason}")]
    Invalid { index: usize, reason: String },
}

/// One override, as written in the annotation.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub path: Path,
    pub source: String,
    pub value: ValueSource,
    pub condition: Option<String>,
}

/// Where an override's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueSource {
    /// A literal; `Null` removes the field.
    Literal(Value),
    /// A CEL expression over the live object.
    Expression(String),
}

/// What happened to one override, as Eno's status names it; the skips carry their reason for
/// the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Eno's `Active`: the path was walked. Eno reports it also when the walk stopped early
    /// without a change (an explicit `null` on the way, no list element matched).
    Applied,
    ConditionFalse,
    InvalidCondition(CelError),
    InvalidValueExpression(CelError),
    /// `valueExpression` needs a live object to read from, and there is none yet.
    NoLiveObject,
    /// `valueExpression` returned `null`: keep the synthesized value.
    NullValue,
    /// The path names no field at all (`self` alone).
    MissingParent,
    IndexOutOfRange,
    /// A list segment met something that is not a list.
    TypeMismatch,
}

impl Outcome {
    /// Eno's errors: they stop the walk (changes already made stay).
    fn stops(&self) -> bool {
        matches!(self, Outcome::IndexOutOfRange | Outcome::TypeMismatch)
    }
}

/// Parses the annotation's value. As Go's `encoding/json` reads Eno's: `null` is no overrides,
/// unknown keys are ignored and keys match case-insensitively.
pub fn parse(annotation: &str) -> Result<Vec<Override>, OverridesError> {
    // Parsed in two steps so that truncated JSON and a wrong shape get different messages.
    let json: Value = serde_json::from_str(annotation).map_err(|e| OverridesError::Json(e.to_string()))?;
    let items = match json {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        Value::Object(_) => return Err(OverridesError::Json("found an object".into())),
        other => return Err(OverridesError::Json(format!("found {other}"))),
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let invalid = |reason: String| OverridesError::Invalid { index, reason };
            let Value::Object(item) = item else { return Err(invalid(format!("expected an override object, found {item}"))) };
            let text = |key: &str| match field(item, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
                Some(other) => Err(invalid(format!("{key} must be a string, found {other}"))),
            };
            let (source, condition) = (text("path")?.unwrap_or_default(), text("condition")?);
            let value = field(item, "value").cloned().unwrap_or(Value::Null);
            let value = match text("valueExpression")? {
                Some(_) if !value.is_null() => {
                    return Err(invalid("value and valueExpression are mutually exclusive".into()))
                }
                Some(expression) => ValueSource::Expression(expression),
                None => ValueSource::Literal(value),
            };
            let path = Path::parse(&source).map_err(|e| invalid(format!("path {source:?}: {e}")))?;
            Ok(Override { path, source, value, condition })
        })
        .collect()
}

/// `key` in a JSON object as Go's decoder finds a struct field: exactly, else ignoring case.
fn field<'a>(item: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    item.get(key).or_else(|| item.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

thread_local! {
    static PARSED: Memo<Result<Vec<Override>, OverridesError>> = const { Memo::new() };
}

/// [`parse`], once per annotation text: every pass of a resource reads the same annotation.
fn parsed(annotation: &str) -> Rc<Result<Vec<Override>, OverridesError>> {
    PARSED.with(|memo| memo.get(annotation, parse))
}

/// Parses the annotation and compiles its expressions: what Eno checks of a synthesizer's output
/// before accepting it.
pub fn validate(annotation: &str) -> Result<(), OverridesError> {
    let parsed = parsed(annotation);
    for (index, op) in parsed.as_ref().as_ref().map_err(Clone::clone)?.iter().enumerate() {
        let expressions = [op.condition.as_deref(), match &op.value {
            ValueSource::Expression(e) => Some(e.as_str()),
            ValueSource::Literal(_) => None,
        }];
        for expression in expressions.into_iter().flatten() {
            cel::check(expression).map_err(|e| OverridesError::Invalid { index, reason: e.to_string() })?;
        }
    }
    Ok(())
}

/// Applies the manifest's overrides (if any) to it. The result keeps the annotation, so the
/// same manifest can be overridden again on the next pass.
pub fn apply(manifest: &Value, vars: &Vars<'_>) -> Result<Value, OverridesError> {
    let Some(annotation) = manifest.pointer("/metadata/annotations").and_then(|a| a.get(OVERRIDES)) else {
        return Ok(manifest.clone());
    };
    let annotation = annotation.as_str().ok_or_else(|| OverridesError::Json("not a string".into()))?;
    let parsed = parsed(annotation);
    let ops = parsed.as_ref().as_ref().map_err(Clone::clone)?;
    let mut out = manifest.clone();
    for op in ops {
        match op.apply(&mut out, vars) {
            Outcome::Applied => tracing::debug!(path = %op.source, "override applied"),
            // Expressions that do not compile, and paths that do not fit the object, are probably
            // not what the synthesizer's author meant: say so.
            outcome @ (Outcome::InvalidCondition(CelError::Compile { .. })
            | Outcome::InvalidValueExpression(CelError::Compile { .. })
            | Outcome::IndexOutOfRange
            | Outcome::TypeMismatch
            | Outcome::MissingParent) => tracing::info!(path = %op.source, ?outcome, "override skipped"),
            // The usual ways not to apply, e.g. a condition reading an annotation not set.
            outcome => tracing::debug!(path = %op.source, ?outcome, "override skipped"),
        }
    }
    Ok(out)
}

impl Override {
    /// Applies this override to `target` if its condition holds.
    pub fn apply(&self, target: &mut Value, vars: &Vars<'_>) -> Outcome {
        let managed = self.path.managed_by_eno(vars.live);
        if let Some(condition) = &self.condition {
            match cel::eval_for_path(condition, vars, managed) {
                Ok(Value::Bool(true)) => {}
                Ok(_) => return Outcome::ConditionFalse,
                Err(e) => return Outcome::InvalidCondition(e),
            }
        }
        let value = match &self.value {
            ValueSource::Literal(v) => v.clone(),
            ValueSource::Expression(_) if vars.live.is_none() => return Outcome::NoLiveObject,
            ValueSource::Expression(expression) => match cel::eval_for_path(expression, vars, managed) {
                Ok(Value::Null) => return Outcome::NullValue,
                Ok(v) => v,
                Err(e) => return Outcome::InvalidValueExpression(e),
            },
        };
        self.path.apply(target, &value)
    }
}

impl Path {
    /// Parses a path by Eno's grammar: `self`, then sections `.name`, `["key"]`/`['key']`, `[2]`,
    /// `[*]` and `[key="value"]`. As there, whitespace between tokens is ignored and the dots
    /// before a section are optional and may repeat (`self a`, `self..a`, `.self.a`, `self.[0]`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut tokens = tokens.iter().peekable();
        let mut sections = Vec::new();
        while tokens.peek().is_some() {
            while tokens.next_if_eq(&&Token::Punct('.')).is_some() {}
            let section = match tokens.next() {
                Some(Token::Ident(name)) => (Segment::Field(name.clone()), true),
                Some(Token::Punct('[')) => {
                    let segment = match tokens.next() {
                        Some(Token::Punct('*')) => Segment::All,
                        Some(Token::Int(digits)) => {
                            Segment::Index(digits.parse().map_err(|e| format!("index {digits}: {e}"))?)
                        }
                        Some(Token::String(quoted)) => Segment::Field(unquote(quoted)),
                        Some(Token::Ident(key)) => {
                            expect(tokens.next(), &Token::Punct('='))?;
                            match tokens.next() {
                                Some(Token::String(quoted)) => Segment::Matching { key: key.clone(), value: unquote(quoted) },
                                other => return Err(unexpected(other, "a quoted string")),
                            }
                        }
                        other => return Err(unexpected(other, "an index, a key or `*`")),
                    };
                    expect(tokens.next(), &Token::Punct(']'))?;
                    (segment, false)
                }
                other => return Err(unexpected(other, "a field name or `[`")),
            };
            sections.push(section);
        }
        match sections.first() {
            Some((Segment::Field(name), true)) if name == "self" => {}
            _ => return Err("paths must start with `self`".into()),
        }
        Ok(Path(sections.into_iter().skip(1).map(|(segment, _)| segment).collect()))
    }

    /// Sets (or, for `Null`, removes) the value at this path, walking it as Eno does.
    pub fn apply(&self, target: &mut Value, value: &Value) -> Outcome {
        apply_at(target, &self.0, value)
    }

    /// Eno's `ManagedByEno` (`pathManagedByEno` in expressions): whether a `managedFields`
    /// entry of the field manager `eno` on the live object lists this path as a field it set.
    /// List elements match by index or by `[key="value"]` as recorded; `[*]` and `self` alone
    /// match nothing.
    pub fn managed_by_eno(&self, live: Option<&Value>) -> bool {
        let Some(entries) = live.and_then(|l| l.pointer("/metadata/managedFields")).and_then(Value::as_array) else {
            return false;
        };
        entries
            .iter()
            .filter(|e| e.get("manager").and_then(Value::as_str) == Some("eno"))
            .filter_map(|e| e.get("fieldsV1").and_then(Value::as_object))
            .any(|fields| owns(fields, &self.0))
    }
}

/// Whether a `fieldsV1` set has `path` as a member: its last element's entry is a leaf (`{}`)
/// or marked `"."`.
fn owns(fields: &Map<String, Value>, path: &[Segment]) -> bool {
    let Some((segment, rest)) = path.split_first() else { return false };
    let Some(child) = fields.iter().find(|(key, _)| element_is(key, segment)).and_then(|(_, v)| v.as_object()) else {
        return false;
    };
    if rest.is_empty() {
        child.is_empty() || child.contains_key(".")
    } else {
        owns(child, rest)
    }
}

/// Whether a `fieldsV1` key (`f:name`, `i:0`, `k:{"name":"x"}`) is this path segment.
fn element_is(key: &str, segment: &Segment) -> bool {
    match segment {
        Segment::Field(name) => key.strip_prefix("f:") == Some(name.as_str()),
        Segment::Index(i) => key.strip_prefix("i:").and_then(|n| n.parse::<usize>().ok()) == Some(*i),
        Segment::Matching { key: field, value } => {
            let wanted = Value::Object(Map::from_iter([(field.clone(), Value::String(value.clone()))]));
            key.strip_prefix("k:").and_then(|k| serde_json::from_str::<Value>(k).ok()) == Some(wanted)
        }
        Segment::All => false,
    }
}

/// One step of Eno's walk (`PathExpr.apply`), quirks included:
/// - a field segment on something that is not an object is passed over, the next segment
///   applying to the same node;
/// - a missing object on the way is created when setting; an explicit `null` on the way, or a
///   missing one when removing, ends the walk without a change;
/// - removing a field that leaves its (formerly non-empty) parent object empty removes the
///   parent too, and so on up; objects that were empty already stay;
/// - list elements are never removed: `null` is stored in their place;
/// - `[*]` replaces whole the elements that are not objects when the path goes on below them;
/// - list segments need a list (else `TypeMismatch`), stop the walk on an error, and keep the
///   changes made to earlier elements.
fn apply_at(node: &mut Value, path: &[Segment], value: &Value) -> Outcome {
    let Some((segment, rest)) = path.split_first() else { return Outcome::MissingParent };
    match segment {
        Segment::Field(name) => {
            let Value::Object(map) = node else { return apply_at(node, rest, value) };
            if rest.is_empty() {
                if value.is_null() {
                    map.remove(name);
                } else {
                    map.insert(name.clone(), value.clone());
                }
                return Outcome::Applied;
            }
            match map.get(name) {
                Some(Value::Null) => return Outcome::Applied,
                None if value.is_null() => return Outcome::Applied,
                None => {
                    map.insert(name.clone(), Value::Object(Map::new()));
                }
                Some(_) => {}
            }
            let child = map.get_mut(name).expect("present or just inserted");
            let fields_before = child.as_object().map_or(0, Map::len);
            let outcome = apply_at(child, rest, value);
            if outcome.stops() {
                return outcome;
            }
            if value.is_null() && fields_before > 0 && child.as_object().is_some_and(Map::is_empty) {
                map.remove(name);
            }
            Outcome::Applied
        }
        Segment::Index(i) => {
            let Value::Array(items) = node else { return Outcome::TypeMismatch };
            let Some(item) = items.get_mut(*i) else { return Outcome::IndexOutOfRange };
            if rest.is_empty() {
                *item = value.clone();
                return Outcome::Applied;
            }
            if item.is_null() {
                return Outcome::Applied;
            }
            match apply_at(item, rest, value) {
                outcome if outcome.stops() => outcome,
                _ => Outcome::Applied,
            }
        }
        Segment::All | Segment::Matching { .. } => {
            let Value::Array(items) = node else { return Outcome::TypeMismatch };
            for item in items {
                if let Segment::Matching { key, value: wanted } = segment {
                    if item.get(key).and_then(Value::as_str) != Some(wanted.as_str()) {
                        continue; // Also passes over elements that are not objects.
                    }
                }
                if item.is_object() && !rest.is_empty() {
                    let outcome = apply_at(item, rest, value);
                    if outcome.stops() {
                        return outcome;
                    }
                    continue;
                }
                *item = value.clone();
            }
            // Eno's loop ends here with this status; a field above turns it into `Applied`.
            Outcome::MissingParent
        }
    }
}

/// A token of Eno's path lexer; whitespace is dropped.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    Ident(String),
    /// A quoted string, quotes and backslashes included as written.
    String(String),
    /// `\d+`
    Int(String),
    /// One of `.[]=*`.
    Punct(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    let run = |at: usize, ok: &dyn Fn(char) -> bool| at + chars[at..].iter().take_while(|c| ok(**c)).count();
    while at < chars.len() {
        let c = chars[at];
        let end = if c.is_ascii_alphabetic() || c == '_' {
            let end = run(at, &|c| c.is_ascii_alphanumeric() || c == '_');
            tokens.push(Token::Ident(chars[at..end].iter().collect()));
            end
        } else if c == '"' || c == '\'' {
            let mut end = at + 1;
            let end = loop {
                match chars.get(end) {
                    None => return Err(format!("unterminated string at column {}", at + 1)),
                    // As Go's `\\.`, an escape takes any character but a newline.
                    Some('\\') if chars.get(end + 1).is_some_and(|c| *c != '\n') => end += 2,
                    Some('\\') => return Err(format!("invalid escape at column {}", end + 1)),
                    Some(q) if *q == c => break end + 1,
                    Some(_) => end += 1,
                }
            };
            tokens.push(Token::String(chars[at..end].iter().collect()));
            end
        } else if c.is_ascii_digit() {
            let end = run(at, &|c| c.is_ascii_digit());
            tokens.push(Token::Int(chars[at..end].iter().collect()));
            end
        } else if ".[]=*".contains(c) {
            tokens.push(Token::Punct(c));
            at + 1
        } else if c.is_whitespace() {
            run(at, &char::is_whitespace)
        } else {
            return Err(format!("unexpected {c:?} at column {}", at + 1));
        };
        at = end;
    }
    Ok(tokens)
}

/// Eno's `unquoteKey`: strips the quotes and unescapes the quote character only (other
/// backslashes stay). A key holding a line break keeps its quotes, as Eno's pattern does not
/// match across lines.
fn unquote(quoted: &str) -> String {
    let (quote, inner) = (&quoted[..1], &quoted[1..quoted.len() - 1]);
    if inner.contains('\n') {
        return quoted.to_owned();
    }
    inner.replace(&format!("\\{quote}"), quote)
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Ident(s) | Token::String(s) | Token::Int(s) => write!(f, "`{s}`"),
            Token::Punct(c) => write!(f, "`{c}`"),
        }
    }
}

fn expect(token: Option<&Token>, wanted: &Token) -> Result<(), String> {
    match token {
        Some(t) if t == wanted => Ok(()),
        other => Err(unexpected(other, &wanted.to_string())),
    }
}

fn unexpected(token: Option<&Token>, expected: &str) -> String {
    match token {
        Some(t) => format!("expected {expected}, found {t}"),
        None => format!("expected {expected} at the end"),
    }
}

#[cfg(test)]
mod tests;
