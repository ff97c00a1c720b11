//! Pure decisions of the reconcilers: **decision → step → executor**.
//!
//! Each reconciler's pass is a decision here: a function of observed state only (no I/O, no
//! clock: `now` is a parameter; no randomness: jitter takes a caller-supplied seed) that
//! returns a value naming the ONE next step:
//!
//! - a write ([`step::Write`]): which write, on which object, with which precondition
//!   (resourceVersion, uid, JSON-patch `test`), carried out by the single write executor in
//!   `controllers::writes`;
//! - an uncached read to make first, after which the decision is asked again with its result
//!   ([`step::Fresh`]);
//! - a requeue after a duration, or nothing.
//!
//! `controllers` gathers the observed state (informer caches, plus the fresh reads a decision
//! asks for), calls the decision and interprets the step. That keeps each pass "read, decide,
//! one write", makes the decisions replayable in the simulator, and lets them be tested
//! exhaustively without an API server or a runtime.
//!
//! - [`composition`]: the composition controller's next step (finalizer, starting syntheses,
//!   slice cleanup, status, deletion);
//! - [`dependencies`]: composition `dependsOn`: what holds a synthesis (or a deletion) back,
//!   cycles, and the topological order;
//! - [`synthesis`]: which synthesis to start, how a finished one changes the status, and the
//!   synthesis runner's steps ([`synthesis::runner`]: claim, run, write slices, record);
//! - [`slices`]: packing a synthesis's output (and tombstones) into ResourceSlices;
//! - [`resource`]: the action for one managed resource (create, three-way patch, delete, ...);
//! - [`ordering`]: which resources of a synthesis wait for others (readiness and deletion
//!   groups, CRDs before their custom resources);
//! - [`refusal`]: what a failed request means for a managed resource, and when one the server
//!   refuses (missing namespace, unserved kind, 403, 422) is tried again;
//! - [`resource`]: the action for one managed resource (create, three-way patch, delete, ...),
//!   with [`patch`] (Eno's `Patch` pseudo-kind), [`cascade`] (composition annotations every
//!   resource inherits) and [`fail_open`] (errors that do not hold a composition back);
//! - [`rollout`]: the cooldown pacing deferred syntheses across replicas, and halting a
//!   rollout the new synthesizer version broke;
//! - [`shard`]: which compositions and resources this controller handles (Eno's sharding
//!   flags);
//! - [`status`]: the composition's simplified status and the aggregation of slice states;
//! - [`symphony`]: the symphony's next write, fenced so an annotation is on at most one
//!   composition;
//! - [`step`]: the vocabulary of steps: writes, fresh reads, the addresses of Eno's objects.

pub mod cascade;
pub mod cel;
pub mod composition;
pub mod dependencies;
pub mod fail_open;
pub mod inputs;
pub mod memo;
pub mod watchdog;
pub mod overrides;
pub mod ordering;
pub mod patch;
pub mod readiness;
pub mod refusal;
pub mod resource;
pub mod rollout;
pub mod shard;
pub mod slices;
pub mod status;
pub mod step;
pub mod symphony;
pub mod synthesis;

use serde_json::Value;

/// Identity of a managed resource across syntheses: Eno's `(group, kind, namespace, name)`. The
/// version is deliberately not part of it, so a synthesizer moving `apps/v1beta1` → `apps/v1`
/// keeps managing the same object instead of tombstoning it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// `""` for the core group.
    pub group: String,
    pub kind: String,
    /// `""` for cluster-scoped objects (or namespaced ones that rely on a default).
    pub namespace: String,
    pub name: String,
}

impl ResourceKey {
    /// The key of a manifest, or `None` when it lacks `apiVersion`, `kind` or `metadata.name`
    /// (synthesis validation rejects such manifests, so they never reach a slice).
    pub fn of(manifest: &Value) -> Option<Self> {
        let api_version = manifest.get("apiVersion")?.as_str()?;
        let kind = manifest.get("kind")?.as_str()?;
        let metadata = manifest.get("metadata")?;
        let name = metadata.get("name")?.as_str()?;
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return None;
        }
        let namespace = metadata.get("namespace").and_then(Value::as_str).unwrap_or("");
        Some(Self {
            group: group_of(api_version).to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl ResourceKey {
    /// As a person names it: `Kind namespace/name`, or `Kind name` when cluster-scoped.
    pub fn describe(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl std::fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() { "core" } else { &self.group };
        if self.namespace.is_empty() {
            write!(f, "{group}/{}/{}", self.kind, self.name)
        } else {
            write!(f, "{group}/{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The API group of an `apiVersion`: `"apps"` for `apps/v1`, `""` for `v1`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_version_and_defaults_namespace() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}});
        let b = json!({"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}});
        assert_eq!(ResourceKey::of(&a), ResourceKey::of(&b));
        let core =
            ResourceKey::of(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}))
                .unwrap();
        assert_eq!((core.group.as_str(), core.namespace.as_str()), ("", ""));
        assert_eq!(core.to_string(), "core/Namespace/x");
        assert_eq!(ResourceKey::of(&a).unwrap().to_string(), "apps/Deployment/ns/d");
    }

    #[test]
    fn key_needs_identity_fields() {
        assert_eq!(ResourceKey::of(&json!({"kind": "ConfigMap", "metadata": {"name": "a"}})), None);
        assert_eq!(ResourceKey::of(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})), None);
        assert_eq!(
            ResourceKey::of(&json!({"apiVersion": "v1", "kind": "", "metadata": {"name": "a"}})),
            None
        );
        assert_eq!(ResourceKey::of(&json!("nope")), None);
    }
}
