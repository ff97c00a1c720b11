//! The invariant checker. It keeps its own copy of the API server's objects, applies every
//! committed event to it in revision order, and checks the invariants against each state, so a
//! violation that heals a moment later is still caught.

use eno::api::{Composition, ResourceSlice, Synthesis};
use eno::api::annotations::{DELETION_STRATEGY, SYMPHONY_DELETING};
use eno::decide::symphony::{annotation_conflicts, owner_symphony};
use eno::decide::synthesis::is_failed;
use fake_apiserver::resource::StorageKey;
use fake_apiserver::store::{Event, EventType, ObjectKey};
use fake_apiserver::ApiServer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    AtMostOnceAnnotation,
    DeletionOrdering,
    NoLoss,
    NoRetryStorm,
    Convergence,
    /// The simulation itself broke: a task panicked, or a user step could not be performed.
    NoPanic,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invariant::AtMostOnceAnnotation => "at-most-once annotation",
            Invariant::DeletionOrdering => "deletion ordering",
            Invariant::NoLoss => "no loss",
            Invariant::NoRetryStorm => "no retry storm",
            Invariant::Convergence => "convergence",
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

/// Runs past this many times for one synthesis is a storm whatever the faults (restarts and
/// failed recordings legitimately re-run an unfinished synthesis a few times).
pub const MAX_RUNS_PER_SYNTHESIS: u64 = 25;

pub struct Checker {
    state: BTreeMap<ObjectKey, Value>,
    /// Syntheses that have finished (succeeded, failed or were canceled): never to run again.
    finished: BTreeSet<String>,
    runs: BTreeMap<String, u64>,
    /// Resources left behind by symphony deletion: they must stay.
    kept: BTreeSet<ObjectKey>,
    /// Resources of compositions that were deleted (with the composition's name): nothing may
    /// bring one back unless a live composition wants it again.
    cleaned: BTreeMap<ObjectKey, String>,
    at_most_once: BTreeSet<String>,
    /// Set while the scenario's user writes: their edits and deletions are not Eno's doing.
    pub user_acting: bool,
    violations: Vec<Violation>,
}

fn eno_key(plural: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey { resource: StorageKey { group: "eno.azure.io".into(), plural: plural.into() }, namespace: namespace.into(), name: name.into() }
}

fn is_composition(key: &ObjectKey) -> bool {
    key.resource.group == "eno.azure.io" && key.resource.plural == "compositions"
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

impl Checker {
    pub fn new(at_most_once: BTreeSet<String>) -> Self {
        Checker {
            state: BTreeMap::new(),
            finished: BTreeSet::new(),
            runs: BTreeMap::new(),
            kept: BTreeSet::new(),
            cleaned: BTreeMap::new(),
            at_most_once,
            user_acting: false,
            violations: Vec::new(),
        }
    }

    /// Starts from what the server already holds.
    pub fn seed(&mut self, server: &ApiServer) {
        self.state = server.store().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    pub fn report(&mut self, invariant: Invariant, at: Duration, revision: Option<u64>, message: String) {
        self.violations.push(Violation { invariant, at, revision, message });
    }

    /// Applies one committed event and checks the state it makes.
    pub fn observe(&mut self, server: &ApiServer, event: &Event, at: Duration) {
        match event.event_type {
            EventType::Deleted => self.state.remove(&event.key),
            EventType::Added | EventType::Modified => self.state.insert(event.key.clone(), event.object.clone()),
        };
        let rev = Some(event.revision);
        let found = if is_composition(&event.key) {
            match event.event_type {
                EventType::Deleted => self.composition_deleted(server, &event.key, &event.object),
                _ => self.composition_changed(&event.object, event.previous.as_ref()),
            }
        } else if event.key.resource.group == "eno.azure.io" && event.key.resource.plural == "resourceslices" && event.event_type == EventType::Deleted {
            self.slice_deleted(&event.key)
        } else if event.key.resource.group != "eno.azure.io" && !self.user_acting && event.event_type == EventType::Added {
            self.resource_added(server, &event.key)
        } else if event.key.resource.group != "eno.azure.io" && !self.user_acting {
            self.resource_changed(server, event)
        } else {
            Vec::new()
        };
        for (invariant, message) in found {
            self.report(invariant, at, rev, message);
        }
    }

    /// The executor was asked to run synthesis `uuid`.
    pub fn synthesis_started(&mut self, uuid: &str, composition: &str, at: Duration) {
        let runs = self.runs.entry(uuid.to_string()).or_default();
        *runs += 1;
        let runs = *runs;
        if self.finished.contains(uuid) {
            self.report(Invariant::NoRetryStorm, at, None, format!("synthesis {uuid} of {composition} ran again after it had finished"));
        } else if runs > MAX_RUNS_PER_SYNTHESIS {
            self.report(Invariant::NoRetryStorm, at, None, format!("synthesis {uuid} of {composition} ran {runs} times"));
        }
    }

    /// Runs of each synthesis so far.
    pub fn runs(&self) -> &BTreeMap<String, u64> {
        &self.runs
    }

    fn composition_changed(&mut self, obj: &Value, previous: Option<&Value>) -> Vec<(Invariant, String)> {
        let mut found = Vec::new();
        let Some(comp) = typed::<Composition>(obj) else { return found };
        let name = format!("{}/{}", comp.metadata.namespace.clone().unwrap_or_default(), comp.metadata.name.clone().unwrap_or_default());
        let status = comp.status.clone().unwrap_or_default();
        let before = previous.and_then(typed::<Composition>).and_then(|c| c.status).unwrap_or_default();
        for s in [&status.current_synthesis, &status.previous_synthesis].into_iter().flatten() {
            if s.synthesized.is_some() || s.canceled.is_some() {
                self.finished.insert(s.uuid.clone());
            }
        }
        // A new synthesis started for exactly what the failed one synthesized.
        if let (Some(started), Some(failed)) = (&status.in_flight_synthesis, &status.current_synthesis) {
            let new = before.in_flight_synthesis.as_ref().is_none_or(|b| b.uuid != started.uuid);
            if new && is_failed(failed) && same_generations(started, failed) {
                found.push((Invariant::NoRetryStorm, format!("{name}: synthesis {} started although the failed synthesis {} saw the same composition and synthesizer generations", started.uuid, failed.uuid)));
            }
        }
        // A failed synthesis must carry the last good synthesis's slices.
        if let (Some(now), Some(was)) = (&status.current_synthesis, &before.current_synthesis) {
            if now.uuid != was.uuid && is_failed(now) && now.resource_slices != was.resource_slices {
                found.push((Invariant::NoLoss, format!("{name}: failed synthesis {} replaced the slices of {} ({:?} -> {:?})", now.uuid, was.uuid, names(&was.resource_slices), names(&now.resource_slices))));
            }
        }
        if !self.at_most_once.is_empty() {
            let compositions: Vec<Composition> = self.state.iter().filter(|(k, _)| is_composition(k)).filter_map(|(_, v)| typed(v)).collect();
            let symphony_name = |uid: &str| compositions.iter().filter_map(owner_symphony).find(|o| o.uid == uid).map_or_else(|| format!("(uid {uid})"), |o| o.name.clone());
            found.extend(annotation_conflicts(&self.at_most_once, &compositions).into_iter().map(|c| {
                (Invariant::AtMostOnceAnnotation, format!("compositions {} of symphony {} all hold annotation {}", c.compositions.join(", "), symphony_name(&c.symphony), c.key))
            }));
        }
        found
    }

    /// A live composition's current synthesis must keep its slices: without them its resources
    /// can be neither reconciled nor cleaned up.
    fn slice_deleted(&self, key: &ObjectKey) -> Vec<(Invariant, String)> {
        self.state
            .iter()
            .filter(|(k, _)| is_composition(k) && k.namespace == key.namespace)
            .filter_map(|(_, v)| typed::<Composition>(v))
            .filter(|c| c.metadata.deletion_timestamp.is_none())
            .filter(|c| c.status.as_ref().and_then(|s| s.current_synthesis.as_ref()).is_some_and(|s| s.resource_slices.iter().any(|r| r.name == key.name)))
            .map(|c| (Invariant::NoLoss, format!("slice {}/{} of the current synthesis of {} was deleted", key.namespace, key.name, c.metadata.name.unwrap_or_default())))
            .collect()
    }

    fn composition_deleted(&mut self, server: &ApiServer, key: &ObjectKey, last: &Value) -> Vec<(Invariant, String)> {
        let Some(comp) = typed::<Composition>(last) else { return Vec::new() };
        let Some(current) = comp.status.as_ref().and_then(|s| s.current_synthesis.clone()) else { return Vec::new() };
        let managed = self.managed(server, &comp, &current);
        let symphony_deleting = comp.metadata.labels.as_ref().and_then(|l| l.get(SYMPHONY_DELETING)).is_some_and(|v| v == "true");
        if symphony_deleting {
            self.kept.extend(managed.into_keys());
            return Vec::new();
        }
        // A resource whose deletion was accepted (deletionTimestamp set, other controllers'
        // finalizers pending) counts as deleted, as in Eno: it cannot wait on foreign finalizers.
        let found = managed
            .keys()
            .filter(|k| self.state.get(*k).is_some_and(|r| r["metadata"]["deletionTimestamp"].is_null()))
            .map(|k| (Invariant::DeletionOrdering, format!("composition {}/{} is gone while its resource {} {}/{} still exists", key.namespace, key.name, k.resource.plural, k.namespace, k.name)))
            .collect();
        let name = format!("{}/{}", key.namespace, key.name);
        self.cleaned.extend(managed.into_keys().map(|k| (k, name.clone())));
        found
    }

    /// A resource of a deleted composition is created again: it outlives the composition that
    /// was its only manager (a leak), unless a live composition wants it now.
    fn resource_added(&mut self, server: &ApiServer, key: &ObjectKey) -> Vec<(Invariant, String)> {
        let Some(deleted) = self.cleaned.get(key).cloned() else { return Vec::new() };
        let wanted = self.state.iter().filter(|(k, _)| is_composition(k)).filter_map(|(_, v)| typed::<Composition>(v)).filter(|c| c.metadata.deletion_timestamp.is_none()).any(|c| {
            c.status.as_ref().and_then(|s| s.current_synthesis.as_ref()).is_some_and(|current| self.managed(server, &c, current).contains_key(key))
        });
        self.cleaned.remove(key);
        if wanted {
            return Vec::new();
        }
        vec![(Invariant::DeletionOrdering, format!("{} {}/{} was created again after its composition {deleted} was deleted", key.resource.plural, key.namespace, key.name))]
    }

    fn resource_changed(&mut self, server: &ApiServer, event: &Event) -> Vec<(Invariant, String)> {
        let mut found = Vec::new();
        let k = &event.key;
        let what = format!("{} {}/{}", k.resource.plural, k.namespace, k.name);
        if event.event_type == EventType::Deleted && self.kept.contains(k) {
            found.push((Invariant::DeletionOrdering, format!("{what} was deleted although its symphony was deleted (its resources stay)")));
        }
        let comps: Vec<Composition> = self.state.iter().filter(|(key, _)| is_composition(key)).filter_map(|(_, v)| typed(v)).collect();
        // Nothing a live composition's current synthesis still wants is deleted.
        if event.event_type == EventType::Deleted {
            for comp in comps.iter().filter(|c| c.metadata.deletion_timestamp.is_none()) {
                let Some(current) = comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()).filter(|s| !is_failed(s)) else { continue };
                if self.managed(server, comp, current).contains_key(k) {
                    let comp_name = comp.metadata.name.clone().unwrap_or_default();
                    found.push((Invariant::DeletionOrdering, format!("{what} was deleted although the current synthesis {} of {comp_name} wants it", current.uuid)));
                }
            }
        }
        // Resources of a composition whose latest synthesis failed belong to the last good one.
        for comp in comps.iter().filter(|c| c.metadata.deletion_timestamp.is_none()) {
            let Some(current) = comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()).filter(|s| is_failed(s)) else { continue };
            let Some(manifest) = self.managed(server, comp, current).remove(k) else { continue };
            let comp_name = comp.metadata.name.clone().unwrap_or_default();
            match event.event_type {
                EventType::Deleted => found.push((Invariant::NoLoss, format!("{what} of the last good synthesis of {comp_name} was deleted after synthesis {} failed", current.uuid))),
                _ => {
                    let previous = event.previous.as_ref().unwrap_or(&Value::Null);
                    for path in leaves(&manifest, "") {
                        let want = pointer(&manifest, &path);
                        if pointer(previous, &path) == want && pointer(&event.object, &path) != want {
                            found.push((Invariant::NoLoss, format!("{what}: field {path} of the last good synthesis of {comp_name} was changed after synthesis {} failed", current.uuid)));
                        }
                    }
                }
            }
        }
        found
    }

    /// What a synthesis manages: its manifests (not tombstones, not orphaned) by storage key.
    fn managed(&self, server: &ApiServer, comp: &Composition, synthesis: &Synthesis) -> BTreeMap<ObjectKey, Value> {
        let ns = comp.metadata.namespace.clone().unwrap_or_default();
        let mut out = BTreeMap::new();
        for r in &synthesis.resource_slices {
            let Some(slice) = self.state.get(&eno_key("resourceslices", &ns, &r.name)).and_then(typed::<ResourceSlice>) else { continue };
            for m in slice.spec.resources.iter().filter(|m| !m.deleted) {
                let Ok(obj) = m.object() else { continue };
                if obj["metadata"]["annotations"][DELETION_STRATEGY].as_str() == Some("orphan") {
                    continue;
                }
                let (Some(api_version), Some(kind), Some(name)) = (obj["apiVersion"].as_str(), obj["kind"].as_str(), obj["metadata"]["name"].as_str()) else { continue };
                let Ok(target) = server.target_for(api_version, kind, obj["metadata"]["namespace"].as_str(), Some(name)) else { continue };
                let namespace = if target.resource.namespaced { target.namespace.clone().unwrap_or_default() } else { String::new() };
                out.insert(ObjectKey { resource: target.resource.storage_key(), namespace, name: name.to_string() }, obj);
            }
        }
        out
    }
}

fn same_generations(a: &Synthesis, b: &Synthesis) -> bool {
    a.observed_composition_generation == b.observed_composition_generation && a.observed_synthesizer_generation == b.observed_synthesizer_generation
}

fn names(refs: &[eno::api::ResourceSliceRef]) -> Vec<&str> {
    refs.iter().map(|r| r.name.as_str()).collect()
}

/// JSON pointers of the fields a manifest sets (Eno's own metadata aside).
fn leaves(v: &Value, prefix: &str) -> Vec<String> {
    match v {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !(prefix.is_empty() && matches!(k.as_str(), "apiVersion" | "kind")))
            .filter(|(k, _)| !(prefix == "/metadata" && k.as_str() == "annotations"))
            .flat_map(|(k, v)| leaves(v, &format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"))))
            .collect(),
        _ => vec![prefix.to_string()],
    }
}

fn pointer<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    v.pointer(path)
}

#[cfg(test)]
mod tests;
