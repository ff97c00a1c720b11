//! Bounded syntheses. Each synthesizer run is reported by the executor, so runs are counted
//! where they happen, not inferred from status:
//! - per composition input (composition generation, synthesizer generation, input revisions),
//!   at most one run, plus one per run that ended in an executor error (those retry with
//!   backoff), one per replica crash so far (a crash may interrupt a run another replica then
//!   takes over once the claim expires) and one per request for one more synthesis
//!   (`eno.azure.io/force-resynthesis`: the user's, or Eno's when a slice went missing);
//! - never two runs of one synthesis at the same time (the claim fences them);
//! - never a run of a synthesis that has finished;
//! - never a new synthesis started for exactly the generations a failed synthesis saw (a
//!   failure is a verdict until the composition or its synthesizer changes).
//!
//! Input lockstep: a run never reads inputs whose `eno.azure.io/revision` annotations
//! disagree.
//!
//! Retry backoff: a synthesis canceled by a failure worth retrying (the in-flight synthesis
//! with `canceled` set) is followed by a new attempt for the same generations no sooner than the
//! spec's schedule after the cancellation was committed, in virtual time (so clock skew between
//! replicas cannot excuse an early retry).

use super::{Checker, Found, Invariant};
use crate::reading::{self, Slot};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One synthesizer run, as the executor was asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthesisRun {
    /// `status.inFlightSynthesis.uuid` of the composition.
    pub uuid: String,
    /// `namespace/name` of the composition.
    pub composition: String,
    /// The composition's uid: one recreated under the same name is another composition.
    pub composition_uid: String,
    pub composition_generation: i64,
    pub synthesizer_generation: i64,
    /// `resourceVersion`s of the bound inputs, in the synthesizer's refs order.
    pub input_revisions: Vec<String>,
    /// The `eno.azure.io/revision` of each bound input that carries one.
    pub lockstep_revisions: Vec<String>,
}

impl SynthesisRun {
    fn input(&self) -> (String, i64, i64, Vec<String>) {
        (format!("{}@{}", self.composition, self.composition_uid), self.composition_generation, self.synthesizer_generation, self.input_revisions.clone())
    }
}

/// Composition annotation asking for one more synthesis (of the synthesis it names).
const FORCE_RESYNTHESIS: &str = "eno.azure.io/force-resynthesis";

fn force_asked(comp: &Value) -> &str {
    comp["metadata"]["annotations"][FORCE_RESYNTHESIS].as_str().unwrap_or_default()
}

#[derive(Default)]
struct InputRuns {
    started: u64,
    /// Runs that ended in an executor error: each may be retried.
    errors: u64,
}

/// The spec's retry schedule, the checker's own reading: 2 s after the first attempt, doubling
/// with each further one, at most 5 minutes (jitter only adds to it).
fn least_backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    Duration::from_secs(2).saturating_mul(1 << doublings).min(Duration::from_secs(300))
}

/// A composition's canceled synthesis, as first committed.
struct Canceled {
    uuid: String,
    generations: (i64, i64),
    attempts: i64,
    at: Duration,
}

#[derive(Default)]
pub(super) struct Runs {
    /// Each composition's canceled in-flight synthesis, by `namespace/name`.
    canceled: BTreeMap<String, Canceled>,
    /// Syntheses that have finished (succeeded, failed or were canceled): never to run again.
    finished: BTreeSet<String>,
    /// Runs in progress, per synthesis uuid.
    running: BTreeMap<String, u32>,
    per_input: BTreeMap<(String, i64, i64, Vec<String>), InputRuns>,
    /// Replicas lost so far (killed, cut off from the API server, or deposed as leader): each
    /// may strand a claimed run, which another replica takes over once the claim expires.
    lost: u64,
    /// Per composition, how many times one more synthesis was asked for (a new value of
    /// `eno.azure.io/force-resynthesis`, by the user or by Eno's self-healing).
    forced: BTreeMap<String, u64>,
}

impl Runs {
    /// `n` replicas killed, cut off or deposed as leader.
    pub fn replicas_lost(&mut self, n: u64) {
        self.lost += n;
    }

    /// Notes a cancellation, and flags a new attempt for the same generations that came before
    /// its backoff.
    pub fn retry_kept_backoff(&mut self, comp: &Value, at: Duration) -> Found {
        let name = reading::name_of(comp);
        let Some(in_flight) = reading::synthesis(comp, Slot::InFlight) else { return Vec::new() };
        let uuid = reading::synthesis_uuid(in_flight);
        if !in_flight["canceled"].is_null() {
            if self.canceled.get(&name).is_none_or(|c| c.uuid != uuid) {
                let attempts = in_flight["attempts"].as_i64().unwrap_or(0);
                self.canceled.insert(name, Canceled { uuid: uuid.to_string(), generations: reading::generations(in_flight), attempts, at });
            }
            return Vec::new();
        }
        let Some(canceled) = self.canceled.remove(&name) else { return Vec::new() };
        let waited = at.saturating_sub(canceled.at);
        let least = least_backoff(canceled.attempts);
        if canceled.uuid != uuid && reading::generations(in_flight) == canceled.generations && waited < least {
            let message = format!(
                "{name}: synthesis {uuid} retried {:.3}s after synthesis {} (attempt {}) was canceled; the backoff is at least {least:?}",
                waited.as_secs_f64(),
                canceled.uuid,
                canceled.attempts
            );
            return vec![(Invariant::RetryBackoff, message)];
        }
        Vec::new()
    }

    /// The composition is gone: forget its cancellation.
    pub fn composition_deleted(&mut self, comp: &Value) {
        self.canceled.remove(&reading::name_of(comp));
    }

    /// Notes finished syntheses and flags a failed synthesis restarted without a change.
    pub fn composition_changed(&mut self, comp: &Value, previous: Option<&Value>) -> Found {
        for s in [Slot::Current, Slot::Previous].into_iter().filter_map(|slot| reading::synthesis(comp, slot)) {
            if reading::is_finished(s) {
                self.finished.insert(reading::synthesis_uuid(s).to_string());
            }
        }
        let asked = force_asked(comp);
        if !asked.is_empty() && previous.is_none_or(|p| force_asked(p) != asked) {
            *self.forced.entry(reading::name_of(comp)).or_default() += 1;
        }
        let (Some(started), Some(failed)) = (reading::synthesis(comp, Slot::InFlight), reading::synthesis(comp, Slot::Current)) else { return Vec::new() };
        let was = previous.and_then(|p| reading::synthesis(p, Slot::InFlight)).map(reading::synthesis_uuid);
        let new = was != Some(reading::synthesis_uuid(started));
        let forced = asked == reading::synthesis_uuid(failed);
        if new && !forced && reading::is_failed(failed) && reading::generations(started) == reading::generations(failed) {
            let message = format!(
                "{}: synthesis {} started although the failed synthesis {} saw the same composition and synthesizer generations",
                reading::name_of(comp),
                reading::synthesis_uuid(started),
                reading::synthesis_uuid(failed)
            );
            return vec![(Invariant::BoundedSyntheses, message)];
        }
        Vec::new()
    }
}

impl Checker {
    /// The executor was asked for `run`.
    pub fn synthesis_started(&mut self, run: &SynthesisRun, at: Duration) {
        let runs = &mut self.syntheses;
        let mut found = Vec::new();
        let (uuid, composition) = (&run.uuid, &run.composition);
        if runs.finished.contains(uuid) {
            found.push(format!("synthesis {uuid} of {composition} ran again after it had finished"));
        }
        let running = runs.running.entry(uuid.clone()).or_default();
        if *running > 0 {
            found.push(format!("synthesis {uuid} of {composition} started while another run of it was in progress"));
        }
        *running += 1;
        let input = runs.per_input.entry(run.input()).or_default();
        input.started += 1;
        let forced = runs.forced.get(composition).copied().unwrap_or(0);
        let allowed = 1 + input.errors + runs.lost + forced;
        if input.started > allowed {
            found.push(format!(
                "{composition} ran its synthesizer {} times for composition generation {}, synthesizer generation {}, inputs {:?} (allowed {allowed}: 1, plus {} after executor errors, plus {} replicas killed, cut off or deposed, plus {forced} forced)",
                input.started, run.composition_generation, run.synthesizer_generation, run.input_revisions, input.errors, runs.lost
            ));
        }
        for message in found {
            self.report(Invariant::BoundedSyntheses, at, None, message);
        }
        if run.lockstep_revisions.iter().any(|r| *r != run.lockstep_revisions[0]) {
            let message = format!("synthesis {uuid} of {composition} ran with inputs at revisions {:?}: out of lockstep", run.lockstep_revisions);
            self.report(Invariant::InputLockstep, at, None, message);
        }
    }

    /// `run` is over: it returned (`errored`: with an executor error) or its replica died.
    pub fn synthesis_ended(&mut self, run: &SynthesisRun, errored: bool) {
        let runs = &mut self.syntheses;
        if let Some(running) = runs.running.get_mut(&run.uuid) {
            *running = running.saturating_sub(1);
        }
        if errored {
            runs.per_input.entry(run.input()).or_default().errors += 1;
        }
    }

    /// A controller replica was killed, or cut off from the API server: to the cluster the
    /// two are alike (a run it claimed can finish only by another replica taking it over).
    pub fn replica_lost(&mut self) {
        self.syntheses.replicas_lost(1);
    }
}
