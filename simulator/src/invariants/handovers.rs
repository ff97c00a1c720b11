//! Handovers: the overrides Eno's manifests carry can hand a managed object over to another
//! client (the scenario's `handovers` state the rule, so the checker need not evaluate
//! overrides). While the object carries the marker, Eno changes none of the fields handed over
//! and, if the object is kept, neither deletes it nor begins its deletion. Judged on the object
//! as committed just before Eno's write: a write decided on a copy read before the other client
//! took the object over must not land on it.

use super::{describe, Checker, Found, Invariant};
use crate::reading;
use crate::scenario::field;
use fake_apiserver::shared::ObservedEvent;
use fake_apiserver::store::EventType;
use serde_json::Value;

impl Checker {
    /// Eno's write `event` to a managed object that was `previous` just before.
    pub(super) fn handed_over_left_alone(&self, event: &ObservedEvent, previous: Option<&Value>) -> Found {
        let Some(previous) = previous else { return Vec::new() };
        let what = describe(&event.key);
        let mut found = Vec::new();
        for handover in self.handovers.iter().filter(|h| h.marks(previous)) {
            let marker = format!("{}={}", handover.annotation, handover.value);
            let deletion_began = event.event_type == EventType::Deleted || (reading::is_deleting(&event.object) && !reading::is_deleting(previous));
            if handover.keep && deletion_began {
                found.push((Invariant::Handover, format!("{what} was deleted although another client took it over ({marker}: Eno orphans it)")));
            }
            if event.event_type == EventType::Deleted {
                continue;
            }
            for path in handover.fields.iter().filter(|path| field(previous, path) != field(&event.object, path)) {
                let (before, after) = (field(previous, path).unwrap_or(&Value::Null), field(&event.object, path).unwrap_or(&Value::Null));
                found.push((Invariant::Handover, format!("{what}: field {path} was changed from {before} to {after} although another client took it over ({marker})")));
            }
        }
        found
    }

    /// Whether `obj` is kept by another client: Eno orphans it rather than delete it.
    pub(super) fn kept_by_another_client(&self, obj: &Value) -> bool {
        self.handovers.iter().any(|h| h.keep && h.marks(obj))
    }
}
