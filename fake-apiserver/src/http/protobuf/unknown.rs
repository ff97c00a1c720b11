//! Fields a built-in kind does not have. The real server decodes a body into its Go type, so a
//! field the type lacks is dropped (and, with `fieldValidation=Strict`, refused); the type's
//! fields are its protobuf message's, which is what this walks.

use super::special::{is_inline, json_key, special};
use super::Codec;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

impl Codec {
    /// Removes from `obj` (an object of `kind`) every field its type lacks, returning their paths
    /// (`spec.replicaCount`, `spec.template.spec.containers[0].imagePolicy`) in document order.
    /// Objects of kinds without a message (custom resources) are left alone.
    pub fn prune_unknown(&self, api_version: &str, kind: &str, obj: &mut Value) -> Vec<String> {
        let Some(desc) = self.message_for(api_version, kind) else { return Vec::new() };
        let mut unknown = Vec::new();
        if let Some(map) = obj.as_object_mut() {
            map.retain(|key, value| {
                if key == "apiVersion" || key == "kind" {
                    return true;
                }
                prune_field(&desc, key, value, key, &mut unknown)
            });
        }
        unknown
    }
}

/// Whether `key` is a field of `desc` (pruning inside it if so); records it as unknown if not.
fn prune_field(desc: &MessageDescriptor, key: &str, value: &mut Value, path: &str, unknown: &mut Vec<String>) -> bool {
    match field_for(desc, key) {
        Some(field) => {
            prune_value(&field, value, path, unknown);
            true
        }
        None => {
            unknown.push(path.to_string());
            false
        }
    }
}

/// The field a JSON key names, looking through inline (embedded) structs too.
fn field_for(desc: &MessageDescriptor, key: &str) -> Option<FieldDescriptor> {
    desc.fields().find_map(|f| {
        if is_inline(desc.full_name(), f.name()) {
            match f.kind() {
                Kind::Message(inner) => field_for(&inner, key),
                _ => None,
            }
        } else {
            (json_key(desc.full_name(), f.name()) == key).then_some(f)
        }
    })
}

fn prune_value(field: &FieldDescriptor, value: &mut Value, path: &str, unknown: &mut Vec<String>) {
    let Kind::Message(message) = field.kind() else { return };
    if field.is_map() {
        let value_field = message.map_entry_value_field();
        if let Some(entries) = value.as_object_mut() {
            for (k, v) in entries.iter_mut() {
                prune_value(&value_field, v, &format!("{path}[{k}]"), unknown);
            }
        }
        return;
    }
    if special(message.full_name()).is_some() {
        return;
    }
    match value {
        Value::Array(items) if field.is_list() => {
            for (i, item) in items.iter_mut().enumerate() {
                prune_object(&message, item, &format!("{path}[{i}]"), unknown);
            }
        }
        item => prune_object(&message, item, path, unknown),
    }
}

fn prune_object(desc: &MessageDescriptor, value: &mut Value, path: &str, unknown: &mut Vec<String>) {
    if let Some(map) = value.as_object_mut() {
        map.retain(|key, value| prune_field(desc, key, value, &format!("{path}.{key}"), unknown));
    }
}
