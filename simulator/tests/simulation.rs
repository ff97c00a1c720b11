//! The simulator's CI: every scenario over a seed budget with swarm fault plans, determinism of
//! each scenario, fault-free trace snapshots, and the deliberate defects the checker must catch.
//!
//! `RUSTFLAGS="--cfg madsim" cargo test -p simulator --target-dir target-madsim`
//! (`SIM_SEEDS=N` changes the per-scenario budget.)

#![cfg(madsim)]

use eno::controllers::Defects;
use simulator::plan::FaultPlan;
use simulator::scenario::Scenario;
use simulator::world::{check_seed, defects_named, run, DEFECTS};
use std::path::Path;
use std::sync::Arc;

/// Seeds per scenario in CI: measured at about 0.1 s each on one core of the CI machine (see
/// BENCHMARKS.md), so all scenarios stay within a couple of minutes on two cores.
const CI_SEEDS: u64 = 200;

fn scenarios() -> Vec<Arc<Scenario>> {
    let all = Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).expect("scenarios load");
    all.into_iter().map(Arc::new).collect()
}

fn scenario(name: &str) -> Arc<Scenario> {
    scenarios().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

#[test]
fn every_scenario_holds_its_invariants_for_the_seed_budget() {
    let seeds = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(CI_SEEDS);
    let all = scenarios();
    assert!(all.len() >= 3, "expected the composition scenarios, found {}", all.len());
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .iter()
            .map(|s| {
                scope.spawn(move || {
                    (0..seeds).filter_map(|seed| check_seed(s, seed, Defects::default(), true).err().map(|f| f.report(60))).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("scenario thread")).collect()
    });
    assert!(failures.is_empty(), "{} failing seeds:\n{}", failures.len(), failures.join("\n"));
}

/// Every this many seeds of the budget is run twice for the determinism check.
const REPLAY_EVERY: usize = 10;

#[test]
fn the_same_seed_replays_the_same_trace() {
    let seeds = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(CI_SEEDS);
    let all = scenarios();
    let diverged: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .iter()
            .map(|s| {
                scope.spawn(move || {
                    let mut diverged = Vec::new();
                    for seed in (0..seeds).step_by(REPLAY_EVERY) {
                        let plan = FaultPlan::swarm(seed, s.faults_until.0);
                        let first = run(s.clone(), seed, plan.clone(), Defects::default());
                        let second = run(s.clone(), seed, plan.clone(), Defects::default());
                        assert!(first.trace.lines.len() > 10, "{} seed {seed}: almost no writes", s.name);
                        if first.trace != second.trace {
                            let at = first.trace.lines.iter().zip(&second.trace.lines).position(|(a, b)| a != b);
                            diverged.push(format!("{} seed {seed} ({plan}): traces diverge at line {at:?}", s.name));
                        }
                    }
                    diverged
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("scenario thread")).collect()
    });
    assert!(diverged.is_empty(), "{}", diverged.join("\n"));
}

#[test]
fn fault_free_traces_match_their_snapshots() {
    for s in scenarios() {
        let outcome = run(s.clone(), 1, FaultPlan::none(), Defects::default());
        assert_eq!(outcome.violations, vec![], "{}: the fault-free run must pass", s.name);
        insta::with_settings!({
            snapshot_path => "../../snapshots/simulator",
            prepend_module_to_snapshot => false,
            description => s.description.trim(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(s.name.clone(), outcome.trace.writes());
        });
    }
}

/// Seeds searched for each defect before giving up. Most are caught within a few seeds; the
/// stale-cache defects need the right interleaving, which any change in the controller's reads
/// moves (cached-symphony-list: seed 55, then 231 once self-healing added a read).
const DEFECT_SEEDS: u64 = 400;

/// Defects the swarm catches too rarely for [`DEFECT_SEEDS`] to find them reliably, with
/// budgets that do. Both need replica 0 to stall right after one particular write:
/// `run-late-claims` after a claim write, for longer than the claim's expiry (11 of 1,200
/// stalled-runner seeds catch it, 0.9%: 400 seeds would miss it once in 40 changes that move
/// the interleavings, 1,500 once in a million); `slot-timed-from-answer` after taking the
/// rollout slot while another synthesizer's rollout waits for it (3 of 1,200 rollout-cooldown
/// seeds, 0.25%: 3,000 seeds miss it once in 1,800). Only a late catch pays for the larger
/// budget: the search stops at the first.
const RARE_DEFECT_SEEDS: &[(&str, u64)] = &[("run-late-claims", 1_500), ("slot-timed-from-answer", 3_000)];

/// The seeds searched for defect `name`.
fn defect_budget(name: &str) -> u64 {
    RARE_DEFECT_SEEDS.iter().find(|(rare, _)| *rare == name).map_or(DEFECT_SEEDS, |&(_, seeds)| seeds)
}

#[test]
fn each_deliberate_defect_is_caught_shrunk_and_reported() {
    // Two defects at a time (the CI machine has two cores); each panics on its own thread.
    for pair in DEFECTS.chunks(2) {
        std::thread::scope(|scope| {
            for &(name, scenario_name, invariant) in pair {
                scope.spawn(move || catch(name, scenario_name, invariant));
            }
        });
    }
}

/// Searches the seed budget for a run of `scenario_name` where defect `name` breaks
/// `invariant`, then checks the failure shrinks to a 1-minimal plan and reports what a person
/// needs to replay it. Prints the time to the first failure (BENCHMARKS.md records them).
fn catch(name: &str, scenario_name: &str, invariant: simulator::invariants::Invariant) {
    let defects = defects_named(name).expect("known defect");
    let s = scenario(scenario_name);
    let started = std::time::Instant::now();
    let budget = defect_budget(name);
    let found = (0..budget).find_map(|seed| {
        // The first violation: the one the report shows.
        check_seed(&s, seed, defects, false).err().filter(|f| f.outcome.first_violation().is_some_and(|v| v.invariant == invariant)).map(|f| f.seed)
    });
    let seed = found.unwrap_or_else(|| panic!("defect {name} not caught in {budget} seeds of {scenario_name}"));
    let searched = started.elapsed();
    let failure = check_seed(&s, seed, defects, true).expect_err("the failing seed replays");
    let (shrunk, outcome) = failure.shrunk.clone().expect("shrunk");
    let kind = std::mem::discriminant::<simulator::plan::Fault>;
    assert!(shrunk.faults.iter().all(|f| failure.plan.faults.iter().any(|p| kind(p) == kind(f))), "{name}: shrinking removes or reduces faults, never adds");
    assert!(shrunk.faults.len() <= failure.plan.faults.len());
    assert!(outcome.violations.iter().any(|v| v.invariant == invariant), "{name}: the shrunk plan breaks the same invariant");
    // 1-minimal: without any one of its faults the shrunk plan no longer breaks the invariant.
    for i in 0..shrunk.faults.len() {
        let mut fewer = shrunk.clone();
        let dropped = fewer.faults.remove(i);
        let rerun = run(s.clone(), seed, fewer, defects);
        assert!(!rerun.violations.iter().any(|v| v.invariant == invariant), "{name}: the shrunk plan still fails without {dropped}, so it is not minimal");
    }
    let report = failure.report(20);
    assert!(report.contains(&format!("seed {seed}")) && report.contains(&invariant.to_string()) && report.contains("shrunk to:"), "{report}");
    assert!(report.contains(&format!("--defect {name}")), "the replay line names the defect: {report}");
    eprintln!("{name}: caught by seed {seed} ({} seeds, {searched:.1?}), shrunk to: {shrunk}\n{report}", seed + 1);
}

#[test]
fn the_correct_controller_passes_the_defect_seeds() {
    // The seeds that catch the defects are not failing for some other reason.
    for &(_, scenario_name, _) in DEFECTS {
        let s = scenario(scenario_name);
        for seed in 0..10 {
            if let Err(f) = check_seed(&s, seed, Defects::default(), false) {
                panic!("{}", f.report(40));
            }
        }
    }
}

/// Runs the simulator once found failing, each with the minimal plan it shrank to: they must
/// pass now that the controller is fixed.
const REGRESSIONS: &[(&str, u64, &str, &str)] = &[
    (
        "deleted-mid-synthesis",
        189,
        "a replica whose clock runs 20 s ahead took over a live synthesis claim (claims now expire by watched time)",
        "faults:\n  - kind: secondReplica\n    at: 0\n  - kind: clockSkew\n    replica: 1\n    offsetMillis: 19777\n",
    ),
    (
        "symphony-rapid-flip",
        46,
        "the same, between the scenario's two replicas",
        "faults:\n  - kind: latency\n    max: 1\n  - kind: clockSkew\n    replica: 0\n    offsetMillis: 20981\n",
    ),
    (
        "symphony-migration",
        11,
        "a symphony writing the composition while its synthesis was recorded failed the recording's resourceVersion test, and the pass re-ran the synthesizer once the claim expired",
        "faults:\n  - kind: delayedWatchEvents\n    lag: 1\n    hold: 3191\n  - kind: latency\n    max: 43\n",
    ),
    (
        "deleted-mid-synthesis",
        511,
        "the runner wrote a slice for a composition deleted while its synthesizer ran; the composition was gone by the time the slice landed, and nothing released the slice's finalizer (found by the 100,000-seed sweep)",
        "faults:\n  - {kind: timeTravel, lag: 9, every: 2543}\n  - {kind: droppedWatchEvents, rate: 0.26}\n  - {kind: errors, rate: 0.2, codes: [503]}\n  - {kind: compactions, every: 1999}\n  - {kind: latency, max: 40}\n  - {kind: crashAfterWrite, nth: 25, down: 2360}\n",
    ),
    (
        "symphony-deletion",
        767,
        "a composition of the deleting symphony released its finalizer on a slice cache that had travelled back to before its newest slice, which then held its finalizer forever (slices left holding it are now released once their composition is confirmed gone; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 16, every: 3866}\n  - {kind: droppedWatchEvents, rate: 0.15}\n  - {kind: errors, rate: 0.12, codes: [504]}\n",
    ),
    (
        "output-change",
        2846,
        "the API server failed every try to persist a synthesis's output; the pass gave up, and its synthesizer ran again once the claim expired (a pass that gives up now leaves its run for the next pass to resume; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 1, every: 42064}\n  - {kind: delayedWatchEvents, lag: 3, hold: 1832}\n  - {kind: errors, rate: 0.19, codes: [504]}\n  - {kind: timeoutsAfterCommit, rate: 0.02}\n  - {kind: watchCloses, every: 46192}\n  - {kind: compactions, every: 638}\n  - {kind: crashAfterWrite, nth: 8, down: 0}\n",
    ),
    (
        "output-change",
        4538,
        "a split-brain replica whose caches lagged seconds behind patched a resource back to an older synthesis's content after the other had converged it, and nothing looked at it again (resource patches are now fenced on the composition read uncached, like creations and deletions; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 19, every: 2775}\n  - {kind: droppedWatchEvents, rate: 0.09}\n  - {kind: errors, rate: 0.15, codes: [503]}\n  - {kind: watchCloses, every: 399}\n  - {kind: secondReplica, at: 0}\n  - {kind: latency, max: 28}\n  - {kind: crashAfterWrite, nth: 21, down: 1896}\n",
    ),
    (
        "symphony-rapid-flip",
        1507,
        "two replicas whose slice caches disagreed rewrote each other's composition status, thousands of times within a second (a status change is now decided on the slices read uncached; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 1, every: 778}\n  - {kind: errors, rate: 0.13, codes: [500]}\n  - {kind: timeoutsAfterCommit, rate: 0.18}\n  - {kind: watchCloses, every: 2605}\n  - {kind: crashAfterWrite, nth: 11, down: 732}\n",
    ),
    (
        "output-change",
        3561,
        "a split-brain replica whose cache still held an older synthesis created a resource the current synthesis had removed (creations are now fenced on the current synthesis like patches and deletions; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 14, every: 4284}\n  - {kind: errors, rate: 0.15, codes: [429, 500]}\n  - {kind: timeoutsAfterCommit, rate: 0.06}\n  - {kind: watchCloses, every: 1559}\n  - {kind: secondReplica, at: 13362}\n  - {kind: latency, max: 45}\n",
    ),
    (
        "foreign-finalizers",
        5825,
        "a replica whose clock ran 15 s behind took over an expired claim with the same whole-second claim time, so a second takeover passed the claim's test too and two runs of one synthesis overlapped (a claim's time now always moves forward; found by the sweep)",
        "faults:\n  - {kind: delayedWatchEvents, lag: 4, hold: 2262}\n  - {kind: timeoutsAfterCommit, rate: 0.2}\n  - {kind: secondReplica, at: 14226}\n  - {kind: latency, max: 48}\n  - {kind: clockSkew, replica: 0, offsetMillis: -15052}\n",
    ),
    (
        "foreign-finalizers",
        3580,
        "two replicas, one of whose synthesizer caches had lost the synthesizer, rewrote each other's simplified status thousands of times within a second (a status change now reads the synthesizer uncached too; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 10, every: 1293}\n  - {kind: delayedWatchEvents, lag: 5, hold: 2329}\n  - {kind: droppedWatchEvents, rate: 0.06}\n  - {kind: errors, rate: 0.18, codes: [429, 500]}\n  - {kind: crash, at: 9085, down: 2544}\n  - {kind: crash, at: 8737, down: 500}\n  - {kind: crashAfterWrite, nth: 16, down: 2215}\n",
    ),
    (
        "failed-synthesis",
        1866,
        "a composition cache that missed a dropped event stayed stale after the faults stopped: its watcher resumed above the compaction meant to make it relist (the simulator's cache healing now also expires every open watch; found by the sweep)",
        "faults:\n  - {kind: droppedWatchEvents, rate: 0.09}\n  - {kind: errors, rate: 0.07, codes: [503, 504]}\n  - {kind: timeoutsAfterCommit, rate: 0.13}\n  - {kind: watchCloses, every: 1447}\n  - {kind: crash, at: 10146, down: 2963}\n  - {kind: crash, at: 10342, down: 2975}\n  - {kind: crash, at: 7661, down: 1352}\n  - {kind: latency, max: 48}\n  - {kind: duplicateDelivery, replay: 1, every: 454}\n",
    ),
    (
        "drift",
        8398,
        "a resource whose passes failed through the fault window backed off past the deadline (scenario deadlines now leave the longest retry backoff after the faults; found by the sweep)",
        "faults:\n  - {kind: timeTravel, lag: 16, every: 3044}\n  - {kind: delayedWatchEvents, lag: 3, hold: 1561}\n  - {kind: errors, rate: 0.19, codes: [409, 429]}\n  - {kind: compactions, every: 3813}\n  - {kind: latency, max: 10}\n  - {kind: duplicateDelivery, replay: 3, every: 1231}\n  - {kind: clockSkew, replica: 0, offsetMillis: -325}\n",
    ),
    (
        "resynthesis-churn",
        108,
        "the runner ran a synthesis started for an older spec with the newer one, which the composition controller then superseded and ran again (a synthesis whose spec has moved on is now left to be superseded)",
        "faults:\n  - {kind: timeTravel, lag: 9, every: 955}\n  - {kind: delayedWatchEvents, lag: 1, hold: 307}\n  - {kind: errors, rate: 0.18, codes: [504]}\n  - {kind: watchCloses, every: 586}\n  - {kind: crash, at: 4655, down: 0}\n  - {kind: crash, at: 4571, down: 0}\n",
    ),
    (
        "deleted-mid-synthesis",
        11900,
        "the same, under time travel and duplicate delivery",
        "faults:\n  - {kind: timeTravel, lag: 15, every: 1563}\n  - {kind: droppedWatchEvents, rate: 0.28}\n  - {kind: errors, rate: 0.16, codes: [504]}\n  - {kind: watchCloses, every: 925}\n  - {kind: duplicateDelivery, replay: 5, every: 548}\n",
    ),
    (
        "depends-on",
        2122,
        "a read of a ready resource answered 409 was shown on its slice as a refusal, which took its composition's readiness away while a dependent started on it (a conflict is now a race on every request, never a refusal; found by the 22-scenario sweep)",
        "faults:\n  - {kind: timeTravel, lag: 17, every: 959}\n  - {kind: errors, rate: 0.19, codes: [409, 429, 500]}\n  - {kind: timeoutsAfterCommit, rate: 0.03}\n  - {kind: watchCloses, every: 1301}\n  - {kind: compactions, every: 3245}\n  - {kind: crash, at: 26655, down: 0}\n  - {kind: crash, at: 36976, down: 0}\n  - {kind: crash, at: 18791, down: 589}\n  - {kind: secondReplica, at: 2935}\n  - {kind: latency, max: 29}\n  - {kind: duplicateDelivery, replay: 7, every: 1181}\n  - {kind: crashAfterWrite, nth: 13, down: 0}\n  - {kind: partition, replica: 1, at: 27965, duration: 13201}\n",
    ),
    (
        "deleted-mid-synthesis",
        2654,
        "a replica cut off from the API server for 18 s held a synthesis claim until it expired and the other replica ran the synthesis again, which the checker counted as one run too many (a partition now allows a takeover, as a crash does; found by the 22-scenario sweep)",
        "faults:\n  - {kind: timeTravel, lag: 1, every: 59552}\n  - {kind: droppedWatchEvents, rate: 0.29}\n  - {kind: errors, rate: 0.14, codes: [429]}\n  - {kind: watchCloses, every: 1424}\n  - {kind: compactions, every: 39248}\n  - {kind: secondReplica, at: 879}\n  - {kind: latency, max: 30}\n  - {kind: duplicateDelivery, replay: 1, every: 2767}\n  - {kind: crashAfterWrite, nth: 8, down: 0}\n  - {kind: partition, replica: 0, at: 4628, duration: 18204}\n",
    ),
    (
        "rollout-cooldown",
        2030,
        "a replica back from a partition, its synthesizer cache behind, wrote its compositions' status from the fresh synthesizer without the rollout halt the other replica showed, and the two rewrote it thousands of times within a second (a status is no longer written from a synthesizer newer than the one the pass decided on; found by the 22-scenario sweep)",
        "faults:\n  - {kind: timeTravel, lag: 13, every: 3705}\n  - {kind: delayedWatchEvents, lag: 5, hold: 695}\n  - {kind: partition, replica: 0, at: 8714, duration: 20158}\n",
    ),
    (
        "paced-rollouts",
        86,
        "two rollouts sharing the slot with a 1 s cooldown never moved: the taker's window (a tenth of the cooldown, timed from sending its take) was used up by slow requests every time, and it took the slot again (the window is now at least 250 ms)",
        "faults:\n- kind: delayedWatchEvents\n  lag: 2\n  hold: 1042\n- kind: errors\n  rate: 0.06\n  codes:\n  - 429\n  - 500\n- kind: timeoutsAfterCommit\n  rate: 0.17\n- kind: crash\n  at: 3082\n  down: 950\n- kind: crash\n  at: 36907\n  down: 2515\n- kind: latency\n  max: 47\n- kind: duplicateDelivery\n  replay: 3\n  every: 1455\n- kind: clockSkew\n  replica: 1\n  offsetMillis: 7123\n- kind: partition\n  replica: 1\n  at: 41413\n  duration: 6763\n",
    ),
    (
        "rollout-cooldown",
        51,
        "a replica stalled 18.5 s right after its claim write woke up after the other replica had taken the expired claim over and finished the synthesis, and ran the synthesizer on its stale claim (a claim answered past its margin is no longer run on; found by the first sweep with stalls)",
        "faults:\n- kind: timeTravel\n  lag: 10\n  every: 3672\n- kind: droppedWatchEvents\n  rate: 0.12\n- kind: errors\n  rate: 0.14\n  codes:\n  - 429\n  - 500\n  - 503\n  - 504\n- kind: watchCloses\n  every: 1560\n- kind: crash\n  at: 44028\n  down: 1729\n- kind: latency\n  max: 3\n- kind: duplicateDelivery\n  replay: 6\n  every: 985\n- kind: stallAfterWrite\n  nth: 18\n  duration: 18547\n",
    ),
    (
        "rollout-cooldown",
        99,
        "a replica stalled mid-run while the other replica took the expired claim over: the checker counted the frozen run as still in progress, though a synthesizer runs apart from its controller (a run a stalled replica waits on is now over at the stall; found by the first sweep with stalls)",
        "faults:\n- kind: errors\n  rate: 0.18\n  codes:\n  - 409\n  - 504\n- kind: compactions\n  every: 3704\n- kind: duplicateDelivery\n  replay: 1\n  every: 1715\n- kind: crashAfterWrite\n  nth: 36\n  down: 1824\n- kind: stallAfterWrite\n  nth: 12\n  duration: 20248\n",
    ),
    (
        "rollout-cooldown",
        767,
        "a replica stalled right after taking the rollout slot started its synthesis on waking, 1.6 s after the other replica's deferred start, because its window ran from the take's answer (the window now runs from sending the take; found by the sweep with stalls)",
        "faults:\n- kind: timeTravel\n  lag: 16\n  every: 3866\n- kind: droppedWatchEvents\n  rate: 0.15\n- kind: errors\n  rate: 0.12\n  codes:\n  - 429\n  - 500\n  - 504\n- kind: pausedGc\n- kind: crash\n  at: 2627\n  down: 944\n- kind: crash\n  at: 37307\n  down: 971\n- kind: crash\n  at: 34068\n  down: 2590\n- kind: secondReplica\n  at: 51076\n- kind: crashAfterWrite\n  nth: 38\n  down: 815\n- kind: stallAfterWrite\n  nth: 33\n  duration: 4361\n",
    ),
];

#[test]
fn runs_that_once_failed_pass() {
    for &(scenario_name, seed, what, plan) in REGRESSIONS {
        let plan: FaultPlan = serde_saphyr::from_str(plan).unwrap_or_else(|e| panic!("{scenario_name} seed {seed}: plan does not parse: {e}"));
        let outcome = run(scenario(scenario_name), seed, plan.clone(), Defects::default());
        assert_eq!(outcome.violations, vec![], "{scenario_name} seed {seed} ({plan}): {what}");
    }
}
