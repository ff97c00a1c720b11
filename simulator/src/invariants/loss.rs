//! No loss: a failed synthesis never takes away what the last good one made. Its status carries
//! the last good synthesis's slices, those slices stay while the composition lives, and Eno
//! neither deletes the last good resources nor moves their fields away from the last good
//! values (the scenario's user may). Nor does Eno touch another client's finalizers on its
//! own kinds.

use super::{describe, is_composition, is_eno, Checker, Found, Invariant};
use crate::reading::{self, Slot};
use fake_apiserver::shared::ObservedEvent;
use fake_apiserver::store::{EventType, ObjectKey};
use fake_apiserver::ApiServer;
use serde_json::Value;

impl Checker {
    /// A newly failed current synthesis must carry the slices of the one it replaced.
    pub(super) fn failed_synthesis_kept_slices(&self, comp: &Value, previous: Option<&Value>) -> Found {
        let (Some(now), Some(was)) = (reading::synthesis(comp, Slot::Current), previous.and_then(|p| reading::synthesis(p, Slot::Current))) else { return Vec::new() };
        if reading::synthesis_uuid(now) == reading::synthesis_uuid(was) || !reading::is_failed(now) || reading::slice_names(now) == reading::slice_names(was) {
            return Vec::new();
        }
        let message = format!(
            "{}: failed synthesis {} replaced the slices of {} ({:?} -> {:?})",
            reading::name_of(comp),
            reading::synthesis_uuid(now),
            reading::synthesis_uuid(was),
            reading::slice_names(was),
            reading::slice_names(now)
        );
        vec![(Invariant::NoLoss, message)]
    }

    /// On Eno's own kinds, a finalizer other than Eno's belongs to another client (here, the
    /// scenario's user): a write by anyone else that drops one takes that client's hold away,
    /// and one that brings back a finalizer its client removed holds the object forever.
    pub(super) fn foreign_finalizers_kept(&self, event: &ObservedEvent, previous: Option<&Value>) -> Found {
        let (EventType::Modified, Some(previous)) = (event.event_type, previous) else { return Vec::new() };
        let foreign = |obj: &Value| -> Vec<String> { reading::finalizers(obj).filter(|f| !reading::is_enos_finalizer(f)).map(str::to_string).collect() };
        let (before, after) = (foreign(previous), foreign(&event.object));
        let what = describe(&event.key);
        let dropped = before.iter().filter(|f| !after.contains(f)).map(|f| (Invariant::NoLoss, format!("{what}: another client's finalizer {f} was removed by a write not of that client")));
        let added = after.iter().filter(|f| !before.contains(f)).map(|f| (Invariant::NoLoss, format!("{what}: finalizer {f} was brought back by a write not of its client")));
        // Eno lets go of a composition or symphony only once its deletion is requested (a
        // write made on a stale copy, without its resourceVersion, could drop the finalizer).
        let held = |obj: &Value| reading::finalizers(obj).any(|f| f == reading::CLEANUP_FINALIZER);
        let live_release = (is_composition(&event.key) || is_eno(&event.key, "symphonies")) && held(previous) && !held(&event.object) && !reading::is_deleting(&event.object);
        let released = live_release.then(|| (Invariant::NoLoss, format!("{what}: its {} finalizer was removed before its deletion was requested", reading::CLEANUP_FINALIZER)));
        dropped.chain(added).chain(released).collect()
    }

    /// A live composition's current synthesis must keep its slices: without them its resources
    /// can be neither reconciled nor cleaned up.
    pub(super) fn slice_deleted(&self, key: &ObjectKey) -> Found {
        self.live_compositions()
            .filter(|(k, _)| k.namespace == key.namespace)
            .filter(|(_, comp)| reading::synthesis(comp, Slot::Current).is_some_and(|s| reading::slice_names(s).contains(&key.name.as_str())))
            .map(|(k, _)| (Invariant::NoLoss, format!("slice {}/{} of the current synthesis of {} was deleted", key.namespace, key.name, k.name)))
            .collect()
    }

    /// Resources of a composition whose latest synthesis failed belong to the last good one.
    pub(super) fn last_good_resource_changed(&mut self, server: &ApiServer, event: &ObservedEvent, previous: Option<&Value>) -> Found {
        let failed = self.live_current_syntheses(reading::is_failed);
        let mut found = Vec::new();
        let what = describe(&event.key);
        for (namespace, name, current) in failed {
            let Some(manifest) = self.managed(server, &namespace, &current).remove(&event.key) else { continue };
            let uuid = reading::synthesis_uuid(&current);
            match event.event_type {
                EventType::Deleted => found.push((Invariant::NoLoss, format!("{what} of the last good synthesis of {name} was deleted after synthesis {uuid} failed"))),
                EventType::Added | EventType::Modified => {
                    let before = previous.unwrap_or(&Value::Null);
                    for path in leaves(&manifest, "") {
                        let want = manifest.pointer(&path);
                        if before.pointer(&path) == want && event.object.pointer(&path) != want {
                            found.push((Invariant::NoLoss, format!("{what}: field {path} of the last good synthesis of {name} was changed after synthesis {uuid} failed")));
                        }
                    }
                }
            }
        }
        found
    }
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
