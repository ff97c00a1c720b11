//! `eno dev` and `eno run`.
//!
//! `eno dev`: a self-contained Eno environment on this machine. The fake API server listens on
//! 127.0.0.1, Eno's CRDs are installed, Eno's controllers run against it (kube-rs over HTTP,
//! synthesizers as local processes), and a kubeconfig pointing at it is written once all of
//! that is up, so `kubectl --kubeconfig PATH apply -f ...` works at once.

use crate::controllers::{Eno, Options};
use crate::runtime::kube::KubeCluster;
use crate::runtime::Cluster;
use crate::synthesis::LocalProcessExecutor;
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
}

/// How often the garbage collector (and namespace/CRD cleanup) runs.
const GC_INTERVAL: Duration = Duration::from_millis(500);

pub async fn dev(opts: DevOptions) -> anyhow::Result<()> {
    let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    crate::runtime::fake::install_crds(&server).context("installing Eno's CRDs")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", opts.port.unwrap_or(0)))?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(serve(server.clone(), listener, HttpConfig::default(), async {
        let _ = stop_rx.await;
    }));
    let gc = tokio::spawn(server.clone().run_garbage_collector(GC_INTERVAL));
    // The controllers talk to the server the way they talk to a real cluster: kube-rs over HTTP.
    let client = kube::Client::try_from(kube::Config::new(url.parse()?)).context("building the kube client")?;
    let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::new(client, "eno"));
    let eno = Eno::start(cluster, Arc::new(LocalProcessExecutor::default()), Options::default()).await;
    write_kubeconfig(&opts.kubeconfig, &url)?;
    tracing::info!(%url, kubeconfig = %opts.kubeconfig.display(), "API server ready");
    println!("eno dev: API server at {url}");
    println!("  export KUBECONFIG={}", opts.kubeconfig.display());
    println!("  kubectl apply -f <synthesizers and compositions>");
    println!("  kubectl get compositions");
    shutdown_signal().await?;
    tracing::info!("shutting down");
    drop(eno);
    let _ = stop_tx.send(());
    gc.abort();
    http.await.context("HTTP server task")?.context("HTTP server")?;
    Ok(())
}

/// `eno run`: the controllers against a real API server until SIGINT/SIGTERM.
pub async fn run(kubeconfig: Option<PathBuf>, synthesis_concurrency: usize) -> anyhow::Result<()> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(&path).with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &Default::default()).await.context("loading the kubeconfig")?
        }
        None => kube::Config::infer().await.context("no kubeconfig and not running in a cluster")?,
    };
    let url = config.cluster_url.clone();
    let client = kube::Client::try_from(config).context("building the kube client")?;
    let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::new(client, "eno"));
    let options = Options { synthesis_concurrency, ..Options::default() };
    let eno = Eno::start(cluster, Arc::new(LocalProcessExecutor::default()), options).await;
    tracing::info!(%url, "eno controllers running");
    shutdown_signal().await?;
    drop(eno);
    Ok(())
}

/// Written to a temporary file and renamed, so a reader never sees half a kubeconfig.
fn write_kubeconfig(path: &Path, url: &str) -> anyhow::Result<()> {
    let contents = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: eno-dev\n  cluster:\n    server: {url}\ncontexts:\n- name: eno-dev\n  context:\n    cluster: eno-dev\n    user: eno-dev\n    namespace: default\ncurrent-context: eno-dev\nusers:\n- name: eno-dev\n  user: {{}}\n"
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
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
