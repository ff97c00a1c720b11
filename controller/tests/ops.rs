//! The ops endpoint (`--ops-address`): `/healthz`, `/readyz`, and `/metrics` scraped and parsed
//! with a Prometheus text-format parser, its counters moving as compositions converge.

#![cfg(not(madsim))]

mod support;

use std::time::Duration;
use support::controller::{get, sample, scrape};
use support::{eventually, synthesizer, EnoDev};

/// A free local port (taken, then given back).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn composition(name: &str) -> String {
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  synthesizer:\n    name: counted\n")
}

#[test]
fn probes_answer_and_metrics_count_the_work() {
    let port = free_port();
    let dev = EnoDev::start_with(&["--ops-address", &format!("127.0.0.1:{port}")]);
    eventually(Duration::from_secs(30), "/readyz ready", || get(port, "/readyz").filter(|(status, _)| *status == 200));
    assert_eq!(get(port, "/healthz").map(|(status, _)| status), Some(200));
    assert_eq!(get(port, "/nothing").map(|(status, _)| status), Some(404));

    dev.apply(&synthesizer("counted", &[r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"counted-out","namespace":"default"}}"#]));
    dev.apply(&composition("first"));
    eventually(Duration::from_secs(30), "first ready", || (dev.json(&["get", "composition", "first"])["status"]["simplified"]["status"] == "Ready").then_some(()));
    let before = scrape(port);
    let runs = |s: &prometheus_parse::Scrape| sample(s, "eno_synthesis_runs_total", &[("result", "succeeded")]).unwrap_or(0.0);
    assert_eq!(runs(&before), 1.0);
    assert!(sample(&before, "controller_runtime_reconcile_total", &[("controller", "composition"), ("result", "success")]).unwrap_or(0.0) >= 1.0);
    assert!(sample(&before, "workqueue_adds_total", &[("name", "resource")]).unwrap_or(0.0) >= 1.0);
    assert!(sample(&before, "eno_resources_reconciled_total", &[]).unwrap_or(0.0) >= 1.0, "the ConfigMap was created");
    assert_eq!(sample(&before, "eno_compositions_stuck", &[]), Some(0.0));
    assert!(before.samples.iter().any(|s| s.metric == "controller_runtime_reconcile_time_seconds_count"), "reconcile times are a histogram");

    // A second composition moves the counters on.
    dev.apply(&composition("second"));
    eventually(Duration::from_secs(30), "second ready", || (dev.json(&["get", "composition", "second"])["status"]["simplified"]["status"] == "Ready").then_some(()));
    let after = scrape(port);
    assert_eq!(runs(&after), 2.0);
    let reconciles = |s: &prometheus_parse::Scrape| sample(s, "controller_runtime_reconcile_total", &[("controller", "synthesis"), ("result", "success")]).unwrap_or(0.0);
    assert!(reconciles(&after) > reconciles(&before));
}
