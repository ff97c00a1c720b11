//! The writes controllers make, each guarded by optimistic concurrency, so a pass that acted on
//! a stale cache (or a second replica) fails with 409 instead of overwriting newer state.

use super::world::PassError;
use crate::runtime::{Cluster, ObjectRef, Patch};
use serde_json::{json, Value};

/// Replaces `.status` if the object is still at `resource_version`.
pub async fn replace_status(cluster: &dyn Cluster, r: &ObjectRef, resource_version: &str, status: &Value) -> Result<Value, PassError> {
    let ops = json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
        {"op": "add", "path": "/status", "value": status},
    ]);
    Ok(cluster.patch(r, &Patch::json(ops).on_status()).await?)
}

/// Sets the finalizer list if the object is still at `resource_version`.
pub async fn set_finalizers(cluster: &dyn Cluster, r: &ObjectRef, resource_version: &str, finalizers: &[String]) -> Result<Value, PassError> {
    let value = if finalizers.is_empty() { Value::Null } else { json!(finalizers) };
    let patch = json!({"metadata": {"resourceVersion": resource_version, "finalizers": value}});
    Ok(cluster.patch(r, &Patch::merge(patch)).await?)
}
