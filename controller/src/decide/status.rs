//! The composition's one-word status, and the aggregation of per-resource slice states into the
//! current synthesis's `reconciled` / `ready` timestamps.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::synthesis::{is_failed, is_running};
use crate::api::{Composition, CompositionStatus, ResourceSlice, SimplifiedStatus, Synthesis};

pub const DELETING: &str = "Deleting";
pub const MISSING_SYNTHESIZER: &str = "MissingSynthesizer";
pub const SYNTHESIZING: &str = "Synthesizing";
/// A required input of the synthesizer is missing or unusable: nothing is synthesized.
pub const MISSING_INPUTS: &str = "MissingInputs";
/// A synthesis failed in a way worth retrying (not a verdict) and waits for its retry.
pub const SYNTHESIS_BACKOFF: &str = "SynthesisBackoff";
pub const NOT_READY: &str = "NotReady";
pub const PENDING_SYNTHESIS: &str = "PendingSynthesis";
pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";

/// Shown for a failed synthesis that carries no error message of its own (e.g. an old status).
const SYNTHESIS_FAILED: &str = "synthesis failed";

fn simple(status: &str, error: impl Into<String>) -> SimplifiedStatus {
    SimplifiedStatus { status: status.to_owned(), error: error.into() }
}

/// `status.simplified` per the spec, first match wins: `Deleting`; `MissingSynthesizer`;
/// `Synthesizing` (a synthesis is running); `NotReady` with the failure's message (the last
/// synthesis failed); `PendingSynthesis` (never synthesized); `Ready` (all resources ready);
/// `NotReady` (all reconciled); `Reconciling` with the latest reconciliation error, else what
/// the resources wait for ([`super::ordering::waiting_on`]).
///
/// `slices` may include slices of other syntheses; only those named by the current synthesis
/// count. Total: any status, however inconsistent, maps to one of these.
pub fn simplified(comp: &Composition, synth_exists: bool, slices: &[ResourceSlice]) -> SimplifiedStatus {
    if comp.metadata.deletion_timestamp.is_some() {
        return simple(DELETING, "");
    }
    if !synth_exists {
        return simple(MISSING_SYNTHESIZER, "");
    }
    let status = comp.status.as_ref();
    if let Some(in_flight) = status.and_then(|s| s.in_flight_synthesis.as_ref()) {
        if is_running(in_flight) {
            return simple(SYNTHESIZING, "");
        }
        if in_flight.canceled.is_some() {
            return simple(SYNTHESIS_BACKOFF, in_flight.first_error().unwrap_or(SYNTHESIS_FAILED));
        }
        if is_failed(in_flight) {
            return simple(NOT_READY, in_flight.first_error().unwrap_or(SYNTHESIS_FAILED));
        }
    }
    if let Some(failed) = status.and_then(|s| s.current_synthesis.as_ref()).filter(|c| is_failed(c)) {
        return simple(NOT_READY, failed.first_error().unwrap_or(SYNTHESIS_FAILED));
    }
    let Some(current) = status.and_then(|s| s.current_synthesis.as_ref()).filter(|c| c.synthesized.is_some())
    else {
        // Never synthesized successfully: nothing reconciled to report on yet.
        return simple(PENDING_SYNTHESIS, "");
    };
    if current.ready.is_some() {
        return simple(READY, "");
    }
    if current.reconciled.is_some() {
        return simple(NOT_READY, "");
    }
    let waiting = || super::ordering::waiting_on(&super::ordering::members(slices_of(current, slices).into_iter().flatten(), false, |m| m.object().ok().map(std::sync::Arc::new)), false);
    simple(RECONCILING, latest_reconciliation_error(current, slices).or_else(waiting).unwrap_or_default())
}

/// `status` carrying the simplified status it makes by itself, before any slice of a new
/// synthesis reports: written with a synthesis's start or outcome, so the change of simplified
/// status does not cost a write of its own. Where what only the composition controller reads
/// says otherwise (a halted rollout, missing inputs), that controller corrects it once.
pub fn with_own_simplified(comp: &Composition, mut status: CompositionStatus) -> CompositionStatus {
    let after = Composition { status: Some(status.clone()), ..comp.clone() };
    status.simplified = Some(simplified(&after, true, &[]));
    status
}

/// The slices of `synthesis`, in its order; `None` for a referenced slice not (yet) observed.
fn slices_of<'a>(synthesis: &Synthesis, slices: &'a [ResourceSlice]) -> Vec<Option<&'a ResourceSlice>> {
    synthesis
        .resource_slices
        .iter()
        .map(|r| slices.iter().find(|s| s.metadata.name.as_deref() == Some(r.name.as_str())))
        .collect()
}

/// The reconciliation error to show while `Reconciling`. Errors carry no timestamps, so, as in
/// Eno, the largest one is chosen: deterministic whatever order the slices were listed in.
pub fn latest_reconciliation_error(synthesis: &Synthesis, slices: &[ResourceSlice]) -> Option<String> {
    slices_of(synthesis, slices)
        .into_iter()
        .flatten()
        .filter_map(|s| s.status.as_ref())
        .flat_map(|s| s.resources.iter())
        .filter_map(|r| r.reconciliation_error.as_deref())
        .filter(|e| !e.is_empty())
        .max()
        .map(str::to_owned)
}

/// The current synthesis's `(reconciled, ready)` from its slices' resource states.
///
/// Reconciled: every resource reports `reconciled`; tombstones, and every resource while the
/// composition is `deleting`, must also report `deleted` (the tombstone is only done once the
/// object is gone). A missing slice or a status shorter than the spec counts as not reconciled.
/// The time is `now` the first time, then the recorded one (it latches).
///
/// Ready (only once reconciled): the latest `ready` time of the non-tombstone resources when all
/// have one; an output with no resources is ready when it is reconciled.
pub fn aggregate(
    slices: &[ResourceSlice],
    current: &Synthesis,
    deleting: bool,
    now: Time,
) -> (Option<Time>, Option<Time>) {
    let mut all_reconciled = true;
    let mut all_ready = true;
    let mut latest_ready: Option<&Time> = None;
    let mut any_resource = false;
    for slice in slices_of(current, slices) {
        let Some(slice) = slice else { return (None, None) };
        let states = slice.status.as_ref().map(|s| s.resources.as_slice()).unwrap_or_default();
        for (index, manifest) in slice.spec.resources.iter().enumerate() {
            let state = states.get(index);
            let must_be_gone = manifest.deleted || deleting;
            let done = state.is_some_and(|s| s.reconciled && (!must_be_gone || s.deleted));
            all_reconciled &= done;
            if manifest.deleted {
                continue;
            }
            any_resource = true;
            match state.and_then(|s| s.ready.as_ref()) {
                Some(t) => latest_ready = latest_ready.max(Some(t)),
                None => all_ready = false,
            }
        }
    }
    if !all_reconciled {
        return (None, None);
    }
    let reconciled = current.reconciled.clone().unwrap_or(now);
    let ready = match (any_resource, all_ready) {
        (false, _) => Some(current.ready.clone().unwrap_or_else(|| reconciled.clone())),
        (true, true) => latest_ready.cloned(),
        (true, false) => None,
    };
    (Some(reconciled), ready)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        CompositionSpec, CompositionStatus, KrmResult, Manifest, ResourceSliceRef, ResourceSliceSpec,
        ResourceSliceStatus, ResourceState, SynthesizerRef,
    };
    use proptest::prelude::*;

    fn t(secs: i64) -> Time {
        serde_json::from_value(serde_json::json!(format!("2024-01-01T00:{:02}:{:02}Z", secs / 60, secs % 60)))
            .unwrap()
    }

    fn comp(status: Option<CompositionStatus>) -> Composition {
        let mut c = Composition::new(
            "c",
            CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() },
        );
        c.status = status;
        c
    }

    fn synthesized(slices: &[&str]) -> Synthesis {
        Synthesis {
            uuid: "cur".into(),
            synthesized: Some(t(1)),
            resource_slices: slices.iter().map(|n| ResourceSliceRef { name: (*n).into() }).collect(),
            ..Default::default()
        }
    }

    fn with_current(current: Synthesis) -> Composition {
        comp(Some(CompositionStatus { current_synthesis: Some(current), ..Default::default() }))
    }

    fn slice(name: &str, resources: &[bool], states: Vec<ResourceState>) -> ResourceSlice {
        let mut s = ResourceSlice::new(
            name,
            ResourceSliceSpec {
                synthesis_uuid: "cur".into(),
                resources: resources
                    .iter()
                    .map(|&deleted| Manifest { manifest: "{}".into(), deleted })
                    .collect(),
            },
        );
        s.status = Some(ResourceSliceStatus { resources: states });
        s
    }

    fn state(reconciled: bool, ready: Option<i64>, deleted: bool) -> ResourceState {
        ResourceState { reconciled, ready: ready.map(t), deleted, reconciliation_error: None }
    }

    fn failing(error: &str) -> ResourceState {
        ResourceState { reconciliation_error: Some(error.into()), ..Default::default() }
    }

    fn status_of(c: &Composition, synth_exists: bool, slices: &[ResourceSlice]) -> (String, String) {
        let s = simplified(c, synth_exists, slices);
        (s.status, s.error)
    }

    fn pair(status: &str, error: &str) -> (String, String) {
        (status.to_owned(), error.to_owned())
    }

    #[test]
    fn deleting_wins() {
        let mut c = with_current(Synthesis { ready: Some(t(2)), ..synthesized(&[]) });
        c.metadata.deletion_timestamp = Some(t(5));
        assert_eq!(status_of(&c, false, &[]), pair(DELETING, ""));
    }

    #[test]
    fn missing_synthesizer() {
        assert_eq!(status_of(&comp(None), false, &[]), pair(MISSING_SYNTHESIZER, ""));
    }

    #[test]
    fn synthesizing_while_running() {
        let c = comp(Some(CompositionStatus {
            in_flight_synthesis: Some(Synthesis {
                uuid: "b".into(),
                initialized: Some(t(1)),
                ..Default::default()
            }),
            current_synthesis: Some(Synthesis { ready: Some(t(1)), ..synthesized(&[]) }),
            ..Default::default()
        }));
        assert_eq!(status_of(&c, true, &[]), pair(SYNTHESIZING, ""));
    }

    #[test]
    fn failed_synthesis_shows_its_error() {
        let failed = Synthesis {
            uuid: "b".into(),
            canceled: Some(t(3)),
            results: vec![
                KrmResult {
                    message: "just info".into(),
                    severity: Some(crate::api::Severity::Info),
                    ..Default::default()
                },
                KrmResult::error("The system is down, the system is down"),
                KrmResult::error("second"),
            ],
            ..Default::default()
        };
        // Canceled (a failure worth retrying): backing off, with the error.
        let c = comp(Some(CompositionStatus {
            in_flight_synthesis: Some(failed.clone()),
            current_synthesis: Some(Synthesis { ready: Some(t(1)), ..synthesized(&[]) }),
            ..Default::default()
        }));
        assert_eq!(status_of(&c, true, &[]), pair(SYNTHESIS_BACKOFF, "The system is down, the system is down"));
        // A canceled synthesis without an error result still says why.
        let c = comp(Some(CompositionStatus {
            in_flight_synthesis: Some(Synthesis { results: vec![], ..failed.clone() }),
            ..Default::default()
        }));
        assert_eq!(status_of(&c, true, &[]), pair(SYNTHESIS_BACKOFF, SYNTHESIS_FAILED));
        // A verdict recorded as the current synthesis: not ready, with its error.
        let verdict = Synthesis { canceled: None, synthesized: Some(t(3)), ..failed };
        let c = comp(Some(CompositionStatus { current_synthesis: Some(verdict), ..Default::default() }));
        assert_eq!(status_of(&c, true, &[]), pair(NOT_READY, "The system is down, the system is down"));
    }

    #[test]
    fn pending_until_synthesized() {
        assert_eq!(status_of(&comp(None), true, &[]), pair(PENDING_SYNTHESIS, ""));
        assert_eq!(
            status_of(&comp(Some(CompositionStatus::default())), true, &[]),
            pair(PENDING_SYNTHESIS, "")
        );
        let unsynthesized = Synthesis { synthesized: None, ..synthesized(&[]) };
        assert_eq!(status_of(&with_current(unsynthesized), true, &[]), pair(PENDING_SYNTHESIS, ""));
    }

    #[test]
    fn a_start_or_an_outcome_carries_the_simplified_status_it_makes() {
        let ready = with_current(Synthesis { reconciled: Some(t(2)), ready: Some(t(3)), ..synthesized(&["s1"]) });
        // A new synthesis in flight: Synthesizing, written with the start.
        let started = CompositionStatus { in_flight_synthesis: Some(Synthesis { uuid: "next".into(), ..Default::default() }), ..ready.status.clone().unwrap() };
        assert_eq!(with_own_simplified(&ready, started).simplified, Some(simple(SYNTHESIZING, "")));
        // Its outcome recorded, nothing reported by its slices yet: Reconciling.
        let recorded = CompositionStatus { current_synthesis: Some(synthesized(&["s2"])), ..Default::default() };
        assert_eq!(with_own_simplified(&ready, recorded).simplified, Some(simple(RECONCILING, "")));
    }

    #[test]
    fn ready_then_not_ready_then_reconciling() {
        let ready = Synthesis { reconciled: Some(t(2)), ready: Some(t(3)), ..synthesized(&[]) };
        assert_eq!(status_of(&with_current(ready), true, &[]), pair(READY, ""));
        let reconciled = Synthesis { reconciled: Some(t(2)), ..synthesized(&[]) };
        assert_eq!(status_of(&with_current(reconciled), true, &[]), pair(NOT_READY, ""));
        assert_eq!(status_of(&with_current(synthesized(&[])), true, &[]), pair(RECONCILING, ""));
    }

    #[test]
    fn reconciling_shows_the_largest_error_of_current_slices_only() {
        let cur = synthesized(&["s1", "s2"]);
        let slices = [
            slice("s2", &[false, false], vec![failing("b: forbidden"), state(true, None, false)]),
            slice("s1", &[false], vec![failing("a: conflict")]),
            slice("other", &[false], vec![failing("z: not mine")]),
        ];
        assert_eq!(status_of(&with_current(cur.clone()), true, &slices), pair(RECONCILING, "b: forbidden"));
        let mut reversed = slices.clone();
        reversed.reverse();
        assert_eq!(status_of(&with_current(cur), true, &reversed), pair(RECONCILING, "b: forbidden"));
    }

    #[test]
    fn aggregate_waits_for_every_resource() {
        let cur = synthesized(&["s1", "s2"]);
        let now = t(30);
        let s1 = slice("s1", &[false, false], vec![state(true, Some(5), false), state(true, Some(9), false)]);
        let s2 = slice("s2", &[false], vec![state(true, Some(7), false)]);
        assert_eq!(
            aggregate(&[s1.clone(), s2.clone()], &cur, false, now.clone()),
            (Some(now.clone()), Some(t(9)))
        );
        // One slice not observed.
        assert_eq!(aggregate(std::slice::from_ref(&s1), &cur, false, now.clone()), (None, None));
        // One resource not reconciled.
        let partial = slice("s2", &[false], vec![state(false, None, false)]);
        assert_eq!(aggregate(&[s1.clone(), partial], &cur, false, now.clone()), (None, None));
        // Status shorter than spec.
        let short = slice("s2", &[false], vec![]);
        assert_eq!(aggregate(&[s1.clone(), short], &cur, false, now.clone()), (None, None));
        // Reconciled but one not ready.
        let unready = slice("s2", &[false], vec![state(true, None, false)]);
        assert_eq!(aggregate(&[s1, unready], &cur, false, now.clone()), (Some(now), None));
    }

    #[test]
    fn aggregate_latches_the_reconciled_time() {
        let cur = Synthesis { reconciled: Some(t(10)), ..synthesized(&["s1"]) };
        let s1 = slice("s1", &[false], vec![state(true, Some(12), false)]);
        assert_eq!(aggregate(&[s1], &cur, false, t(50)), (Some(t(10)), Some(t(12))));
    }

    #[test]
    fn tombstones_count_once_deleted_and_never_for_readiness() {
        let cur = synthesized(&["s1"]);
        let now = t(40);
        let pending =
            slice("s1", &[false, true], vec![state(true, Some(5), false), state(true, None, false)]);
        assert_eq!(aggregate(&[pending], &cur, false, now.clone()), (None, None));
        let gone = slice("s1", &[false, true], vec![state(true, Some(5), false), state(true, None, true)]);
        assert_eq!(aggregate(&[gone], &cur, false, now.clone()), (Some(now), Some(t(5))));
    }

    #[test]
    fn deleting_requires_every_resource_deleted() {
        let cur = synthesized(&["s1"]);
        let now = t(40);
        let present = slice("s1", &[false], vec![state(true, Some(5), false)]);
        assert_eq!(aggregate(&[present], &cur, true, now.clone()), (None, None));
        let gone = slice("s1", &[false], vec![state(true, Some(5), true)]);
        assert_eq!(aggregate(&[gone], &cur, true, now.clone()).0, Some(now));
    }

    #[test]
    fn empty_output_is_reconciled_and_ready_at_once() {
        let now = t(20);
        assert_eq!(
            aggregate(&[], &synthesized(&[]), false, now.clone()),
            (Some(now.clone()), Some(now.clone()))
        );
        let only_tombstones = slice("s1", &[true], vec![state(true, None, true)]);
        assert_eq!(
            aggregate(&[only_tombstones], &synthesized(&["s1"]), false, now.clone()),
            (Some(now.clone()), Some(now))
        );
    }

    // -----------------------------------------------------------------------------------------
    // Totality over random statuses.

    fn opt_time() -> impl Strategy<Value = Option<Time>> {
        prop::option::of((0i64..100).prop_map(t))
    }

    fn krm_result() -> impl Strategy<Value = KrmResult> {
        (
            prop::sample::select(&["", "boom", "down"][..]),
            prop::option::of(prop::sample::select(
                &[crate::api::Severity::Error, crate::api::Severity::Warning, crate::api::Severity::Info][..],
            )),
        )
            .prop_map(|(m, severity)| KrmResult {
                message: m.into(),
                severity,
                ..Default::default()
            })
    }

    fn synthesis() -> impl Strategy<Value = Synthesis> {
        (
            (opt_time(), opt_time(), opt_time(), opt_time(), opt_time()),
            prop::collection::vec(krm_result(), 0..3),
            prop::collection::vec(prop::sample::select(&["s1", "s2", "s3"][..]), 0..3),
            (-2i64..3, -2i64..3, -1i64..4),
        )
            .prop_map(
                |(
                    (initialized, synthesized, reconciled, ready, canceled),
                    results,
                    slices,
                    (cg, sg, attempts),
                )| Synthesis {
                    uuid: "u".into(),
                    observed_composition_generation: cg,
                    observed_synthesizer_generation: sg,
                    initialized,
                    synthesized,
                    reconciled,
                    ready,
                    canceled,
                    attempts,
                    resource_slices: slices
                        .into_iter()
                        .map(|n| ResourceSliceRef { name: n.into() })
                        .collect(),
                    results,
                    ..Default::default()
                },
            )
    }

    fn resource_state() -> impl Strategy<Value = ResourceState> {
        (
            any::<bool>(),
            opt_time(),
            any::<bool>(),
            prop::option::of(prop::sample::select(&["", "e1", "e2"][..])),
        )
            .prop_map(|(reconciled, ready, deleted, err)| ResourceState {
                reconciled,
                ready,
                deleted,
                reconciliation_error: err.map(str::to_owned),
            })
    }

    fn any_slice() -> impl Strategy<Value = ResourceSlice> {
        (
            prop::sample::select(&["s1", "s2", "s3", "x"][..]),
            prop::collection::vec(any::<bool>(), 0..4),
            prop::option::of(prop::collection::vec(resource_state(), 0..5)),
        )
            .prop_map(|(name, tombstones, states)| {
                let mut s = slice(name, &tombstones, vec![]);
                s.status = states.map(|resources| ResourceSliceStatus { resources });
                s
            })
    }

    fn any_composition() -> impl Strategy<Value = Composition> {
        (
            prop::option::of((
                prop::option::of(synthesis()),
                prop::option::of(synthesis()),
                prop::option::of(synthesis()),
            )),
            any::<bool>(),
        )
            .prop_map(|(status, deleting)| {
                let mut c = comp(status.map(|(in_flight, current, previous)| CompositionStatus {
                    in_flight_synthesis: in_flight,
                    current_synthesis: current,
                    previous_synthesis: previous,
                    ..Default::default()
                }));
                if deleting {
                    c.metadata.deletion_timestamp = Some(t(99));
                }
                c
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn simplified_is_total_and_consistent(
            c in any_composition(),
            synth_exists in any::<bool>(),
            slices in prop::collection::vec(any_slice(), 0..4),
        ) {
            let s = simplified(&c, synth_exists, &slices);
            let known = [DELETING, MISSING_SYNTHESIZER, SYNTHESIZING, SYNTHESIS_BACKOFF, NOT_READY, PENDING_SYNTHESIS, READY, RECONCILING];
            prop_assert!(known.contains(&s.status.as_str()), "{:?}", s);
            // First-match rules that hold whatever the rest of the status says.
            if c.metadata.deletion_timestamp.is_some() {
                prop_assert_eq!(s.status.as_str(), DELETING);
            } else if !synth_exists {
                prop_assert_eq!(s.status.as_str(), MISSING_SYNTHESIZER);
            }
            // Errors only with NotReady (a failed synthesis), SynthesisBackoff (a canceled one) or
            // Reconciling.
            if !s.error.is_empty() {
                prop_assert!(s.status == NOT_READY || s.status == SYNTHESIS_BACKOFF || s.status == RECONCILING, "{:?}", s);
            }
            if s.status == SYNTHESIS_BACKOFF {
                prop_assert!(c.status.as_ref().and_then(|st| st.in_flight_synthesis.as_ref()).is_some_and(|s| s.canceled.is_some()));
            }
            if s.status == NOT_READY && !s.error.is_empty() {
                let st = c.status.as_ref();
                let failed = [st.and_then(|st| st.in_flight_synthesis.as_ref()), st.and_then(|st| st.current_synthesis.as_ref())];
                prop_assert!(failed.into_iter().flatten().any(is_failed));
            }
            // Deterministic.
            prop_assert_eq!(simplified(&c, synth_exists, &slices), s);
        }

        #[test]
        fn aggregate_is_total_and_ready_implies_reconciled(
            current in synthesis(),
            slices in prop::collection::vec(any_slice(), 0..4),
            deleting in any::<bool>(),
        ) {
            let (reconciled, ready) = aggregate(&slices, &current, deleting, t(60));
            prop_assert!(ready.is_none() || reconciled.is_some());
            if let Some(r) = &current.reconciled {
                if let Some(got) = &reconciled {
                    prop_assert_eq!(got, r);
                }
            }
        }
    }
}
