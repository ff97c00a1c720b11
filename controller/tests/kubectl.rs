//! Conformance with the real kubectl, against `eno dev`'s API server.

#![cfg(not(madsim))]

mod support;

use std::time::Duration;
use support::{repo_path, seeds, EnoDev, Streaming};

#[test]
fn crds_and_seed_manifests_apply_unchanged_and_print_their_columns() {
    let dev = EnoDev::start();
    let crds = repo_path("deploy/crds");
    let out = dev.ok(&["apply", "-f", crds.to_str().unwrap()]);
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/compositions.eno.azure.io"), "{out}");
    let out = dev.ok(&["apply", "-f", seeds().to_str().unwrap()]);
    for created in ["composition.eno.azure.io/example created", "synthesizer.eno.azure.io/error-example created", "symphony.eno.azure.io/basic-symphony created"] {
        assert!(out.contains(created), "{out}");
    }
    // The second apply is a patch that changes nothing.
    let again = dev.ok(&["apply", "-f", seeds().to_str().unwrap()]);
    assert!(again.lines().all(|l| l.ends_with("unchanged")), "{again}");

    let table = dev.ok(&["get", "compositions"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SYNTHESIZER", "AGE", "STATUS", "ERROR"]);
    assert!(table.lines().any(|l| l.starts_with("example ") && l.contains("error-example")), "{table}");
    let synths = dev.ok(&["get", "synthesizers"]);
    assert!(synths.lines().next().unwrap().split_whitespace().eq(["NAME", "IMAGE"]), "{synths}");
    assert!(synths.contains("docker.io/ubuntu:latest"), "{synths}");
    let all_ns = dev.ok(&["get", "compositions", "-A"]);
    assert!(all_ns.starts_with("NAMESPACE"), "{all_ns}");
}

#[test]
fn get_yaml_label_annotate_and_patch() {
    let dev = EnoDev::start();
    dev.ok(&["apply", "-f", seeds().join("compositions.yaml").to_str().unwrap()]);
    let yaml = dev.ok(&["get", "composition", "example", "-o", "yaml"]);
    assert!(yaml.contains("kind: Composition") && yaml.contains("uid:") && yaml.contains("name: error-example"), "{yaml}");
    dev.ok(&["label", "composition", "example", "tier=web"]);
    dev.ok(&["annotate", "composition", "example", "note=hello"]);
    dev.ok(&["patch", "composition", "example", "--type", "merge", "-p", r#"{"spec":{"synthesisEnv":[{"name":"A","value":"b"}]}}"#]);
    dev.ok(&["patch", "composition", "example", "--type", "json", "-p", r#"[{"op":"replace","path":"/spec/synthesisEnv/0/value","value":"c"}]"#]);
    let obj = dev.json(&["get", "composition", "example"]);
    assert_eq!(obj["metadata"]["labels"]["tier"], "web");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");
    assert_eq!(obj["spec"]["synthesisEnv"][0]["value"], "c");
    assert_eq!(obj["metadata"]["generation"], 3, "two spec patches bumped the generation");
    let labelled = dev.ok(&["get", "compositions", "-l", "tier=web", "-o", "name"]);
    assert_eq!(labelled.trim(), "composition.eno.azure.io/example");
    // A failed JSON patch test changes nothing.
    let err = dev.fails(&["patch", "composition", "example", "--type", "json", "-p", r#"[{"op":"test","path":"/spec/synthesizer/name","value":"other"}]"#]);
    assert!(err.contains("The request is invalid") && err.contains("/spec/synthesizer/name"), "{err}");
    assert_eq!(dev.json(&["get", "composition", "example"])["metadata"]["generation"], 3);
}

#[test]
fn strategic_patch_on_a_custom_resource_gets_kubectls_415_error() {
    let dev = EnoDev::start();
    dev.ok(&["apply", "-f", seeds().join("compositions.yaml").to_str().unwrap()]);
    let err = dev.fails(&["patch", "composition", "example", "-p", r#"{"metadata":{"labels":{"a":"b"}}}"#]);
    assert!(err.contains("application/strategic-merge-patch+json is not supported by eno.azure.io/v1, Kind=Composition"), "{err}");
}

const CONFIGMAP_V1: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n  b: \"2\"\n";
const CONFIGMAP_V2: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"10\"\n";

#[test]
fn apply_twice_patches_and_drops_removed_fields() {
    let dev = EnoDev::start();
    assert!(dev.apply(CONFIGMAP_V1).contains("configmap/settings created"));
    let obj = dev.json(&["get", "configmap", "settings"]);
    assert!(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());
    assert!(dev.apply(CONFIGMAP_V2).contains("configmap/settings configured"));
    let obj = dev.json(&["get", "configmap", "settings"]);
    assert_eq!(obj["data"], serde_json::json!({"a": "10"}), "b was applied before and is gone now");
    assert!(dev.apply(CONFIGMAP_V2).contains("configmap/settings unchanged"));
}

#[test]
fn server_side_apply_creates_updates_and_records_the_manager() {
    let dev = EnoDev::start();
    let path = dev.file("cm.yaml", CONFIGMAP_V1);
    let out = dev.ok(&["apply", "--server-side", "-f", path.to_str().unwrap()]);
    assert!(out.contains("serverside-applied"), "{out}");
    let path = dev.file("cm2.yaml", CONFIGMAP_V2);
    dev.ok(&["apply", "--server-side", "-f", path.to_str().unwrap()]);
    let obj = dev.json(&["get", "configmap", "settings", "--show-managed-fields"]);
    assert_eq!(obj["data"], serde_json::json!({"a": "10"}));
    let managers: Vec<&str> = obj["metadata"]["managedFields"].as_array().unwrap().iter().map(|m| m["manager"].as_str().unwrap()).collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
}

#[test]
fn replace_with_a_stale_object_conflicts_and_create_of_an_existing_name_fails() {
    let dev = EnoDev::start();
    dev.apply(CONFIGMAP_V1);
    let stale = dev.ok(&["get", "configmap", "settings", "-o", "yaml"]);
    let path = dev.file("stale.yaml", &stale);
    dev.ok(&["label", "configmap", "settings", "changed=yes"]);
    let err = dev.fails(&["replace", "-f", path.to_str().unwrap()]);
    assert!(err.contains("the object has been modified; please apply your changes to the latest version and try again"), "{err}");
    let err = dev.fails(&["create", "-f", path.to_str().unwrap()]);
    assert!(err.contains("AlreadyExists") && err.contains("\"settings\" already exists"), "{err}");
}

#[test]
fn delete_waits_until_the_finalizer_is_removed() {
    let dev = EnoDev::start();
    dev.apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n");
    let mut delete = Streaming::start(dev.command(&["delete", "configmap", "held", "--timeout=60s"]));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(delete.is_running(), "kubectl delete returned while the finalizer still holds the object");
    let obj = dev.json(&["get", "configmap", "held"]);
    assert!(obj["metadata"]["deletionTimestamp"].is_string());
    dev.ok(&["patch", "configmap", "held", "--type", "merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    assert!(delete.wait(Duration::from_secs(30)).success());
    let err = dev.fails(&["get", "configmap", "held"]);
    assert!(err.contains("NotFound"), "{err}");
}

fn deployment(image: &str, sidecar: bool) -> String {
    let sidecar = if sidecar { "\n      - name: sidecar\n        image: envoy:1" } else { "" };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        ports:\n        - containerPort: 80{sidecar}\n"
    )
}

#[test]
fn applying_an_edited_deployment_keeps_containers_merged_by_name() {
    let dev = EnoDev::start();
    dev.apply(&deployment("nginx:1", true));
    // Another client adds an env var to the app container (a strategic patch).
    dev.ok(&["patch", "deployment", "web", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"FROM_OTHER","value":"1"}]}]}}}}"#]);
    dev.apply(&deployment("nginx:2", true));
    let obj = dev.json(&["get", "deployment", "web"]);
    let containers = obj["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "{containers:?}");
    assert_eq!(containers[0]["image"], "nginx:2");
    assert_eq!(containers[0]["env"][0]["name"], "FROM_OTHER", "the other client's field survives");
    assert_eq!(containers[1]["name"], "sidecar");
    // Second edit: the sidecar leaves the applied configuration, so it goes.
    dev.apply(&deployment("nginx:3", false));
    let obj = dev.json(&["get", "deployment", "web"]);
    let containers = obj["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0]["image"], "nginx:3");
    assert_eq!(containers[0]["env"][0]["value"], "1");
    assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
}

#[test]
fn invalid_objects_are_rejected_with_the_field_named() {
    let dev = EnoDev::start();
    let long = "x".repeat(101);
    let bad_env = format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: bad\nspec:\n  synthesizer:\n    name: s\n  synthesisEnv:\n  - name: {long}\n    value: v\n");
    let out = dev.with_stdin(&["apply", "-f", "-"], &bad_env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("spec.synthesisEnv[0].name"), "{err}");
    let bad_type = "apiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: bad\nspec:\n  image: x\n  command: not-a-list\n";
    let out = dev.with_stdin(&["apply", "-f", "-"], bad_type);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("spec.command"), "{err}");
    let unknown = "apiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: bad\nspec:\n  image: x\n  imagee: typo\n";
    let out = dev.with_stdin(&["apply", "-f", "-"], unknown);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("unknown field \"spec.imagee\""), "{err}");
    assert!(dev.fails(&["get", "synthesizer", "bad"]).contains("NotFound"));
}

#[test]
fn get_watch_streams_changes() {
    let dev = EnoDev::start();
    let watch = Streaming::start(dev.command(&["get", "configmaps", "-w"]));
    std::thread::sleep(Duration::from_millis(500));
    dev.apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\n");
    watch.expect_line("watched", Duration::from_secs(15));
    dev.ok(&["delete", "configmap", "watched"]);
    let _ = watch;
}
