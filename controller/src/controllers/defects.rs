//! Deliberately wrong behaviours, compiled only into the simulation build: each flag switches on
//! one bug the simulator's invariant checker must catch, so its tests can show the checker
//! works. Defects in a decision are passed to it as `#[cfg(madsim)]` inputs
//! (`retry_failed_synthesis`, `early_finalizer_removal`: `decide::composition::Observed`;
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
    /// Let the symphony controller set a variation's annotations before pruning the others
    /// (breaks "at most once").
    pub set_before_prune: bool,
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
