//! Small accessors over unstructured objects (`serde_json::Value`), so the rules in `server`
//! read like the Kubernetes code they mirror.

use apimachinery::view::JsonView;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// The `metadata` map, created if absent (a body without metadata is still an object).
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Map::new());
    }
    obj["metadata"].as_object_mut().expect("metadata was just made an object")
}

pub fn meta_str<'a>(obj: &'a impl JsonView, field: &str) -> Option<&'a str> {
    obj.path(["metadata", field]).and_then(JsonView::text)
}

pub fn name(obj: &impl JsonView) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &impl JsonView) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

pub fn uid(obj: &impl JsonView) -> &str {
    meta_str(obj, "uid").unwrap_or("")
}

pub fn resource_version(obj: &impl JsonView) -> &str {
    meta_str(obj, "resourceVersion").unwrap_or("")
}

pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    meta_mut(obj).insert(field.to_string(), value);
}

pub fn remove_meta(obj: &mut Value, field: &str) -> Option<Value> {
    meta_mut(obj).remove(field)
}

pub fn string_map(obj: &Value, field: &str) -> BTreeMap<String, String> {
    meta(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    string_map(obj, "labels")
}

pub fn finalizers(obj: &impl JsonView) -> Vec<String> {
    let listed = obj.path(["metadata", "finalizers"]);
    listed.map(JsonView::elements).unwrap_or_default().iter().filter_map(|v| v.text().map(str::to_string)).collect()
}

pub fn set_finalizers(obj: &mut Value, finalizers: Vec<String>) {
    if finalizers.is_empty() {
        remove_meta(obj, "finalizers");
    } else {
        set_meta(obj, "finalizers", Value::from(finalizers));
    }
}

pub fn is_deleting(obj: &impl JsonView) -> bool {
    obj.path(["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null())
}

pub fn generation(obj: &Value) -> i64 {
    meta(obj).and_then(|m| m.get("generation")).and_then(Value::as_i64).unwrap_or(0)
}

/// `metadata.ownerReferences` as `(apiVersion, kind, name, uid, blockOwnerDeletion)`, borrowed
/// from the object: the garbage collector reads every owned object's references on each pass.
pub fn owner_references<V: JsonView>(obj: &V) -> impl Iterator<Item = OwnerRef<'_>> {
    let refs = obj.path(["metadata", "ownerReferences"]).map(JsonView::elements).unwrap_or_default();
    fn text<'a, V: JsonView>(r: &'a V, field: &str) -> &'a str {
        r.field(field).and_then(JsonView::text).unwrap_or("")
    }
    refs.iter().map(move |r| OwnerRef {
        api_version: text(r, "apiVersion"),
        kind: text(r, "kind"),
        name: text(r, "name"),
        uid: text(r, "uid"),
        block_owner_deletion: r.field("blockOwnerDeletion").and_then(JsonView::boolean).unwrap_or(false),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub block_owner_deletion: bool,
}

/// Splits `group/version` (or `v1`) into `(group, version)`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Whether two maps are equal apart from the keys in `ignored`, compared in place (writes
/// compare whole objects, and copying them to drop a field first was most of the cost).
pub fn maps_equal_except(a: &Map<String, Value>, b: &Map<String, Value>, ignored: &[&str]) -> bool {
    let kept = |m: &Map<String, Value>| m.keys().filter(|k| !ignored.contains(&k.as_str())).count();
    kept(a) == kept(b) && a.iter().filter(|(k, _)| !ignored.contains(&k.as_str())).all(|(k, v)| b.get(k) == Some(v))
}

/// Whether two objects are equal apart from the top-level fields in `ignored` (e.g. everything
/// but `metadata` and `status`: what a generation bump looks at). Non-objects compare whole.
pub fn equal_except(a: &Value, b: &Value, ignored: &[&str]) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => maps_equal_except(x, y, ignored),
        _ => a == b,
    }
}
