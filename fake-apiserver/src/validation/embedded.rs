//! `x-kubernetes-embedded-resource` objects (`schema/objectmeta/validation.go`): their
//! `apiVersion` and `kind` must be present and well-formed, as a resource's are. Their
//! `apiVersion`, `kind` and `metadata` are also what pruning always keeps.

use serde_json::{Map, Value};

use super::validate::bad_value;
use super::{flag, items, props, schema_map, Cause, FPath, MAX_DEPTH};
use apimachinery::gofmt::go_quote;

pub(super) const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

pub(super) fn validate_embedded(s: Option<&Map<String, Value>>, data: &Value, path: &FPath, depth: usize, out: &mut Vec<Cause>) {
    let Some(s) = s else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match data {
        Value::Object(obj) => {
            let embedded = flag(s, "x-kubernetes-embedded-resource");
            if embedded {
                embedded_resource_causes(obj, path, out);
            }
            let mut keys: Vec<&String> = obj.keys().collect();
            keys.sort();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = props(s).and_then(|p| p.get(k.as_str())) {
                    validate_embedded(schema_map(prop), &obj[k.as_str()], &path.child(k), depth + 1, out);
                } else if let Some(ap) = s.get("additionalProperties") {
                    validate_embedded(schema_map(ap), &obj[k.as_str()], &path.key(k), depth + 1, out);
                }
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                validate_embedded(items(s), v, &path.index(i), depth + 1, out);
            }
        }
        _ => {}
    }
}

/// An embedded object must carry a string `apiVersion` (a valid group/version) and `kind`.
fn embedded_resource_causes(obj: &Map<String, Value>, path: &FPath, out: &mut Vec<Cause>) {
    if !obj.contains_key("apiVersion") {
        out.push(Cause::new("FieldValueRequired", path.child("apiVersion").render(), "Required value: must not be empty"));
    }
    if !obj.contains_key("kind") {
        out.push(Cause::new("FieldValueRequired", path.child("kind").render(), "Required value: must not be empty"));
    }
    if let Some(v) = obj.get("apiVersion") {
        let f = path.child("apiVersion").render();
        match v.as_str() {
            None => out.push(Cause::new("FieldValueInvalid", f, format!("Invalid value: {}: must be a string", bad_value(v)))),
            Some("") => out.push(Cause::new("FieldValueInvalid", f, "Invalid value: \"\": must not be empty")),
            Some(av) if av != "/" && av.matches('/').count() > 1 => out.push(Cause::new(
                "FieldValueInvalid",
                f,
                format!("Invalid value: {}: unexpected GroupVersion string: {av}", go_quote(av)),
            )),
            Some(_) => {}
        }
    }
    if let Some(v) = obj.get("kind") {
        let f = path.child("kind").render();
        match v.as_str() {
            None => out.push(Cause::new("FieldValueInvalid", f, format!("Invalid value: {}: must be a string", bad_value(v)))),
            Some("") => out.push(Cause::new("FieldValueInvalid", f, "Invalid value: \"\": must not be empty")),
            Some(kind) => {
                let errs = dns1035_label_errors(&kind.to_lowercase());
                if !errs.is_empty() {
                    out.push(Cause::new(
                        "FieldValueInvalid",
                        f,
                        format!("Invalid value: {}: may have mixed case, but should otherwise match: {}", go_quote(kind), errs.join(",")),
                    ));
                }
            }
        }
    }
}

fn dns1035_label_errors(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !ok {
        errs.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    errs
}
