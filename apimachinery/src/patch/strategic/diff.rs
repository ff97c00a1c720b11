//! Creating patches (`diffMaps` and friends): the two- and three-way patches kubectl sends.

use serde_json::Value;

use super::merge::normalize_slice_order;
use super::path::Path;
use super::values::{
    go_dedup, go_fmt, kind, merge_key_value_equal, missing_merge_key, not_an_object, slice_element_kind, sort_scalars,
    Kind,
};
use super::{
    ErrorKind, JsonMap, PatchMeta, Result, Strategy, DELETE_DIRECTIVE, DELETE_FROM_PRIMITIVE_LIST_PREFIX,
    DIRECTIVE_MARKER, RETAIN_KEYS_DIRECTIVE, SET_ELEMENT_ORDER_PREFIX,
};

#[derive(Clone, Copy, Default)]
pub(super) struct DiffOptions {
    /// Emit `$setElementOrder` lists.
    pub(super) set_element_order: bool,
    pub(super) ignore_changes_and_additions: bool,
    pub(super) ignore_deletions: bool,
    /// The map being diffed has the `retainKeys` strategy.
    pub(super) build_retain_keys_directive: bool,
}

/// `diffMaps`: a patch turning `original` into `modified`.
pub(super) fn diff_maps(
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
pub(super) fn handle_map_diff(
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
pub(super) fn handle_slice_diff(
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
pub(super) fn replace_patch_field_if_not_equal(
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
pub(super) fn has_additional_new_field(original: &JsonMap, modified: &JsonMap) -> bool {
    original
        .iter()
        .any(|(k, v)| !v.is_null() && !modified.contains_key(k))
}

/// `diffLists`: (patch list, primitive deletion list, `$setElementOrder` list).
pub(super) fn diff_lists(
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
pub(super) fn is_order_same(original: &[Value], modified: &[Value], key: &str, path: &Path) -> Result<bool> {
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
pub(super) fn diff_lists_of_scalars(
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
pub(super) fn diff_lists_of_maps(
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
