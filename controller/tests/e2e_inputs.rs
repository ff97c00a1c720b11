//! Synthesizer inputs end to end through `eno dev` and the real kubectl: a bound ConfigMap is
//! read at synthesis, its change resynthesizes (with `status.inputRevisions` recording it), its
//! deletion shows `MissingInputs`, and its return synthesizes again without any other edit.

#![cfg(not(madsim))]

mod support;

use std::time::Duration;
use support::{eventually, EnoDev};

/// Reads the bound input's `data.color` from stdin and outputs it as ConfigMap `painted`.
const PAINTER: &str = r#"apiVersion: eno.azure.io/v1
kind: Synthesizer
metadata:
  name: painter
spec:
  image: example
  refs:
  - key: palette
    resource: {version: v1, kind: ConfigMap}
  command:
  - /bin/bash
  - -c
  - |
    color=$(cat | grep -o '"color":"[^"]*"' | head -n 1 | cut -d '"' -f 4)
    echo "{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"painted\",\"namespace\":\"default\"},\"data\":{\"color\":\"$color\"}}]}"
---
apiVersion: eno.azure.io/v1
kind: Composition
metadata:
  name: painting
  namespace: default
spec:
  synthesizer:
    name: painter
  bindings:
  - key: palette
    resource: {name: palette, namespace: default}
"#;

fn painted(dev: &EnoDev) -> Option<String> {
    let out = dev.kubectl(&["get", "configmap", "painted", "-o", "jsonpath={.data.color}"]);
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn simplified(dev: &EnoDev) -> (String, String) {
    let c = dev.json(&["get", "composition", "painting", "-o", "json"]);
    let s = &c["status"]["simplified"];
    (s["status"].as_str().unwrap_or_default().to_string(), s["error"].as_str().unwrap_or_default().to_string())
}

#[test]
fn a_bound_input_drives_synthesis_and_its_absence_holds_it() {
    let dev = EnoDev::start();
    dev.ok(&["create", "configmap", "palette", "--from-literal=color=red"]);
    dev.apply(PAINTER);
    eventually(Duration::from_secs(30), "red", || (painted(&dev)? == "red").then_some(()));
    let palette_rv = |dev: &EnoDev| dev.json(&["get", "configmap", "palette", "-o", "json"])["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let recorded = |dev: &EnoDev| dev.json(&["get", "composition", "painting", "-o", "json"])["status"]["inputRevisions"].clone();
    assert_eq!(recorded(&dev), serde_json::json!([{"key": "palette", "resourceVersion": palette_rv(&dev)}]));

    // Editing the input resynthesizes, and the record follows.
    dev.ok(&["patch", "configmap", "palette", "--type", "merge", "-p", r#"{"data":{"color":"blue"}}"#]);
    eventually(Duration::from_secs(30), "blue", || (painted(&dev)? == "blue").then_some(()));
    assert_eq!(recorded(&dev)[0]["resourceVersion"], palette_rv(&dev));
    let current = dev.json(&["get", "composition", "painting", "-o", "json"])["status"]["currentSynthesis"].clone();
    assert_eq!(current["inputRevisions"][0]["resourceVersion"], palette_rv(&dev), "the synthesis says which input it read");

    // Deleting it: MissingInputs, and what was synthesized stays.
    dev.ok(&["delete", "configmap", "palette"]);
    let (status, error) = eventually(Duration::from_secs(30), "MissingInputs", || Some(simplified(&dev)).filter(|(s, _)| s == "MissingInputs"));
    assert_eq!((status.as_str(), error.as_str()), ("MissingInputs", "missing inputs: palette"));
    assert_eq!(painted(&dev).as_deref(), Some("blue"));

    // Recreating it synthesizes again, with no other edit.
    dev.ok(&["create", "configmap", "palette", "--from-literal=color=green"]);
    eventually(Duration::from_secs(30), "green", || (painted(&dev)? == "green").then_some(()));
    eventually(Duration::from_secs(30), "Ready", || Some(simplified(&dev)).filter(|(s, _)| s == "Ready"));
}

#[test]
fn bad_bindings_and_annotations_are_clear_status_messages() {
    let dev = EnoDev::start();
    // A ref with no binding, and a ref to a kind the server does not serve.
    dev.apply(
        "apiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: needy\nspec:\n  image: example\n  refs:\n  - key: unbound\n    resource: {version: v1, kind: ConfigMap}\n---\napiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: exotic\nspec:\n  image: example\n  refs:\n  - key: gadget\n    resource: {group: example.com, version: v1, kind: Gadget, name: g, namespace: default}\n---\napiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: counted\nspec:\n  image: example\n  refs:\n  - key: rev\n    resource: {version: v1, kind: ConfigMap, name: rev, namespace: default}\n",
    );
    dev.ok(&["create", "configmap", "rev"]);
    dev.ok(&["annotate", "configmap", "rev", "eno.azure.io/revision=soon"]);
    for (name, synth) in [("a", "needy"), ("b", "exotic"), ("c", "counted")] {
        dev.apply(&format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  synthesizer:\n    name: {synth}\n"));
    }
    let error_of = |name: &str| {
        let c = dev.json(&["get", "composition", name, "-o", "json"]);
        (c["status"]["simplified"]["status"].as_str().unwrap_or_default().to_string(), c["status"]["simplified"]["error"].as_str().unwrap_or_default().to_string())
    };
    for (name, want) in [
        ("a", "synthesizer ref \"unbound\" is not bound: the composition has no binding for it and the ref names no object"),
        ("b", "input \"gadget\": the API server does not serve example.com/v1 Gadget"),
        ("c", "input \"rev\" (v1/ConfigMap default/rev): annotation eno.azure.io/revision is \"soon\", not an integer"),
    ] {
        let (status, error) = eventually(Duration::from_secs(30), name, || Some(error_of(name)).filter(|(s, _)| s == "MissingInputs"));
        assert_eq!((status.as_str(), error.as_str()), ("MissingInputs", want), "composition {name}");
    }
    // Nothing ran for any of them.
    for name in ["a", "b", "c"] {
        assert!(dev.json(&["get", "composition", name, "-o", "json"])["status"]["currentSynthesis"].is_null(), "{name} was synthesized");
    }
}
