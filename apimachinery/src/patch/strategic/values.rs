//! Helpers over JSON values that mirror Go's dynamic types: the Go type of a value, `%v`
//! text, Go's de-duplication and sorting of primitive lists, merge-key lookups.

use serde_json::Value;

use super::path::Path;
use super::{ErrorKind, Result, StrategicError, DIRECTIVE_MARKER, DELETE_DIRECTIVE};
use crate::gofmt::go_float_v;

/// The Go type of a decoded JSON value (`int64` and `float64` differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    List,
    Map,
}

pub(super) fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_f64() => Kind::Float,
        Value::Number(_) => Kind::Int,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::List,
        Value::Object(_) => Kind::Map,
    }
}

pub(super) fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Int => "an integer",
        Kind::Float => "a number",
        Kind::String => "a string",
        Kind::List => "a list",
        Kind::Map => "an object",
    }
}

/// `sliceElementType`: the common kind of all items, `None` if there are none.
pub(super) fn slice_element_kind(lists: &[&[Value]], path: &Path) -> Result<Option<Kind>> {
    let mut prev: Option<Kind> = None;
    for item in lists.iter().flat_map(|l| l.iter()) {
        let k = kind(item);
        match k {
            Kind::List => {
                return Err(path.error(ErrorKind::WrongType, "lists of lists are not supported"))
            }
            Kind::Null => {
                return Err(path.error(ErrorKind::WrongType, "list items must not be null"))
            }
            _ => {}
        }
        match prev {
            Some(p) if p != k => {
                return Err(path.error(
                    ErrorKind::WrongType,
                    format!(
                        "list element types are not identical: {} and {}",
                        kind_name(p),
                        kind_name(k)
                    ),
                ))
            }
            _ => prev = Some(k),
        }
    }
    Ok(prev)
}

/// Go's `fmt.Sprintf("%v", v)` for decoded JSON, which the Go code uses to
/// sort and compare list items; needed for identical patch ordering.
pub(super) fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                go_float_v(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_fmt).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", m.get(k).map(go_fmt).unwrap_or_default()))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's in-place `deduplicateScalars` (moves the last item into each
/// duplicate's slot); its order is visible in `$deleteFromPrimitiveList`.
pub(super) fn go_dedup(mut s: Vec<Value>) -> Vec<Value> {
    let mut i = 0;
    while i + 1 < s.len() {
        let mut j = i + 1;
        while j < s.len() {
            if s[i] == s[j] {
                s.swap_remove(j);
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    s
}

/// `sortScalars`: by `%v` string.
pub(super) fn sort_scalars(mut s: Vec<Value>) -> Vec<Value> {
    s.sort_by_cached_key(go_fmt);
    s
}

pub(super) fn is_delete_item(v: &Value) -> bool {
    v.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some(DELETE_DIRECTIVE)
}

pub(super) fn contains_directive_marker(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
}

pub(super) fn missing_merge_key(path: &Path, item: &Value, key: &str) -> StrategicError {
    path.error(
        ErrorKind::MissingMergeKey,
        format!("map: {item} does not contain declared merge key: {key}"),
    )
}

pub(super) fn not_an_object(path: &Path, item: &Value) -> StrategicError {
    path.error(
        ErrorKind::WrongType,
        format!(
            "expected an object list item, found {}",
            kind_name(kind(item))
        ),
    )
}

/// `extractKey`: the field name after `<prefix>/`.
pub(super) fn extract_key<'k>(key: &'k str, prefix: &str, path: &Path) -> Result<&'k str> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest),
        _ => Err(path.error(
            ErrorKind::InvalidDirective,
            format!("invalid patch format of {prefix} directive: {key:?}"),
        )),
    }
}

/// `mergeKeyValueEqual`.
pub(super) fn merge_key_value_equal(
    left: &Value,
    right: &Value,
    key: Option<&str>,
    path: &Path,
) -> Result<bool> {
    let Some(key) = key else {
        return Ok(left == right);
    };
    let l = left.as_object().ok_or_else(|| not_an_object(path, left))?;
    let r = right
        .as_object()
        .ok_or_else(|| not_an_object(path, right))?;
    let lv = l
        .get(key)
        .ok_or_else(|| missing_merge_key(path, left, key))?;
    let rv = r
        .get(key)
        .ok_or_else(|| missing_merge_key(path, right, key))?;
    Ok(lv == rv)
}

/// What `index` compares: the merge key value for objects, else the item.
pub(super) fn index_value<'v>(v: &'v Value, key: Option<&str>, kind: Kind) -> Option<&'v Value> {
    if kind == Kind::Map {
        v.as_object().and_then(|m| m.get(key.unwrap_or("")))
    } else {
        Some(v)
    }
}

/// `index`: position of `val` in `list`, by merge key for objects.
pub(super) fn index(list: &[Value], val: &Value, key: Option<&str>, kind: Kind) -> Option<usize> {
    let target = index_value(val, key, kind);
    list.iter()
        .position(|v| index_value(v, key, kind) == target)
}
