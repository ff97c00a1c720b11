//! Composition `dependsOn` end to end through `eno dev` and the real kubectl: a composition is
//! synthesized only once the ones it depends on are ready, a dependency cycle is a clear status
//! and disturbs nothing else, and deletion runs in reverse order.

#![cfg(not(madsim))]

mod support;

use std::time::{Duration, Instant};
use support::{eventually, EnoDev};

/// A synthesizer that takes `seconds` and writes ConfigMap `<composition>-out` (the name from
/// the composition's `ENO_COMPOSITION` env).
fn synthesizer(name: &str, seconds: u32) -> String {
    format!(
        r#"apiVersion: eno.azure.io/v1
kind: Synthesizer
metadata:
  name: {name}
spec:
  image: example
  command:
  - /bin/bash
  - -c
  - |
    sleep {seconds}
    echo "{{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"items\":[{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"$ENO_COMPOSITION-out\",\"namespace\":\"default\"}}}}]}}"
"#
    )
}

fn composition(name: &str, synthesizer: &str, depends_on: &[&str]) -> String {
    let deps: String = depends_on.iter().map(|d| format!("\n  - name: {d}")).collect();
    let depends = if depends_on.is_empty() { String::new() } else { format!("\n  dependsOn:{deps}") };
    format!(
        "apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  synthesizer:\n    name: {synthesizer}\n  synthesisEnv:\n  - name: ENO_COMPOSITION\n    value: {name}{depends}\n"
    )
}

fn status(dev: &EnoDev, name: &str) -> serde_json::Value {
    let out = dev.kubectl(&["get", "composition", name, "-o", "json"]);
    if !out.status.success() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice::<serde_json::Value>(&out.stdout).map(|c| c["status"].clone()).unwrap_or_default()
}

fn exists(dev: &EnoDev, args: &[&str]) -> bool {
    dev.kubectl(&[&["get"], args].concat()).status.success()
}

#[test]
fn a_composition_waits_for_its_dependencies_and_is_deleted_before_them() {
    let dev = EnoDev::start();
    dev.apply(&synthesizer("slow", 2));
    dev.apply(&synthesizer("fast", 0));
    // app first, while db does not exist yet.
    dev.apply(&composition("app", "fast", &["db"]));
    let waiting = eventually(Duration::from_secs(30), "app waiting", || Some(status(&dev, "app")).filter(|s| s["simplified"]["status"] == "WaitingOnDependencies"));
    assert_eq!(waiting["dependencyStatus"]["reason"], "WaitingOnDependencies");
    assert_eq!(waiting["dependencyStatus"]["blockedBy"], serde_json::json!([{"name": "db", "namespace": "default", "reason": "DependencyNotFound"}]));
    assert_eq!(waiting["simplified"]["error"], "WaitingOnDependencies: default/db (DependencyNotFound)");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!exists(&dev, &["configmap", "app-out"]), "app was synthesized before db existed");

    dev.apply(&composition("db", "slow", &[]));
    eventually(Duration::from_secs(30), "db ready", || (status(&dev, "db")["simplified"]["status"] == "Ready").then_some(()));
    let app = eventually(Duration::from_secs(30), "app ready", || Some(status(&dev, "app")).filter(|s| s["simplified"]["status"] == "Ready"));
    let db = status(&dev, "db");
    let db_ready = db["currentSynthesis"]["ready"].as_str().unwrap().to_string();
    let app_started = app["currentSynthesis"]["initialized"].as_str().unwrap().to_string();
    assert!(app_started >= db_ready, "app started at {app_started}, before db was ready at {db_ready}");
    assert!(app["dependencyStatus"].is_null(), "released: {}", app["dependencyStatus"]);

    // Both deleted at once: db keeps its resources until app is gone.
    dev.ok(&["delete", "composition", "db", "app", "--wait=false"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // db's resource first, then app: a resource gone while app is still there afterwards
        // went first (the other order would race app's going and db's cleanup right after it).
        let db_out = exists(&dev, &["configmap", "db-out"]);
        if !exists(&dev, &["composition", "app"]) {
            break;
        }
        assert!(db_out, "db's resource went while app, which depends on db, still exists");
        assert!(Instant::now() < deadline, "app was not deleted within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    eventually(Duration::from_secs(30), "db and its resource gone", || (!exists(&dev, &["composition", "db"]) && !exists(&dev, &["configmap", "db-out"])).then_some(()));
}

#[test]
fn a_dependency_cycle_is_a_clear_status_and_disturbs_nothing_else() {
    let dev = EnoDev::start();
    dev.apply(&synthesizer("fast", 0));
    dev.apply(&composition("bystander", "fast", &[]));
    dev.apply(&composition("loop-a", "fast", &["loop-b"]));
    dev.apply(&composition("loop-b", "fast", &["loop-a"]));
    for (name, path) in [("loop-a", "default/loop-a -> default/loop-b -> default/loop-a"), ("loop-b", "default/loop-b -> default/loop-a -> default/loop-b")] {
        let held = eventually(Duration::from_secs(30), "the cycle shown", || Some(status(&dev, name)).filter(|s| s["dependencyStatus"]["reason"] == "CircularDependency"));
        assert_eq!(held["simplified"]["status"], "WaitingOnDependencies");
        assert_eq!(held["simplified"]["error"], format!("circular dependency: {path}"));
    }
    eventually(Duration::from_secs(30), "the bystander ready", || (status(&dev, "bystander")["simplified"]["status"] == "Ready").then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!exists(&dev, &["configmap", "loop-a-out"]) && !exists(&dev, &["configmap", "loop-b-out"]), "a composition on a cycle was synthesized");

    // Breaking the cycle releases both.
    dev.apply(&composition("loop-b", "fast", &[]));
    for name in ["loop-a", "loop-b"] {
        eventually(Duration::from_secs(30), "released", || (status(&dev, name)["simplified"]["status"] == "Ready").then_some(()));
    }
}
