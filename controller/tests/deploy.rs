//! What an operator deploys: the image's Dockerfile, the Helm chart (lint, schema, what it
//! renders, the plain manifests kept in sync with it) and, end to end, the chart installed by
//! the real helm into `eno dev --authorization rbac` with the controller then running as the
//! chart's ServiceAccount: least privilege that is still enough.

#![cfg(not(madsim))]

mod support;

use std::process::{Command, Output};
use std::time::Duration;
use support::controller::{chart_controller_kubeconfig, Controller};
use support::{eventually, repo_path, synthesizer, EnoDev};

/// The real helm, for commands that need no server; its homes in a temp dir.
fn helm(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    Command::new("helm")
        .args(args)
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .output()
        .expect("helm runs")
}

fn chart() -> String {
    repo_path("deploy/chart").display().to_string()
}

/// How `deploy/manifests/eno.yaml` is rendered (its header says so too).
const RENDER: &[&str] = &["template", "eno", "CHART", "--namespace", "eno-system", "--set", "createNamespace=true", "--include-crds"];

fn render(extra: &[&str]) -> Output {
    let chart = chart();
    let mut args: Vec<&str> = RENDER.iter().map(|a| if *a == "CHART" { chart.as_str() } else { a }).collect();
    args.extend_from_slice(extra);
    helm(&args)
}

fn documents(yaml: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(yaml).expect("the chart renders YAML").into_iter().filter(|d| !d.is_null()).collect()
}

#[test]
fn the_chart_lints_clean_and_its_schema_rejects_bad_values() {
    let lint = helm(&["lint", "--strict", &chart()]);
    assert!(lint.status.success(), "helm lint --strict:\n{}{}", String::from_utf8_lossy(&lint.stdout), String::from_utf8_lossy(&lint.stderr));
    for (bad, why) in [
        ("replicas=0", "replicas"),
        ("controller.rolloutCooldown=soon", "rolloutCooldown"),
        ("controller.listSemantic=stale", "listSemantic"),
        ("leaderElection.leaseDuration=long", "leaseDuration"),
        ("synthesisNamespace=Not_A_Name", "synthesisNamespace"),
        ("managedResources.rules[0].resources=null", "resources"),
        ("controller.podTimeout=soon", "podTimeout"),
        ("controller.inputQPS=-1", "inputQPS"),
        ("shards[0].name=Not_A_Name", "name"),
        ("shards[0].compositionNamespace=x", "name"),
        ("controller.compositionNamespace=Not_A_Namespace", "compositionNamespace"),
        ("surprise=1", "surprise"),
    ] {
        let out = render(&["--set", bad]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(why), "{bad} was accepted (or the error does not name {why}):\n{stderr}");
    }
}

#[test]
fn the_plain_manifests_are_the_chart_rendered() {
    let out = render(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered = String::from_utf8(out.stdout).expect("UTF-8");
    let committed = std::fs::read_to_string(repo_path("deploy/manifests/eno.yaml")).expect("deploy/manifests/eno.yaml");
    let body: String = committed.lines().skip_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    assert!(body == rendered, "deploy/manifests/eno.yaml is out of date: render it again with `helm {}`", RENDER.join(" ").replace("CHART", "deploy/chart"));
    // The chart's CRDs are Eno's, generated from the Rust types.
    for crd in std::fs::read_dir(repo_path("deploy/crds")).expect("deploy/crds") {
        let path = crd.expect("entry").path();
        let name = path.file_name().expect("a file name");
        let copy = repo_path("deploy/chart/crds").join(name);
        assert_eq!(std::fs::read_to_string(&path).ok(), std::fs::read_to_string(&copy).ok(), "{} differs from {}", copy.display(), path.display());
    }
}

#[test]
fn the_controller_runs_locked_down_with_probes_and_a_disruption_budget() {
    let out = render(&[]);
    let docs = documents(&String::from_utf8_lossy(&out.stdout));
    let find = |kind: &str| docs.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind} rendered"));
    let deployment = find("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "eno-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"]["cpu"].is_string() && container["resources"]["requests"]["memory"].is_string());
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
    assert!(args.contains(&"--ops-address=0.0.0.0:8080") && args.contains(&"--service-account=eno-synthesizer"), "{args:?}");
    // Synthesis pods get the controller's own image.
    let image = container["image"].as_str().expect("image");
    let env = container["env"].as_array().expect("env");
    assert!(env.iter().any(|e| e["name"] == "ENO_EXECUTOR_IMAGE" && e["value"] == image), "{env:?}");
    assert_eq!(find("PodDisruptionBudget")["spec"]["minAvailable"], 1);
    // Synthesis pods' placement and metadata become Eno's flags.
    let placed = documents(&String::from_utf8_lossy(&render(&["--set", "synthesisPods.labels.team=a", "--set", "synthesisPods.taintToleration=pool=synth", "--set", "synthesisPods.nodeAffinity=gpu"]).stdout));
    let placed_args = placed.iter().find(|d| d["kind"] == "Deployment").expect("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    for flag in ["--synthesizer-pod-labels=team=a,", "--taint-toleration=pool=synth", "--node-affinity=gpu"] {
        assert!(placed_args.contains(flag), "{flag} not in {placed_args}");
    }
    // Eno's pod lifecycle, self-healing and input flags, as the values say.
    for flag in ["--pod-timeout=30s", "--container-creation-ttl=3s", "--self-healing-grace-period=5m", "--input-qps=10"] {
        assert!(args.contains(&flag), "{flag} not in {args:?}");
    }
    // Least privilege: no wildcard unless asked for.
    let clusterrole = find("ClusterRole");
    assert!(!clusterrole.to_string().contains(r#""*""#), "{clusterrole}");
    let wide = documents(&String::from_utf8_lossy(&render(&["--set", "managedResources.clusterWide=true"]).stdout));
    let wide_role = wide.iter().find(|d| d["kind"] == "ClusterRole").expect("ClusterRole");
    assert!(wide_role["rules"].as_array().expect("rules").iter().any(|r| r["resources"] == serde_json::json!(["*"])));
}

/// `shards`: one more Deployment (and PodDisruptionBudget) per shard, with that shard's
/// selection as eno run's sharding flags; the main controller keeps its own selection. Each
/// Deployment selects only its own pods.
#[test]
fn each_shard_is_a_deployment_of_its_own() {
    let out = render(&[
        "--set",
        "controller.compositionLabelSelector=!eno-shard",
        "--set",
        "shards[0].name=team-a,shards[0].compositionNamespace=team-a",
        "--set",
        "shards[1].name=big,shards[1].compositionLabelSelector=eno-shard=big",
        "--set-string",
        "shards[1].resourceFilter=self.kind != 'Secret'",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let docs = documents(&String::from_utf8_lossy(&out.stdout));
    let deployments: std::collections::BTreeMap<String, &serde_json::Value> =
        docs.iter().filter(|d| d["kind"] == "Deployment").map(|d| (d["metadata"]["name"].as_str().unwrap_or_default().to_string(), d)).collect();
    assert_eq!(deployments.keys().collect::<Vec<_>>(), ["eno-controller", "eno-controller-big", "eno-controller-team-a"]);
    let sharding = |name: &str| -> Vec<String> {
        let args = &deployments[name]["spec"]["template"]["spec"]["containers"][0]["args"];
        args.as_array().expect("args").iter().filter_map(|a| a.as_str()).filter(|a| a.starts_with("--composition-") || a.starts_with("--resource-filter")).map(str::to_string).collect()
    };
    assert_eq!(sharding("eno-controller"), ["--composition-label-selector=!eno-shard"]);
    assert_eq!(sharding("eno-controller-team-a"), ["--composition-namespace=team-a"]);
    assert_eq!(sharding("eno-controller-big"), ["--composition-label-selector=eno-shard=big", "--resource-filter=self.kind != 'Secret'"]);
    for (name, deployment) in &deployments {
        let selector = &deployment["spec"]["selector"]["matchLabels"];
        let component = name.trim_start_matches("eno-");
        assert_eq!(selector["app.kubernetes.io/component"], component, "{name} selects {selector}");
        assert_eq!(deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"], component);
        let budget = docs.iter().find(|d| d["kind"] == "PodDisruptionBudget" && d["metadata"]["name"] == name.as_str()).unwrap_or_else(|| panic!("no budget for {name}"));
        assert_eq!(&budget["spec"]["selector"]["matchLabels"], selector);
    }
    // Without shards, the main controller alone handles everything.
    let plain = documents(&String::from_utf8_lossy(&render(&[]).stdout));
    assert_eq!(plain.iter().filter(|d| d["kind"] == "Deployment").count(), 1);
}

#[test]
fn the_dockerfile_builds_a_static_eno_onto_a_non_root_base() {
    let dockerfile = std::fs::read_to_string(repo_path("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let instructions: Vec<&str> = dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let stages: Vec<&&str> = instructions.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "a build stage and the final one: {stages:?}");
    assert!(stages[1].contains("distroless/static") || stages[1].contains("scratch"), "the final base has no libc or shell: {}", stages[1]);
    let final_stage: Vec<&&str> = instructions.iter().skip_while(|l| *l != stages[1]).collect();
    assert!(final_stage.iter().any(|l| l.starts_with("USER ") && !l.contains("root") && !l.starts_with("USER 0")), "a non-root user");
    assert!(final_stage.iter().any(|l| **l == r#"ENTRYPOINT ["/eno"]"#));
    // The binary is built by the script CI runs (`.ci/run` checks it is static and runs).
    assert!(instructions.iter().any(|l| l.starts_with("RUN deploy/build-static.sh ")));
    let script = std::fs::read_to_string(repo_path("deploy/build-static.sh")).expect("deploy/build-static.sh");
    assert!(script.contains("+crt-static") && script.contains("--locked"), "{script}");
    // Where the init container finds it in the image is `eno run`'s default.
    let help = Command::new(env!("CARGO_BIN_EXE_eno")).args(["run", "--help"]).output().expect("eno runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: /eno]"));
}

fn simplified(dev: &EnoDev, name: &str) -> (String, String) {
    let c = dev.json(&["get", "composition", name]);
    let s = &c["status"]["simplified"];
    (s["status"].as_str().unwrap_or_default().to_string(), s["error"].as_str().unwrap_or_default().to_string())
}

fn composition(name: &str, synthesizer: &str) -> String {
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  synthesizer:\n    name: {synthesizer}\n")
}

#[test]
fn the_chart_installs_and_its_controller_identity_is_enough_and_no_more() {
    let dev = EnoDev::start_with(&["--authorization", "rbac", "--no-controllers"]);
    dev.helm_ok(&["install", "eno", &chart(), "--namespace", "eno-system", "--create-namespace"]);
    for (kind, name, namespace) in [
        ("deployment", "eno-controller", "eno-system"),
        ("poddisruptionbudget", "eno-controller", "eno-system"),
        ("serviceaccount", "eno-controller", "eno-system"),
        ("serviceaccount", "eno-synthesizer", "eno-system"),
        ("role", "eno-controller", "eno-system"),
        ("role", "eno-synthesizer", "eno-system"),
        ("rolebinding", "eno-controller", "eno-system"),
        ("rolebinding", "eno-synthesizer", "eno-system"),
    ] {
        dev.ok(&["get", kind, name, "-n", namespace]);
    }
    dev.ok(&["get", "clusterrole", "eno-controller"]);
    dev.ok(&["get", "clusterrolebinding", "eno-controller"]);
    dev.ok(&["get", "crd", "compositions.eno.azure.io"]);

    let controller = Controller::start(&chart_controller_kubeconfig(&dev), &["--ops-address", "none"]);
    // A ConfigMap (granted by the chart's default rules): synthesized, created, Ready; then a new
    // synthesizer version rolls out through the rollout slot's Lease in the synthesis namespace;
    // then a symphony comes and goes.
    dev.apply(&synthesizer("granted", &[r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"granted-out","namespace":"default"},"data":{"v":"1"}}"#]));
    dev.apply(&composition("granted", "granted"));
    eventually(Duration::from_secs(30), "granted ready", || (simplified(&dev, "granted").0 == "Ready").then_some(()));
    dev.apply(&synthesizer("granted", &[r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"granted-out","namespace":"default"},"data":{"v":"2"}}"#]));
    eventually(Duration::from_secs(30), "v2", || (dev.json(&["get", "configmap", "granted-out"])["data"]["v"] == "2").then_some(()));
    dev.ok(&["get", "lease", "eno-rollout", "-n", "eno-system"]);
    // A symphony: its composition created, synthesized and Ready; then deleted, all of it.
    dev.apply(&synthesizer("band", &[r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"band-out","namespace":"default"}}"#]));
    dev.apply("apiVersion: eno.azure.io/v1\nkind: Symphony\nmetadata:\n  name: band\n  namespace: default\nspec:\n  variations:\n  - synthesizer:\n      name: band\n");
    let of_band = |dev: &EnoDev| {
        let list = dev.json(&["get", "compositions", "-n", "default"]);
        list["items"].as_array().into_iter().flatten().find(|c| c["spec"]["synthesizer"]["name"] == "band").cloned()
    };
    eventually(Duration::from_secs(30), "the symphony's composition ready", || of_band(&dev).filter(|c| c["status"]["simplified"]["status"] == "Ready"));
    dev.ok(&["delete", "symphony", "band", "--timeout=30s"]);
    eventually(Duration::from_secs(30), "the symphony's composition gone", || of_band(&dev).is_none().then_some(()));
    let refused = controller.forbidden();
    assert!(refused.is_empty(), "the chart's identity was refused something:\n{}", refused.join("\n"));

    // A Secret is not granted: that resource shows Forbidden, nothing else is disturbed.
    dev.apply(&synthesizer("ungranted", &[r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"ungranted-out","namespace":"default"}}"#]));
    dev.apply(&composition("ungranted", "ungranted"));
    let (status, error) = eventually(Duration::from_secs(30), "the refusal shown", || Some(simplified(&dev, "ungranted")).filter(|(_, e)| e.contains("forbidden")));
    assert_eq!(status, "Reconciling", "{error}");
    assert!(error.contains("secrets"), "{error}");
    assert_eq!(simplified(&dev, "granted").0, "Ready");
}
