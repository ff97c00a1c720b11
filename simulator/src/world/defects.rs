//! The deliberate controller defects (`eno::controllers::Defects`) a world can run with, each of
//! which the checker must catch.

use crate::invariants::Invariant;
use eno::controllers::{Defects, Fence};

/// The deliberate defects the checker must catch, by name, with the scenario that exposes each
/// and the invariant it breaks.
pub const DEFECTS: &[(&str, &str, Invariant)] = &[
    ("retry-failed-synthesis", "failed-synthesis", Invariant::BoundedSyntheses),
    ("eager-retry", "flaky-synthesis", Invariant::RetryBackoff),
    ("ignore-input-changes", "input-change", Invariant::Convergence),
    ("no-self-healing", "slice-loss", Invariant::Convergence),
    ("ignore-lockstep", "input-lockstep", Invariant::InputLockstep),
    ("skip-rollout-slot", "rollout-cooldown", Invariant::RolloutCooldown),
    ("ignore-dependencies", "depends-on", Invariant::DependencyOrder),
    ("ignore-dependents", "depends-on", Invariant::DependencyOrder),
    ("ignore-ordering", "resource-order", Invariant::ResourceOrder),
    ("ignore-cascade", "deletion-strategies", Invariant::DeletionOrdering),
    ("foreground-as-background", "deletion-strategies", Invariant::DeletionOrdering),
    ("early-finalizer-removal", "deleted-mid-synthesis", Invariant::DeletionOrdering),
    ("unfenced-synthesis-claim", "deleted-mid-synthesis", Invariant::BoundedSyntheses),
    ("cached-create-check", "deleted-mid-synthesis", Invariant::DeletionOrdering),
    // A create in a namespace that does not exist yet, asked for again every 10 ms.
    ("refusals-without-backoff", "late-namespace", Invariant::RefusalBackoff),
    ("set-before-prune", "symphony-migration", Invariant::AtMostOnceAnnotation),
    ("create-patch-targets", "patches", Invariant::PatchesNeverCreate),
    // A step that is not safe to crash halfway through: caught with a crash after the claim.
    ("claims-never-expire", "output-change", Invariant::Convergence),
    // A replica stalled between claiming and running runs what another has taken over since.
    ("run-late-claims", "stalled-runner", Invariant::BoundedSyntheses),
    // A replica stalled while taking the rollout slot starts its synthesis late.
    ("slot-timed-from-answer", "rollout-cooldown", Invariant::RolloutCooldown),
    // One concurrency fence removed each (see [`FENCES`]: every one is here).
    ("unfenced-status", "symphony-rapid-flip", Invariant::BoundedSyntheses),
    ("untested-claim", "symphony-rapid-flip", Invariant::BoundedSyntheses),
    ("cached-composition-read", "output-change", Invariant::NoLoss),
    ("cached-composition-for-resources", "output-change", Invariant::DeletionOrdering),
    ("cached-runner-reads", "symphony-migration", Invariant::BoundedSyntheses),
    ("cached-symphony-list", "symphony-deletion", Invariant::DeletionOrdering),
    // Another client's finalizer, added while Eno adds its own, is lost.
    ("unfenced-finalizers", "foreign-finalizers", Invariant::NoLoss),
    // Two replicas whose caches disagree rewrite each other's status: a storm. Since slice
    // statuses are written in batches, the rollout's many status changes give it the most
    // chances (first caught at seed 49; foreign-finalizers only at seed 662).
    ("cached-status-inputs", "rollout-cooldown", Invariant::Progress),
    // A blind PUT of a composition from a stale list drops the finalizer Eno added meanwhile.
    ("unfenced-replace", "symphony-migration", Invariant::NoLoss),
    // Leader election: standbys write too; a partitioned leader writes on after its deadline.
    ("followers-write", "leader-election", Invariant::SingleLeader),
    ("ignore-renew-deadline", "leader-election", Invariant::SingleLeader),
    // A patch decided before another client took a field over reverts that client's value; a
    // delete decided before another client took the object over (or re-created it) deletes it.
    ("unfenced-patch", "handover", Invariant::Handover),
    ("unfenced-delete", "handover", Invariant::Handover),
];

/// The controller defects switched on by `name` (see [`DEFECTS`]).
pub fn defects_named(name: &str) -> Option<Defects> {
    let mut d = Defects::default();
    match name {
        "retry-failed-synthesis" => d.retry_failed_synthesis = true,
        "eager-retry" => d.eager_retry = true,
        "ignore-input-changes" => d.ignore_input_changes = true,
        "no-self-healing" => d.no_self_healing = true,
        "ignore-lockstep" => d.ignore_lockstep = true,
        "skip-rollout-slot" => d.skip_rollout_slot = true,
        "ignore-dependencies" => d.ignore_dependencies = true,
        "ignore-dependents" => d.ignore_dependents = true,
        "ignore-ordering" => d.ignore_ordering = true,
        "ignore-cascade" => d.ignore_cascade = true,
        "foreground-as-background" => d.foreground_as_background = true,
        "early-finalizer-removal" => d.early_finalizer_removal = true,
        "unfenced-synthesis-claim" => d.unfenced_synthesis_claim = true,
        "cached-create-check" => d.cached_create_check = true,
        "refusals-without-backoff" => d.refusals_without_backoff = true,
        "set-before-prune" => d.set_before_prune = true,
        "create-patch-targets" => d.create_patch_targets = true,
        "claims-never-expire" => d.claims_never_expire = true,
        "run-late-claims" => d.run_late_claims = true,
        "slot-timed-from-answer" => d.slot_timed_from_answer = true,
        "followers-write" => d.followers_write = true,
        "ignore-renew-deadline" => d.ignore_renew_deadline = true,
        _ => d.unfenced = Some(FENCES.iter().find(|(n, _)| *n == name)?.1),
    }
    Some(d)
}

/// The defects that each remove one concurrency fence, by name.
pub const FENCES: &[(&str, Fence)] = &[
    ("unfenced-status", Fence::StatusVersion),
    ("unfenced-finalizers", Fence::FinalizersVersion),
    ("untested-claim", Fence::ClaimTests),
    ("unfenced-replace", Fence::ReplaceVersion),
    ("unfenced-patch", Fence::PatchVersion),
    ("unfenced-delete", Fence::DeletePreconditions),
    ("cached-composition-read", Fence::FreshComposition),
    ("cached-status-inputs", Fence::FreshStatusInputs),
    ("cached-composition-for-resources", Fence::FreshCompositionForResources),
    ("cached-runner-reads", Fence::FreshRunnerReads),
    ("cached-symphony-list", Fence::FreshSymphonyList),
];

/// The name of the one defect `defects` switches on, if any (for replay lines).
pub fn name_of(defects: &Defects) -> Option<&'static str> {
    defect_names().find(|name| defects_named(name).as_ref() == Some(defects))
}

/// Every defect's name.
pub fn defect_names() -> impl Iterator<Item = &'static str> {
    DEFECTS.iter().map(|d| d.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: a fence no scenario can tell apart from its absence is either not needed (and
    /// goes) or not tested (and gets a scenario), so each fence's removal is a defect the CI
    /// must catch.
    #[test]
    fn every_fence_removal_is_a_defect_the_ci_catches() {
        for (name, fence) in FENCES {
            assert!(DEFECTS.iter().any(|d| d.0 == *name), "{name} is caught by no scenario");
            assert_eq!(defects_named(name).and_then(|d| d.unfenced), Some(*fence));
        }
    }
}
