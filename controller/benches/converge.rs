//! Time and API writes for Eno to converge N compositions × M resources through the
//! in-process backend. `cargo bench -p controller --bench converge` prints the figures kept in
//! BENCHMARKS.md (`-- --compositions N --resources M` for other sizes); under `cargo test` it
//! runs a small smoke pass.

mod support;

use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::Cluster;
use eno::synthesis::{SimulatedExecutor, SynthesisOutput};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config, ListOptions};
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ready_count(server: &SharedApiServer) -> usize {
    server.with(|s| {
        let t = s.target_for("eno.azure.io/v1", "Composition", None, None).unwrap();
        let list = s.list(&t, &ListOptions::default()).unwrap();
        list.items.iter().filter(|c| c["status"]["simplified"]["status"].as_str() == Some("Ready")).count()
    })
}

async fn converge(compositions: usize, resources: usize) {
    let server = SharedApiServer::new(ApiServer::new(Config { event_log_capacity: 10_000_000, ..Config::default() }, Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let executor = SimulatedExecutor::new().with("bench", move |input| {
        let comp = input.composition.metadata.name.clone().unwrap_or_default();
        let items = (0..resources)
            .map(|i| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{comp}-{i}"), "namespace": "default"}, "data": {"i": i.to_string()}}))
            .collect();
        Ok(SynthesisOutput::new(items))
    });
    let user = FakeCluster::new(server.clone(), "user");
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "bench"}, "spec": {"image": "x"}})).await.unwrap();
    let start_revision = server.with(|s| s.revision());
    let rss_before = support::rss_kib();
    let start = Instant::now();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    let _eno = Eno::start(cluster, Arc::new(executor), Options::default()).await;
    for i in 0..compositions {
        user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": format!("c{i:05}"), "namespace": "default"}, "spec": {"synthesizer": {"name": "bench"}}})).await.unwrap();
    }
    while ready_count(&server) < compositions {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = start.elapsed();
    let rss_grown = support::rss_kib().saturating_sub(rss_before);
    // Writes by kind, from the event log (every committed write is one event).
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    server.with(|s| {
        for e in s.store().events_after(start_revision).expect("log holds the run") {
            *by_kind.entry(format!("{} {}", e.key.resource.plural, e.event_type.as_str())).or_default() += 1;
        }
    });
    let total: usize = by_kind.values().sum();
    let user_writes = compositions;
    let managed = compositions * resources;
    let resource_writes: usize = by_kind.iter().filter(|(k, _)| k.starts_with("configmaps")).map(|(_, v)| v).sum();
    println!("converged {compositions} compositions x {resources} resources in {:.2}s", elapsed.as_secs_f64());
    println!("  API writes: {total} total ({user_writes} by the user), {:.2} per managed resource", (total - user_writes) as f64 / managed as f64);
    println!("  managed-resource writes: {resource_writes} for {managed} resources ({:.2} per resource; minimum is 1 create)", resource_writes as f64 / managed as f64);
    println!(
        "  memory: the process grew {:.1} MiB while converging ({:.0} bytes per managed resource; the API server's copies and event log included, see the runtime bench for the controller alone)",
        rss_grown as f64 / 1024.0,
        rss_grown as f64 * 1024.0 / managed as f64
    );
    for (kind, n) in by_kind {
        println!("    {kind:<40} {n}");
    }
}


/// The number after `flag` on the command line, if given.
fn arg(flag: &str) -> Option<usize> {
    support::arg(flag).map(|v| v.parse().unwrap_or_else(|_| panic!("{flag} takes a number, not {v:?}")))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (compositions, resources) = if full { (1000, 10) } else { (20, 3) };
    let (compositions, resources) = (arg("--compositions").unwrap_or(compositions), arg("--resources").unwrap_or(resources));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(converge(compositions, resources));
}
