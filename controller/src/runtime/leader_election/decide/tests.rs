use super::*;

fn config(identity: &str) -> ElectionConfig {
    ElectionConfig {
        namespace: "eno-system".into(),
        name: "eno-controller".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry_period: Duration::from_secs(2),
    }
}

fn at(second: i64) -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000 + second).unwrap())
}

fn lease(holder: &str, transitions: i32) -> Lease {
    Lease {
        metadata: ObjectMeta { name: Some("eno-controller".into()), namespace: Some("eno-system".into()), resource_version: Some("42".into()), ..Default::default() },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(at(0)),
            renew_time: Some(at(5)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }),
    }
}

fn written(a: Attempt) -> Lease {
    match a {
        Attempt::Create(l) | Attempt::Update(l) => l,
        Attempt::Held { holder, .. } => panic!("held by {holder}"),
    }
}

#[test]
fn no_lease_is_created_naming_this_replica_as_term_zero() {
    let Attempt::Create(l) = attempt(&config("a"), None, Duration::ZERO, at(9)) else { panic!("not a create") };
    let spec = l.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("a"));
    assert_eq!(spec.lease_transitions, Some(0));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!((spec.acquire_time, spec.renew_time), (Some(at(9)), Some(at(9))));
    assert_eq!(l.metadata.namespace.as_deref(), Some("eno-system"));
}

#[test]
fn a_lease_held_by_another_is_left_until_watched_unchanged_for_its_declared_duration() {
    let held = lease("b", 3);
    assert_eq!(attempt(&config("a"), Some(&held), Duration::from_millis(14_999), at(100)), Attempt::Held { holder: "b".into(), expires_in: Duration::from_millis(1) });
    // Judged by the duration the holder declared, not this replica's own.
    let mut short = held.clone();
    short.spec.as_mut().unwrap().lease_duration_seconds = Some(1);
    assert!(matches!(attempt(&config("a"), Some(&short), Duration::from_secs(1), at(100)), Attempt::Update(_)));
    // Its timestamps do not matter: a renewTime far in the past (a skewed clock) changes nothing.
    assert_eq!(attempt(&config("a"), Some(&held), Duration::from_secs(3), at(100_000)), Attempt::Held { holder: "b".into(), expires_in: Duration::from_secs(12) });
}

#[test]
fn taking_over_counts_a_transition_and_keeps_the_version_read() {
    let taken = written(attempt(&config("a"), Some(&lease("b", 3)), Duration::from_secs(15), at(30)));
    assert_eq!(taken.metadata.resource_version.as_deref(), Some("42"), "the write is guarded by the version read");
    let spec = taken.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("a"));
    assert_eq!(spec.lease_transitions, Some(4));
    assert_eq!((spec.acquire_time, spec.renew_time), (Some(at(30)), Some(at(30))));
}

#[test]
fn renewing_keeps_the_term() {
    let renewed = written(attempt(&config("a"), Some(&lease("a", 3)), Duration::ZERO, at(31))).spec.unwrap();
    assert_eq!(renewed.lease_transitions, Some(3));
    assert_eq!(renewed.acquire_time, Some(at(0)));
    assert_eq!(renewed.renew_time, Some(at(31)));
}

#[test]
fn a_renewal_always_moves_the_renew_time_forward() {
    // The clock has not moved past the last renewal (or went back): the renewal still changes
    // the record, so standbys see it.
    let renewed = written(attempt(&config("a"), Some(&lease("a", 3)), Duration::ZERO, at(2))).spec.unwrap();
    assert!(renewed.renew_time.unwrap().0 > at(5).0);
}

#[test]
fn a_released_lease_is_taken_at_once() {
    let released = release(&config("b"), &lease("b", 3), at(40)).expect("b holds it");
    let spec = released.spec.clone().unwrap();
    assert_eq!((spec.holder_identity.as_deref(), spec.lease_duration_seconds, spec.lease_transitions), (Some(""), Some(1), Some(3)));
    let taken = written(attempt(&config("a"), Some(&released), Duration::ZERO, at(41))).spec.unwrap();
    assert_eq!((taken.holder_identity.as_deref(), taken.lease_transitions), (Some("a"), Some(4)));
}

#[test]
fn only_the_holder_releases() {
    assert_eq!(release(&config("a"), &lease("b", 1), at(1)), None);
}

#[test]
fn timings_that_cannot_be_safe_are_refused() {
    assert_eq!(config("a").validate(), Ok(()));
    let with = |lease: u64, renew: u64, retry: u64| ElectionConfig {
        lease_duration: Duration::from_secs(lease),
        renew_deadline: Duration::from_secs(renew),
        retry_period: Duration::from_secs(retry),
        ..config("a")
    };
    assert!(matches!(with(10, 10, 2).validate(), Err(ConfigError::LeaseNotLongerThanRenewDeadline { .. })));
    assert!(matches!(with(15, 6, 5).validate(), Err(ConfigError::RenewDeadlineTooShort { .. })));
    assert!(matches!(with(15, 10, 0).validate(), Err(ConfigError::NotPositive("retry period"))));
    let fractional = ElectionConfig { lease_duration: Duration::from_millis(15_500), ..config("a") };
    assert!(matches!(fractional.validate(), Err(ConfigError::FractionalLeaseDuration(_))));
    assert_eq!(ElectionConfig { identity: String::new(), ..config("a") }.validate(), Err(ConfigError::Empty("the identity")));
    // Eno's defaults hold.
    assert_eq!(with(35, 30, 4).validate(), Ok(()));
}
