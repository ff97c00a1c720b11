//! The watchdog's judgement (Eno's `--watchdog-threshold`): a composition stuck mid-transition
//! for longer than the threshold, with what it is stuck in. The controllers report them (a log
//! line each, and a count ready for a metric); nothing acts on them.

use crate::api::Composition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::time::Duration;

/// Why `comp` counts as stuck at `now`, or `None`.
pub fn stuck(comp: &Composition, now: &Time, threshold: Duration) -> Option<String> {
    let limit = i64::try_from(threshold.as_secs()).unwrap_or(i64::MAX);
    let since = |t: &Time| now.0.as_second() - t.0.as_second();
    let over = |t: &Time| since(t) > limit;
    if let Some(deleting) = comp.metadata.deletion_timestamp.as_ref().filter(|t| over(t)) {
        return Some(format!("deleting for {}s", since(deleting)));
    }
    let status = comp.status.as_ref()?;
    if let Some(in_flight) = status.in_flight_synthesis.as_ref() {
        // Canceled: backing off before a retry, which is not being stuck.
        let running = in_flight.synthesized.is_none() && in_flight.canceled.is_none();
        let started = in_flight.initialized.as_ref().filter(|t| running && over(t))?;
        return Some(format!("synthesis {} started {}s ago and has not finished", in_flight.uuid, since(started)));
    }
    let current = status.current_synthesis.as_ref()?;
    let synthesized = current.synthesized.as_ref().filter(|t| over(t))?;
    match (current.reconciled.is_some(), current.ready.is_some()) {
        (false, _) => Some(format!("synthesis {} not reconciled {}s after it was synthesized", current.uuid, since(synthesized))),
        (true, false) if !current.failed() => Some(format!("synthesis {} not ready {}s after it was synthesized", current.uuid, since(synthesized))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CompositionSpec, CompositionStatus, KrmResult, Synthesis, SynthesizerRef};

    fn t(s: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000 + s).unwrap())
    }

    fn comp(status: CompositionStatus) -> Composition {
        let mut c = Composition::new("c", CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() });
        c.status = Some(status);
        c
    }

    #[test]
    fn transitions_longer_than_the_threshold_are_stuck() {
        let threshold = Duration::from_secs(180);
        let running = Synthesis { uuid: "u".into(), initialized: Some(t(0)), ..Default::default() };
        let c = comp(CompositionStatus { in_flight_synthesis: Some(running.clone()), ..Default::default() });
        assert_eq!(stuck(&c, &t(100), threshold), None);
        assert_eq!(stuck(&c, &t(200), threshold).as_deref(), Some("synthesis u started 200s ago and has not finished"));
        let backing_off = comp(CompositionStatus { in_flight_synthesis: Some(Synthesis { canceled: Some(t(150)), ..running.clone() }), ..Default::default() });
        assert_eq!(stuck(&backing_off, &t(200), threshold), None);
        let synthesized = Synthesis { synthesized: Some(t(10)), ..running };
        let c = comp(CompositionStatus { current_synthesis: Some(synthesized.clone()), ..Default::default() });
        assert_eq!(stuck(&c, &t(300), threshold).as_deref(), Some("synthesis u not reconciled 290s after it was synthesized"));
        let reconciled = Synthesis { reconciled: Some(t(20)), ..synthesized.clone() };
        let c = comp(CompositionStatus { current_synthesis: Some(reconciled.clone()), ..Default::default() });
        assert_eq!(stuck(&c, &t(300), threshold).as_deref(), Some("synthesis u not ready 290s after it was synthesized"));
        // Ready, or failed with a verdict (waiting for a change is not being stuck): fine.
        let ready = comp(CompositionStatus { current_synthesis: Some(Synthesis { ready: Some(t(30)), ..reconciled.clone() }), ..Default::default() });
        assert_eq!(stuck(&ready, &t(900), threshold), None);
        let failed = comp(CompositionStatus { current_synthesis: Some(Synthesis { results: vec![KrmResult::error("x")], ..reconciled }), ..Default::default() });
        assert_eq!(stuck(&failed, &t(900), threshold), None);
        let mut deleting = ready;
        deleting.metadata.deletion_timestamp = Some(t(0));
        assert_eq!(stuck(&deleting, &t(400), threshold).as_deref(), Some("deleting for 400s"));
    }
}
