//! Pruning (`structural/pruning` and `PruneNonNullableNullsWithoutDefaults`): fields the
//! schema does not know are removed and reported; non-nullable nulls without a default go.

use serde_json::{Map, Value};

use super::defaulting::has_default;
use super::embedded::META_FIELDS;
use super::{flag, items, props, schema_map, MAX_DEPTH};

/// Removes fields the schema does not know, as the server does when decoding a custom
/// resource: everything under `x-kubernetes-preserve-unknown-fields: true` is kept, and the
/// root's (and embedded resources') `apiVersion`, `kind` and `metadata` are never touched.
/// Returns the removed paths sorted (`spec.foo`, `spec.items[0].bar`), which the server
/// reports as `unknown field "spec.foo"`. Then, like the server, drops `null` values of
/// non-nullable properties that have no default (those are not reported).
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut removed = Vec::new();
    // The server prunes the root against an empty schema when there is none, still sparing
    // apiVersion/kind/metadata.
    let empty = Map::new();
    prune_node(Some(schema_map(schema).unwrap_or(&empty)), obj, "", true, &mut removed, 0);
    prune_non_nullable_nulls(schema, obj);
    removed.sort();
    removed
}

/// `PruneNonNullableNullsWithoutDefaults`: deletes `"x": null` where the schema of `x` is not
/// nullable and has no default (array items are left alone).
pub fn prune_non_nullable_nulls(schema: &Value, obj: &mut Value) {
    prune_nulls(schema_map(schema), obj, 0);
}

fn key_path(parent: &str, k: &str) -> String {
    if parent.is_empty() {
        k.to_string()
    } else {
        format!("{parent}.{k}")
    }
}

fn prune_node(s: Option<&Map<String, Value>>, x: &mut Value, parent: &str, root: bool, removed: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(s) = s {
        if flag(s, "x-kubernetes-preserve-unknown-fields") {
            skip_prune(s, x, parent, root, removed, depth);
            return;
        }
    }
    match x {
        Value::Object(obj) => {
            let Some(s) = s else {
                removed.extend(obj.keys().map(|k| key_path(parent, k)));
                obj.clear();
                return;
            };
            let embedded = root || flag(s, "x-kubernetes-embedded-resource");
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let child = key_path(parent, &k);
                if let Some(prop) = props(s).and_then(|p| p.get(&k)) {
                    if let Some(v) = obj.get_mut(&k) {
                        prune_node(schema_map(prop), v, &child, false, removed, depth + 1);
                    }
                } else if let Some(ap) = s.get("additionalProperties") {
                    if let Some(v) = obj.get_mut(&k) {
                        prune_node(schema_map(ap), v, &child, false, removed, depth + 1);
                    }
                } else {
                    if !META_FIELDS.contains(&k.as_str()) || !parent.is_empty() {
                        removed.push(child);
                    }
                    obj.remove(&k);
                }
            }
        }
        Value::Array(list) => {
            let item_schema = s.and_then(items);
            for (i, v) in list.iter_mut().enumerate() {
                prune_node(item_schema, v, &format!("{parent}[{i}]"), false, removed, depth + 1);
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: unknown keys stay, known ones are pruned by
/// their own schemas.
fn skip_prune(s: &Map<String, Value>, x: &mut Value, parent: &str, root: bool, removed: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match x {
        Value::Object(obj) => {
            let embedded = root || flag(s, "x-kubernetes-embedded-resource");
            for (k, v) in obj.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let child = key_path(parent, k);
                if let Some(prop) = props(s).and_then(|p| p.get(k)) {
                    prune_node(schema_map(prop), v, &child, false, removed, depth + 1);
                } else if let Some(ap) = s.get("additionalProperties") {
                    prune_node(schema_map(ap), v, &child, false, removed, depth + 1);
                }
            }
        }
        Value::Array(list) => {
            if let Some(is) = items(s) {
                for (i, v) in list.iter_mut().enumerate() {
                    skip_prune(is, v, &format!("{parent}[{i}]"), false, removed, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn prune_nulls(s: Option<&Map<String, Value>>, x: &mut Value, depth: usize) {
    let Some(s) = s else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match x {
        Value::Object(obj) => {
            let ap = s.get("additionalProperties").and_then(Value::as_object);
            let mut drop = Vec::new();
            for (k, v) in obj.iter_mut() {
                let sub = match props(s).and_then(|p| p.get(k)) {
                    Some(prop) => schema_map(prop),
                    None => ap,
                };
                let Some(sub) = sub else { continue };
                if v.is_null() && !flag(sub, "nullable") && has_default(sub).is_none() {
                    drop.push(k.clone());
                } else {
                    prune_nulls(Some(sub), v, depth + 1);
                }
            }
            for k in drop {
                obj.remove(&k);
            }
        }
        Value::Array(list) => {
            for v in list.iter_mut() {
                prune_nulls(items(s), v, depth + 1);
            }
        }
        _ => {}
    }
}
