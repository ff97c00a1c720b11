//! The synthesis flow under madsim: the controllers against the in-process fake API server with
//! the simulated executor, in virtual time. Several seeds; each seed run twice must produce the
//! same trace of API writes, byte for byte.
//!
//! Run with `RUSTFLAGS="--cfg madsim" cargo test -p controller --test sim_synthesis --target-dir target-madsim`.

#![cfg(madsim)]

mod sim_support;

use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{Cluster, Gvk, ObjectRef, Patch};
use eno::synthesis::{SimulatedExecutor, SynthesisOutput};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"v": value}})
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not reached within 60s of virtual time: {what}");
}

fn exists(server: &SharedApiServer, api_version: &str, kind: &str, name: &str) -> bool {
    server.with(|s| {
        let t = s.target_for(api_version, kind, Some("default"), Some(name)).unwrap();
        s.get(&t, None).is_ok()
    })
}

fn simplified(server: &SharedApiServer, name: &str) -> String {
    server.with(|s| {
        let t = s.target_for("eno.azure.io/v1", "Composition", Some("default"), Some(name)).unwrap();
        s.get(&t, None).map(|c| c["status"]["simplified"]["status"].as_str().unwrap_or_default().to_string()).unwrap_or_default()
    })
}

/// One scenario; returns the trace of every committed write.
async fn scenario() -> Vec<String> {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    tokio::spawn(server.clone().run_garbage_collector(Duration::from_millis(500)));
    let executor = SimulatedExecutor::new()
        .with("two", |input| {
            let n = input.composition.metadata.name.clone().unwrap_or_default();
            let mut items = vec![configmap(&format!("{n}-a"), "1")];
            if input.synthesizer.spec.image != "drop-b" {
                items.push(configmap(&format!("{n}-b"), "1"));
            }
            Ok(SynthesisOutput::new(items))
        })
        .with("broken", |_| Ok(SynthesisOutput { items: vec![], results: vec![eno::api::KrmResult::error("The system is down")] }))
        .with_delay("two", Duration::from_millis(300));
    let executor = Arc::new(executor);
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    let _eno = Eno::start(cluster, executor.clone(), Options { synthesis_concurrency: 2, reconcile_concurrency: 2, ..Default::default() }).await;

    let user = FakeCluster::new(server.clone(), "user");
    for name in ["two", "broken"] {
        user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": name}, "spec": {"image": "v1"}})).await.unwrap();
    }
    for (comp, synth) in [("c1", "two"), ("c2", "two"), ("bad", "broken")] {
        user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": comp, "namespace": "default"}, "spec": {"synthesizer": {"name": synth}}})).await.unwrap();
    }
    until("c1 and c2 Ready", || simplified(&server, "c1") == "Ready" && simplified(&server, "c2") == "Ready").await;
    until("bad NotReady", || simplified(&server, "bad") == "NotReady").await;
    assert!(exists(&server, "v1", "ConfigMap", "c1-b") && exists(&server, "v1", "ConfigMap", "c2-a"));

    // The synthesizer stops emitting `-b`: it is deleted from both compositions.
    let two = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Synthesizer"), None, "two");
    user.patch(&two, &Patch::merge(json!({"spec": {"image": "drop-b"}}))).await.unwrap();
    until("-b deleted", || !exists(&server, "v1", "ConfigMap", "c1-b") && !exists(&server, "v1", "ConfigMap", "c2-b")).await;

    // Deleting a composition deletes its resources, then the composition.
    let c1 = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Composition"), Some("default"), "c1");
    user.delete(&c1, &Default::default()).await.unwrap();
    until("c1 gone", || !exists(&server, "eno.azure.io/v1", "Composition", "c1")).await;
    assert!(!exists(&server, "v1", "ConfigMap", "c1-a"));
    assert!(exists(&server, "v1", "ConfigMap", "c2-a"));

    // The failed synthesis was never retried.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(executor.invocations("broken"), 1);

    sim_support::write_log(&server)
}

fn run(seed: u64) -> Vec<String> {
    sim_support::run_seeded(seed, scenario)
}

/// madsim's own check: the second run must draw exactly the random numbers the first drew.
#[test]
fn scheduling_randomness_replays() {
    madsim::runtime::Runtime::check_determinism(7, madsim::Config::default(), scenario);
}

#[test]
fn synthesis_flow_is_deterministic_across_seeds() {
    for seed in 1..=4 {
        let first = run(seed);
        let second = run(seed);
        assert!(first.len() > 20, "seed {seed}: the scenario wrote almost nothing");
        if first != second {
            let at = first.iter().zip(&second).position(|(a, b)| a != b).unwrap_or(first.len().min(second.len()));
            panic!("seed {seed}: traces diverge at write {at}:\n  {:?}\n  {:?}", first.get(at), second.get(at));
        }
    }
}

/// A write to the composition while its synthesizer runs (a label here) makes recording the
/// outcome conflict: the outcome is recorded against a fresh read, and a failed synthesizer is
/// still run exactly once.
#[test]
fn a_conflicting_write_mid_synthesis_does_not_rerun_the_synthesizer() {
    sim_support::run_seeded(3, || async {
        let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
        install_crds(&server).unwrap();
        let executor = Arc::new(
            SimulatedExecutor::new()
                .with("broken", |_| Ok(SynthesisOutput { items: vec![], results: vec![eno::api::KrmResult::error("The system is down")] }))
                .with("good", |_| Ok(SynthesisOutput::new(vec![configmap("made", "1")])))
                .with_delay("broken", Duration::from_secs(2))
                .with_delay("good", Duration::from_secs(2)),
        );
        let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
        let _eno = Eno::start(cluster, executor.clone(), Options::default()).await;
        let user = FakeCluster::new(server.clone(), "user");
        for (synth, comp) in [("broken", "bad"), ("good", "ok")] {
            user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": synth}, "spec": {"image": "v1"}})).await.unwrap();
            user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": comp, "namespace": "default"}, "spec": {"synthesizer": {"name": synth}}})).await.unwrap();
        }
        // Both syntheses are running now; a label bumps each composition's resourceVersion.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for comp in ["bad", "ok"] {
            let r = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Composition"), Some("default"), comp);
            user.patch(&r, &Patch::merge(json!({"metadata": {"labels": {"touched": "yes"}}}))).await.unwrap();
        }
        until("bad NotReady, ok Ready", || simplified(&server, "bad") == "NotReady" && simplified(&server, "ok") == "Ready").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(executor.invocations("broken"), 1, "the failed synthesizer ran again");
        assert_eq!(executor.invocations("good"), 1, "the good synthesizer ran again");
        assert!(exists(&server, "v1", "ConfigMap", "made"));
    });
}
