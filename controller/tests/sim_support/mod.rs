//! Shared by the madsim tests: running a seeded world and reading back its writes.

#![allow(dead_code)]

use fake_apiserver::SharedApiServer;
use std::future::Future;

/// Every write the server still remembers, one line each: revision, event type, resource,
/// object key and the object as stored. Two runs of a seed compare equal byte for byte.
pub fn write_log(server: &SharedApiServer) -> Vec<String> {
    server.with(|s| {
        s.store()
            .events_after(s.store().floor())
            .map(|events| events.map(|e| format!("{} {} {}/{} {}/{} {}", e.revision, e.event_type.as_str(), e.key.resource.group, e.key.resource.plural, e.key.namespace, e.key.name, e.object)).collect())
            .unwrap_or_default()
    })
}

/// Runs `scenario` under madsim with `seed`, on a fresh thread: std's hash seeds are per
/// thread, and madsim seeds them from the simulation's RNG only when a thread first asks.
pub fn run_seeded<T: Send + 'static, F: Future<Output = T> + 'static>(seed: u64, scenario: impl FnOnce() -> F + Send + 'static) -> T {
    std::thread::spawn(move || madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default()).block_on(scenario()))
        .join()
        .expect("the scenario panicked")
}
