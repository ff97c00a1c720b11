//! The composition controller's decision: from a composition, its synthesizer and its slices,
//! the ONE next step: a write, an uncached read to make first, or nothing.
//!
//! Order of a pass, first match wins:
//!
//! 1. **Deleting.** Nothing while the `eno.azure.io/cleanup` finalizer is already gone. Until
//!    every resource of the current synthesis reports deleted (or orphaned; a deleting symphony
//!    leaves them in place), only the status. Then each slice's finalizer, and last the
//!    composition's: slices keep theirs until the composition lets go, so the manifests needed
//!    to delete resources can't vanish first.
//! 2. **Finalizer.** Added before anything else happens (output written before it is there
//!    could outlive a deletion).
//! 3. **Inputs.** `status.inputRevisions` follows the inputs observed ([`inputs::record`]:
//!    forward only); a synthesis starts only while every required input is there and usable and
//!    the inputs are in lockstep, and one starts when an input the last synthesis read changed.
//! 4. **Start a synthesis** when [`next_synthesis`] says so: the new in-flight synthesis, named
//!    by what it synthesizes ([`stable_uuid`]). A canceled synthesis is started again once this
//!    replica has watched its cancellation for [`retry_delay`] (its own monotonic clock, as
//!    claims are judged: replicas' wall clocks may disagree); until then the pass goes on and
//!    ends with [`Step::RequeueAfter`] the time left. A deferred synthesis (a synthesizer
//!    change, or a change to a `defer: true` input) is first admitted by the rollout
//!    ([`rollout::admit`]): the cluster-wide slot taken (one write), then the start; while the
//!    slot is busy the pass goes on and requeues, and a halted rollout is named in the status.
//!    Self-healing: a slice of the current synthesis confirmed gone asks for one more
//!    synthesis (`eno.azure.io/force-resynthesis`).
//! 5. **Unreferenced slices** (superseded, or written by a synthesis that never completed): a
//!    slice newer than the cached composition looks unreferenced too, and deleting the current
//!    synthesis's slice would strand its resources (found by the simulator), so this is
//!    decided again on the composition read uncached ([`Step::ReadFresh`]).
//! 6. **Status**: the simplified status and the current synthesis's reconciled/ready times,
//!    written only when they changed (a no-op pass makes no write), and then decided again on
//!    the slices and the synthesizer read uncached ([`Step::ReadStatusInputs`]).
//!
//! A composition missing from the cache gets [`release_orphaned_slice`] instead.
//!
//! The resource reconciler's writes (creations, patches, deletions) are fenced on the
//! composition too ([`fence_resource_write`]): they are decided on the cached composition and
//! re-checked against the composition read uncached.

use super::inputs::{self, Change};
use super::rollout::{self, Admission};
use super::dependencies;
use super::status::{aggregate, simplified, DELETING, MISSING_INPUTS, MISSING_SYNTHESIZER, SYNTHESIS_BACKOFF, SYNTHESIZING};
use super::step::{address, json, Fresh, Write};
use super::synthesis::{begin, next_synthesis, retry_delay, stable_uuid, NothingReason, StartReason, SynthesisDecision};
use crate::api::annotations::{FORCE_RESYNTHESIS, IGNORE_SIDE_EFFECTS, SYMPHONY_DELETING};
use crate::api::{Composition, CompositionStatus, ResourceSlice, Synthesizer, CLEANUP_FINALIZER};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::borrow::Borrow;
use std::sync::Arc;

/// What a pass observed: the informer caches, and the uncached read once asked for.
#[derive(Clone, Debug)]
pub struct Observed<'a> {
    /// The composition, from the cache.
    pub composition: &'a Composition,
    /// Its synthesizer, from the cache (`None`: missing).
    pub synthesizer: Option<&'a Synthesizer>,
    /// The current synthesis's slices from the cache; `None` while one is missing from it.
    pub current_slices: Option<&'a [ResourceSlice]>,
    /// Every cached slice the composition owns.
    pub owned_slices: &'a [Arc<ResourceSlice>],
    /// The synthesizer's inputs as bound and found (empty without a synthesizer).
    pub inputs: &'a inputs::Observed,
    /// The composition read uncached, once [`Step::ReadFresh`] asked for it.
    pub fresh: Fresh<&'a Composition>,
    /// What the status is made of, read uncached, once [`Step::ReadStatusInputs`] asked for it
    /// (the halt and the dependencies recomputed from uncached reads when the pass looked at the
    /// rollout, or something holds the composition back in the cache or in its status).
    pub fresh_status: Option<StatusInputs<'a>>,
    pub now: &'a Time,
    /// How long this replica has watched the in-flight synthesis's cancellation unchanged, once
    /// [`Step::WatchCancellation`] asked.
    pub cancellation_watched: Option<std::time::Duration>,
    /// How deferred syntheses are paced.
    pub pacing: Pacing<'a>,
    /// How old the current synthesis must be before a slice of it missing from the cache is
    /// taken for gone and healed (Eno's `--self-healing-grace-period`).
    pub self_healing_grace: std::time::Duration,
    /// What the pass saw of the rollout, once [`Step::ReadRollout`] asked.
    pub rollout: Option<&'a rollout::Seen>,
    /// What holds the composition back (from the cache): its dependencies (live), or the
    /// compositions depending on it (deleting); `None`: nothing.
    pub dependencies: Option<&'a dependencies::Hold>,
    /// Deliberate bug: release a deleted composition's finalizer without waiting for its
    /// resources (simulation build only; see `controllers::defects`).
    #[cfg(madsim)]
    pub early_finalizer_removal: bool,
    /// Deliberate bug: start a failed synthesis again although nothing changed.
    #[cfg(madsim)]
    pub retry_failed_synthesis: bool,
    /// Deliberate bug: retry a canceled synthesis without waiting out its backoff.
    #[cfg(madsim)]
    pub eager_retry: bool,
    /// Deliberate bug: a changed input does not resynthesize.
    #[cfg(madsim)]
    pub ignore_input_changes: bool,
    /// Deliberate bug: a lost slice is not healed.
    #[cfg(madsim)]
    pub no_self_healing: bool,
    /// Deliberate bug: inputs out of lockstep do not hold synthesis.
    #[cfg(madsim)]
    pub ignore_lockstep: bool,
    /// Deliberate bug: deferred syntheses start without the rollout slot.
    #[cfg(madsim)]
    pub skip_rollout_slot: bool,
    /// Deliberate bug: a composition synthesizes before its dependencies are ready.
    #[cfg(madsim)]
    pub ignore_dependencies: bool,
}

/// How deferred syntheses are paced ([`rollout`]).
#[derive(Clone, Copy, Debug)]
pub struct Pacing<'a> {
    /// At most one deferred synthesis starts per cooldown (zero: no pacing).
    pub cooldown: std::time::Duration,
    /// Where the rollout slot's Lease lives.
    pub lease_namespace: &'a str,
}

/// What a composition's status is made of besides the composition itself.
#[derive(Clone, Copy, Debug)]
pub struct StatusInputs<'a> {
    /// The current synthesis's slices (`None`: one is missing).
    pub slices: Option<&'a [ResourceSlice]>,
    /// The synthesizer (`None`: missing).
    pub synthesizer: Option<&'a Synthesizer>,
    /// Why the synthesizer's rollout is halted, for a composition waiting on it.
    pub halted: Option<&'a str>,
    /// What holds the composition back ([`Observed::dependencies`]).
    pub dependencies: Option<&'a dependencies::Hold>,
}

/// The next step of a pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Make this write; the pass is then done.
    Write { write: Write, why: Why },
    /// Read the composition uncached, then decide again with it (same cached inputs).
    ReadFresh,
    /// Read the status's inputs (the current slices, the synthesizer) uncached, then decide
    /// again with them.
    ReadStatusInputs,
    /// Say how long this replica has watched the cancellation `canceled` of synthesis `uuid`
    /// unchanged, then decide again with it.
    WatchCancellation { uuid: String, canceled: Time },
    /// Look at the rollout for deferred synthesis `uuid` ([`rollout::Seen`]: whether it is
    /// halted, and the slot read uncached), then decide again with it.
    ReadRollout { uuid: String },
    /// Nothing to do now; look again after this long (a canceled synthesis's retry comes due).
    RequeueAfter(std::time::Duration),
    /// Nothing to do.
    Done,
}

/// What a write is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Why {
    AddFinalizer,
    /// The composition is deleting and its resources are settled.
    ReleaseFinalizer,
    /// A slice's finalizer goes (the composition is deleting, or the slice is unreferenced). A
    /// slice already gone needs nothing more.
    ReleaseSlice,
    /// An unreferenced slice without a finalizer is deleted.
    DeleteSlice,
    StartSynthesis { reason: StartReason, uuid: String },
    /// The rollout slot is taken for deferred synthesis `uuid`, which starts next.
    TakeRolloutSlot { uuid: String },
    /// `status.inputRevisions` catches up with the inputs observed.
    RecordInputs,
    /// A slice of the current synthesis is gone: one more synthesis is asked for.
    SelfHeal,
    Status,
}

impl Why {
    /// Whether the write is done when its object turns out to be gone already.
    pub fn done_if_gone(&self) -> bool {
        matches!(self, Why::ReleaseSlice | Why::DeleteSlice)
    }
}

fn finalizers(meta: &ObjectMeta) -> Vec<String> {
    meta.finalizers.clone().unwrap_or_default()
}

fn holds_cleanup(meta: &ObjectMeta) -> bool {
    meta.finalizers.iter().flatten().any(|f| f == CLEANUP_FINALIZER)
}

fn resource_version(meta: &ObjectMeta) -> String {
    meta.resource_version.clone().unwrap_or_default()
}

fn write(write: Write, why: Why) -> Step {
    Step::Write { write, why }
}

/// The composition's next step.
pub fn decide(o: &Observed<'_>) -> Step {
    let comp = o.composition;
    let held = holds_cleanup(&comp.metadata);

    if comp.metadata.deletion_timestamp.is_some() {
        if !held {
            return Step::Done;
        }
        let symphony_deleting = comp.metadata.labels.as_ref().and_then(|l| l.get(SYMPHONY_DELETING)).is_some_and(|v| v == "true");
        // Deletion runs in reverse dependency order (a deleting symphony short-circuits it).
        if o.dependencies.is_some() && !symphony_deleting {
            return status_if_changed(o, None);
        }
        #[cfg(madsim)]
        let leave_resources = symphony_deleting || o.early_finalizer_removal;
        #[cfg(not(madsim))]
        let leave_resources = symphony_deleting;
        if !leave_resources && !resources_settled(o) {
            return status_if_changed(o, None);
        }
        if let Some(slice) = o.owned_slices.iter().find(|s| holds_cleanup(&s.metadata)) {
            return release_slice(slice);
        }
        let remaining = finalizers(&comp.metadata).into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
        return write(Write::SetFinalizers { target: address(comp), resource_version: resource_version(&comp.metadata), finalizers: remaining }, Why::ReleaseFinalizer);
    }

    if !held {
        let mut with = finalizers(&comp.metadata);
        with.push(CLEANUP_FINALIZER.to_string());
        return write(Write::SetFinalizers { target: address(comp), resource_version: resource_version(&comp.metadata), finalizers: with }, Why::AddFinalizer);
    }

    let recorded = comp.status.as_ref().map(|s| s.input_revisions.as_slice()).unwrap_or_default();
    let to_record = inputs::record(recorded, &o.inputs.revisions);
    if to_record != recorded {
        let status = CompositionStatus { input_revisions: to_record, ..comp.status.clone().unwrap_or_default() };
        return write(Write::ReplaceStatus { target: address(comp), resource_version: resource_version(&comp.metadata), status: json(&status) }, Why::RecordInputs);
    }

    let decision = with_dependencies(o, with_inputs(o, next_synthesis(comp, o.synthesizer), recorded));
    #[cfg(madsim)]
    let decision = match decision {
        SynthesisDecision::WaitForModification if o.retry_failed_synthesis => SynthesisDecision::Start { reason: StartReason::CompositionModified },
        decision => decision,
    };
    let mut retry_in = None;
    let mut halted = None;
    match (decision, o.synthesizer, comp.status.as_ref().and_then(|s| s.in_flight_synthesis.as_ref())) {
        (SynthesisDecision::Start { reason }, Some(synth), _) if reason.deferred() => {
            let uuid = synthesis_uuid(comp, synth, reason);
            let cooldown = o.pacing.cooldown;
            #[cfg(madsim)]
            let cooldown = if o.skip_rollout_slot { std::time::Duration::ZERO } else { cooldown };
            match rollout::admit(cooldown, o.rollout, &dependencies::key_of(comp), o.pacing.lease_namespace, o.now) {
                Admission::Start => return start(comp, synth, reason, uuid, o.now),
                Admission::Read => return Step::ReadRollout { uuid },
                Admission::Take(slot) => return write(slot, Why::TakeRolloutSlot { uuid }),
                Admission::Wait(after) => retry_in = Some(after),
                Admission::Halted(why) => {
                    // Lifted by a new synthesizer generation, or by the broken composition
                    // recovering, which queues only that composition: look again now and then.
                    retry_in = Some(HALT_RECHECK);
                    halted = Some(why);
                }
            }
        }
        (SynthesisDecision::Start { reason }, Some(synth), _) => return start(comp, synth, reason, synthesis_uuid(comp, synth, reason), o.now),
        (SynthesisDecision::Retry { attempts }, Some(synth), Some(canceled)) => {
            let delay = retry_delay(attempts, &canceled.uuid);
            #[cfg(madsim)]
            let delay = if o.eager_retry { std::time::Duration::ZERO } else { delay };
            match o.cancellation_watched {
                None => return Step::WatchCancellation { uuid: canceled.uuid.clone(), canceled: canceled.canceled.clone().unwrap_or_else(|| o.now.clone()) },
                Some(watched) if watched >= delay => return start(comp, synth, StartReason::Retry, synthesis_uuid(comp, synth, StartReason::Retry), o.now),
                Some(watched) => retry_in = Some(delay - watched),
            }
        }
        _ => {}
    }
    let requeue = match heal_missing_slice(o) {
        Heal::Now(step) => return step,
        Heal::Later(after) => Some(retry_in.map_or(after, |r| r.min(after))),
        Heal::Nothing => retry_in,
    };
    match (tidy(o, halted.as_deref()), requeue) {
        (Step::Done, Some(after)) => Step::RequeueAfter(after),
        (step, _) => step,
    }
}

/// The synthesis decision, with the inputs taken into account: none starts while they hold it
/// back, and one starts when an input the in-flight (or else the current) synthesis read has
/// changed since (superseding a running one, as Eno does).
fn with_inputs(o: &Observed<'_>, decision: SynthesisDecision, recorded: &[crate::api::InputRevisions]) -> SynthesisDecision {
    let Some(synth) = o.synthesizer else { return decision };
    let comp = o.composition;
    let lockstep_held = inputs::out_of_lockstep(synth, comp, recorded);
    #[cfg(madsim)]
    let lockstep_held = lockstep_held && !o.ignore_lockstep;
    let held = o.inputs.blocked().is_some() || lockstep_held;
    // A synthesizer change is a side effect too (Eno's `classifyOp`).
    let decision = match decision {
        SynthesisDecision::Start { reason: StartReason::SynthesizerModified } if ignores_side_effects(comp) => SynthesisDecision::Nothing(NothingReason::UpToDate),
        decision => decision,
    };
    match decision {
        SynthesisDecision::Start { .. } | SynthesisDecision::Retry { .. } if held => SynthesisDecision::Nothing(NothingReason::WaitingForInputs),
        SynthesisDecision::Nothing(NothingReason::InFlight | NothingReason::UpToDate) | SynthesisDecision::WaitForModification | SynthesisDecision::Retry { .. } if !held => {
            let status = comp.status.as_ref();
            let ran = status.and_then(|s| s.in_flight_synthesis.as_ref()).or_else(|| status.and_then(|s| s.current_synthesis.as_ref()));
            let ran_with = ran.map(|ran| ran.input_revisions.as_slice()).unwrap_or_default();
            let change = ran.and_then(|_| inputs::changed(synth, ran_with, recorded)).filter(|_| !ignores_side_effects(comp) || inputs::forced_change(ran_with, recorded));
            #[cfg(madsim)]
            let change = change.filter(|_| !o.ignore_input_changes);
            match change {
                Some(Change::Immediate) => SynthesisDecision::Start { reason: StartReason::InputModified },
                // A deferred change does not supersede a running synthesis (as Eno's): frequent
                // changes would otherwise keep any synthesis from finishing.
                Some(Change::Deferred) if decision != SynthesisDecision::Nothing(NothingReason::InFlight) => SynthesisDecision::Start { reason: StartReason::DeferredInputModified },
                _ => decision,
            }
        }
        decision => decision,
    }
}

/// The synthesis decision with the dependencies taken into account: none starts (nor retries)
/// while a dependency is missing or not ready, or the composition is on a dependency cycle.
fn with_dependencies(o: &Observed<'_>, decision: SynthesisDecision) -> SynthesisDecision {
    #[cfg(madsim)]
    if o.ignore_dependencies {
        return decision;
    }
    match decision {
        SynthesisDecision::Start { .. } | SynthesisDecision::Retry { .. } if o.dependencies.is_some() => SynthesisDecision::Nothing(NothingReason::WaitingForDependencies),
        decision => decision,
    }
}

/// `eno.azure.io/ignore-side-effects: "true"` on the composition: only its own changes (and a
/// forced resynthesis, or an input that insists) synthesize it, not its synthesizer's or its
/// inputs'.
fn ignores_side_effects(comp: &Composition) -> bool {
    comp.metadata.annotations.as_ref().and_then(|a| a.get(IGNORE_SIDE_EFFECTS)).is_some_and(|v| v == "true")
}

/// How soon a status decision waits for a synthesizer cache found behind the API server (the
/// informer's event for the newer synthesizer normally queues the composition sooner).
const SYNTHESIZER_CACHE_BEHIND: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a composition whose rollout is halted looks again.
const HALT_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// What self-healing asks for.
enum Heal {
    Now(Step),
    /// Look again after this long: the synthesis is too recent to tell.
    Later(std::time::Duration),
    Nothing,
}

/// Self-healing: a slice of the current synthesis is gone (confirmed uncached), so its
/// resources are no longer managed. The composition asks for one more synthesis, as Eno does,
/// by setting `eno.azure.io/force-resynthesis` to the current synthesis's uuid. Not while a
/// synthesis is in flight (it will write new slices) or one is already asked for, and not
/// within [`Observed::self_healing_grace`] of the synthesis by this replica's clock (a new
/// slice may not have reached the cache yet; the clock may be behind the writer's): then it
/// looks again once the grace is over.
fn heal_missing_slice(o: &Observed<'_>) -> Heal {
    #[cfg(madsim)]
    if o.no_self_healing {
        return Heal::Nothing;
    }
    let comp = o.composition;
    let Some(status) = comp.status.as_ref() else { return Heal::Nothing };
    let Some(current) = status.current_synthesis.as_ref() else { return Heal::Nothing };
    if o.current_slices.is_some() || current.resource_slices.is_empty() || status.in_flight_synthesis.is_some() || super::synthesis::forced(comp) {
        return Heal::Nothing;
    }
    let Some(synthesized) = current.synthesized.as_ref() else { return Heal::Nothing };
    let elapsed = std::time::Duration::from_secs(u64::try_from(o.now.0.as_second() - synthesized.0.as_second()).unwrap_or(0));
    if elapsed < o.self_healing_grace {
        return Heal::Later(o.self_healing_grace - elapsed);
    }
    match o.fresh_status {
        None => Heal::Now(Step::ReadStatusInputs),
        Some(StatusInputs { slices: None, .. }) => {
            let patch = serde_json::json!({"metadata": {"resourceVersion": resource_version(&comp.metadata), "annotations": {FORCE_RESYNTHESIS: current.uuid}}});
            Heal::Now(write(Write::Patch { target: address(comp), patch: crate::runtime::Patch::merge(patch) }, Why::SelfHeal))
        }
        Some(_) => Heal::Nothing,
    }
}

/// Unreferenced slices, then the status (`halted`: why a deferred synthesis cannot start, as
/// the cache shows it).
fn tidy(o: &Observed<'_>, halted: Option<&str>) -> Step {
    let comp = o.composition;
    if let Some(stale) = o.owned_slices.iter().find(|s| unreferenced(comp, s)) {
        let fresh = match o.fresh {
            Fresh::Unread => return Step::ReadFresh,
            Fresh::Read(None) => return Step::Done,
            Fresh::Read(Some(fresh)) => fresh,
        };
        if fresh.metadata.uid != comp.metadata.uid || !unreferenced(fresh, stale) {
            return Step::Done;
        }
        if holds_cleanup(&stale.metadata) {
            return release_slice(stale);
        }
        return write(Write::Delete { target: address(&**stale), uid: stale.metadata.uid.clone(), resource_version: None }, Why::DeleteSlice);
    }

    status_if_changed(o, halted)
}

/// A composition missing from the cache may still have slices holding the cleanup finalizer:
/// one written while it was being deleted, or one its release missed because the slice cache
/// had travelled back to before the slice existed (found by the simulator). Nothing else would
/// ever release them, so GC could not collect them. `orphans` are such cached slices (owned
/// by a composition of the key's name, holding the finalizer); the composition is read uncached
/// first, since a cache that lost it may be behind, and a slice goes only if its owner is
/// confirmed gone or replaced (Eno's slice cleanup does the same).
pub fn release_orphaned_slice(orphans: &[impl Borrow<ResourceSlice>], fresh: Fresh<&Composition>) -> Step {
    if orphans.is_empty() {
        return Step::Done;
    }
    let alive = match fresh {
        Fresh::Unread => return Step::ReadFresh,
        Fresh::Read(comp) => comp.and_then(|c| c.metadata.uid.as_deref()),
    };
    let owner_uid = |s: &ResourceSlice| s.metadata.owner_references.iter().flatten().find(|o| o.kind == "Composition").map(|o| o.uid.clone());
    match orphans.iter().map(Borrow::borrow).find(|s| owner_uid(s).as_deref() != alive) {
        Some(orphan) => release_slice(orphan),
        None => Step::Done,
    }
}

/// A new synthesis's uuid, derived from what it synthesizes (generations, inputs, and the
/// attempt), so a replayed pass names it the same.
fn synthesis_uuid(comp: &Composition, synth: &Synthesizer, reason: StartReason) -> String {
    let status = comp.status.clone().unwrap_or_default();
    let attempt = status.in_flight_synthesis.as_ref().map_or(0, |s| s.attempts);
    // The inputs it reads are part of what it synthesizes: a new input revision, a new name.
    let inputs: Vec<String> = status.input_revisions.iter().map(|r| format!("{}={}", r.key, r.resource_version)).collect();
    let mut parts = vec![
        comp.metadata.uid.clone().unwrap_or_default(),
        comp.metadata.generation.unwrap_or_default().to_string(),
        synth.metadata.generation.unwrap_or_default().to_string(),
        attempt.to_string(),
    ];
    parts.extend(inputs);
    // A forced synthesis runs what the latest one ran: the request it answers names it apart.
    if reason == StartReason::Forced {
        parts.push(format!("forced={}", super::synthesis::latest_uuid(comp).unwrap_or_default()));
    }
    stable_uuid(&parts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The status with a new in-flight synthesis named `uuid`.
fn start(comp: &Composition, synth: &Synthesizer, reason: StartReason, uuid: String, now: &Time) -> Step {
    let status = comp.status.clone().unwrap_or_default();
    let in_flight = begin(comp, synth, uuid.clone(), reason, now.clone());
    let next = super::status::with_own_simplified(comp, CompositionStatus { in_flight_synthesis: Some(in_flight), ..status });
    write(Write::ReplaceStatus { target: address(comp), resource_version: resource_version(&comp.metadata), status: json(&next) }, Why::StartSynthesis { reason, uuid })
}

fn release_slice(slice: &ResourceSlice) -> Step {
    let remaining = finalizers(&slice.metadata).into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
    write(Write::SetFinalizers { target: address(slice), resource_version: resource_version(&slice.metadata), finalizers: remaining }, Why::ReleaseSlice)
}

/// While deleting: every resource of the current synthesis reports deleted (or orphaned).
fn resources_settled(o: &Observed<'_>) -> bool {
    let Some(current) = o.composition.status.as_ref().and_then(|s| s.current_synthesis.as_ref()) else { return true };
    match o.current_slices {
        Some(slices) => aggregate(slices, current, true, o.now.clone()).0.is_some(),
        None => false,
    }
}

/// Whether `comp` (its current, previous and in-flight syntheses) no longer refers to `slice`.
fn unreferenced(comp: &Composition, slice: &ResourceSlice) -> bool {
    let status = comp.status.as_ref();
    let name = slice.metadata.name.as_deref().unwrap_or_default();
    let referenced = [status.and_then(|s| s.current_synthesis.as_ref()), status.and_then(|s| s.previous_synthesis.as_ref())]
        .into_iter()
        .flatten()
        .any(|s| s.resource_slices.iter().any(|r| r.name == name));
    let in_flight = status.and_then(|s| s.in_flight_synthesis.as_ref()).is_some_and(|s| s.uuid == slice.spec.synthesis_uuid);
    !referenced && !in_flight
}

/// The simplified status and the current synthesis's reconciled/ready times, if they changed.
/// A change is decided again on its inputs read uncached: two replicas whose caches of the
/// slices, the synthesizer, the other compositions of the synthesizer (a halted rollout) or the
/// dependencies disagree would otherwise rewrite each other's status for as long as they
/// disagree (found by the simulator: thousands of writes within a second).
fn status_if_changed(o: &Observed<'_>, halted: Option<&str>) -> Step {
    let comp = o.composition;
    let cached = StatusInputs { slices: o.current_slices, synthesizer: o.synthesizer, halted, dependencies: o.dependencies };
    if Some(&status_from(o, cached)) == comp.status.as_ref() {
        return Step::Done;
    }
    let Some(fresh) = o.fresh_status else { return Step::ReadStatusInputs };
    // Only a pass that looked at the rollout can name a halt (the fresh read recomputes it then).
    let fresh_synthesizer = fresh.synthesizer;
    let fresh = StatusInputs { halted: fresh.halted.filter(|_| o.rollout.is_some()), ..fresh };
    let status = status_from(o, fresh);
    if Some(&status) == comp.status.as_ref() {
        return Step::Done;
    }
    // Whether the composition waits on its synthesizer's rollout was decided on the cached
    // synthesizer: if that one has moved on, the fresh inputs judge a halt the pass never looked
    // at (or drop one it did). Two replicas so disagreeing rewrote each other's status
    // thousands of times within a second (found by the sweep): wait for the cache instead.
    let version = |s: Option<&Synthesizer>| s.map(|s| (s.metadata.uid.clone(), s.metadata.generation));
    if version(fresh_synthesizer) != version(o.synthesizer) {
        return Step::RequeueAfter(SYNTHESIZER_CACHE_BEHIND);
    }
    write(Write::ReplaceStatus { target: address(comp), resource_version: resource_version(&comp.metadata), status: json(&status) }, Why::Status)
}

/// The composition's status as `inputs` make it; what holds it back (a dependency, a halted
/// rollout) is named as its error.
fn status_from(o: &Observed<'_>, inputs: StatusInputs<'_>) -> CompositionStatus {
    let comp = o.composition;
    let mut status = comp.status.clone().unwrap_or_default();
    let deleting = comp.metadata.deletion_timestamp.is_some();
    let slices = inputs.slices.unwrap_or_default();
    if let Some(current) = status.current_synthesis.as_mut() {
        let (reconciled, ready) = aggregate(slices, current, deleting, o.now.clone());
        current.reconciled = reconciled;
        current.ready = ready;
    }
    let with_times = Composition { status: Some(status.clone()), ..comp.clone() };
    let mut simple = simplified(&with_times, inputs.synthesizer.is_some(), slices);
    // As Eno orders it: after deleting, a missing synthesizer and a synthesis in flight.
    if let Some(why) = o.inputs.blocked().filter(|_| ![DELETING, MISSING_SYNTHESIZER, SYNTHESIZING, SYNTHESIS_BACKOFF].contains(&simple.status.as_str())) {
        simple = crate::api::SimplifiedStatus { status: MISSING_INPUTS.to_string(), error: why };
    }
    status.dependency_status = inputs.dependencies.map(|hold| hold.status.clone());
    if let Some(hold) = inputs.dependencies {
        // As Eno: a composition never synthesized shows what it waits on as its state.
        if status.current_synthesis.is_none() && status.in_flight_synthesis.is_none() && !deleting && simple.status != MISSING_SYNTHESIZER {
            simple.status = dependencies::WAITING_ON_DEPENDENCIES.to_string();
        }
        if simple.error.is_empty() {
            simple.error = hold.message.clone();
        }
    }
    if let Some(why) = inputs.halted.filter(|_| simple.error.is_empty()) {
        simple.error = why.to_string();
    }
    status.simplified = Some(simple);
    status
}

/// A resource write the resource reconciler decided on the cached composition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceWrite {
    Create,
    /// A patch towards the cached current synthesis's manifest.
    Update,
    Delete,
}

/// What the fence makes of a resource write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fenced {
    /// Make it.
    Write,
    /// Drop it: the composition is gone, replaced, or (for a creation) deleting.
    Drop,
    /// Decide again once the cache catches up with the composition.
    CacheBehind,
}

/// Checks a resource write decided on `cached` against the composition read uncached (`None`:
/// gone). Creating is the one write that can undo a deletion: a replica whose cache has not
/// seen the composition's deletion must not bring its resources back (found by the simulator
/// with two replicas at once). Deleting on a stale cache could remove what a newer synthesis
/// brought back (found by the simulator): a deletion stands only if the synthesis it was
/// decided on is still current, or the composition is going anyway. Patching or creating on a
/// stale cache would put an older synthesis's content back over a newer one's, or bring back
/// a resource the newer one removed (both found by the sweep, with a replica whose cache lagged
/// seconds behind): those stand only if their synthesis is still current and the composition
/// is not going.
pub fn fence_resource_write(write: ResourceWrite, cached: &Composition, fresh: Option<&Composition>) -> Fenced {
    let Some(fresh) = fresh.filter(|f| f.metadata.uid == cached.metadata.uid) else { return Fenced::Drop };
    let deleting = fresh.metadata.deletion_timestamp.is_some();
    let current = |c: &Composition| c.status.as_ref().and_then(|s| s.current_synthesis.as_ref()).map(|s| s.uuid.clone());
    let superseded = current(fresh) != current(cached);
    match write {
        ResourceWrite::Create | ResourceWrite::Update if deleting => Fenced::Drop,
        ResourceWrite::Delete if deleting => Fenced::Write,
        _ if superseded => Fenced::CacheBehind,
        _ => Fenced::Write,
    }
}

#[cfg(test)]
mod tests;
