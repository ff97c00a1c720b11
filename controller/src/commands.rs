//! `eno dev`, `eno run`, and `eno execute` / `eno install-executor` (what runs in a synthesis
//! pod).
//!
//! `eno dev`: a self-contained Eno environment on this machine. The fake API server listens on
//! 127.0.0.1, Eno's CRDs are installed, Eno's controllers run against it (kube-rs over HTTP,
//! synthesizers as local processes), and a kubeconfig pointing at it is written once all of
//! that is up, so `kubectl --kubeconfig PATH apply -f ...` works at once.

use crate::controllers::{Eno, Options};
use crate::ops::Ops;
use crate::runtime::kube::KubeCluster;
use crate::runtime::Cluster;
use crate::synthesis::executor::{MAX_OUTPUT_BYTES, MAX_STDERR_BYTES};
use crate::synthesis::SynthesisError;
use crate::synthesis::handback::{output_secrets, PodIdentity, WRAPPER_ENV};
use crate::synthesis::pod_executor::retry;
use crate::synthesis::process::{Process, StderrSink};
use crate::api::duration::parse_go_duration;
use crate::synthesis::{Executor, LocalProcessExecutor, PodConfig, PodExecutor};
use anyhow::Context;
use fake_apiserver::clock::SystemClock;
use fake_apiserver::http::{serve, HttpConfig};
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct DevOptions {
    pub kubeconfig: PathBuf,
    pub port: Option<u16>,
    pub authorization: Authorization,
    pub watchdog_threshold: std::time::Duration,
    /// At most one deferred synthesis per this long (the slot's Lease in `default`).
    pub rollout_cooldown: std::time::Duration,
    /// A lost slice of a synthesis at least this old is healed.
    pub self_healing_grace: std::time::Duration,
    /// Serve `/metrics`, `/healthz` and `/readyz` here.
    pub ops_address: Option<std::net::SocketAddr>,
    /// Run Eno's controllers in this process (off: the API server alone, for controllers run
    /// elsewhere, e.g. `eno run` with a ServiceAccount's token).
    pub controllers: bool,
    /// Append each request the server answers here, one JSON line each.
    pub request_log: Option<PathBuf>,
}

pub use fake_apiserver::http::identity::Authorization;

/// The kubeconfig's user (and the embedded controllers'): an administrator, as a cluster
/// creator's credentials are.
const DEV_ADMIN: &str = "eno-dev-admin";

/// How often the garbage collector (and namespace/CRD cleanup) runs.
const GC_INTERVAL: Duration = Duration::from_millis(500);

pub async fn dev(opts: DevOptions) -> anyhow::Result<()> {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    if let Some(path) = &opts.request_log {
        log_requests(&server, path)?;
    }
    crate::runtime::fake::install_crds(&server).context("installing Eno's CRDs")?;
    if opts.authorization == Authorization::Rbac {
        server.with(fake_apiserver::auth::bootstrap::install).context("installing the bootstrap RBAC policy")?;
    }
    let token = fake_apiserver::http::identity::random_token();
    let admin = fake_apiserver::auth::User {
        name: DEV_ADMIN.into(),
        groups: vec![fake_apiserver::auth::MASTERS.into(), fake_apiserver::auth::AUTHENTICATED.into()],
        ..Default::default()
    };
    // HTTPS: kubectl sends its credentials over TLS only.
    let tls = fake_apiserver::http::tls::self_signed(&["127.0.0.1", "localhost"]).context("making the server's certificate")?;
    let http_config = HttpConfig { authorization: opts.authorization, tokens: vec![(token.clone(), admin)], tls: Some(tls.clone()), ..HttpConfig::default() };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", opts.port.unwrap_or(0)))?;
    let address = listener.local_addr()?;
    let url = format!("https://{address}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(serve(server.clone(), listener, http_config, async {
        let _ = stop_rx.await;
    }));
    let gc = tokio::spawn(server.clone().run_garbage_collector(GC_INTERVAL));
    // The controllers talk to the server the way they talk to a real cluster: kube-rs over HTTP.
    let mut client_config = kube::Config::new(url.parse()?);
    client_config.auth_info.token = Some(token.clone().into());
    client_config.root_cert = Some(vec![tls.authority_der.clone()]);
    let client = kube::Client::try_from(client_config).context("building the kube client")?;
    let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::new(client, "eno"));
    let options = Options {
        watchdog_threshold: Some(opts.watchdog_threshold),
        rollout_cooldown: opts.rollout_cooldown,
        self_healing_grace: opts.self_healing_grace,
        ..Options::default()
    };
    let ops = match opts.ops_address {
        Some(address) => Some(start_ops(address, &options).await?),
        None => None,
    };
    let eno = match opts.controllers {
        true => Some(Eno::start(cluster, Arc::new(LocalProcessExecutor::default()), options).await),
        false => None,
    };
    if let Some((ops, _)) = &ops {
        ops.ready.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    write_kubeconfig(&opts.kubeconfig, &url, &tls.authority_pem, &token)?;
    tracing::info!(%url, kubeconfig = %opts.kubeconfig.display(), "API server ready");
    println!("eno dev: API server at {url}");
    println!("  export KUBECONFIG={}", opts.kubeconfig.display());
    println!("  kubectl apply -f <synthesizers and compositions>");
    println!("  kubectl get compositions");
    shutdown_signal().await?;
    tracing::info!("shutting down");
    if let Some(eno) = eno {
        eno.shutdown().await;
    }
    if let Some((_, task)) = ops {
        task.abort();
    }
    let _ = stop_tx.send(());
    gc.abort();
    http.await.context("HTTP server task")?.context("HTTP server")?;
    Ok(())
}

/// Appends each request `server` answers to `path` as a JSON line: the audit event, and when
/// it was answered (`eno dev --request-log`).
fn log_requests(server: &SharedApiServer, path: &Path) -> anyhow::Result<()> {
    #[derive(serde::Serialize)]
    struct Logged<'a> {
        time: String,
        #[serde(flatten)]
        event: &'a fake_apiserver::shared::AuditEvent,
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("opening the request log {}", path.display()))?;
    let mut log = std::io::LineWriter::new(file);
    server.audit_with(move |event| {
        let millis = crate::runtime::wall_clock_millis(0);
        let time = k8s_openapi::jiff::Timestamp::from_millisecond(millis).map(|t| t.to_string()).unwrap_or_default();
        let written = serde_json::to_string(&Logged { time, event }).map_err(std::io::Error::from).and_then(|line| {
            use std::io::Write;
            writeln!(log, "{line}")
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not append to the request log");
        }
    });
    Ok(())
}

/// Which executor `eno run` synthesizes with.
#[derive(Clone, Debug)]
pub enum ExecutorChoice {
    /// Each synthesis in a pod of the synthesizer's image (production).
    Pod(PodConfig),
    /// Synthesizers as processes of this one (a controller running where they are installed).
    Local,
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `address` ([`crate::ops`]), reporting
/// `options`' metrics; not ready until [`Ops::ready`] is set.
async fn start_ops(address: std::net::SocketAddr, options: &Options) -> anyhow::Result<(Ops, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("binding the ops endpoint to {address}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    let ops = Ops { metrics: options.metrics.clone(), ..Ops::default() };
    Ok((ops.clone(), tokio::spawn(crate::ops::serve(listener, ops))))
}

/// `eno run`: the controllers against a real API server until SIGINT/SIGTERM, with the ops
/// endpoint on `ops_address` when given.
/// Requests to the API server are limited to `qps` a second, `burst` at once (`rate_limit`).
pub async fn run(kubeconfig: Option<PathBuf>, options: Options, executor: ExecutorChoice, ops_address: Option<std::net::SocketAddr>, rate_limit: (f64, u32)) -> anyhow::Result<()> {
    let ops = match ops_address {
        Some(address) => Some(start_ops(address, &options).await?),
        None => None,
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(&path).with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &Default::default()).await.context("loading the kubeconfig")?
        }
        None => kube::Config::infer().await.context("no kubeconfig and not running in a cluster")?,
    };
    let url = config.cluster_url.clone();
    let client = kube::Client::try_from(config).context("building the kube client")?;
    let (qps, burst) = rate_limit;
    let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::new(client, "eno").with_rate_limit(qps, burst));
    // The pod executor writes with the controllers' client: under leader election, only while
    // this replica leads.
    let executor = move |cluster: Arc<dyn Cluster>| -> Arc<dyn Executor> {
        match executor {
            ExecutorChoice::Pod(config) => Arc::new(PodExecutor::new(cluster, config)),
            ExecutorChoice::Local => Arc::new(LocalProcessExecutor::default()),
        }
    };
    let shard = (options.shard.namespace().unwrap_or("*").to_string(), options.shard.label_selector().unwrap_or_default());
    let eno = Eno::start_with(cluster, executor, options).await;
    tracing::info!(%url, composition_namespace = %shard.0, composition_label_selector = %shard.1, "eno controllers running");
    if let Some((ops, _)) = &ops {
        ops.ready.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    shutdown_signal().await?;
    // A leader lets go of its Lease on the way out, so a standby takes over at once.
    eno.shutdown().await;
    if let Some((_, task)) = ops {
        task.abort();
    }
    Ok(())
}

pub struct ExecuteOptions {
    /// The input `ResourceList`; stdin when absent.
    pub input: Option<PathBuf>,
    /// `execTimeout`, as the synthesizer spells it.
    pub timeout: String,
    /// Where the reason for a failure is written (the container's termination message).
    pub termination_log: PathBuf,
    pub command: Vec<String>,
}

/// `eno execute`: the synthesis pod's wrapper. Runs the command as the local executor does,
/// then hands its output back as Secrets ([`crate::synthesis::handback`]). A failure is one line
/// in the termination log and a non-zero exit: [`VERDICT_EXIT_CODE`] when it is the
/// synthesizer's verdict ([`SynthesisError::is_verdict`]), so the controller does not retry it.
///
/// [`VERDICT_EXIT_CODE`]: crate::synthesis::pod::VERDICT_EXIT_CODE
pub async fn execute(opts: ExecuteOptions) -> Result<(), ExecuteFailure> {
    let Err(failure) = execute_and_hand_back(&opts).await else { return Ok(()) };
    if let Err(error) = std::fs::write(&opts.termination_log, &failure.message) {
        eprintln!("eno execute: writing {}: {error}", opts.termination_log.display());
    }
    Err(failure)
}

/// Why `eno execute` failed, and the exit code that says whether it is a verdict.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExecuteFailure {
    pub message: String,
    pub exit_code: i32,
}

impl From<String> for ExecuteFailure {
    fn from(message: String) -> Self {
        ExecuteFailure { message, exit_code: 1 }
    }
}

impl From<SynthesisError> for ExecuteFailure {
    fn from(e: SynthesisError) -> Self {
        ExecuteFailure { exit_code: if e.is_verdict() { crate::synthesis::pod::VERDICT_EXIT_CODE } else { 1 }, message: e.to_string() }
    }
}

async fn execute_and_hand_back(opts: &ExecuteOptions) -> Result<(), ExecuteFailure> {
    // Before running anything: output that cannot be handed back is wasted work.
    let pod = PodIdentity::from_env(|name| std::env::var(name).ok())?;
    let timeout = parse_go_duration(&opts.timeout).map_err(|reason| SynthesisError::InvalidSpec { field: "execTimeout", value: opts.timeout.clone(), reason })?;
    let stdin = match &opts.input {
        Some(path) => std::fs::read(path).map_err(|e| format!("reading the synthesis input {}: {e}", path.display()))?,
        None => {
            // Nothing else runs yet: blocking this thread is harmless.
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| format!("reading the synthesis input from stdin: {e}"))?;
            bytes
        }
    };
    let process = Process {
        argv: opts.command.clone(),
        // The container's environment is the synthesizer's, minus what only the wrapper needs.
        env: std::env::vars_os().filter(|(name, _)| !WRAPPER_ENV.iter().any(|w| name == w)).collect(),
        stdin,
        timeout,
        max_output_bytes: MAX_OUTPUT_BYTES,
        max_stderr_bytes: MAX_STDERR_BYTES,
        stderr: StderrSink::PassThrough,
    };
    let output = process.run().await?;

    let handing_back = |e: &dyn std::fmt::Display| format!("handing the synthesis output back failed: {e}");
    let client = kube::Client::try_default().await.map_err(|e| handing_back(&e))?;
    let cluster = KubeCluster::new(client, "eno-execute");
    for secret in output_secrets(&pod, &output) {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let secret = serde_json::to_value(&secret).map_err(|e| handing_back(&e))?;
        retry(|| cluster.create(&secret)).await.map_err(|e| handing_back(&format!("creating secret {name}: {e}")))?;
    }
    Ok(())
}

/// `eno install-executor DEST`: copies this binary to DEST (the synthesis pod's shared volume),
/// executable by the synthesizer's user.
pub fn install_executor(dest: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let this = std::env::current_exe().context("locating the eno binary")?;
    std::fs::copy(&this, dest).with_context(|| format!("copying {} to {}", this.display(), dest.display()))?;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755)).with_context(|| format!("making {} executable", dest.display()))?;
    Ok(())
}

/// Written to a temporary file and renamed, so a reader never sees half a kubeconfig.
fn write_kubeconfig(path: &Path, url: &str, authority_pem: &str, token: &str) -> anyhow::Result<()> {
    use base64::Engine as _;
    let authority = base64::engine::general_purpose::STANDARD.encode(authority_pem);
    let contents = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: eno-dev\n  cluster:\n    server: {url}\n    certificate-authority-data: {authority}\ncontexts:\n- name: eno-dev\n  context:\n    cluster: eno-dev\n    user: eno-dev\n    namespace: default\ncurrent-context: eno-dev\nusers:\n- name: eno-dev\n  user:\n    token: {token}\n"
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
    // It holds an administrator's token: readable by its owner only, as kubeconfigs should be.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).with_context(|| format!("restricting {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
