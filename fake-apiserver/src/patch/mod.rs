//! The four patch formats (JSON, merge, strategic merge, server-side apply) and the
//! managedFields bookkeeping that goes with every write.

pub mod apply;
pub mod json;
pub mod managed_fields;
pub mod merge;
pub mod merge_keys;
pub mod strategic;

use crate::error::{ApiError, Cause};
use crate::resource::ResourceType;
use managed_fields::{AtomicLists, BuiltinLists, ListSemantics, SchemaLists};

/// How lists of this type merge for apply and field ownership: built-in merge keys, the CRD
/// schema's `x-kubernetes-list-type`, or atomic.
pub fn list_semantics(rt: &ResourceType) -> Box<dyn ListSemantics> {
    match rt.schema() {
        Some(schema) => Box::new(SchemaLists::new(schema)),
        None if !rt.is_custom() => Box::new(BuiltinLists),
        None => Box::new(AtomicLists),
    }
}

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
