//! The invariant checker: an independent judge. It keeps its own copy of the API server's
//! objects, applies every committed event to it in revision order, and checks the invariants
//! against each state, so a violation that heals a moment later is still caught. It reads the raw
//! objects with the simulator's own reading of the spec ([`crate::reading`]) and never calls the
//! controller's decision code.
//!
//! One module per invariant family, each an `impl Checker` block over the shared state:
//! `annotations` (at-most-once), `syntheses` (bounded syntheses, retry backoff), `rollout`
//! (rollout cooldown), `dependencies` (dependency order), `ordering` (resource order), `deletion` (deletion ordering, symphony deletion, no leaks), `loss`
//! (no loss), `patches` (patches never create), `handovers` (what another client took over
//! stays its own) and `refusals` (refusal backoff, judged from the
//! requests the server answered rather than from commits).

mod annotations;
mod deletion;
mod dependencies;
mod handovers;
pub mod leader;
mod loss;
mod ordering;
mod refusals;
mod patches;
mod rollout;
mod syntheses;

pub use syntheses::SynthesisRun;

use crate::reading;
use crate::scenario::Handover;
use fake_apiserver::resource::StorageKey;
use fake_apiserver::shared::{AuditEvent, ObservedEvent};
use fake_apiserver::store::{EventType, ObjectKey};
use fake_apiserver::ApiServer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    AtMostOnceAnnotation,
    DeletionOrdering,
    NoLoss,
    /// At most one synthesizer run per composition input (generations and input revisions),
    /// plus one per crash that could have interrupted one; never two runs of one synthesis at
    /// once, never a finished synthesis again, never a failed one restarted without a change.
    BoundedSyntheses,
    /// Nothing of a deleted composition or symphony outlives it once garbage collection ran.
    NoLeaks,
    /// No synthesizer run reads inputs that disagree on `eno.azure.io/revision`.
    InputLockstep,
    /// A synthesis canceled by a failure worth retrying is started again no sooner than its
    /// backoff: 2 s after the cancellation, doubling with each attempt, at most 5 minutes.
    RetryBackoff,
    /// Deferred syntheses (a rollout's) start at least the cooldown apart, across replicas.
    RolloutCooldown,
    /// A resource the API server refused (a create answered 400, 403, 404 or 422) is asked
    /// for at most 6 times in any minute by a replica (its backoff: 2 s doubling to 30 s).
    RefusalBackoff,
    /// A composition synthesizes only once its dependencies are ready, and its resources are
    /// deleted only once no composition depending on it remains.
    DependencyOrder,
    /// Readiness groups, CRDs before their custom resources, and deletion groups: no resource
    /// is created (or, its composition deleting, deleted) before those it waits for.
    ResourceOrder,
    /// Eno never creates an object that slices name only as the target of a Patch (Eno's
    /// `Patch` pseudo-kind changes existing objects only).
    PatchesNeverCreate,
    /// While another client holds a managed object its overrides hand over, Eno neither
    /// changes the fields handed over nor deletes an object kept that way.
    Handover,
    /// With leader election: one holder per term, only the holder's replica writes, and a lost
    /// leader is replaced within a bound.
    SingleLeader,
    Convergence,
    /// No livelock: replicas do not answer each other's writes in a storm (at one instant,
    /// one would stop virtual time from ever reaching the deadline).
    Progress,
    /// The simulation itself broke: a task panicked, or a user step could not be performed.
    NoPanic,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invariant::AtMostOnceAnnotation => "at-most-once annotation",
            Invariant::DeletionOrdering => "deletion ordering",
            Invariant::NoLoss => "no loss",
            Invariant::BoundedSyntheses => "bounded syntheses",
            Invariant::NoLeaks => "no leaks",
            Invariant::RetryBackoff => "retry backoff",
            Invariant::InputLockstep => "input lockstep",
            Invariant::RolloutCooldown => "rollout cooldown",
            Invariant::RefusalBackoff => "refusal backoff",
            Invariant::DependencyOrder => "dependency order",
            Invariant::ResourceOrder => "resource order",
            Invariant::PatchesNeverCreate => "patches never create",
            Invariant::Handover => "handover",
            Invariant::SingleLeader => "single leader",
            Invariant::Convergence => "convergence",
            Invariant::Progress => "progress",
            Invariant::NoPanic => "no panic",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub invariant: Invariant,
    /// Virtual time since the simulation started.
    pub at: Duration,
    /// The revision whose committed state broke it (none for checks outside a commit).
    pub revision: Option<u64>,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violated at {:.3}s", self.invariant, self.at.as_secs_f64())?;
        if let Some(rev) = self.revision {
            write!(f, " (revision {rev})")?;
        }
        write!(f, ": {}", self.message)
    }
}

type Found = Vec<(Invariant, String)>;

pub struct Checker {
    /// Shared with the observed events: applying an event copies no object.
    state: BTreeMap<ObjectKey, Arc<Value>>,
    /// Where each (apiVersion, kind) is stored, and whether it is namespaced; resolved once.
    kinds: BTreeMap<(String, String), (StorageKey, bool)>,
    /// Each slice's managed manifests, with the resourceVersion they were parsed at.
    manifests: BTreeMap<ObjectKey, (String, Arc<[Value]>)>,
    annotations: annotations::Holders,
    syntheses: syntheses::Runs,
    rollout: rollout::Pacing,
    deletion: deletion::Deletions,
    readiness: ordering::Readiness,
    leader: leader::Terms,
    refused: refusals::Refused,
    /// What other clients may take over from Eno (the scenario's `handovers`).
    handovers: Vec<Handover>,
    /// Set while the scenario's user writes: their edits and deletions are not Eno's doing.
    pub user_acting: bool,
    violations: Vec<Violation>,
}

fn eno_key(plural: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey { resource: StorageKey { group: "eno.azure.io".into(), plural: plural.into() }, namespace: namespace.into(), name: name.into() }
}

fn is_eno(key: &ObjectKey, plural: &str) -> bool {
    key.resource.group == "eno.azure.io" && key.resource.plural == plural
}

fn is_composition(key: &ObjectKey) -> bool {
    is_eno(key, "compositions")
}

fn describe(key: &ObjectKey) -> String {
    format!("{} {}/{}", key.resource.plural, key.namespace, key.name)
}

impl Checker {
    /// A checker for a scenario whose symphonies keep each of `at_most_once` on at most one
    /// composition at a time.
    pub fn new(at_most_once: BTreeSet<String>) -> Self {
        Checker {
            state: BTreeMap::new(),
            kinds: BTreeMap::new(),
            manifests: BTreeMap::new(),
            annotations: annotations::Holders::new(at_most_once),
            syntheses: syntheses::Runs::default(),
            rollout: rollout::Pacing::default(),
            deletion: deletion::Deletions::default(),
            readiness: ordering::Readiness::default(),
            leader: leader::Terms::default(),
            refused: refusals::Refused::default(),
            handovers: Vec::new(),
            user_acting: false,
            violations: Vec::new(),
        }
    }

    /// Judges deferred syntheses against this rollout cooldown (zero: not judged).
    pub fn with_rollout_cooldown(mut self, cooldown: Duration) -> Self {
        self.rollout.cooldown = cooldown;
        self
    }

    /// Judges Eno's writes to objects other clients take over (see [`handovers`]).
    pub fn with_handovers(mut self, handovers: Vec<Handover>) -> Self {
        self.handovers = handovers;
        self
    }

    /// Judges the replicas' leader election (see [`leader`]).
    pub fn with_leader_election(mut self, election: leader::Election) -> Self {
        self.leader = leader::Terms::new(Some(election));
        self
    }

    /// Judges who made a committed write: `actor` is a replica (`eno-N`), the user or the API
    /// server.
    pub fn written_by(&mut self, event: &ObservedEvent, actor: &str, at: Duration) {
        let takeovers = self.leader.takeovers();
        let found = self.leader.committed(event, actor, at);
        self.syntheses.replicas_lost(self.leader.takeovers() - takeovers);
        self.report_all(found, at, Some(event.revision));
    }

    /// Replica `name` came up or became reachable (`available`), or went down or was cut off.
    pub fn replica_available(&mut self, name: &str, available: bool, at: Duration) {
        if available {
            self.refused.replica_available(name);
        }
        let found = self.leader.replica_available(name, available, at);
        self.report_all(found, at, None);
    }

    /// Replica `replica`'s request was answered (uncommitted ones too: a refusal commits
    /// nothing).
    pub fn answered(&mut self, replica: &str, event: &AuditEvent, at: Duration) {
        let found = self.refused.answered(replica, event, at);
        self.report_all(found, at, None);
    }

    /// Starts from what the server already holds, but for the CustomResourceDefinitions
    /// installed before the run (Eno's own, with their large schemas: thawing them into every
    /// world cost 3% of a run). No invariant reads a live CRD; one only looks up a managed
    /// resource by key, and a synthesis emitting one of Eno's own CRDs would add it to the state
    /// with its first write.
    pub fn seed(&mut self, server: &ApiServer) {
        let installed_crd = |k: &ObjectKey| k.resource.group == "apiextensions.k8s.io" && k.resource.plural == "customresourcedefinitions";
        self.state = server.store().iter().filter(|(k, _)| !installed_crd(k)).map(|(k, v)| (k.clone(), Arc::new(v.to_value()))).collect();
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    pub fn report(&mut self, invariant: Invariant, at: Duration, revision: Option<u64>, message: String) {
        self.violations.push(Violation { invariant, at, revision, message });
    }

    fn report_all(&mut self, found: Found, at: Duration, revision: Option<u64>) {
        for (invariant, message) in found {
            self.report(invariant, at, revision, message);
        }
    }

    /// Applies one committed event and checks the state it makes.
    pub fn observe(&mut self, server: &ApiServer, event: &ObservedEvent, at: Duration) {
        let previous = match event.event_type {
            EventType::Deleted => self.state.remove(&event.key),
            EventType::Added | EventType::Modified => self.state.insert(event.key.clone(), event.object.clone()),
        };
        let previous = previous.or_else(|| event.previous.clone());
        let key = &event.key;
        let mut found = if key.resource.group == "eno.azure.io" && !self.user_acting { self.foreign_finalizers_kept(event, previous.as_deref()) } else { Vec::new() };
        found.extend(if is_composition(key) {
            let mut found = self.annotations.composition_changed(key, (event.event_type != EventType::Deleted).then_some(&*event.object));
            found.extend(self.composition_changed(server, event, previous.as_deref(), at));
            found
        } else if is_eno(key, "symphonies") {
            self.deletion.symphony_changed(&event.object, event.event_type == EventType::Deleted);
            self.keep_resources_of_deleting_symphonies(server)
        } else if is_eno(key, "resourceslices") {
            self.slice_changed(server, event)
        } else if self.user_acting {
            Vec::new()
        } else {
            self.resource_changed(server, event, previous.as_deref())
        });
        self.report_all(found, at, Some(event.revision));
    }

    fn composition_changed(&mut self, server: &ApiServer, event: &ObservedEvent, previous: Option<&Value>, at: Duration) -> Found {
        let mut found = Vec::new();
        match event.event_type {
            EventType::Deleted => {
                self.syntheses.composition_deleted(&event.object);
                found.extend(self.composition_deleted(server, &event.key, &event.object));
            }
            EventType::Added | EventType::Modified => {
                found.extend(self.syntheses.composition_changed(&event.object, previous));
                found.extend(self.syntheses.retry_kept_backoff(&event.object, at));
                found.extend(self.rollout.composition_changed(&event.object, previous, at));
                found.extend(self.started_after_dependencies(&event.object, previous));
                found.extend(self.failed_synthesis_kept_slices(&event.object, previous));
                found.extend(self.keep_resources_of_deleting_symphonies(server));
            }
        }
        found
    }

    fn slice_changed(&mut self, server: &ApiServer, event: &ObservedEvent) -> Found {
        match event.event_type {
            // The user may lose a slice (a scenario's `loseSlices`); Eno must not.
            EventType::Deleted if self.user_acting => Vec::new(),
            EventType::Deleted => self.slice_deleted(&event.key),
            // A deleting symphony's composition may have just gained the slice of a resource to keep.
            EventType::Added | EventType::Modified => {
                self.readiness.slice_changed(&event.object);
                self.keep_resources_of_deleting_symphonies(server)
            }
        }
    }

    fn resource_changed(&mut self, server: &ApiServer, event: &ObservedEvent, previous: Option<&Value>) -> Found {
        let mut found = Vec::new();
        if event.event_type == EventType::Added {
            found.extend(self.resource_added(server, &event.key));
            found.extend(self.created_in_order(server, &event.key));
            found.extend(self.created_for_a_patch(server, &event.key));
        }
        if event.event_type == EventType::Deleted {
            found.extend(self.resource_deleted(server, &event.key));
            found.extend(self.deleted_after_dependents(server, &event.key));
        }
        // Its deletion began: gone at once, or held by finalizers.
        let was_deleting = previous.is_some_and(reading::is_deleting);
        if !was_deleting && (event.event_type == EventType::Deleted || reading::is_deleting(&event.object)) {
            found.extend(self.deleted_in_order(server, &event.key));
            found.extend(self.orphans_kept(server, &event.key));
        }
        found.extend(self.last_good_resource_changed(server, event, previous));
        found.extend(self.handed_over_left_alone(event, previous));
        found
    }

    /// Checks that need the run to be over: called at the deadline, once faults have long
    /// stopped and garbage collection has had time to run.
    pub fn finish(&mut self, at: Duration) {
        let mut found = self.leaks();
        found.extend(self.leader.failover_overdue(at));
        self.report_all(found, at, None);
    }

    /// The live (not deleting) compositions, by key.
    fn live_compositions(&self) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.state.iter().filter(|(k, v)| is_composition(k) && !reading::is_deleting(v)).map(|(k, v)| (k, &**v))
    }

    /// Where `apiVersion`/`kind` is stored (asks the server's discovery until it knows the kind).
    fn storage(&mut self, server: &ApiServer, api_version: &str, kind: &str) -> Option<(StorageKey, bool)> {
        // Only found kinds are remembered: a custom resource's kind appears with its CRD.
        let id = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.get(&id) {
            return Some(found.clone());
        }
        let found = server.target_for(api_version, kind, None, None).ok().map(|t| (t.resource.storage_key(), t.resource.namespaced))?;
        self.kinds.insert(id, found.clone());
        Some(found)
    }

    /// What a synthesis of a composition in `namespace` manages: the manifests of its slices,
    /// by storage key.
    fn managed(&mut self, server: &ApiServer, namespace: &str, synthesis: &Value) -> BTreeMap<ObjectKey, Value> {
        let mut out = BTreeMap::new();
        for slice in reading::slice_names(synthesis) {
            let Some(manifests) = self.slice_manifests(&eno_key("resourceslices", namespace, slice)) else { continue };
            for manifest in manifests.iter() {
                let Some(key) = self.key_of(server, manifest) else { continue };
                out.insert(key, manifest.clone());
            }
        }
        out
    }

    /// Where a manifest's object is stored (`None` for a kind the server does not serve yet).
    fn key_of(&mut self, server: &ApiServer, manifest: &Value) -> Option<ObjectKey> {
        let (api_version, kind, name) = (reading::str_at(manifest, "/apiVersion"), reading::str_at(manifest, "/kind"), reading::str_at(manifest, "/metadata/name"));
        let (resource, namespaced) = self.storage(server, api_version, kind)?;
        let namespace = if namespaced { reading::str_at(manifest, "/metadata/namespace").to_string() } else { String::new() };
        Some(ObjectKey { resource, namespace, name: name.to_string() })
    }

    /// The managed manifests of the slice at `key` in the state, parsed once per revision of the
    /// slice: the checker asks for them on most events, and parsing them was most of its time.
    fn slice_manifests(&mut self, key: &ObjectKey) -> Option<Arc<[Value]>> {
        let slice = self.state.get(key)?;
        let revision = reading::str_at(slice, "/metadata/resourceVersion");
        match self.manifests.get(key) {
            Some((parsed_at, manifests)) if parsed_at == revision => Some(manifests.clone()),
            _ => {
                let manifests: Arc<[Value]> = reading::managed_manifests(slice).collect();
                self.manifests.insert(key.clone(), (revision.to_string(), manifests.clone()));
                Some(manifests)
            }
        }
    }

    /// The live compositions' (namespace, name, current synthesis), copied out of the state so
    /// the checker can look at their syntheses while it updates itself.
    fn live_current_syntheses(&self, keep: impl Fn(&Value) -> bool) -> Vec<(String, String, Value)> {
        self.live_compositions()
            .filter_map(|(k, comp)| Some((k.namespace.clone(), k.name.clone(), reading::synthesis(comp, reading::Slot::Current).filter(|s| keep(s))?.clone())))
            .collect()
    }

    /// The deleting compositions whose resources go with them (not a deleting symphony's):
    /// (namespace, the composition, its current synthesis), copied out of the state.
    fn deleting_current_syntheses(&self) -> Vec<(String, Value, Value)> {
        self.state
            .iter()
            .filter(|(k, v)| is_composition(k) && reading::is_deleting(v) && !reading::has_label(v, eno::api::annotations::SYMPHONY_DELETING, "true"))
            .filter_map(|(k, v)| Some((k.namespace.clone(), (**v).clone(), reading::synthesis(v, reading::Slot::Current)?.clone())))
            .collect()
    }

    /// What the current synthesis of some live composition wants, with that composition's name.
    fn wanted_by_live(&mut self, server: &ApiServer, key: &ObjectKey) -> Option<(String, Value)> {
        self.live_current_syntheses(|_| true)
            .into_iter()
            .find_map(|(namespace, name, current)| self.managed(server, &namespace, &current).contains_key(key).then(|| (format!("{namespace}/{name}"), current)))
    }
}

#[cfg(test)]
mod tests;
