//! What the real server does to the built-in kinds on every write, beyond their metadata: the
//! conversion and defaulting clients count on ([`normalize`]) and the checks they expect to see
//! as 422s ([`causes`]).

use crate::error::Cause;
use crate::resource::ResourceType;
use serde_json::Value;

/// Runs before validation, as the real server converts and defaults before it validates.
/// - Secret: `stringData` is write-only: each entry replaces the same key of `data` (base64) and
///   the field is dropped; an empty `type` becomes `Opaque`.
pub fn normalize(rt: &ResourceType, obj: &mut Value) {
    if let ("", "Secret") = (rt.group.as_str(), rt.kind.as_str()) {
        apimachinery::conversion::secret_string_data_into_data(obj);
        let Some(secret) = obj.as_object_mut() else { return };
        if secret.get("type").and_then(Value::as_str).is_none_or(str::is_empty) {
            secret.insert("type".into(), Value::String("Opaque".into()));
        }
    }
}

/// Built-in kinds: the few structural checks clients rely on seeing as 422s.
pub fn causes(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let containers_at = |path: &str, list: &Value, causes: &mut Vec<Cause>| match list.as_array() {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                if c["name"].as_str().is_none_or(str::is_empty) {
                    causes.push(Cause::new("FieldValueRequired", format!("{path}[{i}].name"), "Required value"));
                }
                if c["image"].as_str().is_none_or(str::is_empty) {
                    causes.push(Cause::new("FieldValueRequired", format!("{path}[{i}].image"), "Required value"));
                }
            }
        }
        _ => causes.push(Cause::new("FieldValueRequired", path.to_string(), "Required value")),
    };
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "ConfigMap") | ("", "Secret") => {
            for field in ["data", "binaryData", "stringData"] {
                if let Some(d) = obj.get(field).filter(|d| !d.is_null()) {
                    match d.as_object() {
                        Some(m) => {
                            for (k, v) in m {
                                if !v.is_string() {
                                    causes.push(Cause::new("FieldValueTypeInvalid", format!("{field}.{k}"), "Invalid value: must be a string"));
                                }
                            }
                        }
                        None => causes.push(Cause::new("FieldValueTypeInvalid", field, "Invalid value: must be a map of strings")),
                    }
                }
            }
        }
        ("", "Pod") => containers_at("spec.containers", &obj["spec"]["containers"], &mut causes),
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            if !obj["spec"]["selector"].is_object() {
                causes.push(Cause::new("FieldValueRequired", "spec.selector", "Required value"));
            }
            containers_at("spec.template.spec.containers", &obj["spec"]["template"]["spec"]["containers"], &mut causes);
            if let Some(r) = obj["spec"].get("replicas").filter(|r| !r.is_null()) {
                if r.as_i64().is_none_or(|n| n < 0) {
                    causes.push(Cause::new("FieldValueInvalid", "spec.replicas", format!("Invalid value: {r}: must be greater than or equal to 0")));
                }
            }
        }
        _ => {}
    }
    causes
}
