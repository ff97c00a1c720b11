//! `bench`: simulator throughput on one core, beside madsim's own floor measured in the same run.
//!
//! For each scenario it runs seeds 0..N with their swarm fault plans, one after another, and
//! prints seeds/s, client requests per seed, wall µs per request, virtual:wall time and peak RSS.
//! Beside it, a bare madsim world per seed makes the same number of trivial simulated calls (a
//! sleep and a channel round trip to a server task each): that is what the simulation would cost
//! if the API server, the controllers and the checks took no time at all.
//!
//!     RUSTFLAGS="--cfg madsim" cargo run --release -p simulator --bin bench --target-dir target-madsim -- --scenario symphony-migration --seeds 200

#[cfg(not(madsim))]
fn main() {
    eprintln!("bench needs the simulation build: RUSTFLAGS=\"--cfg madsim\" cargo run --release -p simulator --bin bench --target-dir target-madsim");
    std::process::exit(2);
}

#[cfg(madsim)]
fn main() -> std::process::ExitCode {
    bench::main()
}

#[cfg(madsim)]
mod bench {
    use clap::Parser;
    use simulator::plan::FaultPlan;
    use simulator::scenario::Scenario;
    use simulator::world::run;
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[derive(Parser)]
    #[command(about = "Simulator throughput beside a bare-madsim baseline")]
    struct Args {
        /// Seeds per scenario (0..N).
        #[arg(long, default_value_t = 200)]
        seeds: u64,
        /// Only these scenarios (default: all).
        #[arg(long)]
        scenario: Vec<String>,
        /// Where the scenario files are.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))]
        dir: PathBuf,
    }

    /// How long each bare call sleeps: a request's trip in virtual time.
    const BARE_CALL_SLEEP: Duration = Duration::from_millis(1);

    pub fn main() -> ExitCode {
        let args = Args::parse();
        let scenarios = match Scenario::load_dir(&args.dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let selected: Vec<Arc<Scenario>> = scenarios.into_iter().filter(|s| args.scenario.is_empty() || args.scenario.contains(&s.name)).map(Arc::new).collect();
        if selected.is_empty() || args.seeds == 0 {
            eprintln!("error: nothing to run (scenarios {:?}, {} seeds)", args.scenario, args.seeds);
            return ExitCode::from(2);
        }
        println!(
            "{:<24} {:>6} {:>9} {:>10} {:>9} {:>13} {:>9} {:>9} | {:>14} {:>13}",
            "scenario", "seeds", "seeds/s", "req/seed", "µs/req", "virtual/wall", "peak RSS", "failures", "bare seeds/s", "bare µs/call"
        );
        for scenario in selected {
            let world = run_worlds(&scenario, args.seeds);
            let calls = world.requests / args.seeds;
            let bare = run_bare(args.seeds, calls);
            println!(
                "{:<24} {:>6} {:>9.1} {:>10} {:>9.2} {:>12.0}x {:>5} MiB {:>9} | {:>14.1} {:>13.2}",
                scenario.name,
                args.seeds,
                args.seeds as f64 / world.wall.as_secs_f64(),
                calls,
                micros_per(world.wall, world.requests),
                world.virtual_time.as_secs_f64() / world.wall.as_secs_f64(),
                peak_rss_kib() / 1024,
                world.failures,
                args.seeds as f64 / bare.as_secs_f64(),
                micros_per(bare, calls * args.seeds),
            );
        }
        ExitCode::SUCCESS
    }

    struct Worlds {
        wall: Duration,
        virtual_time: Duration,
        requests: u64,
        failures: u64,
    }

    /// Seeds 0..n of `scenario` with their swarm plans, one after another.
    fn run_worlds(scenario: &Arc<Scenario>, n: u64) -> Worlds {
        let start = Instant::now();
        let (mut virtual_time, mut requests, mut failures) = (Duration::ZERO, 0, 0);
        for seed in 0..n {
            let outcome = run(scenario.clone(), seed, FaultPlan::swarm(seed, scenario.faults_until.0), Default::default());
            virtual_time += outcome.virtual_time;
            requests += outcome.requests;
            failures += u64::from(!outcome.violations.is_empty());
        }
        Worlds { wall: start.elapsed(), virtual_time, requests, failures }
    }

    /// `n` bare madsim worlds (a runtime each, on a thread each, as `run` does) making `calls`
    /// simulated calls each; the wall time they took.
    fn run_bare(n: u64, calls: u64) -> Duration {
        let start = Instant::now();
        for seed in 0..n {
            std::thread::spawn(move || madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default()).block_on(bare_world(calls)))
                .join()
                .expect("the bare world does not panic");
        }
        start.elapsed()
    }

    /// A client task and a server task: each call sleeps, then sends a request and awaits its
    /// reply.
    async fn bare_world(calls: u64) {
        let (requests, mut incoming) = tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u64>>(1);
        let server = tokio::spawn(async move {
            let mut served = 0;
            while let Some(reply) = incoming.recv().await {
                served += 1;
                let _ = reply.send(served);
            }
        });
        for _ in 0..calls {
            tokio::time::sleep(BARE_CALL_SLEEP).await;
            let (reply, answer) = tokio::sync::oneshot::channel();
            requests.send(reply).await.expect("the server task runs");
            answer.await.expect("the server task replies");
        }
        drop(requests);
        server.await.expect("the server task ends");
    }

    fn micros_per(wall: Duration, calls: u64) -> f64 {
        wall.as_secs_f64() * 1e6 / calls.max(1) as f64
    }

    /// The process's peak resident set so far (`VmHWM`), in KiB; 0 where /proc is missing.
    fn peak_rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
    }
}
