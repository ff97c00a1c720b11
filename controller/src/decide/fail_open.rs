//! `eno.azure.io/fail-open: "true"`: a resource whose reconciliation fails (its read, its
//! decision or its write) does not hold its composition back. As in Eno, the error is dropped
//! and the resource is recorded as reconciled, its readiness evaluated as usual (no checks:
//! ready now, so a resource the server refuses to create counts as ready), and, when it should
//! be deleted, as deleted. Except for a `foreground` deletion: waiting for the object to go is
//! the point of that strategy, so its errors stand.
//!
//! Eno reads `fail-open` from the resource as synthesized (not after overrides, and not from
//! the composition); the deletion strategy goes through the cascade.

use super::cascade::cascade;
use super::patch;
use super::resource::{readiness, wants_deletion, DeletionStrategy, Observed, ResourceOptions, Settled};

/// The state to record instead of a reconciliation error, when the resource fails open; `None`
/// when the error stands.
pub fn settle_failure(observed: &Observed<'_>) -> Option<Settled> {
    let manifest = observed.desired.or(observed.previous_desired)?;
    // `fail-open` does not cascade, so reading it after the cascade reads the resource's own.
    let mut cascaded = manifest.clone();
    cascade(&mut cascaded, observed.composition);
    let options = ResourceOptions::from_manifest(&cascaded).ok().filter(|o| o.fail_open)?;
    let deletion_wanted = wants_deletion(observed.desired, observed.ctx)
        || (patch::is_patch(manifest) && patch::deletes_target(manifest));
    if deletion_wanted && options.deletion_strategy == DeletionStrategy::Foreground {
        return None;
    }
    let ready = readiness(&options, wants_deletion(observed.desired, observed.ctx), observed).ok().flatten();
    Some(Settled { deleted: deletion_wanted, ready, readiness_error: None, options })
}

#[cfg(test)]
mod tests;
