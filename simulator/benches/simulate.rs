//! Simulator throughput: seeds per second and virtual-to-wall time per scenario, and how long
//! each deliberate defect takes to be caught (time to first failure).
//!
//! `RUSTFLAGS="--cfg madsim" cargo bench -p simulator --bench simulate --target-dir target-madsim`
//! (`SIM_BENCH_SEEDS=N` seeds per scenario, default 100).

#[cfg(not(madsim))]
fn main() {
    eprintln!("the simulator benchmark needs the simulation build: RUSTFLAGS=\"--cfg madsim\" cargo bench -p simulator --bench simulate --target-dir target-madsim");
}

#[cfg(madsim)]
fn main() {
    use simulator::plan::FaultPlan;
    use simulator::scenario::Scenario;
    use simulator::world::{defects_named, run, DEFECTS};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let seeds: u64 = std::env::var("SIM_BENCH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let scenarios: Vec<Arc<Scenario>> = Scenario::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"))
        .expect("scenarios load")
        .into_iter()
        .map(Arc::new)
        .collect();

    println!("{:<24} {:>6} {:>10} {:>14} {:>9}", "scenario", "seeds", "seeds/s", "virtual/wall", "failures");
    for s in &scenarios {
        let start = Instant::now();
        let (mut virtual_time, mut failures) = (Duration::ZERO, 0);
        for seed in 0..seeds {
            let outcome = run(s.clone(), seed, FaultPlan::swarm(seed, s.faults_until.0), Default::default());
            virtual_time += outcome.virtual_time;
            failures += usize::from(!outcome.violations.is_empty());
        }
        let wall = start.elapsed();
        println!("{:<24} {seeds:>6} {:>10.1} {:>13.0}x {failures:>9}", s.name, seeds as f64 / wall.as_secs_f64(), virtual_time.as_secs_f64() / wall.as_secs_f64());
    }

    println!();
    println!("{:<26} {:<24} {:>14} {:>12}", "defect", "scenario", "seeds to fail", "wall");
    for &(name, scenario_name, invariant) in DEFECTS {
        let Some(s) = scenarios.iter().find(|s| s.name == scenario_name) else { continue };
        let defects = defects_named(name).expect("known defect");
        let start = Instant::now();
        let found = (0..1000u64).find(|&seed| {
            run(s.clone(), seed, FaultPlan::swarm(seed, s.faults_until.0), defects).violations.iter().any(|v| v.invariant == invariant)
        });
        let shown = found.map_or("not found".to_string(), |seed| (seed + 1).to_string());
        println!("{name:<26} {scenario_name:<24} {shown:>14} {:>12.2?}", start.elapsed());
    }
}
