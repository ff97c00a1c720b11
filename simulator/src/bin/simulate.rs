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
    use simulator::plan::FaultPlan;
    use simulator::timeline;
    use simulator::world::{check_plan, defect_names, defects_named, run, Failure};
    use std::collections::BTreeMap;
    use std::ops::Range;
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};
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
        /// Seeds per scenario: N (meaning 0..N) or a range A..B, so a large sweep can be split
        /// across CI jobs.
        #[arg(long, default_value = "100", value_parser = parse_seeds)]
        seeds: Range<u64>,
        /// Seeds run at once, each world on a thread of its own; output stays in seed order.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        jobs: u64,
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
        /// Run the controller with one deliberate defect: the checker should catch it (the
        /// simulator README says what each one breaks).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(defect_names()))]
        defect: Option<String>,
        /// Trace lines shown per failure.
        #[arg(long, default_value_t = 40)]
        trace_lines: usize,
        /// With --seed and --scenario: replay this saved fault plan (YAML, as a failing seed
        /// writes it) instead of the seed's swarm plan.
        #[arg(long, requires_all = ["seed", "scenario"])]
        plan: Option<PathBuf>,
        /// Where each failing seed's minimal fault plan is written, as
        /// `<scenario>-seed-<N>.yaml`, for `--plan`.
        #[arg(long, default_value = "target/simulator-failures")]
        failures_dir: PathBuf,
        /// With --seed and --scenario: draw the run (the shrunk one if it fails) as an HTML
        /// timeline into this file.
        #[arg(long, requires_all = ["seed", "scenario"])]
        timeline: Option<PathBuf>,
    }

    /// `N` (0..N) or `A..B`.
    fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
        let number = |n: &str| n.trim().parse::<u64>().map_err(|e| format!("{n:?}: {e}"));
        match s.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(format!("empty range {s}: {a} is above {b}"));
                }
                Ok(a..b)
            }
            None => Ok(0..number(s)?),
        }
    }

    /// Runs `check` over `seeds` on `jobs` threads and hands each result to `report` in seed
    /// order (results that finish early wait for the seeds before them), so the output does
    /// not depend on the thread count.
    /// A fault plan saved by an earlier failing run.
    fn read_plan(path: &std::path::Path) -> Result<FaultPlan, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading the plan {}: {e}", path.display()))?;
        serde_saphyr::from_str(&text).map_err(|e| format!("the plan {} does not parse: {e}", path.display()))
    }

    /// Writes the failure's minimal plan under `dir`; its path.
    fn save_plan(dir: &std::path::Path, failure: &Failure) -> Result<PathBuf, String> {
        let path = dir.join(format!("{}-seed-{}.yaml", failure.scenario, failure.seed));
        let yaml = serde_saphyr::to_string(failure.minimal_plan()).map_err(|e| format!("saving the plan: {e}"))?;
        std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, yaml)).map_err(|e| format!("saving the plan to {}: {e}", path.display()))?;
        Ok(path)
    }

    fn in_seed_order<T: Send>(seeds: &[u64], jobs: usize, check: impl Fn(u64) -> T + Sync, mut report: impl FnMut(usize, T)) {
        let next = AtomicUsize::new(0);
        let (done, results) = mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(seeds.len()) {
                let (next, done, check) = (&next, done.clone(), &check);
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&seed) = seeds.get(i) else { return };
                        if done.send((i, check(seed))).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done);
            let mut waiting = BTreeMap::new();
            let mut reported = 0;
            for (i, result) in results {
                waiting.insert(i, result);
                while let Some(result) = waiting.remove(&reported) {
                    report(reported, result);
                    reported += 1;
                }
            }
        });
    }

    pub fn main() -> ExitCode {
        let args = Args::parse();
        // The controllers' logs, when asked for (RUST_LOG=eno=debug), stamped with the world's
        // virtual time like the trace (the wall clock means nothing here).
        if std::env::var_os("RUST_LOG").is_some() {
            tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_timer(VirtualTime).with_writer(std::io::stderr).init();
        }
        // The argument's parser admits only the defects' names.
        let defects = args.defect.as_deref().and_then(defects_named).unwrap_or_default();
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
            None => args.seeds.clone().collect(),
        };
        let saved_plan = match args.plan.as_deref().map(read_plan).transpose() {
            Ok(plan) => plan,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let (mut failures, mut runs) = (0usize, 0usize);
        let started = Instant::now();
        for scenario in selected {
            let scenario = Arc::new(scenario);
            let t = Instant::now();
            let mut failed = 0;
            let plan_of = |seed| saved_plan.clone().unwrap_or_else(|| FaultPlan::swarm(seed, scenario.faults_until.0));
            let check = |seed| (seed, check_plan(&scenario, seed, plan_of(seed), defects, !args.no_shrink));
            let mut trouble = None;
            in_seed_order(&seeds, args.jobs as usize, check, |i, (seed, result)| {
                runs += 1;
                if args.seed.is_none() && i % 10 == 0 {
                    eprint!("\r{:<24} seed {i}/{}, {failed} failed", scenario.name, seeds.len());
                }
                // The replayed seed's run (the shrunk one if it failed), with its plan.
                let replayed = match result {
                    Ok(outcome) => Some((plan_of(seed), outcome)),
                    Err(failure) => {
                        failed += 1;
                        let saved = save_plan(&args.failures_dir, &failure).map_err(|e| eprintln!("warning: {e}")).ok();
                        println!("{}", failure.report_with(args.trace_lines, saved.as_deref()));
                        let plan = failure.minimal_plan().clone();
                        args.seed.is_some().then(|| {
                            let full = run(scenario.clone(), seed, plan.clone(), defects);
                            println!("full trace:");
                            (plan, full)
                        })
                    }
                };
                let Some((plan, outcome)) = replayed.filter(|_| args.seed.is_some()) else { return };
                println!("{}\ndigest: {:016x}", outcome.trace.lines.join("\n"), outcome.trace.digest);
                if let Some(path) = &args.timeline {
                    match std::fs::write(path, timeline::of_outcome(&scenario, seed, args.defect.as_deref(), &plan, &outcome)) {
                        Ok(()) => eprintln!("timeline: {}", path.display()),
                        Err(e) => trouble = Some(format!("writing the timeline to {}: {e}", path.display())),
                    }
                }
            });
            if let Some(e) = trouble {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            failures += failed;
            if args.seed.is_none() {
                eprint!("\r{:<60}\r", "");
            }
            println!("{:<24} {} seeds, {failed} failed, {:.1?}", scenario.name, seeds.len(), t.elapsed());
        }
        let wall = started.elapsed();
        println!("summary: {runs} runs, {failures} failed, {wall:.1?}, {:.1} seeds/s", runs as f64 / wall.as_secs_f64());
        if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}
