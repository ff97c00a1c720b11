//! `simulate`: runs the scenarios over many seeds, each with its swarm fault plan, and reports
//! failing seeds with their (shrunk) fault plan, the violated invariant and a trace.

#[cfg(not(madsim))]
fn main() {
    eprintln!("simulate needs the simulation build: RUSTFLAGS=\"--cfg madsim\" cargo run -p simulator --bin simulate --target-dir target-madsim -- --seeds 100");
    std::process::exit(2);
}

#[cfg(madsim)]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(madsim)]
mod cli {
    use clap::Parser;
    use simulator::scenario::Scenario;
    use eno::controllers::Defects;
    use simulator::plan::FaultPlan;
    use simulator::timeline;
    use simulator::world::{check_seed, defects_named, run, DEFECTS};
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::time::Instant;

    /// Log timestamps in the running world's virtual time.
    struct VirtualTime;

    impl tracing_subscriber::fmt::time::FormatTime for VirtualTime {
        fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
            match madsim::time::TimeHandle::try_current() {
                Some(time) => write!(w, "{:>8.3}s", time.elapsed().as_secs_f64()),
                None => write!(w, "       -"),
            }
        }
    }

    #[derive(Parser)]
    #[command(about = "Deterministic simulation of Eno under seeded fault plans")]
    struct Args {
        /// Seeds per scenario (0..N).
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// Replay this one seed (prints its full trace).
        #[arg(long)]
        seed: Option<u64>,
        /// Only this scenario.
        #[arg(long)]
        scenario: Option<String>,
        /// Where the scenario files are.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))]
        dir: PathBuf,
        /// Report failures without shrinking their fault plans.
        #[arg(long)]
        no_shrink: bool,
        /// Run the controller with one deliberate defect (retry-failed-synthesis,
        /// early-finalizer-removal, unfenced-synthesis-claim, cached-create-check,
        /// set-before-prune): the checker should catch it.
        #[arg(long)]
        defect: Option<String>,
        /// Trace lines shown per failure.
        #[arg(long, default_value_t = 40)]
        trace_lines: usize,
        /// With --seed and --scenario: draw the run (the shrunk one if it fails) as an HTML
        /// timeline into this file.
        #[arg(long, requires_all = ["seed", "scenario"])]
        timeline: Option<PathBuf>,
    }

    pub fn main() -> ExitCode {
        let args = Args::parse();
        // The controllers' logs, when asked for (RUST_LOG=eno=debug), stamped with the world's
        // virtual time like the trace (the wall clock means nothing here).
        if std::env::var_os("RUST_LOG").is_some() {
            tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_timer(VirtualTime).with_writer(std::io::stderr).init();
        }
        let defects = match args.defect.as_deref().map(|n| (n, defects_named(n))) {
            None => Defects::default(),
            Some((_, Some(d))) => d,
            Some((name, None)) => {
                let known: Vec<&str> = DEFECTS.iter().map(|d| d.0).collect();
                eprintln!("error: no defect named {name:?}; known: {}", known.join(", "));
                return ExitCode::from(2);
            }
        };
        let scenarios = match Scenario::load_dir(&args.dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let selected: Vec<Scenario> = scenarios.into_iter().filter(|s| args.scenario.as_ref().is_none_or(|n| &s.name == n)).collect();
        if selected.is_empty() {
            eprintln!("error: no scenario named {:?} in {}", args.scenario.unwrap_or_default(), args.dir.display());
            return ExitCode::from(2);
        }
        let seeds: Vec<u64> = match args.seed {
            Some(s) => vec![s],
            None => (0..args.seeds).collect(),
        };
        let (mut failures, mut runs) = (0usize, 0usize);
        let started = Instant::now();
        for scenario in selected {
            let scenario = Arc::new(scenario);
            let t = Instant::now();
            let mut failed = 0;
            for (i, &seed) in seeds.iter().enumerate() {
                runs += 1;
                if args.seed.is_none() && i % 10 == 0 {
                    eprint!("\r{:<24} seed {i}/{}, {failed} failed", scenario.name, seeds.len());
                }
                // The replayed seed's run, with its plan.
                let replayed = match check_seed(&scenario, seed, defects, !args.no_shrink) {
                    Ok(outcome) if args.seed.is_some() => {
                        println!("{}", outcome.trace.lines.join("\n"));
                        Some((FaultPlan::swarm(seed, scenario.faults_until.0), outcome))
                    }
                    Ok(_) => None,
                    Err(failure) => {
                        failed += 1;
                        println!("{}", failure.report(args.trace_lines));
                        args.seed.is_some().then(|| {
                            let plan = failure.shrunk.as_ref().map_or(failure.plan.clone(), |(p, _)| p.clone());
                            let full = run(scenario.clone(), seed, plan.clone(), defects);
                            println!("full trace:\n{}", full.trace.lines.join("\n"));
                            (plan, full)
                        })
                    }
                };
                if let (Some(path), Some((plan, outcome))) = (&args.timeline, &replayed) {
                    if let Err(e) = std::fs::write(path, timeline::of_outcome(&scenario, seed, args.defect.as_deref(), plan, outcome)) {
                        eprintln!("error: writing the timeline to {}: {e}", path.display());
                        return ExitCode::from(2);
                    }
                    eprintln!("timeline: {}", path.display());
                }
            }
            failures += failed;
            if args.seed.is_none() {
                eprint!("\r{:<60}\r", "");
            }
            println!("{:<24} {} seeds, {failed} failed, {:.1?}", scenario.name, seeds.len(), t.elapsed());
        }
        println!("summary: {runs} runs, {failures} failed, {:.1?}", started.elapsed());
        if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}
