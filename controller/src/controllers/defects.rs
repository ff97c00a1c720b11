//! Deliberately wrong behaviours, compiled only into the simulation build: each flag switches on
//! one bug the simulator's invariant checker must catch, so its tests can show the checker
//! works. Defects in a decision are passed to it as `#[cfg(madsim)]` inputs
//! (`retry_failed_synthesis`, `eager_retry`, `ignore_input_changes`, `no_self_healing`,
//! `ignore_lockstep` (also `decide::synthesis::runner::Run`), `skip_rollout_slot`, `ignore_dependencies`,
//! `early_finalizer_removal`:
//! `decide::composition::Observed`;
//! `unfenced_synthesis_claim`: `decide::synthesis::runner::Run`; `set_before_prune`: the
//! symphony's `next_setting_before_pruning`); defects in an interpreter ask through
//! [`defect!`], which is a constant `false` outside the simulation build. Production code
//! carries no trace of them.

/// Which deliberate bugs a simulated replica has. All off by default.
#[cfg(madsim)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defects {
    /// Start a failed synthesis again although neither the composition nor its synthesizer
    /// changed since it failed (breaks "no retry storm").
    pub retry_failed_synthesis: bool,
    /// Retry a canceled synthesis as soon as it is seen, without waiting out its backoff
    /// (breaks "retries keep to their backoff").
    pub eager_retry: bool,
    /// Ignore a change of an input the last synthesis read (breaks "convergence": the output
    /// keeps the old input's value).
    pub ignore_input_changes: bool,
    /// Leave a composition whose current slice is gone as it is (breaks "convergence": its
    /// resources are no longer managed and it is never Ready again).
    pub no_self_healing: bool,
    /// Synthesize inputs that disagree on `eno.azure.io/revision` (breaks "input lockstep").
    pub ignore_lockstep: bool,
    /// Start deferred syntheses without taking the rollout slot (breaks "rollout cooldown").
    pub skip_rollout_slot: bool,
    /// Synthesize a composition before its dependencies are ready (breaks "dependency order").
    pub ignore_dependencies: bool,
    /// Delete a composition's resources while compositions depending on it remain (breaks
    /// "dependency order").
    pub ignore_dependents: bool,
    /// Release a deleted composition's finalizer without waiting for its resources to go
    /// (breaks "deletion ordering").
    pub early_finalizer_removal: bool,
    /// Let the synthesis runner run an in-flight synthesis without claiming it: two replicas
    /// (or one on a stale read) run it twice (breaks "no retry storm").
    pub unfenced_synthesis_claim: bool,
    /// Let the resource reconciler decide to create on the cached composition where a fresh
    /// read is required: a replica that has not seen the composition's deletion brings its
    /// resources back (breaks "deletion ordering").
    pub cached_create_check: bool,
    /// Let the resource reconciler ignore the composition's cascading annotations: a composition
    /// annotated `deletion-strategy: orphan` has its resources deleted with it (breaks "deletion
    /// ordering").
    pub ignore_cascade: bool,
    /// Let the resource reconciler count a resource deleted in the foreground as deleted once
    /// its deletion is accepted: its composition goes while it still exists (breaks "deletion
    /// ordering").
    pub foreground_as_background: bool,
    /// Let the resource reconciler ignore readiness and deletion groups (and CRDs before their
    /// custom resources): every resource is reconciled at once (breaks "resource order").
    pub ignore_ordering: bool,
    /// Retry a resource the server refused (e.g. a create in a namespace that does not exist)
    /// as soon as after a successful write, without its refusal backoff (breaks "refusal
    /// backoff": the server is asked many times a second).
    pub refusals_without_backoff: bool,
    /// Let the resource reconciler create the missing target of a Patch, as if the Patch were
    /// the object (breaks "patches never create").
    pub create_patch_targets: bool,
    /// Let the symphony controller set a variation's annotations before pruning the others
    /// (breaks "at most once").
    pub set_before_prune: bool,
    /// Let a synthesis claim hold forever: a replica that dies after claiming and before
    /// recording leaves the synthesis running for good (breaks "convergence"; a step that is
    /// not safe to crash halfway through).
    pub claims_never_expire: bool,
    /// Run the synthesizer on a claim however late its write was answered: a replica that
    /// stalls between claiming and running runs a synthesis another replica has taken over
    /// meanwhile, or finished (breaks "bounded syntheses"; acting on a decision past the time
    /// it was good for).
    pub run_late_claims: bool,
    /// Time the rollout slot's window from the take's answer rather than from sending it: a
    /// replica stalled while taking the slot starts its synthesis after another replica has
    /// taken the slot again (breaks "rollout cooldown").
    pub slot_timed_from_answer: bool,
    /// Let a replica that does not hold the leader election Lease write (breaks "single
    /// leader": followers work alongside the leader).
    pub followers_write: bool,
    /// Let a leader that cannot renew its Lease keep writing until it sees another holder,
    /// instead of stopping at its renew deadline (breaks "single leader" once a partition
    /// heals).
    pub ignore_renew_deadline: bool,
    /// Remove one concurrency fence: the guard one kind of write carries, or one uncached
    /// read a decision needs. Each must break some invariant in some scenario, or the fence
    /// is not needed (or not tested).
    pub unfenced: Option<Fence>,
}

/// The concurrency fences the controller relies on, by name (reads name theirs in every build;
/// only the simulation build can remove one, so outside it the write fences go unnamed).
#[cfg_attr(not(madsim), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fence {
    /// The resourceVersion `test` of a status write (a composition's status, a synthesis
    /// started or recorded, a symphony's status).
    StatusVersion,
    /// The resourceVersion a finalizer write carries (composition, slice).
    FinalizersVersion,
    /// The JSON-patch `test`s of a synthesis claim.
    ClaimTests,
    /// The resourceVersion a PUT carries (a managed resource with `eno.azure.io/replace`, a
    /// symphony's compositions, the rollout Lease).
    ReplaceVersion,
    /// The resourceVersion a patch carries: in a merge or strategic patch's body (managed
    /// resources, a symphony's compositions), as a JSON patch's first op (a Patch's target).
    PatchVersion,
    /// The uid and resourceVersion preconditions of a delete.
    DeletePreconditions,
    /// The composition controller's uncached read of the composition before it decides.
    FreshComposition,
    /// The composition controller's uncached read of a status's inputs (the current slices,
    /// the synthesizer) before a status change.
    FreshStatusInputs,
    /// The resource reconciler's uncached read of the composition before it creates or
    /// deletes a resource (`cached_create_check` removes it for creates only).
    FreshCompositionForResources,
    /// The synthesis runner's uncached reads (composition, synthesizer, current slices).
    FreshRunnerReads,
    /// The symphony controller's uncached list of its compositions.
    FreshSymphonyList,
}

#[cfg(madsim)]
impl Fence {
    /// The fence guarding `write`, if it has one (a create is guarded by its name alone).
    pub fn of(write: &crate::decide::step::Write) -> Option<Fence> {
        use crate::decide::step::Write;
        Some(match write {
            Write::ReplaceStatus { .. } => Fence::StatusVersion,
            Write::SetFinalizers { .. } => Fence::FinalizersVersion,
            Write::ClaimSynthesis { .. } => Fence::ClaimTests,
            Write::Replace { .. } => Fence::ReplaceVersion,
            Write::Patch { .. } => Fence::PatchVersion,
            Write::Delete { .. } => Fence::DeletePreconditions,
            Write::Create { .. } => return None,
        })
    }
}

/// Whether the world's replica runs with defect `$flag`; always false outside `cfg(madsim)`.
macro_rules! defect {
    ($world:expr, $flag:ident) => {{
        #[cfg(madsim)]
        let on = $world.defects.$flag;
        #[cfg(not(madsim))]
        let on = {
            let _ = &$world;
            false
        };
        on
    }};
}
pub(crate) use defect;
