use super::*;
use crate::decide::inputs::Bound;
use crate::api::{Binding, CompositionSpec, CompositionStatus, Ref, ResourceBinding, ResourceRef, SynthesizerRef, SynthesizerSpec};
use proptest::prelude::*;
use serde_json::json;

fn t(s: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap())
}

const NOW: i64 = 1_700_000_000;
const LIMIT: Duration = Duration::from_secs(10);

fn running(uuid: &str) -> Synthesis {
    Synthesis { uuid: uuid.into(), observed_composition_generation: 1, observed_synthesizer_generation: 1, initialized: Some(t(NOW - 5)), attempts: 1, ..Default::default() }
}

fn comp(in_flight: Option<Synthesis>, current_slices: &[&str]) -> Composition {
    let mut c = Composition::new("c", CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() });
    c.metadata.namespace = Some("default".into());
    c.metadata.uid = Some("comp-uid".into());
    c.metadata.resource_version = Some("10".into());
    c.metadata.generation = Some(1);
    let current = (!current_slices.is_empty()).then(|| Synthesis {
        synthesized: Some(t(NOW - 50)),
        resource_slices: current_slices.iter().map(|n| ResourceSliceRef { name: n.to_string() }).collect(),
        ..running("u0")
    });
    c.status = Some(CompositionStatus { in_flight_synthesis: in_flight, current_synthesis: current, ..Default::default() });
    c
}

fn synth() -> Synthesizer {
    let mut s = Synthesizer::new("s", SynthesizerSpec::default());
    s.metadata.generation = Some(1);
    s
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
}

/// Answers a pass's steps the way a healthy server and executor would, until the pass ends:
/// reads find `fresh`, with the in-flight synthesis as this pass claimed it once it has.
/// Returns the steps in order.
fn drive(run: &mut Run, fresh: &Composition, ran: Ran, mut answer: impl FnMut(&Step) -> Option<Observation>) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut fresh = fresh.clone();
    for _ in 0..100 {
        let step = run.next(&t(NOW));
        steps.push(step.clone());
        let observation = match answer(&step) {
            Some(o) => o,
            None => match &step {
                Step::ReadComposition => Observation::Composition(Some(fresh.clone())),
                Step::Claim { claimed, .. } => {
                    let in_flight = fresh.status.as_mut().and_then(|s| s.in_flight_synthesis.as_mut()).filter(|s| s.uuid == claimed.uuid);
                    if let Some(in_flight) = in_flight {
                        *in_flight = claimed.clone();
                    }
                    Observation::Claimed { claimed: claimed.clone(), round_trip: Duration::from_millis(3) }
                }
                Step::ReadSynthesizer(_) => Observation::Synthesizer(Some((synth(), LIMIT))),
                Step::ReadInputs(_) => Observation::Inputs(vec![]),
                Step::WatchClaim { .. } => Observation::ClaimWatched(Duration::ZERO),
                Step::RunSynthesizer { .. } => Observation::Ran(ran.clone()),
                Step::ReadCurrentSlices(_) => Observation::CurrentSlices(vec![]),
                Step::WriteSlice(_) => Observation::SliceCreated(format!("c-{}", steps.len())),
                Step::RecordOutcome(_) => Observation::Recorded,
                Step::Retry(_) => Observation::Paused,
                _ => return steps,
            },
        };
        run.observe(observation);
    }
    panic!("the pass did not end: {steps:?}");
}

fn names(steps: &[Step]) -> Vec<&'static str> {
    steps
        .iter()
        .map(|s| match s {
            Step::ReadComposition => "ReadComposition",
            Step::ReadSynthesizer(_) => "ReadSynthesizer",
            Step::ReadInputs(_) => "ReadInputs",
            Step::Claim { .. } => "Claim",
            Step::ClaimHeld { .. } => "ClaimHeld",
            Step::WatchClaim { .. } => "WatchClaim",
            Step::ClaimLost { .. } => "ClaimLost",
            Step::ClaimAnsweredLate { .. } => "ClaimAnsweredLate",
            Step::RunSynthesizer { .. } => "RunSynthesizer",
            Step::ReadCurrentSlices(_) => "ReadCurrentSlices",
            Step::WriteSlice(_) => "WriteSlice",
            Step::RecordOutcome(_) => "RecordOutcome",
            Step::Retry(_) => "Retry",
            Step::Superseded { .. } => "Superseded",
            Step::Refused(_) => "Refused",
            Step::Fail => "Fail",
            Step::Done => "Done",
        })
        .collect()
}

fn recorded_status(steps: &[Step]) -> CompositionStatus {
    let Some(Step::RecordOutcome(Write::ReplaceStatus { status, .. })) = steps.iter().find(|s| matches!(s, Step::RecordOutcome(_))) else { panic!("no outcome recorded: {steps:?}") };
    serde_json::from_value(status.clone()).unwrap()
}

#[test]
fn a_successful_run_claims_runs_writes_its_slices_then_records_them() {
    let fresh = comp(Some(running("u1")), &[]);
    let ran = Ran::Output { items: vec![cm("a")], results: vec![] };
    let steps = drive(&mut Run::default(), &fresh, ran, |_| None);
    assert_eq!(
        names(&steps),
        ["ReadComposition", "ReadSynthesizer", "ReadInputs", "Claim", "RunSynthesizer", "ReadComposition", "ReadCurrentSlices", "WriteSlice", "ReadComposition", "RecordOutcome", "Done"]
    );
    let Step::Claim { write: Write::ClaimSynthesis { read, claimed, .. }, .. } = &steps[3] else { unreachable!() };
    assert_eq!((read, claimed.claimed.clone()), (&running("u1"), Some(t(NOW))), "the claim tests exactly what was read");
    let Step::WriteSlice(Write::Create { object }) = &steps[7] else { unreachable!() };
    assert_eq!(object["metadata"]["generateName"], "c-");
    assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "comp-uid");
    assert_eq!(object["spec"]["synthesisUUID"].as_str().or(object["spec"]["synthesisUuid"].as_str()), Some("u1"));
    let status = recorded_status(&steps);
    let current = status.current_synthesis.unwrap();
    assert_eq!((current.uuid.as_str(), current.resource_slices.clone()), ("u1", vec![ResourceSliceRef { name: "c-8".into() }]));
    assert_eq!(status.in_flight_synthesis, None);
    let Step::RecordOutcome(Write::ReplaceStatus { resource_version, .. }) = &steps[9] else { unreachable!() };
    assert_eq!(resource_version, "10", "recorded against the fresh read");
}

#[test]
fn tombstones_come_from_the_current_slices_read_uncached() {
    let fresh = comp(Some(running("u1")), &["old-1"]);
    let mut old = ResourceSlice::new("old-1", ResourceSliceSpec { synthesis_uuid: "u0".into(), resources: vec![crate::api::Manifest { manifest: cm("gone").to_string(), deleted: false }] });
    old.metadata.namespace = Some("default".into());
    let ran = Ran::Output { items: vec![cm("a")], results: vec![] };
    let steps = drive(&mut Run::default(), &fresh, ran, |s| matches!(s, Step::ReadCurrentSlices(_)).then(|| Observation::CurrentSlices(vec![old.clone()])));
    let Some(Step::ReadCurrentSlices(refs)) = steps.iter().find(|s| matches!(s, Step::ReadCurrentSlices(_))) else { unreachable!() };
    assert_eq!(refs, &[ObjectRef::new(gvk::<ResourceSlice>(), Some("default"), "old-1")]);
    let Some(Step::WriteSlice(Write::Create { object })) = steps.iter().find(|s| matches!(s, Step::WriteSlice(_))) else { unreachable!() };
    let spec: ResourceSliceSpec = serde_json::from_value(object["spec"].clone()).unwrap();
    assert_eq!(spec.resources.iter().map(|m| m.deleted).collect::<Vec<_>>(), [false, true], "the dropped resource is a tombstone");
}

#[test]
fn a_failed_run_writes_no_slices_and_records_the_failure() {
    let fresh = comp(Some(running("u1")), &["good-1"]);
    let invalid = Ran::Failed { message: "synthesizer wrote no output".into(), verdict: true };
    for ran in [invalid, Ran::Output { items: vec![cm("a")], results: vec![KrmResult::error("The system is down")] }] {
        let steps = drive(&mut Run::default(), &fresh, ran, |_| None);
        assert_eq!(names(&steps), ["ReadComposition", "ReadSynthesizer", "ReadInputs", "Claim", "RunSynthesizer", "ReadComposition", "RecordOutcome", "Done"]);
        let current = recorded_status(&steps).current_synthesis.unwrap();
        assert!(super::super::is_failed(&current));
        assert_eq!(current.resource_slices, vec![ResourceSliceRef { name: "good-1".into() }], "the last good output stays managed");
    }
}

#[test]
fn a_failure_that_is_no_verdict_cancels_the_synthesis_for_a_retry() {
    let fresh = comp(Some(running("u1")), &["good-1"]);
    let ran = Ran::Failed { message: "synthesizer exited with status 3".into(), verdict: false };
    let steps = drive(&mut Run::default(), &fresh, ran, |_| None);
    assert_eq!(names(&steps), ["ReadComposition", "ReadSynthesizer", "ReadInputs", "Claim", "RunSynthesizer", "ReadComposition", "RecordOutcome", "Done"]);
    let status = recorded_status(&steps);
    let canceled = status.in_flight_synthesis.expect("it stays in flight");
    assert_eq!(canceled.uuid, "u1");
    assert!(canceled.canceled.is_some() && canceled.synthesized.is_none());
    assert_eq!(canceled.first_error(), Some("synthesizer exited with status 3"));
    assert_eq!(status.current_synthesis, fresh.status.unwrap().current_synthesis, "the last good synthesis is untouched");
}

#[test]
fn nothing_runs_unless_a_synthesis_is_running_and_the_synthesizer_exists() {
    let failed = Synthesis { canceled: Some(t(NOW - 1)), results: vec![KrmResult::error("x")], ..running("u1") };
    let mut deleting = comp(Some(running("u1")), &[]);
    deleting.metadata.deletion_timestamp = Some(t(NOW - 1));
    for fresh in [comp(None, &[]), comp(Some(failed), &[]), comp(Some(Synthesis { synthesized: Some(t(NOW)), ..running("u1") }), &[]), deleting] {
        let steps = drive(&mut Run::default(), &fresh, Ran::Failed { message: "".into(), verdict: true }, |_| None);
        assert_eq!(names(&steps), ["ReadComposition", "Done"], "{fresh:?}");
    }
    let steps = drive(&mut Run::default(), &comp(Some(running("u1")), &[]), Ran::Failed { message: "".into(), verdict: true }, |s| matches!(s, Step::ReadSynthesizer(_)).then_some(Observation::Synthesizer(None)));
    assert_eq!(names(&steps), ["ReadComposition", "ReadSynthesizer", "Done"]);
    let steps = drive(&mut Run::default(), &comp(Some(running("u1")), &[]), Ran::Failed { message: "".into(), verdict: true }, |s| matches!(s, Step::ReadComposition).then_some(Observation::Composition(None)));
    assert_eq!(names(&steps), ["ReadComposition", "Done"]);
}

#[test]
fn a_claim_answered_after_its_margin_is_not_run_on() {
    // Sent, then the process stalled (or the request hung) past the margin: another executor
    // may take the claim over before a run started now could end within its limit.
    let fresh = comp(Some(running("u1")), &[]);
    let answered_in = |round_trip: Duration| {
        move |s: &Step| match s {
            Step::Claim { claimed, .. } => Some(Observation::Claimed { claimed: claimed.clone(), round_trip }),
            _ => None,
        }
    };
    let ran = Ran::Output { items: vec![cm("a")], results: vec![] };
    let steps = drive(&mut Run::default(), &fresh, ran.clone(), answered_in(CLAIM_MARGIN + Duration::from_millis(1)));
    assert_eq!(names(&steps), ["ReadComposition", "ReadSynthesizer", "ReadInputs", "Claim", "ClaimAnsweredLate"]);
    assert_eq!(steps.last(), Some(&Step::ClaimAnsweredLate { retry_after: RETRY.pause(0) }));
    // Within the margin, it runs.
    let steps = drive(&mut Run::default(), &fresh, ran, answered_in(CLAIM_MARGIN));
    assert!(names(&steps).contains(&"RunSynthesizer"), "{steps:?}");
}

#[test]
fn a_claim_held_by_another_executor_is_waited_out() {
    let held = Synthesis { claimed: Some(t(NOW - 4)), ..running("u1") };
    let watched = |s: &Step| matches!(s, Step::WatchClaim { .. }).then_some(Observation::ClaimWatched(Duration::from_secs(4)));
    let steps = drive(&mut Run::default(), &comp(Some(held.clone()), &[]), Ran::Failed { message: "".into(), verdict: true }, watched);
    assert_eq!(steps.last(), Some(&Step::ClaimHeld { retry_after: LIMIT + CLAIM_MARGIN - Duration::from_secs(4) }));
    assert!(steps.contains(&Step::WatchClaim { uuid: "u1".into(), claimed: t(NOW - 4) }));
    // Watched for the whole expiry: taken over and run.
    let expired = |s: &Step| matches!(s, Step::WatchClaim { .. }).then_some(Observation::ClaimWatched(LIMIT + CLAIM_MARGIN));
    let steps = drive(&mut Run::default(), &comp(Some(held), &[]), Ran::Failed { message: "".into(), verdict: true }, expired);
    assert!(names(&steps).contains(&"RunSynthesizer"));
    let steps = drive(&mut Run::default(), &comp(Some(Synthesis { claimed: Some(t(NOW - 4)), ..running("u1") }), &[]), Ran::Failed { message: "".into(), verdict: true }, watched);
    assert!(!names(&steps).contains(&"RunSynthesizer"));
}

#[test]
fn a_lost_claim_looks_again_soon_and_other_errors_fail_the_pass() {
    let fresh = comp(Some(running("u1")), &[]);
    for (failure, end) in [(Failure::Conflict, Step::ClaimLost { retry_after: Duration::from_millis(20) }), (Failure::Invalid, Step::ClaimLost { retry_after: Duration::from_millis(20) }), (Failure::Transient, Step::Fail), (Failure::Other, Step::Fail)] {
        let steps = drive(&mut Run::default(), &fresh, Ran::Failed { message: "".into(), verdict: true }, |s| matches!(s, Step::Claim { .. }).then_some(Observation::Failed(failure)));
        assert_eq!(steps.last(), Some(&end), "{failure:?}");
        assert!(!names(&steps).contains(&"RunSynthesizer"));
    }
    // A failing read before the claim ends the pass: nothing is held.
    let steps = drive(&mut Run::default(), &fresh, Ran::Failed { message: "".into(), verdict: true }, |s| matches!(s, Step::ReadInputs(_)).then_some(Observation::Failed(Failure::Conflict)));
    assert_eq!(names(&steps), ["ReadComposition", "ReadSynthesizer", "ReadInputs", "Fail"]);
}

#[test]
fn a_synthesis_started_for_an_older_spec_is_left_to_be_superseded() {
    let mut moved_on = comp(Some(running("u1")), &[]);
    moved_on.metadata.generation = Some(2);
    let steps = drive(&mut Run::default(), &moved_on, Ran::Output { items: vec![cm("a")], results: vec![] }, |_| None);
    assert_eq!(steps, [Step::ReadComposition, Step::Done], "neither claimed nor run");
}

#[test]
fn a_synthesis_superseded_while_running_has_its_output_dropped() {
    let fresh = comp(Some(running("u1")), &[]);
    let mut reads = 0;
    let ran = Ran::Output { items: vec![cm("a")], results: vec![] };
    let steps = drive(&mut Run::default(), &fresh, ran, |s| {
        matches!(s, Step::ReadComposition).then(|| {
            reads += 1;
            Observation::Composition(Some(if reads == 1 { fresh.clone() } else { comp(Some(running("u2")), &[]) }))
        })
    });
    assert_eq!(steps.last(), Some(&Step::Superseded { uuid: "u1".into() }));
    assert!(!names(&steps).contains(&"WriteSlice"));
}

#[test]
fn persisting_retries_conflicts_from_a_fresh_read_with_doubling_pauses_then_gives_up() {
    let fresh = comp(Some(running("u1")), &[]);
    let ran = Ran::Output { items: vec![cm("a")], results: vec![] };
    // Every slice creation conflicts.
    let steps = drive(&mut Run::default(), &fresh, ran.clone(), |s| matches!(s, Step::WriteSlice(_)).then_some(Observation::Failed(Failure::Conflict)));
    let pauses: Vec<Duration> = steps.iter().filter_map(|s| if let Step::Retry(p) = s { Some(*p) } else { None }).collect();
    assert_eq!(pauses, (0..PERSIST_ATTEMPTS - 1).map(|i| Duration::from_millis(20) * (1 << i)).collect::<Vec<_>>());
    assert_eq!(names(&steps).iter().filter(|n| **n == "WriteSlice").count(), PERSIST_ATTEMPTS as usize);
    assert_eq!(steps.last(), Some(&Step::Fail));
    assert_eq!(names(&steps).iter().filter(|n| **n == "RunSynthesizer").count(), 1, "the synthesizer is never run again");
    // One conflict: the stage starts over from a fresh read, and the slice of the failed try is
    // not recorded.
    let mut failed_once = false;
    let steps = drive(&mut Run::default(), &fresh, ran, |s| {
        (matches!(s, Step::RecordOutcome(_)) && !failed_once).then(|| {
            failed_once = true;
            Observation::Failed(Failure::Transient)
        })
    });
    assert_eq!(&names(&steps)[5..], ["ReadComposition", "ReadCurrentSlices", "WriteSlice", "ReadComposition", "RecordOutcome", "Retry", "ReadComposition", "RecordOutcome", "Done"]);
    // A failed resourceVersion `test` (422: the composition was written since the fresh read,
    // say a symphony moving an annotation) is a conflict too: recorded again, never re-run.
    let mut failed_once = false;
    let steps = drive(&mut Run::default(), &fresh, Ran::Output { items: vec![cm("a")], results: vec![] }, |s| {
        (matches!(s, Step::RecordOutcome(_)) && !failed_once).then(|| {
            failed_once = true;
            Observation::Failed(Failure::Invalid)
        })
    });
    assert_eq!(&names(&steps)[8..], ["ReadComposition", "RecordOutcome", "Retry", "ReadComposition", "RecordOutcome", "Done"]);
    assert_eq!(names(&steps).iter().filter(|n| **n == "RunSynthesizer").count(), 1);
    // Anything but a conflict or a transient error ends the pass at once.
    let steps = drive(&mut Run::default(), &fresh, Ran::Failed { message: "x".into(), verdict: true }, |s| matches!(s, Step::RecordOutcome(_)).then_some(Observation::Failed(Failure::Other)));
    assert_eq!(steps.last(), Some(&Step::Fail));
}

#[test]
fn a_pass_that_gave_up_persisting_is_resumed_without_running_the_synthesizer_again() {
    let fresh = comp(Some(running("u1")), &[]);
    let ran = Ran::Output { items: vec![cm("a")], results: vec![] };
    // Every slice creation fails: the pass gives up with its output unwritten.
    let mut run = Run::default();
    let steps = drive(&mut run, &fresh, ran.clone(), |s| matches!(s, Step::WriteSlice(_)).then_some(Observation::Failed(Failure::Transient)));
    assert_eq!(steps.last(), Some(&Step::Fail));
    let Some(Step::Claim { claimed, .. }) = steps.iter().find(|s| matches!(s, Step::Claim { .. })) else { unreachable!() };
    let claimed_fresh = comp(Some(claimed.clone()), &[]);
    // The next pass starts where it stopped: fresh read, slices, outcome; no claim, no run.
    let mut resumed = run.resumable().expect("a run whose output was not persisted can be resumed");
    let steps = drive(&mut resumed, &claimed_fresh, ran.clone(), |_| None);
    assert_eq!(names(&steps), ["ReadComposition", "ReadCurrentSlices", "WriteSlice", "ReadComposition", "RecordOutcome", "Done"]);
    assert_eq!(recorded_status(&steps).current_synthesis.map(|s| s.uuid), Some("u1".into()));
    assert!(resumed.resumable().is_none(), "a recorded run leaves nothing to resume");

    // Slices written before recording failed are kept: the resumed pass only records.
    let mut run = Run::default();
    let steps = drive(&mut run, &fresh, ran.clone(), |s| matches!(s, Step::RecordOutcome(_)).then_some(Observation::Failed(Failure::Conflict)));
    assert_eq!(steps.last(), Some(&Step::Fail));
    let steps = drive(&mut run.resumable().unwrap(), &claimed_fresh, ran.clone(), |_| None);
    assert_eq!(names(&steps), ["ReadComposition", "RecordOutcome", "Done"]);

    // Another executor took the claim over meanwhile (or a new synthesis started): the
    // resumed output is dropped.
    let mut taken_over = claimed.clone();
    taken_over.claimed = Some(t(NOW + 30));
    taken_over.attempts += 1;
    for other in [comp(Some(taken_over), &[]), comp(Some(running("u2")), &[])] {
        let steps = drive(&mut run.resumable().unwrap(), &other, ran.clone(), |_| None);
        assert_eq!(steps, [Step::ReadComposition, Step::Superseded { uuid: "u1".into() }]);
    }

    // Nothing to resume before the synthesizer ran, or after a claim that was never taken.
    let mut run = Run::default();
    drive(&mut run, &fresh, ran, |s| matches!(s, Step::ReadInputs(_)).then_some(Observation::Failed(Failure::Transient)));
    assert!(run.resumable().is_none());
}

#[test]
fn a_completion_the_fresh_status_does_not_admit_is_refused() {
    let fresh = comp(Some(running("u1")), &[]);
    let finished = comp(Some(Synthesis { canceled: Some(t(NOW)), claimed: Some(t(NOW)), ..running("u1") }), &[]);
    let mut reads = 0;
    let steps = drive(&mut Run::default(), &fresh, Ran::Failed { message: "x".into(), verdict: true }, |s| {
        matches!(s, Step::ReadComposition).then(|| {
            reads += 1;
            Observation::Composition(Some(if reads == 1 { fresh.clone() } else { finished.clone() }))
        })
    });
    assert!(matches!(steps.last(), Some(Step::Refused(CompletionError::AlreadyFinished { .. }))), "{steps:?}");
}

#[test]
fn inputs_are_bound_by_key_with_the_refs_defaults() {
    let mut c = comp(None, &[]);
    c.spec.bindings = vec![Binding { key: "cfg".into(), resource: ResourceBinding { name: "mine".into(), namespace: "ns".into() } }];
    let mut s = synth();
    let resource = |group: &str, kind: &str, name: &str| ResourceRef { group: group.into(), version: "v1".into(), kind: kind.into(), name: name.into(), ..Default::default() };
    s.spec.refs = vec![
        Ref { key: "cfg".into(), resource: resource("", "ConfigMap", "default-name"), ..Default::default() },
        Ref { key: "dep".into(), resource: resource("apps", "Deployment", "web"), ..Default::default() },
    ];
    assert_eq!(
        inputs_of(&c, &s),
        [
            Bound { key: "cfg".into(), target: ObjectRef::new(crate::runtime::Gvk::new("v1", "ConfigMap"), Some("ns"), "mine"), optional: false },
            Bound { key: "dep".into(), target: ObjectRef::new(crate::runtime::Gvk::new("apps/v1", "Deployment"), None, "web"), optional: false },
        ]
    );
    // A ref that binds nothing holds the composition (`decide::inputs`); the runner reads none.
    s.spec.refs.push(Ref { key: "unbound".into(), resource: resource("", "Secret", ""), ..Default::default() });
    assert_eq!(inputs_of(&c, &s), []);
}

#[cfg(madsim)]
#[test]
fn the_unfenced_defect_runs_without_claiming() {
    let mut run = Run { unfenced_claim: true, ..Run::default() };
    let steps = drive(&mut run, &comp(Some(running("u1")), &[]), Ran::Failed { message: "x".into(), verdict: true }, |_| None);
    assert!(!names(&steps).contains(&"Claim") && names(&steps).contains(&"RunSynthesizer"));
}

fn arb_failure() -> impl Strategy<Value = Option<Failure>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(Failure::Conflict)),
        1 => Just(Some(Failure::Transient)),
        1 => Just(Some(Failure::Invalid)),
        1 => Just(Some(Failure::Other)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever fails, and however often: a pass ends, runs the synthesizer at most once and
    /// only after claiming it, writes slices and the outcome only after running it, tries each
    /// persisting stage at most `PERSIST_ATTEMPTS` times, and records at most once.
    #[test]
    fn whatever_fails_the_synthesizer_runs_at_most_once_and_only_when_claimed(
        failures in prop::collection::vec(arb_failure(), 60),
        items in 0usize..3,
        failed_run in any::<bool>(),
    ) {
        let fresh = comp(Some(running("u1")), &[]);
        let ran = if failed_run { Ran::Failed { message: "x".into(), verdict: true } } else { Ran::Output { items: (0..items).map(|i| cm(&format!("m{i}"))).collect(), results: vec![] } };
        let mut failures = failures.into_iter();
        let steps = drive(&mut Run::default(), &fresh, ran, |s| match s {
            Step::RunSynthesizer { .. } | Step::Retry(_) => None,
            _ => failures.next().flatten().map(Observation::Failed),
        });
        let names = names(&steps);
        let position = |name: &str| names.iter().position(|n| *n == name);
        prop_assert!(names.iter().filter(|n| **n == "RunSynthesizer").count() <= 1);
        if let Some(run) = position("RunSynthesizer") {
            prop_assert!(position("Claim").is_some_and(|claim| claim < run));
        }
        for write in ["WriteSlice", "RecordOutcome"] {
            if let Some(at) = position(write) {
                prop_assert!(position("RunSynthesizer").is_some_and(|run| run < at));
            }
        }
        if failed_run {
            prop_assert!(position("WriteSlice").is_none());
        }
        prop_assert!(names.iter().filter(|n| **n == "Retry").count() <= 2 * (PERSIST_ATTEMPTS as usize - 1));
        prop_assert!(matches!(names.last(), Some(&("Done" | "Fail" | "ClaimLost" | "ClaimHeld" | "Superseded" | "Refused"))));
    }
}

#[test]
fn the_outcome_names_the_synthesizer_generation_that_ran() {
    // Started for generation 1; by the time it runs the synthesizer is at generation 3.
    let fresh = comp(Some(running("u1")), &[]);
    let newer = || {
        let mut s = synth();
        s.metadata.generation = Some(3);
        s
    };
    for ran in [Ran::Output { items: vec![cm("a")], results: vec![] }, Ran::Failed { message: "boom".into(), verdict: true }] {
        let steps = drive(&mut Run::default(), &fresh, ran, |s| matches!(s, Step::ReadSynthesizer(_)).then(|| Observation::Synthesizer(Some((newer(), LIMIT)))));
        let current = recorded_status(&steps).current_synthesis.unwrap();
        assert_eq!((current.uuid.as_str(), current.observed_synthesizer_generation), ("u1", 3));
    }
}

#[test]
fn a_composition_deleted_while_its_synthesizer_ran_gets_no_slices() {
    let mut deleting = comp(Some(running("u1")), &[]);
    deleting.metadata.deletion_timestamp = Some(t(NOW));
    let first = comp(Some(running("u1")), &[]);
    // The pass starts on the live composition; by the time the output is to be written, the
    // composition is being deleted.
    let mut reads = 0;
    let steps = drive(&mut Run::default(), &first, Ran::Output { items: vec![cm("a")], results: vec![] }, |s| {
        matches!(s, Step::ReadComposition).then(|| {
            reads += 1;
            Observation::Composition(Some(if reads == 1 { first.clone() } else { deleting.clone() }))
        })
    });
    assert!(!names(&steps).contains(&"WriteSlice"), "{:?}", names(&steps));
    assert_eq!(steps.last(), Some(&Step::Superseded { uuid: "u1".into() }));
}

#[test]
fn inputs_read_out_of_lockstep_are_not_synthesized() {
    let fresh = comp(Some(running("u1")), &[]);
    let input = |key: &str, revision: &str| serde_json::json!({"metadata": {"name": key, "resourceVersion": "5", "annotations": {crate::api::annotations::INPUT_KEY_ANNOTATION: key, "eno.azure.io/revision": revision}}});
    let read = |revisions: [&str; 2]| {
        let inputs = vec![input("a", revisions[0]), input("b", revisions[1])];
        drive(&mut Run::default(), &fresh, Ran::Output { items: vec![], results: vec![] }, move |s| matches!(s, Step::ReadInputs(_)).then(|| Observation::Inputs(inputs.clone())))
    };
    assert_eq!(names(&read(["2", "1"])), ["ReadComposition", "ReadSynthesizer", "ReadInputs", "Done"], "one input moved on since the synthesis started");
    assert!(names(&read(["2", "2"])).contains(&"RunSynthesizer"));
}
