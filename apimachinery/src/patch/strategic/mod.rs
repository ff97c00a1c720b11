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
//!
//! Layout: the entry points and errors are here; `merge` applies a patch (`mergeMap`), `diff`
//! creates one (`diffMaps`), `values` mirrors Go's dynamic types and `path` names the place
//! of an error.

use serde_json::{Map, Value};

use super::merge_keys::{FieldMeta, PatchMeta, Strategy};

mod diff;
mod merge;
mod path;
mod values;

#[cfg(test)]
mod tests;

use diff::{diff_maps, DiffOptions};
use merge::{merge_map, APPLY, COMBINE};
use path::Path;
use values::{kind, kind_name};

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
