//! `--input-qps`: recording input changes in compositions' `status.inputRevisions` keeps to the
//! rate (a burst of as many, then that many a second), however many compositions an input
//! change touches.

#![cfg(not(madsim))]

use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{Cluster, Gvk, ListParams};
use eno::synthesis::LocalProcessExecutor;
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const COMPOSITIONS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_inputs_keeps_to_the_input_rate() {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    let _eno = Eno::start(cluster, Arc::new(LocalProcessExecutor::default()), Options { input_qps: 2.0, ..Options::default() }).await;
    let user = FakeCluster::new(server.clone(), "user");
    user.create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "input", "namespace": "default"}, "data": {"v": "1"}})).await.unwrap();
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "s"}, "spec": {
        "image": "x",
        "command": ["/bin/bash", "-c", "echo '{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"items\":[]}'"],
        "refs": [{"key": "cfg", "resource": {"version": "v1", "kind": "ConfigMap", "name": "input", "namespace": "default"}}],
    }})).await.unwrap();
    for i in 0..COMPOSITIONS {
        user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": format!("c{i}"), "namespace": "default"}, "spec": {"synthesizer": {"name": "s"}}})).await.unwrap();
    }
    // When each composition's inputs were first recorded, as seen polling.
    let mut recorded: BTreeMap<String, Instant> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while recorded.len() < COMPOSITIONS {
        assert!(Instant::now() < deadline, "inputs recorded for only {recorded:?}");
        let listed = user.list(&Gvk::new("eno.azure.io/v1", "Composition"), Some("default"), &ListParams::default()).await.unwrap();
        for comp in listed.items.iter().filter(|c| c["status"]["inputRevisions"].as_array().is_some_and(|r| !r.is_empty())) {
            recorded.entry(comp["metadata"]["name"].as_str().unwrap_or_default().to_string()).or_insert_with(Instant::now);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Two at once, then two a second: the sixth comes two seconds after the first.
    let spread = recorded.values().max().unwrap().duration_since(*recorded.values().min().unwrap());
    assert!(spread >= Duration::from_millis(1700), "six recordings at 2/s took only {spread:?}");
}
