//! The synthesis runner's decision: one pass over a composition's in-flight synthesis as a
//! sequence of named steps, **Claim → RunSynthesizer → WriteSlices → RecordOutcome**. The
//! interpreter reports what each step found ([`Run::observe`]) and asks for the next one
//! ([`Run::next`]), a pure function of everything observed so far.
//!
//! Everything the runner acts on is read uncached: running a synthesizer is the one thing a
//! stale cache must never trigger (it would run a synthesis that already finished: a retry
//! nobody asked for), and a lagging synthesizer cache would run an older version than the one
//! the synthesis was started for, and record its output as that version's (found by the
//! simulator).
//!
//! - **Start**: the composition (its in-flight synthesis still running, the composition not
//!   deleting), its synthesizer, then the bound inputs: all before the claim, so a failing read
//!   costs a retry, not a held claim.
//! - **Claim**: a write conditioned on the in-flight synthesis being exactly what was read, so
//!   of two replicas (or one acting on a stale read) at most one runs it ([`super::claim`]).
//!   Held by another executor: look again once this executor has watched that same claim for
//!   its expiry (watched time, not timestamps: replicas' clocks may disagree). Lost (the
//!   composition changed under the claim): look again soon. Answered late (the process stalled
//!   or the request hung past [`CLAIM_MARGIN`]): not run on, since another executor may take
//!   it over before this run could end; look again soon.
//! - **RunSynthesizer**: the executor's side effect; its result is data ([`Ran`]).
//! - **WriteSlices** (successful output only), one slice per step, against a fresh read that
//!   shows the synthesis still in flight and the current synthesis's slices read uncached (a
//!   lagging cache would drop tombstones and strand removed resources). Slices are unreferenced
//!   until the status names them, and the composition controller removes unreferenced ones, so
//!   a retry or a crash here leaves no lasting litter.
//! - **RecordOutcome**: against a fresh read (the composition may have been written while the
//!   synthesizer ran), the status with the synthesis completed. A synthesis no longer in flight
//!   (superseded, canceled or already recorded) has its output dropped instead.
//!
//! This is the one pass that makes more than one write: the synthesizer's run is the expensive,
//! side-effecting step, so its output is written by the pass that produced it. A conflict or a
//! transient error while writing the output or recording the outcome starts that stage over,
//! from a fresh read, after a pause ([`Step::Retry`], up to [`PERSIST_ATTEMPTS`] tries) rather
//! than failing the pass: a failed pass would wait out the claim and run the synthesizer again,
//! which for a failed synthesis is exactly the retry that must not happen. A pass that gives up
//! anyway (the API server failing every try) leaves a [`Run::resumable`] copy of itself: the
//! next pass starts from it and persists the same output, without running the synthesizer
//! again, for as long as the in-flight synthesis still carries this pass's claim (found by the
//! simulator's bound on runs under a 19% error rate).

use super::{cancel, claim, complete_failure, complete_success, is_running, Claim, CompletionError};
use crate::api::{Composition, CompositionStatus, KrmResult, ResourceSlice, ResourceSliceRef, ResourceSliceSpec, Synthesis, Synthesizer, CLEANUP_FINALIZER};
use crate::decide::inputs::Bound;
use crate::decide::slices::{pack, MAX_SLICE_BYTES};
use crate::decide::step::{address, gvk, json, Fresh, Write};
use crate::runtime::{Backoff, ObjectRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use std::time::Duration;

/// How many times writing a synthesis's output (or recording its outcome) is tried before the
/// pass gives up.
const PERSIST_ATTEMPTS: u32 = 8;
/// Pauses before such retries: from 20ms, doubling up to 2s. The first is also how soon a lost
/// claim is looked at again.
const RETRY: Backoff = Backoff::new(Duration::from_millis(20), Duration::from_secs(2));
/// How much longer than its executor's run limit a claim is honoured. A run started within
/// this long of sending the claim ends (at its run limit) before anyone may take it over.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// What running the synthesizer produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Ran {
    /// The executor failed: exit status, timeout, unparsable or invalid output, ... A verdict
    /// (invalid output) is recorded as a failed synthesis; anything else cancels it for a retry.
    Failed { message: String, verdict: bool },
    /// The synthesizer's output. A result with severity `error` makes it a failure whose items
    /// are not written.
    Output { items: Vec<Value>, results: Vec<KrmResult> },
}

/// How a step failed, as far as the decision cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 409: the object changed under the write.
    Conflict,
    /// 422: e.g. a JSON-patch `test` that did not hold.
    Invalid,
    /// Throttling, server trouble, a lost connection: worth retrying as is.
    Transient,
    Other,
}

/// The next step of a pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Read the composition uncached.
    ReadComposition,
    /// Read the synthesizer uncached.
    ReadSynthesizer(ObjectRef),
    /// Read the bound inputs uncached; missing ones (or kinds not served) are left out.
    ReadInputs(Vec<Bound>),
    /// Say how long this executor has watched this claim of the synthesis unchanged (its own
    /// monotonic clock; zero for a claim it has not seen before).
    WatchClaim { uuid: String, claimed: Time },
    /// Make the claim write; on success this pass holds `claimed`.
    Claim { write: Write, claimed: Synthesis },
    /// Another executor holds the claim and may still be running it: look again after this.
    ClaimHeld { retry_after: Duration },
    /// The claim write lost (someone else claimed, recorded or replaced the synthesis, or an
    /// unrelated write landed): look again after this.
    ClaimLost { retry_after: Duration },
    /// The claim write was answered more than [`CLAIM_MARGIN`] after it was sent: another
    /// executor may take the claim over before a run started now could end, so the
    /// synthesizer is not run on it. Look again after this (the claim is then watched like any
    /// other, and taken again once it expires).
    ClaimAnsweredLate { retry_after: Duration },
    /// Run the synthesizer.
    RunSynthesizer { composition: Box<Composition>, synthesizer: Box<Synthesizer>, uuid: String, inputs: Vec<Value> },
    /// Read these slices (the current synthesis's) uncached; a missing one is left out.
    ReadCurrentSlices(Vec<ObjectRef>),
    /// Create the next slice of the output.
    WriteSlice(Write),
    /// Write the status with the synthesis completed.
    RecordOutcome(Write),
    /// Pause this long, then start the stage over from a fresh read.
    Retry(Duration),
    /// The synthesis is no longer in flight: what this pass produced is dropped.
    Superseded { uuid: String },
    /// The fresh status does not admit the outcome.
    Refused(CompletionError),
    /// End the pass with the error the last step met.
    Fail,
    Done,
}

/// What a step found.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    Composition(Option<Composition>),
    /// The synthesizer, with the longest one run of it can take on this executor.
    Synthesizer(Option<(Synthesizer, Duration)>),
    /// The inputs that exist, each annotated with its key.
    Inputs(Vec<Value>),
    /// How long the claim has been watched unchanged.
    ClaimWatched(Duration),
    /// The claim write succeeded, answered `round_trip` after it was sent (this executor's
    /// monotonic clock).
    Claimed { claimed: Synthesis, round_trip: Duration },
    Ran(Ran),
    CurrentSlices(Vec<ResourceSlice>),
    /// The name the server gave the slice just created.
    SliceCreated(String),
    Recorded,
    Failed(Failure),
    /// The pause of a [`Step::Retry`] is over.
    Paused,
}

/// One pass over a composition's in-flight synthesis: what it has observed so far.
#[derive(Clone, Debug, Default)]
pub struct Run {
    composition: Fresh<Composition>,
    synthesizer: Fresh<(Synthesizer, Duration)>,
    inputs: Option<Vec<Value>>,
    claim_watched: Option<Duration>,
    claimed: Option<Synthesis>,
    /// How long the claim write took to be answered.
    claim_round_trip: Duration,
    ran: Option<Ran>,
    writing: Stage,
    recording: Stage,
    recorded: bool,
    failure: Option<Failure>,
    /// Deliberate bug: run the synthesis without claiming it (simulation build only; see
    /// `controllers::defects`).
    #[cfg(madsim)]
    pub unfenced_claim: bool,
    /// Deliberate bug: a claim never expires, so a replica that dies between claiming and
    /// recording leaves the synthesis stuck (simulation build only).
    #[cfg(madsim)]
    pub claims_never_expire: bool,
    /// Deliberate bug: run inputs read out of lockstep (simulation build only).
    #[cfg(madsim)]
    pub ignore_lockstep: bool,
    /// Deliberate bug: run the synthesizer on a claim however late its write was answered
    /// (simulation build only).
    #[cfg(madsim)]
    pub run_late_claims: bool,
}

/// One try at writing the output or recording the outcome.
#[derive(Clone, Debug, Default)]
struct Stage {
    /// Tries that failed before this one.
    retries: u32,
    composition: Fresh<Composition>,
    current_slices: Option<Vec<ResourceSlice>>,
    created: Vec<ResourceSliceRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Start,
    WriteSlices,
    RecordOutcome,
}

impl Run {
    /// Records what the last step found.
    pub fn observe(&mut self, observation: Observation) {
        match observation {
            Observation::Composition(comp) => match self.phase() {
                Phase::Start => self.composition = Fresh::Read(comp),
                Phase::WriteSlices => self.writing.composition = Fresh::Read(comp),
                Phase::RecordOutcome => self.recording.composition = Fresh::Read(comp),
            },
            Observation::Synthesizer(synth) => self.synthesizer = Fresh::Read(synth),
            Observation::Inputs(inputs) => self.inputs = Some(inputs),
            Observation::ClaimWatched(watched) => self.claim_watched = Some(watched),
            Observation::Claimed { claimed, round_trip } => {
                self.claimed = Some(claimed);
                self.claim_round_trip = round_trip;
            }
            Observation::Ran(ran) => self.ran = Some(ran),
            Observation::CurrentSlices(slices) => self.writing.current_slices = Some(slices),
            Observation::SliceCreated(name) => self.writing.created.push(ResourceSliceRef { name }),
            Observation::Recorded => self.recorded = true,
            Observation::Failed(failure) => self.failure = Some(failure),
            Observation::Paused => {
                self.failure = None;
                let stage = if self.phase() == Phase::WriteSlices { &mut self.writing } else { &mut self.recording };
                *stage = Stage { retries: stage.retries + 1, ..Stage::default() };
            }
        }
    }

    /// What a later pass should start from when this one ends with [`Step::Fail`]: the same
    /// run, its output not yet recorded, with the failed stage to be tried afresh (slices
    /// already written for it are kept). `None` when nothing ran under this pass's claim.
    pub fn resumable(&self) -> Option<Run> {
        if self.ran.is_none() || self.claimed.is_none() || self.recorded {
            return None;
        }
        let writing = if self.output().is_some() { Stage { retries: 0, ..self.writing.clone() } } else { Stage::default() };
        Some(Run { writing, recording: Stage::default(), failure: None, ..self.clone() })
    }

    /// The next step; `now` is the time a claim or an outcome would carry.
    pub fn next(&self, now: &Time) -> Step {
        match self.phase() {
            Phase::Start => self.start(now),
            Phase::WriteSlices => self.write_slices(),
            Phase::RecordOutcome => self.record_outcome(now),
        }
    }

    fn phase(&self) -> Phase {
        match &self.ran {
            None => Phase::Start,
            Some(Ran::Output { results, .. }) if !results.iter().any(KrmResult::is_error) && self.output().is_none() => Phase::WriteSlices,
            Some(_) => Phase::RecordOutcome,
        }
    }

    /// The in-flight synthesis this pass runs, as first read.
    fn in_flight(&self) -> Option<&Synthesis> {
        let Fresh::Read(Some(comp)) = &self.composition else { return None };
        comp.status.as_ref()?.in_flight_synthesis.as_ref()
    }

    fn uuid(&self) -> &str {
        self.in_flight().map_or("", |s| s.uuid.as_str())
    }

    fn start(&self, now: &Time) -> Step {
        if let Some(failure) = self.failure {
            // Only the claim write fails without ending the pass.
            let claiming = self.inputs.is_some() && self.claimed.is_none();
            return match failure {
                Failure::Conflict | Failure::Invalid if claiming => Step::ClaimLost { retry_after: RETRY.pause(0) },
                _ => Step::Fail,
            };
        }
        let comp = match &self.composition {
            Fresh::Unread => return Step::ReadComposition,
            Fresh::Read(None) => return Step::Done,
            Fresh::Read(Some(comp)) => comp,
        };
        let Some(in_flight) = self.in_flight() else { return Step::Done };
        if comp.metadata.deletion_timestamp.is_some() || !is_running(in_flight) {
            return Step::Done;
        }
        // Started for an older spec: the composition controller supersedes it with a synthesis
        // of this one, so running it would run the synthesizer twice for the same spec (found
        // by the simulator's bound on runs, with the spec changing every half second).
        if comp.metadata.generation.unwrap_or_default() != in_flight.observed_composition_generation {
            return Step::Done;
        }
        let (synth, run_limit) = match &self.synthesizer {
            Fresh::Unread => return Step::ReadSynthesizer(ObjectRef::new(gvk::<Synthesizer>(), None, &comp.spec.synthesizer.name)),
            Fresh::Read(None) => return Step::Done,
            Fresh::Read(Some((synth, run_limit))) => (synth, *run_limit),
        };
        let Some(inputs) = &self.inputs else { return Step::ReadInputs(inputs_of(comp, synth)) };
        // As Eno's executor does: inputs read out of lockstep (one changed since the synthesis
        // started) are not synthesized. The synthesis stays in flight; the composition
        // controller supersedes it once the inputs it records agree again.
        if self.out_of_lockstep(comp, synth, inputs) {
            return Step::Done;
        }
        let claimed = match &self.claimed {
            Some(_) if self.claim_answered_late() => return Step::ClaimAnsweredLate { retry_after: RETRY.pause(0) },
            Some(claimed) => claimed,
            None if self.unfenced() => in_flight,
            None => {
                let watched = match (&in_flight.claimed, self.claim_watched) {
                    (Some(at), None) => return Step::WatchClaim { uuid: in_flight.uuid.clone(), claimed: at.clone() },
                    (_, watched) => watched.unwrap_or_default(),
                };
                return match claim(in_flight, now, self.claim_expiry(run_limit), watched) {
                    Claim::Held { retry_after } => Step::ClaimHeld { retry_after },
                    Claim::Take(claimed) => Step::Claim { write: Write::ClaimSynthesis { target: address(comp), read: in_flight.clone(), claimed: claimed.clone() }, claimed },
                }
            }
        };
        Step::RunSynthesizer { composition: Box::new(comp.clone()), synthesizer: Box::new(synth.clone()), uuid: claimed.uuid.clone(), inputs: inputs.clone() }
    }

    fn out_of_lockstep(&self, comp: &Composition, synth: &Synthesizer, inputs: &[Value]) -> bool {
        #[cfg(madsim)]
        if self.ignore_lockstep {
            return false;
        }
        let key = |i: &Value| i["metadata"]["annotations"][crate::api::annotations::INPUT_KEY_ANNOTATION].as_str().unwrap_or_default().to_string();
        let read: Vec<_> = inputs.iter().filter_map(|i| crate::decide::inputs::revisions_of(&key(i), i).ok()).collect();
        crate::decide::inputs::out_of_lockstep(synth, comp, &read)
    }

    /// How long a claim is honoured: the executor's run limit and a margin. The expiry is
    /// what makes claiming safe to crash after: another replica takes the synthesis over.
    fn claim_expiry(&self, run_limit: Duration) -> Duration {
        #[cfg(madsim)]
        if self.claims_never_expire {
            return Duration::from_secs(365 * 24 * 3600);
        }
        run_limit + CLAIM_MARGIN
    }

    fn claim_answered_late(&self) -> bool {
        #[cfg(madsim)]
        if self.run_late_claims {
            return false;
        }
        self.claim_round_trip > CLAIM_MARGIN
    }

    #[cfg(madsim)]
    fn unfenced(&self) -> bool {
        self.unfenced_claim
    }

    #[cfg(not(madsim))]
    fn unfenced(&self) -> bool {
        false
    }

    /// The output's items, when the run produced output to write.
    fn items(&self) -> &[Value] {
        match &self.ran {
            Some(Ran::Output { items, .. }) => items,
            _ => &[],
        }
    }

    /// The slices the output goes into, once the slices it replaces have been read.
    fn planned(&self) -> Option<Vec<ResourceSliceSpec>> {
        self.writing.current_slices.as_ref().map(|current| pack(self.items(), current, MAX_SLICE_BYTES))
    }

    /// The written output's slices, once every planned one is created.
    fn output(&self) -> Option<&[ResourceSliceRef]> {
        let planned = self.planned()?;
        (self.writing.created.len() == planned.len()).then_some(self.writing.created.as_slice())
    }

    /// The composition read fresh in `stage`, if its in-flight synthesis is still this one;
    /// otherwise the step that reads it or ends the pass.
    fn still_in_flight<'a>(&self, stage: &'a Stage) -> Result<&'a Composition, Step> {
        let fresh = match &stage.composition {
            Fresh::Unread => return Err(Step::ReadComposition),
            Fresh::Read(None) => return Err(Step::Done),
            Fresh::Read(Some(fresh)) => fresh,
        };
        let in_flight = fresh.status.as_ref().and_then(|s| s.in_flight_synthesis.as_ref());
        // A deleting composition's output is moot, and a slice created for it could outlive it:
        // its finalizer is released by the composition controller, which is gone once the
        // composition is (found by the simulator's leak check). A claim taken over (this pass
        // resumed after its executor's run limit) is the new holder's to persist.
        let ours = in_flight.is_some_and(|s| s.uuid == self.uuid() && self.claimed.as_ref().is_none_or(|c| c.claimed == s.claimed));
        if !ours || fresh.metadata.deletion_timestamp.is_some() {
            return Err(Step::Superseded { uuid: self.uuid().to_string() });
        }
        Ok(fresh)
    }

    /// After a failed step of `stage`: a conflict or transient error starts it over after a
    /// pause (doubling per try), until [`PERSIST_ATTEMPTS`] tries failed; anything else ends
    /// the pass. `Invalid` counts as a conflict: the outcome is recorded with a JSON-patch
    /// `test` on the resourceVersion, which answers 422 when a write landed since the fresh
    /// read (found by the simulator: failing the pass there re-ran the synthesizer once the
    /// claim expired).
    fn after_failure(stage: &Stage, failure: Failure) -> Step {
        let retryable = matches!(failure, Failure::Conflict | Failure::Invalid | Failure::Transient);
        if !retryable || stage.retries + 1 >= PERSIST_ATTEMPTS {
            return Step::Fail;
        }
        Step::Retry(RETRY.pause(stage.retries))
    }

    fn write_slices(&self) -> Step {
        if let Some(failure) = self.failure {
            return Self::after_failure(&self.writing, failure);
        }
        let fresh = match self.still_in_flight(&self.writing) {
            Ok(fresh) => fresh,
            Err(step) => return step,
        };
        let Some(planned) = self.planned() else { return Step::ReadCurrentSlices(current_slice_refs(fresh)) };
        match planned.into_iter().nth(self.writing.created.len()) {
            Some(spec) => Step::WriteSlice(Write::Create { object: slice_object(fresh, self.uuid(), spec) }),
            // Unreachable: all created means the phase is over.
            None => Step::Done,
        }
    }

    fn record_outcome(&self, now: &Time) -> Step {
        if self.recorded {
            return Step::Done;
        }
        if let Some(failure) = self.failure {
            return Self::after_failure(&self.recording, failure);
        }
        let fresh = match self.still_in_flight(&self.recording) {
            Ok(fresh) => fresh,
            Err(step) => return step,
        };
        let status = fresh.status.clone().unwrap_or_default();
        let (uuid, now) = (self.uuid(), now.clone());
        let next = match &self.ran {
            Some(Ran::Failed { message, verdict: true }) => complete_failure(&status, uuid, Vec::new(), Some(message.clone()), now),
            Some(Ran::Failed { message, verdict: false }) => cancel(&status, uuid, message.clone(), now),
            Some(Ran::Output { results, .. }) if results.iter().any(KrmResult::is_error) => complete_failure(&status, uuid, results.clone(), None, now),
            Some(Ran::Output { results, .. }) => complete_success(&status, uuid, self.output().unwrap_or_default().to_vec(), results.clone(), now),
            // Unreachable: recording follows a run.
            None => return Step::Done,
        };
        match next.map(|next| crate::decide::status::with_own_simplified(fresh, self.with_generation_run(next))) {
            Ok(next) => Step::RecordOutcome(Write::ReplaceStatus {
                target: address(fresh),
                resource_version: fresh.metadata.resource_version.clone().unwrap_or_default(),
                status: json(&next),
            }),
            Err(e) => Step::Refused(e),
        }
    }
}

impl Run {
    /// `status` with the recorded synthesis naming the synthesizer generation that actually
    /// ran, as Eno records it: the synthesizer may have changed between the synthesis's start
    /// and its run, and recording the older generation would start one more synthesis of what
    /// already ran (found by the simulator's bound on runs).
    fn with_generation_run(&self, mut status: CompositionStatus) -> CompositionStatus {
        let Fresh::Read(Some((synth, _))) = &self.synthesizer else { return status };
        let Some(generation) = synth.metadata.generation else { return status };
        let uuid = self.uuid();
        for s in [&mut status.current_synthesis, &mut status.in_flight_synthesis].into_iter().flatten().filter(|s| s.uuid == uuid) {
            s.observed_synthesizer_generation = generation;
        }
        status
    }
}

/// The synthesizer's bound inputs ([`crate::decide::inputs::bind`]). A ref that binds nothing
/// holds the composition before a synthesis starts; should one start anyway, it reads none.
fn inputs_of(comp: &Composition, synth: &Synthesizer) -> Vec<Bound> {
    crate::decide::inputs::bind(comp, synth).unwrap_or_default()
}

/// The current synthesis's slices: tombstones come from them.
fn current_slice_refs(comp: &Composition) -> Vec<ObjectRef> {
    let current = comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref());
    current.into_iter().flat_map(|c| &c.resource_slices).map(|r| ObjectRef::new(gvk::<ResourceSlice>(), comp.metadata.namespace.as_deref(), &r.name)).collect()
}

/// A new slice of synthesis `uuid`, owned by the composition (controller reference, so garbage
/// collection removes it once the composition is gone and its finalizer released).
fn slice_object(comp: &Composition, uuid: &str, mut spec: ResourceSliceSpec) -> Value {
    spec.synthesis_uuid = uuid.to_string();
    let name = comp.metadata.name.clone().unwrap_or_default();
    serde_json::json!({
        "apiVersion": gvk::<ResourceSlice>().api_version,
        "kind": "ResourceSlice",
        "metadata": {
            "generateName": format!("{name}-"),
            "namespace": comp.metadata.namespace,
            "finalizers": [CLEANUP_FINALIZER],
            "ownerReferences": [{
                "apiVersion": gvk::<Composition>().api_version, "kind": "Composition", "name": name,
                "uid": comp.metadata.uid, "controller": true, "blockOwnerDeletion": true
            }],
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests;
