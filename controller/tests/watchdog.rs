//! The watchdog counts a composition stuck mid-transition longer than its threshold, and stops
//! counting it once it moves on.

#![cfg(not(madsim))]

use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::Cluster;
use eno::synthesis::LocalProcessExecutor;
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synthesis_that_hangs_is_reported_stuck_until_it_ends() {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    let options = Options { watchdog_threshold: Some(Duration::from_secs(1)), ..Options::default() };
    let eno = Eno::start(cluster, Arc::new(LocalProcessExecutor::default()), options).await;
    let user = FakeCluster::new(server.clone(), "user");
    // Hangs for 6 s, then times out.
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "s"},
        "spec": {"image": "x", "command": ["/bin/bash", "-c", "sleep 30"], "execTimeout": "6s"}})).await.unwrap();
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": "c", "namespace": "default"}, "spec": {"synthesizer": {"name": "s"}}})).await.unwrap();
    let wait = |want: usize, within: Duration| {
        let eno = &eno;
        async move {
            let deadline = Instant::now() + within;
            while eno.stuck_compositions() != want {
                assert!(Instant::now() < deadline, "the watchdog never counted {want} stuck");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait(1, Duration::from_secs(5)).await;
    // A working synthesizer: once the hanging run has timed out, the next one succeeds.
    let fixed = json!({"spec": {"command": ["/bin/bash", "-c", "echo '{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"items\":[]}'"]}});
    let s = eno::runtime::ObjectRef::new(eno::runtime::Gvk::new("eno.azure.io/v1", "Synthesizer"), None, "s");
    user.patch(&s, &eno::runtime::Patch::merge(fixed)).await.unwrap();
    wait(0, Duration::from_secs(20)).await;
}
