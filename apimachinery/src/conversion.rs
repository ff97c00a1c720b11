//! What the API server does to a built-in object's content on every write, before it stores it,
//! that a client comparing what it sent with what is live must do too.

use base64::Engine as _;
use serde_json::{Map, Value};

/// A core/v1 Secret's `stringData` is write-only: the server writes each entry into `data`
/// (base64, replacing a `data` entry of the same key) and drops the field. A controller that
/// compared its `stringData` with the live object would see a difference on every pass.
pub fn secret_string_data_into_data(secret: &mut Value) {
    let Some(secret) = secret.as_object_mut() else { return };
    let Some(Value::Object(strings)) = secret.remove("stringData") else { return };
    if !secret.get("data").is_some_and(Value::is_object) {
        secret.insert("data".into(), Value::Object(Map::new()));
    }
    let Some(data) = secret.get_mut("data").and_then(Value::as_object_mut) else { return };
    for (k, v) in strings {
        let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        data.insert(k, Value::String(base64::engine::general_purpose::STANDARD.encode(text)));
    }
}

/// Whether `apiVersion`/`kind` name the core/v1 Secret.
pub fn is_secret(obj: &Value) -> bool {
    obj.get("apiVersion").and_then(Value::as_str) == Some("v1") && obj.get("kind").and_then(Value::as_str) == Some("Secret")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_data_lands_in_data_and_wins() {
        let mut s = json!({"kind": "Secret", "data": {"a": "b2xk", "keep": "eA=="}, "stringData": {"a": "new", "b": ""}});
        secret_string_data_into_data(&mut s);
        assert_eq!(s, json!({"kind": "Secret", "data": {"a": "bmV3", "b": "", "keep": "eA=="}}));
        let mut only = json!({"stringData": {"token": "s3cret"}});
        secret_string_data_into_data(&mut only);
        assert_eq!(only, json!({"data": {"token": "czNjcmV0"}}));
        let mut none = json!({"data": {"a": "eA=="}});
        secret_string_data_into_data(&mut none);
        assert_eq!(none, json!({"data": {"a": "eA=="}}));
    }
}
