//! Resource order within a synthesis, the checker's own reading of Eno's ordering rules:
//! - a resource's readiness group is its `eno.azure.io/readiness-group`, else -100 for Eno's
//!   infrastructure kinds ([`INFRASTRUCTURE`]), else 0. Eno creates a resource only once every
//!   resource of the nearest lower group present in its synthesis has been recorded ready in its
//!   slice's status (readiness latches: once recorded, it counts, even if a user deletes it);
//! - a custom resource is created only once the CustomResourceDefinition of its synthesis that
//!   defines its group and kind has been recorded ready;
//! - a namespaced resource is created only once the Namespace of its synthesis it lives in has
//!   been recorded ready, unless that Namespace is in a later readiness group;
//! - while its composition is being deleted, Eno starts deleting a resource only once every
//!   resource of the nearest lower deletion group is gone or being deleted (one whose
//!   reconciliation is disabled is left alone, so it does not count). The deletion group is
//!   `eno.azure.io/deletion-group`, else the readiness group negated.
//!
//! A creation passes when any synthesis of any composition holding the resource allows it: a
//! replica may act on a synthesis that has just been replaced.

use super::{describe, Checker, Found, Invariant};
use crate::reading::{self, Slot};
use fake_apiserver::store::ObjectKey;
use fake_apiserver::ApiServer;
use serde_json::Value;
use std::collections::BTreeSet;

/// Kinds Eno puts in readiness group -100 (deletion group 100), whatever their API group.
const INFRASTRUCTURE: &[&str] = &[
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
    "RoleList", "RoleBinding", "RoleBindingList", "Service", "EtcdCluster",
];

/// Slice resources ever recorded ready: (slice uid, index).
#[derive(Default)]
pub(super) struct Readiness {
    ready: BTreeSet<(String, usize)>,
}

impl Readiness {
    /// Latches the resources a slice's status records as ready.
    pub fn slice_changed(&mut self, slice: &Value) {
        let uid = reading::uid(slice);
        for (index, state) in slice["status"]["resources"].as_array().into_iter().flatten().enumerate() {
            if !state["ready"].is_null() {
                self.ready.insert((uid.to_string(), index));
            }
        }
    }
}

fn annotated_group(manifest: &Value, key: &str) -> Option<i64> {
    manifest["metadata"]["annotations"][key].as_str()?.trim().parse().ok()
}

fn readiness_group(manifest: &Value) -> i64 {
    annotated_group(manifest, "eno.azure.io/readiness-group")
        .unwrap_or(if INFRASTRUCTURE.contains(&reading::str_at(manifest, "/kind")) { -100 } else { 0 })
}

fn deletion_group(manifest: &Value) -> i64 {
    annotated_group(manifest, "eno.azure.io/deletion-group").unwrap_or(-readiness_group(manifest))
}

fn api_group(manifest: &Value) -> &str {
    reading::str_at(manifest, "/apiVersion").rsplit_once('/').map_or("", |(group, _)| group)
}

/// A manifest of a synthesis, where it is stored and whether its state was recorded ready.
struct Member {
    key: ObjectKey,
    manifest: Value,
    ready: bool,
}

impl Checker {
    /// The managed manifests of `synthesis` (tombstones and orphans left out), with readiness.
    fn members(&mut self, server: &ApiServer, namespace: &str, synthesis: &Value) -> Vec<Member> {
        let mut members = Vec::new();
        for name in reading::slice_names(synthesis) {
            let Some(slice) = self.state.get(&super::eno_key("resourceslices", namespace, name)).cloned() else { continue };
            let uid = reading::uid(&slice).to_string();
            for (index, entry) in slice["spec"]["resources"].as_array().into_iter().flatten().enumerate() {
                let Some(manifest) = entry["manifest"].as_str().and_then(|m| serde_json::from_str::<Value>(m).ok()) else { continue };
                if entry["deleted"] == Value::Bool(true) || manifest["metadata"]["annotations"]["eno.azure.io/deletion-strategy"] == "orphan" {
                    continue;
                }
                let Some(key) = self.key_of(server, &manifest) else { continue };
                let ready = self.readiness.ready.contains(&(uid.clone(), index));
                members.push(Member { key, manifest, ready });
            }
        }
        members
    }

    /// A resource Eno created: some synthesis holding it had every resource of the nearest
    /// lower readiness group (and its CRD) present and recorded ready.
    pub(super) fn created_in_order(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let syntheses: Vec<(String, Value)> = self
            .state
            .iter()
            .filter(|(k, _)| super::is_composition(k))
            .flat_map(|(k, comp)| Slot::ALL.into_iter().filter_map(|slot| Some((k.namespace.clone(), reading::synthesis(comp, slot)?.clone()))))
            .collect();
        let mut waited_for = None;
        for (namespace, synthesis) in syntheses {
            let members = self.members(server, &namespace, &synthesis);
            let Some(me) = members.iter().find(|m| m.key == *key) else { continue };
            let group = readiness_group(&me.manifest);
            let lower = members.iter().map(|m| readiness_group(&m.manifest)).filter(|g| *g < group).max();
            let (my_group, my_kind) = (api_group(&me.manifest), reading::str_at(&me.manifest, "/kind"));
            let defines_mine = |m: &Member| {
                reading::str_at(&m.manifest, "/kind") == "CustomResourceDefinition"
                    && reading::str_at(&m.manifest, "/spec/group") == my_group
                    && reading::str_at(&m.manifest, "/spec/names/kind") == my_kind
            };
            let my_namespace = reading::str_at(&me.manifest, "/metadata/namespace");
            let holds_me = |m: &Member| {
                m.key.resource.plural == "namespaces" && m.key.resource.group.is_empty() && !my_namespace.is_empty() && m.key.name == my_namespace && readiness_group(&m.manifest) <= group
            };
            let pending = members
                .iter()
                .filter(|m| Some(readiness_group(&m.manifest)) == lower || defines_mine(m) || holds_me(m))
                .find(|m| !m.ready);
            match pending {
                None => return Vec::new(),
                Some(m) => waited_for = Some(format!("{} (readiness group {}) is not ready", describe(&m.key), readiness_group(&m.manifest))),
            }
        }
        let Some(why) = waited_for else { return Vec::new() };
        vec![(Invariant::ResourceOrder, format!("{} was created while {why}", describe(key)))]
    }

    /// A resource whose deletion began: if a deleting composition holds it, every resource of
    /// the nearest lower deletion group of that synthesis is gone or being deleted (gone, if it
    /// is deleted in the foreground). Resources the composition orphans stay and do not count.
    pub(super) fn deleted_in_order(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let deleting = self.deleting_current_syntheses();
        let mut found = Vec::new();
        for (namespace, comp, current) in deleting {
            let name = reading::name_of(&comp);
            let mut members = self.members(server, &namespace, &current);
            members.retain(|m| reading::deletion_strategy(&m.manifest, &comp) != "orphan");
            let Some(me) = members.iter().find(|m| m.key == *key) else { continue };
            let group = deletion_group(&me.manifest);
            let lower = members.iter().map(|m| deletion_group(&m.manifest)).filter(|g| *g < group).max();
            let remaining = members
                .iter()
                .filter(|m| Some(deletion_group(&m.manifest)) == lower)
                .filter(|m| m.manifest["metadata"]["annotations"]["eno.azure.io/disable-reconciliation"] != "true")
                .find(|m| self.state.get(&m.key).is_some_and(|live| !reading::is_deleting(live) || reading::deletion_strategy(&m.manifest, &comp) == "foreground"));
            if let Some(m) = remaining {
                found.push((
                    Invariant::ResourceOrder,
                    format!("{} (deletion group {group}) of deleting composition {name} was deleted while {} (deletion group {}) still exists", describe(key), describe(&m.key), deletion_group(&m.manifest)),
                ));
            }
        }
        found
    }
}
