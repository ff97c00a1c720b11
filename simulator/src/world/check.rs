//! Checking a seed: run it with its swarm fault plan and, when an invariant breaks, shrink the
//! plan to a minimal one that still breaks it, and report what a person needs to replay it.

use super::{run, Outcome};
use crate::invariants::Violation;
use crate::plan::FaultPlan;
use crate::scenario::Scenario;
use eno::controllers::Defects;
use std::sync::Arc;

/// A seed's run that broke an invariant, shrunk to the smallest fault plan that still breaks
/// the same one.
#[derive(Debug, Clone)]
pub struct Failure {
    pub scenario: String,
    pub seed: u64,
    pub plan: FaultPlan,
    pub outcome: Outcome,
    pub shrunk: Option<(FaultPlan, Outcome)>,
    /// The deliberate defects the controller ran with.
    pub defects: Defects,
}

impl Failure {
    /// The violation to report: the shrunk run's of the invariant it was shrunk for (the
    /// original run's first), which may follow another of that run's violations.
    pub fn violation(&self) -> &Violation {
        let first = self.outcome.first_violation().expect("a failure has a violation");
        let shrunk = self.shrunk.as_ref().and_then(|(_, o)| o.violations.iter().find(|v| v.invariant == first.invariant));
        shrunk.unwrap_or(first)
    }

    /// The smallest plan known to break the invariant: the shrunk one, or the original.
    pub fn minimal_plan(&self) -> &FaultPlan {
        self.shrunk.as_ref().map_or(&self.plan, |(plan, _)| plan)
    }

    /// The command that replays the failure, with `plan_file` holding [`Self::minimal_plan`]
    /// (without one, the seed's swarm plan).
    pub fn replay_command(&self, plan_file: Option<&std::path::Path>) -> String {
        let defect = super::defects::name_of(&self.defects).map(|d| format!(" --defect {d}")).unwrap_or_default();
        let plan = plan_file.map(|p| format!(" --plan {}", p.display())).unwrap_or_default();
        format!("simulate --scenario {} --seed {}{plan}{defect}", self.scenario, self.seed)
    }

    /// What a person needs to understand and replay the failure.
    pub fn report(&self, trace_lines: usize) -> String {
        self.report_with(trace_lines, None)
    }

    /// [`Self::report`], replaying from a saved minimal plan.
    pub fn report_with(&self, trace_lines: usize, plan_file: Option<&std::path::Path>) -> String {
        let mut out = format!("FAILED scenario {} seed {}\n  fault plan: {}\n", self.scenario, self.seed, self.plan);
        let outcome = match &self.shrunk {
            Some((plan, outcome)) => {
                out.push_str(&format!("  shrunk to:  {plan}\n"));
                outcome
            }
            None => &self.outcome,
        };
        out.push_str(&format!("  violation:  {}\n", self.violation()));
        out.push_str(&format!("  replay:     {}\n  trace (last {trace_lines} lines):\n", self.replay_command(plan_file)));
        for line in outcome.trace.tail(trace_lines) {
            out.push_str(&format!("    {line}\n"));
        }
        out
    }
}

/// Runs `seed` with its swarm plan; on a violation, shrinks the plan (re-running the same seed
/// with subsets of its faults) to a minimal one that breaks the same invariant.
pub fn check_seed(scenario: &Arc<Scenario>, seed: u64, defects: Defects, shrink: bool) -> Result<Outcome, Box<Failure>> {
    check_plan(scenario, seed, FaultPlan::swarm(seed, scenario.faults_until.0), defects, shrink)
}

/// Runs `seed` with `plan` (a saved one, say); on a violation, shrinks it as [`check_seed`] does.
pub fn check_plan(scenario: &Arc<Scenario>, seed: u64, plan: FaultPlan, defects: Defects, shrink: bool) -> Result<Outcome, Box<Failure>> {
    let outcome = run(scenario.clone(), seed, plan.clone(), defects);
    let Some(violation) = outcome.first_violation().cloned() else { return Ok(outcome) };
    let shrunk = shrink.then(|| {
        let breaks = |candidate: &FaultPlan| {
            let o = run(scenario.clone(), seed, candidate.clone(), defects);
            o.violations.iter().any(|v| v.invariant == violation.invariant)
        };
        let smaller = crate::shrink::shrink_plan(&plan, breaks);
        let outcome = run(scenario.clone(), seed, smaller.clone(), defects);
        (smaller, outcome)
    });
    Err(Box::new(Failure { scenario: scenario.name.clone(), seed, plan, outcome, shrunk, defects }))
}
