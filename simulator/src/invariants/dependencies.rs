//! Dependency order (composition `dependsOn`), the checker's own reading:
//! - a composition starts a synthesis (a new in-flight uuid) only while every composition it
//!   depends on exists and has a ready current synthesis (a cycle never gets there);
//! - no resource of a deleting composition is deleted while a composition that depends on it
//!   still exists (one deleting counts until it has let go of its cleanup finalizer), unless
//!   its symphony is being deleted (then its resources stay anyway).

use super::{describe, Checker, Found, Invariant};
use crate::reading::{self, Slot};
use fake_apiserver::store::ObjectKey;
use fake_apiserver::ApiServer;
use serde_json::Value;

/// `namespace/name` of each composition `comp` depends on (its own namespace when unnamed).
fn dependencies(comp: &Value) -> Vec<String> {
    let own = reading::str_at(comp, "/metadata/namespace");
    comp["spec"]["dependsOn"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{}/{}", d["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or(own), d["name"].as_str().unwrap_or_default()))
        .collect()
}

fn ready(comp: &Value) -> bool {
    reading::synthesis(comp, Slot::Current).is_some_and(|s| !s["ready"].is_null())
}

impl Checker {
    fn composition_named(&self, name: &str) -> Option<&Value> {
        let (namespace, name) = name.split_once('/')?;
        self.state.get(&super::eno_key("compositions", namespace, name)).map(|v| &**v)
    }

    /// A composition that started a synthesis had every dependency ready.
    pub(super) fn started_after_dependencies(&self, comp: &Value, previous: Option<&Value>) -> Found {
        let Some(in_flight) = reading::synthesis(comp, Slot::InFlight) else { return Vec::new() };
        let uuid = reading::synthesis_uuid(in_flight);
        if previous.and_then(|p| reading::synthesis(p, Slot::InFlight)).map(reading::synthesis_uuid) == Some(uuid) || reading::is_deleting(comp) {
            return Vec::new();
        }
        dependencies(comp)
            .into_iter()
            .filter_map(|dep| {
                let why = match self.composition_named(&dep) {
                    None => "does not exist",
                    Some(found) if !ready(found) => "is not ready",
                    Some(_) => return None,
                };
                Some((Invariant::DependencyOrder, format!("{} started synthesis {uuid} while its dependency {dep} {why}", reading::name_of(comp))))
            })
            .collect()
    }

    /// A deleted resource did not belong to a deleting composition that still has dependents.
    pub(super) fn deleted_after_dependents(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let deleting = self.deleting_current_syntheses();
        let mut found = Vec::new();
        for (namespace, comp, current) in deleting {
            let name = reading::name_of(&comp);
            if !self.managed(server, &namespace, &current).contains_key(key) {
                continue;
            }
            let remaining: Vec<String> = self
                .state
                .iter()
                .filter(|(k, v)| super::is_composition(k) && dependencies(v).contains(&name))
                .filter(|(_, v)| !reading::is_deleting(v) || reading::finalizers(v).any(|f| f == eno::api::CLEANUP_FINALIZER))
                .map(|(_, v)| reading::name_of(v))
                .collect();
            if !remaining.is_empty() {
                found.push((Invariant::DependencyOrder, format!("{} of deleting composition {name} was deleted while {} depending on it remain", describe(key), remaining.join(", "))));
            }
        }
        found
    }
}
