//! What a run expects of the cluster, read from the server's state: a scenario's `expect` at the
//! deadline (the same conditions gate steps as `waitFor`), and what every scenario expects once
//! faults have long stopped — every composition settled. Whatever is unmet at the deadline is a
//! convergence violation.

use crate::reading::{self, Slot};
use crate::scenario::{field, Address, Expectations, Scenario};
use eno::synthesis::SimulatedExecutor;
use fake_apiserver::SharedApiServer;

/// Everything unmet at the deadline: the scenario's expectations (synthesizer run counts only in
/// a fault-free run), then compositions that have not settled.
pub(super) fn unmet_at_deadline(scenario: &Scenario, server: &SharedApiServer, executor: &SimulatedExecutor, fault_free: bool) -> Vec<String> {
    let mut unmet = unmet(&scenario.expect, server, executor, fault_free);
    unmet.extend(unsettled_compositions(server, &scenario.expect));
    unmet
}

/// The expectations the server's state does not meet.
pub(super) fn unmet(expect: &Expectations, server: &SharedApiServer, executor: &SimulatedExecutor, fault_free: bool) -> Vec<String> {
    let get = |a: &Address| server.with(|s| s.target_for(&a.api_version, &a.kind, a.namespace.as_deref(), Some(&a.name)).and_then(|t| s.get(&t, None)).ok());
    let mut unmet = Vec::new();
    for e in &expect.present {
        let Some(obj) = get(&e.address) else {
            unmet.push(format!("{} is missing", e.address));
            continue;
        };
        for (path, want) in &e.fields {
            let got = field(&obj, path);
            if got != Some(want) {
                unmet.push(format!("{} has {path} = {}, want {want}", e.address, got.map_or("nothing".into(), |v| v.to_string())));
            }
        }
    }
    for a in &expect.absent {
        if get(a).is_some() {
            unmet.push(format!("{a} still exists"));
        }
    }
    for a in &expect.deleting {
        match get(a) {
            None => unmet.push(format!("{a} is missing")),
            Some(obj) if obj["metadata"]["deletionTimestamp"].is_null() => unmet.push(format!("{a} is not being deleted")),
            Some(_) => {}
        }
    }
    let composition = |key: &str| {
        let (namespace, name) = key.split_once('/').unwrap_or(("default", key));
        get(&Address { api_version: eno::api::API_VERSION.into(), kind: "Composition".into(), namespace: Some(namespace.into()), name: name.into() })
    };
    for key in &expect.synthesizing {
        let in_flight = composition(key).map(|c| c["status"]["inFlightSynthesis"].clone()).unwrap_or_default();
        if !in_flight.is_object() || !in_flight["synthesized"].is_null() || !in_flight["canceled"].is_null() {
            unmet.push(format!("composition {key} has no synthesis running"));
        }
    }
    for (key, want) in &expect.compositions {
        let status = composition(key).map(|c| c["status"]["simplified"]["status"].as_str().unwrap_or("(none)").to_string());
        if status.as_deref() != Some(want.as_str()) {
            unmet.push(format!("composition {key} is {}, want {want}", status.unwrap_or_else(|| "missing".into())));
        }
    }
    if fault_free {
        for (name, want) in &expect.invocations {
            let got = executor.invocations(name);
            if got != *want {
                unmet.push(format!("synthesizer {name} ran {got} times, want {want}"));
            }
        }
    }
    unmet
}

/// Compositions still synthesizing or being deleted, ones whose current synthesis (unless it
/// failed) is not reconciled, and ones never synthesized (unless the scenario expects a state
/// for them: one held back on purpose, waiting on a dependency cycle, say).
fn unsettled_compositions(server: &SharedApiServer, expect: &Expectations) -> Vec<String> {
    let listed = server.with(|s| s.target_for(eno::api::API_VERSION, "Composition", None, None).and_then(|t| s.list(&t, &Default::default())));
    let items = match listed {
        Ok(list) => list.item_values().collect::<Vec<_>>(),
        Err(e) => return vec![format!("listing compositions: {e}")],
    };
    let mut unsettled = Vec::new();
    for comp in items {
        let name = reading::name_of(&comp);
        let in_flight = reading::synthesis(&comp, Slot::InFlight);
        let current = reading::synthesis(&comp, Slot::Current);
        if reading::is_deleting(&comp) {
            unsettled.push(format!("composition {name} is still being deleted"));
        } else if in_flight.is_some_and(|s| !reading::is_finished(s)) {
            unsettled.push(format!("composition {name} is still synthesizing"));
        } else if let Some(current) = current.filter(|c| !reading::is_failed(c)) {
            if !reading::is_reconciled(current) {
                unsettled.push(format!("composition {name} is not reconciled"));
            }
        } else if current.is_none() && !expect.compositions.contains_key(&name) {
            unsettled.push(format!("composition {name} was never synthesized"));
        }
    }
    unsettled
}
