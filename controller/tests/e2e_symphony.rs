//! Symphonies end to end through `eno dev` and the real kubectl: the seed symphony, unchanged,
//! then moving an annotation between its compositions, removing a variation and deleting it.

#![cfg(not(madsim))]

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::{eventually, seeds, synthesizer, EnoDev, Streaming};

fn configmap(name: &str) -> String {
    format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"default"}}}}"#)
}

/// The seed's symphony with the `owner` annotation on the named variation (`""` on the other);
/// `with_synth_2: false` drops the second variation.
fn symphony(owner: &str, with_synth_2: bool) -> String {
    let value = |synth: &str| if synth == owner { "\"true\"" } else { "\"\"" };
    let mut yaml = format!(
        "apiVersion: eno.azure.io/v1\nkind: Symphony\nmetadata:\n  name: basic-symphony\nspec:\n  variations:\n  - synthesizer:\n      name: synth-1\n    annotations:\n      owner: {}\n",
        value("synth-1")
    );
    if with_synth_2 {
        yaml += &format!(
            "  - synthesizer:\n      name: synth-2\n    synthesisEnv:\n    - name: EXAMPLE_ENVVAR\n      value: example-value\n    bindings:\n    - key: foo\n      resource:\n        name: test-input\n        namespace: default\n    annotations:\n      owner: {}\n",
            value("synth-2")
        );
    }
    yaml
}

/// The symphony's compositions, by synthesizer.
fn compositions(dev: &EnoDev) -> BTreeMap<String, Value> {
    let list = dev.json(&["get", "compositions"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["metadata"]["ownerReferences"].as_array().is_some_and(|o| o.iter().any(|o| o["kind"] == "Symphony" && o["name"] == "basic-symphony")))
        .map(|c| (c["spec"]["synthesizer"]["name"].as_str().unwrap_or_default().to_string(), c.clone()))
        .collect()
}

fn configmap_exists(dev: &EnoDev, name: &str) -> bool {
    dev.kubectl(&["get", "configmap", name]).status.success()
}

#[test]
fn seed_symphony_lifecycle() {
    let dev = EnoDev::start();
    dev.apply(&synthesizer("synth-1", &[&configmap("from-synth-1")]));
    dev.apply(&synthesizer("synth-2", &[&configmap("from-synth-2")]));
    dev.ok(&["apply", "-f", seeds().join("symphony-basic.yaml").to_str().unwrap()]);

    // One composition per variation, named after its synthesizer, both Ready.
    let comps = eventually(Duration::from_secs(60), "two Ready compositions", || {
        let comps = compositions(&dev);
        (comps.len() == 2 && comps.values().all(|c| c["status"]["simplified"]["status"] == "Ready")).then_some(comps)
    });
    for (synth, comp) in &comps {
        assert!(comp["metadata"]["name"].as_str().unwrap().starts_with(&format!("{synth}-")), "{comp}");
        assert_eq!(comp["metadata"]["ownerReferences"][0]["controller"], true);
    }
    assert_eq!(comps["synth-2"]["spec"]["synthesisEnv"], serde_json::json!([{"name": "EXAMPLE_ENVVAR", "value": "example-value"}]));
    assert_eq!(comps["synth-2"]["spec"]["bindings"][0]["resource"]["name"], "test-input");
    assert!(configmap_exists(&dev, "from-synth-1") && configmap_exists(&dev, "from-synth-2"));
    eventually(Duration::from_secs(30), "the symphony's ready time", || {
        let s = dev.json(&["get", "symphony", "basic-symphony"]);
        (s["status"]["ready"].is_string() && s["status"]["observedGeneration"] == 1).then_some(())
    });

    // The owner annotation goes to synth-1, then moves to synth-2: a watch sees every change,
    // and no state ever has it on both.
    dev.apply(&symphony("synth-1", true));
    eventually(Duration::from_secs(30), "owner on synth-1", || (compositions(&dev)["synth-1"]["metadata"]["annotations"]["owner"] == "true").then_some(()));
    let watch = Streaming::start(dev.command(&["get", "compositions", "--watch", "--output-watch-events", "-o", r#"jsonpath={.object.metadata.name} {.object.metadata.annotations.owner}{"\n"}"#]));
    let names: BTreeMap<String, String> = compositions(&dev).iter().map(|(s, c)| (c["metadata"]["name"].as_str().unwrap().to_string(), s.clone())).collect();
    let mut owner: BTreeMap<String, bool> = BTreeMap::new();
    dev.apply(&symphony("synth-2", true));
    let deadline = Instant::now() + Duration::from_secs(30);
    while owner.get(&names.iter().find(|(_, s)| *s == "synth-2").unwrap().0.clone()) != Some(&true)
        || owner.get(&names.iter().find(|(_, s)| *s == "synth-1").unwrap().0.clone()) != Some(&false)
    {
        assert!(Instant::now() < deadline, "the annotation did not move within 30s: {owner:?}");
        let Some(line) = watch.next_line(Duration::from_secs(1)) else { continue };
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        owner.insert(name.to_string(), words.next() == Some("true"));
        assert!(owner.values().filter(|o| **o).count() <= 1, "owner on two compositions at once: {owner:?}");
    }
    drop(watch);

    // Removing a variation deletes its composition the normal way: its resources go first.
    dev.apply(&symphony("synth-1", false));
    eventually(Duration::from_secs(60), "synth-2's composition and ConfigMap gone", || {
        (!compositions(&dev).contains_key("synth-2") && !configmap_exists(&dev, "from-synth-2")).then_some(())
    });
    assert!(configmap_exists(&dev, "from-synth-1"));

    // Deleting the symphony removes its compositions at once and leaves their resources.
    let deleting = Streaming::start(dev.command(&["delete", "symphony", "basic-symphony", "--timeout=60s"]));
    assert!(deleting.wait(Duration::from_secs(60)).success());
    assert!(compositions(&dev).is_empty());
    assert!(configmap_exists(&dev, "from-synth-1"), "a deleted symphony orphans its resources");
}

/// `deploy/examples/migration/symphony-migration.yaml`, applied unchanged: flipping the symphony's
/// annotation hands the ConfigMap from one synthesizer to the other and back, without ever
/// deleting it.
#[test]
fn the_migration_example_hands_the_configmap_over() {
    let dev = EnoDev::start();
    let example = support::repo_path("deploy/examples/migration/symphony-migration.yaml");
    dev.ok(&["apply", "-f", example.to_str().unwrap()]);
    let managed_by = |dev: &EnoDev| {
        let out = dev.kubectl(&["get", "configmap", "app-settings", "-o", "json"]);
        let cm: Value = serde_json::from_slice(&out.stdout).ok()?;
        Some((cm["data"]["managedBy"].as_str()?.to_string(), cm["metadata"]["uid"].as_str()?.to_string()))
    };
    let wait_for = |owner: &str| eventually(Duration::from_secs(60), &format!("app-settings managed by {owner}"), || managed_by(&dev).filter(|(m, _)| m == owner));
    let (_, uid) = wait_for("legacy-settings");

    let flip = |owner: &str| {
        let value = |synth: &str| if synth == owner { "true" } else { "" };
        let patch = serde_json::json!({"spec": {"variations": [
            {"synthesizer": {"name": "legacy-settings"}, "annotations": {"example.com/owns-settings": value("legacy-settings")}},
            {"synthesizer": {"name": "new-settings"}, "annotations": {"example.com/owns-settings": value("new-settings")}},
        ]}});
        dev.ok(&["patch", "symphony", "settings-migration", "--type", "merge", "-p", &patch.to_string()]);
    };
    flip("new-settings");
    let (_, after) = wait_for("new-settings");
    assert_eq!(after, uid, "the ConfigMap was handed over, not recreated");
    let holders = |dev: &EnoDev| {
        let list = dev.json(&["get", "compositions"]);
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["metadata"]["annotations"]["example.com/owns-settings"] == "true")
            .map(|c| c["spec"]["synthesizer"]["name"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(holders(&dev), ["new-settings"]);

    // Handing it back restores the legacy content, on the same object.
    flip("legacy-settings");
    let (_, back) = wait_for("legacy-settings");
    assert_eq!(back, uid);
    assert_eq!(holders(&dev), ["legacy-settings"]);
}
