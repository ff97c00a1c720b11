//! RFC 6902 JSON Patch with the apiserver's (evanphx) `test` semantics.

use crate::error::{ApiError, ApiResult};
use serde_json::Value;

/// Applies `ops` to `target`. Failures (including a failed `test`) are 422 Invalid, as the
/// real server answers. A `test` of a missing path against `null` passes: kube-runtime's
/// `finalizer()` relies on it when an object has no finalizers yet.
pub fn apply(target: &Value, ops: &Value) -> ApiResult<Value> {
    let ops_list = ops.as_array().ok_or_else(|| ApiError::bad_request("error decoding patch: a JSON patch must be a list of operations"))?;
    let mut kept = Vec::with_capacity(ops_list.len());
    for op in ops_list {
        let is_null_test = op.get("op").and_then(Value::as_str) == Some("test") && op.get("value").is_some_and(Value::is_null);
        if is_null_test {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            if target.pointer(path).is_none_or(Value::is_null) {
                continue;
            }
        }
        kept.push(op.clone());
    }
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(kept)).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let mut doc = target.clone();
    json_patch::patch(&mut doc, &patch).map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_of_missing_path_against_null_passes() {
        let obj = json!({"metadata": {"name": "a"}});
        let ops = json!([{"op": "test", "path": "/metadata/finalizers", "value": null}, {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]);
        assert_eq!(apply(&obj, &ops).unwrap()["metadata"]["finalizers"], json!(["f"]));
    }

    #[test]
    fn failed_test_is_invalid_and_changes_nothing() {
        let obj = json!({"metadata": {"finalizers": ["f"]}});
        let ops = json!([{"op": "test", "path": "/metadata/finalizers", "value": null}, {"op": "remove", "path": "/metadata/finalizers"}]);
        let err = apply(&obj, &ops).unwrap_err();
        assert_eq!(err.code, 422);
        let bad = apply(&obj, &json!({"op": "add"})).unwrap_err();
        assert_eq!(bad.code, 400);
    }
}
