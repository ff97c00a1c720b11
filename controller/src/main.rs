//! The `eno` command line. Errors end here as `anyhow` reports.

#[cfg(not(madsim))]
use clap::{Parser, Subcommand};
#[cfg(not(madsim))]
use std::path::PathBuf;

#[cfg(not(madsim))]
#[derive(Parser)]
#[command(name = "eno", version, about = "Eno: turns synthesizers into managed cluster resources")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(madsim))]
#[derive(Subcommand)]
enum Command {
    /// Serve an in-memory API server on 127.0.0.1 with Eno's CRDs installed, and write a
    /// kubeconfig for it. Runs until SIGINT or SIGTERM.
    Dev {
        /// Where to write the kubeconfig (written once the server is ready).
        #[arg(long)]
        kubeconfig: PathBuf,
        /// Port to listen on; a free one is picked when omitted.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Run Eno's controllers against a real cluster: the kubeconfig given (or `KUBECONFIG`, or
    /// `~/.kube/config`), else the in-cluster service account. Synthesizers run as local
    /// processes on this machine.
    Run {
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// Syntheses that may run at once.
        #[arg(long, default_value_t = 10)]
        synthesis_concurrency: usize,
    },
}

#[cfg(not(madsim))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Dev { kubeconfig, port } => eno::commands::dev(eno::commands::DevOptions { kubeconfig, port }).await,
        Command::Run { kubeconfig, synthesis_concurrency } => eno::commands::run(kubeconfig, synthesis_concurrency).await,
    }
}

/// The simulation build has no process entry point: the simulator drives the library.
#[cfg(madsim)]
fn main() {
    eprintln!("eno: this binary was built with --cfg madsim (simulation only); build without it to run eno");
    std::process::exit(2);
}
