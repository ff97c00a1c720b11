//! Deletion ordering, symphony deletion and leaks:
//! - a composition is gone only after every resource of its syntheses (current, previous and
//!   in flight) is deleted, its deletion accepted or another client keeps it, and none of them is created again
//!   afterwards unless a live composition wants it;
//! - nothing the current synthesis of a live composition wants is deleted;
//! - a deleting symphony's compositions leave their resources in place: deleting one is flagged
//!   the moment it happens;
//! - once the run is over, nothing owned by a deleted composition or symphony remains.

use super::{describe, Checker, Found, Invariant};
use crate::reading::{self, Slot};
use eno::api::annotations::SYMPHONY_DELETING;
use fake_apiserver::store::ObjectKey;
use fake_apiserver::ApiServer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(super) struct Deletions {
    /// Symphonies whose deletion has been requested, by uid.
    deleting_symphonies: BTreeSet<String>,
    /// Resources of a deleting symphony's compositions: they must stay.
    kept: BTreeSet<ObjectKey>,
    /// Resources of compositions that were deleted, with the composition's name.
    cleaned: BTreeMap<ObjectKey, String>,
    /// Deleted compositions and symphonies: uid → what it was.
    gone: BTreeMap<String, String>,
}

impl Deletions {
    /// Symphony `object` changed (`gone`: it was deleted).
    pub fn symphony_changed(&mut self, object: &Value, gone: bool) {
        let uid = reading::uid(object).to_string();
        if gone {
            self.gone.insert(uid.clone(), format!("symphony {}", reading::name_of(object)));
        }
        if reading::is_deleting(object) || gone {
            self.deleting_symphonies.insert(uid);
        }
    }

    fn of_deleting_symphony(&self, comp: &Value) -> bool {
        reading::has_label(comp, SYMPHONY_DELETING, "true") || reading::owner_symphony(comp).is_some_and(|(uid, _)| self.deleting_symphonies.contains(uid))
    }
}

impl Checker {
    /// Marks the current resources of every composition of a deleting symphony as kept.
    pub(super) fn keep_resources_of_deleting_symphonies(&mut self, server: &ApiServer) -> Found {
        let currents: Vec<(String, Value)> = self
            .state
            .iter()
            .filter(|(k, v)| super::is_composition(k) && self.deletion.of_deleting_symphony(v))
            .filter_map(|(k, v)| Some((k.namespace.clone(), reading::synthesis(v, Slot::Current)?.clone())))
            .collect();
        for (namespace, current) in currents {
            let managed = self.managed(server, &namespace, &current);
            self.deletion.kept.extend(managed.into_keys());
        }
        Vec::new()
    }

    pub(super) fn composition_deleted(&mut self, server: &ApiServer, key: &ObjectKey, last: &Value) -> Found {
        self.deletion.gone.insert(reading::uid(last).to_string(), format!("composition {}", reading::name_of(last)));
        let mut managed = BTreeMap::new();
        let namespace = reading::str_at(last, "/metadata/namespace");
        for slot in Slot::ALL {
            if let Some(s) = reading::synthesis(last, slot) {
                managed.extend(self.managed(server, namespace, s));
            }
        }
        if self.deletion.of_deleting_symphony(last) {
            self.deletion.kept.extend(managed.into_keys());
            return Vec::new();
        }
        // The composition orphans some (its own `deletion-strategy: orphan`, cascaded to every
        // resource that does not set the key): they stay.
        managed.retain(|_, m| reading::deletion_strategy(m, last) != "orphan");
        // A resource whose deletion was accepted (deletionTimestamp set, other controllers'
        // finalizers pending) counts as deleted, as in Eno: it cannot wait on foreign finalizers,
        // unless it is deleted in the foreground (then only gone counts). One another client
        // took over and keeps is orphaned.
        let found = managed
            .iter()
            .filter(|(k, m)| {
                self.state.get(*k).is_some_and(|r| (!reading::is_deleting(r) || reading::deletion_strategy(m, last) == "foreground") && !self.kept_by_another_client(r))
            })
            .map(|(k, _)| (Invariant::DeletionOrdering, format!("composition {}/{} is gone while its resource {} still exists", key.namespace, key.name, describe(k))))
            .collect();
        let name = format!("{}/{}", key.namespace, key.name);
        self.deletion.cleaned.extend(managed.into_keys().map(|k| (k, name.clone())));
        found
    }

    /// A resource whose deletion began: no deleting composition holding it orphans it (its own
    /// `deletion-strategy: orphan`, or the composition's, cascaded).
    pub(super) fn orphans_kept(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let mut found = Vec::new();
        for (namespace, comp, current) in self.deleting_current_syntheses() {
            let manifests: Vec<Value> = reading::slice_names(&current)
                .into_iter()
                .filter_map(|slice| self.state.get(&super::eno_key("resourceslices", &namespace, slice)))
                .flat_map(|slice| reading::desired_manifests(slice).collect::<Vec<_>>())
                .filter(|m| reading::deletion_strategy(m, &comp) == "orphan")
                .collect();
            let orphaned = manifests.iter().any(|m| self.key_of(server, m).as_ref() == Some(key));
            if orphaned {
                found.push((Invariant::DeletionOrdering, format!("{} was deleted although its deleting composition {} orphans it", describe(key), reading::name_of(&comp))));
            }
        }
        found
    }

    /// A resource of a deleted composition is created again: it outlives the composition that
    /// was its only manager, unless a live composition wants it now.
    pub(super) fn resource_added(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let Some(deleted) = self.deletion.cleaned.remove(key) else { return Vec::new() };
        if self.wanted_by_live(server, key).is_some() {
            return Vec::new();
        }
        vec![(Invariant::DeletionOrdering, format!("{} was created again after its composition {deleted} was deleted", describe(key)))]
    }

    pub(super) fn resource_deleted(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let mut found = Vec::new();
        if self.deletion.kept.contains(key) {
            found.push((Invariant::DeletionOrdering, format!("{} was deleted although its symphony is being deleted (its resources stay)", describe(key))));
        }
        if let Some((comp, current)) = self.wanted_by_live(server, key).filter(|(_, s)| !reading::is_failed(s)) {
            let comp = comp.rsplit('/').next().unwrap_or_default().to_string();
            found.push((Invariant::DeletionOrdering, format!("{} was deleted although the current synthesis {} of {comp} wants it", describe(key), reading::synthesis_uuid(&current))));
        }
        found
    }

    /// What is left of deleted compositions and symphonies: objects all of whose owners are gone
    /// (garbage collection should have removed them).
    pub(super) fn leaks(&self) -> Found {
        self.state
            .iter()
            .filter_map(|(key, obj)| {
                let owners: Vec<&str> = reading::owner_uids(obj).collect();
                let gone: Vec<&str> = owners.iter().filter_map(|uid| self.deletion.gone.get(*uid)).map(String::as_str).collect();
                (!owners.is_empty() && gone.len() == owners.len()).then(|| (Invariant::NoLeaks, format!("{} outlives its owner {}", describe(key), gone.join(", "))))
            })
            .collect()
    }
}
