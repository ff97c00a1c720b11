use super::*;
use proptest::prelude::*;
use serde_json::json;

fn api(code: u16, reason: &str, message: &str) -> ClientError {
    ClientError::Api { code, reason: reason.into(), message: message.into() }
}

fn missing_namespace() -> ClientError {
    api(404, "NotFound", "namespaces \"team\" not found")
}

fn unknown_kind() -> ClientError {
    ClientError::UnknownKind("no matches for kind \"Widget\" in version \"example.com/v1\"".into())
}

#[test]
fn a_read_of_an_unserved_kind_or_a_missing_object_finds_it_absent() {
    assert_eq!(classify(Request::Read, &unknown_kind()), Failure::Absent);
    assert_eq!(classify(Request::Read, &missing_namespace()), Failure::Absent);
}

#[test]
fn a_create_in_a_missing_namespace_or_of_an_unserved_kind_is_refused_with_the_servers_words() {
    assert_eq!(classify(Request::Create, &missing_namespace()), Failure::Refused("namespaces \"team\" not found".into()));
    assert_eq!(classify(Request::Create, &unknown_kind()), Failure::Refused("no matches for kind \"Widget\" in version \"example.com/v1\"".into()));
    // A CRD deleted after the client resolved its kind: the type's URL is gone.
    let gone = api(404, "NotFound", "the server could not find the requested resource");
    assert_eq!(classify(Request::Create, &gone), Failure::Refused("the server could not find the requested resource".into()));
}

#[test]
fn a_change_of_an_object_that_went_or_moved_on_is_decided_again() {
    for e in [api(404, "NotFound", "configmaps \"c\" not found"), unknown_kind(), api(409, "Conflict", "the object has been modified")] {
        assert_eq!(classify(Request::Change, &e), Failure::Stale, "{e}");
    }
    assert_eq!(classify(Request::Create, &api(409, "AlreadyExists", "configmaps \"c\" already exists")), Failure::Stale);
    // Even a read answered with a conflict is a race, not the resource refused.
    assert_eq!(classify(Request::Read, &api(409, "Conflict", "Operation cannot be fulfilled: injected conflict")), Failure::Stale);
}

#[test]
fn forbidden_invalid_and_bad_requests_are_refused_on_every_request() {
    let forbidden = api(403, "Forbidden", "configmaps \"c\" is forbidden: User \"eno\" cannot get resource \"configmaps\"");
    let invalid = api(422, "Invalid", "ConfigMap \"c\" is invalid: metadata.name: Invalid value");
    let bad = api(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    for request in [Request::Read, Request::Create, Request::Change] {
        for e in [&forbidden, &invalid, &bad] {
            assert_eq!(classify(request, e), Failure::Refused(reason(e)), "{request:?} {e}");
        }
    }
    assert!(reason(&forbidden).starts_with("configmaps \"c\" is forbidden"));
}

#[test]
fn throttling_server_trouble_and_not_leading_keep_the_work_queues_retry() {
    let transient = [api(429, "TooManyRequests", ""), api(500, "InternalError", ""), api(503, "ServiceUnavailable", ""), api(504, "Timeout", ""), ClientError::Transport("reset".into()), ClientError::NotLeader];
    for request in [Request::Read, Request::Create, Request::Change] {
        for e in &transient {
            assert_eq!(classify(request, e), Failure::Transient, "{request:?} {e}");
        }
    }
}

#[test]
fn a_status_without_a_message_is_shown_whole() {
    assert_eq!(classify(Request::Create, &api(403, "Forbidden", "")), Failure::Refused("403 Forbidden: ".into()));
    assert_eq!(classify(Request::Read, &ClientError::Decode("eof".into())), Failure::Refused("unexpected response: eof".into()));
}

#[test]
fn retries_start_at_two_seconds_and_double_up_to_thirty() {
    // Seed 0's jitter, whatever it is, applies to every pause alike: compare the bases.
    let within = |n: u32, base: u64| {
        let d = retry_after(n, 0);
        let base = Duration::from_secs(base);
        assert!(d >= base.mul_f64(0.9) && d <= base.mul_f64(1.1), "retry {n}: {d:?} against {base:?}");
    };
    for (n, base) in [(0, 2), (1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (6, 30), (u32::MAX, 30)] {
        within(n, base);
    }
}

#[test]
fn a_pass_holds_off_until_the_retry_for_the_same_attempt() {
    let now = Instant::now();
    let first = refused(None, 7, now, 1);
    assert_eq!(first.count, 1);
    assert_eq!(first.retry_at, now + retry_after(1, 1));
    assert_eq!(hold_off(Some(&first), 7, now), Some(retry_after(1, 1)));
    assert_eq!(hold_off(Some(&first), 7, first.retry_at), None, "due");
    assert_eq!(hold_off(Some(&first), 8, now), None, "another desired state goes ahead");
    assert_eq!(hold_off(None, 7, now), None);
    let second = refused(Some(&first), 7, first.retry_at, 1);
    assert_eq!((second.count, second.retry_at), (2, first.retry_at + retry_after(2, 1)));
    // A refusal of another attempt starts the schedule over.
    assert_eq!(refused(Some(&second), 8, now, 1).count, 1);
    let saturated = Refusals { count: u32::MAX, ..second };
    assert_eq!(refused(Some(&saturated), 7, now, 1).count, u32::MAX);
}

#[test]
fn an_attempt_is_the_manifest_and_whether_it_goes() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team"}});
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}});
    let a = attempt(&cm, false, false);
    assert_eq!(a, attempt(&cm.clone(), false, false));
    assert_ne!(a, attempt(&other, false, false));
    assert_ne!(a, attempt(&cm, true, false));
    assert_ne!(a, attempt(&cm, false, true));
    assert_ne!(attempt(&cm, true, false), attempt(&cm, false, true));
}

proptest! {
    /// The schedule per resource: never shorter after more refusals, never past the cap's
    /// jitter, always within ±10% of its base, and the same every time it is asked.
    #[test]
    fn the_retry_schedule_is_monotone_capped_jittered_and_deterministic(seed in any::<u64>(), n in 1u32..64) {
        let (this, next) = (retry_after(n, seed), retry_after(n + 1, seed));
        prop_assert!(next >= this, "{next:?} < {this:?}");
        prop_assert!(this <= RETRY_CAP.mul_f64(1.1));
        let base = FIRST_RETRY.saturating_mul(1 << (n - 1).min(31)).min(RETRY_CAP);
        prop_assert!(this >= base.mul_f64(0.9) && this <= base.mul_f64(1.1), "{this:?} against {base:?}");
        prop_assert_eq!(this, retry_after(n, seed));
    }

    /// However the refusals fall, a resource is asked at most 6 times in any minute: the
    /// first minute's doublings, then at most 3 a minute at the cap.
    #[test]
    fn at_most_six_attempts_in_any_minute(seed in any::<u64>(), refusals in 1usize..40) {
        let start = Instant::now();
        let mut at = vec![start];
        let mut record: Option<Refusals> = None;
        for _ in 0..refusals {
            let now = *at.last().unwrap();
            let r = refused(record.as_ref(), 1, now, seed);
            prop_assert_eq!(hold_off(Some(&r), 1, now), Some(r.retry_at - now));
            at.push(r.retry_at);
            record = Some(r);
        }
        for (i, t) in at.iter().enumerate() {
            let within = at[i..].iter().take_while(|u| **u < *t + Duration::from_secs(60)).count();
            prop_assert!(within <= 6, "{within} attempts within a minute of attempt {i}");
        }
    }
}
