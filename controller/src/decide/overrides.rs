//! `eno.azure.io/overrides`: conditional changes to a desired manifest, decided at
//! reconciliation time from the live object and the composition.
//!
//! The annotation is a JSON list of `{path, value | valueExpression, condition}`, applied in
//! order. A false or failing condition skips its override (so does a failing `valueExpression`,
//! one that yields `null`, or one evaluated without a live object): a bad expression keeps the
//! synthesized value instead of blocking reconciliation. `value: null` (or no value at all)
//! removes the field. A malformed annotation (not a list, a bad path, both `value` and
//! `valueExpression`) is an error on the resource: it is the synthesizer's bug, not a runtime
//! condition.
//!
//! Overrides run before the other control annotations are read, so they can switch
//! `disable-reconciliation`, `disable-updates`, `reconcile-interval` or `deletion-strategy`.

use serde_json::{Map, Value};

use super::cel::{self, CelError, Vars};

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

/// What happened to one override; the skips carry their reason for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    ConditionFalse,
    InvalidCondition(CelError),
    InvalidValueExpression(CelError),
    /// `valueExpression` needs a live object to read from, and there is none yet.
    NoLiveObject,
    /// `valueExpression` returned `null`: keep the synthesized value.
    NullValue,
    /// A list segment found no list (or no such element) to descend into.
    MissingParent,
    IndexOutOfRange,
    /// The path walks through a scalar, or uses a list segment on an object (or vice versa).
    TypeMismatch,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "an override object")]
struct Raw {
    path: String,
    #[serde(default)]
    value: Value,
    #[serde(default, rename = "valueExpression")]
    value_expression: Option<String>,
    #[serde(default)]
    condition: Option<String>,
}

/// Parses the annotation's value.
pub fn parse(annotation: &str) -> Result<Vec<Override>, OverridesError> {
    // Parsed in two steps so that truncated JSON and a wrong shape get different messages.
    let json: Value = serde_json::from_str(annotation).map_err(|e| OverridesError::Json(e.to_string()))?;
    let items = match json {
        Value::Array(items) => items,
        Value::Object(_) => return Err(OverridesError::Json("found an object".into())),
        other => return Err(OverridesError::Json(format!("found {other}"))),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let invalid = |reason: String| OverridesError::Invalid { index, reason };
            let raw: Raw = serde_json::from_value(item).map_err(|e| invalid(e.to_string()))?;
            let path = Path::parse(&raw.path).map_err(|e| invalid(format!("path {:?}: {e}", raw.path)))?;
            let value = match raw.value_expression.filter(|e| !e.is_empty()) {
                Some(_) if !raw.value.is_null() => {
                    return Err(invalid("value and valueExpression are mutually exclusive".into()))
                }
                Some(expression) => ValueSource::Expression(expression),
                None => ValueSource::Literal(raw.value),
            };
            Ok(Override { path, source: raw.path, value, condition: raw.condition.filter(|c| !c.is_empty()) })
        })
        .collect()
}

/// Applies the manifest's overrides (if any) to it. The result keeps the annotation, so the
/// same manifest can be overridden again on the next pass.
pub fn apply(manifest: &Value, vars: &Vars<'_>) -> Result<Value, OverridesError> {
    let Some(annotation) = manifest.pointer("/metadata/annotations").and_then(|a| a.get(OVERRIDES)) else {
        return Ok(manifest.clone());
    };
    let annotation = annotation.as_str().ok_or_else(|| OverridesError::Json("not a string".into()))?;
    let mut out = manifest.clone();
    for op in parse(annotation)? {
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
        if let Some(condition) = &self.condition {
            match cel::eval(condition, vars) {
                Ok(Value::Bool(true)) => {}
                Ok(_) => return Outcome::ConditionFalse,
                Err(e) => return Outcome::InvalidCondition(e),
            }
        }
        let value = match &self.value {
            ValueSource::Literal(v) => v.clone(),
            ValueSource::Expression(_) if vars.live.is_none() => return Outcome::NoLiveObject,
            ValueSource::Expression(expression) => match cel::eval(expression, vars) {
                Ok(Value::Null) => return Outcome::NullValue,
                Ok(v) => v,
                Err(e) => return Outcome::InvalidValueExpression(e),
            },
        };
        self.path.apply(target, &value)
    }
}

impl Path {
    /// Parses `self.a["b"][0][*][k="v"]` (quotes may be single or double; `\` escapes the quote).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser { chars: text.chars().collect(), at: 0 };
        p.skip_ws();
        if p.ident().as_deref() != Some("self") {
            return Err("must start with `self`".into());
        }
        let mut segments = Vec::new();
        loop {
            p.skip_ws();
            match p.peek() {
                None => break,
                Some('.') => {
                    p.at += 1;
                    p.skip_ws();
                    segments.push(Segment::Field(p.ident().ok_or_else(|| p.error("a field name"))?));
                }
                Some('[') => {
                    p.at += 1;
                    p.skip_ws();
                    let segment = match p.peek() {
                        Some('*') => {
                            p.at += 1;
                            Segment::All
                        }
                        Some('"' | '\'') => Segment::Field(p.string()?),
                        Some(c) if c.is_ascii_digit() => Segment::Index(p.index()?),
                        _ => {
                            let key = p.ident().ok_or_else(|| p.error("an index, a key or `*`"))?;
                            p.skip_ws();
                            p.expect('=')?;
                            p.skip_ws();
                            Segment::Matching { key, value: p.string()? }
                        }
                    };
                    p.skip_ws();
                    p.expect(']')?;
                    segments.push(segment);
                }
                Some(_) => return Err(p.error("`.` or `[`")),
            }
        }
        if segments.is_empty() {
            return Err("must name a field below `self`".into());
        }
        Ok(Path(segments))
    }

    /// Sets (or, for `Null`, removes) the value at this path. Missing objects on the way are
    /// created when setting; a list segment never invents a list or an element.
    pub fn apply(&self, target: &mut Value, value: &Value) -> Outcome {
        apply_at(target, &self.0, value)
    }
}

fn apply_at(node: &mut Value, path: &[Segment], value: &Value) -> Outcome {
    let Some((segment, rest)) = path.split_first() else { return Outcome::Applied };
    let last = rest.is_empty();
    match segment {
        Segment::Field(name) => {
            if node.is_null() && !value.is_null() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else {
                // Removing below something absent is already done.
                return if node.is_null() { Outcome::Applied } else { Outcome::TypeMismatch };
            };
            if last {
                if value.is_null() {
                    map.remove(name);
                } else {
                    map.insert(name.clone(), value.clone());
                }
                return Outcome::Applied;
            }
            match map.get_mut(name) {
                Some(child) => apply_at(child, rest, value),
                None if value.is_null() => Outcome::Applied,
                None => {
                    let child = map.entry(name.clone()).or_insert(Value::Null);
                    let outcome = apply_at(child, rest, value);
                    if outcome != Outcome::Applied {
                        map.remove(name); // Leave no empty scaffolding behind a skipped override.
                    }
                    outcome
                }
            }
        }
        Segment::Index(i) => {
            let Value::Array(items) = node else {
                return if node.is_null() { Outcome::MissingParent } else { Outcome::TypeMismatch };
            };
            if *i >= items.len() {
                return Outcome::IndexOutOfRange;
            }
            if last {
                if value.is_null() {
                    items.remove(*i);
                } else {
                    items[*i] = value.clone();
                }
                return Outcome::Applied;
            }
            apply_at(&mut items[*i], rest, value)
        }
        Segment::All | Segment::Matching { .. } => {
            let Value::Array(items) = node else {
                return if node.is_null() { Outcome::MissingParent } else { Outcome::TypeMismatch };
            };
            let selected = |item: &Value| match segment {
                Segment::Matching { key, value } => item.get(key).and_then(Value::as_str) == Some(value.as_str()),
                _ => true,
            };
            if last {
                if value.is_null() {
                    items.retain(|item| !selected(item));
                } else {
                    items.iter_mut().filter(|item| selected(item)).for_each(|item| *item = value.clone());
                }
                return Outcome::Applied;
            }
            // Every selected element gets the change; the first failure is reported.
            items
                .iter_mut()
                .filter(|item| selected(item))
                .map(|item| apply_at(item, rest, value))
                .fold(Outcome::Applied, |acc, o| if acc == Outcome::Applied { o } else { acc })
        }
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn error(&self, expected: &str) -> String {
        match self.peek() {
            Some(c) => format!("expected {expected} at column {}, found {c:?}", self.at + 1),
            None => format!("expected {expected} at the end"),
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("`{c}`")))
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, as in Eno's path grammar.
    fn ident(&mut self) -> Option<String> {
        let start = self.at;
        if !self.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.at += 1;
        }
        Some(self.chars[start..self.at].iter().collect())
    }

    fn index(&mut self) -> Result<usize, String> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits: String = self.chars[start..self.at].iter().collect();
        digits.parse().map_err(|e| format!("index {digits}: {e}"))
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(self.error("a quoted string")),
        };
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(format!("unterminated string starting with {quote}")),
                Some('\\') => {
                    self.at += 1;
                    out.push(self.peek().ok_or_else(|| "unterminated escape".to_owned())?);
                }
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests;
