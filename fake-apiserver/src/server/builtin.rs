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

/// The built-in kinds' own validation rules, worded as the real server words them. `old` is the
/// stored object on an update.
pub fn causes(rt: &ResourceType, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let c = &mut causes;
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "ConfigMap") => {
            config_data(obj, &["data", "binaryData"], c);
            immutable_data(obj, old, &["data", "binaryData"], c);
        }
        ("", "Secret") => {
            config_data(obj, &["data", "stringData"], c);
            immutable_data(obj, old, &["data"], c);
            if let Some(old) = old {
                if old["type"] != obj["type"] {
                    c.push(Cause::new("FieldValueInvalid", "type", format!("Invalid value: {}: field is immutable", obj["type"])));
                }
            }
        }
        ("", "Pod") => pod_spec("spec", &obj["spec"], c),
        ("", "Service") => service_ports(&obj["spec"]["ports"], c),
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            if !obj["spec"]["selector"].is_object() {
                c.push(Cause::new("FieldValueRequired", "spec.selector", "Required value"));
            }
            pod_spec("spec.template.spec", &obj["spec"]["template"]["spec"], c);
            if let Some(r) = obj["spec"].get("replicas").filter(|r| !r.is_null()) {
                if r.as_i64().is_none_or(|n| n < 0) {
                    c.push(Cause::new("FieldValueInvalid", "spec.replicas", format!("Invalid value: {r}: must be greater than or equal to 0")));
                }
            }
        }
        ("batch", "Job") => pod_spec("spec.template.spec", &obj["spec"]["template"]["spec"], c),
        ("batch", "CronJob") => pod_spec("spec.jobTemplate.spec.template.spec", &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"], c),
        _ => {}
    }
    causes
}

const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";

/// ConfigMap and Secret maps: string values, keys as `IsConfigMapKey` allows, no key in two maps.
fn config_data(obj: &Value, fields: &[&str], c: &mut Vec<Cause>) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for field in fields {
        let Some(d) = obj.get(*field).filter(|d| !d.is_null()) else { continue };
        let Some(m) = d.as_object() else {
            c.push(Cause::new("FieldValueTypeInvalid", *field, "Invalid value: must be a map of strings"));
            continue;
        };
        for (k, v) in m {
            let path = format!("{field}[{k}]");
            if !v.is_string() {
                c.push(Cause::new("FieldValueTypeInvalid", path.clone(), "Invalid value: must be a string"));
            }
            let why = if k.is_empty() || k.len() > 253 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
                Some(if k.len() > 253 { "must be no more than 253 characters".to_string() } else { CONFIG_KEY_MSG.to_string() })
            } else if k == "." || k == ".." {
                Some(format!("must not be '{k}'"))
            } else {
                None
            };
            if let Some(why) = why {
                c.push(Cause::new("FieldValueInvalid", path.clone(), format!("Invalid value: {k:?}: {why}")));
            }
            // A Secret's stringData has been written into data by now; ConfigMaps keep both maps.
            if let Some((other, _)) = seen.iter().find(|(_, key)| key == k) {
                c.push(Cause::new("FieldValueInvalid", path, format!("Invalid value: {k:?}: duplicate of key present in {other}")));
            }
        }
        seen.extend(m.keys().map(|k| (*field, k.as_str())));
    }
}

/// Once `immutable: true` is stored, neither the data nor the flag may change.
fn immutable_data(obj: &Value, old: Option<&Value>, fields: &[&str], c: &mut Vec<Cause>) {
    let Some(old) = old.filter(|o| o["immutable"] == true) else { return };
    const WHY: &str = "Forbidden: field is immutable when `immutable` is set";
    for field in fields {
        let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(|m| m.is_empty());
        if old[*field] != obj[*field] && !(empty(&old[*field]) && empty(&obj[*field])) {
            c.push(Cause::new("FieldValueForbidden", *field, WHY));
        }
    }
    if obj["immutable"] != true {
        c.push(Cause::new("FieldValueForbidden", "immutable", WHY));
    }
}

/// Containers: present, named (RFC 1123 labels, unique), with images and valid ports.
fn pod_spec(path: &str, spec: &Value, c: &mut Vec<Cause>) {
    let containers_path = format!("{path}.containers");
    let containers = spec["containers"].as_array().filter(|cs| !cs.is_empty());
    let Some(containers) = containers else {
        c.push(Cause::new("FieldValueRequired", containers_path, "Required value"));
        return;
    };
    let init = spec["initContainers"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut names: Vec<&str> = Vec::new();
    for (list_path, list) in [(format!("{path}.initContainers"), init), (containers_path, containers.as_slice())] {
        for (i, container) in list.iter().enumerate() {
            let at = format!("{list_path}[{i}]");
            match container["name"].as_str().filter(|n| !n.is_empty()) {
                None => c.push(Cause::new("FieldValueRequired", format!("{at}.name"), "Required value")),
                Some(name) if !super::metadata::is_dns1123_label(name) => {
                    c.push(Cause::new("FieldValueInvalid", format!("{at}.name"), format!("Invalid value: {name:?}: {}", super::metadata::DNS1123_LABEL_MSG)))
                }
                Some(name) if names.contains(&name) => c.push(Cause::new("FieldValueDuplicate", format!("{at}.name"), format!("Duplicate value: {name:?}"))),
                Some(name) => names.push(name),
            }
            if container["image"].as_str().is_none_or(str::is_empty) {
                c.push(Cause::new("FieldValueRequired", format!("{at}.image"), "Required value"));
            }
            for (p, port) in container["ports"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
                let n = port["containerPort"].as_i64().unwrap_or(0);
                if !(1..=65535).contains(&n) {
                    c.push(Cause::new("FieldValueInvalid", format!("{at}.ports[{p}].containerPort"), format!("Invalid value: {n}: {PORT_RANGE_MSG}")));
                }
            }
        }
    }
}

/// Service ports: in range, a known protocol, named (uniquely, as RFC 1123 labels) when several.
fn service_ports(ports: &Value, c: &mut Vec<Cause>) {
    let ports = ports.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        match port["name"].as_str().filter(|n| !n.is_empty()) {
            None if ports.len() > 1 => c.push(Cause::new("FieldValueRequired", format!("{at}.name"), "Required value")),
            None => {}
            Some(name) if !super::metadata::is_dns1123_label(name) => {
                c.push(Cause::new("FieldValueInvalid", format!("{at}.name"), format!("Invalid value: {name:?}: {}", super::metadata::DNS1123_LABEL_MSG)))
            }
            Some(name) if names.contains(&name) => c.push(Cause::new("FieldValueDuplicate", format!("{at}.name"), format!("Duplicate value: {name:?}"))),
            Some(name) => names.push(name),
        }
        let n = port["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&n) {
            c.push(Cause::new("FieldValueInvalid", format!("{at}.port"), format!("Invalid value: {n}: {PORT_RANGE_MSG}")));
        }
        if let Some(target) = port["targetPort"].as_i64() {
            if !(1..=65535).contains(&target) {
                c.push(Cause::new("FieldValueInvalid", format!("{at}.targetPort"), format!("Invalid value: {target}: {PORT_RANGE_MSG}")));
            }
        }
        if let Some(protocol) = port["protocol"].as_str().filter(|p| !matches!(*p, "TCP" | "UDP" | "SCTP")) {
            c.push(Cause::new("FieldValueNotSupported", format!("{at}.protocol"), format!("Unsupported value: {protocol:?}: supported values: \"SCTP\", \"TCP\", \"UDP\"")));
        }
    }
}
