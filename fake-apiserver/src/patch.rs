//! Server glue for the patch formats and field ownership of [`apimachinery`]: what a resource
//! type's endpoints ignore (its list semantics are `ResourceType::list_semantics`), and how
//! failures become the Status objects the real server sends.

use crate::error::{ApiError, Cause};
use crate::resource::ResourceType;
use apimachinery::patch::apply;
use apimachinery::patch::json::JsonPatchError;

/// Which part of an applied body the endpoint ignores for this type and subresource.
pub fn reset_fields(rt: &ResourceType, subresource: Option<&str>) -> apply::ResetFields {
    if rt.status_subresource {
        apply::ResetFields::for_subresource(subresource)
    } else {
        apply::ResetFields::Nothing
    }
}

/// An apply failure as the Status the real server sends.
pub fn apply_error_to_status(rt: &ResourceType, name: &str, e: apply::ApplyError) -> ApiError {
    let mut err = ApiError::new(e.code(), e.reason(), e.to_string());
    if matches!(e, apply::ApplyError::Conflict(_)) {
        err.group = Some(rt.group.clone());
        err.kind = Some(rt.plural.clone());
        err.name = Some(name.to_string());
        err.causes = e.causes().into_iter().map(|c| Cause { reason: c.reason.to_string(), message: c.message, field: c.field }).collect();
    }
    err
}

/// A JSON patch failure as the real server answers it: 400 for an undecodable body, 422 when an
/// operation (a `test` included) fails.
pub fn json_patch_error_to_status(e: JsonPatchError) -> ApiError {
    match e {
        JsonPatchError::Decode(_) => ApiError::bad_request(e.to_string()),
        JsonPatchError::Failed(_) => ApiError::new(422, "Invalid", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::patch::json::apply as apply_json_patch;
    use serde_json::json;

    #[test]
    fn json_patch_failures_are_400_or_422() {
        let obj = json!({"metadata": {"finalizers": ["f"]}});
        let ops = json!([{"op": "test", "path": "/metadata/finalizers", "value": null}, {"op": "remove", "path": "/metadata/finalizers"}]);
        let err = json_patch_error_to_status(apply_json_patch(&obj, &ops).unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        let bad = json_patch_error_to_status(apply_json_patch(&obj, &json!({"op": "add"})).unwrap_err());
        assert_eq!(bad.code, 400);
        assert_eq!(bad.message, "error decoding patch: a JSON patch must be a list of operations");
    }
}
