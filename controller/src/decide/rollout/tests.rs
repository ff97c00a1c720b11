use super::*;
use crate::api::{CompositionStatus, KrmResult};
use k8s_openapi::jiff::Timestamp;

fn now() -> Time {
    Time(Timestamp::from_second(1_700_000_000).unwrap())
}

const COOLDOWN: Duration = Duration::from_secs(60);

fn lease(rv: &str, transitions: i32) -> Lease {
    Lease {
        metadata: ObjectMeta { name: Some(LEASE_NAME.into()), namespace: Some("eno".into()), resource_version: Some(rv.into()), ..ObjectMeta::default() },
        spec: Some(LeaseSpec { holder_identity: Some("ns/other".into()), lease_transitions: Some(transitions), ..LeaseSpec::default() }),
    }
}

fn slot(lease: Option<Lease>, watched: u64, taken_for_this: Option<u64>) -> Option<Seen> {
    Some(Seen { halted: None, slot: Slot { lease, watched: Duration::from_secs(watched), taken_for_this: taken_for_this.map(Duration::from_millis) } })
}

#[test]
fn spacing_is_the_cooldown_plus_a_window_and_a_margin() {
    assert_eq!(spacing(Duration::from_secs(60)), Duration::from_secs(64));
    assert_eq!(spacing(Duration::from_secs(5)), Duration::from_secs(6));
    // At least 250 ms each, for a few round trips to the API server.
    assert_eq!(spacing(Duration::from_secs(2)), Duration::from_millis(2500));
    assert_eq!(spacing(Duration::ZERO), Duration::ZERO);
}

#[test]
fn without_a_cooldown_everything_starts_at_once_and_a_halt_needs_one() {
    assert_eq!(admit(Duration::ZERO, None, "ns/c", "eno", &now()), Admission::Start, "nothing to look at");
    let halted = Seen { halted: Some("halted".into()), ..slot(None, 0, None).unwrap() };
    assert_eq!(admit(Duration::ZERO, Some(&halted), "ns/c", "eno", &now()), Admission::Start);
    assert_eq!(admit(COOLDOWN, Some(&halted), "ns/c", "eno", &now()), Admission::Halted("halted".into()));
}

#[test]
fn the_slot_is_read_then_created_when_nobody_took_it() {
    assert_eq!(admit(COOLDOWN, None, "ns/c", "eno", &now()), Admission::Read);
    let Admission::Take(Write::Create { object }) = admit(COOLDOWN, slot(None, 0, None).as_ref(), "ns/c", "eno", &now()) else { panic!() };
    assert_eq!(object["metadata"]["name"], LEASE_NAME);
    assert_eq!(object["metadata"]["namespace"], "eno");
    assert_eq!(object["spec"]["holderIdentity"], "ns/c");
    assert_eq!(object["spec"]["leaseTransitions"], 1);
}

#[test]
fn a_held_slot_is_taken_only_after_watching_it_for_the_spacing() {
    let held = Some(lease("41", 3));
    assert_eq!(admit(COOLDOWN, slot(held.clone(), 10, None).as_ref(), "ns/c", "eno", &now()), Admission::Wait(Duration::from_secs(54)));
    let Admission::Take(Write::Replace { object }) = admit(COOLDOWN, slot(held, 64, None).as_ref(), "ns/c", "eno", &now()) else { panic!() };
    assert_eq!(object["metadata"]["resourceVersion"], "41", "the version read is the precondition");
    assert_eq!((object["spec"]["holderIdentity"].as_str(), object["spec"]["leaseTransitions"].as_i64()), (Some("ns/c"), Some(4)));
}

#[test]
fn its_taker_starts_within_the_window_and_not_after() {
    let taken = Some(lease("42", 4));
    assert_eq!(admit(COOLDOWN, slot(taken.clone(), 0, Some(500)).as_ref(), "ns/c", "eno", &now()), Admission::Start);
    assert!(matches!(admit(COOLDOWN, slot(taken, 3, Some(2_000)).as_ref(), "ns/c", "eno", &now()), Admission::Wait(_)), "the slot is spent");
}

fn synthesis(generation: i64, deferred: bool, failed: bool) -> Synthesis {
    Synthesis {
        uuid: format!("u{generation}"),
        observed_synthesizer_generation: generation,
        deferred,
        synthesized: Some(now()),
        results: if failed { vec![KrmResult::error("boom")] } else { vec![] },
        ..Synthesis::default()
    }
}

fn comp(name: &str, current: Synthesis, in_flight: Option<Synthesis>) -> Composition {
    let mut c = Composition::new(name, Default::default());
    c.metadata.namespace = Some("ns".into());
    c.status = Some(CompositionStatus { current_synthesis: Some(current), in_flight_synthesis: in_flight, ..CompositionStatus::default() });
    c
}

#[test]
fn a_failure_at_the_current_generation_halts_the_rollout() {
    let mut synth = Synthesizer::new("s", Default::default());
    synth.metadata.generation = Some(3);
    let fine = comp("a", synthesis(3, true, false), None);
    assert_eq!(halted_by(&synth, &[fine.clone()]), None);
    let broken = comp("b", synthesis(3, true, true), None);
    let message = halted_by(&synth, &[fine.clone(), broken]).unwrap();
    assert!(message.contains("synthesizer s generation 3") && message.contains("ns/b"), "{message}");
    let retrying = comp("c", synthesis(2, false, false), Some(Synthesis { canceled: Some(now()), synthesized: None, ..synthesis(3, true, true) }));
    assert!(halted_by(&synth, &[retrying]).is_some(), "a failure being retried halts it too");
    assert_eq!(halted_by(&synth, &[comp("d", synthesis(2, true, true), None)]), None, "a failure at an older generation does not");
    assert!(halted_by(&synth, &[comp("e", synthesis(3, false, true), None)]).is_some(), "one the rollout did not start counts too");
    let recovered = comp("f", synthesis(3, true, false), None);
    assert_eq!(halted_by(&synth, &[Composition { status: Some(CompositionStatus { previous_synthesis: Some(synthesis(3, true, true)), ..recovered.status.clone().unwrap() }), ..recovered }]), None, "a failure since succeeded does not");
}
