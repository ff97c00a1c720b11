//! Resources the API server refuses, and when to try them again.
//!
//! A managed resource may be one the server cannot take as it is: its namespace does not exist
//! (a create answers 404 `namespaces "x" not found`), its kind is not served (no such CRD: `no
//! matches for kind "Foo" in version "example.com/v1"`), Eno may not touch it (403 Forbidden) or
//! the server rejects it (422 Invalid, 400 BadRequest). Asking again at once changes nothing
//! until someone creates the namespace or the CRD, grants the permission or fixes the
//! synthesizer, so a refusal is shown on the resource (its slice status's
//! `reconciliationError`, and from there the composition's simplified status) and the resource
//! is tried again on a schedule of its own ([`retry_after`]), kept per resource by the replica
//! ([`Refusals`]): events about the composition or its slices do not bring it forward.
//! Throttling and server trouble keep the work queue's retry, and a write that raced another
//! client is decided again at once ([`classify`]).
//!
//! An object of a kind the server does not serve cannot exist, and neither can one in a
//! namespace that does not: a read answered so finds the object absent ([`Failure::Absent`]).
//! So a resource being deleted whose CRD or namespace went first counts as deleted (its
//! composition's finalizer is released), and one to create is refused by the create.

use super::resource::jitter;
use crate::runtime::{Backoff, ClientError};
use std::time::Duration;
use tokio::time::Instant;

/// The first retry of a refused resource waits this long (±10%), each further one twice as long.
pub const FIRST_RETRY: Duration = Duration::from_secs(2);
/// No retry of a refused resource waits longer than this (±10%): once the namespace or CRD
/// appears, the resource converges within it.
pub const RETRY_CAP: Duration = Duration::from_secs(30);

/// The request of a resource's pass that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The read of the live object.
    Read,
    Create,
    /// A patch, replace or delete of the live object.
    Change,
}

/// What a failed request means for the pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The object cannot exist (a read of an unserved kind or in a missing namespace): decide
    /// with no live object.
    Absent,
    /// Throttling, server trouble, a lost connection, or this replica not leading: the work
    /// queue's retry.
    Transient,
    /// The object changed or went between the read and the write: decide again at once.
    Stale,
    /// The server will not take the resource as it is: show this reason, retry on the
    /// refusal schedule.
    Refused(String),
}

/// What `error`, the answer to `request`, means for the pass.
pub fn classify(request: Request, error: &ClientError) -> Failure {
    if error.is_transient() || matches!(error, ClientError::NotLeader) {
        return Failure::Transient;
    }
    let missing = error.is_not_found() || matches!(error, ClientError::UnknownKind(_));
    match request {
        Request::Read if missing => Failure::Absent,
        // A 404 to a create names what is missing: the namespace, or the resource type (a CRD
        // deleted since the client resolved its kind).
        Request::Create if missing => Failure::Refused(reason(error)),
        Request::Change if missing => Failure::Stale,
        // A conflict is a race with another writer, whatever the request (even a read, as a
        // server answering one so is no judge of the resource): never the resource refused.
        // Taken for a refusal, it showed a ready resource as failing and cost its
        // composition's dependents their ready dependency (found by the simulator's sweep).
        _ if error.is_conflict() => Failure::Stale,
        _ => Failure::Refused(reason(error)),
    }
}

/// The server's own words for a refusal (as Eno shows a summarized status error).
fn reason(error: &ClientError) -> String {
    match error {
        ClientError::Api { message, .. } if !message.is_empty() => message.clone(),
        other => other.to_string(),
    }
}

/// How long after its `refusals`-th refusal in a row (1: the first) a resource is tried
/// again: [`FIRST_RETRY`] doubled per refusal up to [`RETRY_CAP`], ±10% by `jitter_seed` (one
/// per resource, so resources refused together spread out, and a replay waits the same).
pub fn retry_after(refusals: u32, jitter_seed: u64) -> Duration {
    jitter(Backoff::new(FIRST_RETRY, RETRY_CAP).pause(refusals.saturating_sub(1)), jitter_seed)
}

/// What a replica remembers of a resource the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusals {
    /// Which attempt was refused ([`attempt`]): another desired state is tried at once.
    pub attempt: u64,
    /// Refusals of it in a row.
    pub count: u32,
    /// Not tried again before.
    pub retry_at: Instant,
}

/// Names what a pass attempts: the manifest, whether it is a tombstone, whether its
/// composition is being deleted. A change of any of them is a new attempt, not held back by
/// the refusals of the old one.
pub fn attempt(manifest: &serde_json::Value, tombstone: bool, composition_deleting: bool) -> u64 {
    let flags = [u8::from(tombstone), u8::from(composition_deleting)];
    apimachinery::hash::fnv1a64(manifest.to_string().into_bytes().into_iter().chain(flags))
}

/// How long a pass over the resource waits before asking the server anything (`None`: go
/// ahead): what is left of the backoff of its refused `attempt`.
pub fn hold_off(recorded: Option<&Refusals>, attempt: u64, now: Instant) -> Option<Duration> {
    let recorded = recorded.filter(|r| r.attempt == attempt && r.retry_at > now)?;
    Some(recorded.retry_at - now)
}

/// The record after the server refused `attempt` at `now` once more.
pub fn refused(recorded: Option<&Refusals>, attempt: u64, now: Instant, jitter_seed: u64) -> Refusals {
    let count = recorded.filter(|r| r.attempt == attempt).map_or(1, |r| r.count.saturating_add(1));
    Refusals { attempt, count, retry_at: now + retry_after(count, jitter_seed) }
}

#[cfg(test)]
mod tests;
