//! Leader election against the in-process API server, in paused (virtual) time: one leader,
//! standbys that do not write, takeover after a crash within the lease duration (standbys watch
//! the Lease, so they time it from the last renewal, not from their next look), and at once
//! after a release.

#![cfg(not(madsim))]

use eno::runtime::fake::FakeCluster;
use eno::runtime::leader_election::{ElectionConfig, Elector, LeaderOnly, Leadership};
use eno::runtime::{ClientError, Cluster, Gvk, Metrics, ObjectRef};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const LEASE: Duration = Duration::from_secs(15);
const RENEW: Duration = Duration::from_secs(10);
const RETRY: Duration = Duration::from_secs(2);

struct Candidate {
    elector: Arc<Elector>,
    leadership: Arc<Leadership>,
    metrics: Arc<Metrics>,
    writes: LeaderOnly,
    task: tokio::task::JoinHandle<()>,
}

fn candidate(server: &SharedApiServer, identity: &str) -> Candidate {
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), identity));
    let config = ElectionConfig {
        namespace: "default".into(),
        name: "eno-controller".into(),
        identity: identity.into(),
        lease_duration: LEASE,
        renew_deadline: RENEW,
        retry_period: RETRY,
    };
    config.validate().expect("valid timings");
    let (leadership, metrics) = (Leadership::elected(), Arc::new(Metrics::default()));
    let elector = Arc::new(Elector::new(cluster.clone(), config, leadership.clone(), metrics.clone(), 0));
    let task = tokio::spawn({
        let elector = elector.clone();
        async move { elector.run().await }
    });
    Candidate { elector, writes: LeaderOnly::new(cluster, leadership.clone()), leadership, metrics, task }
}

async fn lease(server: &SharedApiServer) -> serde_json::Value {
    let cluster = FakeCluster::new(server.clone(), "reader");
    cluster.get(&ObjectRef::new(Gvk::new("coordination.k8s.io/v1", "Lease"), Some("default"), "eno-controller")).await.unwrap().expect("the Lease exists")
}

fn holder(lease: &serde_json::Value) -> &str {
    lease["spec"]["holderIdentity"].as_str().unwrap_or_default()
}

fn config_map(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
}

fn master_status(metrics: &Metrics) -> Option<i64> {
    let line = metrics.encode().lines().find(|l| l.starts_with("leader_election_master_status{name=\"eno-controller\"}"))?.to_string();
    line.rsplit(' ').next()?.parse().ok()
}

/// Advances virtual time until `done` holds, checking every 100 ms; how long that took.
async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

fn new_server() -> SharedApiServer {
    SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)))
}

#[tokio::test(start_paused = true)]
async fn one_leader_writes_and_the_standby_takes_over_after_a_crash() {
    let server = new_server();
    let a = candidate(&server, "a");
    until(RETRY, || a.leadership.is_leading()).await;
    let b = candidate(&server, "b");
    // b watches the Lease for longer than a lease duration: a renews it, b never leads.
    tokio::time::sleep(LEASE * 2).await;
    assert!(a.leadership.is_leading() && !b.leadership.is_leading());
    assert_eq!(holder(&lease(&server).await), "a");
    assert_eq!((master_status(&a.metrics), master_status(&b.metrics)), (Some(1), Some(0)));
    a.writes.create(&config_map("by-the-leader")).await.expect("the leader writes");
    assert_eq!(b.writes.create(&config_map("by-the-standby")).await, Err(ClientError::NotLeader), "the standby does not write");

    // a dies without releasing.
    a.task.abort();
    let crashed = Instant::now();
    // Its own gate closes at its renew deadline, before anyone else may start.
    until(RENEW, || !a.leadership.is_leading()).await;
    assert_eq!(a.writes.create(&config_map("late")).await, Err(ClientError::NotLeader));
    assert!(!b.leadership.is_leading(), "b must not lead before a's lease can have run out");
    // `until` looks every 100 ms.
    until(LEASE + Duration::from_millis(100), || b.leadership.is_leading()).await;
    let takeover = crashed.elapsed();
    assert!(takeover >= LEASE - RETRY, "b took over {takeover:?} after the crash: sooner than a's lease allows");
    let after = lease(&server).await;
    assert_eq!((holder(&after), after["spec"]["leaseTransitions"].as_i64()), ("b", Some(1)));
    assert_eq!(master_status(&b.metrics), Some(1));
    b.writes.create(&config_map("by-the-new-leader")).await.expect("the new leader writes");
}

#[tokio::test(start_paused = true)]
async fn a_released_lease_is_taken_at_once() {
    let server = new_server();
    let a = candidate(&server, "a");
    until(RETRY, || a.leadership.is_leading()).await;
    let b = candidate(&server, "b");
    tokio::time::sleep(RETRY * 3).await;
    a.task.abort();
    a.elector.release().await;
    assert!(!a.leadership.is_leading(), "a stops writing before it lets go");
    assert_eq!(master_status(&a.metrics), Some(0));
    let released = lease(&server).await;
    assert_eq!((holder(&released), released["spec"]["leaseDurationSeconds"].as_i64()), ("", Some(1)));
    // A released Lease is taken as soon as b's watch shows it: no lease duration or retry
    // period to wait.
    until(Duration::from_millis(100), || b.leadership.is_leading()).await;
    assert_eq!(holder(&lease(&server).await), "b");
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_cannot_renew_stops_at_its_renew_deadline() {
    let server = new_server();
    let a = candidate(&server, "a");
    until(RETRY, || a.leadership.is_leading()).await;
    // Someone else takes the Lease under a's feet (as a partitioned leader would find on its
    // return): a renews no more, and stops writing at its next look.
    let cluster = FakeCluster::new(server.clone(), "intruder");
    let mut taken = lease(&server).await;
    taken["spec"]["holderIdentity"] = json!("c");
    cluster.replace(&taken, false).await.unwrap();
    until(RETRY * 2, || !a.leadership.is_leading()).await;
    assert_eq!(a.writes.create(&config_map("x")).await, Err(ClientError::NotLeader));
    assert_eq!(holder(&lease(&server).await), "c", "a leaves c's lease alone while c may be renewing it");
}
