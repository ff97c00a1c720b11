//! Our controller runtime next to kube-rs's `kube_runtime::Controller`, on the same no-op
//! reconcile workload, in one run: N ConfigMaps served over HTTP by the fake API server (this
//! process), each runtime in a child process of its own (so its memory is its own) listing,
//! watching, queueing and reconciling every object once with a reconcile that does nothing.
//! Prints reconciles/s and the memory each child added for the work (RSS).
//!
//! `cargo bench -p controller --bench runtime` (`-- --objects N` for another size); under
//! `cargo test` it runs a small smoke pass.

mod support;

use eno::runtime::kube::KubeCluster;
use eno::runtime::leader_election::Leadership;
use eno::runtime::{run_controller, Action, Cluster, Gvk, Informer, ListParams, Metrics, WorkQueue};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config, WriteOptions};
use fake_apiserver::SharedApiServer;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};



/// One child: reconciles every object at `url` once with runtime `which`; prints
/// `RESULT <seconds> <rss growth KiB>`.
async fn child(which: &str, url: &str, objects: usize) {
    let client = kube::Client::try_from(kube::Config::new(url.parse().expect("a URL"))).expect("a client");
    let reconciled = Arc::new(AtomicUsize::new(0));
    let before = support::rss_kib();
    let start = Instant::now();
    // Kept alive until the count is reached.
    let mut _keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    match which {
        "ours" => {
            let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::new(client, "bench"));
            let queue: Arc<WorkQueue<(String, String)>> = Arc::new(WorkQueue::new(Duration::from_millis(5), Duration::from_secs(1)));
            let q = queue.clone();
            let informer = Informer::start(cluster, Gvk::new("v1", "ConfigMap"), None, ListParams::default(), move |obj| {
                let meta = &obj["metadata"];
                q.add((meta["namespace"].as_str().unwrap_or_default().to_string(), meta["name"].as_str().unwrap_or_default().to_string()));
            });
            let count = reconciled.clone();
            tokio::spawn(async move {
                let leadership = Leadership::unelected();
                run_controller("bench", queue, Arc::new(Metrics::default()), &leadership, |_key| {
                    count.fetch_add(1, Ordering::Relaxed);
                    async { Ok::<_, std::convert::Infallible>(Action::Done) }
                })
                .await
            });
            _keep.push(Box::new(informer));
        }
        "kube-runtime" => {
            let api: kube::Api<ConfigMap> = kube::Api::all(client);
            let count = reconciled.clone();
            let reconcile = move |_cm: Arc<ConfigMap>, _ctx: Arc<()>| {
                count.fetch_add(1, Ordering::Relaxed);
                async { Ok::<_, kube::Error>(kube::runtime::controller::Action::await_change()) }
            };
            let error_policy = |_cm: Arc<ConfigMap>, _e: &kube::Error, _ctx: Arc<()>| kube::runtime::controller::Action::requeue(Duration::from_secs(1));
            tokio::spawn(kube::runtime::Controller::new(api, kube::runtime::watcher::Config::default()).run(reconcile, error_policy, Arc::new(())).for_each(|_| async {}));
        }
        other => panic!("no runtime {other}"),
    }
    while reconciled.load(Ordering::Relaxed) < objects {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("RESULT {elapsed} {}", support::rss_kib().saturating_sub(before));
}

/// Serves `objects` ConfigMaps over HTTP and runs each runtime against them in a child.
async fn compare(objects: usize) {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    server.with(|s| {
        let t = s.target_for("v1", "ConfigMap", Some("default"), None).expect("ConfigMaps are served");
        for i in 0..objects {
            let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i:06}"), "namespace": "default"}, "data": {"i": i.to_string()}});
            s.create(&t, cm, &WriteOptions::default()).expect("create");
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(fake_apiserver::http::serve(server, listener, Default::default(), std::future::pending::<()>()));
    let this = std::env::current_exe().expect("this bench");
    println!("no-op reconcile of {objects} ConfigMaps over HTTP (each runtime in its own process; the API server in this one)");
    println!("  {:<14} {:>14} {:>12} {:>16}", "runtime", "reconciles/s", "time", "memory added");
    for which in ["ours", "kube-runtime"] {
        let child = tokio::process::Command::from(Command::new(&this)).args(["--only", which, "--url", &url, "--objects", &objects.to_string()]).output().await.expect("child runs");
        let out = String::from_utf8_lossy(&child.stdout);
        let Some(line) = out.lines().find(|l| l.starts_with("RESULT ")) else {
            panic!("{which} printed no result:\n{out}\n{}", String::from_utf8_lossy(&child.stderr));
        };
        let fields: Vec<f64> = line.split_whitespace().skip(1).map(|f| f.parse().expect("a number")).collect();
        let (secs, kib) = (fields[0], fields[1]);
        println!("  {which:<14} {:>14.0} {:>11.3}s {:>9.1} MiB ({:.0} B/object)", objects as f64 / secs, secs, kib / 1024.0, kib * 1024.0 / objects as f64);
    }
}

fn main() {
    let objects = support::arg("--objects").map(|n| n.parse().expect("--objects takes a number")).unwrap_or(if std::env::args().any(|a| a == "--bench") { 10_000 } else { 200 });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    match (support::arg("--only"), support::arg("--url")) {
        (Some(which), Some(url)) => rt.block_on(child(&which, &url, objects)),
        _ => rt.block_on(compare(objects)),
    }
}
