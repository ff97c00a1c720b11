//! Resource order end to end through `eno dev` and the real kubectl: readiness groups, Eno's
//! infrastructure kinds first, a CRD before its custom resources, and deletion in reverse, judged
//! from the API's watch events (the resourceVersions of creations and deletions are one global
//! order).

#![cfg(not(madsim))]

mod support;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{eventually, synthesizer, EnoDev};

const CRD: &str = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"kind":"Widget","plural":"widgets","singular":"widget","listKind":"WidgetList"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}"#;
const NAMESPACE: &str = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}"#;
const SETTINGS: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"shop"},"data":{"size":"small"}}"#;
/// Ready once another client reports it running.
const WIDGET: &str = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"gadget","namespace":"shop","annotations":{"eno.azure.io/readiness":"has(self.status) && self.status.phase == \"Running\""}},"spec":{"color":"blue"}}"#;
/// Readiness group 1: only once the widget is ready.
const AFTER: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after","namespace":"shop","annotations":{"eno.azure.io/readiness-group":"1"}},"data":{"created":"after-the-widget"}}"#;

const COMPOSITION: &str = "apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: shop\n  namespace: default\nspec:\n  synthesizer:\n    name: shop\n";

/// Every watch event seen so far on `events`: `(type, kind, name)` → resourceVersion.
fn drain(events: &mpsc::Receiver<(Instant, serde_json::Value)>, into: &mut BTreeMap<(String, String, String), u64>) {
    while let Ok((_, event)) = events.try_recv() {
        let object = &event["object"];
        let key = (
            event["type"].as_str().unwrap_or_default().to_string(),
            object["kind"].as_str().unwrap_or_default().to_string(),
            object["metadata"]["name"].as_str().unwrap_or_default().to_string(),
        );
        let rv = object["metadata"]["resourceVersion"].as_str().and_then(|rv| rv.parse().ok()).expect("a resourceVersion");
        into.entry(key).or_insert(rv);
    }
}

fn rv(seen: &BTreeMap<(String, String, String), u64>, event: &str, kind: &str, name: &str) -> u64 {
    *seen.get(&(event.to_string(), kind.to_string(), name.to_string())).unwrap_or_else(|| panic!("no {event} event for {kind} {name}: {seen:?}"))
}

fn simplified(dev: &EnoDev) -> (String, String) {
    let status = dev.json(&["get", "composition", "shop", "-n", "default"]);
    let field = |f: &str| status["status"]["simplified"][f].as_str().unwrap_or_default().to_string();
    (field("status"), field("error"))
}

#[test]
fn resources_are_created_group_by_group_and_deleted_in_reverse() {
    let dev = EnoDev::start();
    let watches = [dev.watch(&["customresourcedefinitions"]), dev.watch(&["namespaces"]), dev.watch(&["configmaps", "--all-namespaces"])];
    dev.apply(&synthesizer("shop", &[CRD, NAMESPACE, SETTINGS, WIDGET, AFTER]));
    dev.apply(COMPOSITION);

    // The custom resource waits for its CRD, and everything for the infrastructure group.
    eventually(Duration::from_secs(30), "the widget", || dev.kubectl(&["get", "widget", "gadget", "-n", "shop"]).status.success().then_some(()));
    let widgets = dev.watch(&["widgets", "--all-namespaces"]);
    let mut seen = BTreeMap::new();
    eventually(Duration::from_secs(10), "the creations seen", || {
        watches.iter().chain([&widgets]).for_each(|(_, events)| drain(events, &mut seen));
        seen.contains_key(&("ADDED".to_string(), "Widget".to_string(), "gadget".to_string())).then_some(())
    });
    let widget_created = rv(&seen, "ADDED", "Widget", "gadget");
    for (kind, name) in [("CustomResourceDefinition", "widgets.example.com"), ("Namespace", "shop"), ("ConfigMap", "settings")] {
        assert!(rv(&seen, "ADDED", kind, name) < widget_created, "{kind} {name} was not created before the widget: {seen:?}");
    }

    // Group 1 waits for the widget to be ready, and the composition says so.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!dev.kubectl(&["get", "configmap", "after", "-n", "shop"]).status.success(), "group 1 was created before the widget was ready");
    assert_eq!(simplified(&dev), ("Reconciling".to_string(), "waiting for Widget shop/gadget to be ready".to_string()));
    dev.ok(&["patch", "widget", "gadget", "-n", "shop", "--type", "merge", "-p", r#"{"status":{"phase":"Running"}}"#]);
    eventually(Duration::from_secs(30), "the composition Ready", || (simplified(&dev).0 == "Ready").then_some(()));
    watches.iter().chain([&widgets]).for_each(|(_, events)| drain(events, &mut seen));
    let widget_running = seen.keys().filter(|(t, k, _)| t == "MODIFIED" && k == "Widget").count();
    assert!(widget_running >= 1, "the widget's status change was watched");
    assert!(rv(&seen, "ADDED", "ConfigMap", "after") > widget_created);

    // Deletion runs backwards: group 1, then the widget, then the infrastructure.
    dev.ok(&["delete", "composition", "shop", "-n", "default", "--timeout=60s"]);
    eventually(Duration::from_secs(10), "the deletions seen", || {
        watches.iter().chain([&widgets]).for_each(|(_, events)| drain(events, &mut seen));
        ["CustomResourceDefinition", "Namespace"].iter().all(|k| seen.keys().any(|(t, kind, _)| t == "DELETED" && kind == k)).then_some(())
    });
    let after_gone = rv(&seen, "DELETED", "ConfigMap", "after");
    let widget_gone = rv(&seen, "DELETED", "Widget", "gadget");
    assert!(after_gone < widget_gone, "the widget went before group 1: {seen:?}");
    for (kind, name) in [("CustomResourceDefinition", "widgets.example.com"), ("Namespace", "shop"), ("ConfigMap", "settings")] {
        assert!(widget_gone < rv(&seen, "DELETED", kind, name), "{kind} {name} went before the widget: {seen:?}");
    }
    for (mut child, _) in watches.into_iter().chain([widgets]) {
        let _ = child.kill();
    }
}
