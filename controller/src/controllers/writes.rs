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
    send(cluster, write, true).await
}

/// Makes `write` without its fence: a deliberate defect (simulation build only; see
/// `controllers::defects::Fence`).
#[cfg(madsim)]
pub async fn execute_unfenced(cluster: &dyn Cluster, write: &Write) -> ClientResult<Option<Value>> {
    send(cluster, write, false).await
}

async fn send(cluster: &dyn Cluster, write: &Write, fenced: bool) -> ClientResult<Option<Value>> {
    match write {
        Write::ReplaceStatus { target, resource_version, status } => {
            let test = json!({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version});
            let add = json!({"op": "add", "path": "/status", "value": status});
            let ops = if fenced { json!([test, add]) } else { json!([add]) };
            cluster.patch(target, &Patch::json(ops).on_status()).await.map(Some)
        }
        Write::SetFinalizers { target, resource_version, finalizers } => {
            let value = if finalizers.is_empty() { Value::Null } else { json!(finalizers) };
            let mut patch = json!({"metadata": {"resourceVersion": resource_version, "finalizers": value}});
            if !fenced {
                unset_resource_version(&mut patch);
            }
            cluster.patch(target, &Patch::merge(patch)).await.map(Some)
        }
        Write::ClaimSynthesis { target, read, claimed } => {
            let tests = [
                json!({"op": "test", "path": "/status/inFlightSynthesis/uuid", "value": read.uuid}),
                json!({"op": "test", "path": "/status/inFlightSynthesis/claimed", "value": json(&read.claimed)}),
                json!({"op": "test", "path": "/status/inFlightSynthesis/synthesized", "value": json(&read.synthesized)}),
            ];
            let mut ops: Vec<Value> = if fenced { tests.to_vec() } else { Vec::new() };
            ops.push(json!({"op": "replace", "path": "/status/inFlightSynthesis", "value": json(claimed)}));
            cluster.patch(target, &Patch::json(Value::Array(ops)).on_status()).await.map(Some)
        }
        Write::Create { object } => cluster.create(object).await.map(Some),
        Write::Replace { object } if fenced => cluster.replace(object, false).await.map(Some),
        // Custom resources refuse a PUT without a resourceVersion, so the blind version of
        // one overwrites whatever is there now.
        Write::Replace { object } => {
            let mut object = object.clone();
            let target = crate::runtime::ObjectRef::of(&object).ok_or_else(|| crate::runtime::ClientError::Decode("object without apiVersion, kind or name".into()))?;
            let latest = cluster.get(&target).await?.map(|o| o["metadata"]["resourceVersion"].clone()).unwrap_or_default();
            object["metadata"]["resourceVersion"] = latest;
            cluster.replace(&object, false).await.map(Some)
        }
        Write::Patch { target, patch } if fenced => cluster.patch(target, patch).await.map(Some),
        Write::Patch { target, patch } => {
            let mut patch = patch.clone();
            unset_resource_version(&mut patch.body);
            cluster.patch(target, &patch).await.map(Some)
        }
        Write::Delete { target, uid, resource_version } => {
            let (uid, resource_version) = if fenced { (uid.clone(), resource_version.clone()) } else { (None, None) };
            let params = DeleteParams { precondition_uid: uid, precondition_resource_version: resource_version, ..Default::default() };
            match cluster.delete(target, &params).await {
                Err(e) if e.is_not_found() => Ok(None),
                other => other,
            }
        }
    }
}

/// Drops the resourceVersion a body carries (for the unfenced defect): a merge patch's field,
/// or a JSON patch's ops on it.
fn unset_resource_version(body: &mut Value) {
    match body {
        Value::Array(ops) => ops.retain(|op| op.get("path").and_then(Value::as_str) != Some("/metadata/resourceVersion")),
        _ => {
            if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
            }
        }
    }
}
