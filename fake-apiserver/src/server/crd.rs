//! CustomResourceDefinitions: checked like the apiextensions server, accepted at once
//! (Established), and registered so their resources are served immediately.

use super::ApiServer;
use crate::error::Cause;
use crate::object;
use crate::resource::{from_crd, ResourceType};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

impl ApiServer {
    /// What makes a CRD unusable, as 422 causes.
    pub(super) fn crd_causes(crd: &Value, _old: Option<&Value>) -> Vec<Cause> {
        let mut causes = Vec::new();
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or("");
        let plural = spec["names"]["plural"].as_str().unwrap_or("");
        if group.is_empty() {
            causes.push(Cause::new("FieldValueRequired", "spec.group", "Required value"));
        } else if !group.contains('.') {
            causes.push(Cause::new("FieldValueInvalid", "spec.group", format!("Invalid value: \"{group}\": should be a domain with at least one dot")));
        }
        if plural.is_empty() {
            causes.push(Cause::new("FieldValueRequired", "spec.names.plural", "Required value"));
        }
        if spec["names"]["kind"].as_str().unwrap_or("").is_empty() {
            causes.push(Cause::new("FieldValueRequired", "spec.names.kind", "Required value"));
        }
        let expected = format!("{plural}.{group}");
        if !group.is_empty() && !plural.is_empty() && object::name(crd) != expected {
            causes.push(Cause::new("FieldValueInvalid", "metadata.name", format!("Invalid value: \"{}\": must be spec.names.plural+\".\"+spec.group", object::name(crd))));
        }
        match spec["scope"].as_str() {
            Some("Namespaced") | Some("Cluster") => {}
            Some(other) => causes.push(Cause::new("FieldValueNotSupported", "spec.scope", format!("Unsupported value: \"{other}\": supported values: \"Cluster\", \"Namespaced\""))),
            None => causes.push(Cause::new("FieldValueRequired", "spec.scope", "Required value")),
        }
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        if versions.is_empty() {
            causes.push(Cause::new("FieldValueRequired", "spec.versions", "Required value: must have exactly one version marked as storage version"));
        } else if versions.iter().filter(|v| v["storage"].as_bool() == Some(true)).count() != 1 {
            causes.push(Cause::new("FieldValueInvalid", "spec.versions", "Invalid value: must have exactly one version marked as storage version"));
        }
        for (i, v) in versions.iter().enumerate() {
            if v["name"].as_str().unwrap_or("").is_empty() {
                causes.push(Cause::new("FieldValueRequired", format!("spec.versions[{i}].name"), "Required value"));
            }
            let schema = &v["schema"]["openAPIV3Schema"];
            if schema.is_object() {
                structural_causes(schema, &format!("spec.versions[{i}].schema.openAPIV3Schema"), &mut causes);
            } else {
                causes.push(Cause::new("FieldValueRequired", format!("spec.versions[{i}].schema.openAPIV3Schema"), "Required value: schemas are required"));
            }
        }
        causes
    }

    /// The status the apiextensions controllers would write: names accepted, established.
    pub(super) fn accept_crd(crd: &mut Value) {
        let storage = crd["spec"]["versions"].as_array().into_iter().flatten().find(|v| v["storage"].as_bool() == Some(true)).and_then(|v| v["name"].as_str()).unwrap_or("").to_string();
        let names = crd["spec"]["names"].clone();
        let mut accepted = names.clone();
        if accepted.get("singular").is_none_or(Value::is_null) {
            accepted["singular"] = json!(names["kind"].as_str().unwrap_or("").to_lowercase());
        }
        if accepted.get("listKind").is_none_or(Value::is_null) {
            accepted["listKind"] = json!(format!("{}List", names["kind"].as_str().unwrap_or("")));
        }
        let since = object::meta_str(crd, "creationTimestamp").unwrap_or("").to_string();
        crd["status"] = json!({
            "acceptedNames": accepted,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": since},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": since},
            ],
            "storedVersions": [storage],
        });
    }

    /// (Re)registers the CRD's served versions.
    pub(super) fn register_crd(&mut self, crd: &Value) {
        if object::is_deleting(crd) {
            return;
        }
        self.registry.remove_crd(object::name(crd));
        for t in compiled_types(crd) {
            self.registry.insert(t);
        }
    }
}

/// The structural-schema rules a schema must keep to be registered: every specified node has a
/// known `type` (unless it is int-or-string or keeps unknown fields), and arrays say what their
/// items are.
fn structural_causes(schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];
    let flag = |name: &str| schema[name].as_bool() == Some(true);
    match schema["type"].as_str() {
        None | Some("") if !flag("x-kubernetes-int-or-string") && !flag("x-kubernetes-preserve-unknown-fields") => {
            causes.push(Cause::new("FieldValueRequired", format!("{path}.type"), "Required value: must not be empty for specified object fields"))
        }
        Some(t) if !t.is_empty() && !TYPES.contains(&t) => causes.push(Cause::new(
            "FieldValueNotSupported",
            format!("{path}.type"),
            format!("Unsupported value: {t:?}: supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\""),
        )),
        Some("array") if !schema["items"].is_object() => causes.push(Cause::new("FieldValueRequired", format!("{path}.items"), "Required value: must be specified")),
        _ => {}
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            structural_causes(property, &format!("{path}.properties[{name}]"), causes);
        }
    }
    if schema["items"].is_object() {
        structural_causes(&schema["items"], &format!("{path}.items"), causes);
    }
    if schema["additionalProperties"].is_object() {
        structural_causes(&schema["additionalProperties"], &format!("{path}.additionalProperties"), causes);
    }
}

/// Distinct CRDs the process remembers; beyond this the cache starts over, so a server fed
/// ever-new definitions does not grow without bound.
const COMPILED_LIMIT: usize = 64;

/// The types a CRD defines, built once per process for each distinct definition: a simulation
/// builds thousands of servers that all install the same CRDs, and building a type copies and
/// prepares its schema. Keyed by the CRD's name and spec (all that `from_crd` reads), compared
/// in full, so a changed definition is built afresh.
fn compiled_types(crd: &Value) -> Vec<Arc<ResourceType>> {
    type Compiled = Vec<((String, Value), Vec<Arc<ResourceType>>)>;
    static COMPILED: Mutex<Compiled> = Mutex::new(Vec::new());
    let (name, spec) = (object::name(crd), &crd["spec"]);
    let mut compiled = COMPILED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, types)) = compiled.iter().find(|((n, s), _)| n == name && s == spec) {
        return types.clone();
    }
    if compiled.len() >= COMPILED_LIMIT {
        compiled.clear();
    }
    let types: Vec<Arc<ResourceType>> = from_crd(crd).into_iter().map(Arc::new).collect();
    compiled.push(((name.to_string(), spec.clone()), types.clone()));
    types
}
