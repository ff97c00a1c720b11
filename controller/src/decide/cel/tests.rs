use super::*;
use crate::api::{Composition, CompositionSpec, SynthesizerRef};
use proptest::prelude::*;
use serde_json::json;

fn comp(annotations: &[(&str, &str)]) -> Composition {
    let mut c = Composition::new("app", CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() });
    c.metadata.namespace = Some("team".into());
    if !annotations.is_empty() {
        c.metadata.annotations = Some(annotations.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
    }
    c
}

fn eval_with(expression: &str, live: Option<&Value>, composition: &Composition) -> Result<Value, CelError> {
    eval(expression, &Vars { live, composition: &composition_view(composition) })
}

#[test]
fn self_is_the_live_object() {
    let live = json!({"kind": "Deployment", "spec": {"replicas": 3}, "status": {"phase": "Running"}});
    let c = comp(&[]);
    assert_eq!(eval_with("self.spec.replicas == 3", Some(&live), &c), Ok(json!(true)));
    assert_eq!(eval_with("self.status.phase", Some(&live), &c), Ok(json!("Running")));
    assert_eq!(eval_with("self.spec.replicas * 2", Some(&live), &c), Ok(json!(6)));
}

#[test]
fn a_missing_live_object_is_an_empty_map() {
    let c = comp(&[]);
    assert_eq!(eval_with("has(self.status)", None, &c), Ok(json!(false)));
    let err = eval_with("self.status.phase == 'Running'", None, &c).unwrap_err();
    assert!(matches!(&err, CelError::Eval { message, .. } if message.contains("status")), "{err}");
}

#[test]
fn composition_exposes_its_metadata() {
    let c = comp(&[("owner", "true")]);
    let vars = |e| eval_with(e, None, &c);
    assert_eq!(vars("composition.metadata.name"), Ok(json!("app")));
    assert_eq!(vars("composition.metadata.namespace"), Ok(json!("team")));
    assert_eq!(vars("composition.metadata.annotations['owner'] == 'true'"), Ok(json!(true)));
    assert_eq!(vars("'owner' in composition.metadata.annotations"), Ok(json!(true)));
    assert_eq!(vars("composition.metadata.deletionTimestamp == null"), Ok(json!(true)));
    // Absent maps are empty maps, not errors.
    assert_eq!(vars("size(composition.metadata.labels)"), Ok(json!(0)));
    // A missing key is an error, as in CEL everywhere.
    assert!(matches!(vars("composition.metadata.annotations['nope'] == 'x'"), Err(CelError::Eval { .. })));
}

#[test]
fn deleting_composition_has_a_timestamp() {
    let mut c = comp(&[]);
    c.metadata.deletion_timestamp = Some(serde_json::from_value(json!("2024-01-01T00:00:00Z")).unwrap());
    assert_eq!(eval_with("composition.metadata.deletionTimestamp", None, &c), Ok(json!("2024-01-01T00:00:00Z")));
}

#[test]
fn string_and_list_extensions_are_available() {
    let c = comp(&[("list", "a,this,b")]);
    assert_eq!(
        eval_with("composition.metadata.annotations['list'].split(',').filter(v, v == 'this').size() > 0", None, &c),
        Ok(json!(true))
    );
    assert_eq!(eval_with("'Ready'.lowerAscii()", None, &c), Ok(json!("ready")));
}

#[test]
fn resource_quantities_compare() {
    let live = json!({"spec": {"resources": {"requests": {"memory": "512Mi"}}}});
    let c = comp(&[]);
    let cmp = |e| eval_with(e, Some(&live), &c);
    assert_eq!(cmp("compareResourceQuantities(self.spec.resources.requests.memory, '1Gi')"), Ok(json!(-1)));
    assert_eq!(cmp("compareResourceQuantities('1Gi', '1024Mi')"), Ok(json!(0)));
    assert_eq!(cmp("compareResourceQuantities('2', '1500m')"), Ok(json!(1)));
    assert_eq!(cmp("quantity('1k').isGreaterThan(quantity('999'))"), Ok(json!(true)));
    assert!(matches!(cmp("compareResourceQuantities('lots', '1')"), Err(CelError::Eval { .. })));
}

#[test]
fn compile_errors_are_reported_and_stay_errors() {
    let c = comp(&[]);
    for _ in 0..2 {
        let err = eval_with("self.(", None, &c).unwrap_err();
        assert!(matches!(&err, CelError::Compile { expression, .. } if expression == "self.("), "{err}");
    }
}

#[test]
fn error_messages_name_types_not_values() {
    let live = json!({"data": {"b": "2", "a": "1", "c": "3"}});
    let err = eval_with("self.data + 1", Some(&live), &comp(&[])).unwrap_err().to_string();
    assert!(err.contains("map") && !err.contains("\"1\""), "{err}");
}

#[test]
fn results_are_json() {
    let live = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    assert_eq!(
        eval_with("self.status.conditions.filter(c, c.type == 'Ready')", Some(&live), &comp(&[])),
        Ok(json!([{"type": "Ready", "status": "True"}]))
    );
    assert_eq!(eval_with("{'b': 1, 'a': [1.5, null]}", None, &comp(&[])), Ok(json!({"a": [1.5, null], "b": 1})));
    assert_eq!(eval_with("timestamp('2024-01-01T00:00:00Z')", None, &comp(&[])), Ok(json!("2024-01-01T00:00:00+00:00")));
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[a-z0-9 ]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z./-]{1,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every JSON document survives the trip through CEL, and CEL sees it as the same value.
    #[test]
    fn json_round_trips_through_cel(v in json_value()) {
        prop_assert_eq!(to_json(&to_cel(&v)), Some(v.clone()));
        let c = comp(&[]);
        prop_assert_eq!(eval_with("self", Some(&json!({"x": v.clone()})), &c).map(|s| s["x"].clone()), Ok(v));
    }
}
