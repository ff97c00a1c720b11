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
    use simulator::world::{check_seed, defects_named, run, DEFECTS};
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
        /// Run the controller with one deliberate defect (retry-failed-synthesis,
        /// early-finalizer-removal, unfenced-synthesis-claim, cached-create-check,
        /// set-before-prune): the checker should catch it.
        #[arg(long)]
        defect: Option<String>,
        /// Trace lines shown per failure.
        #[arg(long, default_value_t = 40)]
        trace_lines: usize,
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
            None => args.seeds.clone().collect(),
        };
        let (mut failures, mut runs) = (0usize, 0usize);
        let started = Instant::now();
        for scenario in selected {
            let scenario = Arc::new(scenario);
            let t = Instant::now();
            let mut failed = 0;
            let check = |seed| check_seed(&scenario, seed, defects, !args.no_shrink);
            in_seed_order(&seeds, args.jobs as usize, check, |i, result| {
                runs += 1;
                if args.seed.is_none() && i % 10 == 0 {
                    eprint!("\r{:<24} seed {i}/{}, {failed} failed", scenario.name, seeds.len());
                }
                match result {
                    Ok(outcome) if args.seed.is_some() => {
                        println!("{}", outcome.trace.lines.join("\n"));
                        println!("digest: {:016x}", outcome.trace.digest);
                    }
                    Ok(_) => {}
                    Err(failure) => {
                        failed += 1;
                        println!("{}", failure.report(args.trace_lines));
                        if args.seed.is_some() {
                            let plan = failure.shrunk.as_ref().map_or(failure.plan.clone(), |(p, _)| p.clone());
                            let full = run(scenario.clone(), failure.seed, plan, defects);
                            println!("full trace:\n{}\ndigest: {:016x}", full.trace.lines.join("\n"), full.trace.digest);
                        }
                    }
                }
            });
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
