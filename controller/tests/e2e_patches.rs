//! End to end through `eno dev` and the real kubectl: Eno's `Patch` pseudo-kind on an object
//! created outside Eno, and the resource annotations a composition hands down to its resources
//! (`deletion-strategy: orphan`) or a resource carries (`replace`).

#![cfg(not(madsim))]

mod support;

use std::time::Duration;
use support::{eventually, synthesizer, EnoDev};

fn status_of(dev: &EnoDev, name: &str) -> String {
    let out = dev.kubectl(&["get", "composition", name, "-o", "jsonpath={.status.simplified.status}"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config_map(dev: &EnoDev, name: &str) -> Option<serde_json::Value> {
    let out = dev.kubectl(&["get", "configmap", name, "-o", "json"]);
    out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten()
}

/// A Patch of ConfigMap `default/name` with these ops (JSON).
fn eno_patch(name: &str, ops: &str) -> String {
    format!(r#"{{"apiVersion":"eno.azure.io/v1","kind":"Patch","metadata":{{"name":"{name}","namespace":"default"}},"patch":{{"apiVersion":"v1","kind":"ConfigMap","ops":{ops}}}}}"#)
}

/// A ConfigMap Eno manages, whose `step` tells which output the composition reconciled.
fn marker(step: &str) -> String {
    format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"marker","namespace":"default"}},"data":{{"step":"{step}"}}}}"#)
}

/// Waits until the composition reconciled the output whose marker is `step` and is Ready.
fn wait_for_step(dev: &EnoDev, composition: &str, step: &str) {
    eventually(Duration::from_secs(30), &format!("step {step} Ready"), || {
        let reconciled = config_map(dev, "marker").is_some_and(|m| m["data"]["step"] == step);
        (reconciled && status_of(dev, composition) == "Ready").then_some(())
    });
}

const EXTERNAL: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: external\n  namespace: default\ndata:\n  own: \"1\"\n";

#[test]
fn a_patch_changes_an_object_it_does_not_own_never_creates_one_and_can_delete_it() {
    // Each step changes the synthesizer: no cooldown between the syntheses it causes.
    let dev = EnoDev::start_with(&["--rollout-cooldown", "0s"]);
    dev.apply(EXTERNAL);
    let add = eno_patch("external", r#"[{"op":"add","path":"/data/added","value":"yes"}]"#);
    let of_nothing = eno_patch("absent", r#"[{"op":"add","path":"/data/added","value":"yes"}]"#);
    dev.apply(&synthesizer("patching", &[&marker("1"), &add, &of_nothing]));
    dev.apply("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: patching\nspec:\n  synthesizer:\n    name: patching\n");
    // Ready: the patch is applied, the missing target skipped (and never created).
    wait_for_step(&dev, "patching", "1");
    let external = config_map(&dev, "external").expect("external");
    assert_eq!(external["data"], serde_json::json!({"own": "1", "added": "yes"}));
    assert!(config_map(&dev, "absent").is_none(), "a Patch never creates its target");

    // The Patch leaves the output: its change stays, the ConfigMap too.
    dev.apply(&synthesizer("patching", &[&marker("2")]));
    wait_for_step(&dev, "patching", "2");
    std::thread::sleep(Duration::from_secs(2));
    let external = config_map(&dev, "external").expect("a removed Patch does not delete its target");
    assert_eq!(external["data"]["added"], "yes");

    // A Patch setting metadata.deletionTimestamp deletes its target; the composition is Ready.
    let delete = eno_patch("external", r#"[{"op":"add","path":"/metadata/deletionTimestamp","value":"now"}]"#);
    dev.apply(&synthesizer("patching", &[&marker("3"), &delete]));
    wait_for_step(&dev, "patching", "3");
    eventually(Duration::from_secs(10), "external deleted", || config_map(&dev, "external").is_none().then_some(()));
    assert!(config_map(&dev, "absent").is_none());
}

#[test]
fn a_composition_orphan_annotation_orphans_every_resource() {
    let dev = EnoDev::start();
    let a = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept-a","namespace":"default"}}"#;
    let b = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept-b","namespace":"default"}}"#;
    dev.apply(&synthesizer("orphaning", &[a, b]));
    dev.apply("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: orphaning\n  annotations:\n    eno.azure.io/deletion-strategy: orphan\nspec:\n  synthesizer:\n    name: orphaning\n");
    eventually(Duration::from_secs(30), "Ready", || (status_of(&dev, "orphaning") == "Ready").then_some(()));
    // kubectl waits until the composition is gone; its resources stay.
    let deleting = support::Streaming::start(dev.command(&["delete", "composition", "orphaning", "--timeout=60s"]));
    assert!(deleting.wait(Duration::from_secs(60)).success());
    assert!(config_map(&dev, "kept-a").is_some() && config_map(&dev, "kept-b").is_some(), "the composition's orphan strategy reaches every resource");
}

#[test]
fn replace_rewrites_the_whole_object_where_a_merge_keeps_other_fields() {
    let dev = EnoDev::start();
    let annotated = |name: &str, replace: bool| {
        format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"default","annotations":{{"eno.azure.io/reconcile-interval":"1s","eno.azure.io/replace":"{replace}"}}}},"data":{{"owned":"eno"}}}}"#)
    };
    dev.apply(&synthesizer("replacing", &[&annotated("replaced", true), &annotated("merged", false)]));
    dev.apply("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: replacing\nspec:\n  synthesizer:\n    name: replacing\n");
    eventually(Duration::from_secs(30), "Ready", || (status_of(&dev, "replacing") == "Ready").then_some(()));
    // Another client changes Eno's field and adds one of its own, to both.
    for name in ["replaced", "merged"] {
        dev.ok(&["patch", "configmap", name, "--type", "merge", "-p", r#"{"data":{"owned":"drifted","foreign":"x"},"metadata":{"labels":{"team":"blue"}}}"#]);
    }
    for name in ["replaced", "merged"] {
        eventually(Duration::from_secs(10), &format!("{name} fixed"), || (config_map(&dev, name)?["data"]["owned"] == "eno").then_some(()));
    }
    let replaced = config_map(&dev, "replaced").unwrap();
    assert!(replaced["data"].get("foreign").is_none() && replaced["metadata"].get("labels").is_none(), "a PUT drops other clients' fields: {replaced}");
    let merged = config_map(&dev, "merged").unwrap();
    assert_eq!((&merged["data"]["foreign"], &merged["metadata"]["labels"]["team"]), (&serde_json::json!("x"), &serde_json::json!("blue")), "a merge keeps them");
}
