//! End to end through `eno dev` and the real kubectl: the seed manifests, unchanged, and the
//! behaviours the seeds promise (error handling, drift, disable-updates, deletion).

#![cfg(not(madsim))]

mod support;

use std::time::Duration;
use support::{eventually, seeds, synthesizer, EnoDev};

fn composition_row(dev: &EnoDev, name: &str) -> Option<Vec<String>> {
    let out = dev.kubectl(&["get", "compositions", "--no-headers"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cols| cols.first().map(String::as_str) == Some(name))
}

fn status_of(dev: &EnoDev, name: &str) -> String {
    let out = dev.kubectl(&["get", "composition", name, "-o", "jsonpath={.status.simplified.status}"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn seed_manifests_work_unchanged() {
    let dev = EnoDev::start();
    dev.ok(&["apply", "-f", seeds().to_str().unwrap()]);
    // `example` synthesizer → ConfigMap default/some-config, composition Ready.
    eventually(Duration::from_secs(30), "example-ok Ready", || (status_of(&dev, "example-ok") == "Ready").then_some(()));
    let cm = dev.json(&["get", "configmap", "some-config", "-n", "default"]);
    assert_eq!(cm["metadata"]["name"], "some-config");
    // `error-example` → the seed's row: NAME SYNTHESIZER AGE STATUS ERROR.
    let row = eventually(Duration::from_secs(30), "the error row", || {
        composition_row(&dev, "example").filter(|cols| cols.get(3).map(String::as_str) == Some("NotReady"))
    });
    assert_eq!(row[1], "error-example");
    assert!(row[2].ends_with('s') || row[2].ends_with('m'), "AGE column: {row:?}");
    assert_eq!(row[4..].join(" "), "The system is down, the system is down");
}

/// A synthesizer `name` that records each run in `counter` (a line each), then runs `body`
/// (bash).
fn counting(name: &str, counter: &std::path::Path, body: &str) -> String {
    let body: String = body.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: {name}\nspec:\n  image: example\n  command:\n  - /bin/bash\n  - -c\n  - |\n    echo run >> {}\n{body}",
        counter.display()
    )
}

/// A synthesizer that records each run in a file, then reports an error result.
fn counting_failure(counter: &std::path::Path) -> String {
    counting("counted", counter, r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","results":[{"severity":"error","message":"still broken"}]}'"#)
}

const COUNTED_COMPOSITION: &str = "apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: counted\nspec:\n  synthesizer:\n    name: counted\n";

fn runs(counter: &std::path::Path) -> usize {
    std::fs::read_to_string(counter).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn failed_synthesis_is_not_retried_until_modified() {
    let dev = EnoDev::start();
    let counter = dev.file("runs", "");
    dev.apply(&counting_failure(&counter));
    dev.apply(COUNTED_COMPOSITION);
    eventually(Duration::from_secs(30), "the failure", || {
        composition_row(&dev, "counted").filter(|c| c[3] == "NotReady" && c[4..].join(" ") == "still broken")
    });
    assert_eq!(runs(&counter), 1);
    // Nothing changes for a minute: the synthesizer must not run again.
    std::thread::sleep(Duration::from_secs(60));
    assert_eq!(runs(&counter), 1, "a failed synthesis was retried without a modification");
    // Editing the synthesizer runs it again; so does editing the composition.
    dev.ok(&["patch", "synthesizer", "counted", "--type", "merge", "-p", r#"{"spec":{"image":"example:2"}}"#]);
    eventually(Duration::from_secs(30), "a second run", || (runs(&counter) == 2).then_some(()));
    dev.ok(&["patch", "composition", "counted", "--type", "merge", "-p", r#"{"spec":{"synthesisEnv":[{"name":"X","value":"1"}]}}"#]);
    eventually(Duration::from_secs(30), "a third run", || (runs(&counter) == 3).then_some(()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(&counter), 3);
}

/// A synthesizer whose first `failures` runs exit non-zero (a crash, not a verdict); every run
/// is recorded in `counter`.
fn flaky(counter: &std::path::Path, failures: usize) -> String {
    let body = format!(
        "if [ \"$(wc -l < {})\" -le {failures} ]; then echo \"connection refused\" >&2; exit 7; fi\n{}",
        counter.display(),
        r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"flaky-out","namespace":"default"}}]}'"#
    );
    counting("flaky", counter, &body)
}

#[test]
fn a_synthesizer_that_crashes_is_retried_with_backoff_until_it_succeeds() {
    let dev = EnoDev::start();
    let counter = dev.file("flaky-runs", "");
    dev.apply(&flaky(&counter, 2));
    dev.apply(&composition("flaky", "flaky"));
    // Between the runs it backs off, saying why.
    eventually(Duration::from_secs(30), "the backoff", || (status_of(&dev, "flaky") == "SynthesisBackoff").then_some(()));
    let error = dev.kubectl(&["get", "composition", "flaky", "-o", "jsonpath={.status.simplified.error}"]);
    assert_eq!(String::from_utf8_lossy(&error.stdout), "synthesizer exited with status 7: connection refused");
    // Retried without any edit: after 2 s, then 4 s, it succeeds on the third run.
    eventually(Duration::from_secs(40), "Ready", || (status_of(&dev, "flaky") == "Ready").then_some(()));
    assert_eq!(runs(&counter), 3);
    assert!(data(&dev, "flaky-out").is_some());
    let attempts = dev.json(&["get", "composition", "flaky", "-o", "json"])["status"]["currentSynthesis"]["attempts"].clone();
    assert_eq!(attempts, 3, "the successful synthesis is the third attempt");
}

fn composition(name: &str, synth: &str) -> String {
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\nspec:\n  synthesizer:\n    name: {synth}\n")
}

fn data(dev: &EnoDev, cm: &str) -> Option<serde_json::Value> {
    let out = dev.kubectl(&["get", "configmap", cm, "-o", "json"]);
    out.status.success().then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()).flatten()
}

#[test]
fn drift_is_fixed_on_the_reconcile_interval_and_foreign_fields_survive() {
    let dev = EnoDev::start();
    let managed = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"managed","namespace":"default","annotations":{"eno.azure.io/reconcile-interval":"2s"}},"data":{"owned":"eno"}}"#;
    let frozen = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"frozen","namespace":"default","annotations":{"eno.azure.io/disable-updates":"true","eno.azure.io/reconcile-interval":"2s"}},"data":{"owned":"eno"}}"#;
    dev.apply(&synthesizer("drift", &[managed, frozen]));
    dev.apply(&composition("drift", "drift"));
    eventually(Duration::from_secs(30), "Ready", || (status_of(&dev, "drift") == "Ready").then_some(()));
    let cm = data(&dev, "managed").unwrap();
    assert!(cm["metadata"].get("annotations").is_none_or(|a| a.get("eno.azure.io/reconcile-interval").is_none()), "eno.azure.io/* metadata is stripped: {cm}");
    // Another client changes Eno's field and adds its own.
    for name in ["managed", "frozen"] {
        dev.ok(&["patch", "configmap", name, "--type", "merge", "-p", r#"{"data":{"owned":"drifted","foreign":"kept"}}"#]);
    }
    eventually(Duration::from_secs(10), "drift fixed", || {
        let d = data(&dev, "managed")?;
        (d["data"]["owned"] == "eno").then_some(d)
    });
    let managed = data(&dev, "managed").unwrap();
    assert_eq!(managed["data"]["foreign"], "kept", "a field Eno never set stays");
    std::thread::sleep(Duration::from_secs(5));
    let frozen = data(&dev, "frozen").unwrap();
    assert_eq!(frozen["data"]["owned"], "drifted", "disable-updates keeps other clients' changes");
}

#[test]
fn removed_outputs_are_deleted_and_deleting_the_composition_deletes_its_resources_first() {
    let dev = EnoDev::start();
    let a = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"default"}}"#;
    let b = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b","namespace":"default"}}"#;
    dev.apply(&synthesizer("shrinking", &[a, b]));
    dev.apply(&composition("shrinking", "shrinking"));
    eventually(Duration::from_secs(30), "both ConfigMaps", || (data(&dev, "a").is_some() && data(&dev, "b").is_some()).then_some(()));
    // The synthesizer stops emitting `b`: it goes.
    dev.apply(&synthesizer("shrinking", &[a]));
    eventually(Duration::from_secs(30), "b deleted", || data(&dev, "b").is_none().then_some(()));
    assert!(data(&dev, "a").is_some());
    // Deleting the composition: kubectl waits until it is gone, and by then `a` is gone too.
    let deleting = support::Streaming::start(dev.command(&["delete", "composition", "shrinking", "--timeout=60s"]));
    assert!(deleting.wait(Duration::from_secs(60)).success());
    assert!(data(&dev, "a").is_none(), "the composition disappeared before its resources");
}

#[test]
fn eno_run_explains_a_bad_kubeconfig() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eno")).args(["run", "--executor", "local", "--kubeconfig", "/nonexistent/kubeconfig"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reading /nonexistent/kubeconfig"), "{err}");
}

#[test]
fn eno_run_takes_enos_controller_flags_and_explains_bad_ones() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_eno")).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--synthesizer-pod-labels", "--synthesizer-pod-annotations", "--taint-toleration", "--node-affinity", "--rollout-cooldown", "--watchdog-threshold", "--qps", "--burst", "--log-format", "--pod-timeout", "--container-creation-ttl", "--self-healing-grace-period", "--input-qps", "--composition-namespace", "--composition-label-selector", "--resource-filter"] {
        assert!(help.contains(flag), "eno run --help does not mention {flag}:\n{help}");
    }
    // Eno's spellings are accepted as they are.
    let eno_spelled = ["--concurrency-limit", "4", "--synthesizer-pod-namespace", "synth", "--synthesizer-pod-service-account", "sa", "--taint-toleration", "pool=synth", "--node-affinity", "gpu"];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eno")).args(["run", "--executor", "local", "--kubeconfig", "/nonexistent/kubeconfig"]).args(eno_spelled).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reading /nonexistent/kubeconfig"), "the flags parse, then the kubeconfig is what fails: {err}");
    for (flag, value, says) in [
        ("--taint-toleration", "=x", "the key is empty"),
        ("--synthesizer-pod-labels", "team", "key=value"),
        ("--pod-timeout", "soon", "--pod-timeout"),
        ("--input-qps", "lots", "--input-qps"),
        ("--composition-label-selector", "tier in (web", "invalid composition label selector"),
        ("--resource-filter", "self.kind ==", "invalid resource filter"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_eno")).args(["run", flag, value]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{flag} {value}: {err}");
    }
}

#[test]
fn logs_can_be_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = std::process::Command::new(env!("CARGO_BIN_EXE_eno"))
        .args(["dev", "--log-format", "json", "--kubeconfig"])
        .arg(dir.path().join("kubeconfig"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = dev.stderr.take().unwrap();
    let first = std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok).find(|l| l.contains("API server ready"));
    let _ = dev.kill();
    let _ = dev.wait();
    let line: serde_json::Value = serde_json::from_str(&first.expect("a log line")).expect("a JSON object per line");
    assert_eq!(line["fields"]["message"], "API server ready");
    assert_eq!(line["level"], "INFO");
}

#[test]
fn eno_run_asks_for_the_executor_image_instead_of_pulling_someone_elses() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eno")).args(["run", "--kubeconfig", "/nonexistent/kubeconfig"]).env_remove("ENO_EXECUTOR_IMAGE").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--executor-image") && err.contains("ENO_EXECUTOR_IMAGE"), "{err}");
}

/// The seeds' resource migration: two compositions synthesize the same ConfigMap, each with
/// an override that enables reconciliation only while its composition carries the owner
/// annotation; moving the annotation (remove first, then set, as a symphony does) hands the
/// ConfigMap over, and it stays with the new owner.
#[test]
fn a_composition_annotation_hands_a_resource_over() {
    let dev = EnoDev::start();
    let shared = |synth: &str| {
        let overrides = serde_json::json!([{
            "path": r#"self.metadata.annotations["eno.azure.io/disable-reconciliation"]"#,
            "value": "false",
            "condition": r#"composition.metadata.annotations["migration/owner"] == "true""#,
        }]);
        serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": "default", "annotations": {
                "eno.azure.io/reconcile-interval": "1s",
                "eno.azure.io/disable-reconciliation": "true",
                "eno.azure.io/overrides": overrides.to_string(),
            }},
            "data": {"managedBy": synth},
        })
        .to_string()
    };
    for name in ["a", "b"] {
        dev.apply(&synthesizer(name, &[&shared(name)]));
        dev.apply(&composition(name, name));
    }
    dev.ok(&["annotate", "composition", "a", "migration/owner=true"]);
    let managed_by = |dev: &EnoDev| data(dev, "shared").map(|d| d["data"]["managedBy"].clone());
    eventually(Duration::from_secs(30), "a manages it", || (managed_by(&dev)? == "a").then_some(()));
    dev.ok(&["annotate", "composition", "a", "migration/owner-"]);
    dev.ok(&["annotate", "composition", "b", "migration/owner=true"]);
    eventually(Duration::from_secs(30), "b manages it", || (managed_by(&dev)? == "b").then_some(()));
    // a's reconcile interval keeps running, but a no longer writes.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(managed_by(&dev).unwrap(), "b");
}

/// A readiness check holds the composition at NotReady until the live object passes it.
#[test]
fn readiness_checks_gate_the_composition() {
    let dev = EnoDev::start();
    let gated = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"gated","namespace":"default","annotations":{"eno.azure.io/readiness":"has(self.data.ready)"}},"data":{"owned":"eno"}}"#;
    dev.apply(&synthesizer("gated", &[gated]));
    dev.apply(&composition("gated", "gated"));
    eventually(Duration::from_secs(30), "NotReady", || (status_of(&dev, "gated") == "NotReady").then_some(()));
    dev.ok(&["patch", "configmap", "gated", "--type", "merge", "-p", r#"{"data":{"ready":"yes"}}"#]);
    eventually(Duration::from_secs(20), "Ready", || (status_of(&dev, "gated") == "Ready").then_some(()));
}

#[test]
fn force_resynthesis_runs_once_more_and_a_lost_slice_heals() {
    let dev = EnoDev::start();
    let counter = dev.file("runs", "");
    let kept = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept","namespace":"default"},"data":{"v":"1"}}"#;
    let list = format!(r#"{{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{kept}]}}"#);
    dev.apply(&counting("healing", &counter, &format!("echo '{list}'")));
    dev.apply(&composition("healing", "healing"));
    eventually(Duration::from_secs(30), "Ready", || (status_of(&dev, "healing") == "Ready").then_some(()));
    let current = |dev: &EnoDev| dev.json(&["get", "composition", "healing", "-o", "json"])["status"]["currentSynthesis"].clone();
    let first = current(&dev)["uuid"].as_str().unwrap().to_string();
    assert_eq!(runs(&counter), 1);

    // Forcing names the latest synthesis: it runs once more, and only once.
    dev.ok(&["annotate", "composition", "healing", &format!("eno.azure.io/force-resynthesis={first}")]);
    eventually(Duration::from_secs(30), "a forced run", || (runs(&counter) == 2 && status_of(&dev, "healing") == "Ready").then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(&counter), 2, "the annotation names an older synthesis now");
    let second = current(&dev);
    assert_ne!(second["uuid"], first);

    // The current slice is lost (finalizer removed, deleted): Eno asks for a synthesis itself.
    let slice = second["resourceSlices"][0]["name"].as_str().unwrap().to_string();
    dev.ok(&["patch", "resourceslice", &slice, "--type", "merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    dev.ok(&["delete", "resourceslice", &slice]);
    eventually(Duration::from_secs(30), "healed", || (runs(&counter) == 3 && status_of(&dev, "healing") == "Ready").then_some(()));
    let healed = dev.json(&["get", "composition", "healing", "-o", "json"]);
    assert_eq!(healed["metadata"]["annotations"]["eno.azure.io/force-resynthesis"], second["uuid"]);
    assert_ne!(healed["status"]["currentSynthesis"]["resourceSlices"][0]["name"].as_str(), Some(slice.as_str()));
    assert!(data(&dev, "kept").is_some(), "the resource stayed");
}
