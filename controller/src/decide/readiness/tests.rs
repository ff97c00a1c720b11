use super::*;
use proptest::prelude::*;
use serde_json::json;

fn t(s: &str) -> Time {
    serde_json::from_value(json!(s)).unwrap()
}

fn now() -> Time {
    t("2024-06-01T12:00:00Z")
}

fn checks(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn deployment(conditions: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "status": {"readyReplicas": 2, "conditions": conditions}})
}

fn run(checks: &BTreeMap<String, String>, live: Option<&Value>) -> Result<Option<Time>, ReadinessError> {
    let comp = json!({"metadata": {"name": "c", "namespace": "ns", "labels": {}, "annotations": {}, "deletionTimestamp": null}});
    evaluate(checks, &Vars { live, composition: &comp }, &now())
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
    // Anything but `true` or a list is not ready.
    assert_eq!(run(&checks(&[("", "'true'")]), Some(&live)), Ok(None));
    assert_eq!(run(&checks(&[("", "1")]), Some(&live)), Ok(None));
}

#[test]
fn a_true_condition_is_ready_at_its_transition_time() {
    let live = deployment(json!([
        {"type": "Progressing", "status": "True", "lastTransitionTime": "2024-06-01T11:00:00Z"},
        {"type": "Available", "status": "True", "lastTransitionTime": "2024-06-01T11:30:00Z"},
    ]));
    assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&live)), Ok(Some(t("2024-06-01T11:30:00Z"))));
    let no_time = deployment(json!([{"type": "Available", "status": "True"}]));
    assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&no_time)), Ok(Some(now())));
    let bad_time = deployment(json!([{"type": "Available", "status": "True", "lastTransitionTime": "yesterday"}]));
    assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&bad_time)), Ok(Some(now())));
}

#[test]
fn false_or_missing_conditions_are_not_ready() {
    for conditions in [json!([]), json!([{"type": "Available", "status": "False"}]), json!([{"type": "Available", "status": "Unknown"}])] {
        assert_eq!(run(&checks(&[("", AVAILABLE)]), Some(&deployment(conditions.clone()))), Ok(None), "{conditions}");
    }
    // A list of non-conditions is not ready either.
    assert_eq!(run(&checks(&[("", "[1, 'True']")]), Some(&deployment(json!([])))), Ok(None));
}

#[test]
fn several_true_conditions_use_the_latest_time() {
    let live = deployment(json!([
        {"type": "A", "status": "True", "lastTransitionTime": "2024-06-01T11:40:00Z"},
        {"type": "B", "status": "True", "lastTransitionTime": "2024-06-01T11:10:00Z"},
    ]));
    assert_eq!(run(&checks(&[("", "self.status.conditions")]), Some(&live)), Ok(Some(t("2024-06-01T11:40:00Z"))));
}

#[test]
fn every_check_must_pass_and_the_latest_time_wins() {
    let live = deployment(json!([{"type": "Available", "status": "True", "lastTransitionTime": "2024-06-01T11:30:00Z"}]));
    let both = checks(&[("", AVAILABLE), ("replicas", "self.status.readyReplicas == 2")]);
    // `true` means now, which is later than the condition's time.
    assert_eq!(run(&both, Some(&live)), Ok(Some(now())));
    let one_fails = checks(&[("", AVAILABLE), ("replicas", "self.status.readyReplicas == 5")]);
    assert_eq!(run(&one_fails, Some(&live)), Ok(None));
    let two_conditions = checks(&[("a", AVAILABLE), ("b", "[{'status': 'True', 'lastTransitionTime': '2024-06-01T11:45:00Z'}]")]);
    assert_eq!(run(&two_conditions, Some(&live)), Ok(Some(t("2024-06-01T11:45:00Z"))));
}

#[test]
fn checks_wait_for_the_live_object() {
    assert_eq!(run(&checks(&[("", "true")]), None), Ok(None));
}

#[test]
fn invalid_checks_are_errors_naming_the_annotation() {
    let live = deployment(json!([]));
    let err = run(&checks(&[("", "true"), ("db", "self.status.(")]), Some(&live)).unwrap_err();
    assert_eq!(err.check, "eno.azure.io/readiness-db");
    assert!(matches!(err.source, CelError::Compile { .. }));
    // Reported even when another check is not passing.
    let err = run(&checks(&[("", "self.(")]), Some(&live)).unwrap_err();
    assert!(err.to_string().starts_with("readiness check eno.azure.io/readiness: invalid CEL"), "{err}");
    let err = run(&checks(&[("", "false"), ("z", "self.(")]), Some(&live)).unwrap_err();
    assert_eq!(err.check, "eno.azure.io/readiness-z");
}

#[test]
fn checks_reading_missing_fields_are_not_ready_yet() {
    let live = json!({"kind": "Job", "metadata": {"name": "j"}});
    assert_eq!(run(&checks(&[("", "self.status.succeeded > 0")]), Some(&live)), Ok(None));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Ready exactly when some condition is True; then at the latest True condition's time,
    /// whatever order the conditions are listed in.
    #[test]
    fn condition_lists(conds in prop::collection::vec((any::<bool>(), 0u32..60), 0..6), rotate in 0usize..6) {
        let mut conditions: Vec<Value> = conds
            .iter()
            .map(|(ready, minute)| json!({"status": if *ready { "True" } else { "False" }, "lastTransitionTime": format!("2024-06-01T11:{minute:02}:00Z")}))
            .collect();
        if !conditions.is_empty() {
            let n = rotate % conditions.len();
            conditions.rotate_left(n);
        }
        let expected = conds.iter().filter(|(ready, _)| *ready).map(|(_, m)| *m).max().map(|m| t(&format!("2024-06-01T11:{m:02}:00Z")));
        prop_assert_eq!(run(&checks(&[("", "self.status.conditions")]), Some(&deployment(Value::Array(conditions)))), Ok(expected));
    }
}
