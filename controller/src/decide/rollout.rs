//! The rollout cooldown: a synthesizer change, and a change to an input whose ref says
//! `defer: true`, resynthesize one composition at a time, at most one per cooldown (Eno's
//! `--rollout-cooldown`), across every replica, and stop at the first composition the new
//! synthesizer version broke.
//!
//! # The rollout slot
//!
//! Eno paces deferred syntheses from the latest `initialized` time it has cached, with one
//! leader-elected scheduler. Here every replica may start syntheses, and replicas' clocks may
//! disagree, so pacing from cached timestamps could start two at once. Instead a deferred
//! synthesis first takes a cluster-wide **slot**: a `coordination.k8s.io/v1` Lease, written
//! with its resourceVersion as the precondition, naming the composition it admits.
//!
//! - A replica takes the slot only once it has watched the Lease unchanged for [`spacing`] on
//!   its own monotonic clock (as claims and retries are judged), so clock skew cannot shorten
//!   the wait, and a restarted replica waits a whole spacing. The take that wins is the only
//!   write at that resourceVersion.
//! - The replica that took the slot starts the synthesis within [`window`] of its take (its own
//!   clock, from when it sent the take, checked after reading the Lease again and finding it
//!   still at the version it wrote); past that the slot is spent and the composition queues
//!   again. Timed from the take's answer instead, a replica stalled while taking the slot would
//!   start late, after another replica took the slot again (found by the simulator's stalls).
//! - So two deferred starts are at least `spacing − window − latency` apart, and [`spacing`] is
//!   the cooldown plus the window plus a [`margin`] for the API's latency: at least the cooldown.
//!
//! # Halting a broken rollout
//!
//! Once a deferred synthesis at the synthesizer's current generation has failed (a verdict, or
//! a failure being retried), no further composition of that synthesizer starts a deferred
//! synthesis at that generation ([`halted_by`]); the waiting compositions' status says which
//! composition stopped it. A new synthesizer generation starts a new rollout.

use super::step::{gvk, json, Write};
use super::synthesis::is_failed;
use crate::api::{Composition, Synthesis, Synthesizer};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use std::borrow::Borrow;
use std::time::Duration;

/// The slot Lease's name (in the namespace the controller is given).
pub const LEASE_NAME: &str = "eno-rollout";

/// No window or margin is longer than this, whatever the cooldown.
const MAX_WINDOW: Duration = Duration::from_secs(2);
/// Nor shorter than this: the window, timed from sending the take, holds the take's round
/// trip, a fresh read of the Lease and the pass's other reads. A tenth of a 1 s cooldown did
/// not, under 50 ms requests: the taker missed its window every time and took the slot again,
/// and the rollout never moved (found by the simulator).
const MIN_WINDOW: Duration = Duration::from_millis(250);

/// How long after taking the slot its taker may still start the synthesis it took it for.
pub fn window(cooldown: Duration) -> Duration {
    if cooldown.is_zero() {
        // Nothing is paced.
        return Duration::ZERO;
    }
    (cooldown / 10).clamp(MIN_WINDOW, MAX_WINDOW)
}

/// Room for the API's latency between a start being decided and being committed.
pub fn margin(cooldown: Duration) -> Duration {
    window(cooldown)
}

/// How long the slot must have been watched unchanged before it is taken again.
pub fn spacing(cooldown: Duration) -> Duration {
    cooldown + window(cooldown) + margin(cooldown)
}

/// The slot as this replica sees it, read uncached.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// The Lease (`None`: nobody has taken the slot yet).
    pub lease: Option<Lease>,
    /// How long this replica has watched the Lease at its resourceVersion unchanged.
    pub watched: Duration,
    /// How long ago, by this replica's clock, it took the slot for the synthesis being
    /// admitted, if the Lease is still at the version that take wrote.
    pub taken_for_this: Option<Duration>,
}

/// What a pass saw of the rollout, once [`Admission::Read`] asked for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// Why the synthesizer's rollout is halted ([`halted_by`], from the cache).
    pub halted: Option<String>,
    /// The slot, read uncached (none read while there is no cooldown).
    pub slot: Slot,
}

/// What a deferred synthesis may do now.
#[derive(Clone, Debug, PartialEq)]
pub enum Admission {
    /// Start it.
    Start,
    /// Look at the rollout ([`Seen`]) first, then ask again.
    Read,
    /// Take the slot with this write, then ask again.
    Take(Write),
    /// The slot is busy: ask again after this long.
    Wait(Duration),
    /// The rollout stopped at a composition the new version broke (this message says which).
    Halted(String),
}

/// Whether a deferred synthesis for `holder` (the composition's `namespace/name`) may start,
/// with the slot in `lease_namespace`.
pub fn admit(cooldown: Duration, seen: Option<&Seen>, holder: &str, lease_namespace: &str, now: &Time) -> Admission {
    // Without a cooldown everything rolls out at once: nothing is paced, and nothing waits
    // to see whether the first composition breaks.
    if cooldown.is_zero() {
        return Admission::Start;
    }
    let Some(Seen { halted, slot }) = seen else { return Admission::Read };
    if let Some(why) = halted {
        return Admission::Halted(why.clone());
    }
    if slot.taken_for_this.is_some_and(|elapsed| elapsed < window(cooldown)) {
        return Admission::Start;
    }
    let wait = spacing(cooldown);
    match &slot.lease {
        None => Admission::Take(Write::Create { object: json(&take(None, holder, lease_namespace, cooldown, now)) }),
        Some(_) if slot.watched < wait => Admission::Wait(wait - slot.watched),
        Some(lease) => Admission::Take(Write::Replace { object: json(&take(Some(lease), holder, lease_namespace, cooldown, now)) }),
    }
}

/// The Lease after `holder` takes the slot: the version read as the precondition, the holder
/// and the time (for people reading it), one more transition.
fn take(read: Option<&Lease>, holder: &str, namespace: &str, cooldown: Duration, now: &Time) -> Lease {
    let transitions = read.and_then(|l| l.spec.as_ref()).and_then(|s| s.lease_transitions).unwrap_or(0);
    let metadata = match read {
        Some(lease) => ObjectMeta { managed_fields: None, ..lease.metadata.clone() },
        None => ObjectMeta { name: Some(LEASE_NAME.to_string()), namespace: Some(namespace.to_string()), ..ObjectMeta::default() },
    };
    Lease {
        metadata,
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_string()),
            acquire_time: Some(MicroTime(now.0)),
            renew_time: Some(MicroTime(now.0)),
            lease_duration_seconds: Some(i32::try_from(spacing(cooldown).as_secs().max(1)).unwrap_or(i32::MAX)),
            lease_transitions: Some(transitions.saturating_add(1)),
            ..LeaseSpec::default()
        }),
    }
}

/// The Lease's address, for the uncached read.
pub fn lease_address(namespace: &str) -> crate::runtime::ObjectRef {
    crate::runtime::ObjectRef::new(gvk::<Lease>(), Some(namespace), LEASE_NAME)
}

/// The composition whose latest synthesis, at `synth`'s current generation, failed, if any (first
/// by namespace/name), as the message the halted compositions show. Any failure with the new
/// version counts, not only the rollout's own: a composition edited since the change, or one
/// whose retry keeps failing, is as much a sign that the version is broken.
pub fn halted_by(synth: &Synthesizer, compositions: &[impl Borrow<Composition>]) -> Option<String> {
    let generation = synth.metadata.generation.unwrap_or(0);
    let broke = |s: &Synthesis| s.observed_synthesizer_generation == generation && is_failed(s) && (s.canceled.is_some() || s.synthesized.is_some());
    let mut broken: Vec<String> = compositions
        .iter()
        .map(Borrow::borrow)
        .filter(|c: &&Composition| c.metadata.deletion_timestamp.is_none())
        .filter(|c| {
            let status = c.status.as_ref();
            let latest = status.and_then(|s| s.in_flight_synthesis.as_ref()).or_else(|| status.and_then(|s| s.current_synthesis.as_ref()));
            latest.is_some_and(broke)
        })
        .map(|c| format!("{}/{}", c.metadata.namespace.as_deref().unwrap_or_default(), c.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    broken.sort();
    broken.first().map(|first| {
        format!("rollout of synthesizer {} generation {generation} halted: it failed on composition {first}", synth.metadata.name.as_deref().unwrap_or_default())
    })
}

#[cfg(test)]
mod tests;
