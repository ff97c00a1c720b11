//! The pod executor under madsim: the in-process fake API server, a simulated kubelet (Rust in
//! place of the `eno execute` wrapper: it writes the output Secrets and the pod status as the
//! wrapper and a kubelet would), in virtual time.
//!
//! Run with `RUSTFLAGS="--cfg madsim" cargo test -p controller --test sim_pod_executor --target-dir target-madsim`.

#![cfg(madsim)]

mod sim_support;

use std::sync::Arc;
use std::time::Duration;

use eno::api::{Composition, CompositionSpec, Synthesizer, SynthesizerRef, SynthesizerSpec};
use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{Cluster, Gvk, ListParams, ObjectRef, Patch};
use eno::synthesis::handback::{output_secrets, PodIdentity, OUTPUT_LABELS_ENV};
use eno::synthesis::{Executor, PodConfig, PodExecutor, SynthesisInput};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

const NAMESPACE: &str = "eno-system";

/// What the simulated kubelet does with every pod.
#[derive(Clone, Copy)]
enum Kubelet {
    /// Never schedules it: no phase, no deadline clock.
    Unschedulable,
    /// Runs it for a second; the wrapper hands back this output.
    Succeeds(&'static str),
}

async fn kubelet(cluster: FakeCluster, behaviour: Kubelet) {
    let mut done = std::collections::BTreeSet::new();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Kubelet::Succeeds(output) = behaviour else { continue };
        let pods = cluster.list(&Gvk::new("v1", "Pod"), Some(NAMESPACE), &ListParams::default()).await.unwrap();
        for value in pods.items {
            let pod: Pod = serde_json::from_value(value).unwrap();
            let uid = pod.metadata.uid.clone().unwrap();
            if !done.insert(uid.clone()) {
                continue;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let env = pod.spec.as_ref().unwrap().containers[0].env.clone().unwrap_or_default();
            let labels = env.iter().find(|e| e.name == OUTPUT_LABELS_ENV).and_then(|e| e.value.clone()).unwrap();
            let name = pod.metadata.name.clone().unwrap();
            let identity = PodIdentity::from_env(|var| match var {
                "ENO_POD_NAME" => Some(name.clone()),
                "ENO_POD_NAMESPACE" => Some(NAMESPACE.to_owned()),
                "ENO_POD_UID" => Some(uid.clone()),
                OUTPUT_LABELS_ENV => Some(labels.clone()),
                _ => None,
            })
            .unwrap();
            for secret in output_secrets(&identity, output.as_bytes()) {
                cluster.create(&serde_json::to_value(secret).unwrap()).await.unwrap();
            }
            let pod_ref = ObjectRef::new(Gvk::new("v1", "Pod"), Some(NAMESPACE), &name);
            cluster.patch(&pod_ref, &Patch::merge(json!({"status": {"phase": "Succeeded"}})).on_status()).await.unwrap();
        }
    }
}

async fn setup(behaviour: Kubelet) -> (SharedApiServer, Arc<dyn Cluster>, PodExecutor) {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    cluster.create(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})).await.unwrap();
    tokio::spawn(kubelet(FakeCluster::new(server.clone(), "kubelet"), behaviour));
    let config = PodConfig { namespace: NAMESPACE.to_owned(), executor_image: "eno".to_owned(), executor_binary: "/eno".to_owned(), ..Default::default() };
    (server.clone(), cluster.clone(), PodExecutor::new(cluster, config))
}

async fn count(cluster: &dyn Cluster, kind: &str) -> usize {
    cluster.list(&Gvk::new("v1", kind), Some(NAMESPACE), &ListParams::default()).await.unwrap().items.len()
}

#[madsim::test]
async fn unschedulable_pod_fails_after_pod_timeout_and_grace() {
    let (_server, cluster, executor) = setup(Kubelet::Unschedulable).await;
    let synthesizer = Synthesizer::new("s", SynthesizerSpec { image: "x".into(), pod_timeout: "30s".into(), ..Default::default() });
    let mut composition = Composition::new("c", CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() });
    composition.metadata.namespace = Some("default".to_owned());
    let started = tokio::time::Instant::now();
    let error = executor.synthesize(SynthesisInput::new(composition, synthesizer, "u-1", Vec::new())).await.unwrap_err();
    assert_eq!(error.to_string(), "synthesis pod exceeded podTimeout (30s)");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(45) && elapsed < Duration::from_secs(47), "gave up after {elapsed:?}");
    assert_eq!((count(&*cluster, "Pod").await, count(&*cluster, "Secret").await), (0, 0));
}

const OUTPUT: &str = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"some-config","namespace":"default"}}]}"#;

/// The controllers with the pod executor; returns the trace of every committed write.
async fn scenario() -> Vec<String> {
    let (server, cluster, executor) = setup(Kubelet::Succeeds(OUTPUT)).await;
    let _eno = Eno::start(cluster.clone(), Arc::new(executor), Options::default()).await;
    let user = FakeCluster::new(server.clone(), "user");
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "example"}, "spec": {"image": "x"}})).await.unwrap();
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": "c", "namespace": "default"}, "spec": {"synthesizer": {"name": "example"}}})).await.unwrap();
    let composition = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Composition"), Some("default"), "c");
    let config_map = ObjectRef::new(Gvk::new("v1", "ConfigMap"), Some("default"), "some-config");
    for _ in 0..600 {
        let ready = user.get(&composition).await.unwrap().is_some_and(|c: Value| c["status"]["simplified"]["status"] == "Ready");
        if ready && user.get(&config_map).await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(user.get(&config_map).await.unwrap().is_some(), "not Ready within 60s of virtual time");
    assert_eq!((count(&*cluster, "Pod").await, count(&*cluster, "Secret").await), (0, 0), "the synthesis was cleaned up");
    sim_support::write_log(&server)
}

fn run(seed: u64) -> Vec<String> {
    sim_support::run_seeded(seed, scenario)
}

#[test]
fn pod_synthesis_flow_is_deterministic() {
    for seed in 1..=2 {
        let (first, second) = (run(seed), run(seed));
        assert!(first.iter().any(|w| w.contains("/pods ")), "seed {seed}: no pod was written");
        if first != second {
            let at = first.iter().zip(&second).position(|(a, b)| a != b).unwrap_or(first.len().min(second.len()));
            panic!("seed {seed}: traces diverge at write {at}:\n  {:?}\n  {:?}", first.get(at), second.get(at));
        }
    }
}
