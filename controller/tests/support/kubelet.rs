//! A fake kubelet for the fake API server: runs synthesis pods as local processes of the REAL
//! `eno` binary, so the pod executor is tested end to end (init container, `eno execute`, the
//! output handed back over HTTP with kube-rs, pod status as a kubelet reports it).
//!
//! For each new pod: the input Secret volume is materialized under a temp dir (paths below
//! `/eno` map into it, the termination message path to a file of its own), the init containers
//! and then the first container run with the pod's env (downward API fields resolved) and
//! `KUBECONFIG` pointing at the server's HTTP front; the pod goes `Running`, then `Succeeded` or
//! `Failed` with container statuses, or `Failed`/`DeadlineExceeded` past
//! `activeDeadlineSeconds`. A pod deleted while it runs has its processes killed.

#![cfg(not(madsim))]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eno::runtime::fake::FakeCluster;
use eno::runtime::{Cluster, Gvk, ListParams, ObjectRef, Patch};
use fake_apiserver::http::{serve, HttpConfig};
use fake_apiserver::SharedApiServer;
use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

/// What the kubelet did with one pod.
#[derive(Clone, Debug, PartialEq)]
pub struct PodRun {
    pub name: String,
    pub uuid: String,
    /// Output Secrets of the pod present when its container exited.
    pub output_secrets: usize,
    pub phase: String,
}

pub struct Kubelet {
    pub kubeconfig: PathBuf,
    runs: Arc<Mutex<Vec<PodRun>>>,
    tasks: JoinSet<()>,
    _dir: tempfile::TempDir,
}

/// Where the `eno` image keeps its binary in the pods these tests create.
pub const EXECUTOR_BINARY: &str = "/usr/local/bin/eno";
const POLL: Duration = Duration::from_millis(25);

impl Kubelet {
    /// Serves `server` over HTTP (for the binary) and starts running its pods.
    pub async fn start(server: SharedApiServer) -> Kubelet {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\n"
            ),
        )
        .unwrap();
        let mut tasks = JoinSet::new();
        tasks.spawn({
            let server = server.clone();
            async move {
                let _ = serve(server, listener, HttpConfig::default(), std::future::pending()).await;
            }
        });
        let runs = Arc::new(Mutex::new(Vec::new()));
        let cluster = FakeCluster::new(server, "kubelet");
        tasks.spawn(watch_pods(cluster, kubeconfig.clone(), dir.path().to_owned(), runs.clone()));
        Kubelet { kubeconfig, runs, tasks, _dir: dir }
    }

    /// Pods run so far, in the order they were seen.
    pub fn runs(&self) -> Vec<PodRun> {
        self.runs.lock().unwrap().clone()
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn watch_pods(cluster: FakeCluster, kubeconfig: PathBuf, dir: PathBuf, runs: Arc<Mutex<Vec<PodRun>>>) {
    let mut seen = std::collections::BTreeSet::new();
    // Dropped with this task: every pod's processes die with the kubelet.
    let mut pods = JoinSet::new();
    loop {
        let listed = cluster.list(&Gvk::new("v1", "Pod"), None, &ListParams::default()).await.expect("list pods");
        for pod in listed.items {
            let uid = pod["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
            if pod["status"]["phase"].is_string() || !seen.insert(uid.clone()) {
                continue;
            }
            let pod: Pod = serde_json::from_value(pod).expect("a pod");
            let workdir = dir.join(&uid);
            pods.spawn(run_pod(cluster.clone(), pod, kubeconfig.clone(), workdir, runs.clone()));
        }
        while let Some(done) = pods.try_join_next() {
            if let Err(error) = done {
                eprintln!("fake kubelet: a pod's task failed: {error}");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How a container ended.
enum Exit {
    Code { code: i32, message: String },
    DeadlineExceeded,
    PodDeleted,
}

async fn run_pod(cluster: FakeCluster, pod: Pod, kubeconfig: PathBuf, workdir: PathBuf, runs: Arc<Mutex<Vec<PodRun>>>) {
    let meta = &pod.metadata;
    let (name, namespace) = (meta.name.clone().unwrap(), meta.namespace.clone().unwrap());
    let uuid = meta.labels.as_ref().and_then(|l| l.get("eno.azure.io/synthesis-uuid")).cloned().unwrap_or_default();
    let spec = pod.spec.clone().unwrap();
    let pod_ref = ObjectRef::new(Gvk::new("v1", "Pod"), Some(&namespace), &name);
    set_status(&cluster, &pod_ref, json!({"phase": "Running"})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(spec.active_deadline_seconds.unwrap_or(3600) as u64);

    let eno_dir = workdir.join("eno");
    std::fs::create_dir_all(eno_dir.join("input")).unwrap();
    for volume in spec.volumes.iter().flatten() {
        let Some(secret) = &volume.secret else { continue };
        let secret_ref = ObjectRef::new(Gvk::new("v1", "Secret"), Some(&namespace), secret.secret_name.as_deref().unwrap());
        let secret: Secret = serde_json::from_value(cluster.get(&secret_ref).await.unwrap().expect("the input secret exists")).unwrap();
        for (key, bytes) in secret.data.unwrap_or_default() {
            std::fs::write(eno_dir.join("input").join(key), bytes.0).unwrap();
        }
    }

    let mut init_statuses = Vec::new();
    for container in spec.init_containers.iter().flatten() {
        let exit = run_container(&cluster, &pod, container, &kubeconfig, &workdir, deadline).await;
        let failed = !matches!(exit, Exit::Code { code: 0, .. });
        init_statuses.push(container_status(container, &exit));
        if failed {
            return finish(&cluster, &pod_ref, &name, &uuid, exit, init_statuses, Vec::new(), &runs).await;
        }
    }
    let container = &spec.containers[0];
    let exit = run_container(&cluster, &pod, container, &kubeconfig, &workdir, deadline).await;
    let statuses = vec![container_status(container, &exit)];
    finish(&cluster, &pod_ref, &name, &uuid, exit, init_statuses, statuses, &runs).await;
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    cluster: &FakeCluster,
    pod_ref: &ObjectRef,
    name: &str,
    uuid: &str,
    exit: Exit,
    init_statuses: Vec<Value>,
    statuses: Vec<Value>,
    runs: &Mutex<Vec<PodRun>>,
) {
    let secrets = cluster
        .list(&Gvk::new("v1", "Secret"), pod_ref.namespace.as_deref(), &ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|s| s["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(&format!("{name}-output-"))))
        .count();
    let status = match &exit {
        Exit::PodDeleted => json!(null),
        Exit::DeadlineExceeded => json!({
            "phase": "Failed", "reason": "DeadlineExceeded",
            "message": "Pod was active on the node longer than the specified deadline",
        }),
        Exit::Code { code: 0, .. } => json!({"phase": "Succeeded", "initContainerStatuses": init_statuses, "containerStatuses": statuses}),
        Exit::Code { .. } => json!({"phase": "Failed", "initContainerStatuses": init_statuses, "containerStatuses": statuses}),
    };
    let phase = status["phase"].as_str().unwrap_or("Deleted").to_owned();
    if !status.is_null() {
        set_status(cluster, pod_ref, status).await;
    }
    runs.lock().unwrap().push(PodRun { name: name.to_owned(), uuid: uuid.to_owned(), output_secrets: secrets, phase });
}

async fn set_status(cluster: &FakeCluster, pod_ref: &ObjectRef, status: Value) {
    // The pod may be gone already (its synthesis was dropped).
    let _ = cluster.patch(pod_ref, &Patch::merge(json!({ "status": status })).on_status()).await;
}

fn container_status(container: &Container, exit: &Exit) -> Value {
    let terminated = match exit {
        Exit::Code { code: 0, .. } => json!({"exitCode": 0, "reason": "Completed"}),
        Exit::Code { code, message } => json!({"exitCode": code, "reason": "Error", "message": message}),
        Exit::DeadlineExceeded | Exit::PodDeleted => json!({"exitCode": 137, "reason": "Error"}),
    };
    json!({
        "name": container.name, "image": container.image, "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": terminated},
    })
}

/// Runs one container to its end: its process, the pod's deadline, or the pod's deletion.
async fn run_container(cluster: &FakeCluster, pod: &Pod, container: &Container, kubeconfig: &Path, workdir: &Path, deadline: tokio::time::Instant) -> Exit {
    let termination_log = workdir.join(format!("{}-termination-log", container.name));
    let container_path = container.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".to_owned());
    let map = |arg: &str| -> String {
        if arg == EXECUTOR_BINARY {
            env!("CARGO_BIN_EXE_eno").to_owned()
        } else if arg == container_path {
            termination_log.display().to_string()
        } else if let Some(rest) = arg.strip_prefix("/eno") {
            format!("{}{rest}", workdir.join("eno").display())
        } else {
            arg.to_owned()
        }
    };
    let argv: Vec<String> = container.command.iter().flatten().chain(container.args.iter().flatten()).map(|a| map(a)).collect();
    let mut command = tokio::process::Command::new(&argv[0]);
    command.args(&argv[1..]).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("KUBECONFIG", kubeconfig);
    for var in container.env.iter().flatten() {
        let value = match (&var.value, var.value_from.as_ref().and_then(|f| f.field_ref.as_ref())) {
            (_, Some(field)) => match field.field_path.as_str() {
                "metadata.name" => pod.metadata.name.clone().unwrap_or_default(),
                "metadata.namespace" => pod.metadata.namespace.clone().unwrap_or_default(),
                "metadata.uid" => pod.metadata.uid.clone().unwrap_or_default(),
                other => panic!("the fake kubelet does not resolve fieldRef {other}"),
            },
            (Some(value), None) => value.clone(),
            (None, None) => String::new(),
        };
        command.env(&var.name, value);
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("starting {argv:?}: {e}"));
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    // The container log: both streams, as the runtime keeps them.
    let log = async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        out.extend(err);
        out
    };
    let pod_ref = ObjectRef::new(Gvk::new("v1", "Pod"), pod.metadata.namespace.as_deref(), pod.metadata.name.as_deref().unwrap());
    let deleted = async {
        loop {
            tokio::time::sleep(POLL).await;
            if !matches!(cluster.get(&pod_ref).await, Ok(Some(p)) if p["metadata"]["uid"] == json!(pod.metadata.uid)) {
                return;
            }
        }
    };
    let run = async { tokio::join!(child.wait(), log) };
    tokio::select! {
        (status, log) = run => {
            let code = status.unwrap().code().unwrap_or(137);
            // terminationMessagePolicy FallbackToLogsOnError: the log's tail when the file is empty.
            let mut message = std::fs::read_to_string(&termination_log).unwrap_or_default();
            if message.is_empty() && code != 0 && container.termination_message_policy.as_deref() == Some("FallbackToLogsOnError") {
                let text = String::from_utf8_lossy(&log);
                let lines: Vec<&str> = text.lines().collect();
                message = lines[lines.len().saturating_sub(80)..].join("\n");
            }
            Exit::Code { code, message }
        }
        _ = tokio::time::sleep_until(deadline) => Exit::DeadlineExceeded,
        _ = deleted => Exit::PodDeleted,
    }
}
