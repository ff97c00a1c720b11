//! A list's answer: a `<Kind>List` whose items are the stored objects themselves, shared rather
//! than copied, so a list of thousands costs a reference count per item until it is written
//! out. Each item goes out with the apiVersion and kind the request named, as `present` gives
//! single objects.

use crate::frozen::Frozen;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct List {
    /// The items' (and the list's) `apiVersion`.
    pub api_version: String,
    /// The items' kind; the list's is `<kind>List`.
    pub kind: String,
    /// `resourceVersion`, and `continue` / `remainingItemCount` when a limit cut it short.
    pub metadata: Value,
    pub items: Vec<Arc<Frozen>>,
    /// The items thaw without `metadata.managedFields` ([`super::ListOptions::without_managed_fields`]:
    /// in-process readers only; serializing writes them whole).
    pub without_managed_fields: bool,
}

impl List {
    /// The list as a `Value`, items thawed (for encoders that work on values).
    pub fn into_value(self) -> Value {
        let items = self.item_values().collect();
        // Built by hand: `json!` would serialize `items` into a second deep copy.
        let mut list = serde_json::Map::new();
        list.insert("apiVersion".into(), Value::String(self.api_version));
        list.insert("kind".into(), Value::String(format!("{}List", self.kind)));
        list.insert("metadata".into(), self.metadata);
        list.insert("items".into(), Value::Array(items));
        Value::Object(list)
    }

    /// The items thawed and presented, in list order.
    pub fn item_values(&self) -> impl Iterator<Item = Value> + '_ {
        let thaw = if self.without_managed_fields { Frozen::to_value_without_managed_fields } else { Frozen::to_value };
        self.items.iter().map(move |o| stamp(thaw(o), &self.api_version, &self.kind))
    }
}

/// `value` with the apiVersion and kind a client asked for (as every read answers).
pub(super) fn stamp(mut value: Value, api_version: &str, kind: &str) -> Value {
    value["apiVersion"] = Value::String(api_version.to_string());
    value["kind"] = Value::String(kind.to_string());
    value
}

impl Serialize for List {
    /// The bytes `into_value` would serialize to (members in key order), written straight from
    /// the shared items.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("apiVersion", &self.api_version)?;
        map.serialize_entry("items", &Items(self))?;
        map.serialize_entry("kind", &format!("{}List", self.kind))?;
        map.serialize_entry("metadata", &self.metadata)?;
        map.end()
    }
}

struct Items<'a>(&'a List);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let list = self.0;
        let mut seq = serializer.serialize_seq(Some(list.items.len()))?;
        for object in &list.items {
            seq.serialize_element(&Presented { object, api_version: &list.api_version, kind: &list.kind })?;
        }
        seq.end()
    }
}

/// A stored object written with `apiVersion` and `kind` replaced, in key order.
struct Presented<'a> {
    object: &'a Frozen,
    api_version: &'a str,
    kind: &'a str,
}

impl Serialize for Presented<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Frozen::Object(entries) = self.object else { return self.object.serialize(serializer) };
        let replaced = |k: &str| k == "apiVersion" || k == "kind";
        let mut map = serializer.serialize_map(None)?;
        let mut pending = [("apiVersion", self.api_version), ("kind", self.kind)].into_iter().peekable();
        for (k, v) in entries.iter() {
            while let Some((name, value)) = pending.next_if(|(name, _)| *name <= &**k) {
                map.serialize_entry(name, value)?;
            }
            if !replaced(k) {
                map.serialize_entry(&**k, v)?;
            }
        }
        for (name, value) in pending {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializing_writes_what_the_value_holds() {
        let objects = [
            json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
            json!({"apiVersion": "old/v0", "kind": "Old", "metadata": {"name": "b"}, "spec": {}}),
            json!({"aaa": 1, "apiVersionX": 2, "kind": "x", "zzz": null}),
        ];
        let list = List {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            metadata: json!({"resourceVersion": "7"}),
            items: objects.iter().map(|o| Arc::new(Frozen::from(o))).collect(),
            without_managed_fields: false,
        };
        let value = list.clone().into_value();
        assert_eq!(value["kind"], "WidgetList");
        assert_eq!(value["items"][1]["apiVersion"], "example.com/v1");
        assert_eq!(value["items"][2]["kind"], "Widget");
        assert_eq!(serde_json::to_string(&list).unwrap(), serde_json::to_string(&value).unwrap());
    }
}
