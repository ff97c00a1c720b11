//! The pod executor end to end: pods on the fake API server, run by the fake kubelet with the
//! real `eno` binary (`install-executor`, then `execute`, handing the output back over HTTP).

#![cfg(not(madsim))]

mod support;

use std::sync::Arc;
use std::time::Duration;

use eno::api::{Composition, CompositionSpec, Synthesizer, SynthesizerRef, SynthesizerSpec};
use eno::controllers::{Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{Cluster, Gvk, ListParams, ObjectRef, Patch};
use eno::synthesis::{synthesis_input_secret, synthesis_pod, Executor, PodConfig, PodExecutor, SynthesisInput};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::{json, Value};
use support::kubelet::{Kubelet, EXECUTOR_BINARY};
use support::seeds;

const NAMESPACE: &str = "eno-system";
const UUID: &str = "3f2b8c1d-7e4a-4b6f-9d0e-1a2b3c4d5e6f";

struct Setup {
    server: SharedApiServer,
    cluster: Arc<dyn Cluster>,
    kubelet: Kubelet,
    executor: PodExecutor,
}

fn config() -> PodConfig {
    PodConfig {
        namespace: NAMESPACE.to_owned(),
        executor_image: "ghcr.io/azure/eno:test".to_owned(),
        executor_binary: EXECUTOR_BINARY.to_owned(),
        ..Default::default()
    }
}

async fn setup() -> Setup {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    cluster.create(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})).await.unwrap();
    let kubelet = Kubelet::start(server.clone()).await;
    let mut executor = PodExecutor::new(cluster.clone(), config());
    executor.poll_interval = Duration::from_millis(50);
    executor.grace = Duration::from_secs(2);
    Setup { server, cluster, kubelet, executor }
}

fn seed_synthesizer(file: &str) -> Synthesizer {
    serde_saphyr::from_str(&std::fs::read_to_string(seeds().join(file)).unwrap()).unwrap()
}

fn bash(script: &str, exec_timeout: &str, pod_timeout: &str) -> Synthesizer {
    Synthesizer::new(
        "script",
        SynthesizerSpec {
            image: "docker.io/ubuntu:latest".to_owned(),
            command: vec!["/bin/bash".to_owned(), "-c".to_owned(), script.to_owned()],
            exec_timeout: exec_timeout.to_owned(),
            pod_timeout: pod_timeout.to_owned(),
            ..Default::default()
        },
    )
}

fn input(synthesizer: Synthesizer) -> SynthesisInput {
    let mut composition = Composition::new(
        "example",
        CompositionSpec { synthesizer: SynthesizerRef::named(synthesizer.metadata.name.as_deref().unwrap()), ..Default::default() },
    );
    composition.metadata.namespace = Some("default".to_owned());
    SynthesisInput::new(composition, synthesizer, UUID, Vec::new())
}

async fn names(cluster: &dyn Cluster, kind: &str) -> Vec<String> {
    let listed = cluster.list(&Gvk::new("v1", kind), Some(NAMESPACE), &ListParams::default()).await.unwrap();
    listed.items.iter().map(|o| o["metadata"]["name"].as_str().unwrap().to_owned()).collect()
}

/// Nothing of the synthesis is left: no pod, no input or output Secret.
async fn assert_cleaned_up(setup: &Setup) {
    assert_eq!(names(&*setup.cluster, "Pod").await, Vec::<String>::new(), "pods left behind");
    assert_eq!(names(&*setup.cluster, "Secret").await, Vec::<String>::new(), "secrets left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_example_produces_its_config_map() {
    let setup = setup().await;
    let output = setup.executor.synthesize(input(seed_synthesizer("synthesizer-example.yaml"))).await.unwrap();
    assert_eq!(
        output.items,
        [json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "some-config", "namespace": "default"}})]
    );
    assert!(output.results.is_empty());
    let runs = setup.kubelet.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].uuid.as_str(), runs[0].phase.as_str(), runs[0].output_secrets), (UUID, "Succeeded", 1));
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_result_fails_the_synthesis_as_locally() {
    let setup = setup().await;
    let output = setup.executor.synthesize(input(seed_synthesizer("synthesizer-error-example.yaml"))).await.unwrap();
    assert!(output.items.is_empty());
    assert_eq!(output.failed(), Some("The system is down, the system is down"));
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_output_fails_with_the_local_validation_message() {
    let setup = setup().await;
    let script = r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"namespace":"default"}}]}'"#;
    let error = setup.executor.synthesize(input(bash(script, "10s", "1m"))).await.unwrap_err();
    assert_eq!(error.to_string(), "invalid output item 0 (v1/ConfigMap): metadata.name must be a non-empty string");
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_zero_exit_fails_with_the_last_stderr_line() {
    let setup = setup().await;
    let script = "echo 'loading inputs' >&2; echo 'connection refused: db:5432' >&2; exit 3";
    let error = setup.executor.synthesize(input(bash(script, "10s", "1m"))).await.unwrap_err();
    assert_eq!(error.to_string(), "synthesizer exited with status 3: connection refused: db:5432");
    assert_eq!(setup.kubelet.runs()[0].phase, "Failed");
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_timeout_fails_with_a_timeout_message() {
    let setup = setup().await;
    let error = setup.executor.synthesize(input(bash("sleep 30", "1s", "1m"))).await.unwrap_err();
    assert_eq!(error.to_string(), "synthesizer timed out after 1s");
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_that_never_finishes_fails_on_pod_timeout() {
    let setup = setup().await;
    let started = std::time::Instant::now();
    let error = setup.executor.synthesize(input(bash("sleep 30", "1m", "2s"))).await.unwrap_err();
    assert_eq!(error.to_string(), "synthesis pod exceeded podTimeout (2s)");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(setup.kubelet.runs()[0].phase, "Failed");
    assert_cleaned_up(&setup).await;
}

/// `--pod-timeout` caps the synthesizer's own `podTimeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installations_pod_timeout_caps_the_synthesizers() {
    let mut setup = setup().await;
    setup.executor = PodExecutor::new(setup.cluster.clone(), PodConfig { pod_timeout: Some(Duration::from_secs(2)), ..config() });
    setup.executor.poll_interval = Duration::from_millis(50);
    setup.executor.grace = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let error = setup.executor.synthesize(input(bash("sleep 30", "1m", "2m"))).await.unwrap_err();
    assert_eq!(error.to_string(), "synthesis pod exceeded podTimeout (2s)");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_cleaned_up(&setup).await;
}

/// `--container-creation-ttl`: a pod scheduled onto a node whose kubelet never starts its
/// containers is given up after the TTL (and deleted), not after the pod timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_the_kubelet_never_starts_is_given_up_after_the_container_creation_ttl() {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    install_crds(&server).unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(FakeCluster::new(server.clone(), "eno"));
    cluster.create(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})).await.unwrap();
    // No kubelet: the scheduler places the pod, and nothing more happens to it.
    let scheduler = {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            loop {
                for name in names(&*cluster, "Pod").await {
                    let scheduled = json!({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string()}]}});
                    let pod = ObjectRef::new(Gvk::new("v1", "Pod"), Some(NAMESPACE), &name);
                    let _ = cluster.patch(&pod, &Patch::merge(scheduled).on_status()).await;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut executor = PodExecutor::new(cluster.clone(), PodConfig { container_creation_ttl: Some(Duration::from_secs(1)), ..config() });
    executor.poll_interval = Duration::from_millis(50);
    let started = std::time::Instant::now();
    let error = executor.synthesize(input(bash("true", "10s", "2m"))).await.unwrap_err();
    assert!(error.to_string().contains("the kubelet did not start synthesis pod") && error.to_string().contains("within 1s of scheduling it"), "{error}");
    assert!(!error.is_verdict(), "retried, as any failure that is not the synthesizer's");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    scheduler.await.unwrap();
    assert_eq!(names(&*cluster, "Pod").await, Vec::<String>::new(), "the pod is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_output_comes_back_in_several_secrets() {
    let setup = setup().await;
    const BLOB: usize = 2_500_000;
    let script = format!(
        r#"printf '{{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big","namespace":"default"}},"data":{{"blob":"'; head -c {BLOB} /dev/zero | tr '\0' x; printf '"}}}}]}}'"#
    );
    let output = setup.executor.synthesize(input(bash(&script, "10s", "1m"))).await.unwrap();
    assert_eq!(output.items.len(), 1);
    let blob = output.items[0]["data"]["blob"].as_str().unwrap();
    assert_eq!(blob.len(), BLOB);
    assert!(blob.bytes().all(|b| b == b'x'));
    assert_eq!(setup.kubelet.runs()[0].output_secrets, 3, "2.5 MB in chunks of at most 900 KiB");
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_cap_fails_in_the_pod() {
    let setup = setup().await;
    let script = "head -c 20000000 /dev/zero | tr '\\0' x";
    let error = setup.executor.synthesize(input(bash(script, "30s", "1m"))).await.unwrap_err();
    assert_eq!(error.to_string(), "synthesizer output exceeds 16 MiB");
    assert!(error.is_verdict(), "invalid output is a verdict in a pod too: {error:?}");
    assert_eq!(setup.kubelet.runs()[0].output_secrets, 0);
    assert_cleaned_up(&setup).await;
}

/// `eno execute` outside a pod, or with input it cannot read: one line in the termination log,
/// the same on stderr, a non-zero exit, and the command never runs.
#[test]
fn execute_failures_are_written_to_the_termination_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("termination-log");
    let marker = dir.path().join("ran");
    let execute = |envs: &[(&str, &str)], input: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_eno"))
            .args(["execute", "--input", input, "--termination-log"])
            .arg(&log)
            .args(["--", "/bin/bash", "-c", "touch \"$0\"; echo '{}'"])
            .arg(&marker)
            .env_clear()
            .envs(envs.iter().copied())
            .output()
            .unwrap()
    };
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[]}"#).unwrap();

    let out = execute(&[], input.to_str().unwrap());
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ENO_POD_NAME is not set: not running in a synthesis pod");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ENO_POD_NAME is not set"));

    let pod = [("ENO_POD_NAME", "synthesis-abcde"), ("ENO_POD_NAMESPACE", NAMESPACE), ("ENO_POD_UID", "u")];
    let out = execute(&pod, "/nonexistent/resourcelist.json");
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "reading the synthesis input /nonexistent/resourcelist.json: No such file or directory (os error 2)"
    );
    assert!(!marker.exists(), "the synthesizer must not run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_synthesis_of_the_same_uuid_joins_the_live_pod() {
    let setup = setup().await;
    let synthesis = input(bash(&format!("sleep 1; {}", example_script()), "10s", "1m"));
    let first = tokio::spawn(setup.executor.synthesize(synthesis.clone()));
    wait_until("the first pod exists", || async { names(&*setup.cluster, "Pod").await.len() == 1 }).await;
    let second = setup.executor.synthesize(synthesis).await.unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first, second);
    assert_eq!(first.items[0]["metadata"]["name"], "some-config");
    assert_eq!(setup.kubelet.runs().len(), 1, "exactly one pod ran");
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_controller_adopts_the_pod_already_running() {
    let setup = setup().await;
    let synthesis = input(bash(&format!("sleep 1; {}", example_script()), "10s", "1m"));
    // What a controller that crashed mid-synthesis left behind.
    let config = PodConfig { input_secret: format!("synthesis-{UUID}"), ..config() };
    setup.cluster.create(&serde_json::to_value(synthesis_input_secret(&synthesis, &config)).unwrap()).await.unwrap();
    setup.cluster.create(&serde_json::to_value(synthesis_pod(&synthesis, &config)).unwrap()).await.unwrap();
    let output = setup.executor.synthesize(synthesis).await.unwrap();
    assert_eq!(output.items[0]["metadata"]["name"], "some-config");
    assert_eq!(setup.kubelet.runs().len(), 1, "no second pod");
    assert_cleaned_up(&setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_synthesis_deletes_its_pod() {
    let setup = setup().await;
    let synthesis = setup.executor.synthesize(input(bash("sleep 30", "1m", "1m")));
    assert!(tokio::time::timeout(Duration::from_millis(1500), synthesis).await.is_err());
    wait_until("the pod and its secret are deleted", || async {
        names(&*setup.cluster, "Pod").await.is_empty() && names(&*setup.cluster, "Secret").await.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eno_with_the_pod_executor_applies_the_seed_example() {
    let setup = setup().await;
    let _eno = Eno::start(setup.cluster.clone(), Arc::new(setup.executor.clone()), Options::default()).await;
    let user = FakeCluster::new(setup.server.clone(), "user");
    user.create(&serde_json::to_value(seed_synthesizer("synthesizer-example.yaml")).unwrap()).await.unwrap();
    let compositions = std::fs::read_to_string(seeds().join("compositions.yaml")).unwrap();
    let composition: Value = serde_saphyr::from_multiple::<Value>(&compositions)
        .unwrap()
        .into_iter()
        .find(|c| c["spec"]["synthesizer"]["name"] == "example")
        .unwrap();
    let composition_name = composition["metadata"]["name"].as_str().unwrap().to_owned();
    user.create(&composition).await.unwrap();

    let config_map = ObjectRef::new(Gvk::new("v1", "ConfigMap"), Some("default"), "some-config");
    let composition_ref = ObjectRef::new(Gvk::new("eno.azure.io/v1", "Composition"), Some("default"), &composition_name);
    wait_until("ConfigMap default/some-config exists and the composition is Ready", || async {
        let ready = user.get(&composition_ref).await.unwrap().is_some_and(|c| c["status"]["simplified"]["status"] == "Ready");
        ready && user.get(&config_map).await.unwrap().is_some()
    })
    .await;
    assert_eq!(setup.kubelet.runs().len(), 1);
    assert_cleaned_up(&setup).await;
}

fn example_script() -> String {
    seed_synthesizer("synthesizer-example.yaml").spec.command[2].clone()
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
