use super::*;
use crate::api::{CompositionSpec, SynthesizerRef, SynthesizerSpec};
use std::time::Duration;

fn t(s: &str) -> Time {
    serde_json::from_value(serde_json::json!(s)).unwrap()
}

fn comp(generation: i64, status: Option<CompositionStatus>) -> Composition {
    let mut c = Composition::new(
        "c",
        CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() },
    );
    c.metadata.namespace = Some("default".into());
    c.metadata.generation = Some(generation);
    c.metadata.finalizers = Some(vec![CLEANUP_FINALIZER.into()]);
    c.status = status;
    c
}

fn synth(generation: i64) -> Synthesizer {
    let mut s = Synthesizer::new("s", SynthesizerSpec::default());
    s.metadata.generation = Some(generation);
    s
}

fn done(uuid: &str, comp_gen: i64, synth_gen: i64) -> Synthesis {
    Synthesis {
        uuid: uuid.into(),
        observed_composition_generation: comp_gen,
        observed_synthesizer_generation: synth_gen,
        initialized: Some(t("2024-01-01T00:00:00Z")),
        synthesized: Some(t("2024-01-01T00:00:05Z")),
        attempts: 1,
        ..Default::default()
    }
}

fn running(uuid: &str, comp_gen: i64, synth_gen: i64) -> Synthesis {
    Synthesis { synthesized: None, ..done(uuid, comp_gen, synth_gen) }
}

/// In flight, canceled by a failure worth retrying.
fn canceled(uuid: &str, comp_gen: i64, synth_gen: i64) -> Synthesis {
    Synthesis {
        synthesized: None,
        canceled: Some(t("2024-01-01T00:00:09Z")),
        results: vec![KrmResult::error("boom")],
        ..done(uuid, comp_gen, synth_gen)
    }
}

fn status(in_flight: Option<Synthesis>, current: Option<Synthesis>) -> Option<CompositionStatus> {
    Some(CompositionStatus {
        in_flight_synthesis: in_flight,
        current_synthesis: current,
        ..Default::default()
    })
}

use SynthesisDecision::*;
const fn start(reason: StartReason) -> SynthesisDecision {
    Start { reason }
}

#[test]
fn initial_synthesis_when_never_synthesized() {
    assert_eq!(next_synthesis(&comp(1, None), Some(&synth(1))), start(StartReason::Initial));
    // A current synthesis that never wrote output does not count.
    let s = status(None, Some(running("a", 1, 1)));
    assert_eq!(next_synthesis(&comp(1, s), Some(&synth(1))), start(StartReason::Initial));
}

#[test]
fn up_to_date_does_nothing() {
    let s = status(None, Some(done("a", 3, 2)));
    assert_eq!(next_synthesis(&comp(3, s), Some(&synth(2))), Nothing(NothingReason::UpToDate));
}

#[test]
fn modifications_start_a_synthesis() {
    let s = status(None, Some(done("a", 3, 2)));
    assert_eq!(
        next_synthesis(&comp(4, s.clone()), Some(&synth(2))),
        start(StartReason::CompositionModified)
    );
    assert_eq!(
        next_synthesis(&comp(3, s.clone()), Some(&synth(5))),
        start(StartReason::SynthesizerModified)
    );
    // Composition changes take priority.
    assert_eq!(next_synthesis(&comp(4, s), Some(&synth(5))), start(StartReason::CompositionModified));
}

#[test]
fn unknown_synthesizer_generation_never_triggers() {
    let s = status(None, Some(done("a", 3, 0)));
    assert_eq!(next_synthesis(&comp(3, s), Some(&synth(7))), Nothing(NothingReason::UpToDate));
}

#[test]
fn deleting_and_missing_synthesizer_come_first() {
    let mut c = comp(1, None);
    c.metadata.deletion_timestamp = Some(t("2024-01-01T00:00:00Z"));
    assert_eq!(next_synthesis(&c, Some(&synth(1))), Deleting);
    assert_eq!(next_synthesis(&c, None), Deleting);
    assert_eq!(next_synthesis(&comp(1, None), None), MissingSynthesizer);
}

#[test]
fn waits_for_the_cleanup_finalizer() {
    let mut c = comp(1, None);
    c.metadata.finalizers = None;
    assert_eq!(next_synthesis(&c, Some(&synth(1))), Nothing(NothingReason::AwaitingFinalizer));
    c.metadata.finalizers = Some(vec!["other".into()]);
    assert_eq!(next_synthesis(&c, Some(&synth(1))), Nothing(NothingReason::AwaitingFinalizer));
}

#[test]
fn running_synthesis_is_left_alone_unless_the_composition_moved_on() {
    let s = status(Some(running("b", 2, 1)), Some(done("a", 1, 1)));
    assert_eq!(next_synthesis(&comp(2, s.clone()), Some(&synth(1))), Nothing(NothingReason::InFlight));
    // Stale: superseded.
    assert_eq!(
        next_synthesis(&comp(3, s.clone()), Some(&synth(1))),
        start(StartReason::CompositionModified)
    );
    // A synthesizer change waits for the running synthesis.
    assert_eq!(next_synthesis(&comp(2, s), Some(&synth(2))), Nothing(NothingReason::InFlight));
}

/// Failed with a verdict: recorded as the current synthesis, with an error result.
fn verdict(uuid: &str, comp_gen: i64, synth_gen: i64) -> Synthesis {
    Synthesis { results: vec![KrmResult::error("The system is down")], ..done(uuid, comp_gen, synth_gen) }
}

#[test]
fn failed_synthesis_waits_for_a_modification() {
    let s = status(None, Some(verdict("b", 2, 1)));
    assert_eq!(next_synthesis(&comp(2, s.clone()), Some(&synth(1))), WaitForModification);
    assert_eq!(next_synthesis(&comp(3, s.clone()), Some(&synth(1))), start(StartReason::CompositionModified));
    assert_eq!(next_synthesis(&comp(2, s), Some(&synth(2))), start(StartReason::SynthesizerModified));
}

#[test]
fn a_canceled_synthesis_is_retried_unless_something_changed() {
    let s = status(Some(canceled("b", 2, 1)), Some(done("a", 1, 1)));
    assert_eq!(next_synthesis(&comp(2, s.clone()), Some(&synth(1))), Retry { attempts: 1 });
    // A change supersedes the retry.
    assert_eq!(next_synthesis(&comp(3, s.clone()), Some(&synth(1))), start(StartReason::CompositionModified));
    assert_eq!(next_synthesis(&comp(2, s), Some(&synth(2))), start(StartReason::SynthesizerModified));
    // Also without any good synthesis.
    let s = status(Some(Synthesis { attempts: 4, ..canceled("b", 1, 1) }), None);
    assert_eq!(next_synthesis(&comp(1, s), Some(&synth(1))), Retry { attempts: 4 });
}

#[test]
fn retries_back_off_exponentially_up_to_a_cap_with_bounded_jitter() {
    let within = |attempts: i64, base: u64| {
        let d = retry_delay(attempts, "some-uuid");
        assert!(d >= Duration::from_secs(base) && d <= Duration::from_secs(base).mul_f64(1.2), "attempt {attempts}: {d:?}");
    };
    within(0, 2);
    within(1, 2);
    within(2, 4);
    within(3, 8);
    within(9, 300);
    within(i64::MAX, 300);
    // The jitter differs between syntheses, so compositions that failed together spread out.
    let delays: std::collections::BTreeSet<_> = (0..20).map(|i| retry_delay(3, &format!("u{i}"))).collect();
    assert!(delays.len() > 10, "{delays:?}");
    assert_eq!(retry_delay(3, "u1"), retry_delay(3, "u1"), "deterministic");
}

#[test]
fn cancel_keeps_the_synthesis_in_flight_with_its_error() {
    let st = status(Some(running("b", 2, 1)), Some(done("a", 1, 1))).unwrap();
    let now = t("2024-01-02T00:00:00Z");
    let out = cancel(&st, "b", "synthesizer exited with status 1".into(), now.clone()).unwrap();
    let in_flight = out.in_flight_synthesis.clone().unwrap();
    assert_eq!((in_flight.uuid.as_str(), in_flight.canceled.clone(), in_flight.first_error()), ("b", Some(now.clone()), Some("synthesizer exited with status 1")));
    assert_eq!(out.current_synthesis, st.current_synthesis, "the last good synthesis is untouched");
    assert_eq!(cancel(&out, "b", "again".into(), now), Err(CompletionError::AlreadyFinished { uuid: "b".into() }));
}

#[test]
fn a_synthesizer_older_than_one_already_seen_is_a_lagging_cache() {
    // Found by the simulator: a replica whose synthesizer cache lagged restarted the first
    // synthesis after a newer synthesizer version had failed.
    let c = comp(1, status(Some(canceled("u2", 1, 2)), Some(done("u1", 1, 1))));
    assert_eq!(next_synthesis(&c, Some(&synth(1))), SynthesisDecision::Nothing(NothingReason::SynthesizerBehind));
    assert_eq!(next_synthesis(&c, Some(&synth(2))), SynthesisDecision::Retry { attempts: 1 });
    assert_eq!(next_synthesis(&c, Some(&synth(3))), SynthesisDecision::Start { reason: StartReason::SynthesizerModified });
    let c = comp(1, status(Some(running("u3", 1, 3)), Some(done("u1", 1, 1))));
    assert_eq!(next_synthesis(&c, Some(&synth(2))), SynthesisDecision::Nothing(NothingReason::SynthesizerBehind));
}

#[test]
fn written_but_unswapped_in_flight_is_judged_like_a_current_one() {
    let s = status(Some(done("b", 2, 1)), None);
    assert_eq!(next_synthesis(&comp(2, s.clone()), Some(&synth(1))), Nothing(NothingReason::InFlight));
    assert_eq!(next_synthesis(&comp(3, s), Some(&synth(1))), start(StartReason::CompositionModified));
}

#[test]
fn begin_records_generations_and_counts_attempts() {
    let now = t("2024-02-01T00:00:00Z");
    let fresh = begin(&comp(4, None), &synth(2), "u1".into(), StartReason::Initial, now.clone());
    assert_eq!(
        fresh,
        Synthesis {
            uuid: "u1".into(),
            observed_composition_generation: 4,
            observed_synthesizer_generation: 2,
            initialized: Some(now.clone()),
            attempts: 1,
            ..Default::default()
        }
    );
    // Re-running the same generations (e.g. replacing a lost run) counts up.
    let again = begin(
        &comp(4, status(Some(Synthesis { attempts: 2, ..running("u1", 4, 2) }), None)),
        &synth(2),
        "u2".into(),
        StartReason::Retry,
        now.clone(),
    );
    assert_eq!((again.uuid.as_str(), again.attempts), ("u2", 3));
    // Anything changed: back to 1.
    let changed = begin(&comp(5, status(Some(canceled("u1", 4, 2)), None)), &synth(2), "u3".into(), StartReason::Initial, now);
    assert_eq!(changed.attempts, 1);
}

#[test]
fn a_claim_is_taken_once_and_taken_over_only_after_it_has_been_watched_for_its_expiry() {
    let expiry = std::time::Duration::from_secs(15);
    let secs = std::time::Duration::from_secs;
    let open = running("u1", 1, 1);
    let Claim::Take(mine) = claim(&open, &t("2024-02-01T00:00:00Z"), expiry, secs(0)) else { panic!("an unclaimed synthesis is taken") };
    assert_eq!((mine.claimed, mine.attempts), (Some(t("2024-02-01T00:00:00Z")), open.attempts), "the first run is the attempt begin counted");
    let mine = Synthesis { claimed: Some(t("2024-02-01T00:00:00Z")), attempts: 1, ..open };
    assert_eq!(claim(&mine, &t("2024-02-01T00:00:10Z"), expiry, secs(10)), Claim::Held { retry_after: secs(5) });
    let Claim::Take(taken) = claim(&mine, &t("2024-02-01T00:00:15Z"), expiry, secs(15)) else { panic!("a claim watched for its expiry is taken over") };
    assert_eq!((taken.claimed, taken.attempts), (Some(t("2024-02-01T00:00:15Z")), 2));
    // The clocks say nothing: a claim stamped long ago but only just seen is held (this
    // executor's clock may be ahead, or it just restarted), one stamped in the future but
    // watched for the expiry is taken over.
    assert_eq!(claim(&mine, &t("2024-02-01T01:00:00Z"), expiry, secs(0)), Claim::Held { retry_after: expiry });
    let Claim::Take(behind) = claim(&mine, &t("2024-01-31T23:00:00Z"), expiry, secs(15)) else { panic!("a claim watched for its expiry is taken over") };
    // The claim write tests the time it replaces, so a takeover's time moves past it even on a
    // clock that is behind: two takeovers of one claim cannot both pass that test.
    assert_eq!(behind.claimed, Some(t("2024-02-01T00:00:01Z")));
    let Claim::Take(same_second) = claim(&mine, &t("2024-02-01T00:00:00Z"), expiry, secs(15)) else { panic!() };
    assert_eq!(same_second.claimed, Some(t("2024-02-01T00:00:01Z")));
}

#[test]
fn begin_snapshots_input_revisions() {
    let mut st = CompositionStatus::default();
    st.input_revisions.push(crate::api::InputRevisions {
        key: "k".into(),
        resource_version: "7".into(),
        ..Default::default()
    });
    let s = begin(&comp(1, Some(st)), &synth(1), "u".into(), StartReason::Initial, t("2024-01-01T00:00:00Z"));
    assert_eq!(s.input_revisions[0].resource_version, "7");
}

#[test]
fn success_swaps_previous_current_in_flight() {
    let old = Synthesis { reconciled: Some(t("2024-01-01T00:01:00Z")), ..done("a", 1, 1) };
    let st = status(Some(running("b", 2, 1)), Some(old.clone())).unwrap();
    let now = t("2024-01-02T00:00:00Z");
    let slices = vec![ResourceSliceRef { name: "c-1".into() }];
    let info = KrmResult {
        message: "fyi".into(),
        severity: Some(crate::api::Severity::Info),
        ..Default::default()
    };
    let out = complete_success(&st, "b", slices.clone(), vec![info.clone()], now.clone()).unwrap();
    assert_eq!(out.previous_synthesis, Some(old));
    assert_eq!(out.in_flight_synthesis, None);
    let cur = out.current_synthesis.unwrap();
    assert_eq!(cur.uuid, "b");
    assert_eq!(cur.synthesized, Some(now));
    assert_eq!(cur.resource_slices, slices);
    assert_eq!(cur.results, vec![info]);
    assert_eq!((cur.reconciled, cur.ready), (None, None));
    assert_eq!(cur.observed_composition_generation, 2);
}

#[test]
fn completion_of_a_stale_synthesis_is_refused() {
    let now = t("2024-01-02T00:00:00Z");
    let st = status(Some(running("b", 2, 1)), None).unwrap();
    assert!(matches!(
        complete_success(&st, "zzz", vec![], vec![], now.clone()),
        Err(CompletionError::NotInFlight { .. })
    ));
    assert!(matches!(
        complete_failure(&CompositionStatus::default(), "b", vec![], None, now.clone()),
        Err(CompletionError::NotInFlight { .. })
    ));
    let st = status(Some(canceled("b", 2, 1)), None).unwrap();
    assert_eq!(
        complete_success(&st, "b", vec![], vec![], now),
        Err(CompletionError::AlreadyFinished { uuid: "b".into() })
    );
}

#[test]
fn success_with_error_results_is_refused() {
    let st = status(Some(running("b", 2, 1)), None).unwrap();
    let err = complete_success(&st, "b", vec![], vec![KrmResult::error("x")], t("2024-01-02T00:00:00Z"));
    assert_eq!(err, Err(CompletionError::HasErrors { uuid: "b".into() }));
}

#[test]
fn failure_keeps_the_last_good_synthesis_and_blocks_retries() {
    let good = done("a", 1, 1);
    let prev = done("p", 1, 1);
    let st = CompositionStatus {
        in_flight_synthesis: Some(running("b", 2, 1)),
        current_synthesis: Some(good.clone()),
        previous_synthesis: Some(prev.clone()),
        ..Default::default()
    };
    let now = t("2024-01-02T00:00:00Z");
    let _ = prev;
    let good = Synthesis { resource_slices: vec![ResourceSliceRef { name: "good-1".into() }], ..good };
    let st = CompositionStatus { current_synthesis: Some(good.clone()), ..st };
    let out = complete_failure(&st, "b", vec![KrmResult::error("The system is down")], None, now.clone())
        .unwrap();
    assert_eq!(out.in_flight_synthesis, None);
    assert_eq!(out.previous_synthesis, Some(good.clone()));
    let f = out.current_synthesis.clone().unwrap();
    assert_eq!(f.uuid, "b");
    assert_eq!(f.synthesized, Some(now), "a failed synthesis has an age, as in the seed's output");
    assert_eq!(f.canceled, None);
    assert_eq!(f.resource_slices, good.resource_slices, "the last good output stays managed");
    assert_eq!(f.first_error(), Some("The system is down"));
    assert_eq!(next_synthesis(&comp(2, Some(out.clone())), Some(&synth(1))), WaitForModification);
    let simplified = crate::decide::status::simplified(&comp(2, Some(out)), true, &[]);
    assert_eq!(
        (simplified.status.as_str(), simplified.error.as_str()),
        ("NotReady", "The system is down")
    );
}

#[test]
fn failure_message_and_fallback() {
    let st = status(Some(running("b", 2, 1)), None).unwrap();
    let now = t("2024-01-02T00:00:00Z");
    let out =
        complete_failure(&st, "b", vec![], Some("Synthesizer error: exit status 3".into()), now.clone())
            .unwrap();
    assert_eq!(out.current_synthesis.unwrap().first_error(), Some("Synthesizer error: exit status 3"));
    // The synthesizer's own error result comes first.
    let out =
        complete_failure(&st, "b", vec![KrmResult::error("own")], Some("exit 1".into()), now.clone())
            .unwrap();
    assert_eq!(out.current_synthesis.unwrap().first_error(), Some("own"));
    let out = complete_failure(&st, "b", vec![], None, now).unwrap();
    assert_eq!(out.current_synthesis.unwrap().first_error(), Some("synthesis failed"));
}

#[test]
fn retry_after_modification_starts_fresh_and_success_clears_the_failure() {
    let st = status(Some(canceled("b", 2, 1)), Some(done("a", 1, 1)));
    let c = comp(3, st);
    assert_eq!(next_synthesis(&c, Some(&synth(1))), start(StartReason::CompositionModified));
    let s = begin(&c, &synth(1), "c".into(), StartReason::Initial, t("2024-01-03T00:00:00Z"));
    assert_eq!(s.attempts, 1);
    let mut status = c.status.clone().unwrap();
    status.in_flight_synthesis = Some(s);
    let out = complete_success(&status, "c", vec![], vec![], t("2024-01-03T00:00:01Z")).unwrap();
    assert_eq!(out.in_flight_synthesis, None);
    assert_eq!(out.previous_synthesis.as_ref().unwrap().uuid, "a");
    assert_eq!(next_synthesis(&comp(3, Some(out)), Some(&synth(1))), Nothing(NothingReason::UpToDate));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_synthesis() -> impl Strategy<Value = Synthesis> {
        (1i64..4, 0i64..4, 0u8..3).prop_map(|(comp_gen, synth_gen, kind)| match kind {
            0 => done("d", comp_gen, synth_gen),
            1 => running("r", comp_gen, synth_gen),
            _ => canceled("f", comp_gen, synth_gen),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        /// A canceled synthesis is superseded only when a generation moved since it ran, and
        /// otherwise retried, whatever the rest of the status holds.
        #[test]
        fn a_failed_synthesis_is_restarted_only_after_a_change(
            comp_gen in 1i64..4, synth_gen in 1i64..4, ran_comp in 1i64..4, ran_synth in 1i64..4,
            current in prop::option::of(arb_synthesis()), previous in prop::option::of(arb_synthesis()),
        ) {
            let st = CompositionStatus { in_flight_synthesis: Some(canceled("f", ran_comp, ran_synth)), current_synthesis: current, previous_synthesis: previous, ..Default::default() };
            let decision = next_synthesis(&comp(comp_gen, Some(st)), Some(&synth(synth_gen)));
            if matches!(decision, Start { .. }) {
                prop_assert!(ran_comp != comp_gen || ran_synth != synth_gen, "{:?}", decision);
            }
            // Nothing moved: a retry (or nothing, for a lagging synthesizer cache).
            if ran_comp == comp_gen && ran_synth == synth_gen {
                prop_assert!(matches!(decision, Retry { .. } | Nothing(NothingReason::SynthesizerBehind)), "{:?}", decision);
            }
        }

        /// A synthesizer generation older than one a synthesis already saw never starts anything.
        #[test]
        fn a_lagging_synthesizer_starts_nothing(
            comp_gen in 1i64..4, synth_gen in 0i64..4,
            in_flight in prop::option::of(arb_synthesis()), current in prop::option::of(arb_synthesis()),
        ) {
            let st = CompositionStatus { in_flight_synthesis: in_flight, current_synthesis: current, ..Default::default() };
            let seen = [&st.in_flight_synthesis, &st.current_synthesis].into_iter().flatten().map(|s| s.observed_synthesizer_generation).max();
            let decision = next_synthesis(&comp(comp_gen, Some(st)), Some(&synth(synth_gen)));
            if seen.is_some_and(|seen| seen > synth_gen) {
                prop_assert_eq!(decision, Nothing(NothingReason::SynthesizerBehind));
            }
        }

        /// `begin` counts attempts from 1 and names the generations it runs with.
        #[test]
        fn begin_counts_attempts_from_one(comp_gen in 1i64..4, synth_gen in 0i64..4, in_flight in prop::option::of(arb_synthesis())) {
            let c = comp(comp_gen, Some(CompositionStatus { in_flight_synthesis: in_flight, ..Default::default() }));
            let s = begin(&c, &synth(synth_gen), "u".into(), StartReason::Initial, t("2024-01-01T00:00:00Z"));
            prop_assert!(s.attempts >= 1);
            prop_assert_eq!((s.observed_composition_generation, s.observed_synthesizer_generation), (comp_gen, synth_gen));
            prop_assert!(is_running(&s));
        }
    }
}
