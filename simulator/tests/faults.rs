//! Every fault kind does something: alone in a plan (fixed seed and settings), it changes what
//! the run commits (the trace's digest over every written object) compared with the fault-free
//! run of the same seed, and the controller still holds every invariant under it.
//!
//! `RUSTFLAGS="--cfg madsim" cargo test -p simulator --target-dir target-madsim --test faults`

#![cfg(madsim)]

use eno::controllers::Defects;
use simulator::plan::{Fault, FaultPlan};
use simulator::scenario::Scenario;
use simulator::world::run;
use std::mem::discriminant;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The scenario and seed most examples run in.
const SCENARIO: &str = "failed-synthesis";
const SEED: u64 = 1;

/// One example of each kind, with settings strong enough to show within the scenario's first
/// seconds (where most of its writes are).
fn one_of_each() -> Vec<Fault> {
    let ms = Duration::from_millis;
    vec![
        Fault::TimeTravel { lag: 10, every: ms(700) },
        Fault::DelayedWatchEvents { lag: 3, hold: ms(1000) },
        Fault::DroppedWatchEvents { rate: 0.3 },
        Fault::DuplicateDelivery { replay: 8, every: ms(300) },
        Fault::Errors { rate: 0.2, codes: vec![500, 409] },
        Fault::TimeoutsAfterCommit { rate: 0.3 },
        Fault::WatchCloses { every: ms(300) },
        Fault::Compactions { every: ms(700) },
        Fault::PausedGc,
        Fault::Crash { at: ms(500), down: ms(1000) },
        Fault::CrashAfterWrite { nth: 4, down: ms(500) },
        Fault::StallAfterWrite { nth: 4, duration: ms(3000) },
        Fault::SecondReplica { at: ms(300) },
        Fault::ClockSkew { replica: 0, offset_millis: 20_000 },
        Fault::Latency { max: ms(20) },
        Fault::Partition { replica: 0, at: ms(200), duration: ms(2000) },
    ]
}

/// Where `fault` shows (scenario and seed). `failed-synthesis` deletes nothing, and Eno deletes
/// a symphony's compositions itself: paused garbage collection shows in a run of
/// `symphony-deletion` where the collector gets to a composition first.
fn run_for(fault: &Fault) -> (&'static str, u64) {
    match fault {
        Fault::PausedGc => ("symphony-deletion", 1),
        _ => (SCENARIO, SEED),
    }
}

fn scenario(name: &str) -> Arc<Scenario> {
    let all = Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).expect("scenarios load");
    Arc::new(all.into_iter().find(|s| s.name == name).expect("the scenario exists"))
}

#[test]
fn the_examples_cover_every_kind_the_swarm_draws() {
    let examples: Vec<_> = one_of_each().iter().map(discriminant).collect();
    for seed in 0..500 {
        for fault in FaultPlan::swarm(seed, Duration::from_secs(20)).faults {
            assert!(examples.contains(&discriminant(&fault)), "no example of {fault}");
        }
    }
}

#[test]
fn each_fault_kind_alone_changes_what_the_run_writes_and_breaks_nothing() {
    let mut unobserved = Vec::new();
    for fault in one_of_each() {
        let (name, seed) = run_for(&fault);
        let s = scenario(name);
        let baseline = run(s.clone(), seed, FaultPlan::none(), Defects::default());
        let outcome = run(s.clone(), seed, FaultPlan { faults: vec![fault.clone()] }, Defects::default());
        assert_eq!(outcome.violations, vec![], "{fault}");
        if outcome.trace.digest == baseline.trace.digest {
            unobserved.push(format!("{fault} in {name} seed {seed}"));
        }
    }
    assert!(unobserved.is_empty(), "these faults changed nothing a run writes: {unobserved:?}");
}
