//! Strategic merge patch, as `k8s.io/apimachinery/pkg/util/strategicpatch`
//! implements it for built-in kinds.
//!
//! [`apply`] is `StrategicMergePatch` (what the server does with a
//! `application/strategic-merge-patch+json` body), [`three_way`] is
//! `CreateThreeWayMergePatch` with `overwrite=true` (what client-side
//! `kubectl apply` sends) and [`two_way`] is `CreateTwoWayMergePatch`.
//! The code follows the Go functions closely (same names in snake case) so
//! that ordering and directive quirks match what kubectl expects.
//!
//! Deliberate differences, all on inputs kubectl never produces or where the
//! Go result only looks right after decoding into typed structs (the fake
//! server stores plain JSON and has no such decoding step):
//! - fields missing from the metadata table take the untagged defaults
//!   instead of failing with "unable to find api field";
//! - when the live object lacks a field (or holds a value of another type),
//!   the patch value is still processed as a patch against nothing, so
//!   directives and `null`s never leak into the stored object; the same holds
//!   for list items that are appended and for `$patch: replace` contents;
//! - `$deleteFromPrimitiveList/x` on an absent (or non-list) `x` does nothing
//!   (Go would store the deletion list as the value), and on a list of
//!   objects or a field without merge strategy it is an error;
//! - `$patch: merge` in an object is accepted as a plain merge (Go rejects
//!   it); in a list item it is rejected as in Go;
//! - malformed lists (null items, lists of lists) are errors, never panics;
//!   `$setElementOrder` over lists with no elements at all is a no-op;
//! - there is no conflict detection (kubectl apply uses `overwrite=true`).
//!
//! Go quirks that are kept because kubectl's results depend on them:
//! - deleting a merged list item shifts Go's backing array in place, and the
//!   live order used by `$setElementOrder` is read through that array (see
//!   `merge_slice_aliased`); the upstream tests pin the resulting order;
//! - `$patch: delete` removes only the first item with that key;
//! - lists are diffed after sorting by Go's `%v` text (so `1` and `"1"`
//!   match), and a primitive list reordered into sorted order is "unchanged";
//! - an item that appears twice in the last-applied primitive list is
//!   deleted even if the new configuration keeps one copy.
//!
//! Output is deterministic: object keys are always processed in sorted order.

use serde_json::{Map, Value};

use super::merge_keys::{FieldMeta, PatchMeta, Strategy};
use crate::gofmt::go_float_v;

const DIRECTIVE_MARKER: &str = "$patch";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

type JsonMap = Map<String, Value>;
type Result<T> = std::result::Result<T, StrategicError>;

/// What went wrong, so the server can pick a status code. Kubernetes answers
/// 400 for malformed directives and 422 for lists of lists; the rest reach
/// clients as 500s there, for which 422 is the sensible fake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A `$patch`, `$retainKeys`, `$setElementOrder` or
    /// `$deleteFromPrimitiveList` directive is malformed or misused.
    InvalidDirective,
    /// A merged list item lacks its merge key.
    MissingMergeKey,
    /// A value has the wrong JSON type (e.g. mixed or nested lists).
    WrongType,
}

/// A strategic merge patch could not be applied or created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StrategicError {
    pub kind: ErrorKind,
    /// Where in the document, e.g. `.spec.template.spec.containers[0]`.
    pub path: String,
    pub message: String,
}

/// Applies a strategic merge patch to `original` (an object, or `null` for
/// none) and returns the patched object.
pub fn apply(original: &Value, patch: &Value, meta: PatchMeta) -> Result<Value> {
    let root = Path::ROOT;
    let original = object_or_empty(original, "the original document", &root)?;
    let patch = object_or_empty(patch, "the patch", &root)?;
    Ok(Value::Object(merge_map(
        original, patch, meta, APPLY, &root,
    )?))
}

/// Creates the patch kubectl's client-side apply sends: deletions of what
/// `original` (the last-applied configuration; `None` if there is none) has
/// and `modified` no longer has, plus every difference from `current` to
/// `modified`. Fields only `current` has are left alone. Returns `{}` when
/// there is nothing to do.
pub fn three_way(
    original: Option<&Value>,
    modified: &Value,
    current: &Value,
    meta: PatchMeta,
) -> Result<Value> {
    let root = Path::ROOT;
    let original = match original {
        Some(v) => object_or_empty(v, "the original document", &root)?,
        None => JsonMap::new(),
    };
    let modified = object_or_empty(modified, "the modified document", &root)?;
    let current = object_or_empty(current, "the current document", &root)?;
    let delta = diff_maps(
        &current,
        &modified,
        meta,
        DiffOptions {
            ignore_deletions: true,
            set_element_order: true,
            ..DiffOptions::default()
        },
        &root,
    )?;
    let deletions = diff_maps(
        &original,
        &modified,
        meta,
        DiffOptions {
            set_element_order: true,
            ignore_changes_and_additions: true,
            ..DiffOptions::default()
        },
        &root,
    )?;
    Ok(Value::Object(merge_map(
        deletions, delta, meta, COMBINE, &root,
    )?))
}

/// Creates a patch that turns `original` into `modified` (kubectl edit/patch
/// generation). Returns `{}` when they are equal.
pub fn two_way(original: &Value, modified: &Value, meta: PatchMeta) -> Result<Value> {
    let root = Path::ROOT;
    let original = object_or_empty(original, "the original document", &root)?;
    let modified = object_or_empty(modified, "the modified document", &root)?;
    let options = DiffOptions {
        set_element_order: true,
        ..DiffOptions::default()
    };
    Ok(Value::Object(diff_maps(
        &original, &modified, meta, options, &root,
    )?))
}

fn object_or_empty(v: &Value, what: &str, path: &Path) -> Result<JsonMap> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(JsonMap::new()),
        other => Err(path.error(
            ErrorKind::WrongType,
            format!(
                "{what} must be a JSON object, found {}",
                kind_name(kind(other))
            ),
        )),
    }
}

// ---------------------------------------------------------------------------
// Paths for error messages

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A location in the document as a linked list, rendered only on error.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Option<Seg<'a>>,
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        parent: None,
        seg: None,
    };

    fn key<'b>(&'b self, key: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            seg: Some(Seg::Key(key)),
        }
    }

    fn index<'b>(&'b self, index: usize) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            seg: Some(Seg::Index(index)),
        }
    }

    fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            if let Some(seg) = p.seg {
                segs.push(seg);
            }
            cur = p.parent;
        }
        if segs.is_empty() {
            return ".".to_string();
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> StrategicError {
        StrategicError {
            kind,
            path: self.render(),
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Value helpers mirroring the Go dynamic types

/// The Go type of a decoded JSON value (`int64` and `float64` differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    List,
    Map,
}

fn kind(v: &Value) -> Kind {
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

fn kind_name(k: Kind) -> &'static str {
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
fn slice_element_kind(lists: &[&[Value]], path: &Path) -> Result<Option<Kind>> {
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
fn go_fmt(v: &Value) -> String {
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
fn go_dedup(mut s: Vec<Value>) -> Vec<Value> {
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
fn sort_scalars(mut s: Vec<Value>) -> Vec<Value> {
    s.sort_by_cached_key(go_fmt);
    s
}

fn is_delete_item(v: &Value) -> bool {
    v.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some(DELETE_DIRECTIVE)
}

fn contains_directive_marker(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
}

fn missing_merge_key(path: &Path, item: &Value, key: &str) -> StrategicError {
    path.error(
        ErrorKind::MissingMergeKey,
        format!("map: {item} does not contain declared merge key: {key}"),
    )
}

fn not_an_object(path: &Path, item: &Value) -> StrategicError {
    path.error(
        ErrorKind::WrongType,
        format!(
            "expected an object list item, found {}",
            kind_name(kind(item))
        ),
    )
}

/// `extractKey`: the field name after `<prefix>/`.
fn extract_key<'k>(key: &'k str, prefix: &str, path: &Path) -> Result<&'k str> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest),
        _ => Err(path.error(
            ErrorKind::InvalidDirective,
            format!("invalid patch format of {prefix} directive: {key:?}"),
        )),
    }
}

/// `mergeKeyValueEqual`.
fn merge_key_value_equal(
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
fn index_value<'v>(v: &'v Value, key: Option<&str>, kind: Kind) -> Option<&'v Value> {
    if kind == Kind::Map {
        v.as_object().and_then(|m| m.get(key.unwrap_or("")))
    } else {
        Some(v)
    }
}

/// `index`: position of `val` in `list`, by merge key for objects.
fn index(list: &[Value], val: &Value, key: Option<&str>, kind: Kind) -> Option<usize> {
    let target = index_value(val, key, kind);
    list.iter()
        .position(|v| index_value(v, key, kind) == target)
}

// ---------------------------------------------------------------------------
// Applying a patch (mergeMap and friends)

#[derive(Clone, Copy)]
struct MergeOptions {
    /// Server-side application (`$deleteFromPrimitiveList` and
    /// `$setElementOrder` are executed) as opposed to combining two patches.
    merge_parallel_list: bool,
    /// Drop `null`s that match nothing instead of keeping them.
    ignore_unmatched_nulls: bool,
}

/// `StrategicMergeMapPatch`.
const APPLY: MergeOptions = MergeOptions {
    merge_parallel_list: true,
    ignore_unmatched_nulls: true,
};
/// Merging the deletions and delta patches inside `CreateThreeWayMergePatch`.
const COMBINE: MergeOptions = MergeOptions {
    merge_parallel_list: false,
    ignore_unmatched_nulls: false,
};

/// `mergeMap`: merges `patch` into `original`.
fn merge_map(
    mut original: JsonMap,
    mut patch: JsonMap,
    meta: PatchMeta,
    opts: MergeOptions,
    path: &Path,
) -> Result<JsonMap> {
    if let Some(directive) = patch.remove(DIRECTIVE_MARKER) {
        match directive.as_str() {
            Some(REPLACE_DIRECTIVE) => {
                return if opts.merge_parallel_list {
                    merge_map(JsonMap::new(), patch, meta, opts, path)
                } else {
                    Ok(patch)
                };
            }
            Some(DELETE_DIRECTIVE) => return Ok(JsonMap::new()),
            Some(MERGE_DIRECTIVE) => {}
            _ => {
                return Err(path.error(
                    ErrorKind::InvalidDirective,
                    format!("unknown patch type: {directive} in map"),
                ))
            }
        }
    }

    apply_retain_keys_directive(&mut original, &mut patch, opts, path)?;
    merge_patch_into_original(&mut original, &mut patch, meta, opts, path)?;

    // Deletion lists first so that an addition of the same item wins.
    let mut entries: Vec<(String, Value)> = patch.into_iter().collect();
    entries.sort_by(|(a, _), (b, _)| {
        let a_del = a.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX);
        let b_del = b.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX);
        b_del.cmp(&a_del).then_with(|| a.cmp(b))
    });

    for (full_key, patch_v) in entries {
        let mut key: &str = &full_key;
        let mut is_delete_list = false;
        if full_key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            if !opts.merge_parallel_list {
                original.insert(full_key, patch_v);
                continue;
            }
            key = extract_key(&full_key, DELETE_FROM_PRIMITIVE_LIST_PREFIX, path)?;
            is_delete_list = true;
            if !patch_v.is_array() && !patch_v.is_null() {
                return Err(path.key(key).error(
                    ErrorKind::InvalidDirective,
                    format!(
                        "{full_key} must be a list, found {}",
                        kind_name(kind(&patch_v))
                    ),
                ));
            }
        }
        let field = meta.field(key);
        let key_path = path.key(key);

        if patch_v.is_null() {
            original.remove(key);
            if opts.ignore_unmatched_nulls {
                continue;
            }
        }

        let Some(orig_v) = original.remove(key) else {
            if !opts.merge_parallel_list {
                original.insert(key.to_string(), patch_v);
            } else if !is_delete_list {
                original.insert(key.to_string(), fresh(patch_v, field, &key_path)?);
            }
            continue;
        };

        if kind(&orig_v) != kind(&patch_v) {
            let v = if !opts.merge_parallel_list {
                patch_v
            } else if is_delete_list {
                orig_v
            } else {
                fresh(patch_v, field, &key_path)?
            };
            original.insert(key.to_string(), v);
            continue;
        }

        let merged = match (orig_v, patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                if field.strategy == Strategy::Replace {
                    Value::Object(p)
                } else {
                    Value::Object(merge_map(o, p, field.meta, opts, &key_path)?)
                }
            }
            (Value::Array(o), Value::Array(p)) => Value::Array(merge_slice_handler(
                o,
                p,
                field,
                is_delete_list,
                opts,
                &key_path,
            )?),
            (_, p) => p,
        };
        original.insert(key.to_string(), merged);
    }
    Ok(original)
}

/// A patch value for a field the target lacks: applied to nothing, so that
/// directives and `null`s are resolved rather than stored.
fn fresh(v: Value, field: FieldMeta, path: &Path) -> Result<Value> {
    Ok(match v {
        Value::Object(m) if field.strategy != Strategy::Replace => {
            Value::Object(merge_map(JsonMap::new(), m, field.meta, APPLY, path)?)
        }
        Value::Array(items) => match field.strategy {
            Strategy::Merge { key } => Value::Array(merge_slice(
                Vec::new(),
                items,
                field.meta,
                key,
                APPLY,
                false,
                path,
            )?),
            _ => Value::Array(items),
        },
        other => other,
    })
}

/// `applyRetainKeysDirective`: drops the fields of `original` that the
/// `$retainKeys` list does not name, after checking that the patch only
/// sets listed fields.
fn apply_retain_keys_directive(
    original: &mut JsonMap,
    patch: &mut JsonMap,
    opts: MergeOptions,
    path: &Path,
) -> Result<()> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    if !opts.merge_parallel_list {
        match original.get(RETAIN_KEYS_DIRECTIVE) {
            Some(existing) if existing != &retain => {
                return Err(path.error(
                    ErrorKind::InvalidDirective,
                    format!("{existing} and {retain} are not deep equal: this may happen when calculating the 3-way diff patch"),
                ))
            }
            Some(_) => {}
            None => {
                original.insert(RETAIN_KEYS_DIRECTIVE.to_string(), retain);
            }
        }
        return Ok(());
    }
    let Value::Array(list) = &retain else {
        return Err(path.error(
            ErrorKind::InvalidDirective,
            "invalid patch format of retainKeys: not a list",
        ));
    };
    let listed = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !listed(k) {
            return Err(path.error(
                ErrorKind::InvalidDirective,
                format!("invalid patch format of retainKeys: field {k:?} is set but not retained"),
            ));
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `mergePatchIntoOriginal`: handles every `$setElementOrder/<field>` and
/// its list together, ordering by `$setElementOrder` first, then the live
/// order for items the patch does not mention.
fn merge_patch_into_original(
    original: &mut JsonMap,
    patch: &mut JsonMap,
    meta: PatchMeta,
    opts: MergeOptions,
    path: &Path,
) -> Result<()> {
    let mut keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    keys.sort();
    for key in keys {
        let Some(order_v) = patch.remove(&key) else {
            continue;
        };
        if !opts.merge_parallel_list {
            match original.get(&key) {
                Some(existing) if existing != &order_v => {
                    return Err(path.error(
                        ErrorKind::InvalidDirective,
                        format!("invalid patch format of setElementOrder list: {key} differs between patches"),
                    ))
                }
                Some(_) => {}
                None => {
                    original.insert(key.clone(), order_v.clone());
                }
            }
        }
        let field_name = extract_key(&key, SET_ELEMENT_ORDER_PREFIX, path)?;
        let field_path = path.key(field_name);
        let Value::Array(order) = order_v else {
            return Err(field_path.error(
                ErrorKind::InvalidDirective,
                format!("{key} must be a list, found {}", kind_name(kind(&order_v))),
            ));
        };
        let list_at = |m: &JsonMap| -> Result<Option<Vec<Value>>> {
            match m.get(field_name) {
                None => Ok(None),
                Some(Value::Array(a)) => Ok(Some(a.clone())),
                Some(other) => Err(field_path.error(
                    ErrorKind::WrongType,
                    format!("expected a list, found {}", kind_name(kind(other))),
                )),
            }
        };
        let orig_list = list_at(original)?;
        let patch_list = list_at(patch)?;
        let field = meta.field(field_name);
        let merge_key = field.merge_key();
        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or(&[]),
            &order,
            merge_key,
            &field_path,
        )?;

        // `server_order` is what Go's `originalFieldValue` shows afterwards:
        // the live slice as mutated in place by the merge (see merge_slice).
        let (merged, server_order) = match (&orig_list, &patch_list) {
            (Some(o), None) => (o.clone(), o.clone()),
            (None, Some(p)) if opts.merge_parallel_list => (
                merge_slice_handler(Vec::new(), p.clone(), field, false, opts, &field_path)?,
                Vec::new(),
            ),
            (None, Some(p)) => (p.clone(), Vec::new()),
            (Some(o), Some(p)) => match field.strategy {
                Strategy::Merge { key } => merge_slice_aliased(
                    o.clone(),
                    p.clone(),
                    field.meta,
                    key,
                    opts,
                    false,
                    &field_path,
                )?,
                _ => (p.clone(), o.clone()),
            },
            (None, None) => continue,
        };
        let orig_items = orig_list.unwrap_or_default();
        let patch_items = patch_list.unwrap_or_default();

        let (in_order, server_only) = match merge_key {
            None => partition_primitives(merged, &order),
            Some(k) => partition_maps(merged, &order, k, &field_path)?,
        };
        let both = match slice_element_kind(&[&orig_items, &patch_items], &field_path)? {
            Some(kind) => normalize_element_order(
                in_order,
                server_only,
                &order,
                &server_order,
                merge_key,
                kind,
                &field_path,
            )?,
            None => in_order.into_iter().chain(server_only).collect(),
        };
        original.insert(field_name.to_string(), Value::Array(both));
        patch.remove(field_name);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch list's items (deletions
/// aside) must appear in `$setElementOrder`, in the same relative order.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
    path: &Path,
) -> Result<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if merge_key.is_some() {
        let mut items = Vec::new();
        for item in patch_list {
            if !item.is_object() {
                return Err(not_an_object(path, item));
            }
            if !is_delete_item(item) {
                items.push(item);
            }
        }
        items
    } else {
        patch_list.iter().collect()
    };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < order.len() {
        if contains_directive_marker(non_delete[pi]) {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[pi], &order[si], merge_key, path)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= order.len() {
        return Err(path.error(
            ErrorKind::InvalidDirective,
            format!(
                "the order in patch list {} doesn't match {SET_ELEMENT_ORDER_PREFIX} list {}",
                Value::Array(patch_list.to_vec()),
                Value::Array(order.to_vec())
            ),
        ));
    }
    Ok(())
}

/// `partitionPrimitivesByPresentInList`.
fn partition_primitives(items: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    items.into_iter().partition(|v| by.contains(v))
}

/// `partitionMapsByPresentInList`.
fn partition_maps(
    items: Vec<Value>,
    by: &[Value],
    key: &str,
    path: &Path,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut found = Vec::new();
    let mut rest = Vec::new();
    for item in items {
        let m = item.as_object().ok_or_else(|| not_an_object(path, &item))?;
        let value = m
            .get(key)
            .ok_or_else(|| missing_merge_key(path, &item, key))?;
        let mut present = false;
        for candidate in by {
            let c = candidate
                .as_object()
                .ok_or_else(|| not_an_object(path, candidate))?;
            if c.get(key) == Some(value) {
                present = true;
                break;
            }
        }
        if present {
            found.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((found, rest))
}

/// `mergeSliceHandler`: merged lists merge, everything else is replaced.
fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    field: FieldMeta,
    is_delete_list: bool,
    opts: MergeOptions,
    path: &Path,
) -> Result<Vec<Value>> {
    match field.strategy {
        Strategy::Merge { key } => {
            merge_slice(original, patch, field.meta, key, opts, is_delete_list, path)
        }
        _ if is_delete_list && opts.merge_parallel_list => Err(path.error(
            ErrorKind::InvalidDirective,
            format!("{DELETE_FROM_PRIMITIVE_LIST_PREFIX} used on a list without merge strategy"),
        )),
        _ => Ok(patch),
    }
}

/// `mergeSlice`: merges two lists of a merge-strategy field.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: PatchMeta,
    merge_key: Option<&str>,
    opts: MergeOptions,
    is_delete_list: bool,
    path: &Path,
) -> Result<Vec<Value>> {
    Ok(merge_slice_aliased(original, patch, meta, merge_key, opts, is_delete_list, path)?.0)
}

/// `mergeSlice`, also returning what the caller's slice of the live list
/// holds afterwards. Go deletes list items with `append(s[:k], s[k+1:]...)`
/// and appends new items in place, so the caller's view of the live list
/// (same length as before) ends up as the shifted survivors followed by the
/// appended items or stale leftovers; `$setElementOrder` handling orders
/// server-only items by that view, and kubectl's results depend on it (e.g.
/// when one container replaces another).
fn merge_slice_aliased(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: PatchMeta,
    merge_key: Option<&str>,
    opts: MergeOptions,
    is_delete_list: bool,
    path: &Path,
) -> Result<(Vec<Value>, Vec<Value>)> {
    if original.is_empty() && patch.is_empty() {
        return Ok((original, Vec::new()));
    }
    let Some(kind) = slice_element_kind(&[&original, &patch], path)? else {
        return Ok((original.clone(), original));
    };

    let (original, patch, merged, view) = if kind != Kind::Map {
        if is_delete_list && opts.merge_parallel_list {
            let kept = original
                .iter()
                .filter(|v| !patch.contains(v))
                .cloned()
                .collect();
            return Ok((kept, original));
        }
        let both: Vec<Value> = original.iter().chain(patch.iter()).cloned().collect();
        let view = original.clone();
        (original, patch, go_dedup(both), view)
    } else {
        let Some(key) = merge_key else {
            return Err(path.error(
                ErrorKind::WrongType,
                "cannot merge lists of objects without a merge key",
            ));
        };
        if is_delete_list && opts.merge_parallel_list {
            return Err(path.error(
                ErrorKind::InvalidDirective,
                format!(
                    "{DELETE_FROM_PRIMITIVE_LIST_PREFIX} is only valid for lists of primitives"
                ),
            ));
        }
        let special = merge_slice_with_special_elements(original, patch, key, meta, opts, path)?;
        let merged = merge_slice_without_special_elements(
            special.original.clone(),
            &special.patch,
            key,
            meta,
            opts,
            path,
        )?;
        let mut view = special.view;
        if !special.replaced {
            let n = merged.len().min(view.len());
            view[..n].clone_from_slice(&merged[..n]);
        }
        (special.original, special.patch, merged, view)
    };

    let (in_patch, server_only) = match merge_key {
        None => partition_primitives(merged, &patch),
        Some(k) => partition_maps(merged, &patch, k, path)?,
    };
    let result = normalize_element_order(
        in_patch,
        server_only,
        &patch,
        &original,
        merge_key,
        kind,
        path,
    )?;
    Ok((result, view))
}

/// What `mergeSliceWithSpecialElements` leaves behind.
struct SpecialElements {
    /// The live items to merge into (or the replacement list).
    original: Vec<Value>,
    /// The patch items without directives.
    patch: Vec<Value>,
    /// The caller's view of the live slice after the in-place deletions.
    view: Vec<Value>,
    /// A `$patch: replace` item was present.
    replaced: bool,
}

/// `mergeSliceWithSpecialElements`: executes `$patch: delete` items
/// (removing the first live item with that key) and `$patch: replace`.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    meta: PatchMeta,
    opts: MergeOptions,
    path: &Path,
) -> Result<SpecialElements> {
    let mut view = original.clone();
    let mut plain = Vec::new();
    let mut replace = false;
    for (i, item) in patch.into_iter().enumerate() {
        let item_path = path.index(i);
        let m = item
            .as_object()
            .ok_or_else(|| not_an_object(&item_path, &item))?;
        let Some(directive) = m.get(DIRECTIVE_MARKER) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let value = m
                    .get(key)
                    .ok_or_else(|| missing_merge_key(&item_path, &item, key))?;
                let mut position = None;
                for (j, live) in original.iter().enumerate() {
                    let lm = live
                        .as_object()
                        .ok_or_else(|| not_an_object(&path.index(j), live))?;
                    if lm.get(key) == Some(value) {
                        position = Some(j);
                        break;
                    }
                }
                if let Some(j) = position {
                    // Go's append(s[:j], s[j+1:]...): shift left, last slot stale.
                    let live_len = original.len();
                    for i in j..live_len - 1 {
                        view[i] = view[i + 1].clone();
                    }
                    original.remove(j);
                }
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(item_path.error(
                    ErrorKind::InvalidDirective,
                    "merging lists cannot yet be specified in the patch",
                ))
            }
            _ => {
                return Err(item_path.error(
                    ErrorKind::InvalidDirective,
                    format!("unknown patch type: {directive} in list item"),
                ))
            }
        }
    }
    if !replace {
        return Ok(SpecialElements {
            original,
            patch: plain,
            view,
            replaced: false,
        });
    }
    if !opts.merge_parallel_list {
        return Ok(SpecialElements {
            original: plain,
            patch: Vec::new(),
            view,
            replaced: true,
        });
    }
    let mut replacement = Vec::with_capacity(plain.len());
    for (i, item) in plain.into_iter().enumerate() {
        replacement.push(match item {
            Value::Object(m) => {
                Value::Object(merge_map(JsonMap::new(), m, meta, APPLY, &path.index(i))?)
            }
            other => other,
        });
    }
    Ok(SpecialElements {
        original: replacement,
        patch: Vec::new(),
        view,
        replaced: true,
    })
}

/// `mergeSliceWithoutSpecialElements`: merges each patch item into the first
/// live item with the same key, or appends it.
fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    meta: PatchMeta,
    opts: MergeOptions,
    path: &Path,
) -> Result<Vec<Value>> {
    for (i, item) in patch.iter().enumerate() {
        let item_path = path.index(i);
        let m = item
            .as_object()
            .ok_or_else(|| not_an_object(&item_path, item))?;
        let value = m
            .get(key)
            .ok_or_else(|| missing_merge_key(&item_path, item, key))?;
        let mut position = None;
        for (j, live) in original.iter().enumerate() {
            let lm = live
                .as_object()
                .ok_or_else(|| not_an_object(&path.index(j), live))?;
            if lm.get(key) == Some(value) {
                position = Some(j);
                break;
            }
        }
        match position {
            Some(j) => {
                let live = std::mem::take(&mut original[j]);
                let live = match live {
                    Value::Object(lm) => lm,
                    _ => JsonMap::new(),
                };
                original[j] =
                    Value::Object(merge_map(live, m.clone(), meta, opts, &path.index(j))?);
            }
            None if opts.merge_parallel_list => {
                original.push(Value::Object(merge_map(
                    JsonMap::new(),
                    m.clone(),
                    meta,
                    opts,
                    &item_path,
                )?));
            }
            None => original.push(item.clone()),
        }
    }
    Ok(original)
}

/// `normalizeElementOrder`: sorts the patch items by `patch_order` and the
/// server-only items by `server_order`, then interleaves them.
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
    kind: Kind,
    path: &Path,
) -> Result<Vec<Value>> {
    let patch = normalize_slice_order(patch, patch_order, key, kind, path)?;
    let server_only = normalize_slice_order(server_only, server_order, key, kind, path)?;
    Ok(merge_sorted_slice(
        server_only,
        patch,
        server_order,
        key,
        kind,
    ))
}

/// `normalizeSliceOrder`: stable sort by position in `order`; `$patch:
/// delete` items go last. Items missing from `order` (only possible for
/// inputs kubectl never sends) keep their relative order at the end.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    key: Option<&str>,
    kind: Kind,
    path: &Path,
) -> Result<Vec<Value>> {
    let mut to_sort = to_sort;
    let mut to_delete = Vec::new();
    if kind == Kind::Map {
        let k = key.unwrap_or("");
        for item in to_sort.iter().chain(order.iter()) {
            let m = item.as_object().ok_or_else(|| not_an_object(path, item))?;
            if !m.contains_key(k) {
                return Err(missing_merge_key(path, item, k));
            }
        }
        let (deletes, keep): (Vec<Value>, Vec<Value>) =
            to_sort.into_iter().partition(is_delete_item);
        to_sort = keep;
        to_delete = deletes;
    }
    let mut keyed: Vec<(usize, Value)> = to_sort
        .into_iter()
        .map(|v| (index(order, &v, key, kind).unwrap_or(usize::MAX), v))
        .collect();
    keyed.sort_by_key(|(i, _)| *i);
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(to_delete);
    Ok(out)
}

/// `mergeSortedSlice`: inserts each `left` (server-only) item before the
/// first `right` (patch) item that comes after it in the live order.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
    kind: Kind,
) -> Vec<Value> {
    let left_pos: Vec<Option<usize>> = left
        .iter()
        .map(|v| index(server_order, v, key, kind))
        .collect();
    let right_pos: Vec<Option<usize>> = right
        .iter()
        .map(|v| index(server_order, v, key, kind))
        .collect();
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left_iter = left.into_iter().zip(left_pos).peekable();
    let mut right_iter = right.into_iter().zip(right_pos).peekable();
    loop {
        let take_left = match (left_iter.peek(), right_iter.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, l)), Some((_, r))) => matches!((l, r), (Some(l), Some(r)) if l < r),
        };
        let next = if take_left {
            left_iter.next()
        } else {
            right_iter.next()
        };
        if let Some((v, _)) = next {
            out.push(v);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Creating patches (diffMaps and friends)

#[derive(Clone, Copy, Default)]
struct DiffOptions {
    /// Emit `$setElementOrder` lists.
    set_element_order: bool,
    ignore_changes_and_additions: bool,
    ignore_deletions: bool,
    /// The map being diffed has the `retainKeys` strategy.
    build_retain_keys_directive: bool,
}

/// `diffMaps`: a patch turning `original` into `modified`.
fn diff_maps(
    original: &JsonMap,
    modified: &JsonMap,
    meta: PatchMeta,
    opts: DiffOptions,
    path: &Path,
) -> Result<JsonMap> {
    let mut patch = JsonMap::new();
    let mut retain_keys_list = Vec::new();
    let mut keys: Vec<&String> = modified.keys().collect();
    keys.sort();
    for key in keys {
        let Some(modified_v) = modified.get(key) else {
            continue;
        };
        if opts.build_retain_keys_directive && !modified_v.is_null() {
            retain_keys_list.push(Value::String(key.clone()));
        }
        let Some(original_v) = original.get(key) else {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_v.clone());
            }
            continue;
        };
        let key_path = path.key(key);
        if key == DIRECTIVE_MARKER {
            let (Some(o), Some(m)) = (original_v.as_str(), modified_v.as_str()) else {
                return Err(key_path.error(
                    ErrorKind::InvalidDirective,
                    format!("invalid value for special key: {DIRECTIVE_MARKER}"),
                ));
            };
            if o != m {
                patch.insert(key.clone(), modified_v.clone());
            }
            continue;
        }
        if kind(original_v) != kind(modified_v) {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_v.clone());
            }
            continue;
        }
        match (original_v, modified_v) {
            (Value::Object(o), Value::Object(m)) => {
                handle_map_diff(key, o, m, &mut patch, meta, opts, &key_path)?
            }
            (Value::Array(o), Value::Array(m)) => {
                handle_slice_diff(key, o, m, &mut patch, meta, opts, &key_path)?
            }
            _ => replace_patch_field_if_not_equal(key, original_v, modified_v, &mut patch, opts),
        }
    }
    if !opts.ignore_deletions {
        for key in original.keys() {
            if !modified.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    if !retain_keys_list.is_empty()
        && (!patch.is_empty() || has_additional_new_field(original, modified))
    {
        patch.insert(
            RETAIN_KEYS_DIRECTIVE.to_string(),
            Value::Array(sort_scalars(retain_keys_list)),
        );
    }
    Ok(patch)
}

/// `handleMapDiff`.
fn handle_map_diff(
    key: &str,
    original: &JsonMap,
    modified: &JsonMap,
    patch: &mut JsonMap,
    meta: PatchMeta,
    opts: DiffOptions,
    path: &Path,
) -> Result<()> {
    let field = meta.field(key);
    let opts = DiffOptions {
        build_retain_keys_directive: field.retain_keys,
        ..opts
    };
    if field.strategy == Strategy::Replace {
        if !opts.ignore_changes_and_additions {
            patch.insert(key.to_string(), Value::Object(modified.clone()));
        }
        return Ok(());
    }
    let value = diff_maps(original, modified, field.meta, opts, path)?;
    if !value.is_empty() {
        patch.insert(key.to_string(), Value::Object(value));
    }
    Ok(())
}

/// `handleSliceDiff`.
fn handle_slice_diff(
    key: &str,
    original: &[Value],
    modified: &[Value],
    patch: &mut JsonMap,
    meta: PatchMeta,
    opts: DiffOptions,
    path: &Path,
) -> Result<()> {
    let field = meta.field(key);
    let Strategy::Merge { key: merge_key } = field.strategy else {
        if !opts.ignore_changes_and_additions && original != modified {
            patch.insert(key.to_string(), Value::Array(modified.to_vec()));
        }
        return Ok(());
    };
    let opts = DiffOptions {
        build_retain_keys_directive: field.retain_keys,
        ..opts
    };
    let (add, delete, order) = diff_lists(original, modified, field.meta, merge_key, opts, path)?;
    if !add.is_empty() {
        patch.insert(key.to_string(), Value::Array(add));
    }
    if !delete.is_empty() {
        patch.insert(
            format!("{DELETE_FROM_PRIMITIVE_LIST_PREFIX}/{key}"),
            Value::Array(delete),
        );
    }
    if !order.is_empty() {
        patch.insert(
            format!("{SET_ELEMENT_ORDER_PREFIX}/{key}"),
            Value::Array(order),
        );
    }
    Ok(())
}

/// `replacePatchFieldIfNotEqual`.
fn replace_patch_field_if_not_equal(
    key: &str,
    original: &Value,
    modified: &Value,
    patch: &mut JsonMap,
    opts: DiffOptions,
) {
    if !opts.ignore_changes_and_additions && original != modified {
        patch.insert(key.to_string(), modified.clone());
    }
}

/// `hasAdditionalNewField`: `original` has a non-null field `modified` lacks.
fn has_additional_new_field(original: &JsonMap, modified: &JsonMap) -> bool {
    original
        .iter()
        .any(|(k, v)| !v.is_null() && !modified.contains_key(k))
}

/// `diffLists`: (patch list, primitive deletion list, `$setElementOrder` list).
fn diff_lists(
    original: &[Value],
    modified: &[Value],
    meta: PatchMeta,
    merge_key: Option<&str>,
    opts: DiffOptions,
    path: &Path,
) -> Result<(Vec<Value>, Vec<Value>, Vec<Value>)> {
    if original.is_empty() {
        if modified.is_empty() || opts.ignore_changes_and_additions {
            return Ok((Vec::new(), Vec::new(), Vec::new()));
        }
        return Ok((modified.to_vec(), Vec::new(), Vec::new()));
    }
    let Some(kind) = slice_element_kind(&[original, modified], path)? else {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    };
    if kind == Kind::Map {
        let key = merge_key.unwrap_or("");
        let (patch_list, delete_list) =
            diff_lists_of_maps(original, modified, meta, key, opts, path)?;
        let mut patch_list = normalize_slice_order(patch_list, modified, Some(key), kind, path)?;
        let order_same = is_order_same(original, modified, key, path)?;
        patch_list.extend(delete_list);
        let mut order = Vec::new();
        if opts.set_element_order
            && ((!opts.ignore_changes_and_additions && (!patch_list.is_empty() || !order_same))
                || (!opts.ignore_deletions && !patch_list.is_empty()))
        {
            order = modified
                .iter()
                .map(|v| {
                    let mut entry = JsonMap::new();
                    entry.insert(key.to_string(), v.get(key).cloned().unwrap_or(Value::Null));
                    Value::Object(entry)
                })
                .collect();
        }
        Ok((patch_list, Vec::new(), order))
    } else {
        let (add, delete) = diff_lists_of_scalars(original, modified, opts);
        let add = normalize_slice_order(add, modified, merge_key, kind, path)?;
        // Go's diffListsOfScalars has sorted `original` in place by now, so a
        // list reordered into sorted order counts as unchanged.
        let sorted_original = sort_scalars(original.to_vec());
        let order = if opts.set_element_order
            && ((!opts.ignore_deletions && !delete.is_empty())
                || (!opts.ignore_changes_and_additions && sorted_original.as_slice() != modified))
        {
            modified.to_vec()
        } else {
            Vec::new()
        };
        Ok((add, delete, order))
    }
}

/// `isOrderSame`.
fn is_order_same(original: &[Value], modified: &[Value], key: &str, path: &Path) -> Result<bool> {
    if original.len() != modified.len() {
        return Ok(false);
    }
    for (o, m) in original.iter().zip(modified) {
        if !merge_key_value_equal(o, m, Some(key), path)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `diffListsOfScalars`: walks both lists sorted by `%v`.
fn diff_lists_of_scalars(
    original: &[Value],
    modified: &[Value],
    opts: DiffOptions,
) -> (Vec<Value>, Vec<Value>) {
    let originals = sort_scalars(original.to_vec());
    let modifieds = sort_scalars(modified.to_vec());
    let original_strs: Vec<String> = originals.iter().map(go_fmt).collect();
    let modified_strs: Vec<String> = modifieds.iter().map(go_fmt).collect();
    let (mut oi, mut mi) = (0, 0);
    let mut add = Vec::new();
    let mut delete = Vec::new();
    loop {
        let o_in = oi < originals.len();
        let m_in = mi < modifieds.len();
        if !o_in && !m_in {
            break;
        }
        if o_in && m_in && original_strs[oi] == modified_strs[mi] {
            oi += 1;
            mi += 1;
        } else if !o_in || (m_in && original_strs[oi] > modified_strs[mi]) {
            if !opts.ignore_changes_and_additions {
                add.push(modifieds[mi].clone());
            }
            mi += 1;
        } else {
            if !opts.ignore_deletions {
                delete.push(originals[oi].clone());
            }
            oi += 1;
        }
    }
    (add, go_dedup(delete))
}

/// `diffListsOfMaps`: walks both lists sorted by the `%v` of the merge key.
fn diff_lists_of_maps(
    original: &[Value],
    modified: &[Value],
    meta: PatchMeta,
    key: &str,
    opts: DiffOptions,
    path: &Path,
) -> Result<(Vec<Value>, Vec<Value>)> {
    /// `sortMergeListsByNameArray`: (`%v` of the key, item, key value).
    fn sorted<'l>(
        list: &'l [Value],
        key: &str,
        path: &Path,
    ) -> Result<Vec<(String, &'l JsonMap, Value)>> {
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let m = item
                .as_object()
                .ok_or_else(|| not_an_object(&path.index(i), item))?;
            let value = m
                .get(key)
                .ok_or_else(|| missing_merge_key(&path.index(i), item, key))?;
            out.push((go_fmt(value), m, value.clone()));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
    let originals = sorted(original, key, path)?;
    let modifieds = sorted(modified, key, path)?;
    let mut patch = Vec::new();
    let mut deletions = Vec::new();
    let (mut oi, mut mi) = (0, 0);
    loop {
        let o_in = oi < originals.len();
        let m_in = mi < modifieds.len();
        if !o_in && !m_in {
            break;
        }
        if o_in && m_in && originals[oi].0 == modifieds[mi].0 {
            let (_, o, _) = &originals[oi];
            let (_, m, value) = &modifieds[mi];
            let mut item_patch = diff_maps(o, m, meta, opts, &path.index(mi))?;
            if !item_patch.is_empty() {
                item_patch.insert(key.to_string(), value.clone());
                patch.push(Value::Object(item_patch));
            }
            oi += 1;
            mi += 1;
        } else if !o_in || (m_in && originals[oi].0 > modifieds[mi].0) {
            if !opts.ignore_changes_and_additions {
                patch.push(Value::Object(modifieds[mi].1.clone()));
            }
            mi += 1;
        } else {
            if !opts.ignore_deletions {
                let mut directive = JsonMap::new();
                directive.insert(key.to_string(), originals[oi].2.clone());
                directive.insert(
                    DIRECTIVE_MARKER.to_string(),
                    Value::String(DELETE_DIRECTIVE.to_string()),
                );
                deletions.push(Value::Object(directive));
            }
            oi += 1;
        }
    }
    Ok((patch, deletions))
}

#[cfg(test)]
mod tests {
    use super::super::merge_keys::{builtin, Field, Schema, Strategy};
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::Strategy as _;
    use serde_json::json;

    // -----------------------------------------------------------------------
    // The reference cases of apimachinery's strategicpatch/patch_test.go
    // (TestCustomStrategicMergePatch, TestStrategicMergePatch,
    // TestReplaceWithRawExtension), transcribed from YAML, one per line.
    // Keys: d description, k kind, o original, t two-way patch, m modified,
    // c current, w three-way patch, r result, tr two-way result, e error.
    // Kinds: "custom" (apply t to o, lists compared after sorting as the Go
    // test does), "custom_raw" (same, exact), "create" (two- and three-way,
    // sorted as the Go test does), "raw" (two- and three-way, exact).

    /// `MergeItem` from patch_test.go.
    static MERGE_ITEM: Schema = Schema {
        name: "MergeItem",
        fields: &[
            Field {
                name: "mergingList",
                strategy: Strategy::Merge { key: Some("name") },
                retain_keys: false,
                schema: Some(&MERGE_ITEM),
            },
            Field {
                name: "nonMergingList",
                strategy: Strategy::Default,
                retain_keys: false,
                schema: Some(&MERGE_ITEM),
            },
            Field {
                name: "mergingIntList",
                strategy: Strategy::Merge { key: None },
                retain_keys: false,
                schema: None,
            },
            Field {
                name: "mergeItemPtr",
                strategy: Strategy::Merge { key: Some("name") },
                retain_keys: false,
                schema: Some(&MERGE_ITEM),
            },
            Field {
                name: "replacingItem",
                strategy: Strategy::Replace,
                retain_keys: false,
                schema: None,
            },
            Field {
                name: "retainKeysMap",
                strategy: Strategy::Default,
                retain_keys: true,
                schema: Some(&RETAIN_KEYS_MERGE_ITEM),
            },
            Field {
                name: "retainKeysMergingList",
                strategy: Strategy::Merge { key: Some("name") },
                retain_keys: true,
                schema: Some(&MERGE_ITEM),
            },
        ],
    };

    /// `RetainKeysMergeItem` from patch_test.go.
    static RETAIN_KEYS_MERGE_ITEM: Schema = Schema {
        name: "RetainKeysMergeItem",
        fields: &[
            Field {
                name: "mergingIntList",
                strategy: Strategy::Merge { key: None },
                retain_keys: false,
                schema: None,
            },
            Field {
                name: "mergingList",
                strategy: Strategy::Merge { key: Some("name") },
                retain_keys: false,
                schema: Some(&MERGE_ITEM),
            },
            Field {
                name: "nonMergingList",
                strategy: Strategy::Default,
                retain_keys: false,
                schema: Some(&MERGE_ITEM),
            },
        ],
    };

    const K8S_CASES: &str = r#"
{"d":"unique scalars when merging lists","k":"custom","m":{"mergingIntList":[1,2,3]},"o":{"mergingIntList":[1,2]},"t":{"mergingIntList":[2,3]}}
{"d":"delete map from nested map","k":"custom","m":{"simpleMap":{}},"o":{"simpleMap":{"key1":1,"key2":1}},"t":{"simpleMap":{"$patch":"delete"}}}
{"d":"delete all items from merging list","k":"custom","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"t":{"mergingList":[{"$patch":"replace"}]}}
{"d":"merge empty merging lists","k":"custom","m":{"mergingList":[]},"o":{"mergingList":[]},"t":{"mergingList":[]}}
{"d":"delete all keys from map","k":"custom","m":{},"o":{"name":1,"value":1},"t":{"$patch":"replace"}}
{"d":"add key and delete all keys from map","k":"custom","m":{"other":"a"},"o":{"name":1,"value":1},"t":{"$patch":"replace","other":"a"}}
{"d":"de-duplicate entries in a merging list","k":"custom","m":{"mergingList":[{"name":1},{"name":2,"value":"a"},{"name":3}]},"o":{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":3}]}}
{"d":"delete all duplicate entries in a merging list","k":"custom","m":{"mergingList":[{"name":2,"value":"a"}]},"o":{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":1},{"$patch":"delete","name":3},{"$patch":"delete","name":3}]}}
{"d":"retainKeys map can add a field when no retainKeys directive present","k":"custom","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"value":"bar"}}}
{"d":"retainKeys map can change a field when no retainKeys directive present","k":"custom","m":{"retainKeysMap":{"name":"foo","value":"b"}},"o":{"retainKeysMap":{"name":"foo","value":"a"}},"t":{"retainKeysMap":{"value":"b"}}}
{"d":"retainKeys map can delete a field when no retainKeys directive present","k":"custom","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"name":"foo","value":"a"}},"t":{"retainKeysMap":{"value":null}}}
{"d":"retainKeys map merge an empty map","k":"custom","m":{"retainKeysMap":{"name":"foo","value":"a"}},"o":{"retainKeysMap":{"name":"foo","value":"a"}},"t":{"retainKeysMap":{}}}
{"d":"retainKeys list can add a field when no retainKeys directive present","k":"custom","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"t":{"retainKeysMergingList":[{"name":"foo","value":"a"}]}}
{"d":"retainKeys list can change a field when no retainKeys directive present","k":"custom","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"b"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"retainKeysMergingList":[{"name":"foo","value":"b"}]}}
{"d":"retainKeys list can delete a field when no retainKeys directive present","k":"custom","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"retainKeysMergingList":[{"name":"foo","value":null}]}}
{"d":"preserve the order from the patch in a merging list","k":"custom","m":{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x","value":"b"}]},"o":{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]},"t":{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x"}]}}
{"d":"preserve the order from the patch in a merging list 2","k":"custom","m":{"mergingList":[{"name":2,"value":"b"},{"name":3,"value":"c"},{"name":1,"value":"a"}]},"o":{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]},"t":{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"}]}}
{"d":"preserve the order from the patch in a merging int list","k":"custom","m":{"mergingIntList":[3,1,2]},"o":{"mergingIntList":[1,2,3]},"t":{"mergingIntList":[3,1,2]}}
{"d":"preserve the order from the patch in a merging int list 2","k":"custom","m":{"mergingIntList":[2,3,1]},"o":{"mergingIntList":[1,2,3]},"t":{"mergingIntList":[3,1]}}
{"d":"$setElementOrder contains item that is not present in the list to be merged","k":"custom_raw","m":{"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]},"o":{"mergingList":[{"name":1},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":3},{"name":2},{"name":1}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}}
{"d":"$setElementOrder contains item that is not present in the int list to be merged","k":"custom_raw","m":{"mergingIntList":[3,1]},"o":{"mergingIntList":[1,3]},"t":{"$setElementOrder/mergingIntList":[3,2,1]}}
{"d":"should check if order in $setElementOrder and patch list match","e":"doesn't match","k":"custom_raw","o":{"mergingList":[{"name":1},{"name":3},{"name":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}}
{"d":"should check if order in $setElementOrder and patch int list match","e":"doesn't match","k":"custom_raw","o":{"mergingIntList":[1,3,2]},"t":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3,1]}}
{"d":"missing merge key should error out","e":"does not contain declared merge key","k":"custom_raw","o":{"mergingList":[{"name":1,"value":"a"}]},"t":{"mergingList":[{"value":"b"}]}}
{"c":{"name":1,"other":"a"},"d":"nil original","k":"create","m":{"name":1,"value":1},"r":{"name":1,"other":"a","value":1},"t":{"name":1,"value":1},"w":{"value":1}}
{"c":{"name":1},"d":"nil patch","k":"create","m":{"name":1},"o":{"name":1},"r":{"name":1},"t":{},"w":{}}
{"c":{"name":1,"other":"a"},"d":"add field to map","k":"create","m":{"name":1,"value":1},"o":{"name":1},"r":{"name":1,"other":"a","value":1},"t":{"value":1},"w":{"value":1}}
{"c":{"name":"a","other":"a"},"d":"add field to map with conflict","k":"create","m":{"name":1,"value":1},"o":{"name":1},"r":{"name":1,"other":"a","value":1},"t":{"value":1},"w":{"name":1,"value":1}}
{"c":{"name":1,"other":"a"},"d":"add field and delete field from map","k":"create","m":{"value":1},"o":{"name":1},"r":{"other":"a","value":1},"t":{"name":null,"value":1},"w":{"name":null,"value":1}}
{"c":{"name":"a","other":"a"},"d":"add field and delete field from map with conflict","k":"create","m":{"value":1},"o":{"name":1},"r":{"other":"a","value":1},"t":{"name":null,"value":1},"w":{"name":null,"value":1}}
{"c":{"simpleMap":{"key1":1,"key2":1,"other":"a"}},"d":"delete field from nested map","k":"create","m":{"simpleMap":{"key1":1}},"o":{"simpleMap":{"key1":1,"key2":1}},"r":{"simpleMap":{"key1":1,"other":"a"}},"t":{"simpleMap":{"key2":null}},"w":{"simpleMap":{"key2":null}}}
{"c":{"simpleMap":{"key1":"a","key2":1,"other":"a"}},"d":"delete field from nested map with conflict","k":"create","m":{"simpleMap":{"key1":1}},"o":{"simpleMap":{"key1":1,"key2":1}},"r":{"simpleMap":{"key1":1,"other":"a"}},"t":{"simpleMap":{"key2":null}},"w":{"simpleMap":{"key1":1,"key2":null}}}
{"c":{"name":1,"other":"a","value":1},"d":"delete all fields from map","k":"create","m":{},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"value":null},"w":{"name":null,"value":null}}
{"c":{"name":1,"other":"a","value":"a"},"d":"delete all fields from map with conflict","k":"create","m":{},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"value":null},"w":{"name":null,"value":null}}
{"c":{"name":1,"other":"a","value":1},"d":"add field and delete all fields from map","k":"create","m":{"other":"a"},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"other":"a","value":null},"w":{"name":null,"value":null}}
{"c":{"name":1,"other":"b","value":1},"d":"add field and delete all fields from map with conflict","k":"create","m":{"other":"a"},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"other":"a","value":null},"w":{"name":null,"other":"a","value":null}}
{"c":{"nonMergingIntList":[1,2]},"d":"replace list of scalars","k":"create","m":{"nonMergingIntList":[2,3]},"o":{"nonMergingIntList":[1,2]},"r":{"nonMergingIntList":[2,3]},"t":{"nonMergingIntList":[2,3]},"w":{"nonMergingIntList":[2,3]}}
{"c":{"nonMergingIntList":[1,4]},"d":"replace list of scalars with conflict","k":"create","m":{"nonMergingIntList":[2,3]},"o":{"nonMergingIntList":[1,2]},"r":{"nonMergingIntList":[2,3]},"t":{"nonMergingIntList":[2,3]},"w":{"nonMergingIntList":[2,3]}}
{"c":{"mergingList":[{"name":1},{"name":2}]},"d":"delete all maps from merging list","k":"create","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]},"w":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"delete all maps from merging list with conflict","k":"create","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]},"w":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]}}
{"c":{"mergingList":[]},"d":"delete all maps from empty merging list","k":"create","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]},"w":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]}}
{"c":{"mergingList":[]},"d":"merge empty merging lists","k":"create","m":{"mergingList":[]},"o":{"mergingList":[]},"r":{"mergingList":[]},"t":{},"w":{}}
{"c":{"name":"a","other":"a"},"d":"defined null values should propagate overwrite current fields (with conflict)","k":"create","m":{"name":1,"other":null,"value":1},"o":{"name":2},"r":{"name":1,"value":1},"t":{"name":1,"other":null,"value":1},"tr":{"name":1,"value":1},"w":{"name":1,"other":null,"value":1}}
{"c":{"name":"original-name","other":"current-other","value":"original-value"},"d":"defined null values should propagate removing original fields","k":"create","m":{"name":"modified-name","value":null},"o":{"name":"original-name","value":"original-value"},"r":{"name":"modified-name","other":"current-other"},"t":{"name":"modified-name","value":null},"tr":{"name":"modified-name"},"w":{"name":"modified-name","value":null}}
{"c":{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"},"d":"nil patch with retainKeys map","k":"create","m":{"name":"a","retainKeysMap":{"name":"foo"}},"o":{"name":"a","retainKeysMap":{"name":"foo"}},"r":{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"},"t":{},"w":{}}
{"c":{"name":"a","other":"c","retainKeysMap":{"name":"foo"}},"d":"retainKeys map with no change should not be present","k":"create","m":{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"},"o":{"name":"a","retainKeysMap":{"name":"foo"}},"r":{"name":"a","other":"c","retainKeysMap":{"name":"foo"},"value":"b"},"t":{"value":"b"},"w":{"value":"b"}}
{"c":{"mergingIntList":[1,2,3,4]},"d":"delete items in lists of scalars","k":"raw","m":{"mergingIntList":[1,2]},"o":{"mergingIntList":[1,2,3]},"r":{"mergingIntList":[1,2,4]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]}}
{"c":{"mergingIntList":[1,2,3,3,4]},"d":"delete all duplicate items in lists of scalars","k":"raw","m":{"mergingIntList":[1,2]},"o":{"mergingIntList":[1,2,3,3]},"r":{"mergingIntList":[1,2,4]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]}}
{"c":{"mergingIntList":[1,2,3,4]},"d":"add and delete items in lists of scalars","k":"raw","m":{"mergingIntList":[1,2,4]},"o":{"mergingIntList":[1,2,3]},"r":{"mergingIntList":[1,2,4]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2,4],"mergingIntList":[4]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2,4]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"merge lists of maps","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":1},{"name":2,"value":2},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":3}]},"d":"merge lists of maps with conflict","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":2,"value":2},{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"add field to map in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":3,"other":"b","value":2}]},"d":"add field to map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"value":2},{"name":3,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"d":"add duplicate field to map in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{}}
{"c":{"mergingList":[{"name":1},{"name":1}]},"d":"de-duplicate field in merging list","k":"raw","m":{"mergingList":[{"name":1}]},"o":{"mergingList":[{"name":1},{"name":1}]},"r":{"mergingList":[{"name":1}]},"t":{"$setElementOrder/mergingList":[{"name":1}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1},{"name":1}]},"d":"delete duplicate field in merging list","k":"raw","m":{"mergingList":{}},"o":{"mergingList":[{"name":1},{"name":1}]},"r":{"mergingList":{}},"t":{"mergingList":{}},"w":{"mergingList":{}}}
{"c":{"mergingList":[{"name":1,"other":"x","value":"a"},{"name":2},{"name":3}]},"d":"add an item that already exists in current object in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":"a"},{"name":2},{"name":3}]},"o":{"mergingList":[{"name":1,"value":"a"},{"name":2}]},"r":{"mergingList":[{"name":1,"other":"x","value":"a"},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3}]},"w":{}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":3}]},"d":"add duplicate field to map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2,"value":2}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"d":"replace map field value in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":"a"},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":3},{"name":2,"other":"b","value":2}]},"d":"replace map field value in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1,"value":"a"},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}}
{"c":{"mergingList":[{"name":1},{"name":2,"other":"b"}]},"d":"delete map from merging list","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"delete map from merging list with conflict","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":2,"other":"b"}]},"d":"delete missing map from merging list","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":3,"other":"a"}]},"d":"delete missing map from merging list with conflict","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2},{"name":3,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":2},{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1},{"name":2,"other":"b"},{"name":4,"other":"c"}]},"d":"add map and delete map from merging list","k":"raw","m":{"mergingList":[{"name":2},{"name":3}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"},{"name":4,"other":"c"},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":4,"other":"c"}]},"d":"add map and delete map from merging list with conflict","k":"raw","m":{"mergingList":[{"name":2},{"name":3}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":4,"other":"c"},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":2},{"name":3},{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"d":"delete field from map in merging list","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"value":2}]},"d":"delete field from map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"delete missing field from map in merging list","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"delete missing field from map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null},{"name":2,"value":2}]}}
{"c":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}],"other":"a"},{"name":2,"other":"b"}]},"d":"replace non merging list nested in merging list","k":"raw","m":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]},"o":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]},"r":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}}
{"c":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":"c"}],"other":"a"},{"name":2,"other":"b"}]},"d":"replace non merging list nested in merging list with value conflict","k":"raw","m":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]},"o":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]},"r":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}}
{"c":{"mergingList":[{"name":1,"nonMergingList":[{"name":2,"value":2}],"other":"a"},{"name":2,"other":"b"}]},"d":"replace non merging list nested in merging list with deletion conflict","k":"raw","m":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]},"o":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]},"r":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}}
{"c":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list","k":"raw","m":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergingList":[{"mergingList":[{"name":1,"other":"c","value":"a"},{"name":2,"other":"d","value":"b"}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list with value conflict","k":"raw","m":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":1,"other":"c","value":1},{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1}]}}
{"c":{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list with deletion conflict","k":"raw","m":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list with deletion conflict 2","k":"raw","m":{"mergingList":[{"mergingList":[{"name":2,"value":2},{"name":1,"value":1}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2},{"name":1,"value":1}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergeItemPtr":[{"name":1,"other":"a"},{"name":3}]},"d":"add map to merging list by pointer","k":"raw","m":{"mergeItemPtr":[{"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"name":1}]},"r":{"mergeItemPtr":[{"name":1,"other":"a"},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]}}
{"c":{"mergeItemPtr":[{"name":3}]},"d":"add map to merging list by pointer with conflict","k":"raw","m":{"mergeItemPtr":[{"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"name":1}]},"r":{"mergeItemPtr":[{"name":1},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1},{"name":2}]}}
{"c":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list by pointer","k":"raw","m":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":"a"},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list by pointer with conflict","k":"raw","m":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergingIntList":[1,2,4]},"d":"merge lists of scalars","k":"raw","m":{"mergingIntList":[1,2,3]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[1,2,3,4]},"t":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]},"w":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}}
{"c":{"mergingIntList":[1,2,3]},"d":"add duplicate field to map in merging int list","k":"raw","m":{"mergingIntList":[1,2,3]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[1,2,3]},"t":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]},"w":{}}
{"c":{"mergingIntList":[1,4,2]},"d":"add an item in a list of primitives and preserve order","k":"raw","m":{"mergingIntList":[3,1,2]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[3,1,4,2]},"t":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]},"w":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}}
{"c":{"mergingIntList":[1,2,3]},"d":"delete an item in a list of primitives and preserve order","k":"raw","m":{"mergingIntList":[2,1]},"o":{"mergingIntList":[1,2,3]},"r":{"mergingIntList":[2,1]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"add an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":3,"value":3},{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":3,"value":3},{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],"mergingList":[{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],"mergingList":[{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"add multiple items in a list and preserve order","k":"raw","m":{"mergingList":[{"name":1},{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":4,"value":4},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"d":"delete an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]},"r":{"mergingList":[{"name":2,"other":"b","value":2},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"$patch":"delete","name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"$patch":"delete","name":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"d":"change an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":3,"value":"x"},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]},"r":{"mergingList":[{"name":2,"other":"b","value":2},{"name":3,"value":"x"},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":3},{"name":1}],"mergingList":[{"name":3,"value":"x"}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":3},{"name":1}],"mergingList":[{"name":3,"value":"x"}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"d":"add and delete an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":2,"other":"b","value":2},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"$patch":"delete","name":3}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"$patch":"delete","name":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]},"d":"set elements order in a list","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2},{"name":9}]},"d":"set elements order in a list with server-only items","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"},{"name":9}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":9},{"name":3,"value":3},{"name":4,"value":4}]},"d":"set elements order in a list with server-only items 2","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]},"r":{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":9},{"name":4,"value":4},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":7},{"name":9},{"name":8},{"name":3,"value":3},{"name":4,"value":4}]},"d":"set elements order in a list with server-only items 3","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]},"r":{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":7},{"name":9},{"name":8},{"name":4,"value":4},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}}
{"c":{"mergingIntList":[1,2]},"d":"add an item in a int list and preserve order","k":"raw","m":{"mergingIntList":[3,1,2]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[3,1,2]},"t":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]},"w":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}}
{"c":{"mergingIntList":[1,2]},"d":"add multiple items in a int list and preserve order","k":"raw","m":{"mergingIntList":[1,4,2,3]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[1,4,2,3]},"t":{"$setElementOrder/mergingIntList":[1,4,2,3],"mergingIntList":[4,3]},"w":{"$setElementOrder/mergingIntList":[1,4,2,3],"mergingIntList":[4,3]}}
{"c":{"mergingIntList":[1,2,3]},"d":"delete an item in a int list and preserve order","k":"raw","m":{"mergingIntList":[2,1]},"o":{"mergingIntList":[1,3,2]},"r":{"mergingIntList":[2,1]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]}}
{"c":{"mergingIntList":[1,2,3]},"d":"add and delete an item in a int list and preserve order","k":"raw","m":{"mergingIntList":[4,2,1]},"o":{"mergingIntList":[1,3,2]},"r":{"mergingIntList":[4,2,1]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[4,2,1],"mergingIntList":[4]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[4,2,1],"mergingIntList":[4]}}
{"c":{"mergingIntList":[1,3,4,2]},"d":"set elements order in a int list","k":"raw","m":{"mergingIntList":[4,2,3,1]},"o":{"mergingIntList":[1,3,4,2]},"r":{"mergingIntList":[4,2,3,1]},"t":{"$setElementOrder/mergingIntList":[4,2,3,1]},"w":{"$setElementOrder/mergingIntList":[4,2,3,1]}}
{"c":{"mergingIntList":[1,3,4,2,9]},"d":"set elements order in a int list with server-only items","k":"raw","m":{"mergingIntList":[4,2,3,1]},"o":{"mergingIntList":[1,3,4,2]},"r":{"mergingIntList":[4,2,3,1,9]},"t":{"$setElementOrder/mergingIntList":[4,2,3,1]},"w":{"$setElementOrder/mergingIntList":[4,2,3,1]}}
{"c":{"mergingIntList":[1,2,9,3,4]},"d":"set elements order in a int list with server-only items 2","k":"raw","m":{"mergingIntList":[2,1,4,3]},"o":{"mergingIntList":[1,2,3,4]},"r":{"mergingIntList":[2,1,9,4,3]},"t":{"$setElementOrder/mergingIntList":[2,1,4,3]},"w":{"$setElementOrder/mergingIntList":[2,1,4,3]}}
{"c":{"mergingIntList":[1,2,7,9,8,3,4]},"d":"set elements order in a int list with server-only items 3","k":"raw","m":{"mergingIntList":[2,1,4,3]},"o":{"mergingIntList":[1,2,3,4]},"r":{"mergingIntList":[2,1,7,9,8,4,3]},"t":{"$setElementOrder/mergingIntList":[2,1,4,3]},"w":{"$setElementOrder/mergingIntList":[2,1,4,3]}}
{"c":{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]},"d":"behavior of set element order for a merging list with duplicate","k":"raw","m":{"mergingList":[{"name":2,"value":"dup1"},{"name":1},{"name":4},{"name":3},{"name":2,"value":"dup2"}]},"o":{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]},"r":{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]},"tr":{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}}
{"c":{"mergingIntList":[1,2,3,2,4]},"d":"behavior of set element order for a merging int list with duplicate","k":"raw","m":{"mergingIntList":[2,1,4,3,2]},"o":{"mergingIntList":[1,2,3,2,4]},"r":{"mergingIntList":[2,2,1,4,3]},"t":{"$setElementOrder/mergingIntList":[2,1,4,3,2]},"tr":{"mergingIntList":[2,2,1,4,3]},"w":{"$setElementOrder/mergingIntList":[2,1,4,3,2]}}
{"c":{"retainKeysMap":{"value":"foo"}},"d":"retainKeys map should clear defaulted field","k":"raw","m":{"retainKeysMap":{"other":"bar"}},"o":{},"r":{"retainKeysMap":{"other":"bar"}},"t":{"retainKeysMap":{"other":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["other"],"other":"bar"}}}
{"c":{"retainKeysMap":{"name":"type1","value":"foo"}},"d":"retainKeys map should clear defaulted field with conflict (discriminated union)","k":"raw","m":{"retainKeysMap":{"name":"type2","other":"bar"}},"o":{},"r":{"retainKeysMap":{"name":"type2","other":"bar"}},"t":{"retainKeysMap":{"name":"type2","other":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","other"],"name":"type2","other":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo"}},"d":"retainKeys map adds a field","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","other":"a"}},"d":"retainKeys map adds a field and clear a field","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","value":"bar"}},"d":"retainKeys map deletes a field","k":"raw","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"name":"foo","value":"bar"}},"r":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["name"],"value":null}},"w":{"retainKeysMap":{"$retainKeys":["name"],"value":null}}}
{"c":{"retainKeysMap":{"name":"foo","other":"a","value":"bar"}},"d":"retainKeys map deletes a field and clears a field","k":"raw","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"name":"foo","value":"bar"}},"r":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["name"],"value":null}},"w":{"retainKeysMap":{"$retainKeys":["name"],"value":null}}}
{"c":{"retainKeysMap":{"name":"foo","other":"a","value":"bar"}},"d":"retainKeys map clears a field","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo","value":"bar"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{},"w":{"retainKeysMap":{"$retainKeys":["name","value"]}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"}}},"d":"retainKeys map nested map with no change","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"}}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key3":"c"},"value":"bar"}},"d":"retainKeys map adds a field in a nested map","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}},"d":"retainKeys map deletes a field in a nested map","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":null}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":null}}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}},"d":"retainKeys map changes a field in a nested map","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"x","key2":"b"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"x","key2":"b","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"x"}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"x"}}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"new","key2":"b","key3":"c"},"value":"bar"}},"d":"retainKeys map changes a field in a nested map with conflict","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"modified","key2":"b"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"old","key2":"b"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"modified","key2":"b","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"modified"}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"modified"}}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"d":"retainKeys map replaces non-merging list","k":"raw","m":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}],"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}],"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}},"w":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"d":"retainKeys map nested non-merging list with no change","k":"raw","m":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}},"d":"retainKeys map nested non-merging list with no change with conflict","k":"raw","m":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"d":"retainKeys map deletes nested non-merging list","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}},"d":"retainKeys map delete nested non-merging list with conflict","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"d":"retainKeys map nested merging int list with no change","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"$setElementOrder/mergingIntList":[1,2],"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"d":"retainKeys map adds an item in nested merging int list","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,2,4],"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,2,4,3],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,2,4],"mergingIntList":[4]}},"w":{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,2,4],"mergingIntList":[4]}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3,4],"name":"foo"}},"d":"retainKeys map deletes an item in nested merging int list","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,3],"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,3,4],"name":"foo"}},"t":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3]}},"w":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3]}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3,4],"name":"foo"}},"d":"retainKeys map adds an item and deletes an item in nested merging int list","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,3,5],"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,3,5,4],"name":"foo"}},"t":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3,5],"mergingIntList":[5]}},"w":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3,5],"mergingIntList":[5]}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"d":"retainKeys map deletes nested merging int list","k":"raw","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"r":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}},"w":{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo"}},"d":"retainKeys map nested merging list with no change","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name","value"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}],"name":"foo"}},"d":"retainKeys map adds an item in nested merging list","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"x"}],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"foo"},{"name":"x"}],"name":"foo"}},"d":"retainKeys map changes an item in nested merging list","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"bar"}],"name":"foo"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"foo"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"bar"},{"name":"x"}],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"mergingList":[{"name":"b","value":"bar"}]}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"mergingList":[{"name":"b","value":"bar"}]}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"d":"retainKeys map deletes nested merging list","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"mergingList":null,"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"mergingList":null,"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}],"name":"foo"}},"d":"retainKeys map deletes an item in nested merging list","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"}],"name":"foo"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"x"}],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"$patch":"delete","name":"b"}]}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"$patch":"delete","name":"b"}]}}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"a"}]},"d":"retainKeys list of maps clears a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"new"}]},"d":"retainKeys list of maps clears a field with conflict","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"old"}]},"d":"retainKeys list of maps changes a field and clear a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"modified"}]},"d":"retainKeys list of maps changes a field and clear a field with conflict","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"d":"retainKeys list of maps adds a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x"}]},"d":"retainKeys list of maps adds a field and clear a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"d":"retainKeys list of maps deletes a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"a"}]},"d":"retainKeys list of maps deletes a field and clear a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}}
{"c":{"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}],"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}]},"d":"delete and reorder in one list, reorder in another","k":"raw","m":{"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}],"mergingList":[{"name":"b","value":"b"}]},"o":{"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}],"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}]},"r":{"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}],"mergingList":[{"name":"b","value":"b"}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"$setElementOrder/mergingList":[{"name":"b"}],"mergingList":[{"$patch":"delete","name":"a"}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"$setElementOrder/mergingList":[{"name":"b"}],"mergingList":[{"$patch":"delete","name":"a"}]}}
{"c":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"d":"replace RawExtension field, rest unchanched","k":"raw","m":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"o":{"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"r":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"t":{"mergingList":[{"name":1},{"name":2},{"name":3}],"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}},"tr":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"w":{"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}}}
{"c":{"mergingList":[{"name":1},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"d":"replace RawExtension field and merge list","k":"raw","m":{"mergingList":[{"name":1},{"name":2}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"o":{"mergingList":[{"name":1}],"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"r":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2}],"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}},"tr":{"mergingList":[{"name":1},{"name":2}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2}],"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}}}
"#;

    /// `sortMergeListsByName`, which the Go tests apply to YAML-defined cases.
    fn sort_merge_lists(v: &Value, meta: PatchMeta) -> Value {
        let Value::Object(m) = v else {
            return v.clone();
        };
        let mut out = JsonMap::new();
        for (k, v) in m {
            let sorted =
                if k == RETAIN_KEYS_DIRECTIVE || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                    match v {
                        Value::Array(items) => Value::Array(sort_scalars(items.clone())),
                        other => other.clone(),
                    }
                } else if k.starts_with(SET_ELEMENT_ORDER_PREFIX) || k == DIRECTIVE_MARKER {
                    v.clone()
                } else {
                    let field = meta.field(k);
                    match (v, field.strategy) {
                        (Value::Object(_), _) => sort_merge_lists(v, field.meta),
                        (Value::Array(items), Strategy::Merge { key }) => {
                            if items.iter().all(Value::is_object) {
                                let mut items: Vec<Value> = items
                                    .iter()
                                    .map(|i| sort_merge_lists(i, field.meta))
                                    .collect();
                                items.sort_by_cached_key(|i| {
                                    go_fmt(i.get(key.unwrap_or("")).unwrap_or(&Value::Null))
                                });
                                Value::Array(items)
                            } else {
                                Value::Array(sort_scalars(go_dedup(items.clone())))
                            }
                        }
                        _ => v.clone(),
                    }
                };
            out.insert(k.clone(), sorted);
        }
        Value::Object(out)
    }

    fn run_k8s_case(c: &Value) -> std::result::Result<(), String> {
        let meta = PatchMeta::new(&MERGE_ITEM);
        let kind = c["k"].as_str().unwrap_or_default();
        let sorted = kind == "custom" || kind == "create";
        let prep = |key: &str| -> Option<Value> {
            c.get(key).map(|v| {
                if sorted {
                    sort_merge_lists(v, meta)
                } else {
                    v.clone()
                }
            })
        };
        let original = prep("o").unwrap_or(Value::Null);
        let two_way_patch = prep("t").unwrap_or(Value::Null);
        let modified = prep("m").unwrap_or(Value::Null);
        let two_way_result = prep("tr").unwrap_or_else(|| modified.clone());
        let check = |what: &str, got: &Value, want: &Value| -> std::result::Result<(), String> {
            if got == want {
                Ok(())
            } else {
                Err(format!("{what}: want {want}, got {got}"))
            }
        };

        if kind == "custom" || kind == "custom_raw" {
            let applied = apply(&original, &two_way_patch, meta);
            return match (c.get("e").and_then(Value::as_str), applied) {
                (Some(want), Err(e)) if e.to_string().contains(want) => Ok(()),
                (Some(want), other) => {
                    Err(format!("want an error containing {want:?}, got {other:?}"))
                }
                (None, Ok(got)) => check("apply", &got, &two_way_result),
                (None, Err(e)) => Err(format!("apply failed: {e}")),
            };
        }

        let patch = two_way(&original, &modified, meta).map_err(|e| format!("two_way: {e}"))?;
        check("two_way", &patch, &two_way_patch)?;
        let got = apply(&original, &patch, meta).map_err(|e| format!("apply two-way: {e}"))?;
        check("two-way result", &got, &two_way_result)?;

        let Some(current) = prep("c") else {
            return Ok(());
        };
        let three_way_patch = prep("w").unwrap_or(Value::Null);
        let result = prep("r").unwrap_or(Value::Null);
        let patch = three_way(Some(&original), &modified, &current, meta)
            .map_err(|e| format!("three_way: {e}"))?;
        check("three_way", &patch, &three_way_patch)?;
        let got = apply(&current, &patch, meta).map_err(|e| format!("apply three-way: {e}"))?;
        check("three-way result", &got, &result)
    }

    #[test]
    fn kubernetes_reference_cases() {
        let mut failures = Vec::new();
        let mut count = 0;
        for line in K8S_CASES.lines().filter(|l| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).expect("test data is JSON");
            count += 1;
            if let Err(e) = run_k8s_case(&case) {
                failures.push(format!("{}: {e}", case["d"]));
            }
        }
        assert_eq!(count, 142);
        assert!(
            failures.is_empty(),
            "{} of {count} failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    // -----------------------------------------------------------------------
    // Built-in kinds and wire examples

    fn deployment() -> PatchMeta {
        builtin("apps", "Deployment").expect("Deployment is built in")
    }

    fn pod() -> PatchMeta {
        builtin("", "Pod").expect("Pod is built in")
    }

    #[test]
    fn kubectl_apply_deployment_edited_twice() {
        let last_applied = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}
        });
        let mut modified = last_applied.clone();
        modified["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        let mut current = last_applied.clone();
        current["metadata"]["uid"] = json!("u-1");
        current["metadata"]["annotations"] =
            json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"});
        current["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "app", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "envoy:1"}
        ]);
        current["status"] = json!({"replicas": 1});

        let patch =
            three_way(Some(&last_applied), &modified, &current, deployment()).expect("three-way");
        let wire = json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"nginx:2","name":"app"}]}}}});
        assert_eq!(patch, wire);
        assert_eq!(
            serde_json::to_string(&patch).expect("serializes"),
            r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"nginx:2","name":"app"}]}}}}"#
        );

        let result = apply(&current, &wire, deployment()).expect("apply");
        let mut want = current.clone();
        want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert_eq!(result, want);

        // The same body applied as a JSON merge patch would have dropped the
        // sidecar and the live-only fields of the app container.
        let as_merge = super::super::merge::apply(&current, &wire);
        assert_eq!(
            as_merge["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn kubectl_apply_removes_a_container_and_an_env_var() {
        let last_applied = json!({"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "old", "image": "o:1"}
        ]}});
        let modified = json!({"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]}
        ]}});
        let current = json!({"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "live"}]},
            {"name": "old", "image": "o:1"},
            {"name": "injected", "image": "i:1"}
        ]}});
        let patch = three_way(Some(&last_applied), &modified, &current, pod()).expect("three-way");
        assert_eq!(
            patch,
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "app"}],
                "containers": [
                    {"name": "app", "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "B", "$patch": "delete"}]},
                    {"name": "old", "$patch": "delete"}
                ]
            }})
        );
        let result = apply(&current, &patch, pod()).expect("apply");
        assert_eq!(
            result,
            json!({"spec": {"containers": [
                {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "live"}]},
                {"name": "injected", "image": "i:1"}
            ]}})
        );
    }

    #[test]
    fn finalizers_are_a_set() {
        let meta = builtin("", "ConfigMap").expect("built in");
        let live = json!({"metadata": {"name": "c", "finalizers": ["a", "b"]}, "data": {"k": "v"}});

        let added = apply(
            &live,
            &json!({"metadata": {"finalizers": ["c", "a"]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(added["metadata"]["finalizers"], json!(["c", "a", "b"]));

        let removed = apply(
            &live,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(removed["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(removed["data"], json!({"k": "v"}));

        let both = apply(
            &live,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["a", "d"]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(both["metadata"]["finalizers"], json!(["a", "d", "b"]));

        let replaced =
            apply(&live, &json!({"metadata": {"finalizers": null}}), meta).expect("apply");
        assert!(replaced["metadata"].get("finalizers").is_none());

        // Deleting from a list that is not there is a no-op.
        let none = apply(
            &json!({"metadata": {}}),
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(none, json!({"metadata": {}}));

        // kubectl apply removing one finalizer, with one added by a controller.
        let last = json!({"metadata": {"finalizers": ["a", "b"]}});
        let modified = json!({"metadata": {"finalizers": ["b"]}});
        let current = json!({"metadata": {"finalizers": ["a", "b", "ctrl"]}});
        let patch = three_way(Some(&last), &modified, &current, meta).expect("three-way");
        assert_eq!(
            patch,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/finalizers": ["b"]}})
        );
        assert_eq!(
            apply(&current, &patch, meta).expect("apply")["metadata"]["finalizers"],
            json!(["b", "ctrl"])
        );
    }

    #[test]
    fn retain_keys_on_deployment_strategy() {
        let live = json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
        // The user never set a strategy, then switches to Recreate.
        let last = json!({"spec": {"replicas": 2}});
        let modified = json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}});
        let patch = three_way(Some(&last), &modified, &live, deployment()).expect("three-way");
        assert_eq!(
            patch,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
        );
        let result = apply(&live, &patch, deployment()).expect("apply");
        assert_eq!(
            result,
            json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}})
        );

        // Without the directive (a hand-written patch) rollingUpdate survives,
        // as in Kubernetes (the server's validation would then reject it).
        let plain = apply(
            &live,
            &json!({"spec": {"strategy": {"type": "Recreate"}}}),
            deployment(),
        )
        .expect("apply");
        assert_eq!(
            plain["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            json!("25%")
        );

        // A patch may not set a field its $retainKeys list omits.
        let bad = apply(
            &live,
            &json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
            deployment(),
        );
        assert_eq!(
            bad.map_err(|e| (e.kind, e.path)),
            Err((ErrorKind::InvalidDirective, ".spec.strategy".to_string()))
        );
    }

    #[test]
    fn volumes_retain_keys_per_item() {
        let live = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "secret": {"secretName": "s"}}]}});
        let last = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}});
        let modified = json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "cm"}}]}});
        let patch = three_way(Some(&last), &modified, &live, pod()).expect("three-way");
        let result = apply(&live, &patch, pod()).expect("apply");
        assert_eq!(
            result,
            json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "secret": {"secretName": "s"}}]}})
        );
    }

    #[test]
    fn patch_directives() {
        let meta = pod();
        let live = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}], "nodeSelector": {"k": "v", "z": "w"}}});

        let replaced = apply(
            &live,
            &json!({"spec": {"containers": [{"name": "c", "image": "z"}, {"$patch": "replace"}]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(
            replaced["spec"]["containers"],
            json!([{"name": "c", "image": "z"}])
        );

        let deleted = apply(
            &live,
            &json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(
            deleted["spec"]["containers"],
            json!([{"name": "b", "image": "y"}])
        );

        let map_replaced = apply(
            &live,
            &json!({"spec": {"nodeSelector": {"$patch": "replace", "n": "1"}}}),
            meta,
        )
        .expect("apply");
        assert_eq!(map_replaced["spec"]["nodeSelector"], json!({"n": "1"}));

        let map_deleted = apply(
            &live,
            &json!({"spec": {"nodeSelector": {"$patch": "delete"}}}),
            meta,
        )
        .expect("apply");
        assert_eq!(map_deleted["spec"]["nodeSelector"], json!({}));

        let map_merged = apply(
            &live,
            &json!({"spec": {"nodeSelector": {"$patch": "merge", "n": "1"}}}),
            meta,
        )
        .expect("apply");
        assert_eq!(
            map_merged["spec"]["nodeSelector"],
            json!({"k": "v", "z": "w", "n": "1"})
        );

        let reordered = apply(
            &live,
            &json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
            meta,
        )
        .expect("apply");
        assert_eq!(
            reordered["spec"]["containers"],
            json!([{"name": "b", "image": "y"}, {"name": "a", "image": "x"}])
        );

        // Directives sent for a field the live object lacks are resolved,
        // not stored.
        let fresh = apply(
            &json!({}),
            &json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "env": [{"name": "E", "value": null}]}, {"name": "gone", "$patch": "delete"}], "nodeSelector": {"x": null, "y": "1"}}}),
            meta,
        )
        .expect("apply");
        assert_eq!(
            fresh,
            json!({"spec": {"containers": [{"name": "a", "env": [{"name": "E"}]}], "nodeSelector": {"y": "1"}}})
        );
    }

    #[test]
    fn errors_name_the_path() {
        let meta = pod();
        let live = json!({"spec": {"containers": [{"name": "a"}]}});
        let cases = [
            (
                json!({"spec": {"containers": [{"image": "x"}]}}),
                ErrorKind::MissingMergeKey,
                ".spec.containers[0]",
            ),
            (
                json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
                ErrorKind::InvalidDirective,
                ".spec.containers[0]",
            ),
            (
                json!({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}),
                ErrorKind::InvalidDirective,
                ".spec.containers[0]",
            ),
            (
                json!({"spec": {"$patch": 5}}),
                ErrorKind::InvalidDirective,
                ".spec",
            ),
            (
                json!({"spec": {"containers": ["a"]}}),
                ErrorKind::WrongType,
                ".spec.containers",
            ),
            (
                json!({"spec": {"containers": [[1]]}}),
                ErrorKind::WrongType,
                ".spec.containers",
            ),
            (
                json!({"spec": {"containers": [null]}}),
                ErrorKind::WrongType,
                ".spec.containers",
            ),
            (
                json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}),
                ErrorKind::InvalidDirective,
                ".spec.containers",
            ),
            (
                json!({"spec": {"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "a", "image": "i"}]}}),
                ErrorKind::InvalidDirective,
                ".spec.containers",
            ),
            (
                json!({"spec": {"$setElementOrderX/containers": []}}),
                ErrorKind::InvalidDirective,
                ".spec",
            ),
            (
                json!({"spec": {"$deleteFromPrimitiveList/containers": [{"name": "a"}]}}),
                ErrorKind::InvalidDirective,
                ".spec.containers",
            ),
            (
                json!({"spec": {"$retainKeys": "nope"}}),
                ErrorKind::InvalidDirective,
                ".spec",
            ),
            (
                json!({"metadata": {"finalizers": ["a", 1]}}),
                ErrorKind::WrongType,
                ".metadata.finalizers",
            ),
            (
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
                ErrorKind::InvalidDirective,
                ".metadata.finalizers",
            ),
        ];
        for (patch, kind, path) in cases {
            let err = apply(&live, &patch, meta).expect_err(&patch.to_string());
            assert_eq!(
                (err.kind, err.path.as_str()),
                (kind, path),
                "{patch}: {err}"
            );
        }
        let err = apply(&json!([1]), &json!({}), meta).expect_err("array original");
        assert_eq!((err.kind, err.path.as_str()), (ErrorKind::WrongType, "."));
        assert!(apply(&json!({}), &json!("x"), meta).is_err());
        assert!(three_way(None, &json!(1), &json!({}), meta).is_err());
        assert!(apply(&json!(null), &json!(null), meta).is_ok());
        assert!(err.to_string().starts_with(".: "));
    }

    #[test]
    fn untyped_fields_use_defaults() {
        // TestUnknownField: Kubernetes refuses fields its Go types lack; we
        // merge maps and replace lists.
        let meta = PatchMeta::UNTYPED;
        let original =
            json!({"array": [1, 2, 3], "complex": {"nested": true}, "name": "foo", "scalar": true});
        let modified = json!({"array": [1, 2, 3], "complex": {"nested": false}, "name": "foo", "scalar": true});
        assert_eq!(
            two_way(&original, &modified, meta).expect("two-way"),
            json!({"complex": {"nested": false}})
        );
        let removed = three_way(Some(&json!({"name": "foo", "scalar": true, "complex": {"nested": true}})), &json!({"name": "foo"}),
            &json!({"name": "foo", "scalar": true, "complex": {"nested": true}, "array": [1, 2, 3]}), meta).expect("three-way");
        assert_eq!(removed, json!({"complex": null, "scalar": null}));
        let live = json!({"l": [1, 2], "m": {"a": 1}});
        assert_eq!(
            apply(&live, &json!({"l": [3], "m": {"b": 2}}), meta).expect("apply"),
            json!({"l": [3], "m": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn number_precision_is_kept() {
        // TestNumberConversion.
        for (old, new) in [
            (
                json!({"int32": 2147483647}),
                json!({"int32": 2147483647, "name": "newname"}),
            ),
            (
                json!({"int64": 9223372036854775807i64}),
                json!({"int64": 9223372036854775807i64, "name": "newname"}),
            ),
            (
                json!({"float32": 3.4028234663852886e38}),
                json!({"float32": 3.4028234663852886e38, "name": "newname"}),
            ),
            (
                json!({"float64": 1.7976931348623157e308}),
                json!({"float64": 1.7976931348623157e308, "name": "newname"}),
            ),
        ] {
            let patch = two_way(&old, &new, PatchMeta::UNTYPED).expect("two-way");
            assert_eq!(patch, json!({"name": "newname"}));
            assert_eq!(apply(&old, &patch, PatchMeta::UNTYPED).expect("apply"), new);
        }
    }

    #[test]
    fn go_formatting() {
        // Float text itself is `gofmt::go_float_v`'s, tested there.
        assert_eq!(go_fmt(&json!(1.5e-7)), "1.5e-07");
        assert_eq!(go_fmt(&json!(80)), "80");
        assert_eq!(go_fmt(&json!(null)), "<nil>");
        assert_eq!(
            go_fmt(&json!({"b": 1, "a": [true, "x"]})),
            "map[a:[true x] b:1]"
        );
        assert_eq!(
            go_dedup(vec![json!(1), json!(1), json!(2), json!(3)]),
            vec![json!(1), json!(3), json!(2)]
        );
    }

    #[test]
    fn ports_merge_on_numeric_keys() {
        let svc = builtin("", "Service").expect("built in");
        let live = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}], "clusterIP": "10.0.0.1"}});
        let last = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
        let modified =
            json!({"spec": {"ports": [{"port": 9090}, {"port": 80, "targetPort": 8081}]}});
        let patch = three_way(Some(&last), &modified, &live, svc).expect("three-way");
        // Deletions follow Go's %v ordering; items follow the modified order.
        assert_eq!(
            patch,
            json!({"spec": {
                "$setElementOrder/ports": [{"port": 9090}, {"port": 80}],
                "ports": [{"port": 9090}, {"port": 80, "targetPort": 8081}, {"port": 443, "$patch": "delete"}]
            }})
        );
        let result = apply(&live, &patch, svc).expect("apply");
        assert_eq!(
            result,
            json!({"spec": {"ports": [{"port": 9090}, {"port": 80, "targetPort": 8081}], "clusterIP": "10.0.0.1"}})
        );
    }

    // -----------------------------------------------------------------------
    // Properties

    /// The three-way contract, aware of merge lists: `result` has everything
    /// in `modified`, nothing that only `original` had, and `current`'s
    /// unmentioned fields and list items untouched.
    fn check_contract(
        result: &Value,
        original: Option<&Value>,
        modified: &Value,
        current: Option<&Value>,
        field: FieldMeta,
        at: &str,
    ) -> std::result::Result<(), String> {
        match (modified, field.strategy) {
            (Value::Object(_), Strategy::Default | Strategy::Merge { .. }) => {
                check_object(result, original, modified, current, field.meta, at)
            }
            (Value::Array(items), Strategy::Merge { key: Some(key) })
                if items.iter().all(Value::is_object) =>
            {
                let Value::Array(got) = result else {
                    return Err(format!("{at}: expected a list, got {result}"));
                };
                let find = |list: Option<&Value>, k: &Value| -> Option<Value> {
                    list.and_then(Value::as_array)?
                        .iter()
                        .find(|i| i.get(key) == Some(k))
                        .cloned()
                };
                let keys_of = |list: Option<&Value>| -> Vec<Value> {
                    list.and_then(Value::as_array)
                        .map(|l| l.iter().filter_map(|i| i.get(key).cloned()).collect())
                        .unwrap_or_default()
                };
                let modified_keys = keys_of(Some(modified));
                let original_keys = keys_of(original);
                for item in items {
                    let k = item.get(key).cloned().unwrap_or(Value::Null);
                    let r = find(Some(result), &k)
                        .ok_or_else(|| format!("{at}[{key}={k}]: missing"))?;
                    check_object(
                        &r,
                        find(original, &k).as_ref(),
                        item,
                        find(current, &k).as_ref(),
                        field.meta,
                        &format!("{at}[{key}={k}]"),
                    )?;
                }
                for k in &original_keys {
                    if !modified_keys.contains(k) && find(Some(result), k).is_some() {
                        return Err(format!(
                            "{at}[{key}={k}]: removed from the configuration but still present"
                        ));
                    }
                }
                for item in current.and_then(Value::as_array).into_iter().flatten() {
                    let Some(k) = item.get(key) else { continue };
                    if !modified_keys.contains(k)
                        && !original_keys.contains(k)
                        && !got.contains(item)
                    {
                        return Err(format!("{at}[{key}={k}]: live-only item changed"));
                    }
                }
                Ok(())
            }
            (Value::Array(items), Strategy::Merge { key: None }) => {
                let Value::Array(got) = result else {
                    return Err(format!("{at}: expected a list, got {result}"));
                };
                let as_list =
                    |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
                let (original, current) = (as_list(original), as_list(current));
                for v in items {
                    if !got.contains(v) {
                        return Err(format!("{at}: {v} missing"));
                    }
                }
                for v in &original {
                    if !items.contains(v) && got.contains(v) {
                        return Err(format!(
                            "{at}: {v} removed from the configuration but still present"
                        ));
                    }
                }
                for v in &current {
                    if !items.contains(v) && !original.contains(v) && !got.contains(v) {
                        return Err(format!("{at}: live-only {v} dropped"));
                    }
                }
                Ok(())
            }
            _ if result == modified => Ok(()),
            _ => Err(format!("{at}: expected {modified}, got {result}")),
        }
    }

    fn check_object(
        result: &Value,
        original: Option<&Value>,
        modified: &Value,
        current: Option<&Value>,
        meta: PatchMeta,
        at: &str,
    ) -> std::result::Result<(), String> {
        let (Value::Object(r), Value::Object(m)) = (result, modified) else {
            return Err(format!("{at}: expected an object, got {result}"));
        };
        let o = original.and_then(Value::as_object);
        let c = current.and_then(Value::as_object);
        for (k, mv) in m {
            let rv = r.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
            check_contract(
                rv,
                o.and_then(|o| o.get(k)),
                mv,
                c.and_then(|c| c.get(k)),
                meta.field(k),
                &format!("{at}.{k}"),
            )?;
        }
        for k in o.into_iter().flat_map(|o| o.keys()) {
            if !m.contains_key(k) && r.contains_key(k) {
                return Err(format!(
                    "{at}.{k}: removed from the configuration but still present"
                ));
            }
        }
        for (k, cv) in c.into_iter().flatten() {
            if !m.contains_key(k) && !o.is_some_and(|o| o.contains_key(k)) && r.get(k) != Some(cv) {
                return Err(format!("{at}.{k}: live-only field changed"));
            }
        }
        Ok(())
    }

    fn arb_leaf(with_null: bool) -> BoxedStrategy<Value> {
        let base = prop_oneof![
            (0i64..3).prop_map(Value::from),
            prop::sample::select(vec!["x", "y"]).prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            prop::collection::vec((0i64..3).prop_map(Value::from), 0..3).prop_map(Value::Array),
        ];
        if with_null {
            prop_oneof![5 => base, 1 => Just(Value::Null)].boxed()
        } else {
            base.boxed()
        }
    }

    /// Small untagged subtrees over the keys a..d.
    fn arb_misc(with_null: bool) -> BoxedStrategy<Value> {
        arb_leaf(with_null)
            .prop_recursive(2, 12, 3, |inner| {
                prop::collection::btree_map(
                    prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from),
                    inner,
                    0..3,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect()))
            })
            .boxed()
    }

    /// A keyed list with unique keys drawn from `keys`, in random order.
    fn arb_keyed(
        key: &'static str,
        keys: Vec<Value>,
        item: BoxedStrategy<JsonMap>,
    ) -> BoxedStrategy<Value> {
        prop::collection::vec((prop::sample::select(keys), item), 0..4)
            .prop_map(move |entries| {
                let mut seen = Vec::new();
                let mut list = Vec::new();
                for (k, mut body) in entries {
                    if seen.contains(&k) {
                        continue;
                    }
                    seen.push(k.clone());
                    body.insert(key.to_string(), k);
                    list.push(Value::Object(body));
                }
                Value::Array(list)
            })
            .boxed()
    }

    fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
        Value::Object(
            entries
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
        )
    }

    fn arb_container(with_null: bool) -> BoxedStrategy<JsonMap> {
        let env_item = prop::option::of(prop::sample::select(vec!["1", "2"]))
            .prop_map(|v| {
                object(vec![("value", v.map(Value::from))])
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            })
            .boxed();
        let port_item = prop::option::of(prop::sample::select(vec!["TCP", "UDP"]))
            .prop_map(|v| {
                object(vec![("protocol", v.map(Value::from))])
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            })
            .boxed();
        (
            prop::option::of(prop::sample::select(vec!["img:1", "img:2"])),
            prop::option::weighted(
                0.7,
                arb_keyed(
                    "name",
                    vec![json!("E1"), json!("E2"), json!("E3")],
                    env_item,
                ),
            ),
            prop::option::weighted(
                0.7,
                arb_keyed(
                    "containerPort",
                    vec![json!(80), json!(443), json!(8080)],
                    port_item,
                ),
            ),
            prop::option::of(arb_misc(with_null)),
        )
            .prop_map(|(image, env, ports, extra)| {
                object(vec![
                    ("image", image.map(Value::from)),
                    ("env", env),
                    ("ports", ports),
                    ("a", extra),
                ])
                .as_object()
                .cloned()
                .unwrap_or_default()
            })
            .boxed()
    }

    /// Pod-shaped documents: labels, finalizers, keyed containers with keyed
    /// env and ports, and untagged extras; `unique` keeps finalizers unique
    /// (Go deletes an item that appears twice in the last-applied list even
    /// if the new configuration keeps it once).
    fn arb_pod(with_null: bool, unique: bool) -> BoxedStrategy<Value> {
        let names = vec![json!("app"), json!("db"), json!("side"), json!("web")];
        let finalizers = prop::collection::vec(prop::sample::select(vec!["f1", "f2", "f3"]), 0..4)
            .prop_map(move |mut f| {
                if unique {
                    let mut seen = Vec::new();
                    f.retain(|x| {
                        if seen.contains(x) {
                            false
                        } else {
                            seen.push(*x);
                            true
                        }
                    });
                }
                Value::from(f)
            });
        let metadata = (
            prop::option::of(prop::collection::btree_map(
                prop::sample::select(vec!["l1", "l2"]).prop_map(String::from),
                prop::sample::select(vec!["x", "y"]).prop_map(Value::from),
                0..3,
            )),
            prop::option::weighted(0.8, finalizers),
        )
            .prop_map(|(labels, finalizers)| {
                object(vec![
                    (
                        "labels",
                        labels.map(|l| Value::Object(l.into_iter().collect())),
                    ),
                    ("finalizers", finalizers),
                ])
            });
        let spec = (
            prop::option::weighted(
                0.9,
                arb_keyed("name", names.clone(), arb_container(with_null)),
            ),
            prop::option::of(arb_keyed("name", names, arb_container(with_null))),
            prop::option::of(arb_misc(with_null)),
        )
            .prop_map(|(containers, init, extra)| {
                object(vec![
                    ("containers", containers),
                    ("initContainers", init),
                    ("a", extra),
                ])
            });
        (
            prop::option::weighted(0.9, metadata),
            prop::option::weighted(0.9, spec),
            prop::option::of(arb_misc(with_null)),
        )
            .prop_map(|(metadata, spec, extra)| {
                object(vec![("metadata", metadata), ("spec", spec), ("b", extra)])
            })
            .boxed()
    }

    /// Anything, with directive keys sprinkled in, for the no-panic property.
    fn arb_wild() -> BoxedStrategy<Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-2i64..3).prop_map(Value::from),
            Just(json!(1.5)),
            prop::sample::select(vec!["delete", "replace", "merge", "x", "name", "a"])
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "$patch",
                        "$retainKeys",
                        "$setElementOrder/containers",
                        "$deleteFromPrimitiveList/finalizers",
                        "$setElementOrder/finalizers",
                        "$deleteFromPrimitiveList/containers",
                        "$setElementOrder",
                        "$deleteFromPrimitiveList/",
                        "containers",
                        "finalizers",
                        "env",
                        "ports",
                        "name",
                        "containerPort",
                        "metadata",
                        "spec",
                        "a",
                    ])
                    .prop_map(String::from),
                    inner,
                    0..5,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
    }

    fn root_field(meta: PatchMeta) -> FieldMeta {
        FieldMeta {
            strategy: Strategy::Default,
            retain_keys: false,
            meta,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn three_way_contract(
            original in prop::option::of(arb_pod(true, true)),
            modified in arb_pod(false, true),
            current in arb_pod(true, false),
        ) {
            let patch = three_way(original.as_ref(), &modified, &current, pod())
                .map_err(|e| TestCaseError::fail(format!("three_way: {e}")))?;
            let result = apply(&current, &patch, pod())
                .map_err(|e| TestCaseError::fail(format!("apply: {e}\npatch: {patch}")))?;
            check_contract(&result, original.as_ref(), &modified, Some(&current), root_field(pod()), "")
                .map_err(|e| TestCaseError::fail(format!("{e}\npatch: {patch}\nresult: {result}")))?;
            // Applying the same patch again changes nothing more.
            prop_assert_eq!(apply(&result, &patch, pod()).map_err(|e| TestCaseError::fail(e.to_string()))?, result);
        }

        #[test]
        fn two_way_round_trips(original in arb_pod(false, true), modified in arb_pod(false, true)) {
            let patch = two_way(&original, &modified, pod()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut result = apply(&original, &patch, pod())
                .map_err(|e| TestCaseError::fail(format!("apply: {e}\npatch: {patch}")))?;
            // Go compares a primitive list with the *sorted* original, so a
            // reordering into sorted order is not sent: compare finalizers as sets.
            let mut modified = modified;
            for doc in [&mut result, &mut modified] {
                if let Some(Value::Array(f)) = doc.pointer_mut("/metadata/finalizers") {
                    f.sort_by_cached_key(go_fmt);
                }
            }
            prop_assert_eq!(result, modified, "patch: {}", patch);
        }

        #[test]
        fn never_panics(a in arb_wild(), b in arb_wild(), c in arb_wild()) {
            for meta in [pod(), PatchMeta::UNTYPED, PatchMeta::new(&MERGE_ITEM)] {
                let _ = apply(&a, &b, meta);
                let _ = two_way(&a, &b, meta);
                if let Ok(patch) = three_way(Some(&a), &b, &c, meta) {
                    let _ = apply(&c, &patch, meta);
                }
                if a.is_object() {
                    prop_assert_eq!(apply(&a, &json!({}), meta).ok(), Some(a.clone()));
                }
            }
        }
    }
}
