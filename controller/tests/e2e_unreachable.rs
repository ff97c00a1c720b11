//! End to end through `eno dev` and the real kubectl: resources the API server cannot take yet
//! (a namespace that does not exist, a kind with no CRD) are shown on the composition, asked
//! for a handful of times a minute (counted in `eno dev --request-log`), and converge once
//! what they need exists; a CRD deleted under a composition does not keep it from going.

#![cfg(not(madsim))]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{eventually, synthesizer, EnoDev};

fn composition(name: &str, synth: &str) -> String {
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\nspec:\n  synthesizer:\n    name: {synth}\n")
}

fn simplified(dev: &EnoDev, name: &str) -> serde_json::Value {
    dev.json(&["get", "composition", name, "-o", "json"])["status"]["simplified"].clone()
}

/// The `reconciliationError`s in the composition's slices' statuses.
fn slice_errors(dev: &EnoDev) -> Vec<String> {
    let slices = dev.json(&["get", "resourceslices", "-o", "json"]);
    let states = slices["items"].as_array().into_iter().flatten().flat_map(|s| s["status"]["resources"].as_array().into_iter().flatten());
    states.filter_map(|r| r["reconciliationError"].as_str().map(str::to_string)).collect()
}

/// The request log's lines matching `matches`, with their times.
fn logged(log: &Path, matches: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).filter(|e| matches(e)).collect()
}

#[test]
fn a_resource_in_a_missing_namespace_is_shown_asked_for_a_few_times_a_minute_and_created_with_its_namespace() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("requests.jsonl");
    let dev = EnoDev::start_with(&["--request-log", log.to_str().unwrap()]);
    let late = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late","namespace":"late"},"data":{"v":"1"}}"#;
    let here = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"here","namespace":"default"},"data":{"v":"1"}}"#;
    dev.apply(&synthesizer("late", &[late, here]));
    dev.apply(&composition("late", "late"));

    let error = "namespaces \"late\" not found";
    eventually(Duration::from_secs(30), "the slice status's error", || slice_errors(&dev).iter().any(|e| e == error).then_some(()));
    eventually(Duration::from_secs(30), "the composition's error", || {
        let s = simplified(&dev, "late");
        (s["status"] == "Reconciling" && s["error"] == error).then_some(())
    });
    assert!(dev.kubectl(&["get", "configmap", "here", "-n", "default"]).status.success(), "the other resource is not held up");

    // A minute from the first refusal: the server was asked a handful of times (2s doubling,
    // ±10%: at most 6 in the first minute).
    let creates = |log: &Path| logged(log, |e| e["verb"] == "create" && e["namespace"] == "late" && e["name"] == "late");
    let first = creates(&log).len();
    assert!(first >= 1, "the create was refused at least once");
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let refused = creates(&log);
    assert!(refused.iter().all(|e| e["code"] == 404), "{refused:?}");
    let in_a_minute = refused.len() - first + 1;
    let times: Vec<&str> = refused.iter().filter_map(|e| e["time"].as_str()).collect();
    eprintln!("creates in the missing namespace in the {:?} from the first: {in_a_minute}, at {times:?}", started.elapsed());
    assert!(in_a_minute <= 7, "{in_a_minute} creates in a minute: {refused:?}");
    let reads = logged(&log, |e| e["verb"] == "get" && e["namespace"] == "late" && e["resource"] == "configmaps").len();
    assert!(reads <= refused.len() + 1, "a read per attempt at most: {reads} reads, {} creates", refused.len());

    // The namespace appears: the resource follows within the capped retry (30s ±10%).
    dev.ok(&["create", "namespace", "late"]);
    eventually(Duration::from_secs(40), "the ConfigMap in its namespace", || dev.kubectl(&["get", "configmap", "late", "-n", "late"]).status.success().then_some(()));
    eventually(Duration::from_secs(30), "Ready", || {
        let s = simplified(&dev, "late");
        (s["status"] == "Ready").then_some(())
    });
    assert!(slice_errors(&dev).is_empty(), "{:?}", slice_errors(&dev));
}

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

#[test]
fn a_kind_without_its_crd_waits_for_it_and_a_crd_deleted_first_does_not_hold_the_composition() {
    let dev = EnoDev::start();
    let widget = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","namespace":"default"},"spec":{"size":1}}"#;
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"beside","namespace":"default"}}"#;
    dev.apply(&synthesizer("widgets", &[widget, cm]));
    dev.apply(&composition("widgets", "widgets"));
    let error = "no matches for kind \"Widget\" in version \"example.com/v1\"";
    eventually(Duration::from_secs(30), "the missing kind shown", || (simplified(&dev, "widgets")["error"] == error).then_some(()));

    dev.apply(WIDGET_CRD);
    eventually(Duration::from_secs(45), "Ready once the CRD exists", || (simplified(&dev, "widgets")["status"] == "Ready").then_some(()));
    assert!(dev.kubectl(&["get", "widgets.example.com", "w", "-n", "default"]).status.success());

    // The CRD goes first (its Widgets with it); then the composition: nothing is left to
    // delete of the Widget, so the composition goes.
    dev.ok(&["delete", "crd", "widgets.example.com"]);
    eventually(Duration::from_secs(30), "the CRD gone", || (!dev.kubectl(&["get", "crd", "widgets.example.com"]).status.success()).then_some(()));
    let deleting = support::Streaming::start(dev.command(&["delete", "composition", "widgets", "--timeout=60s"]));
    assert!(deleting.wait(Duration::from_secs(60)).success(), "the composition stayed deleting");
    assert!(!dev.kubectl(&["get", "configmap", "beside", "-n", "default"]).status.success(), "its other resources went first");
}
