//! Server-side printing: the `meta.k8s.io/v1` `Table` kubectl asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! Ports apiextensions `tableconvertor.go` (a `Name` column, then the CRD's
//! `additionalPrinterColumns`, each cell a JSONPath with missing keys allowed and typed by the
//! column's `type`), `serveDefaultColumnsIfEmpty` (a lone `Age` column) and
//! `duration.HumanDuration`. kubectl prints cells verbatim, so the server computes ages.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Map, Value};

use apimachinery::gofmt::{go_float_v, go_json};

/// `ObjectMeta.name`'s description, which the server puts on the `Name` column.
pub const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `ObjectMeta.creationTimestamp`'s description, used for the default `Age` column.
pub const CREATION_TIMESTAMP_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One printer column after `Name`: a CRD `additionalPrinterColumns` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    pub format: String,
    /// Empty means the server's default text (`Custom resource definition column ...`).
    pub description: String,
    /// 0 shows by default; higher ones only with `-o wide`.
    pub priority: i32,
    /// e.g. `.spec.synthesizer.name`, `.status.conditions[?(@.type=="Ready")].status`.
    pub json_path: String,
}

impl Column {
    /// Reads one `additionalPrinterColumns` entry (`name`, `type`, `format`, `description`,
    /// `priority`, `jsonPath`); `None` without a name or jsonPath.
    pub fn from_crd_column(c: &Value) -> Option<Column> {
        let name = c.get("name")?.as_str()?.to_string();
        let json_path = c.get("jsonPath")?.as_str()?.to_string();
        let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(Column {
            name,
            type_: c.get("type").and_then(Value::as_str).unwrap_or("string").to_string(),
            format: text("format"),
            description: text("description"),
            priority: c.get("priority").and_then(Value::as_i64).map_or(0, |p| p.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
            json_path,
        })
    }

    /// The description the server shows: the CRD's, or its JSONPath-based default.
    pub fn effective_description(&self) -> String {
        if self.description.is_empty() {
            format!("Custom resource definition column (in JSONPath format): {}", self.json_path)
        } else {
            self.description.clone()
        }
    }
}

/// The single `Age` column (`date`, `.metadata.creationTimestamp`) the server serves for a CRD
/// version without `additionalPrinterColumns`. A CRD with columns does not get it added.
pub fn default_columns() -> Vec<Column> {
    vec![Column {
        name: "Age".to_string(),
        type_: "date".to_string(),
        format: String::new(),
        description: CREATION_TIMESTAMP_DESCRIPTION.to_string(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".to_string(),
    }]
}

/// Columns for a CRD version object (`spec.versions[i]`): its `additionalPrinterColumns`, or
/// [`default_columns`] when it has none.
pub fn crd_columns(version: &Value) -> Vec<Column> {
    let cols: Vec<Column> = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Column::from_crd_column).collect())
        .unwrap_or_default();
    if cols.is_empty() {
        default_columns()
    } else {
        cols
    }
}

/// The `Name` column definition every table starts with.
pub fn name_column_definition() -> Value {
    json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0})
}

/// Builds the `Table` for `rows` (full objects): a `Name` cell from `metadata.name`, one cell
/// per column, and the row's `PartialObjectMetadata` (kubectl reads namespace and labels from
/// it for `-A` and `--show-labels`). `metadata` carries `resourceVersion` and `continue` when
/// set.
pub fn table(columns: &[Column], rows: &[Value], resource_version: &str, continue_token: Option<&str>, now: DateTime<Utc>) -> Value {
    let mut defs = vec![name_column_definition()];
    defs.extend(columns.iter().map(|c| {
        json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.effective_description(), "priority": c.priority})
    }));
    let mut metadata = Map::new();
    if !resource_version.is_empty() {
        metadata.insert("resourceVersion".into(), Value::String(resource_version.to_string()));
    }
    if let Some(c) = continue_token.filter(|c| !c.is_empty()) {
        metadata.insert("continue".into(), Value::String(c.to_string()));
    }
    let compiled: Vec<Option<Vec<Step>>> = columns.iter().map(|c| parse_path(&c.json_path).ok()).collect();
    let rows: Vec<Value> = rows
        .iter()
        .map(|obj| {
            let meta = obj.get("metadata").filter(|m| m.is_object()).cloned().unwrap_or_else(|| json!({}));
            let name = meta.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let mut cells = vec![Value::String(name)];
            for (c, steps) in columns.iter().zip(&compiled) {
                let found = steps.as_ref().and_then(|s| eval(obj, s).into_iter().next()).cloned().unwrap_or(Value::Null);
                cells.push(cell(&found, &c.type_, now));
            }
            json!({
                "cells": cells,
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": defs,
        "rows": rows
    })
}

// =============================================================================================
// Cells
// =============================================================================================

/// Types a JSONPath result for a column (`cellForJSONValue`, plus the text printing string
/// columns get): `string` → text (numbers and booleans as Go prints them, arrays/objects as
/// JSON), `integer`/`number`/`boolean` → typed JSON, `date` → an age like `5m` (`<unknown>` for
/// an empty or zero timestamp, `<invalid>` when unparsable). A missing value (`null`) stays
/// `null` for every type — kubectl shows `<none>` — and a value of the wrong JSON type is
/// `null` too.
pub fn cell(value: &Value, column_type: &str, now: DateTime<Utc>) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    match column_type {
        "string" => Value::String(text(value)),
        "integer" => match value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    json!(i)
                } else if n.is_u64() {
                    json!(i64::MAX)
                } else {
                    // Go's int64(float64) truncates; `as` also saturates instead of wrapping.
                    json!(n.as_f64().unwrap_or(0.0) as i64)
                }
            }
            _ => Value::Null,
        },
        "number" => match value.as_f64() {
            Some(f) if value.is_number() => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            _ => Value::Null,
        },
        "boolean" => match value {
            Value::Bool(b) => Value::Bool(*b),
            _ => Value::Null,
        },
        "date" => match value {
            Value::String(s) => Value::String(age(s, now)),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// `metav1.Time.UnmarshalQueryParameter` then `ConvertToHumanReadableDateType`.
fn age(timestamp: &str, now: DateTime<Utc>) -> String {
    if timestamp.is_empty() || timestamp == "null" {
        return "<unknown>".to_string();
    }
    let Some(t) = parse_rfc3339(timestamp) else { return "<invalid>".to_string() };
    if is_go_zero_time(&t) {
        return "<unknown>".to_string();
    }
    human_duration(now.signed_duration_since(t))
}

/// Go `time.Parse(time.RFC3339, s)`: `2006-01-02T15:04:05Z07:00`, optional fractional seconds,
/// an upper-case `T` and `Z`.
fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn is_go_zero_time(t: &DateTime<Utc>) -> bool {
    use chrono::{Datelike, Timelike};
    t.year() == 1 && t.ordinal() == 1 && t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0
}

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`: ~2-3 significant figures
/// (`10s`, `5m10s` under ten minutes, `3h20m` under eight hours, `2d5h` under eight days,
/// `8d`, `2y100d`, `9y`); up to a second in the future reads as `0s`, further as `<invalid>`.
pub fn human_duration(d: TimeDelta) -> String {
    const SEC: i64 = 1_000_000_000;
    const MIN: i64 = 60 * SEC;
    const HOUR: i64 = 60 * MIN;
    // Go's time.Since saturates at the int64 nanosecond range.
    let nanos = d.num_nanoseconds().unwrap_or(if d < TimeDelta::zero() { i64::MIN } else { i64::MAX });
    let seconds = nanos / SEC;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / MIN;
    if minutes < 10 {
        let s = (nanos / SEC) % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / HOUR;
    if hours < 8 {
        let m = (nanos / MIN) % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// How client-go's JSONPath printer renders a value: strings raw, scalars with Go's `%v`,
/// arrays and objects as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => go_float_v(f),
            _ => n.to_string(),
        },
        _ => go_json(v),
    }
}

// =============================================================================================
// JSONPath (the subset client-go's jsonpath supports in printer columns)
// =============================================================================================

/// Evaluates a printer-column JSONPath against `obj` and returns the first result, or `null`
/// when there is none or the path does not parse. Like the server, only the first match of
/// a multi-match path (`[*]`, filters) is used.
pub fn jsonpath_cell(obj: &Value, path: &str) -> Value {
    match parse_path(path) {
        Ok(steps) => eval(obj, &steps).into_iter().next().cloned().unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// Every result of `path` in document order (object members by key); empty when nothing
/// matches or the path does not parse. Supports `.field` (with `\.` escapes), `['key']`,
/// `[n]`, `[-n]`, `[a:b:step]`, `[*]`/`.*`, `..field`, unions `[0,1]`/`['a','b']`, and
/// filters `[?(@.x=="v")]` with `== != < > <= >=` or bare existence `[?(@.x)]`.
pub fn jsonpath_values(obj: &Value, path: &str) -> Vec<Value> {
    match parse_path(path) {
        Ok(steps) => eval(obj, &steps).into_iter().cloned().collect(),
        Err(_) => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Sel {
    Name(String),
    Wildcard,
    Indices(Vec<i64>),
    Names(Vec<String>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    descend: bool,
    sel: Sel,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Vec<Step>),
    Lit(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Operand,
    cmp: Option<(Cmp, Operand)>,
}

/// Nesting guard for filter paths inside filters.
const MAX_PATH_NESTING: usize = 16;

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    parse_path_at(path, 0)
}

fn parse_path_at(path: &str, nesting: usize) -> Result<Vec<Step>, String> {
    if nesting > MAX_PATH_NESTING {
        return Err("path nested too deeply".into());
    }
    let mut p = path.trim();
    if p.starts_with('{') && p.ends_with('}') && p.len() >= 2 {
        p = p[1..p.len() - 1].trim();
    }
    let chars: Vec<char> = p.chars().collect();
    let n = chars.len();
    let mut i = 0;
    let mut steps = Vec::new();
    if i < n && chars[i] == '$' {
        i += 1;
    }
    // Tolerate a bare leading field (`spec.x`).
    if i < n && chars[i] != '.' && chars[i] != '[' {
        let (name, next) = read_name(&chars, i);
        if name.is_empty() {
            return Err(format!("unexpected character {:?}", chars[i]));
        }
        steps.push(Step { descend: false, sel: Sel::Name(name) });
        i = next;
    }
    while i < n {
        match chars[i] {
            '.' => {
                let descend = chars.get(i + 1) == Some(&'.');
                i += if descend { 2 } else { 1 };
                match chars.get(i) {
                    None if descend => return Err("path ends with '..'".into()),
                    // A trailing `.` is the current node (`{.}`).
                    None => {}
                    Some('[') => {
                        let (sel, next) = read_bracket(&chars, i, nesting)?;
                        steps.push(Step { descend, sel });
                        i = next;
                    }
                    Some('*') => {
                        steps.push(Step { descend, sel: Sel::Wildcard });
                        i += 1;
                    }
                    Some(_) => {
                        let (name, next) = read_name(&chars, i);
                        if name.is_empty() {
                            return Err(format!("unexpected character {:?}", chars[i]));
                        }
                        steps.push(Step { descend, sel: Sel::Name(name) });
                        i = next;
                    }
                }
            }
            '[' => {
                let (sel, next) = read_bracket(&chars, i, nesting)?;
                steps.push(Step { descend: false, sel });
                i = next;
            }
            c => return Err(format!("unexpected character {c:?}")),
        }
    }
    Ok(steps)
}

/// A field name up to the next `.`, `[`, or whitespace; `\x` takes `x` literally.
fn read_name(chars: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            name.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '.' || c == '[' || c == ']' || c.is_whitespace() {
            break;
        }
        name.push(c);
        i += 1;
    }
    (name, i)
}

/// Parses `[...]` starting at `chars[start] == '['`; returns the selector and the index after `]`.
fn read_bracket(chars: &[char], start: usize, nesting: usize) -> Result<(Sel, usize), String> {
    let mut i = start + 1;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == '\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => break,
                ']' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    if i >= chars.len() {
        return Err("unterminated '['".into());
    }
    let inner: String = chars[start + 1..i].iter().collect();
    let sel = parse_selector(inner.trim(), nesting)?;
    Ok((sel, i + 1))
}

fn parse_selector(inner: &str, nesting: usize) -> Result<Sel, String> {
    if inner == "*" {
        return Ok(Sel::Wildcard);
    }
    if let Some(expr) = inner.strip_prefix('?') {
        let expr = expr.trim();
        let body = expr.strip_prefix('(').and_then(|e| e.strip_suffix(')')).ok_or("filter must be ?(...)")?;
        return Ok(Sel::Filter(Box::new(parse_filter(body.trim(), nesting)?)));
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        let names = split_outside_quotes(inner, ',')
            .into_iter()
            .map(|part| unquote(part.trim()).ok_or_else(|| format!("bad key {part:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Sel::Names(names));
    }
    if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        if parts.len() > 3 {
            return Err("too many ':' in slice".into());
        }
        let num = |s: &str| -> Result<Option<i64>, String> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse().map(Some).map_err(|_| format!("bad slice bound {s:?}"))
            }
        };
        return Ok(Sel::Slice(num(parts[0])?, num(parts[1])?, if parts.len() == 3 { num(parts[2])? } else { None }));
    }
    let idx = inner
        .split(',')
        .map(|s| s.trim().parse::<i64>().map_err(|_| format!("bad index {s:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sel::Indices(idx))
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            None => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn unquote(s: &str) -> Option<String> {
    let q = s.chars().next()?;
    if (q != '\'' && q != '"') || s.len() < 2 || !s.ends_with(q) {
        return None;
    }
    let body = &s[1..s.len() - 1];
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn parse_filter(expr: &str, nesting: usize) -> Result<Filter, String> {
    // Find the first comparison operator outside quotes.
    let chars: Vec<(usize, char)> = expr.char_indices().collect();
    let mut quote: Option<char> = None;
    let mut found: Option<(usize, usize, Cmp)> = None;
    let mut k = 0;
    while k < chars.len() {
        let (pos, c) = chars[k];
        let next = chars.get(k + 1).map(|x| x.1);
        match quote {
            Some(q) => {
                if c == '\\' {
                    k += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                let op = match (c, next) {
                    ('\'' | '"', _) => {
                        quote = Some(c);
                        None
                    }
                    ('=', Some('=')) => Some((2, Cmp::Eq)),
                    ('!', Some('=')) => Some((2, Cmp::Ne)),
                    ('<', Some('=')) => Some((2, Cmp::Le)),
                    ('>', Some('=')) => Some((2, Cmp::Ge)),
                    ('<', _) => Some((1, Cmp::Lt)),
                    ('>', _) => Some((1, Cmp::Gt)),
                    _ => None,
                };
                if let Some((len, cmp)) = op {
                    found = Some((pos, len, cmp));
                    break;
                }
            }
        }
        k += 1;
    }
    match found {
        None => Ok(Filter { left: parse_operand(expr, nesting)?, cmp: None }),
        Some((pos, len, cmp)) => {
            let left = parse_operand(expr[..pos].trim(), nesting)?;
            let right = parse_operand(expr[pos + len..].trim(), nesting)?;
            Ok(Filter { left, cmp: Some((cmp, right)) })
        }
    }
}

fn parse_operand(s: &str, nesting: usize) -> Result<Operand, String> {
    if let Some(rel) = s.strip_prefix('@') {
        return Ok(Operand::Path(parse_path_at(rel, nesting + 1)?));
    }
    if let Some(text) = unquote(s) {
        return Ok(Operand::Lit(Value::String(text)));
    }
    match s {
        "true" => return Ok(Operand::Lit(Value::Bool(true))),
        "false" => return Ok(Operand::Lit(Value::Bool(false))),
        "null" | "nil" => return Ok(Operand::Lit(Value::Null)),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Operand::Lit(json!(i)));
    }
    if let Ok(f) = s.parse::<f64>() {
        if let Some(n) = serde_json::Number::from_f64(f) {
            return Ok(Operand::Lit(Value::Number(n)));
        }
    }
    Err(format!("unrecognized filter operand {s:?}"))
}

fn eval<'a>(root: &'a Value, steps: &[Step]) -> Vec<&'a Value> {
    let mut current = vec![root];
    for step in steps {
        let sources: Vec<&Value> = if step.descend { current.iter().flat_map(|v| descendants(v)).collect() } else { current };
        let mut next = Vec::new();
        for v in sources {
            apply(&step.sel, v, &mut next);
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current
}

/// The node and everything below it, pre-order, object members by key (iterative: no
/// recursion on deep values).
fn descendants(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        out.push(x);
        match x {
            Value::Array(a) => stack.extend(a.iter().rev()),
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                stack.extend(keys.into_iter().rev().map(|k| &m[k.as_str()]));
            }
            _ => {}
        }
    }
    out
}

fn apply<'a>(sel: &Sel, v: &'a Value, out: &mut Vec<&'a Value>) {
    match sel {
        Sel::Name(name) => {
            if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                out.push(x);
            }
        }
        Sel::Names(names) => {
            if let Some(m) = v.as_object() {
                out.extend(names.iter().filter_map(|n| m.get(n)));
            }
        }
        Sel::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.extend(keys.into_iter().map(|k| &m[k.as_str()]));
            }
            _ => {}
        },
        Sel::Indices(idx) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                for &i in idx {
                    let i = if i < 0 { i.saturating_add(len) } else { i };
                    if (0..len).contains(&i) {
                        out.push(&a[i as usize]);
                    }
                }
            }
        }
        Sel::Slice(start, end, step) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (x.saturating_add(len)).max(0) } else { x.min(len) };
                let s = norm(start.unwrap_or(0));
                let e = norm(end.unwrap_or(len));
                let st = step.unwrap_or(1);
                if st > 0 {
                    let mut i = s;
                    while i < e {
                        out.push(&a[i as usize]);
                        i = i.saturating_add(st);
                    }
                }
            }
        }
        Sel::Filter(f) => {
            if let Some(a) = v.as_array() {
                out.extend(a.iter().filter(|item| filter_passes(f, item)));
            }
        }
    }
}

fn operand_value<'a>(op: &'a Operand, item: &'a Value) -> Option<&'a Value> {
    match op {
        Operand::Lit(v) => Some(v),
        Operand::Path(steps) => eval(item, steps).into_iter().next(),
    }
}

/// A filter keeps an item when its left operand resolves and the comparison holds. Values of
/// different JSON types never compare (client-go fails the whole path there).
fn filter_passes(f: &Filter, item: &Value) -> bool {
    let Some(left) = operand_value(&f.left, item) else { return false };
    let Some((cmp, right)) = &f.cmp else { return true };
    let Some(right) = operand_value(right, item) else { return false };
    let ord = match (left, right) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::Bool(a), Value::Bool(b)) if matches!(cmp, Cmp::Eq | Cmp::Ne) => Some(a.cmp(b)),
        (Value::Null, Value::Null) if matches!(cmp, Cmp::Eq | Cmp::Ne) => Some(std::cmp::Ordering::Equal),
        _ => None,
    };
    let Some(ord) = ord else { return false };
    use std::cmp::Ordering::*;
    match cmp {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Lt => ord == Less,
        Cmp::Gt => ord == Greater,
        Cmp::Le => ord != Greater,
        Cmp::Ge => ord != Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    fn composition() -> Value {
        json!({
            "apiVersion": "eno.azure.io/v1",
            "kind": "Composition",
            "metadata": {"name": "c1", "namespace": "default", "labels": {"app": "web", "app.kubernetes.io/name": "eno"},
                         "creationTimestamp": "2025-06-01T11:55:00Z", "resourceVersion": "42"},
            "spec": {"synthesizer": {"name": "syn"}, "replicas": 3, "ratio": 0.25, "paused": false,
                     "items": [{"name": "a"}, {"name": "b"}], "bindings": {"x": 1}},
            "status": {"conditions": [
                {"type": "Synthesized", "status": "True", "count": 2},
                {"type": "Ready", "status": "False", "count": 5}
            ]}
        })
    }

    #[test]
    fn human_duration_thresholds() {
        let cases = [
            (-5, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (10, "10s"),
            (119, "119s"),
            (120, "2m"),
            (5 * 60, "5m"),
            (5 * 60 + 10, "5m10s"),
            (9 * 60 + 59, "9m59s"),
            (10 * 60 + 30, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 20 * 60, "3h20m"),
            (7 * 3600 + 59 * 60, "7h59m"),
            (8 * 3600 + 30 * 60, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (2 * 86400 + 5 * 3600, "2d5h"),
            (7 * 86400 + 23 * 3600, "7d23h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (730 * 86400 + 100 * 86400, "2y100d"),
            (8 * 365 * 86400, "8y"),
            (20 * 365 * 86400 + 5 * 86400, "20y"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(secs(s)), want, "{s}s");
        }
        assert_eq!(human_duration(TimeDelta::milliseconds(-1500)), "0s");
        assert_eq!(human_duration(TimeDelta::MAX), "292y");
        assert_eq!(human_duration(TimeDelta::MIN), "<invalid>");
    }

    #[test]
    fn date_cells() {
        let n = now();
        assert_eq!(cell(&json!("2025-06-01T11:55:00Z"), "date", n), json!("5m"));
        assert_eq!(cell(&json!("2025-06-01T11:54:50.5Z"), "date", n), json!("5m9s"));
        assert_eq!(cell(&json!("2025-06-01T13:55:00+02:00"), "date", n), json!("5m"));
        assert_eq!(cell(&json!("2025-05-30T07:00:00Z"), "date", n), json!("2d5h"));
        assert_eq!(cell(&json!(""), "date", n), json!("<unknown>"));
        assert_eq!(cell(&json!("0001-01-01T00:00:00Z"), "date", n), json!("<unknown>"));
        assert_eq!(cell(&json!("yesterday"), "date", n), json!("<invalid>"));
        assert_eq!(cell(&json!("2025-06-01 11:55:00Z"), "date", n), json!("<invalid>"));
        assert_eq!(cell(&json!("2025-06-01T12:10:00Z"), "date", n), json!("<invalid>"));
        assert_eq!(cell(&Value::Null, "date", n), Value::Null);
        assert_eq!(cell(&json!(5), "date", n), Value::Null);
    }

    #[test]
    fn typed_cells() {
        let n = now();
        assert_eq!(cell(&json!("x"), "string", n), json!("x"));
        assert_eq!(cell(&json!(3), "string", n), json!("3"));
        assert_eq!(cell(&json!(2.5), "string", n), json!("2.5"));
        assert_eq!(cell(&json!(1e6), "string", n), json!("1e+06"));
        assert_eq!(cell(&json!(true), "string", n), json!("true"));
        assert_eq!(cell(&json!({"b": 1, "a": "<"}), "string", n), json!("{\"a\":\"\\u003c\",\"b\":1}"));
        assert_eq!(cell(&json!(["a", "b"]), "string", n), json!("[\"a\",\"b\"]"));
        assert_eq!(cell(&Value::Null, "string", n), Value::Null);
        assert_eq!(cell(&json!(3), "integer", n), json!(3));
        assert_eq!(cell(&json!(3.9), "integer", n), json!(3));
        assert_eq!(cell(&json!("3"), "integer", n), Value::Null);
        assert_eq!(cell(&json!(3), "number", n), json!(3.0));
        assert_eq!(cell(&json!(0.25), "number", n), json!(0.25));
        assert_eq!(cell(&json!(true), "boolean", n), json!(true));
        assert_eq!(cell(&json!("true"), "boolean", n), Value::Null);
        assert_eq!(cell(&json!("x"), "float", n), Value::Null);
    }

    #[test]
    fn jsonpath_forms() {
        let o = composition();
        assert_eq!(jsonpath_cell(&o, ".spec.synthesizer.name"), json!("syn"));
        assert_eq!(jsonpath_cell(&o, "{.spec.synthesizer.name}"), json!("syn"));
        assert_eq!(jsonpath_cell(&o, "$.spec.replicas"), json!(3));
        assert_eq!(jsonpath_cell(&o, ".status.conditions[0].type"), json!("Synthesized"));
        assert_eq!(jsonpath_cell(&o, ".status.conditions[-1].type"), json!("Ready"));
        assert_eq!(jsonpath_cell(&o, ".metadata.labels.app"), json!("web"));
        assert_eq!(jsonpath_cell(&o, r".metadata.labels.app\.kubernetes\.io/name"), json!("eno"));
        assert_eq!(jsonpath_cell(&o, ".metadata.labels['app.kubernetes.io/name']"), json!("eno"));
        assert_eq!(jsonpath_cell(&o, ".spec.items[*].name"), json!("a"));
        assert_eq!(jsonpath_values(&o, ".spec.items[*].name"), vec![json!("a"), json!("b")]);
        assert_eq!(jsonpath_cell(&o, ".status.conditions[?(@.type==\"Ready\")].status"), json!("False"));
        assert_eq!(jsonpath_cell(&o, ".status.conditions[?(@.type=='Ready')].status"), json!("False"));
        assert_eq!(jsonpath_cell(&o, ".status.conditions[?(@.count > 3)].type"), json!("Ready"));
        assert_eq!(jsonpath_cell(&o, ".status.conditions[?(@.type!=\"Ready\")].type"), json!("Synthesized"));
        assert_eq!(jsonpath_values(&o, ".status.conditions[?(@.missing)]"), Vec::<Value>::new());
        assert_eq!(jsonpath_values(&o, ".status.conditions[?(@.count)].count"), vec![json!(2), json!(5)]);
        assert_eq!(jsonpath_values(&o, "..name"), vec![json!("c1"), json!("a"), json!("b"), json!("syn")]);
        assert_eq!(jsonpath_values(&o, ".spec.items[0:1].name"), vec![json!("a")]);
        assert_eq!(jsonpath_values(&o, ".spec.items[0,1].name"), vec![json!("a"), json!("b")]);
        assert_eq!(jsonpath_values(&o, ".spec.bindings.*"), vec![json!(1)]);
        assert_eq!(jsonpath_cell(&o, ".spec"), o["spec"]);
    }

    #[test]
    fn jsonpath_missing_and_malformed() {
        let o = composition();
        for p in [".spec.nope", ".status.conditions[9].type", ".spec.replicas.x", ".spec.items[?(@.name==1)]", ".metadata.labels.app[0]"] {
            assert_eq!(jsonpath_cell(&o, p), Value::Null, "{p}");
        }
        for p in ["[", ".spec[", ".spec..", "spec)", "[?(@.a==)]", "[1:2:3:4]", "[x]", "[?@.a]", ".a['b"] {
            assert_eq!(jsonpath_cell(&o, p), Value::Null, "{p}");
        }
    }

    #[test]
    fn table_shape() {
        let cols = vec![
            Column {
                name: "Synthesizer".into(),
                type_: "string".into(),
                format: "".into(),
                description: "".into(),
                priority: 0,
                json_path: ".spec.synthesizer.name".into(),
            },
            Column {
                name: "Ready".into(),
                type_: "string".into(),
                format: "".into(),
                description: "readiness".into(),
                priority: 1,
                json_path: ".status.conditions[?(@.type==\"Ready\")].status".into(),
            },
            Column { name: "Replicas".into(), type_: "integer".into(), format: "".into(), description: "".into(), priority: 0, json_path: ".spec.replicas".into() },
        ];
        let no_meta = json!({"spec": {}});
        let t = table(&cols, &[composition(), no_meta], "99", Some("tok"), now());
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"], json!({"resourceVersion": "99", "continue": "tok"}));
        assert_eq!(t["columnDefinitions"][0], name_column_definition());
        assert_eq!(
            t["columnDefinitions"][1],
            json!({"name": "Synthesizer", "type": "string", "format": "", "priority": 0,
                   "description": "Custom resource definition column (in JSONPath format): .spec.synthesizer.name"})
        );
        assert_eq!(t["columnDefinitions"][2]["description"], "readiness");
        assert_eq!(t["columnDefinitions"][2]["priority"], 1);
        assert_eq!(t["rows"][0]["cells"], json!(["c1", "syn", "False", 3]));
        assert_eq!(
            t["rows"][0]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": composition()["metadata"]})
        );
        assert_eq!(t["rows"][1]["cells"], json!(["", null, null, null]));
        assert_eq!(t["rows"][1]["object"]["metadata"], json!({}));
        let empty = table(&default_columns(), &[], "", None, now());
        assert_eq!(empty["metadata"], json!({}));
        assert_eq!(empty["rows"], json!([]));
        assert_eq!(empty["columnDefinitions"][1]["name"], "Age");
        assert_eq!(empty["columnDefinitions"][1]["type"], "date");
    }

    #[test]
    fn default_age_column() {
        let t = table(&default_columns(), &[composition()], "1", None, now());
        assert_eq!(t["rows"][0]["cells"], json!(["c1", "5m"]));
        assert_eq!(t["columnDefinitions"][1]["description"], CREATION_TIMESTAMP_DESCRIPTION);
    }

    #[test]
    fn crd_column_parsing() {
        let version = json!({"name": "v1", "additionalPrinterColumns": [
            {"name": "Status", "type": "string", "jsonPath": ".status.phase", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": "age"},
            {"type": "string"}
        ]});
        let cols = crd_columns(&version);
        assert_eq!(cols.len(), 2);
        assert_eq!(cols[0].priority, 1);
        assert_eq!(cols[0].effective_description(), "Custom resource definition column (in JSONPath format): .status.phase");
        assert_eq!(cols[1].description, "age");
        assert_eq!(crd_columns(&json!({"name": "v1"})), default_columns());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn jsonpath_never_panics(p in "\\PC{0,30}") {
                let _ = jsonpath_cell(&composition(), &p);
            }

            #[test]
            fn jsonpath_never_panics_on_path_alphabet(p in "[.\\[\\]?()@=!<>'\"*:,0-9a-z$ -]{0,30}") {
                let _ = jsonpath_values(&composition(), &p);
            }

            #[test]
            fn human_duration_is_total(s in any::<i64>()) {
                let d = TimeDelta::try_seconds(s / 1000).unwrap_or(TimeDelta::zero());
                let out = human_duration(d);
                prop_assert!(!out.is_empty());
            }

            #[test]
            fn date_cell_never_panics(s in "\\PC{0,30}") {
                let _ = cell(&json!(s), "date", now());
            }
        }
    }
}
