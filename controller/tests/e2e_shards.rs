//! Sharding end to end: `eno dev --no-controllers` serves the API, and two `eno run` shards
//! (Eno's `--composition-namespace`, `--composition-label-selector`, `--resource-filter`) each
//! converge only their own compositions and resources. A composition no shard selects is left
//! as it is, and so is one whose labels stop matching: not synthesized, not cleaned up, not
//! deleted, until a shard selects it again.

#![cfg(not(madsim))]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{eventually, synthesizer, EnoDev};

/// An `eno run` shard against `dev`, with these sharding flags; killed on drop.
struct Shard(Child);

impl Shard {
    fn start(dev: &EnoDev, name: &str, flags: &[&str]) -> Shard {
        let config = dev.json(&["config", "view", "--raw"]);
        let kubeconfig = dev.file(&format!("{name}.kubeconfig"), &config.to_string());
        let child = Command::new(env!("CARGO_BIN_EXE_eno"))
            .args(["run", "--executor", "local", "--synthesis-namespace", "default", "--ops-address", "none", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("eno run starts");
        Shard(child)
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn composition(name: &str, namespace: &str, shard_label: Option<&str>) -> String {
    let labels = shard_label.map(|l| format!("  labels:\n    shard: {l}\n")).unwrap_or_default();
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{labels}spec:\n  synthesizer:\n    name: {name}\n")
}

fn configmap(name: &str) -> String {
    format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"default"}},"data":{{"v":"1"}}}}"#)
}

fn exists(dev: &EnoDev, args: &[&str]) -> bool {
    dev.kubectl(&[&["get"], args].concat()).status.success()
}

fn simplified(dev: &EnoDev, name: &str, namespace: &str) -> String {
    let c = dev.json(&["get", "composition", name, "-n", namespace, "-o", "json"]);
    c["status"]["simplified"]["status"].as_str().unwrap_or_default().to_string()
}

#[test]
fn each_shard_converges_only_its_own_compositions() {
    let dev = EnoDev::start_with(&["--no-controllers"]);
    dev.ok(&["create", "namespace", "team-a"]);
    dev.ok(&["create", "namespace", "team-b"]);
    // Shard A: team-a's compositions, Secrets left to someone else. Shard B: team-b's
    // compositions labelled shard=b.
    let _a = Shard::start(&dev, "a", &["--composition-namespace", "team-a", "--resource-filter", "self.kind != 'Secret'"]);
    let _b = Shard::start(&dev, "b", &["--composition-namespace", "team-b", "--composition-label-selector", "shard=b"]);

    let secret = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a-secret","namespace":"default"}}"#;
    dev.apply(&synthesizer("a", &[&configmap("a-out"), secret]));
    dev.apply(&synthesizer("b", &[&configmap("b-out")]));
    dev.apply(&synthesizer("c", &[&configmap("c-out")]));
    dev.apply(&composition("a", "team-a", None));
    dev.apply(&composition("b", "team-b", Some("b")));
    // In shard B's namespace, but not labelled for it.
    dev.apply(&composition("c", "team-b", None));

    eventually(Duration::from_secs(60), "b Ready", || (simplified(&dev, "b", "team-b") == "Ready").then_some(()));
    eventually(Duration::from_secs(60), "a's ConfigMap", || exists(&dev, &["configmap", "a-out"]).then_some(()));
    // The filter keeps shard A off the Secret: a waits for whoever reconciles it.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!exists(&dev, &["secret", "a-secret"]), "shard A reconciled a resource its filter excludes");
    assert_eq!(simplified(&dev, "a", "team-a"), "Reconciling");
    // c is no shard's: untouched, not even a finalizer.
    let c = dev.json(&["get", "composition", "c", "-n", "team-b", "-o", "json"]);
    assert!(c["status"].is_null() && c["metadata"]["finalizers"].is_null(), "a shard touched c: {c}");
    assert!(!exists(&dev, &["configmap", "c-out"]));

    // b's labels stop matching: shard B leaves it alone, even when it is deleted.
    dev.ok(&["label", "composition", "b", "-n", "team-b", "--overwrite", "shard=elsewhere"]);
    std::thread::sleep(Duration::from_secs(2));
    dev.ok(&["delete", "composition", "b", "-n", "team-b", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(4));
    assert!(exists(&dev, &["composition", "b", "-n", "team-b"]), "b went without a shard cleaning up");
    assert!(exists(&dev, &["configmap", "b-out"]), "b's resource was deleted by a shard that no longer selects b");
    // Selected again: shard B finishes the deletion, resources first.
    dev.ok(&["label", "composition", "b", "-n", "team-b", "--overwrite", "shard=b"]);
    eventually(Duration::from_secs(60), "b deleted with its resources", || {
        (!exists(&dev, &["composition", "b", "-n", "team-b"]) && !exists(&dev, &["configmap", "b-out"])).then_some(())
    });
}
