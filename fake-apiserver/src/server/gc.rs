//! Garbage collection and the namespace and CRD cleanup controllers. In a real cluster these
//! are controllers, not the apiserver; here each is one explicit pass the caller runs (or
//! schedules), so a simulation can delay it.

use crate::frozen::Frozen;
use super::delete::{CRD_CLEANUP_FINALIZER, FOREGROUND_FINALIZER, NAMESPACE_FINALIZER, ORPHAN_FINALIZER};
use super::{ApiServer, DeleteOptions, Propagation, Target};
use crate::object::{self, OwnerRef};
use crate::resource::ResourceType;
use crate::store::ObjectKey;
use serde_json::Value;
use std::sync::Arc;

impl ApiServer {
    /// One garbage-collection pass; returns how many writes it made. Run it until it returns 0
    /// to reach a fixed point.
    pub fn collect_garbage(&mut self) -> usize {
        if self.faults.gc_paused {
            return 0;
        }
        let mut writes = 0;
        // The pass only reads each deleting owner; sharing the stored tree spares a thaw of
        // every deleting object on every pass.
        let deleting: Vec<(ObjectKey, Arc<Frozen>)> = self.store.deleting().map(|(k, o)| (k.clone(), o.clone())).collect();
        for (key, owner) in deleting {
            let owner = &*owner;
            let finalizers = object::finalizers(owner);
            let has = |f: &str| finalizers.iter().any(|x| x == f);
            if has(ORPHAN_FINALIZER) {
                for dep in self.dependents_of(owner) {
                    writes += self.drop_owner_reference(&dep, object::uid(owner));
                }
                writes += self.remove_finalizer(&key, ORPHAN_FINALIZER);
            } else if has(FOREGROUND_FINALIZER) {
                // A dependent that another live owner still holds only loses this reference,
                // as the real collector's "solid owner" rule does.
                for dep in self.dependents_of(owner) {
                    if self.has_other_live_owner(&dep, object::uid(owner)) {
                        writes += self.drop_owner_reference(&dep, object::uid(owner));
                    } else {
                        writes += self.delete_key(&dep, Propagation::Foreground);
                    }
                }
                let blocking = self.dependents_of(owner).iter().any(|d| {
                    self.store.get(d).is_some_and(|o| object::owner_references(o).any(|r| r.uid == object::uid(owner) && r.block_owner_deletion))
                });
                if !blocking {
                    writes += self.remove_finalizer(&key, FOREGROUND_FINALIZER);
                }
            } else if has(NAMESPACE_FINALIZER) && key.resource.group.is_empty() && key.resource.plural == "namespaces" {
                let contents: Vec<ObjectKey> = self.store.iter().filter(|(k, _)| k.namespace == key.name).map(|(k, _)| k.clone()).collect();
                for k in &contents {
                    writes += self.delete_key(k, Propagation::Background);
                }
                if contents.is_empty() {
                    writes += self.remove_finalizer(&key, NAMESPACE_FINALIZER);
                }
            } else if has(CRD_CLEANUP_FINALIZER) && key.resource.group == "apiextensions.k8s.io" {
                let group = owner["spec"]["group"].as_str().unwrap_or("").to_string();
                let plural = owner["spec"]["names"]["plural"].as_str().unwrap_or("").to_string();
                let contents: Vec<ObjectKey> = self.store.iter().filter(|(k, _)| k.resource.group == group && k.resource.plural == plural).map(|(k, _)| k.clone()).collect();
                for k in &contents {
                    writes += self.delete_key(k, Propagation::Background);
                }
                if contents.is_empty() {
                    writes += self.remove_finalizer(&key, CRD_CLEANUP_FINALIZER);
                }
            }
        }
        // Background collection: dependents none of whose owners exist any more.
        let orphans: Vec<ObjectKey> = self
            .store
            .owned()
            .filter(|(k, o)| !object::is_deleting(*o) && object::owner_references(*o).all(|r| self.owner_absent(k, &r) == Some(true)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in orphans {
            writes += self.delete_key(&k, Propagation::Background);
        }
        writes
    }

    /// Objects whose ownerReferences name this owner's uid.
    fn dependents_of(&self, owner: &Frozen) -> Vec<ObjectKey> {
        let uid = object::uid(owner);
        self.store
            .owned()
            .filter(|(_, o)| object::owner_references(*o).any(|r| r.uid == uid))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn has_other_live_owner(&self, dependent: &ObjectKey, except_uid: &str) -> bool {
        let Some(obj) = self.store.get(dependent) else { return false };
        object::owner_references(obj).filter(|r| r.uid != except_uid).any(|r| self.owner(dependent, &r).is_some_and(|o| !object::is_deleting(o)))
    }

    /// `Some(true)` if the owner is gone (or is another object now), `Some(false)` if it lives,
    /// `None` when the reference can never be resolved (unknown kind, or a namespaced owner of
    /// a cluster-scoped dependent), which the real collector leaves alone.
    fn owner_absent(&self, dependent: &ObjectKey, r: &OwnerRef<'_>) -> Option<bool> {
        let key = self.owner_key(dependent, r)?;
        Some(self.store.get(&key).is_none_or(|o| object::uid(o) != r.uid))
    }

    /// The live owner a reference names, if it exists with that uid.
    fn owner(&self, dependent: &ObjectKey, r: &OwnerRef<'_>) -> Option<&Frozen> {
        self.store.get(&self.owner_key(dependent, r)?).filter(|o| object::uid(*o) == r.uid)
    }

    /// Where the owner would be stored; `None` when the reference cannot be resolved.
    fn owner_key(&self, dependent: &ObjectKey, r: &OwnerRef<'_>) -> Option<ObjectKey> {
        let (group, version) = object::split_api_version(r.api_version);
        let owner_type: &ResourceType = self.registry.by_kind(group, version, r.kind)?;
        let namespace = match (owner_type.namespaced, dependent.namespace.is_empty()) {
            (true, true) => return None,
            (true, false) => dependent.namespace.clone(),
            (false, _) => String::new(),
        };
        Some(ObjectKey { resource: owner_type.storage_key(), namespace, name: r.name.to_string() })
    }

    fn delete_key(&mut self, key: &ObjectKey, propagation: Propagation) -> usize {
        let Some(rt) = self.registry.by_storage(&key.resource).cloned() else { return 0 };
        let before = self.store.revision();
        let target = Target { namespace: Some(key.namespace.clone()).filter(|n| !n.is_empty()), name: Some(key.name.clone()), resource: rt, subresource: None };
        let _ = self.delete_object(&target, &DeleteOptions { propagation: Some(propagation), ..Default::default() });
        (self.store.revision() - before) as usize
    }

    fn remove_finalizer(&mut self, key: &ObjectKey, finalizer: &str) -> usize {
        let Some(mut obj) = self.store.get(key).map(Frozen::to_value) else { return 0 };
        let remaining: Vec<String> = object::finalizers(&obj).into_iter().filter(|f| f != finalizer).collect();
        object::set_finalizers(&mut obj, remaining.clone());
        if remaining.is_empty() && object::is_deleting(&obj) {
            if let Some(gone) = self.store.remove_as(key, obj) {
                if let Some(rt) = self.registry.by_storage(&key.resource).cloned() {
                    self.after_removal(&rt, &gone);
                }
            }
            1
        } else {
            self.store.put(key.clone(), obj);
            1
        }
    }

    fn drop_owner_reference(&mut self, key: &ObjectKey, owner_uid: &str) -> usize {
        let Some(mut obj) = self.store.get(key).map(Frozen::to_value) else { return 0 };
        let Some(refs) = object::meta_mut(&mut obj).get_mut("ownerReferences").and_then(Value::as_array_mut) else { return 0 };
        refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
        if refs.is_empty() {
            object::remove_meta(&mut obj, "ownerReferences");
        }
        self.store.put(key.clone(), obj);
        1
    }
}
