//! The symphony's at-most-once annotation protocol under madsim: TWO Eno replicas at once
//! against the in-process fake API server, with lagging watches (stale caches), injected
//! errors, writes that commit but report a timeout, and a crash and restart of one replica,
//! while the user flips an annotation between two variations again and again. Every committed
//! state in the server's event log is checked: the annotation is never on two compositions.
//!
//! Run with `RUSTFLAGS="--cfg madsim" cargo test -p controller --test sim_symphony --target-dir target-madsim`.

#![cfg(madsim)]

mod sim_support;

use eno::api::Composition;
use eno::controllers::{Eno, Options};
use eno::decide::symphony::annotation_conflicts;
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{Cluster, Gvk, ObjectRef, Patch};
use eno::synthesis::{SimulatedExecutor, SynthesisOutput};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::faults::Faults;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use apimachinery::hash::splitmix64;

const KEY: &str = "owner";
/// Flips 2 and 5 also remove the variation losing the key; the last flip keeps both.
const FLIPS: u64 = 8;

/// Both variations, the key on `holder`'s (`""` on the other's); with `drop_other` the other
/// variation is removed instead, so its composition (maybe still holding the key) is deleted
/// while the key moves.
fn variations(holder: &str, drop_other: bool) -> Value {
    let value = |s: &str| if s == holder { "true" } else { "" };
    let all = ["a", "b"].map(|s| json!({"synthesizer": {"name": s}, "annotations": {KEY: value(s)}}));
    Value::Array(all.into_iter().filter(|v| !drop_other || v["synthesizer"]["name"] == holder).collect())
}

fn compositions(server: &SharedApiServer) -> Vec<Composition> {
    server.with(|s| {
        let t = s.target_for("eno.azure.io/v1", "Composition", Some("default"), None).unwrap();
        let list = s.list(&t, &Default::default()).unwrap();
        list.item_values().map(|c| serde_json::from_value(c).unwrap()).collect()
    })
}

/// Converged: one Ready composition per variation, the key only on `holder`'s.
fn converged(server: &SharedApiServer, holder: &str) -> bool {
    let comps = compositions(server);
    comps.len() == 2
        && comps.iter().all(|c| {
            let held = c.metadata.annotations.as_ref().and_then(|a| a.get(KEY)).is_some_and(|v| v == "true");
            let ready = c.status.as_ref().and_then(|s| s.simplified.as_ref()).is_some_and(|s| s.status == "Ready");
            ready && held == (c.spec.synthesizer.name == holder)
        })
}

/// Every request waits 0–40ms of virtual time before reaching the server, so one replica's
/// read and its write are apart and the other replica's writes land in between. (Without it
/// the in-process fake answers at once, which would make every pass atomic.)
fn latency() -> impl Fn() -> Duration + Send + Sync + 'static {
    let calls = AtomicU64::new(0);
    move || {
        // splitmix64 of the call count: deterministic, since madsim orders the calls.
        let mut state = calls.fetch_add(1, Ordering::Relaxed);
        Duration::from_millis(splitmix64(&mut state) % 41)
    }
}

fn start(server: &SharedApiServer, name: &str, executor: &Arc<SimulatedExecutor>) -> impl std::future::Future<Output = Eno> {
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), name).with_latency(latency()));
    Eno::start(cluster, executor.clone(), Options { synthesis_concurrency: 2, reconcile_concurrency: 2, ..Default::default() })
}

/// Replays the event log, checking every committed state of the compositions. Returns how
/// many times the key changed hands (to show the scenario exercised the protocol) and the
/// trace of composition writes.
fn check_every_committed_state(server: &SharedApiServer) -> (usize, Vec<String>) {
    server.with(|s| {
        let store = s.store();
        // The store starts at revision 1; a higher floor means history was compacted away.
        assert_eq!(store.floor(), 1, "the event log was compacted: raise its capacity");
        let keys = BTreeSet::from([KEY.to_string()]);
        let mut state: BTreeMap<String, Composition> = BTreeMap::new();
        let mut holder: Option<String> = None;
        let mut moves = 0;
        let mut trace = Vec::new();
        for event in store.events_after(1).unwrap() {
            if event.key.resource.plural != "compositions" {
                continue;
            }
            trace.push(format!("{} {} {} {}", event.revision, event.event_type.as_str(), event.key.name, event.object["metadata"]["annotations"]));
            if event.event_type.as_str() == "DELETED" {
                state.remove(&event.key.name);
            } else {
                state.insert(event.key.name.clone(), serde_json::from_value(event.object.to_value()).unwrap());
            }
            let conflicts = annotation_conflicts(&keys, state.values());
            assert!(conflicts.is_empty(), "revision {}: {conflicts:?}", event.revision);
            let now = state.values().find(|c| c.metadata.annotations.as_ref().and_then(|a| a.get(KEY)).is_some_and(|v| !v.is_empty())).and_then(|c| c.metadata.name.clone());
            if now.is_some() && now != holder {
                moves += 1;
                holder = now;
            }
        }
        (moves, trace)
    })
}

async fn scenario(seed: u64) -> (usize, Vec<String>) {
    let config = Config { seed, event_log_capacity: 1_000_000, ..Default::default() };
    let server = SharedApiServer::new(ApiServer::new(config, Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    tokio::spawn(server.clone().run_garbage_collector(Duration::from_millis(500)));
    let executor = SimulatedExecutor::new();
    for synth in ["a", "b"] {
        executor.set(synth, |input| {
            let name = input.composition.metadata.name.clone().unwrap_or_default();
            Ok(SynthesisOutput::new(vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})]))
        });
        executor.set_delay(synth, Duration::from_millis(200));
    }
    let executor = Arc::new(executor);
    let mut replica_a = Some(start(&server, "eno-a", &executor).await);
    let _replica_b = start(&server, "eno-b", &executor).await;

    let user = FakeCluster::new(server.clone(), "user");
    for name in ["a", "b"] {
        user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": name}, "spec": {"image": "v1"}})).await.unwrap();
    }
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Symphony", "metadata": {"name": "sym", "namespace": "default"}, "spec": {"variations": variations("a", false)}}))
        .await
        .unwrap();

    server.with(|s| {
        s.set_faults(Faults {
            watch_lag: 2,
            error_rate: 0.05,
            error_codes: vec![409, 500, 503],
            timeout_after_commit_rate: 0.05,
            ..Faults::none()
        })
    });
    let sym = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Symphony"), Some("default"), "sym");
    let mut holder = "a";
    for flip in 0..FLIPS {
        // Some flips come before the last one settled, some after.
        let pause = Duration::from_millis(50 + (seed * 7919 + flip * 104_729) % 3000);
        tokio::time::sleep(pause).await;
        holder = if holder == "a" { "b" } else { "a" };
        let spec = json!({"spec": {"variations": variations(holder, flip % 3 == 2)}});
        loop {
            match user.patch(&sym, &Patch::merge(spec.clone())).await {
                Ok(_) => break,
                Err(e) if e.is_transient() || e.is_conflict() => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(e) => panic!("flipping the annotation: {e}"),
            }
        }
        if flip == FLIPS / 2 {
            // Replica A crashes (all its memory is lost) and comes back.
            drop(replica_a.take());
            tokio::time::sleep(Duration::from_millis(300)).await;
            replica_a = Some(start(&server, "eno-a", &executor).await);
        }
    }

    server.with(|s| s.set_faults(Faults::none()));
    for _ in 0..1200 {
        if converged(&server, holder) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(converged(&server, holder), "not converged to the last spec within 120s: {:?}", compositions(&server).iter().map(|c| (&c.metadata.name, &c.metadata.annotations)).collect::<Vec<_>>());
    check_every_committed_state(&server)
}

fn run(seed: u64) -> (usize, Vec<String>) {
    sim_support::run_seeded(seed, move || scenario(seed))
}

#[test]
fn two_replicas_never_put_the_annotation_on_two_compositions() {
    for seed in 1..=6 {
        let (moves, trace) = run(seed);
        assert!(moves >= 2, "seed {seed}: the annotation changed hands only {moves} times");
        if seed == 1 {
            assert_eq!(run(seed).1, trace, "seed {seed} does not replay");
        }
    }
}
