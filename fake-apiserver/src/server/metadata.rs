//! ObjectMeta validation as `apimachinery/pkg/api/validation/objectmeta.go` does it.

use crate::error::Cause;
use crate::object;
use serde_json::Value;

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
pub(super) const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Name rules: namespaces are DNS labels, everything else we serve is a DNS subdomain
/// (RBAC kinds only need a valid path segment, so `system:controller:x` is allowed there).
fn name_causes(kind: &str, group: &str, name: &str) -> Vec<Cause> {
    let path_segment_only = group == "rbac.authorization.k8s.io";
    let invalid = |msg: &str| vec![Cause::new("FieldValueInvalid", "metadata.name", format!("Invalid value: \"{name}\": {msg}"))];
    if path_segment_only {
        if name == "." || name == ".." || name.contains('/') || name.contains('%') {
            return invalid("may not contain '/' or '%' and may not be '.' or '..'");
        }
        return Vec::new();
    }
    if kind == "Namespace" {
        if !is_dns1123_label(name) {
            return invalid(DNS1123_LABEL_MSG);
        }
    } else if !is_dns1123_subdomain(name) {
        return invalid(DNS1123_SUBDOMAIN_MSG);
    }
    Vec::new()
}

/// A qualified name as label keys, annotation keys and finalizers use: `[prefix/]name`.
fn qualified_name_error(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if !is_dns1123_subdomain(p) {
            return Some(format!("prefix part {DNS1123_SUBDOMAIN_MSG}"));
        }
    }
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if name.is_empty() || name.len() > 63 || !name.bytes().all(ok_char) || !name.as_bytes()[0].is_ascii_alphanumeric() || !name.as_bytes()[name.len() - 1].is_ascii_alphanumeric() {
        return Some("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') and must be no more than 63 characters".to_string());
    }
    None
}

fn label_value_error(value: &str) -> Option<&'static str> {
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 || !value.bytes().all(ok_char) || !value.as_bytes()[0].is_ascii_alphanumeric() || !value.as_bytes()[value.len() - 1].is_ascii_alphanumeric() {
        return Some("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?') and must be no more than 63 characters");
    }
    None
}

/// Every problem with an object's metadata, as 422 causes.
pub fn validate(kind: &str, group: &str, obj: &Value) -> Vec<Cause> {
    let mut causes = name_causes(kind, group, object::name(obj));
    let meta = object::meta(obj);
    for field in ["labels", "annotations"] {
        match meta.and_then(|m| m.get(field)) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let mut total = 0usize;
                for (k, v) in map {
                    if let Some(e) = qualified_name_error(k) {
                        causes.push(Cause::new("FieldValueInvalid", format!("metadata.{field}"), format!("Invalid value: \"{k}\": {e}")));
                    }
                    let Some(v) = v.as_str() else {
                        causes.push(Cause::new("FieldValueTypeInvalid", format!("metadata.{field}.{k}"), "Invalid value: must be a string"));
                        continue;
                    };
                    total += k.len() + v.len();
                    if field == "labels" {
                        if let Some(e) = label_value_error(v) {
                            causes.push(Cause::new("FieldValueInvalid", "metadata.labels", format!("Invalid value: \"{v}\": {e}")));
                        }
                    }
                }
                if field == "annotations" && total > 256 * 1024 {
                    causes.push(Cause::new("FieldValueTooLong", "metadata.annotations", format!("Too long: may not be more than {} bytes", 256 * 1024)));
                }
            }
            Some(_) => causes.push(Cause::new("FieldValueTypeInvalid", format!("metadata.{field}"), "Invalid value: must be a map of strings")),
        }
    }
    if let Some(fins) = meta.and_then(|m| m.get("finalizers")) {
        match fins.as_array() {
            Some(list) => {
                for (i, f) in list.iter().enumerate() {
                    match f.as_str() {
                        Some(f) => {
                            if let Some(e) = qualified_name_error(f) {
                                causes.push(Cause::new("FieldValueInvalid", format!("metadata.finalizers[{i}]"), format!("Invalid value: \"{f}\": {e}")));
                            }
                        }
                        None => causes.push(Cause::new("FieldValueTypeInvalid", format!("metadata.finalizers[{i}]"), "Invalid value: must be a string")),
                    }
                }
            }
            None if fins.is_null() => {}
            None => causes.push(Cause::new("FieldValueTypeInvalid", "metadata.finalizers", "Invalid value: must be a list of strings")),
        }
    }
    causes
}

/// Finalizers may only be removed once deletion started.
pub fn new_finalizers_while_deleting(old: &Value, new: &Value) -> Option<Cause> {
    let before = object::finalizers(old);
    let added: Vec<String> = object::finalizers(new).into_iter().filter(|f| !before.contains(f)).collect();
    if added.is_empty() {
        return None;
    }
    let list = added.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ");
    Some(Cause::new(
        "FieldValueForbidden",
        "metadata.finalizers",
        format!("Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_labels() {
        assert!(validate("ConfigMap", "", &json!({"metadata": {"name": "ok-name.x"}})).is_empty());
        let c = validate("ConfigMap", "", &json!({"metadata": {"name": "Bad_Name"}}));
        assert_eq!(c[0].field, "metadata.name");
        assert!(!validate("Namespace", "", &json!({"metadata": {"name": "a.b"}})).is_empty());
        assert!(validate("ClusterRole", "rbac.authorization.k8s.io", &json!({"metadata": {"name": "system:x"}})).is_empty());
        let c = validate("ConfigMap", "", &json!({"metadata": {"name": "a", "labels": {"app": "-bad"}}}));
        assert_eq!(c.len(), 1);
        assert!(validate("ConfigMap", "", &json!({"metadata": {"name": "a", "labels": {"eno.azure.io/x": ""}}})).is_empty());
    }

    #[test]
    fn finalizers_frozen_while_deleting() {
        let old = json!({"metadata": {"finalizers": ["a"]}});
        assert!(new_finalizers_while_deleting(&old, &json!({"metadata": {"finalizers": []}})).is_none());
        let c = new_finalizers_while_deleting(&old, &json!({"metadata": {"finalizers": ["a", "x"]}})).unwrap();
        assert!(c.message.contains("[]string{\"x\"}"), "{}", c.message);
    }
}
