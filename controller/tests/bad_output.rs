//! Bad synthesizer output: each case fails the synthesis with a clear status error, and the
//! previous synthesis's resources stay exactly as they were. A verdict (invalid output) is
//! recorded as a failed synthesis (`NotReady`); a crash or a timeout cancels the synthesis for a
//! retry (`SynthesisBackoff`).

#![cfg(not(madsim))]

use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{Cluster, Gvk, ObjectRef, Patch};
use eno::synthesis::LocalProcessExecutor;
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn script_synthesizer(script: &str, exec_timeout: &str) -> Value {
    json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "s"},
           "spec": {"image": "x", "command": ["/bin/bash", "-c", script], "execTimeout": exec_timeout}})
}

const GOOD: &str = r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep","namespace":"default"},"data":{"v":"1"}}]}'"#;

async fn wait_for(cluster: &dyn Cluster, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let r = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Composition"), Some("default"), "c");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(comp) = cluster.get(&r).await.unwrap() {
            if check(&comp) {
                return comp;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}: {}", comp["status"]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_output_fails_clearly_and_keeps_the_last_good_resources() {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    let _eno = Eno::start(cluster.clone(), Arc::new(LocalProcessExecutor::default()), Options::default()).await;
    let user = FakeCluster::new(server.clone(), "user");
    user.create(&script_synthesizer(GOOD, "10s")).await.unwrap();
    user.create(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition", "metadata": {"name": "c", "namespace": "default"}, "spec": {"synthesizer": {"name": "s"}}})).await.unwrap();
    wait_for(&*cluster, "Ready", |c| c["status"]["simplified"]["status"] == "Ready").await;
    let cm_ref = ObjectRef::new(Gvk::new("v1", "ConfigMap"), Some("default"), "keep");
    let good_cm = cluster.get(&cm_ref).await.unwrap().expect("the good synthesis created it");

    // (case, script, what the error says, whether it is a verdict)
    let cases: &[(&str, &str, &str, bool)] = &[
        ("not JSON", "echo 'this is not json'", "synthesizer output is not a KRM ResourceList", true),
        ("wrong kind", r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ConfigMap","items":[]}'"#, r#"expected kind "ResourceList", found "ConfigMap""#, true),
        ("item without name", r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}]}'"#, "invalid output item 0 (v1/ConfigMap): metadata.name must be a non-empty string", true),
        ("non-zero exit", "echo 'disk on fire' >&2; exit 3", "synthesizer exited with status 3: disk on fire", false),
        ("timeout", "sleep 30", "synthesizer timed out after 1s", false),
        ("50 MB of output", "head -c 52428800 /dev/zero | tr '\\0' 'a'", "synthesizer output exceeds 16 MiB", true),
        ("stderr flood", "head -c 20000000 /dev/zero | tr '\\0' 'e' >&2; echo '{}'", "synthesizer wrote more than 4 MiB to stderr", true),
    ];
    for (i, (case, script, message, verdict)) in cases.iter().enumerate() {
        // Each edit bumps the synthesizer's generation, which starts a new synthesis. Only the
        // timeout case gets a short execTimeout: the others must fail for their own reason.
        let exec_timeout = if *case == "timeout" { "1s" } else { "60s" };
        let patch = json!({"spec": {"command": ["/bin/bash", "-c", script], "execTimeout": exec_timeout, "image": format!("x:{i}")}});
        let s_ref = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Synthesizer"), None, "s");
        let generation = user.patch(&s_ref, &Patch::merge(patch)).await.unwrap()["metadata"]["generation"].clone();
        // This synthesizer version's synthesis, not an earlier case's, must be the one failing;
        // the simplified status follows the recorded outcome in a write of its own.
        let (slot, status) = if *verdict { ("currentSynthesis", "NotReady") } else { ("inFlightSynthesis", "SynthesisBackoff") };
        let comp = wait_for(&*cluster, case, |c| {
            let failed = &c["status"][slot];
            let recorded = if *verdict { c["status"]["inFlightSynthesis"].is_null() } else { !failed["canceled"].is_null() };
            failed["observedSynthesizerGeneration"] == generation && recorded && c["status"]["simplified"]["status"] == status
        })
        .await;
        let error = comp["status"]["simplified"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{case}: error {error:?} does not say {message:?}");
        assert!(error.len() < 300, "{case}: error is short enough to read: {error}");
        let cm = cluster.get(&cm_ref).await.unwrap().unwrap_or_else(|| panic!("{case}: the last good resource was deleted"));
        assert_eq!(cm, good_cm, "{case}: the last good resource was changed");
    }
    // A good output again replaces the failure.
    let s_ref = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Synthesizer"), None, "s");
    user.patch(&s_ref, &Patch::merge(json!({"spec": {"command": ["/bin/bash", "-c", GOOD], "execTimeout": "10s"}}))).await.unwrap();
    wait_for(&*cluster, "Ready again", |c| c["status"]["simplified"]["status"] == "Ready").await;
}
