//! The order in which a synthesis's resources are reconciled (Eno's `internal/resource/tree.go`
//! and `kind_ordering.go`):
//!
//! - **Readiness groups** (`eno.azure.io/readiness-group`, default 0): a resource waits until
//!   every resource of the nearest lower group present in the synthesis is ready. Infrastructure
//!   kinds (Namespaces, CRDs, RBAC, ConfigMaps, Secrets, Services...; see
//!   [`super::resource::INFRASTRUCTURE_KINDS`]) default to group -100, so they come first.
//! - **CRDs before their custom resources**: a resource (or a Patch of one) whose group and kind
//!   a CRD of the same synthesis defines also waits until that CRD is ready (a CRD without readiness checks is
//!   ready once `Established`).
//! - **Namespaces before what lives in them**: a namespaced resource also waits until the
//!   Namespace of its synthesis it lives in is ready (unless that Namespace is in a later
//!   readiness group). Both are infrastructure (group -100) in
//!   Eno, so they race there and the create is refused until the Namespace exists; here the
//!   contents wait instead of backing off.
//! - **Deletion groups**, while the composition is being deleted: a resource waits until every
//!   resource of the nearest lower deletion group is deleted. A resource without
//!   `eno.azure.io/deletion-group` takes the negation of its readiness group, so deletion runs
//!   creation backwards (custom resources, then the rest, then infrastructure). Eno leaves
//!   resources without a deletion group unordered; negating is Eno's rule for infrastructure
//!   kinds, extended to all, so that a Namespace or CRD is never deleted before what lives in it.
//!
//! A waiting resource is not touched at all (no write, no state recorded), as in Eno. Tombstones
//! are never ordered and never hold anything back. A deleting symphony's compositions keep their
//! resources, so nothing is ordered for them.

use super::patch;
use super::resource::ResourceOptions;
use super::{group_of, ResourceKey};
use crate::api::{Manifest, ResourceSlice, ResourceState};
use serde_json::Value;
use std::sync::Arc;

/// One resource of a synthesis, as ordering sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub key: ResourceKey,
    /// The `(group, kind)` it addresses: its own, or a Patch's target's.
    pub addresses: (String, String),
    /// The group that orders it now: its readiness group, or its deletion group while the
    /// composition is being deleted.
    pub group: i64,
    /// For a CustomResourceDefinition, the `(group, kind)` it defines.
    pub defines: Option<(String, String)>,
    /// Ready (creating) or deleted (deleting), as its slice status records.
    pub done: bool,
}

impl Member {
    /// The member for a manifest (not a tombstone) and its recorded state; `None` for a manifest
    /// without identity. Malformed group annotations count as the default group here: the
    /// resource itself reports them as its error when reconciled.
    pub fn of(manifest: &Value, state: Option<&ResourceState>, deleting: bool) -> Option<Self> {
        let key = ResourceKey::of(manifest)?;
        let options = ResourceOptions::from_manifest(manifest).unwrap_or_else(|_| ResourceOptions::defaults_for(manifest));
        let group = if deleting { options.deletion_order() } else { options.readiness_group };
        let done = state.is_some_and(|s| if deleting { s.deleted } else { s.ready.is_some() });
        let (api_version, kind) = patch::target_of(manifest)?;
        let addresses = (group_of(api_version).to_owned(), kind.to_owned());
        Some(Self { defines: defined_kind(manifest), key, addresses, group, done })
    }
}

/// The members of a synthesis from its slices, with the states their statuses record
/// (tombstones and unparsable manifests left out); `parse` reads a manifest's object (a
/// controller keeps its parses, a pure decision parses afresh).
pub fn members<'a>(slices: impl IntoIterator<Item = &'a ResourceSlice>, deleting: bool, parse: impl Fn(&Manifest) -> Option<Arc<Value>>) -> Vec<Member> {
    let mut members = Vec::new();
    for slice in slices {
        let states = slice.status.as_ref().map(|s| s.resources.as_slice()).unwrap_or_default();
        for (index, manifest) in slice.spec.resources.iter().enumerate().filter(|(_, m)| !m.deleted) {
            let Some(object) = parse(manifest) else { continue };
            members.extend(Member::of(&object, states.get(index), deleting));
        }
    }
    members
}

fn is_namespace_named(key: &ResourceKey, name: &str) -> bool {
    key.group.is_empty() && key.kind == "Namespace" && key.name == name
}

/// `(spec.group, spec.names.kind)` of a CustomResourceDefinition manifest.
fn defined_kind(manifest: &Value) -> Option<(String, String)> {
    let api_version = manifest.get("apiVersion")?.as_str()?;
    if group_of(api_version) != "apiextensions.k8s.io" || manifest.get("kind")?.as_str()? != "CustomResourceDefinition" {
        return None;
    }
    let group = manifest.pointer("/spec/group")?.as_str()?;
    let kind = manifest.pointer("/spec/names/kind")?.as_str()?;
    Some((group.to_owned(), kind.to_owned()))
}

/// The members `me` waits for (not done yet), in key order; empty when it may be reconciled.
/// `members` are the synthesis's resources (tombstones left out); `me` not among them is never
/// held back.
pub fn blockers<'a>(members: &'a [Member], me: &ResourceKey, deleting: bool) -> Vec<&'a Member> {
    let Some(this) = members.iter().find(|m| m.key == *me) else { return Vec::new() };
    let previous_group = members.iter().map(|m| m.group).filter(|g| *g < this.group).max();
    let mut waiting: Vec<&Member> = members
        .iter()
        .filter(|m| !m.done)
        .filter(|m| {
            let lower_group = Some(m.group) == previous_group;
            // During deletion a CRD's (or a Namespace's) deletion takes what it holds with it: no wait.
            let its_crd = !deleting && m.defines.as_ref() == Some(&this.addresses);
            // Unless the Namespace is ordered after it: then it would wait for itself.
            let its_namespace = !deleting && m.group <= this.group && !me.namespace.is_empty() && is_namespace_named(&m.key, &me.namespace);
            lower_group || its_crd || its_namespace
        })
        .collect();
    waiting.sort_by(|a, b| a.key.cmp(&b.key));
    waiting.dedup_by(|a, b| a.key == b.key);
    waiting
}

/// What the synthesis is waiting on, for the composition's status: the resources some other
/// resource waits for, named (at most [`NAMED`] of them). `None` when nothing waits.
pub fn waiting_on(members: &[Member], deleting: bool) -> Option<String> {
    let mut all: Vec<&Member> = members.iter().flat_map(|m| blockers(members, &m.key, deleting)).collect();
    all.sort_by(|a, b| a.key.cmp(&b.key));
    all.dedup_by(|a, b| a.key == b.key);
    if all.is_empty() {
        return None;
    }
    let mut named: Vec<String> = all.iter().take(NAMED).map(|m| m.key.describe()).collect();
    if all.len() > NAMED {
        named.push(format!("{} more", all.len() - NAMED));
    }
    let state = if deleting { "deleted" } else { "ready" };
    Some(format!("waiting for {} to be {state}", named.join(", ")))
}

/// How many blocking resources the status names before counting the rest.
const NAMED: usize = 3;

#[cfg(test)]
mod tests;
