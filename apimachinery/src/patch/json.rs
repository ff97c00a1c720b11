//! RFC 6902 JSON Patch with the apiserver's (evanphx) `test` semantics.

use serde_json::Value;

/// Why a JSON patch was not applied. The apiserver answers 400 Bad Request for
/// [`JsonPatchError::Decode`] and 422 Invalid for [`JsonPatchError::Failed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPatchError {
    /// The body is not a list of operations.
    #[error("error decoding patch: {0}")]
    Decode(String),
    /// An operation failed (including a failed `test`); nothing was changed.
    #[error("{0}")]
    Failed(String),
}

/// Applies `ops` to `target`. A `test` of a missing path against `null` passes: kube-runtime's
/// `finalizer()` relies on it when an object has no finalizers yet.
pub fn apply(target: &Value, ops: &Value) -> Result<Value, JsonPatchError> {
    apply_owned(target.clone(), ops)
}

/// [`apply`] to a document the caller hands over (no copy of it is made).
pub fn apply_owned(target: Value, ops: &Value) -> Result<Value, JsonPatchError> {
    let ops_list = ops.as_array().ok_or_else(|| JsonPatchError::Decode("a JSON patch must be a list of operations".into()))?;
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
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(kept)).map_err(|e| JsonPatchError::Decode(e.to_string()))?;
    let mut doc = target;
    json_patch::patch(&mut doc, &patch).map_err(|e| JsonPatchError::Failed(e.to_string()))?;
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
        assert!(matches!(err, JsonPatchError::Failed(_)), "{err:?}");
        let bad = apply(&obj, &json!({"op": "add"})).unwrap_err();
        assert!(matches!(bad, JsonPatchError::Decode(_)), "{bad:?}");
        assert_eq!(bad.to_string(), "error decoding patch: a JSON patch must be a list of operations");
    }
}
