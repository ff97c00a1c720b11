//! The `eno` command line. Errors end here as `anyhow` reports.

#[cfg(not(madsim))]
use clap::{Parser, Subcommand, ValueEnum};
#[cfg(not(madsim))]
use std::path::PathBuf;

#[cfg(not(madsim))]
#[derive(Parser)]
#[command(name = "eno", version, about = "Eno: turns synthesizers into managed cluster resources")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to stderr: `text` for people, `json` (one object per line)
    /// for log pipelines.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[cfg(not(madsim))]
#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[cfg(not(madsim))]
#[derive(Clone, Copy, ValueEnum)]
enum ExecutorKind {
    /// Each synthesis in a pod running the synthesizer's image.
    Pod,
    /// Synthesizers as processes of the controller.
    Local,
}

/// Who may do what against `eno dev`'s API server.
#[cfg(not(madsim))]
#[derive(Clone, Copy, ValueEnum)]
enum AuthorizationKind {
    AlwaysAllow,
    Rbac,
}

/// How fresh the informers' lists must be.
#[cfg(not(madsim))]
#[derive(Clone, Copy, ValueEnum)]
enum ListSemanticKind {
    /// Quorum reads: the latest state.
    MostRecent,
    /// `resourceVersion=0`, served from the API servers' watch caches: cheaper for large
    /// clusters; a relist may see an older state than one already seen, which the controllers
    /// tolerate (decisions that need fresh state read it uncached).
    Any,
}

#[cfg(not(madsim))]
#[derive(Subcommand)]
enum Command {
    /// Serve an in-memory API server on 127.0.0.1 with Eno's CRDs installed, and write a
    /// kubeconfig for it. Runs until SIGINT or SIGTERM. Synthesizers run as local processes.
    Dev {
        /// Where to write the kubeconfig (written once the server is ready).
        #[arg(long)]
        kubeconfig: PathBuf,
        /// Port to listen on; a free one is picked when omitted.
        #[arg(long)]
        port: Option<u16>,
        /// How requests are authorized: `always-allow` (anyone may do anything), or `rbac`
        /// (Kubernetes RBAC over the Roles and bindings stored, with the bootstrap roles
        /// installed; the kubeconfig's user is in `system:masters`; ServiceAccount tokens come
        /// from `kubectl create token`).
        #[arg(long, value_enum, default_value = "always-allow")]
        authorization: AuthorizationKind,
        /// Report compositions stuck mid-transition longer than this (Go duration).
        #[arg(long, default_value = "3m", value_parser = eno::api::duration::parse_go_duration)]
        watchdog_threshold: std::time::Duration,
        /// Synthesizer changes and changes to `defer: true` inputs resynthesize one composition
        /// at a time, at most one per this long (Go duration; `0s`: all at once).
        #[arg(long, default_value = "1m", value_parser = eno::api::duration::parse_go_duration)]
        rollout_cooldown: std::time::Duration,
        /// Serve the controllers' /metrics, /healthz and /readyz on this address (not served
        /// when omitted).
        #[arg(long)]
        ops_address: Option<std::net::SocketAddr>,
        /// Serve the API server alone, without Eno's controllers (to run them elsewhere, e.g.
        /// `eno run --executor local` with a ServiceAccount's token).
        #[arg(long)]
        no_controllers: bool,
        /// A lost slice of a synthesis at least this old is healed by resynthesizing (Go
        /// duration; shorter than `eno run`'s default, to see it happen).
        #[arg(long, default_value = "5s", value_parser = eno::api::duration::parse_go_duration)]
        self_healing_grace_period: std::time::Duration,
        /// Append every request the API server answers to this file, one JSON line each
        /// (`time`, `user`, `verb`, `apiGroup`, `resource`, `namespace`, `name`, `code`; or
        /// `path` for non-resource URLs), like a Kubernetes audit log's essentials.
        #[arg(long)]
        request_log: Option<PathBuf>,
    },
    /// Run Eno's controllers against a real cluster: the kubeconfig given (or `KUBECONFIG`, or
    /// `~/.kube/config`), else the in-cluster service account.
    Run {
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// Syntheses that may run at once (Eno: --concurrency-limit).
        #[arg(long, alias = "concurrency-limit", default_value_t = 10)]
        synthesis_concurrency: usize,
        /// Where synthesizers run.
        #[arg(long, value_enum, default_value = "pod")]
        executor: ExecutorKind,
        /// Namespace of the synthesis pods, their Secrets, and the rollout slot's Lease
        /// (`eno-rollout`).
        #[arg(long, alias = "synthesizer-pod-namespace", default_value = "eno-system")]
        synthesis_namespace: String,
        /// Image holding this eno binary, copied into each synthesis pod: the controller's own
        /// image (the chart sets ENO_EXECUTOR_IMAGE to it). Needed with `--executor pod`.
        #[arg(long, env = "ENO_EXECUTOR_IMAGE")]
        executor_image: Option<String>,
        /// Path of the eno binary inside --executor-image.
        #[arg(long, default_value = "/eno")]
        executor_binary: String,
        /// Service account of the synthesis pods; it must be allowed to create Secrets in
        /// --synthesis-namespace (Eno: --synthesizer-pod-service-account).
        #[arg(long, alias = "synthesizer-pod-service-account")]
        service_account: Option<String>,
        /// Labels for every synthesis pod: comma-separated key=value pairs (a synthesizer's
        /// podOverrides win).
        #[arg(long, default_value = "", value_parser = eno::synthesis::pod::parse_pairs)]
        synthesizer_pod_labels: std::collections::BTreeMap<String, String>,
        /// Annotations for every synthesis pod: comma-separated key=value pairs.
        #[arg(long, default_value = "", value_parser = eno::synthesis::pod::parse_pairs)]
        synthesizer_pod_annotations: std::collections::BTreeMap<String, String>,
        /// A NoSchedule taint synthesis pods tolerate: key=value, or key alone for any value.
        #[arg(long, value_parser = eno::synthesis::pod::parse_toleration)]
        taint_toleration: Option<k8s_openapi::api::core::v1::Toleration>,
        /// Nodes synthesis pods must run on: label key=value, or key alone for any value.
        #[arg(long, value_parser = eno::synthesis::pod::parse_node_affinity)]
        node_affinity: Option<k8s_openapi::api::core::v1::NodeAffinity>,
        /// How fresh the informers' lists and relists must be.
        #[arg(long, value_enum, default_value = "most-recent")]
        list_semantic: ListSemanticKind,
        /// Report compositions stuck mid-transition longer than this (Go duration), as Eno's
        /// watchdog does: a warning each, and a count.
        #[arg(long, default_value = "3m", value_parser = eno::api::duration::parse_go_duration)]
        watchdog_threshold: std::time::Duration,
        /// Synthesizer changes and changes to `defer: true` inputs resynthesize one composition
        /// at a time, at most one per this long, across replicas (Go duration; `0s`: all at once).
        #[arg(long, default_value = "1m", value_parser = eno::api::duration::parse_go_duration)]
        rollout_cooldown: std::time::Duration,
        /// Requests a second to the API server, on average (client-side rate limit, as Eno's
        /// `--qps`; 0: unlimited).
        #[arg(long, default_value_t = 20.0)]
        qps: f64,
        /// Requests the rate limit lets through at once after a quiet spell (Eno's `--burst`).
        #[arg(long, default_value_t = 50)]
        burst: u32,
        /// Longest a synthesis pod may run (Go duration; Eno's max TTL for synthesizer pods): a
        /// synthesizer's podTimeout only shortens it.
        #[arg(long, default_value = "30s", value_parser = eno::api::duration::parse_go_duration)]
        pod_timeout: std::time::Duration,
        /// A synthesis pod scheduled onto a node whose kubelet has not started its containers
        /// within this long is given up (deleted; the synthesis is retried), so a partitioned node
        /// does not hold a synthesis up (Go duration).
        #[arg(long, default_value = "3s", value_parser = eno::api::duration::parse_go_duration)]
        container_creation_ttl: std::time::Duration,
        /// A lost slice of the current synthesis is healed (one more synthesis is asked for)
        /// only once the synthesis is at least this old (Go duration).
        #[arg(long, default_value = "5m", value_parser = eno::api::duration::parse_go_duration)]
        self_healing_grace_period: std::time::Duration,
        /// Writes a second recording input changes in compositions' status.inputRevisions, as
        /// Eno's input controllers' limit (0: unlimited).
        #[arg(long, default_value_t = 10.0)]
        input_qps: f64,
        /// Serve /metrics, /healthz and /readyz on this address; `none` to serve nothing.
        #[arg(long, default_value = "0.0.0.0:8080", value_parser = parse_ops_address)]
        ops_address: OpsAddress,
        #[command(flatten)]
        leader_election: LeaderElectionArgs,
        /// Shard: handle only compositions (their slices and resources) and symphonies in this
        /// namespace; empty: every namespace. Eno's `--composition-namespace`.
        #[arg(long, default_value = "")]
        composition_namespace: String,
        /// Shard: handle only compositions (and symphonies) whose labels match this label
        /// selector (`key=value,key2 in (a,b),!key3`); empty: all. A composition whose labels
        /// stop matching is left as it is. Eno's `--composition-label-selector`.
        #[arg(long, default_value = "")]
        composition_label_selector: String,
        /// Shard: reconcile only the resources for which this CEL expression over `self` (the
        /// resource as synthesized) and `composition` (its metadata) is true, e.g.
        /// `self.kind == 'ConfigMap'`; one it fails on is skipped and counted. Empty: all.
        /// Eno's `--resource-filter`.
        #[arg(long, default_value = "")]
        resource_filter: String,
    },
    /// Run a synthesizer command inside a synthesis pod and hand its output back as Secrets.
    Execute {
        /// The input ResourceList (JSON); stdin when omitted.
        #[arg(long)]
        input: Option<PathBuf>,
        /// How long the command may run (Go duration).
        #[arg(long, default_value = "10s")]
        timeout: String,
        /// Where a failure's reason is written.
        #[arg(long, default_value = "/dev/termination-log")]
        termination_log: PathBuf,
        /// The synthesizer command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Copy this binary to DEST, executable (the synthesis pod's init container).
    InstallExecutor { dest: PathBuf },
}

/// Eno's leader election flags (`internal/manager/options.go`), with its defaults.
#[cfg(not(madsim))]
#[derive(clap::Args)]
struct LeaderElectionArgs {
    /// Run the controllers only while holding a Lease, so of several replicas one works and
    /// the others stand by with warm caches (the chart turns it on).
    #[arg(long)]
    leader_election: bool,
    /// Namespace of the leader election Lease (default: POD_NAMESPACE, else
    /// --synthesis-namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Name of the leader election Lease.
    #[arg(long, default_value = "eno-controller")]
    leader_election_id: String,
    /// How long a standby waits, from when it saw the Lease last renewed, before taking it over
    /// (Go duration, whole seconds).
    #[arg(long, default_value = "35s", value_parser = eno::api::duration::parse_go_duration)]
    leader_election_lease_duration: std::time::Duration,
    /// How long the leader keeps working without a successful renewal (Go duration; shorter
    /// than the lease duration, so it stops before anyone else can start).
    #[arg(long, default_value = "30s", value_parser = eno::api::duration::parse_go_duration)]
    leader_election_lease_renew_deadline: std::time::Duration,
    /// How often the leader renews the Lease and standbys look at it (Go duration).
    #[arg(long, default_value = "4s", value_parser = eno::api::duration::parse_go_duration)]
    leader_election_lease_retry: std::time::Duration,
}

#[cfg(not(madsim))]
impl LeaderElectionArgs {
    /// The election, if turned on: this process's identity is its host (the pod's name) and a
    /// random suffix, so a restarted container is a new candidate.
    fn config(self, synthesis_namespace: &str) -> anyhow::Result<Option<eno::runtime::leader_election::ElectionConfig>> {
        if !self.leader_election {
            return Ok(None);
        }
        let host = std::env::var("POD_NAME").or_else(|_| std::env::var("HOSTNAME")).ok().filter(|h| !h.is_empty()).or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string())).unwrap_or_else(|| "eno".into());
        let suffix: String = fake_apiserver::http::identity::random_token().chars().take(10).collect();
        let config = eno::runtime::leader_election::ElectionConfig {
            namespace: self.leader_election_namespace.filter(|n| !n.is_empty()).unwrap_or_else(|| synthesis_namespace.to_string()),
            name: self.leader_election_id,
            identity: format!("{host}_{suffix}"),
            lease_duration: self.leader_election_lease_duration,
            renew_deadline: self.leader_election_lease_renew_deadline,
            retry_period: self.leader_election_lease_retry,
        };
        config.validate()?;
        Ok(Some(config))
    }
}

#[cfg(not(madsim))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { command, log_format } = Cli::parse();
    // In a synthesis pod the container log is the synthesizer's: only problems of our own.
    let default_level = if matches!(command, Command::Execute { .. } | Command::InstallExecutor { .. }) { "warn" } else { "info" };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()))
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match command {
        Command::Dev { kubeconfig, port, authorization, watchdog_threshold, rollout_cooldown, ops_address, no_controllers, self_healing_grace_period, request_log } => {
            let authorization = match authorization {
                AuthorizationKind::AlwaysAllow => eno::commands::Authorization::AlwaysAllow,
                AuthorizationKind::Rbac => eno::commands::Authorization::Rbac,
            };
            eno::commands::dev(eno::commands::DevOptions {
                kubeconfig,
                port,
                authorization,
                watchdog_threshold,
                rollout_cooldown,
                self_healing_grace: self_healing_grace_period,
                ops_address,
                controllers: !no_controllers,
                request_log,
            })
            .await
        }
        Command::Run {
            kubeconfig,
            synthesis_concurrency,
            executor,
            synthesis_namespace,
            executor_image,
            executor_binary,
            service_account,
            synthesizer_pod_labels,
            synthesizer_pod_annotations,
            taint_toleration,
            node_affinity,
            list_semantic,
            watchdog_threshold,
            rollout_cooldown,
            qps,
            burst,
            pod_timeout,
            container_creation_ttl,
            self_healing_grace_period,
            input_qps,
            ops_address,
            leader_election,
            composition_namespace,
            composition_label_selector,
            resource_filter,
        } => {
            let shard = eno::decide::shard::Shard::new(&composition_namespace, &composition_label_selector, &resource_filter)?;
            let rollout_namespace = synthesis_namespace.clone();
            let leader_election = leader_election.config(&synthesis_namespace)?;
            let executor = match executor {
                ExecutorKind::Local => eno::commands::ExecutorChoice::Local,
                ExecutorKind::Pod => eno::commands::ExecutorChoice::Pod(eno::synthesis::PodConfig {
                    namespace: synthesis_namespace,
                    executor_image: executor_image.ok_or_else(|| {
                        anyhow::anyhow!("--executor pod needs the image holding this eno binary: --executor-image, or ENO_EXECUTOR_IMAGE (the chart sets it to the controller's own image)")
                    })?,
                    executor_binary,
                    service_account,
                    labels: synthesizer_pod_labels,
                    annotations: synthesizer_pod_annotations,
                    tolerations: taint_toleration.into_iter().collect(),
                    node_affinity,
                    pod_timeout: Some(pod_timeout),
                    container_creation_ttl: Some(container_creation_ttl),
                    ..Default::default()
                }),
            };
            let list_semantic = match list_semantic {
                ListSemanticKind::MostRecent => eno::runtime::ListSemantic::MostRecent,
                ListSemanticKind::Any => eno::runtime::ListSemantic::Any,
            };
            let options = eno::controllers::Options {
                synthesis_concurrency,
                list_semantic,
                watchdog_threshold: Some(watchdog_threshold),
                rollout_cooldown,
                rollout_namespace,
                leader_election,
                self_healing_grace: self_healing_grace_period,
                input_qps,
                shard,
                ..Default::default()
            };
            eno::commands::run(kubeconfig, options, executor, ops_address.0, (qps, burst)).await
        }
        Command::Execute { input, timeout, termination_log, command } => {
            if let Err(failure) = eno::commands::execute(eno::commands::ExecuteOptions { input, timeout, termination_log, command }).await {
                // The exit code tells the controller whether the failure is a verdict.
                eprintln!("Error: {failure}");
                std::process::exit(failure.exit_code);
            }
            Ok(())
        }
        Command::InstallExecutor { dest } => eno::commands::install_executor(&dest),
    }
}

/// Where `eno run` serves its ops endpoint (`none`: nowhere).
#[cfg(not(madsim))]
#[derive(Clone, Copy, Debug)]
struct OpsAddress(Option<std::net::SocketAddr>);

#[cfg(not(madsim))]
fn parse_ops_address(text: &str) -> Result<OpsAddress, String> {
    match text {
        "none" => Ok(OpsAddress(None)),
        address => address.parse().map(|a| OpsAddress(Some(a))).map_err(|e| format!("{address:?} is not an address like 0.0.0.0:8080 (or none): {e}")),
    }
}

/// The simulation build has no process entry point: the simulator drives the library.
#[cfg(madsim)]
fn main() {
    eprintln!("eno: this binary was built with --cfg madsim (simulation only); build without it to run eno");
    std::process::exit(2);
}
