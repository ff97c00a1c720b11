//! Shrinking a failing fault plan, by re-running the same seed with less of it: delta debugging
//! (Zeller's ddmin) for the smallest subset of its faults that still fails, then each remaining
//! fault reduced (rates, lags, durations and counts halved, crashes moved earlier, skews towards
//! zero; [`Fault::smaller`]) while it still fails.

use crate::plan::{Fault, FaultPlan};

/// The most runs [`shrink_plan`] spends reducing faults once ddmin is done.
pub const MAX_REDUCTION_RUNS: usize = 40;

/// A smaller plan for which `fails` still holds (`fails(plan)` must hold): ddmin over its faults,
/// then, fault by fault, the first smaller version that still fails replaces it, again and again
/// (within [`MAX_REDUCTION_RUNS`] runs), and a last ddmin keeps the result 1-minimal (a
/// reduced fault may make another one unnecessary). Deterministic: same plan and predicate,
/// same candidates in the same order.
pub fn shrink_plan(plan: &FaultPlan, mut fails: impl FnMut(&FaultPlan) -> bool) -> FaultPlan {
    let mut fails_with = |faults: &[Fault]| fails(&FaultPlan { faults: faults.to_vec() });
    let mut faults = ddmin(&plan.faults, &mut fails_with);
    let mut runs = 0;
    let mut reduced = false;
    for i in 0..faults.len() {
        'reduce: loop {
            for candidate in faults[i].smaller() {
                if runs == MAX_REDUCTION_RUNS {
                    break 'reduce;
                }
                runs += 1;
                let mut trial = faults.clone();
                trial[i] = candidate;
                if fails_with(&trial) {
                    faults = trial;
                    reduced = true;
                    continue 'reduce;
                }
            }
            break;
        }
    }
    if reduced {
        faults = ddmin(&faults, &mut fails_with);
    }
    FaultPlan { faults }
}

/// A 1-minimal sublist of `items` for which `fails` holds (`fails(items)` must hold). `fails`
/// is called on candidate sublists, preserving order.
pub fn ddmin<T: Clone>(items: &[T], mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    // A seed that fails with no faults at all needs none.
    if items.is_empty() || fails(&[]) {
        return Vec::new();
    }
    let mut current = items.to_vec();
    let mut granularity = 2usize;
    while current.len() >= 2 {
        let chunk = current.len().div_ceil(granularity);
        let chunks: Vec<Vec<T>> = current.chunks(chunk).map(<[T]>::to_vec).collect();
        let mut reduced = false;
        // A chunk alone fails: keep just it.
        for c in &chunks {
            if fails(c) {
                current = c.clone();
                granularity = 2;
                reduced = true;
                break;
            }
        }
        // Without some chunk it still fails: drop that chunk (with two chunks, each complement
        // is the other chunk, already tried).
        if !reduced && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<T> = chunks.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, c)| c.clone()).collect();
                if fails(&complement) {
                    current = complement;
                    granularity = (granularity - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if granularity >= current.len() {
                break;
            }
            granularity = (granularity * 2).min(current.len());
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Fails while the plan crashes after a write at or past the 5th and has an error rate of at
    /// least 4% (whatever else it holds).
    fn late_crash_and_errors(plan: &FaultPlan) -> bool {
        let crash = plan.faults.iter().any(|f| matches!(f, Fault::CrashAfterWrite { nth, .. } if *nth >= 5));
        let errors = plan.faults.iter().any(|f| matches!(f, Fault::Errors { rate, .. } if *rate >= 0.04));
        crash && errors
    }

    #[test]
    fn plans_shrink_to_the_needed_faults_then_to_their_smallest_failing_settings() {
        let plan = FaultPlan {
            faults: vec![
                Fault::PausedGc,
                Fault::CrashAfterWrite { nth: 37, down: Duration::from_millis(2000) },
                Fault::Latency { max: Duration::from_millis(40) },
                Fault::Errors { rate: 0.16, codes: vec![409, 500, 503] },
                Fault::ClockSkew { replica: 1, offset_millis: 9000 },
            ],
        };
        let mut runs = 0;
        let shrunk = shrink_plan(&plan, |p| {
            runs += 1;
            late_crash_and_errors(p)
        });
        assert_eq!(
            shrunk.faults,
            // nth 37 → 18 → 9 (4 would pass), down at once; 16% → 8% → 4%, one code left.
            vec![Fault::CrashAfterWrite { nth: 9, down: Duration::ZERO }, Fault::Errors { rate: 0.04, codes: vec![503] }]
        );
        assert!(runs <= 30 + MAX_REDUCTION_RUNS, "{runs} runs");
        // Deterministic.
        assert_eq!(shrink_plan(&plan, late_crash_and_errors), shrunk);
    }

    #[test]
    fn reduction_stops_at_its_run_budget() {
        // Fails while the crash is not at once: each halving of `at` costs two runs (at once,
        // then half), more than the budget allows from an hour.
        let plan = FaultPlan { faults: vec![Fault::Crash { at: Duration::from_secs(3600), down: Duration::ZERO }] };
        let mut runs = 0;
        let shrunk = shrink_plan(&plan, |p| {
            runs += 1;
            matches!(p.faults[..], [Fault::Crash { at, .. }] if !at.is_zero())
        });
        assert_eq!(runs, 1 + MAX_REDUCTION_RUNS + 1, "the empty plan, the budget, the last ddmin's empty plan");
        assert!(matches!(shrunk.faults[..], [Fault::Crash { at, .. }] if at <= Duration::from_millis(3_600_000 >> 20)), "{shrunk}");
    }

    #[test]
    fn finds_the_two_faults_that_together_fail() {
        let items: Vec<u32> = (0..10).collect();
        let mut runs = 0;
        let found = ddmin(&items, |c| {
            runs += 1;
            c.contains(&3) && c.contains(&7)
        });
        assert_eq!(found, vec![3, 7]);
        assert!(runs < 40, "{runs} runs");
    }

    #[test]
    fn finds_one_fault_and_nothing_when_none_is_needed() {
        let items: Vec<u32> = (0..7).collect();
        assert_eq!(ddmin(&items, |c| c.contains(&5)), vec![5]);
        assert_eq!(ddmin(&items, |_| true), Vec::<u32>::new());
        assert_eq!(ddmin(&[1], |c| !c.is_empty()), vec![1]);
    }
}
