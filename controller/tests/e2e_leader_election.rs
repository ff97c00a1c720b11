//! Leader election end to end: the chart installed into `eno dev --authorization rbac`, two
//! `eno run` replicas as the chart's controller ServiceAccount. One leads (the Lease names it,
//! its `leader_election_master_status` is 1) and does all the work; killed, the other takes
//! over within the lease duration and carries on; stopped with
//! SIGTERM, the leader hands the Lease back at once.

#![cfg(not(madsim))]

mod support;

use k8s_openapi::jiff::Timestamp;
use std::time::{Duration, SystemTime};
use support::controller::{chart_controller_kubeconfig, master_status, sample, scrape, Controller};
use support::{eventually, repo_path, synthesizer, EnoDev};

const LEASE: Duration = Duration::from_secs(4);
const RETRY: Duration = Duration::from_millis(500);
const FLAGS: &[&str] = &[
    "--ops-address",
    "127.0.0.1:0",
    "--rollout-cooldown",
    "0s",
    "--leader-election",
    "--leader-election-namespace",
    "eno-system",
    "--leader-election-lease-duration",
    "4s",
    "--leader-election-lease-renew-deadline",
    "3s",
    "--leader-election-lease-retry",
    "500ms",
];

/// Passes of the composition controller the replica on `port` has made.
fn composition_passes(port: u16) -> f64 {
    sample(&scrape(port), "controller_runtime_reconcile_total", &[("controller", "composition"), ("result", "success")]).unwrap_or(0.0)
        + sample(&scrape(port), "controller_runtime_reconcile_total", &[("controller", "composition"), ("result", "requeue_after")]).unwrap_or(0.0)
}

fn lease(dev: &EnoDev) -> serde_json::Value {
    dev.json(&["get", "lease", "eno-controller", "-n", "eno-system"])
}

fn composition(name: &str) -> String {
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  synthesizer:\n    name: elected\n")
}

fn output(version: &str) -> String {
    synthesizer("elected", &[&format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"elected-out","namespace":"default"}},"data":{{"v":"{version}"}}}}"#)])
}

fn ready(dev: &EnoDev, name: &str) -> bool {
    dev.json(&["get", "composition", name])["status"]["simplified"]["status"] == "Ready"
}

#[test]
fn one_replica_leads_another_takes_over_when_it_dies_and_a_stopped_leader_hands_over_at_once() {
    let dev = EnoDev::start_with(&["--authorization", "rbac", "--no-controllers"]);
    dev.helm_ok(&["install", "eno", &repo_path("deploy/chart").display().to_string(), "--namespace", "eno-system", "--create-namespace"]);
    let kubeconfig = chart_controller_kubeconfig(&dev);
    let mut replicas = [Controller::start(&kubeconfig, FLAGS), Controller::start(&kubeconfig, FLAGS)];
    let ports = [replicas[0].ops_port(), replicas[1].ops_port()];

    // One leader, the same in the Lease, in its log and in its metrics.
    let leader = eventually(Duration::from_secs(30), "one leader", || match [master_status(ports[0]), master_status(ports[1])] {
        [Some(1.0), Some(0.0)] => Some(0),
        [Some(0.0), Some(1.0)] => Some(1),
        _ => None,
    });
    let standby = 1 - leader;
    let holder = lease(&dev)["spec"]["holderIdentity"].as_str().unwrap_or_default().to_string();
    assert_eq!(replicas[leader].logged("became leader").expect("the leader says so")["identity"], holder.as_str());
    assert!(replicas[standby].logged("became leader").is_none());

    // The leader does the work; the standby, its caches warm, does none.
    dev.apply(&output("1"));
    dev.apply(&composition("first"));
    eventually(Duration::from_secs(30), "first ready", || ready(&dev, "first").then_some(()));
    assert!(composition_passes(ports[leader]) > 0.0);
    assert_eq!(composition_passes(ports[standby]), 0.0, "the standby reconciled something");

    // The leader dies without letting go: the standby, which has watched each renewal land,
    // takes over once the lease runs out, within the lease duration of the kill. It can be
    // over by the few milliseconds a renewal takes to reach it if the kill lands just after one.
    let killed = SystemTime::now();
    replicas[leader].kill();
    eventually(LEASE + Duration::from_secs(2), "the standby leading", || (master_status(ports[standby]) == Some(1.0)).then_some(()));
    let after = lease(&dev);
    let acquired: Timestamp = after["spec"]["acquireTime"].as_str().expect("acquireTime").parse().expect("an RFC 3339 time");
    let takeover = SystemTime::from(acquired).duration_since(killed).expect("taken over after the kill");
    println!("takeover {takeover:?} after the leader was killed (lease duration {LEASE:?}, retry period {RETRY:?})");
    assert!(takeover <= LEASE + Duration::from_millis(100), "takeover took {takeover:?}, more than the lease duration {LEASE:?}");
    let after = lease(&dev);
    assert_eq!(after["spec"]["leaseTransitions"], 1);
    assert_ne!(after["spec"]["holderIdentity"], holder.as_str());

    // The new leader carries on: a new output version, a new composition.
    dev.apply(&output("2"));
    dev.apply(&composition("second"));
    eventually(Duration::from_secs(30), "v2 out", || (dev.json(&["get", "configmap", "elected-out"])["data"]["v"] == "2").then_some(()));
    eventually(Duration::from_secs(30), "second ready", || ready(&dev, "second").then_some(()));
    let refused = replicas[standby].forbidden();
    assert!(refused.is_empty(), "the chart's identity was refused: {refused:?}");

    // SIGTERM: the leader releases the Lease on its way out.
    assert!(replicas[standby].terminate(Duration::from_secs(10)).success());
    let released = lease(&dev);
    assert_eq!((released["spec"]["holderIdentity"].as_str(), released["spec"]["leaseDurationSeconds"].as_i64()), (Some(""), Some(1)));
    assert!(replicas[standby].logged("released leadership").is_some());
}
