//! The write executor: the one place a decided [`Write`] becomes an API call. Every reconciler
//! (composition, synthesis, resource, symphony) makes its writes through [`execute`], so each
//! write carries the optimistic-concurrency guard its decision named, and a pass that acted on
//! a stale cache (or a second replica) fails with 409 (422 for a failed JSON-patch `test`)
//! instead of overwriting newer state. Depends on no other module of `controllers`.

use crate::decide::step::{json, Write};
use crate::runtime::{ClientResult, Cluster, DeleteParams, Patch};
use serde_json::{json, Value};

/// Makes `write`. Returns the object as the server has it afterwards; `None` when a delete left
/// nothing behind (or found the object already gone, which is what it asked for).
pub async fn execute(cluster: &dyn Cluster, write: &Write) -> ClientResult<Option<Value>> {
    match write {
        Write::ReplaceStatus { target, resource_version, status } => {
            let ops = json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
                {"op": "add", "path": "/status", "value": status},
            ]);
            cluster.patch(target, &Patch::json(ops).on_status()).await.map(Some)
        }
        Write::SetFinalizers { target, resource_version, finalizers } => {
            let value = if finalizers.is_empty() { Value::Null } else { json!(finalizers) };
            let patch = json!({"metadata": {"resourceVersion": resource_version, "finalizers": value}});
            cluster.patch(target, &Patch::merge(patch)).await.map(Some)
        }
        Write::ClaimSynthesis { target, read, claimed } => {
            let ops = json!([
                {"op": "test", "path": "/status/inFlightSynthesis/uuid", "value": read.uuid},
                {"op": "test", "path": "/status/inFlightSynthesis/claimed", "value": json(&read.claimed)},
                {"op": "test", "path": "/status/inFlightSynthesis/synthesized", "value": json(&read.synthesized)},
                {"op": "replace", "path": "/status/inFlightSynthesis", "value": json(claimed)},
            ]);
            cluster.patch(target, &Patch::json(ops).on_status()).await.map(Some)
        }
        Write::Create { object } => cluster.create(object).await.map(Some),
        Write::Replace { object } => cluster.replace(object, false).await.map(Some),
        Write::Patch { target, patch } => cluster.patch(target, patch).await.map(Some),
        Write::Delete { target, uid, resource_version } => {
            let params = DeleteParams { precondition_uid: uid.clone(), precondition_resource_version: resource_version.clone(), ..Default::default() };
            match cluster.delete(target, &params).await {
                Err(e) if e.is_not_found() => Ok(None),
                other => other,
            }
        }
    }
}
