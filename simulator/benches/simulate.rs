//! How long each deliberate defect takes to be caught (time to first failure). Throughput per
//! scenario, beside madsim's own floor, is the `bench` binary's (`src/bin/bench.rs`).
//!
//! `RUSTFLAGS="--cfg madsim" cargo bench -p simulator --bench simulate --target-dir target-madsim`

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
    use std::time::Instant;

    let scenarios: Vec<Arc<Scenario>> = Scenario::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"))
        .expect("scenarios load")
        .into_iter()
        .map(Arc::new)
        .collect();

    println!("{:<26} {:<24} {:>14} {:>12}", "defect", "scenario", "seeds to fail", "wall");
    for &(name, scenario_name, invariant) in DEFECTS {
        let Some(s) = scenarios.iter().find(|s| s.name == scenario_name) else { continue };
        let defects = defects_named(name).expect("known defect");
        let start = Instant::now();
        let found = (0..1000u64).find(|&seed| {
            // The first violation, as the CI test counts it (the one a report shows).
            run(s.clone(), seed, FaultPlan::swarm(seed, s.faults_until.0), defects).first_violation().is_some_and(|v| v.invariant == invariant)
        });
        let shown = found.map_or("not found".to_string(), |seed| (seed + 1).to_string());
        println!("{name:<26} {scenario_name:<24} {shown:>14} {:>12.2?}", start.elapsed());
    }
}
