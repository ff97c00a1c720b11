//! The ops endpoint (`--ops-address`): `/healthz`, `/readyz`, and `/metrics` scraped and parsed
//! with a Prometheus text-format parser, its counters moving as compositions converge.

#![cfg(not(madsim))]

mod support;

use std::io::{Read, Write};
use std::time::Duration;
use support::{eventually, synthesizer, EnoDev};

/// `GET path` over plain HTTP/1.0: the status code and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// A free local port (taken, then given back).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

fn scrape(port: u16) -> prometheus_parse::Scrape {
    let (status, body) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200);
    let lines = body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("/metrics parses as the Prometheus text format")
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
