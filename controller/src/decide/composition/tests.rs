use super::*;
use std::time::Duration;
use crate::api::{CompositionSpec, KrmResult, Manifest, ResourceSliceRef, ResourceSliceSpec, ResourceSliceStatus, ResourceState, Synthesis, SynthesizerRef, SynthesizerSpec};
use crate::decide::status::{DELETING, MISSING_SYNTHESIZER, READY};
use proptest::prelude::*;
use serde_json::json;

fn t(s: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap())
}

const NOW: i64 = 1_700_000_000;

fn comp(generation: i64, status: Option<CompositionStatus>) -> Composition {
    let mut c = Composition::new("c", CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() });
    c.metadata.namespace = Some("default".into());
    c.metadata.uid = Some("comp-uid".into());
    c.metadata.resource_version = Some("10".into());
    c.metadata.generation = Some(generation);
    c.metadata.finalizers = Some(vec![CLEANUP_FINALIZER.into()]);
    c.status = status;
    c
}

fn deleting(mut c: Composition) -> Composition {
    c.metadata.deletion_timestamp = Some(t(NOW - 60));
    c
}

fn synth(generation: i64) -> Synthesizer {
    let mut s = Synthesizer::new("s", SynthesizerSpec::default());
    s.metadata.generation = Some(generation);
    s
}

fn done(uuid: &str, comp_gen: i64, synth_gen: i64, slices: &[&str]) -> Synthesis {
    Synthesis {
        uuid: uuid.into(),
        observed_composition_generation: comp_gen,
        observed_synthesizer_generation: synth_gen,
        initialized: Some(t(NOW - 100)),
        synthesized: Some(t(NOW - 90)),
        attempts: 1,
        resource_slices: slices.iter().map(|n| ResourceSliceRef { name: n.to_string() }).collect(),
        ..Default::default()
    }
}

/// In flight, canceled by a failure worth retrying.
fn failed(uuid: &str, comp_gen: i64, synth_gen: i64) -> Synthesis {
    Synthesis { synthesized: None, canceled: Some(t(NOW - 80)), results: vec![KrmResult::error("boom")], ..done(uuid, comp_gen, synth_gen, &[]) }
}

fn current(synthesis: Synthesis) -> Option<CompositionStatus> {
    Some(CompositionStatus { current_synthesis: Some(synthesis), ..Default::default() })
}

/// A slice of synthesis `uuid` owned by the composition, holding one ConfigMap in `state`.
fn slice(name: &str, uuid: &str, finalizer: bool, state: Option<ResourceState>) -> ResourceSlice {
    let manifest = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}});
    let mut s = ResourceSlice::new(name, ResourceSliceSpec { synthesis_uuid: uuid.into(), resources: vec![Manifest { manifest: manifest.to_string(), deleted: false }] });
    s.metadata.namespace = Some("default".into());
    s.metadata.uid = Some(format!("uid-{name}"));
    s.metadata.resource_version = Some("5".into());
    s.metadata.finalizers = finalizer.then(|| vec![CLEANUP_FINALIZER.to_string()]);
    s.status = state.map(|state| ResourceSliceStatus { resources: vec![state] });
    s
}

fn reconciled(deleted: bool) -> Option<ResourceState> {
    Some(ResourceState { reconciled: true, deleted, ready: Some(t(NOW - 10)), ..Default::default() })
}

/// What a pass observes, owned; `decide` borrows it.
#[derive(Clone, Debug)]
struct Pass {
    comp: Composition,
    synth: Option<Synthesizer>,
    slices: Vec<ResourceSlice>,
    fresh: Fresh<Composition>,
    /// How long this replica has watched a canceled synthesis's cancellation.
    watched: Duration,
    inputs: crate::decide::inputs::Observed,
    /// The rollout cooldown, and the rollout as seen once asked for (`None`: the step asks).
    cooldown: Duration,
    rollout: Option<crate::decide::rollout::Seen>,
    /// What holds the composition back (its dependencies, or its dependents while deleting).
    dependencies: Option<crate::decide::dependencies::Hold>,
    /// `--self-healing-grace-period`.
    grace: Duration,
}

impl Pass {
    fn new(comp: Composition, slices: Vec<ResourceSlice>) -> Self {
        Pass { comp, synth: Some(synth(1)), slices, fresh: Fresh::Unread, watched: Duration::ZERO, inputs: Default::default(), cooldown: Duration::ZERO, rollout: None, dependencies: None, grace: Duration::from_secs(5) }
    }

    /// The current synthesis's slices as `World::current_slices` finds them in the cache.
    fn current_slices(&self) -> Option<Vec<ResourceSlice>> {
        let current = self.comp.status.as_ref()?.current_synthesis.as_ref()?;
        let found: Vec<ResourceSlice> = current.resource_slices.iter().filter_map(|r| self.slices.iter().find(|s| s.metadata.name.as_deref() == Some(&r.name)).cloned()).collect();
        (found.len() == current.resource_slices.len()).then_some(found)
    }

    /// The step; a status's inputs asked for uncached are found as cached (a cache that is up
    /// to date).
    fn decide(&self) -> Step {
        let current = self.current_slices();
        let inputs = StatusInputs { slices: current.as_deref(), synthesizer: self.synth.as_ref(), halted: self.rollout.as_ref().and_then(|r| r.halted.as_deref()), dependencies: self.dependencies.as_ref() };
        let (mut status, mut watched) = (None, None);
        loop {
            match self.decide_with(status, watched) {
                Step::ReadStatusInputs if status.is_none() => status = Some(inputs),
                Step::WatchCancellation { .. } if watched.is_none() => watched = Some(self.watched),
                step => return step,
            }
        }
    }

    fn decide_with(&self, fresh_status: Option<StatusInputs<'_>>, cancellation_watched: Option<Duration>) -> Step {
        let current = self.current_slices();
        let fresh = match &self.fresh {
            Fresh::Unread => Fresh::Unread,
            Fresh::Read(c) => Fresh::Read(c.as_ref()),
        };
        let owned: Vec<std::sync::Arc<ResourceSlice>> = self.slices.iter().cloned().map(std::sync::Arc::new).collect();
        decide(&Observed {
            composition: &self.comp,
            synthesizer: self.synth.as_ref(),
            current_slices: current.as_deref(),
            owned_slices: &owned,
            inputs: &self.inputs,
            fresh,
            fresh_status,
            now: &t(NOW),
            cancellation_watched,
            pacing: Pacing { cooldown: self.cooldown, lease_namespace: "eno" },
            self_healing_grace: self.grace,
            rollout: self.rollout.as_ref(),
            dependencies: self.dependencies.as_ref(),
            #[cfg(madsim)]
            early_finalizer_removal: false,
            #[cfg(madsim)]
            retry_failed_synthesis: false,
            #[cfg(madsim)]
            eager_retry: false,
            #[cfg(madsim)]
            ignore_input_changes: false,
            #[cfg(madsim)]
            no_self_healing: false,
            #[cfg(madsim)]
            ignore_lockstep: false,
            #[cfg(madsim)]
            skip_rollout_slot: false,
            #[cfg(madsim)]
            ignore_dependencies: false,
        })
    }

    /// The step, with the fresh read answered by `fresh` when the decision asks for one.
    fn decide_reading(&self, fresh: Option<Composition>) -> Step {
        match self.decide() {
            Step::ReadFresh => Pass { fresh: Fresh::Read(fresh), ..self.clone() }.decide(),
            step => step,
        }
    }
}

fn written_status(step: &Step) -> CompositionStatus {
    match step {
        Step::Write { write: Write::ReplaceStatus { status, .. }, .. } => serde_json::from_value(status.clone()).unwrap(),
        other => panic!("expected a status write, got {other:?}"),
    }
}

#[test]
fn the_finalizer_comes_first_and_keeps_others() {
    let mut c = comp(1, None);
    c.metadata.finalizers = Some(vec!["other".into()]);
    let step = Pass::new(c, vec![]).decide();
    assert_eq!(
        step,
        Step::Write {
            write: Write::SetFinalizers { target: address(&comp(1, None)), resource_version: "10".into(), finalizers: vec!["other".into(), CLEANUP_FINALIZER.into()] },
            why: Why::AddFinalizer,
        }
    );
}

#[test]
fn a_new_composition_starts_its_first_synthesis_conditioned_on_what_was_read() {
    let step = Pass::new(comp(3, None), vec![]).decide();
    let Step::Write { write: Write::ReplaceStatus { target, resource_version, .. }, why: Why::StartSynthesis { reason, uuid } } = &step else { panic!("expected a start, got {step:?}") };
    assert_eq!((target.name.as_str(), resource_version.as_str(), *reason), ("c", "10", StartReason::Initial));
    assert_eq!(uuid, &stable_uuid(&["comp-uid", "3", "1", "0"]), "named by what it synthesizes");
    let in_flight = written_status(&step).in_flight_synthesis.unwrap();
    assert_eq!((in_flight.uuid.as_str(), in_flight.observed_composition_generation, in_flight.initialized), (uuid.as_str(), 3, Some(t(NOW))));
}

#[test]
fn a_missing_synthesizer_starts_nothing_and_shows() {
    let mut pass = Pass::new(comp(1, None), vec![]);
    pass.synth = None;
    assert_eq!(written_status(&pass.decide()).simplified.unwrap().status, MISSING_SYNTHESIZER);
}

#[test]
fn a_failed_synthesis_waits_for_a_change() {
    let status = Some(CompositionStatus { in_flight_synthesis: Some(failed("u2", 1, 1)), ..current(done("u1", 1, 1, &[])).unwrap() });
    let step = Pass::new(comp(1, status.clone()), vec![]).decide();
    assert!(!matches!(step, Step::Write { why: Why::StartSynthesis { .. }, .. }), "{step:?}");
    let step = Pass::new(comp(2, status), vec![]).decide();
    assert!(matches!(step, Step::Write { why: Why::StartSynthesis { reason: StartReason::CompositionModified, .. }, .. }), "{step:?}");
}

#[test]
fn a_canceled_synthesis_is_started_again_once_its_backoff_was_watched() {
    let canceled = Synthesis { attempts: 3, ..failed("u2", 1, 1) };
    let delay = retry_delay(3, "u2");
    let c = comp(1, Some(CompositionStatus { in_flight_synthesis: Some(canceled), ..current(done("u1", 1, 1, &[])).unwrap() }));
    // First the status says it backs off, with the error.
    let pass = Pass::new(c.clone(), vec![]);
    let status = written_status(&pass.decide());
    let simplified = status.simplified.clone().unwrap();
    assert_eq!((simplified.status.as_str(), simplified.error.as_str()), (crate::decide::status::SYNTHESIS_BACKOFF, "boom"));
    // Then it waits out the rest of the backoff, by how long this replica has watched it.
    let backing_off = Pass { comp: Composition { status: Some(status), ..c }, ..pass };
    assert_eq!(backing_off.decide(), Step::RequeueAfter(delay));
    let watched = Duration::from_secs(5);
    assert_eq!(Pass { watched, ..backing_off.clone() }.decide(), Step::RequeueAfter(delay - watched));
    let step = Pass { watched: delay, ..backing_off }.decide();
    assert!(matches!(step, Step::Write { why: Why::StartSynthesis { reason: StartReason::Retry, .. }, .. }), "{step:?}");
    let retry = written_status(&step).in_flight_synthesis.unwrap();
    assert_eq!(retry.attempts, 4);
    assert!(retry.uuid != "u2" && crate::decide::synthesis::is_running(&retry), "a new attempt: {retry:?}");
}

#[test]
fn a_synthesizer_change_takes_the_rollout_slot_then_starts_a_deferred_synthesis() {
    use crate::decide::rollout::{spacing, Seen, Slot};
    let cooldown = Duration::from_secs(60);
    let changed = Pass { synth: Some(synth(2)), cooldown, ..Pass::new(comp(1, current(done("u1", 1, 1, &[]))), vec![]) };
    // It looks at the rollout first.
    assert!(matches!(changed.decide(), Step::ReadRollout { .. }), "{:?}", changed.decide());
    let seen = |lease: Option<k8s_openapi::api::coordination::v1::Lease>, watched: Duration, taken: Option<Duration>| Seen { halted: None, slot: Slot { lease, watched, taken_for_this: taken } };
    // Nobody holds the slot: it is created for this composition.
    let step = Pass { rollout: Some(seen(None, Duration::ZERO, None)), ..changed.clone() }.decide();
    let Step::Write { write: Write::Create { object }, why: Why::TakeRolloutSlot { .. } } = &step else { panic!("expected a take, got {step:?}") };
    assert_eq!(object["spec"]["holderIdentity"], "default/c");
    // Held and watched for less than the spacing: the pass goes on and looks again later.
    let lease: k8s_openapi::api::coordination::v1::Lease = serde_json::from_value(json!({"metadata": {"name": "eno-rollout", "namespace": "eno", "resourceVersion": "3"}})).unwrap();
    let busy = Pass { rollout: Some(seen(Some(lease.clone()), Duration::from_secs(4), None)), ..changed.clone() };
    let settled = Pass { comp: Composition { status: Some(written_status(&busy.decide())), ..busy.comp.clone() }, ..busy };
    assert_eq!(settled.decide(), Step::RequeueAfter(spacing(cooldown) - Duration::from_secs(4)));
    // Taken by this replica a moment ago: the synthesis starts, marked deferred.
    let step = Pass { rollout: Some(seen(Some(lease), Duration::ZERO, Some(Duration::from_millis(10)))), ..changed.clone() }.decide();
    assert!(matches!(step, Step::Write { why: Why::StartSynthesis { reason: StartReason::SynthesizerModified, .. }, .. }), "{step:?}");
    assert!(written_status(&step).in_flight_synthesis.unwrap().deferred);
    // A composition change is not deferred: it starts without the slot.
    let step = Pass { comp: comp(2, current(done("u1", 1, 1, &[]))), ..changed.clone() }.decide();
    assert!(matches!(step, Step::Write { why: Why::StartSynthesis { reason: StartReason::CompositionModified, .. }, .. }), "{step:?}");
    assert!(!written_status(&step).in_flight_synthesis.unwrap().deferred);
    // A halted rollout starts nothing and says why.
    let halted = Seen { halted: Some("rollout of synthesizer s generation 2 halted: it failed on composition default/x".into()), ..seen(None, Duration::ZERO, None) };
    let stopped = Pass { rollout: Some(halted), ..changed };
    let step = stopped.decide();
    let said = written_status(&step);
    assert!(said.simplified.as_ref().unwrap().error.contains("halted"), "{step:?}");
    // A replica whose cache still shows the halt, while uncached reads no longer do, does not
    // put the message back (two replicas would otherwise rewrite each other's status).
    let cleared = Composition { status: Some(CompositionStatus { simplified: Some(crate::api::SimplifiedStatus { status: "Ready".into(), error: String::new() }), ..said }), ..stopped.comp.clone() };
    let stale = Pass { comp: cleared, ..stopped };
    let fresh = StatusInputs { slices: Some(&[]), synthesizer: stale.synth.as_ref(), halted: None, dependencies: None };
    assert_eq!(stale.decide_with(Some(fresh), None), Step::RequeueAfter(Duration::from_secs(30)), "no write; it looks again later");
}

#[test]
fn a_deferred_input_change_waits_for_a_running_synthesis_and_then_for_the_slot() {
    let mut synthesizer = synth(1);
    synthesizer.spec.refs = vec![crate::api::Ref { key: "cfg".into(), defer: true, ..Default::default() }];
    let ran = Synthesis { input_revisions: vec![input("cfg", "7")], ..done("u1", 1, 1, &[]) };
    let status = CompositionStatus { input_revisions: vec![input("cfg", "9")], ..current(ran).unwrap() };
    let observed = crate::decide::inputs::Observed { revisions: vec![input("cfg", "9")], ..Default::default() };
    let idle = Pass { synth: Some(synthesizer), inputs: observed, cooldown: Duration::from_secs(60), ..Pass::new(comp(1, Some(status.clone())), vec![]) };
    assert!(matches!(idle.decide(), Step::ReadRollout { .. }), "{:?}", idle.decide());
    let running = Synthesis { synthesized: None, input_revisions: vec![input("cfg", "7")], ..done("u2", 1, 1, &[]) };
    let busy = Pass { comp: comp(1, Some(CompositionStatus { in_flight_synthesis: Some(running), ..status })), ..idle };
    assert!(!matches!(busy.decide(), Step::ReadRollout { .. } | Step::Write { why: Why::StartSynthesis { .. }, .. }), "{:?}", busy.decide());
}

#[test]
fn dependencies_hold_synthesis_and_dependents_hold_deletion() {
    use crate::decide::dependencies::{Hold, DEPENDENCY_NOT_READY, WAITING_ON_DEPENDENCIES, WAITING_ON_DEPENDENTS};
    let blocker = crate::api::BlockedBy { name: "db".into(), namespace: "default".into(), reason: DEPENDENCY_NOT_READY.into() };
    let waiting = Hold {
        status: crate::api::DependencyStatus { blocked: true, reason: WAITING_ON_DEPENDENCIES.into(), blocked_by: vec![blocker] },
        message: "WaitingOnDependencies: default/db (DependencyNotReady)".into(),
    };
    // Never synthesized: nothing starts, and the state says what it waits on.
    let step = Pass { dependencies: Some(waiting.clone()), ..Pass::new(comp(1, None), vec![]) }.decide();
    let status = written_status(&step);
    assert_eq!(status.dependency_status.as_ref(), Some(&waiting.status));
    let simplified = status.simplified.unwrap();
    assert_eq!((simplified.status.as_str(), simplified.error.as_str()), (WAITING_ON_DEPENDENCIES, waiting.message.as_str()));
    // Synthesized before: a change does not resynthesize while held; released, it does.
    let changed = Pass { dependencies: Some(waiting), ..Pass::new(comp(2, current(done("u1", 1, 1, &[]))), vec![]) };
    assert!(!matches!(changed.decide(), Step::Write { why: Why::StartSynthesis { .. }, .. }), "{:?}", changed.decide());
    let released = Pass { dependencies: None, ..changed };
    assert!(matches!(released.decide(), Step::Write { why: Why::StartSynthesis { .. }, .. }), "{:?}", released.decide());
    // Deleting with a dependent left: the finalizer stays, and the status says why.
    let dependent = Hold {
        status: crate::api::DependencyStatus { blocked: true, reason: WAITING_ON_DEPENDENTS.into(), blocked_by: vec![] },
        message: "WaitingOnDependents: default/app (DependentNotDeleted)".into(),
    };
    let going = Pass { dependencies: Some(dependent.clone()), ..Pass::new(deleting(comp(1, current(done("u1", 1, 1, &[])))), vec![]) };
    let status = written_status(&going.decide());
    assert_eq!(status.dependency_status, Some(dependent.status));
    let settled = Pass { comp: Composition { status: Some(status), ..going.comp.clone() }, ..going };
    assert_eq!(settled.decide(), Step::Done, "the finalizer is kept while a dependent remains");
}

fn input(key: &str, rv: &str) -> crate::api::InputRevisions {
    crate::api::InputRevisions { key: key.into(), resource_version: rv.into(), ..Default::default() }
}

#[test]
fn inputs_are_recorded_then_a_change_resynthesizes_and_a_missing_one_holds_synthesis() {
    let ran = Synthesis { input_revisions: vec![input("cfg", "7")], ..done("u1", 1, 1, &[]) };
    let c = comp(1, Some(CompositionStatus { input_revisions: vec![input("cfg", "7")], ..current(ran).unwrap() }));
    let seen = |rv: &str| crate::decide::inputs::Observed { revisions: vec![input("cfg", rv)], ..Default::default() };
    // Unchanged: nothing starts.
    let pass = Pass { inputs: seen("7"), ..Pass::new(c.clone(), vec![]) };
    assert!(!matches!(pass.decide(), Step::Write { why: Why::StartSynthesis { .. } | Why::RecordInputs, .. }));
    // Changed: first recorded, then resynthesized with the recorded revisions.
    let pass = Pass { inputs: seen("9"), ..pass };
    let step = pass.decide();
    assert!(matches!(step, Step::Write { why: Why::RecordInputs, .. }), "{step:?}");
    let recorded = Pass { comp: Composition { status: Some(written_status(&step)), ..c.clone() }, ..pass.clone() };
    let step = recorded.decide();
    assert!(matches!(step, Step::Write { why: Why::StartSynthesis { reason: StartReason::InputModified, .. }, .. }), "{step:?}");
    assert_eq!(written_status(&step).in_flight_synthesis.unwrap().input_revisions, vec![input("cfg", "9")]);
    // An older state (a cache that travelled back) is not recorded.
    assert!(!matches!(Pass { inputs: seen("5"), ..pass.clone() }.decide(), Step::Write { why: Why::RecordInputs, .. }));
    // Missing: dropped from the record, MissingInputs, and nothing starts even when modified.
    let missing = crate::decide::inputs::Observed { missing: vec!["cfg".into()], ..Default::default() };
    let step = Pass { inputs: missing.clone(), ..pass.clone() }.decide();
    let status = written_status(&step);
    assert!(status.input_revisions.is_empty());
    let gone = Pass { comp: comp(2, Some(status)), inputs: missing, ..pass };
    let step = gone.decide();
    let simplified = written_status(&step).simplified.unwrap();
    assert_eq!((simplified.status.as_str(), simplified.error.as_str()), (crate::decide::status::MISSING_INPUTS, "missing inputs: cfg"));
}

#[test]
fn force_resynthesis_fires_once_and_a_missing_slice_asks_for_it() {
    use crate::api::annotations::FORCE_RESYNTHESIS;
    let mut c = comp(1, current(done("u1", 1, 1, &["c-1"])));
    c.metadata.annotations = Some([(FORCE_RESYNTHESIS.to_string(), "u1".to_string())].into());
    let step = Pass::new(c.clone(), vec![slice("c-1", "u1", true, reconciled(false))]).decide();
    assert!(matches!(step, Step::Write { why: Why::StartSynthesis { reason: StartReason::Forced, .. }, .. }), "{step:?}");
    let started = written_status(&step).in_flight_synthesis.unwrap();
    assert_ne!(started.uuid, "u1");
    // Once the new synthesis is the latest, the annotation names an older one: nothing more.
    let after = Composition { status: Some(CompositionStatus { current_synthesis: Some(Synthesis { uuid: started.uuid.clone(), ..done("u1", 1, 1, &["c-2"]) }), ..Default::default() }), ..c.clone() };
    let step = Pass::new(after, vec![slice("c-2", &started.uuid, true, reconciled(false))]).decide();
    assert!(!matches!(step, Step::Write { why: Why::StartSynthesis { .. }, .. }), "{step:?}");

    // A slice of the current synthesis gone (also uncached), long enough after it was written.
    let healthy = comp(1, current(done("u1", 1, 1, &["c-1"])));
    let step = Pass::new(healthy.clone(), vec![]).decide();
    let Step::Write { write: Write::Patch { patch, .. }, why: Why::SelfHeal } = step else { panic!("expected the annotation: {step:?}") };
    assert_eq!(patch.body["metadata"]["annotations"][FORCE_RESYNTHESIS], "u1");
    assert_eq!(patch.body["metadata"]["resourceVersion"], "10");
    // Just synthesized: the cache may not have the slice yet.
    let fresh = comp(1, current(Synthesis { synthesized: Some(t(NOW - 2)), ..done("u1", 1, 1, &["c-1"]) }));
    assert!(!matches!(Pass::new(fresh, vec![]).decide(), Step::Write { why: Why::SelfHeal, .. }));
}

#[test]
fn self_healing_waits_out_its_grace_period() {
    // Synthesized 90 s ago, a slice lost: with Eno's 5 minutes, not yet; it looks again when
    // the grace is over.
    let mut lost = comp(1, current(done("u1", 1, 1, &["c-1"])));
    // Its status already says so: the pass has nothing else to write.
    lost.status.as_mut().unwrap().simplified = Some(crate::api::SimplifiedStatus { status: "Reconciling".into(), error: String::new() });
    let patient = Pass { grace: Duration::from_secs(300), ..Pass::new(lost.clone(), vec![]) };
    assert_eq!(patient.decide(), Step::RequeueAfter(Duration::from_secs(210)));
    let exactly = Pass { grace: Duration::from_secs(90), ..Pass::new(lost.clone(), vec![]) };
    assert!(matches!(exactly.decide(), Step::Write { why: Why::SelfHeal, .. }), "a synthesis as old as the grace heals");
    let eager = Pass { grace: Duration::ZERO, ..Pass::new(lost, vec![]) };
    assert!(matches!(eager.decide(), Step::Write { why: Why::SelfHeal, .. }));
}

#[test]
fn a_composition_that_ignores_side_effects_resynthesizes_only_for_its_own_changes() {
    use crate::decide::inputs::IGNORE_SIDE_EFFECTS;
    let ran = Synthesis { input_revisions: vec![input("cfg", "7")], ..done("u1", 1, 1, &[]) };
    let mut c = comp(1, Some(CompositionStatus { input_revisions: vec![input("cfg", "9")], ..current(ran).unwrap() }));
    c.metadata.annotations = Some([(IGNORE_SIDE_EFFECTS.to_string(), "true".to_string())].into());
    let starts = |pass: &Pass| matches!(pass.decide(), Step::Write { why: Why::StartSynthesis { .. }, .. });
    let seen = crate::decide::inputs::Observed { revisions: vec![input("cfg", "9")], ..Default::default() };
    let pass = Pass { inputs: seen, ..Pass::new(c.clone(), vec![]) };
    assert!(!starts(&pass), "an input change");
    assert!(!starts(&Pass { synth: Some(synth(2)), ..pass.clone() }), "a synthesizer change");
    assert!(starts(&Pass { comp: Composition { metadata: ObjectMeta { generation: Some(2), ..c.metadata.clone() }, ..c.clone() }, ..pass.clone() }), "its own change");
    // An input that insists (ignore-side-effects: "false") still counts.
    let insisting = crate::api::InputRevisions { ignore_side_effects: Some(false), ..input("cfg", "9") };
    let mut forced = c.clone();
    forced.status.as_mut().unwrap().input_revisions = vec![insisting.clone()];
    assert!(starts(&Pass { comp: forced, inputs: crate::decide::inputs::Observed { revisions: vec![insisting], ..Default::default() }, ..pass }));
}

#[test]
fn status_is_written_once_and_then_left_alone() {
    let c = comp(1, current(done("u1", 1, 1, &["c-1"])));
    let pass = Pass::new(c.clone(), vec![slice("c-1", "u1", true, reconciled(false))]);
    let status = written_status(&pass.decide());
    let cur = status.current_synthesis.as_ref().unwrap();
    assert_eq!((cur.reconciled.clone(), cur.ready.clone()), (Some(t(NOW)), Some(t(NOW - 10))));
    assert_eq!(status.simplified.as_ref().unwrap().status, READY);
    let updated = Pass { comp: Composition { status: Some(status), ..c }, ..pass };
    assert_eq!(updated.decide(), Step::Done, "a pass with nothing new makes no write");
}

#[test]
fn a_status_change_is_decided_on_its_inputs_read_uncached() {
    let c = comp(1, current(done("u1", 1, 1, &["c-1"])));
    let stale = slice("c-1", "u1", true, None);
    let fresh = slice("c-1", "u1", true, reconciled(false));
    let s = synth(1);
    // The cache says the resources are not reconciled yet; the status it would write differs
    // from the composition's, so its inputs are read first.
    let pass = Pass::new(c.clone(), vec![stale.clone()]);
    assert_eq!(pass.decide_with(None, None), Step::ReadStatusInputs);
    // They are reconciled: the status says so, not what the lagging cache said.
    let read = |slices: &[ResourceSlice]| pass.decide_with(Some(StatusInputs { slices: Some(slices), synthesizer: Some(&s), halted: None, dependencies: None }), None);
    let status = written_status(&read(std::slice::from_ref(&fresh)));
    assert_eq!(status.current_synthesis.unwrap().reconciled, Some(t(NOW)));
    // Another replica already wrote the status the fresh inputs make: nothing to write, even
    // though this replica's cache disagrees (the two would otherwise rewrite each other).
    let settled = written_status(&Pass::new(c.clone(), vec![fresh.clone()]).decide());
    let behind = Pass::new(Composition { status: Some(settled.clone()), ..c.clone() }, vec![stale]);
    assert_eq!(behind.decide_with(Some(StatusInputs { slices: Some(std::slice::from_ref(&fresh)), synthesizer: Some(&s), halted: None, dependencies: None }), None), Step::Done);
    // The same for the synthesizer: a cache that lost it does not make the status say it is
    // missing while it exists.
    let lost_synth = Pass { synth: None, ..Pass::new(Composition { status: Some(settled), ..c.clone() }, vec![fresh.clone()]) };
    assert_eq!(lost_synth.decide_with(None, None), Step::ReadStatusInputs);
    assert_eq!(lost_synth.decide_with(Some(StatusInputs { slices: Some(std::slice::from_ref(&fresh)), synthesizer: Some(&s), halted: None, dependencies: None }), None), Step::Done);
    let gone = written_status(&lost_synth.decide_with(Some(StatusInputs { slices: Some(std::slice::from_ref(&fresh)), synthesizer: None, halted: None, dependencies: None }), None));
    assert_eq!(gone.simplified.unwrap().status, MISSING_SYNTHESIZER);
    // A slice gone from the server counts as missing, as it does in the cache.
    let missing = written_status(&pass.decide_with(Some(StatusInputs { slices: None, synthesizer: Some(&s), halted: None, dependencies: None }), None));
    assert_eq!(missing.current_synthesis.unwrap().reconciled, None);
    // A status to write from a synthesizer newer than the one the pass decided on waits for the
    // cache: the pass's other decisions (the rollout it looked at or not) came from the old one.
    let newer = synth(2);
    assert_eq!(pass.decide_with(Some(StatusInputs { slices: Some(std::slice::from_ref(&fresh)), synthesizer: Some(&newer), halted: None, dependencies: None }), None), Step::RequeueAfter(SYNTHESIZER_CACHE_BEHIND));
}

#[test]
fn an_unreferenced_slice_is_decided_on_a_fresh_read() {
    let c = comp(1, current(done("u2", 1, 1, &["c-2"])));
    let slices = vec![slice("c-1", "u1", true, reconciled(false)), slice("c-2", "u2", true, reconciled(false))];
    let pass = Pass::new(c, slices);
    assert_eq!(pass.decide(), Step::ReadFresh);
    assert_eq!(pass.decide_reading(None), Step::Done, "gone: nothing to clean up");
    let mut namesake = pass.comp.clone();
    namesake.metadata.uid = Some("another".into());
    assert_eq!(pass.decide_reading(Some(namesake)), Step::Done, "a namesake's slices are not ours to judge");
    // The cache lagged: the fresh composition's current synthesis is the one that wrote c-1.
    let newer = comp(1, current(done("u1", 1, 1, &["c-1"])));
    assert_eq!(pass.decide_reading(Some(newer)), Step::Done);
    let step = pass.decide_reading(Some(pass.comp.clone()));
    assert_eq!(
        step,
        Step::Write {
            write: Write::SetFinalizers { target: address(&pass.slices[0]), resource_version: "5".into(), finalizers: vec![] },
            why: Why::ReleaseSlice
        }
    );
    // Once released, it is deleted with a uid precondition.
    let mut released = pass.clone();
    released.slices[0].metadata.finalizers = None;
    assert_eq!(
        released.decide_reading(Some(released.comp.clone())),
        Step::Write { write: Write::Delete { target: address(&pass.slices[0]), uid: Some("uid-c-1".into()), resource_version: None }, why: Why::DeleteSlice }
    );
}

#[test]
fn slices_of_the_in_flight_synthesis_are_kept() {
    let status = Some(CompositionStatus { in_flight_synthesis: Some(Synthesis { synthesized: None, ..done("u2", 2, 1, &[]) }), ..current(done("u1", 1, 1, &[])).unwrap() });
    let c = comp(2, status);
    let pass = Pass::new(c, vec![slice("c-2", "u2", true, None)]);
    assert!(matches!(pass.decide(), Step::Write { why: Why::Status, .. } | Step::Done));
}

#[test]
fn deletion_waits_for_resources_then_releases_slices_then_the_composition() {
    let c = deleting(comp(1, current(done("u1", 1, 1, &["c-1"]))));
    let mut pass = Pass::new(c, vec![slice("c-1", "u1", true, reconciled(false))]);
    let status = written_status(&pass.decide());
    assert_eq!(status.simplified.unwrap().status, DELETING);
    pass.comp.status = Some(written_status(&pass.decide()));
    assert_eq!(pass.decide(), Step::Done, "waiting for the resource to be deleted");
    // A slice missing from the cache is not settled either.
    let missing = Pass { slices: vec![], ..pass.clone() };
    assert!(!matches!(missing.decide(), Step::Write { why: Why::ReleaseFinalizer | Why::ReleaseSlice, .. }));

    pass.slices[0].status = Some(ResourceSliceStatus { resources: vec![reconciled(true).unwrap()] });
    assert!(matches!(pass.decide(), Step::Write { why: Why::ReleaseSlice, .. }));
    pass.slices[0].metadata.finalizers = None;
    pass.comp.metadata.finalizers = Some(vec!["other".into(), CLEANUP_FINALIZER.into()]);
    assert_eq!(
        pass.decide(),
        Step::Write { write: Write::SetFinalizers { target: address(&pass.comp), resource_version: "10".into(), finalizers: vec!["other".into()] }, why: Why::ReleaseFinalizer }
    );
    pass.comp.metadata.finalizers = Some(vec!["other".into()]);
    assert_eq!(pass.decide(), Step::Done);
}

#[test]
fn a_deleting_symphony_leaves_the_resources_and_lets_go_at_once() {
    let mut c = deleting(comp(1, current(done("u1", 1, 1, &["c-1"]))));
    c.metadata.labels = Some([(SYMPHONY_DELETING.to_string(), "true".to_string())].into());
    let pass = Pass::new(c, vec![slice("c-1", "u1", false, reconciled(false))]);
    assert!(matches!(pass.decide(), Step::Write { why: Why::ReleaseFinalizer, .. }));
}

#[test]
fn resource_writes_are_fenced_on_the_fresh_composition() {
    use ResourceWrite::{Create, Delete, Update};
    let cached = comp(1, current(done("u1", 1, 1, &[])));
    let mut namesake = cached.clone();
    namesake.metadata.uid = Some("another".into());
    let newer = comp(2, current(done("u2", 2, 1, &[])));
    for write in [Create, Update, Delete] {
        assert_eq!(fence_resource_write(write, &cached, None), Fenced::Drop, "gone");
        assert_eq!(fence_resource_write(write, &cached, Some(&namesake)), Fenced::Drop, "replaced");
        assert_eq!(fence_resource_write(write, &cached, Some(&cached)), Fenced::Write);
    }
    // Deleting: no resource comes back, but deletions go ahead whatever the synthesis.
    let going = deleting(newer.clone());
    assert_eq!(fence_resource_write(Create, &cached, Some(&going)), Fenced::Drop);
    assert_eq!(fence_resource_write(Delete, &cached, Some(&going)), Fenced::Write);
    assert_eq!(fence_resource_write(Update, &cached, Some(&going)), Fenced::Drop, "a going composition's resources are not brought up to date");
    // A newer synthesis than the one the write was decided on: the cache is behind (a patch
    // would put older content back, a creation bring back what the newer one removed).
    for write in [Create, Update, Delete] {
        assert_eq!(fence_resource_write(write, &cached, Some(&newer)), Fenced::CacheBehind);
    }
}

#[test]
fn only_slice_writes_are_done_when_their_object_is_gone() {
    assert!(Why::ReleaseSlice.done_if_gone() && Why::DeleteSlice.done_if_gone());
    assert!(!Why::ReleaseFinalizer.done_if_gone() && !Why::AddFinalizer.done_if_gone() && !Why::Status.done_if_gone());
}

/// A slice of `slice(...)` owned by the composition with this uid.
fn owned_by(mut s: ResourceSlice, uid: &str) -> ResourceSlice {
    s.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
        api_version: "eno.azure.io/v1".into(),
        kind: "Composition".into(),
        name: "c".into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    s
}

#[test]
fn a_slice_left_holding_its_finalizer_goes_once_its_composition_is_confirmed_gone() {
    let orphan = owned_by(slice("c-1", "u1", true, None), "comp-uid");
    // Nothing cached, nothing to read.
    assert_eq!(release_orphaned_slice(&[] as &[ResourceSlice], Fresh::Unread), Step::Done);
    // The cache lost the composition; it may be behind, so read it first.
    assert_eq!(release_orphaned_slice(std::slice::from_ref(&orphan), Fresh::Unread), Step::ReadFresh);
    // Still there (a lagging cache): its own deletion handles the slice.
    let alive = comp(1, None);
    assert_eq!(release_orphaned_slice(std::slice::from_ref(&orphan), Fresh::Read(Some(&alive))), Step::Done);
    // Gone, or replaced by a composition of the same name: the finalizer goes, guarded by the
    // slice's resourceVersion, and the rest of them stay.
    let mut replaced = comp(1, None);
    replaced.metadata.uid = Some("new-uid".into());
    let mut orphan_with_more = orphan.clone();
    orphan_with_more.metadata.finalizers = Some(vec!["other".into(), CLEANUP_FINALIZER.into()]);
    for fresh in [None, Some(&replaced)] {
        let Step::Write { write: Write::SetFinalizers { target, resource_version, finalizers }, why: Why::ReleaseSlice } = release_orphaned_slice(std::slice::from_ref(&orphan_with_more), Fresh::Read(fresh)) else { panic!("expected the slice's release") };
        assert_eq!((target.name.as_str(), resource_version.as_str(), finalizers), ("c-1", "5", vec!["other".to_string()]));
    }
    // Only the replaced composition's slices go, not the new one's.
    let new_ones = owned_by(slice("c-2", "u2", true, None), "new-uid");
    let Step::Write { write: Write::SetFinalizers { target, .. }, .. } = release_orphaned_slice(&[new_ones.clone(), orphan], Fresh::Read(Some(&replaced))) else { panic!() };
    assert_eq!(target.name, "c-1");
    assert_eq!(release_orphaned_slice(&[new_ones], Fresh::Read(Some(&replaced))), Step::Done);
}

#[cfg(madsim)]
#[test]
fn the_planted_defects_change_the_decision() {
    let c = deleting(comp(1, current(done("u1", 1, 1, &["c-1"]))));
    let slices = vec![slice("c-1", "u1", false, reconciled(false))];
    let owned: Vec<std::sync::Arc<ResourceSlice>> = slices.iter().cloned().map(std::sync::Arc::new).collect();
    let observe = |(early, retry, eager), c: &Composition| {
        decide(&Observed {
            composition: c,
            synthesizer: Some(&synth(1)),
            current_slices: Some(&slices),
            owned_slices: &owned,
            inputs: &Default::default(),
            fresh: Fresh::Unread,
            fresh_status: Some(StatusInputs { slices: Some(&slices), synthesizer: Some(&synth(1)), halted: None, dependencies: None }),
            now: &t(NOW),
            cancellation_watched: Some(Duration::ZERO),
            pacing: Pacing { cooldown: Duration::ZERO, lease_namespace: "eno" },
            self_healing_grace: Duration::from_secs(5),
            rollout: None,
            dependencies: None,
            early_finalizer_removal: early,
            retry_failed_synthesis: retry,
            eager_retry: eager,
            ignore_input_changes: false,
            no_self_healing: false,
            ignore_lockstep: false,
            skip_rollout_slot: false,
            ignore_dependencies: false,
        })
    };
    let starts = |step: Step| matches!(step, Step::Write { why: Why::StartSynthesis { .. }, .. });
    assert!(!matches!(observe((false, false, false), &c), Step::Write { why: Why::ReleaseFinalizer, .. }));
    assert!(matches!(observe((true, false, false), &c), Step::Write { why: Why::ReleaseFinalizer, .. }));
    let verdict = Synthesis { results: vec![KrmResult::error("boom")], ..done("u2", 1, 1, &["c-1"]) };
    let failed_comp = comp(1, current(verdict));
    assert!(!starts(observe((false, false, false), &failed_comp)));
    assert!(starts(observe((false, true, false), &failed_comp)));
    let canceled_comp = comp(1, Some(CompositionStatus { in_flight_synthesis: Some(failed("u2", 1, 1)), ..current(done("u1", 1, 1, &["c-1"])).unwrap() }));
    assert!(!starts(observe((false, false, false), &canceled_comp)));
    assert!(starts(observe((false, false, true), &canceled_comp)));
}

// --- properties over a space of composition states ---

fn arb_synthesis() -> impl Strategy<Value = Synthesis> {
    (0usize..3, 1i64..4, 0i64..4, 0u8..3, prop::collection::vec(0usize..3, 0..3)).prop_map(|(uuid, comp_gen, synth_gen, kind, slices)| {
        let names: Vec<String> = slices.iter().map(|i| format!("c-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let base = done(&format!("u{uuid}"), comp_gen, synth_gen, &refs);
        match kind {
            0 => base,
            1 => Synthesis { synthesized: None, ..base },
            _ => Synthesis { resource_slices: base.resource_slices.clone(), ..failed(&base.uuid, comp_gen, synth_gen) },
        }
    })
}

fn arb_state() -> impl Strategy<Value = Option<ResourceState>> {
    prop::option::of((any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(reconciled, deleted, ready)| ResourceState {
        reconciled,
        deleted,
        ready: ready.then(|| t(NOW - 5)),
        ..Default::default()
    }))
}

fn arb_pass() -> impl Strategy<Value = Pass> {
    (
        (1i64..4, any::<bool>(), any::<bool>(), 0u8..4),
        (prop::option::of(arb_synthesis()), prop::option::of(arb_synthesis()), prop::option::of(arb_synthesis())),
        prop::option::of(1i64..4),
        prop::collection::vec((0usize..3, 0usize..3, any::<bool>(), arb_state()), 0..4),
        0u8..4,
    )
        .prop_map(|((generation, is_deleting, symphony_deleting, finalizers), (in_flight, cur, previous), synth_gen, slices, fresh)| {
            let mut c = comp(generation, Some(CompositionStatus { in_flight_synthesis: in_flight, current_synthesis: cur, previous_synthesis: previous, ..Default::default() }));
            c.metadata.finalizers = Some(match finalizers {
                0 => vec![],
                1 => vec![CLEANUP_FINALIZER.into()],
                2 => vec!["other".into()],
                _ => vec!["other".into(), CLEANUP_FINALIZER.into()],
            });
            if is_deleting {
                c = deleting(c);
            }
            if symphony_deleting {
                c.metadata.labels = Some([(SYMPHONY_DELETING.to_string(), "true".to_string())].into());
            }
            let mut owned: Vec<ResourceSlice> = Vec::new();
            for (name, uuid, finalizer, state) in slices {
                if !owned.iter().any(|s| s.metadata.name.as_deref() == Some(&format!("c-{name}"))) {
                    owned.push(slice(&format!("c-{name}"), &format!("u{uuid}"), finalizer, state));
                }
            }
            let fresh = match fresh {
                0 => Fresh::Unread,
                1 => Fresh::Read(None),
                2 => Fresh::Read(Some(c.clone())),
                _ => Fresh::Read(Some(comp(generation, None))),
            };
            Pass { comp: c, synth: synth_gen.map(synth), slices: owned, fresh, watched: Duration::ZERO, inputs: Default::default(), cooldown: Duration::ZERO, rollout: None, dependencies: None, grace: Duration::from_secs(5) }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every write is conditioned on the version of the object it was decided on, and the
    /// decision asks for a fresh read only before it has one.
    #[test]
    fn every_write_is_conditioned_on_what_was_read(pass in arb_pass()) {
        match pass.decide() {
            Step::Write { write: Write::ReplaceStatus { target, resource_version, .. } | Write::SetFinalizers { target, resource_version, .. }, .. } => {
                let read = std::iter::once((address(&pass.comp), pass.comp.metadata.resource_version.clone()))
                    .chain(pass.slices.iter().map(|s| (address(s), s.metadata.resource_version.clone())))
                    .find(|(a, _)| *a == target);
                prop_assert_eq!(read.map(|(_, rv)| rv), Some(Some(resource_version)));
            }
            Step::Write { write: Write::Delete { uid, .. }, .. } => prop_assert!(uid.is_some()),
            Step::Write { write: Write::Patch { target, patch }, .. } => {
                prop_assert_eq!(target, address(&pass.comp));
                prop_assert_eq!(patch.body["metadata"]["resourceVersion"].as_str(), pass.comp.metadata.resource_version.as_deref());
            }
            Step::Write { write, .. } => prop_assert!(false, "unexpected write {:?}", write),
            Step::ReadFresh => prop_assert_eq!(&pass.fresh, &Fresh::Unread),
            Step::ReadStatusInputs => prop_assert!(false, "a status's inputs are asked for once"),
            Step::WatchCancellation { .. } => prop_assert!(false, "a cancellation is watched once"),
            Step::ReadRollout { .. } => prop_assert!(pass.rollout.is_none(), "the rollout is looked at once"),
            Step::Done | Step::RequeueAfter(_) => {}
        }
    }

    /// A deleting composition never gets a finalizer or a new synthesis.
    #[test]
    fn a_deleting_composition_is_never_given_a_finalizer_or_a_synthesis(mut pass in arb_pass()) {
        pass.comp = deleting(pass.comp);
        let step = pass.decide();
        prop_assert!(!matches!(step, Step::Write { why: Why::AddFinalizer | Why::StartSynthesis { .. }, .. }), "{:?}", step);
        if let Step::Write { write: Write::SetFinalizers { finalizers, target, .. }, .. } = &step {
            let before = if *target == address(&pass.comp) { pass.comp.metadata.finalizers.clone() } else { pass.slices.iter().find(|s| address(*s) == *target).and_then(|s| s.metadata.finalizers.clone()) };
            prop_assert!(finalizers.len() < before.unwrap_or_default().len(), "finalizers only go while deleting");
        }
    }

    /// The composition's finalizer goes only once its resources are settled (or its symphony
    /// leaves them) and no slice still holds one.
    #[test]
    fn the_finalizer_is_released_only_after_resources_settle(pass in arb_pass()) {
        if let Step::Write { why: Why::ReleaseFinalizer, .. } = pass.decide() {
            prop_assert!(pass.comp.metadata.deletion_timestamp.is_some());
            prop_assert!(!pass.slices.iter().any(|s| holds_cleanup(&s.metadata)));
            let leaves = pass.comp.metadata.labels.as_ref().is_some_and(|l| l.get(SYMPHONY_DELETING).is_some_and(|v| v == "true"));
            let settled = match pass.comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()) {
                None => true,
                Some(current) => pass.current_slices().is_some_and(|slices| aggregate(&slices, current, true, t(NOW)).0.is_some()),
            };
            prop_assert!(leaves || settled);
        }
    }

    /// A canceled synthesis whose generations did not change is started again only once its
    /// backoff has been watched, and then as a retry.
    #[test]
    fn a_canceled_synthesis_is_retried_only_after_its_backoff(mut pass in arb_pass(), synth_gen in 0i64..4, watched_secs in 0u64..400) {
        let generation = pass.comp.metadata.generation.unwrap_or_default();
        let status = pass.comp.status.get_or_insert_with(Default::default);
        status.in_flight_synthesis = Some(failed("u9", generation, synth_gen));
        pass.synth = Some(synth(synth_gen));
        pass.watched = Duration::from_secs(watched_secs);
        if let Step::Write { why: Why::StartSynthesis { reason, .. }, .. } = pass.decide() {
            prop_assert_eq!(reason, StartReason::Retry);
            prop_assert!(pass.watched >= retry_delay(1, "u9"));
        }
    }

    /// Status writes settle: after the written status, the next pass does not write it again.
    #[test]
    fn a_status_write_is_not_repeated(pass in arb_pass()) {
        if let step @ Step::Write { why: Why::Status, .. } = pass.decide() {
            let next = Pass { comp: Composition { status: Some(written_status(&step)), ..pass.comp.clone() }, ..pass };
            let again = next.decide();
            prop_assert!(!matches!(again, Step::Write { why: Why::Status, .. }), "{:?}", again);
        }
    }
}
