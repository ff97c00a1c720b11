//! The synthesis decisions: which synthesis to start ([`next_synthesis`], [`begin`]), how a
//! running one is claimed ([`claim`]), how a finished one changes the composition's status
//! ([`complete_success`], [`complete_failure`]), and the runner's pass over an in-flight
//! synthesis as a sequence of named steps ([`runner`]: claim, run the synthesizer, write its
//! slices, record the outcome).
//!
//! # Where a failed synthesis is recorded
//!
//! A failed synthesis becomes `currentSynthesis`, like a successful one: `synthesized` is set
//! (so `kubectl get compositions` shows its AGE, as in the seed's output) and `results` carry
//! the error. It writes no slices; instead it **carries the last good synthesis's
//! `resourceSlices`**. That one choice gives every property the seeds and the spec ask for:
//!
//! - the reconciler keeps managing exactly what the last good synthesis produced, drift
//!   included ("a failed synthesis never deletes what the last good one created");
//! - the next successful synthesis computes its tombstones against those same slices, so
//!   resources the new output drops are still deleted;
//! - the failed synthesis keeps the composition and synthesizer generations it ran with, so
//!   [`next_synthesis`] can tell "nothing changed since it failed" ([`WaitForModification`],
//!   no retry storm) from "modified since" (start again);
//! - [`crate::decide::status::simplified`] shows `NotReady` with the first error result.
//!
//! That is for **verdicts**: error results, or output that is not a valid ResourceList. A
//! failure that may pass on its own (a non-zero exit, a timeout, a failed pod, an API error)
//! is not recorded as a synthesis at all: the in-flight synthesis is **canceled** ([`cancel`]:
//! `canceled` set, the error as its one result, shown as `SynthesisBackoff`) and started again
//! as a further attempt once [`retry_delay`] has passed ([`SynthesisDecision::Retry`]).
//!
//! [`WaitForModification`]: SynthesisDecision::WaitForModification

pub mod runner;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use apimachinery::hash::Fnv1a;
use crate::api::annotations::FORCE_RESYNTHESIS;
use crate::api::{
    Composition, CompositionStatus, KrmResult, ResourceSliceRef, Synthesis, Synthesizer, CLEANUP_FINALIZER,
};

/// What the composition's synthesis should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthesisDecision {
    /// No synthesis to start.
    Nothing(NothingReason),
    /// Start a new synthesis (superseding an unfinished one for an older composition generation).
    Start { reason: StartReason },
    /// The last synthesis failed and neither the composition nor its synthesizer changed since:
    /// a failed synthesis is not retried until one of them is modified.
    WaitForModification,
    /// The in-flight synthesis was canceled by a failure that is not a verdict (its `attempts`
    /// given): start it again once [`retry_delay`] has passed since the cancellation.
    Retry { attempts: i64 },
    /// The composition names a synthesizer that does not exist.
    MissingSynthesizer,
    /// The composition is being deleted: its output is being cleaned up, not regenerated.
    Deleting,
}

/// Why there is nothing to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NothingReason {
    /// A synthesis for the current composition generation is running.
    InFlight,
    /// The current synthesis matches both generations.
    UpToDate,
    /// The `eno.azure.io/cleanup` finalizer is not on the composition yet. Output written before
    /// it is there could outlive a deletion, so synthesis waits for it (as Eno does).
    AwaitingFinalizer,
    /// A synthesis already saw a newer synthesizer generation than the one given: that copy is
    /// a lagging cache, not a change (acting on it would re-run an old synthesis).
    SynthesizerBehind,
    /// A required input is missing or unusable, or the inputs are out of lockstep
    /// ([`crate::decide::inputs`]).
    WaitingForInputs,
    /// A composition it depends on is missing or not ready, or it is on a dependency cycle
    /// ([`crate::decide::dependencies`]).
    WaitingForDependencies,
}

/// Why a synthesis starts, in Eno's priority order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartReason {
    /// Never synthesized successfully, and nothing is running or failed.
    Initial,
    /// The composition's generation differs from what the last (or running) synthesis saw.
    CompositionModified,
    /// The synthesizer's generation differs from what the last synthesis ran with.
    SynthesizerModified,
    /// `eno.azure.io/force-resynthesis` names the latest synthesis.
    Forced,
    /// An input the last (or running) synthesis read has changed since.
    InputModified,
    /// An input whose ref has `defer: true` changed (and no other): rolled out with the cooldown.
    DeferredInputModified,
    /// The in-flight synthesis was canceled by a failure worth retrying, and its backoff passed.
    Retry,
}

impl StartReason {
    /// Whether a synthesis started for this reason is part of a rollout: paced by the
    /// cluster-wide cooldown ([`crate::decide::rollout`]) and marked `deferred`, as Eno's
    /// synthesizer and deferred-input changes are.
    pub fn deferred(self) -> bool {
        matches!(self, StartReason::SynthesizerModified | StartReason::DeferredInputModified)
    }
}

/// A completion that does not belong to the composition's in-flight synthesis: a stale or
/// superseded executor must not overwrite the status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompletionError {
    #[error("synthesis {uuid} is not in flight (in flight: {in_flight})")]
    NotInFlight { uuid: String, in_flight: String },
    #[error("synthesis {uuid} has already finished")]
    AlreadyFinished { uuid: String },
    #[error("synthesis {uuid} reported error results; record it with complete_failure")]
    HasErrors { uuid: String },
}

/// True for a synthesis that finished without success: its results hold an error (a verdict),
/// or it was canceled (a failure to retry; see the module docs).
pub fn is_failed(synthesis: &Synthesis) -> bool {
    synthesis.canceled.is_some() || synthesis.results.iter().any(KrmResult::is_error)
}

/// True for an in-flight synthesis that is still running.
pub fn is_running(synthesis: &Synthesis) -> bool {
    synthesis.canceled.is_none() && synthesis.synthesized.is_none()
}

fn generation(meta: &ObjectMeta) -> i64 {
    meta.generation.unwrap_or(0)
}

/// Decides whether to start a synthesis. First match wins: deleting, missing synthesizer, missing
/// finalizer, then the in-flight synthesis (running, or failed), then the current one.
pub fn next_synthesis(comp: &Composition, synth: Option<&Synthesizer>) -> SynthesisDecision {
    if comp.metadata.deletion_timestamp.is_some() {
        return SynthesisDecision::Deleting;
    }
    let Some(synth) = synth else {
        return SynthesisDecision::MissingSynthesizer;
    };
    let has_finalizer =
        comp.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|f| f == CLEANUP_FINALIZER));
    if !has_finalizer {
        return SynthesisDecision::Nothing(NothingReason::AwaitingFinalizer);
    }
    let comp_gen = generation(&comp.metadata);
    let synth_gen = generation(&synth.metadata);
    let status = comp.status.as_ref();
    let start = |reason| SynthesisDecision::Start { reason };
    let seen = status
        .into_iter()
        .flat_map(|s| [&s.in_flight_synthesis, &s.current_synthesis, &s.previous_synthesis])
        .flatten()
        .map(|s| s.observed_synthesizer_generation)
        .max();
    if seen.is_some_and(|seen| seen > synth_gen) {
        return SynthesisDecision::Nothing(NothingReason::SynthesizerBehind);
    }
    if forced(comp) {
        return start(StartReason::Forced);
    }

    if let Some(in_flight) = status.and_then(|s| s.in_flight_synthesis.as_ref()) {
        if in_flight.canceled.is_some() {
            // A change supersedes the retry: the new synthesis runs what changed, once.
            return judge_completed(in_flight, comp_gen, synth_gen, SynthesisDecision::Retry { attempts: in_flight.attempts });
        }
        if is_failed(in_flight) {
            return if in_flight.observed_composition_generation != comp_gen {
                start(StartReason::CompositionModified)
            } else if in_flight.observed_synthesizer_generation != synth_gen {
                start(StartReason::SynthesizerModified)
            } else {
                SynthesisDecision::WaitForModification
            };
        }
        if is_running(in_flight) {
            // A composition change supersedes a running synthesis: its output would be stale on
            // arrival. A synthesizer change does not (as in Eno): the current run finishes and
            // the current synthesis's generation check below picks the change up afterwards.
            return if in_flight.observed_composition_generation != comp_gen {
                start(StartReason::CompositionModified)
            } else {
                SynthesisDecision::Nothing(NothingReason::InFlight)
            };
        }
        // `synthesized` set but still in flight: the output is written and the status swap is
        // pending (or was interrupted); judge by what it saw, like a current synthesis.
        return judge_completed(
            in_flight,
            comp_gen,
            synth_gen,
            SynthesisDecision::Nothing(NothingReason::InFlight),
        );
    }

    match status.and_then(|s| s.current_synthesis.as_ref()) {
        Some(current) if current.synthesized.is_some() && is_failed(current) => {
            judge_completed(current, comp_gen, synth_gen, SynthesisDecision::WaitForModification)
        }
        Some(current) if current.synthesized.is_some() => {
            judge_completed(current, comp_gen, synth_gen, SynthesisDecision::Nothing(NothingReason::UpToDate))
        }
        _ => start(StartReason::Initial),
    }
}

/// The latest synthesis's uuid: the in-flight one's, else the current one's.
pub fn latest_uuid(comp: &Composition) -> Option<&str> {
    let status = comp.status.as_ref()?;
    status.in_flight_synthesis.as_ref().or(status.current_synthesis.as_ref()).map(|s| s.uuid.as_str())
}

/// Whether `eno.azure.io/force-resynthesis` asks for one more synthesis: it names the latest.
pub fn forced(comp: &Composition) -> bool {
    let asked = comp.metadata.annotations.as_ref().and_then(|a| a.get(FORCE_RESYNTHESIS));
    asked.is_some_and(|uuid| !uuid.is_empty() && Some(uuid.as_str()) == latest_uuid(comp))
}

/// A completed synthesis is outdated when either generation moved; a recorded synthesizer
/// generation of 0 means "unknown" and never triggers on its own (Eno's `0 < observed` check).
fn judge_completed(
    s: &Synthesis,
    comp_gen: i64,
    synth_gen: i64,
    otherwise: SynthesisDecision,
) -> SynthesisDecision {
    if s.observed_composition_generation != comp_gen {
        SynthesisDecision::Start { reason: StartReason::CompositionModified }
    } else if s.observed_synthesizer_generation != 0 && s.observed_synthesizer_generation != synth_gen {
        SynthesisDecision::Start { reason: StartReason::SynthesizerModified }
    } else {
        otherwise
    }
}

/// The first retry of a canceled synthesis waits this long; each further attempt twice as long.
pub const RETRY_BASE: std::time::Duration = std::time::Duration::from_secs(2);
/// No retry waits longer than this (plus jitter).
pub const RETRY_CAP: std::time::Duration = std::time::Duration::from_secs(300);

/// How long after its cancellation a synthesis that has run `attempts` times is started again:
/// capped exponential backoff, `RETRY_BASE · 2^(attempts−1)` up to `RETRY_CAP`, plus up to 20%
/// jitter derived from the synthesis's uuid (so compositions that failed together do not retry
/// together, and a replay waits the same).
pub fn retry_delay(attempts: i64, uuid: &str) -> std::time::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    let delay = RETRY_BASE.saturating_mul(1 << doublings).min(RETRY_CAP);
    let mut h = Fnv1a::new();
    h.write(uuid.bytes());
    delay + delay.mul_f64((h.finish() % 1000) as f64 / 5000.0)
}

/// The new `inFlightSynthesis` for a start: fresh UUID, the generations it runs with, the inputs
/// it will read. `attempts` counts consecutive runs for the same generations (so a restarted run
/// shows it was retried) and resets to 1 when anything changed. Only a rollout's start is
/// `deferred` (a retry is not paced, as in Eno).
pub fn begin(comp: &Composition, synth: &Synthesizer, uuid: String, reason: StartReason, now: Time) -> Synthesis {
    let comp_gen = generation(&comp.metadata);
    let synth_gen = generation(&synth.metadata);
    let status = comp.status.as_ref();
    let attempts = match status.and_then(|s| s.in_flight_synthesis.as_ref()) {
        Some(prev)
            if prev.observed_composition_generation == comp_gen
                && prev.observed_synthesizer_generation == synth_gen =>
        {
            prev.attempts.max(0).saturating_add(1)
        }
        _ => 1,
    };
    Synthesis {
        uuid,
        observed_composition_generation: comp_gen,
        observed_synthesizer_generation: synth_gen,
        initialized: Some(now),
        attempts,
        deferred: reason.deferred(),
        input_revisions: status.map(|s| s.input_revisions.clone()).unwrap_or_default(),
        ..Synthesis::default()
    }
}

/// A deterministic, uuid-shaped identifier from some parts (FNV-1a, twice): a synthesis is
/// named by what it synthesizes, so replays and the simulator get the same ids.
pub fn stable_uuid(parts: &[&str]) -> String {
    let hash = |basis: u64| {
        let mut h = Fnv1a::with_basis(basis);
        h.write(parts.iter().flat_map(|p| p.bytes().chain([0u8])));
        h.finish()
    };
    let (hi, lo) = (hash(Fnv1a::OFFSET_BASIS), hash(0x8422_2325_cbf2_9ce4));
    let h = format!("{hi:016x}{lo:016x}");
    format!("{}-{}-5{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// Whether this executor may run an in-flight synthesis now.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// Run it, after recording this claim (the in-flight synthesis with `claimed = now`).
    Take(Synthesis),
    /// Another executor claimed it and may still be running it: look again after this long.
    Held { retry_after: std::time::Duration },
}

/// Claims a running in-flight synthesis for an executor whose runs take at most `expiry`.
/// Unclaimed: take it. Claimed, and this executor has watched that same claim for less than
/// `expiry` (`watched`, by its own monotonic clock): someone is on it. Watched longer: that
/// executor died (a crash mid-run), so take it over as a further attempt.
///
/// A claim is judged by how long it has been watched, never by comparing its timestamp with
/// this executor's clock, as Kubernetes' leader election judges a lease: replicas' clocks may
/// disagree, and a clock ahead by more than the expiry would take over a live claim (found by
/// the simulator's clock skew). A restarted executor waits a whole expiry before taking over.
pub fn claim(in_flight: &Synthesis, now: &Time, expiry: std::time::Duration, watched: std::time::Duration) -> Claim {
    // The claim write tests the claim time it replaces, so that time must change: a replica
    // whose clock is behind the last claimer's (times are whole seconds) would otherwise write
    // the same time, and a second takeover of the same claim would pass the test too (found
    // by the sweep, with a clock 15 s behind).
    let at = match &in_flight.claimed {
        Some(previous) if previous.0 >= now.0 => Time(k8s_openapi::jiff::Timestamp::from_second(previous.0.as_second() + 1).unwrap_or(previous.0)),
        _ => now.clone(),
    };
    let claimed = Synthesis { claimed: Some(at), ..in_flight.clone() };
    if in_flight.claimed.is_none() {
        return Claim::Take(claimed);
    }
    match expiry.checked_sub(watched) {
        Some(left) if !left.is_zero() => Claim::Held { retry_after: left },
        _ => Claim::Take(Synthesis { attempts: in_flight.attempts.saturating_add(1), ..claimed }),
    }
}

fn in_flight_matching<'a>(
    status: &'a CompositionStatus,
    uuid: &str,
) -> Result<&'a Synthesis, CompletionError> {
    match &status.in_flight_synthesis {
        Some(s) if s.uuid == uuid => {
            if is_running(s) {
                Ok(s)
            } else {
                Err(CompletionError::AlreadyFinished { uuid: uuid.to_owned() })
            }
        }
        other => Err(CompletionError::NotInFlight {
            uuid: uuid.to_owned(),
            in_flight: other.as_ref().map_or_else(|| "none".to_owned(), |s| s.uuid.clone()),
        }),
    }
}

/// Records a successful synthesis: previous ← current ← in-flight (with its slices, results and
/// `synthesized = now`), in-flight cleared. `reconciled`/`ready` start unset: they describe the
/// new output, which nothing has reconciled yet.
pub fn complete_success(
    status: &CompositionStatus,
    in_flight_uuid: &str,
    slices: Vec<ResourceSliceRef>,
    results: Vec<KrmResult>,
    now: Time,
) -> Result<CompositionStatus, CompletionError> {
    let in_flight = in_flight_matching(status, in_flight_uuid)?;
    if results.iter().any(KrmResult::is_error) {
        return Err(CompletionError::HasErrors { uuid: in_flight_uuid.to_owned() });
    }
    let finished = Synthesis {
        synthesized: Some(now),
        reconciled: None,
        ready: None,
        canceled: None,
        resource_slices: slices,
        results,
        ..in_flight.clone()
    };
    Ok(CompositionStatus {
        previous_synthesis: status.current_synthesis.clone(),
        current_synthesis: Some(finished),
        in_flight_synthesis: None,
        ..status.clone()
    })
}

/// Cancels the in-flight synthesis after a failure that is not a verdict: it stays in flight
/// with `canceled = now` and `message` as its one (error) result, the last good synthesis
/// untouched, and is started again after [`retry_delay`] (see the module docs).
pub fn cancel(status: &CompositionStatus, in_flight_uuid: &str, message: String, now: Time) -> Result<CompositionStatus, CompletionError> {
    let in_flight = in_flight_matching(status, in_flight_uuid)?;
    let canceled = Synthesis { canceled: Some(now), results: vec![KrmResult::error(message)], ..in_flight.clone() };
    Ok(CompositionStatus { in_flight_synthesis: Some(canceled), ..status.clone() })
}

/// Records a failed synthesis as the current one (see the module docs for why): `synthesized =
/// now`, the synthesizer's results kept, and `message` (a failure the results do not describe:
/// exit code, timeout, unparsable or invalid output) appended as an error result. If nothing
/// describes the failure, a generic error result is added so the status always has one. The
/// last good synthesis's slices are carried over, so its resources stay managed as they are.
pub fn complete_failure(
    status: &CompositionStatus,
    in_flight_uuid: &str,
    results: Vec<KrmResult>,
    message: Option<String>,
    now: Time,
) -> Result<CompositionStatus, CompletionError> {
    let in_flight = in_flight_matching(status, in_flight_uuid)?;
    let mut results = results;
    if let Some(message) = message {
        results.push(KrmResult::error(message));
    }
    if !results.iter().any(KrmResult::is_error) {
        results.push(KrmResult::error("synthesis failed"));
    }
    let carried = status.current_synthesis.as_ref();
    let failed = Synthesis {
        synthesized: Some(now),
        canceled: None,
        results,
        resource_slices: carried.map(|c| c.resource_slices.clone()).unwrap_or_default(),
        reconciled: carried.and_then(|c| c.reconciled.clone()),
        ready: carried.and_then(|c| c.ready.clone()),
        ..in_flight.clone()
    };
    Ok(CompositionStatus {
        previous_synthesis: status.current_synthesis.clone(),
        current_synthesis: Some(failed),
        in_flight_synthesis: None,
        ..status.clone()
    })
}

#[cfg(test)]
mod tests;
