//! Applying a patch (`mergeMap` and friends): what the server does with a strategic merge
//! patch body, and how `CreateThreeWayMergePatch` combines its deletions and delta.

use serde_json::Value;

use super::path::Path;
use super::values::{
    contains_directive_marker, extract_key, go_dedup, index, is_delete_item, kind, kind_name, merge_key_value_equal,
    missing_merge_key, not_an_object, slice_element_kind, Kind,
};
use super::{
    ErrorKind, FieldMeta, JsonMap, PatchMeta, Result, Strategy, DELETE_DIRECTIVE, DELETE_FROM_PRIMITIVE_LIST_PREFIX,
    DIRECTIVE_MARKER, MERGE_DIRECTIVE, REPLACE_DIRECTIVE, RETAIN_KEYS_DIRECTIVE, SET_ELEMENT_ORDER_PREFIX,
};

#[derive(Clone, Copy)]
pub(super) struct MergeOptions {
    /// Server-side application (`$deleteFromPrimitiveList` and
    /// `$setElementOrder` are executed) as opposed to combining two patches.
    merge_parallel_list: bool,
    /// Drop `null`s that match nothing instead of keeping them.
    ignore_unmatched_nulls: bool,
}

/// `StrategicMergeMapPatch`.
pub(super) const APPLY: MergeOptions = MergeOptions {
    merge_parallel_list: true,
    ignore_unmatched_nulls: true,
};
/// Merging the deletions and delta patches inside `CreateThreeWayMergePatch`.
pub(super) const COMBINE: MergeOptions = MergeOptions {
    merge_parallel_list: false,
    ignore_unmatched_nulls: false,
};

/// `mergeMap`: merges `patch` into `original`.
pub(super) fn merge_map(
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
pub(super) fn fresh(v: Value, field: FieldMeta, path: &Path) -> Result<Value> {
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
pub(super) fn apply_retain_keys_directive(
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
pub(super) fn merge_patch_into_original(
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
pub(super) fn validate_patch_with_set_order_list(
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
pub(super) fn partition_primitives(items: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    items.into_iter().partition(|v| by.contains(v))
}

/// `partitionMapsByPresentInList`.
pub(super) fn partition_maps(
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
pub(super) fn merge_slice_handler(
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
pub(super) fn merge_slice(
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
pub(super) fn merge_slice_aliased(
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
pub(super) struct SpecialElements {
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
pub(super) fn merge_slice_with_special_elements(
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
pub(super) fn merge_slice_without_special_elements(
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
pub(super) fn normalize_element_order(
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
pub(super) fn normalize_slice_order(
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
pub(super) fn merge_sorted_slice(
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
