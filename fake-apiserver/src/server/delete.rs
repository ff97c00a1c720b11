//! DELETE: preconditions, finalizers and deletionTimestamp, propagation policies
//! (`registry/generic/registry/store.go` `Delete`).

use crate::frozen::Frozen;
use super::{ApiServer, DeleteOptions, Deleted, ListOptions, Propagation, Target};
use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::resource::ResourceType;
use serde_json::{json, Value};

pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// Held by a namespace until the namespace controller (our GC pass) emptied it.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";
/// Held by a CRD until its custom resources are gone.
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

impl ApiServer {
    pub fn delete(&mut self, target: &Target, opts: &DeleteOptions) -> ApiResult<Deleted> {
        self.injected_error()?;
        let deleted = self.delete_object(target, opts)?;
        self.lost_reply()?;
        Ok(deleted)
    }

    /// The delete itself, free of injected faults (the garbage collector uses it too).
    pub(super) fn delete_object(&mut self, target: &Target, opts: &DeleteOptions) -> ApiResult<Deleted> {
        if let Some(sub) = &target.subresource {
            return Err(ApiError::method_not_supported(format!("delete is not supported on the {sub} subresource")));
        }
        let name = Self::require_name(target)?.to_string();
        let rt = target.resource.clone();
        let key = Self::object_key(target, &name);
        let live = self.store.get(&key).map(Frozen::to_value).ok_or_else(|| Self::not_found(target, &name))?;
        if let Some(uid) = &opts.precondition_uid {
            if uid != object::uid(&live) {
                return Err(ApiError::conflict_because(&rt.group, &rt.plural, &name, &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", object::uid(&live))));
            }
        }
        if let Some(rv) = &opts.precondition_resource_version {
            if rv != object::resource_version(&live) {
                return Err(ApiError::conflict_because(&rt.group, &rt.plural, &name, &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", object::resource_version(&live))));
            }
        }
        if object::is_deleting(&live) {
            // Already going: a repeat DELETE changes nothing.
            return Ok(Deleted::Pending(Self::present(target, live)));
        }
        let mut finalizers = object::finalizers(&live);
        let mut extra = |f: &str| {
            if !finalizers.iter().any(|x| x == f) {
                finalizers.push(f.to_string());
            }
        };
        match opts.propagation.unwrap_or_default() {
            Propagation::Orphan => extra(ORPHAN_FINALIZER),
            Propagation::Foreground => extra(FOREGROUND_FINALIZER),
            Propagation::Background => {}
        }
        if rt.group.is_empty() && rt.kind == "Namespace" {
            extra(NAMESPACE_FINALIZER);
        }
        if rt.group == "apiextensions.k8s.io" && rt.kind == "CustomResourceDefinition" {
            extra(CRD_CLEANUP_FINALIZER);
        }
        if finalizers.is_empty() {
            if opts.dry_run {
                return Ok(Deleted::Gone(success_status(&rt, &live)));
            }
            let gone = self.store.remove(&key).expect("object exists");
            self.after_removal(&rt, &gone);
            return Ok(if returns_deleted_object(&rt) { Deleted::Gone(Self::present(target, gone)) } else { Deleted::Gone(success_status(&rt, &gone)) });
        }
        let mut marked = live.clone();
        object::set_finalizers(&mut marked, finalizers);
        object::set_meta(&mut marked, "deletionTimestamp", Value::String(self.now()));
        object::set_meta(&mut marked, "deletionGracePeriodSeconds", json!(0));
        if object::generation(&live) > 0 {
            object::set_meta(&mut marked, "generation", json!(object::generation(&live) + 1));
        }
        if rt.group.is_empty() && rt.kind == "Namespace" {
            marked["status"] = json!({"phase": "Terminating"});
        }
        if opts.dry_run {
            return Ok(Deleted::Pending(Self::present(target, marked)));
        }
        let stored = self.store.put(key, marked);
        Ok(Deleted::Pending(Self::present(target, stored)))
    }

    /// DELETE on a collection: every object the selectors match, one by one.
    pub fn delete_collection(&mut self, target: &Target, list: &ListOptions, opts: &DeleteOptions) -> ApiResult<Value> {
        let listed = self.list(target, &ListOptions { limit: None, continue_token: None, ..list.clone() })?;
        let mut items = Vec::new();
        for item in listed.item_values() {
            let one = Target { name: Some(object::name(&item).to_string()), namespace: Some(object::namespace(&item).to_string()).filter(|n| !n.is_empty()), ..target.clone() };
            match self.delete(&one, opts) {
                Ok(Deleted::Pending(o)) => items.push(o),
                Ok(Deleted::Gone(_)) => items.push(item),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json!({
            "apiVersion": target.resource.api_version(),
            "kind": target.resource.list_kind(),
            "metadata": {"resourceVersion": self.revision().to_string()},
            "items": Value::Array(items),
        }))
    }

    /// Side effects of an object leaving the store: a CRD takes its types with it.
    pub(super) fn after_removal(&mut self, rt: &ResourceType, gone: &Value) {
        if rt.group == "apiextensions.k8s.io" && rt.kind == "CustomResourceDefinition" {
            self.registry.remove_crd(object::name(gone));
        }
    }
}

/// Kinds whose store sets `ReturnDeletedObject` (graceful kinds) answer with the object.
fn returns_deleted_object(rt: &ResourceType) -> bool {
    rt.group.is_empty() && rt.kind == "Pod"
}

fn success_status(rt: &ResourceType, gone: &Value) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": object::name(gone), "group": rt.group, "kind": rt.plural, "uid": object::uid(gone)}
    })
}
