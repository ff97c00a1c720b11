//! Rollout cooldown: deferred syntheses (a synthesizer change rolled out, or a change to a
//! `defer: true` input; the in-flight synthesis marked `deferred`) start at least the
//! scenario's cooldown apart, across all compositions and replicas, judged by when each start
//! was committed, in virtual time (so clock skew between replicas cannot excuse a close pair).

use super::{Found, Invariant};
use crate::reading::{self, Slot};
use serde_json::Value;
use std::time::Duration;

/// The last deferred start seen.
struct Start {
    composition: String,
    uuid: String,
    at: Duration,
}

#[derive(Default)]
pub(super) struct Pacing {
    /// No two deferred starts closer than this (zero: not judged).
    pub cooldown: Duration,
    last: Option<Start>,
}

impl Pacing {
    /// Notes a deferred synthesis the composition started, and flags one closer than the
    /// cooldown to the one before.
    pub fn composition_changed(&mut self, comp: &Value, previous: Option<&Value>, at: Duration) -> Found {
        let Some(in_flight) = reading::synthesis(comp, Slot::InFlight) else { return Vec::new() };
        let uuid = reading::synthesis_uuid(in_flight);
        let before = previous.and_then(|p| reading::synthesis(p, Slot::InFlight)).map(reading::synthesis_uuid);
        if in_flight["deferred"] != true || before == Some(uuid) || self.cooldown.is_zero() {
            return Vec::new();
        }
        let start = Start { composition: reading::name_of(comp), uuid: uuid.to_string(), at };
        let found = match self.last.as_ref() {
            Some(last) if at.saturating_sub(last.at) < self.cooldown => vec![(
                Invariant::RolloutCooldown,
                format!(
                    "{}: deferred synthesis {} started {:.3}s after {}'s deferred synthesis {}; the cooldown is {:?}",
                    start.composition,
                    start.uuid,
                    at.saturating_sub(last.at).as_secs_f64(),
                    last.composition,
                    last.uuid,
                    self.cooldown
                ),
            )],
            _ => Vec::new(),
        };
        self.last = Some(start);
        found
    }
}
