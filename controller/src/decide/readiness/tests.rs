use super::*;
use proptest::prelude::*;
use serde_json::json;

fn t(s: &str) -> Time {
    serde_json::from_value(json!(s)).unwrap()
}

fn now() -> Time {
    t("2024-06-01T12:00:00Z")
}

/// Checks by annotation key; `""` is the bare `eno.azure.io/readiness`.
fn checks(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (if k.is_empty() { "eno.azure.io/readiness".to_owned() } else { format!("eno.azure.io/readiness-{k}") }, (*v).to_owned()))
        .collect()
}

fn deployment(conditions: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}, "status": {"readyReplicas": 2, "conditions": conditions}})
}

/// A condition as Kubernetes writes them: with a type and a reason.
fn condition(kind: &str, status: &str, time: Option<&str>) -> Value {
    let mut c = json!({"type": kind, "status": status, "reason": "Testing", "message": "foo bar"});
    if let Some(time) = time {
        c["lastTransitionTime"] = json!(time);
    }
    c
}

fn run(checks: &BTreeMap<String, String>, live: Option<&Value>) -> Result<Option<Time>, ReadinessError> {
    evaluate(checks, live, &now())
}

const AVAILABLE: &str = "self.status.conditions.filter(c, c.type == 'Available')";

#[test]
fn no_checks_means_ready_now() {
    assert_eq!(run(&checks(&[]), None), Ok(Some(now())));
    assert_eq!(run(&checks(&[]), Some(&deployment(json!([])))), Ok(Some(now())));
}

#[test]
fn boolean_checks() {
    let live = deployment(json!([]));
    assert_eq!(run(&checks(&[("", "self.status.readyReplicas >= 2")]), Some(&live)), Ok(Some(now())));
    assert_eq!(run(&checks(&[("", "self.status.readyReplicas >= 3")]), Some(&live)), Ok(None));
    // Anything but `true` or a list holding a condition is not ready.
    assert_eq!(run(&checks(&[("", "'true'")]), Some(&live)), Ok(None));
    assert_eq!(run(&checks(&[("", "1")]), Some(&live)), Ok(None));
    assert_eq!(run(&checks(&[("", "self")]), Some(&live)), Ok(None));
}

#[test]
fn a_true_condition_is_ready_at_its_transition_time() {
    let live = deployment(json!([
        condition("Progressing", "True", Some("2024-06-01T11:00:00Z")),
        condition("Available", "True", Some("2024-06-01T11:30:00Z")),
    ]));
    assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&live)), Ok(Some(t("2024-06-01T11:30:00Z"))));
    // Without a usable time of its own: now.
    for time in [None, Some("yesterday"), Some("2024-06-01t11:30:00Z"), Some("2024-06-01T11:30:00z")] {
        let live = deployment(json!([condition("Available", "True", time)]));
        assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&live)), Ok(Some(now())), "{time:?}");
    }
    let live = deployment(json!([{"type": "Available", "status": "True", "reason": "x", "lastTransitionTime": 123}]));
    assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&live)), Ok(Some(now())));
}

#[test]
fn only_true_conditions_with_a_type_and_a_reason_count() {
    let not_ready = [
        json!([]),
        json!([condition("Available", "False", None)]),
        json!([condition("Available", "Unknown", None)]),
        json!([{"type": "Available", "status": "True"}]),
        json!([{"type": "Available", "status": "True", "reason": null}]),
        json!([{"status": "True", "reason": "x"}]),
        json!([{"type": "Available", "status": true, "reason": "x"}]),
    ];
    for conditions in not_ready {
        assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&deployment(conditions.clone()))), Ok(None), "{conditions}");
    }
    // A list of non-conditions is not ready either.
    assert_eq!(run(&checks(&[("", "[1, 'True']")]), Some(&deployment(json!([])))), Ok(None));
    // Eno's magic-condition-matcher-wrong-type: a False condition with a numeric time.
    let eno_status = deployment(json!([{"type": "Test4", "status": "False", "reason": "Testing", "lastTransitionTime": 123}]));
    assert_eq!(run(&checks(&[("", "self.status.conditions.filter(item, item.type == 'Test4')")]), Some(&eno_status)), Ok(None));
}

#[test]
fn the_first_counting_condition_in_the_list_wins() {
    let live = deployment(json!([
        {"type": "A", "status": "True", "lastTransitionTime": "2024-06-01T11:50:00Z"},
        condition("B", "True", Some("2024-06-01T11:10:00Z")),
        condition("C", "True", Some("2024-06-01T11:40:00Z")),
    ]));
    let all = "self.status.conditions.filter(c, c.status == 'True')";
    assert_eq!(run(&checks(&[("", all)]), Some(&live)), Ok(Some(t("2024-06-01T11:10:00Z"))));
}

#[test]
fn every_check_must_pass() {
    let live = deployment(json!([condition("Available", "True", Some("2024-06-01T11:30:00Z"))]));
    let one_fails = checks(&[("", AVAILABLE), ("replicas", "self.status.readyReplicas == 5")]);
    assert_eq!(run(&one_fails, Some(&live)), Ok(None));
    assert_eq!(run(&checks(&[("a", "true"), ("b", "false")]), Some(&live)), Ok(None));
    assert_eq!(run(&checks(&[("a", "true"), ("b", "true")]), Some(&live)), Ok(Some(now())));
}

#[test]
fn a_condition_time_is_preferred_over_the_clock_even_when_earlier() {
    let live = deployment(json!([condition("Available", "True", Some("2024-06-01T11:30:00Z"))]));
    let both = checks(&[("", AVAILABLE), ("replicas", "self.status.readyReplicas == 2")]);
    assert_eq!(run(&both, Some(&live)), Ok(Some(t("2024-06-01T11:30:00Z"))));
    // Also a condition that had no time of its own (now) counts as precise.
    let no_time = deployment(json!([condition("Available", "True", None)]));
    assert_eq!(run(&both, Some(&no_time)), Ok(Some(now())));
}

#[test]
fn the_latest_condition_time_wins_across_checks() {
    let live = deployment(json!([
        condition("Test", "True", Some("2024-06-01T00:00:00Z")),
        condition("Test2", "True", Some("2024-06-02T00:00:00Z")),
    ]));
    let two = checks(&[
        ("a", "self.status.conditions.filter(item, item.type == 'Test' && item.status == 'True')"),
        ("b", "self.status.conditions.filter(item, item.type == 'Test2' && item.status == 'True')"),
    ]);
    assert_eq!(run(&two, Some(&live)), Ok(Some(t("2024-06-02T00:00:00Z"))));
    // A condition may lie in the future: it is still taken as given.
    let live = deployment(json!([condition("Test", "True", Some("2024-06-02T00:00:00Z"))]));
    assert_eq!(run(&checks(&[("", "self.status.conditions.filter(item, item.type == 'Test')")]), Some(&live)), Ok(Some(t("2024-06-02T00:00:00Z"))));
}

#[test]
fn checks_wait_for_the_live_object() {
    assert_eq!(run(&checks(&[("", "true")]), None), Ok(None));
    assert_eq!(run(&checks(&[("", "self")]), None), Ok(None));
}

#[test]
fn checks_see_an_empty_composition() {
    let live = deployment(json!([]));
    assert_eq!(run(&checks(&[("", "composition.metadata.name == '' && composition.metadata.namespace == ''")]), Some(&live)), Ok(Some(now())));
    assert_eq!(run(&checks(&[("", "composition.metadata.annotations.size() == 0 && !('a' in composition.metadata.labels)")]), Some(&live)), Ok(Some(now())));
    assert_eq!(run(&checks(&[("", "composition.metadata.deletionTimestamp == null")]), Some(&live)), Ok(Some(now())));
}

#[test]
fn invalid_checks_are_errors_naming_the_resource_and_the_annotation() {
    let live = deployment(json!([]));
    let err = run(&checks(&[("", "true"), ("db", "self.status.(")]), Some(&live)).unwrap_err();
    assert_eq!((err.check.as_str(), err.resource.as_str()), ("eno.azure.io/readiness-db", "Deployment ns/d"));
    assert!(matches!(err.source, CelError::Compile { .. }));
    let message = err.to_string();
    assert!(message.starts_with("readiness check eno.azure.io/readiness-db of Deployment ns/d: invalid CEL expression \"self.status.(\""), "{message}");
    // Reported even when another check is not passing.
    let err = run(&checks(&[("", "false"), ("z", "self.(")]), Some(&live)).unwrap_err();
    assert_eq!(err.check, "eno.azure.io/readiness-z");
    let namespace = json!({"kind": "Namespace", "metadata": {"name": "team"}});
    assert_eq!(run(&checks(&[("", "self.(")]), Some(&namespace)).unwrap_err().resource, "Namespace team");
}

#[test]
fn checks_reading_missing_fields_are_not_ready_yet() {
    let live = json!({"kind": "Job", "metadata": {"name": "j"}});
    assert_eq!(run(&checks(&[("", "self.status.succeeded > 0")]), Some(&live)), Ok(None));
    assert_eq!(run(&checks(&[("", "self.status.conditions.exists(item, item.type == 'TestFoo' && item.status == 'True')")]), Some(&live)), Ok(None));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Ready exactly when some condition is True; then at the first True condition's time.
    #[test]
    fn condition_lists(conds in prop::collection::vec((any::<bool>(), 0u32..60), 0..6)) {
        let conditions: Vec<Value> = conds
            .iter()
            .map(|(ready, minute)| condition("T", if *ready { "True" } else { "False" }, Some(&format!("2024-06-01T11:{minute:02}:00Z"))))
            .collect();
        let expected = conds.iter().find(|(ready, _)| *ready).map(|(_, m)| t(&format!("2024-06-01T11:{m:02}:00Z")));
        let filtered = "self.status.conditions.filter(c, true)";
        prop_assert_eq!(run(&checks(&[("", filtered)]), Some(&deployment(Value::Array(conditions)))), Ok(expected));
    }
}
