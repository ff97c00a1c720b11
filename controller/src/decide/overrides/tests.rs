use super::*;
use crate::decide::resource::ResourceOptions;
use proptest::prelude::*;
use serde_json::json;

fn comp_view(annotations: Value) -> Value {
    json!({"metadata": {"name": "c", "namespace": "ns", "labels": {}, "annotations": annotations, "deletionTimestamp": null}})
}

fn with_overrides(mut manifest: Value, overrides: Value) -> Value {
    manifest["metadata"]["annotations"][OVERRIDES] = Value::String(overrides.to_string());
    manifest
}

fn cm() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns", "annotations": {}}, "data": {"a": "1"}})
}

fn field(name: &str) -> Segment {
    Segment::Field(name.into())
}

fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

#[test]
fn parses_every_segment_form() {
    assert_eq!(
        path(r#"self.metadata.annotations["eno.azure.io/disable-reconciliation"]"#).0,
        vec![field("metadata"), field("annotations"), field("eno.azure.io/disable-reconciliation")]
    );
    assert_eq!(path("self.data['my-key']").0, vec![field("data"), field("my-key")]);
    assert_eq!(
        path(r#"self.spec.template.spec.containers[name="app"].image"#).0,
        vec![
            field("spec"),
            field("template"),
            field("spec"),
            field("containers"),
            Segment::Matching { key: "name".into(), value: "app".into() },
            field("image"),
        ]
    );
    assert_eq!(path("self.items[2][*] . x").0, vec![field("items"), Segment::Index(2), Segment::All, field("x")]);
    assert_eq!(path(r#"self["it's"]"#).0, vec![field("it's")]);
    assert_eq!(path(r"self['it\'s']").0, vec![field("it's")]);
}

#[test]
fn rejects_bad_paths() {
    for bad in ["", "self", "spec.replicas", "this.spec", "self.", "self.[0]", "self[", "self[0", "self['x", "self.a b", "self[k=v]", "self.1a"] {
        assert!(Path::parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn sets_and_removes_fields() {
    let mut v = cm();
    assert_eq!(path("self.data.b").apply(&mut v, &json!("2")), Outcome::Applied);
    assert_eq!(v["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(path("self.data['a']").apply(&mut v, &Value::Null), Outcome::Applied);
    assert_eq!(v["data"], json!({"b": "2"}));
    // Removing what is not there is a no-op, even below a missing object.
    let before = v.clone();
    assert_eq!(path("self.spec.x.y").apply(&mut v, &Value::Null), Outcome::Applied);
    assert_eq!(v, before);
}

#[test]
fn setting_creates_missing_objects() {
    let mut v = json!({"kind": "Widget", "metadata": {"name": "w"}});
    assert_eq!(path("self.metadata.annotations['a/b']").apply(&mut v, &json!("true")), Outcome::Applied);
    assert_eq!(path("self.spec.deep.er").apply(&mut v, &json!(3)), Outcome::Applied);
    assert_eq!(v, json!({"kind": "Widget", "metadata": {"name": "w", "annotations": {"a/b": "true"}}, "spec": {"deep": {"er": 3}}}));
}

#[test]
fn list_segments_never_invent_elements() {
    let mut v = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}});
    let before = v.clone();
    assert_eq!(path("self.spec.containers[5].image").apply(&mut v, &json!("x")), Outcome::IndexOutOfRange);
    assert_eq!(path("self.spec.volumes[0].name").apply(&mut v, &json!("x")), Outcome::MissingParent);
    assert_eq!(path("self.spec.volumes[*].name").apply(&mut v, &json!("x")), Outcome::MissingParent);
    assert_eq!(path("self.spec.containers.image").apply(&mut v, &json!("x")), Outcome::TypeMismatch);
    assert_eq!(path("self.spec.containers[0].image.tag").apply(&mut v, &json!("x")), Outcome::TypeMismatch);
    assert_eq!(path("self.spec.other[0].x").apply(&mut v, &json!("x")), Outcome::MissingParent);
    assert_eq!(v, before, "a skipped override leaves no trace");
}

#[test]
fn list_indexes_wildcards_and_matchers() {
    let base = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}});
    let mut v = base.clone();
    assert_eq!(path("self.spec.containers[1].image").apply(&mut v, &json!("x")), Outcome::Applied);
    assert_eq!(v["spec"]["containers"][1]["image"], "x");
    let mut v = base.clone();
    assert_eq!(path("self.spec.containers[*].image").apply(&mut v, &json!("x")), Outcome::Applied);
    assert_eq!(v["spec"]["containers"], json!([{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]));
    let mut v = base.clone();
    assert_eq!(path("self.spec.containers[name='b'].image").apply(&mut v, &json!("x")), Outcome::Applied);
    assert_eq!(v["spec"]["containers"], json!([{"name": "a", "image": "1"}, {"name": "b", "image": "x"}]));
    let mut v = base.clone();
    assert_eq!(path("self.spec.containers[name='a']").apply(&mut v, &Value::Null), Outcome::Applied);
    assert_eq!(v["spec"]["containers"], json!([{"name": "b", "image": "2"}]));
    let mut v = base.clone();
    assert_eq!(path("self.spec.containers[0]").apply(&mut v, &Value::Null), Outcome::Applied);
    assert_eq!(v["spec"]["containers"], json!([{"name": "b", "image": "2"}]));
    let mut v = base;
    assert_eq!(path("self.spec.containers[name='zzz'].image").apply(&mut v, &json!("x")), Outcome::Applied);
    assert_eq!(v["spec"]["containers"][0]["image"], "1", "no match, no change");
}

#[test]
fn parse_reads_every_field() {
    let ops = parse(
        &json!([
            {"path": "self.data.a", "value": "x", "condition": "true"},
            {"path": "self.data.b", "valueExpression": "self.data.b"},
            {"path": "self.data.c"},
            {"path": "self.data.d", "value": null, "condition": ""},
        ])
        .to_string(),
    )
    .unwrap();
    assert_eq!(ops[0].value, ValueSource::Literal(json!("x")));
    assert_eq!(ops[0].condition.as_deref(), Some("true"));
    assert_eq!(ops[1].value, ValueSource::Expression("self.data.b".into()));
    assert_eq!(ops[2].value, ValueSource::Literal(Value::Null));
    assert_eq!(ops[3].condition, None, "an empty condition is no condition");
}

#[test]
fn malformed_annotations_are_errors() {
    let cases = [
        ("{}", "not a JSON list"),
        ("[{\"value\": 1}]", "path"),
        ("[{\"path\": \"data.a\", \"value\": 1}]", "[0]: path"),
        ("[{\"path\": \"self.a\"}, {\"path\": \"self.b\", \"value\": 1, \"valueExpression\": \"1\"}]", "[1]: value and valueExpression"),
        ("[{\"path\": \"self.a\", \"valu\": 1}]", "valu"),
        ("not json", "not a JSON list"),
    ];
    for (annotation, expected) in cases {
        let err = parse(annotation).unwrap_err().to_string();
        assert!(err.contains(expected), "{annotation}: {err}");
    }
    let manifest = with_overrides(cm(), json!({"path": "self.a"}));
    let vars = Vars { live: None, composition: &comp_view(json!({})) };
    assert!(matches!(apply(&manifest, &vars), Err(OverridesError::Json(_))));
    let mut not_a_string = cm();
    not_a_string["metadata"]["annotations"][OVERRIDES] = json!([]);
    assert!(apply(&not_a_string, &vars).is_err());
}

#[test]
fn conditions_gate_overrides() {
    let live = json!({"data": {"a": "live"}});
    let comp = comp_view(json!({"owner": "yes"}));
    let vars = Vars { live: Some(&live), composition: &comp };
    let no_live = Vars { live: None, composition: &comp };
    let op = |condition: &str| Override {
        path: path("self.data.a"),
        source: "self.data.a".into(),
        value: ValueSource::Literal(json!("over")),
        condition: Some(condition.into()),
    };
    let run = |op: &Override, vars: &Vars<'_>| {
        let mut v = cm();
        let outcome = op.apply(&mut v, vars);
        (outcome, v["data"]["a"].clone())
    };
    assert_eq!(run(&op("self.data.a == 'live'"), &vars), (Outcome::Applied, json!("over")));
    assert_eq!(run(&op("composition.metadata.annotations['owner'] == 'yes'"), &no_live), (Outcome::Applied, json!("over")));
    assert_eq!(run(&op("self.data.a == 'other'"), &vars), (Outcome::ConditionFalse, json!("1")));
    // Not a boolean: not true.
    assert_eq!(run(&op("'yes'"), &vars), (Outcome::ConditionFalse, json!("1")));
    // Invalid: does not compile, reads a missing variable or key, or reads a live object that does not exist.
    for invalid in ["self.data.(", "nope == 1", "composition.metadata.annotations['missing'] == 'x'"] {
        assert!(matches!(run(&op(invalid), &vars), (Outcome::InvalidCondition(_), v) if v == json!("1")), "{invalid}");
    }
    assert!(matches!(run(&op("self.data.a == 'live'"), &no_live), (Outcome::InvalidCondition(_), _)));
}

#[test]
fn value_expressions_read_the_live_object() {
    let live = json!({"spec": {"replicas": 7}});
    let comp = comp_view(json!({}));
    let op = |expression: &str| Override {
        path: path("self.spec.replicas"),
        source: String::new(),
        value: ValueSource::Expression(expression.into()),
        condition: Some("has(self.spec.replicas)".into()),
    };
    let desired = json!({"spec": {"replicas": 1}});
    let run = |op: Override, live: Option<&Value>| {
        let mut v = desired.clone();
        let outcome = op.apply(&mut v, &Vars { live, composition: &comp });
        (outcome, v["spec"]["replicas"].clone())
    };
    assert_eq!(run(op("self.spec.replicas"), Some(&live)), (Outcome::Applied, json!(7)));
    assert_eq!(run(op("self.spec.replicas + 1"), Some(&live)), (Outcome::Applied, json!(8)));
    assert_eq!(run(op("null"), Some(&live)), (Outcome::NullValue, json!(1)), "null keeps the synthesized value");
    assert!(matches!(run(op("self.spec.nope"), Some(&live)), (Outcome::InvalidValueExpression(_), v) if v == json!(1)));
    let unconditional = Override { condition: None, ..op("self.spec.replicas") };
    assert_eq!(run(unconditional, None), (Outcome::NoLiveObject, json!(1)));
}

#[test]
fn overrides_apply_in_order_and_keep_the_annotation() {
    let manifest = with_overrides(
        cm(),
        json!([
            {"path": "self.data.a", "value": "first"},
            {"path": "self.data.a", "value": "second", "condition": "false"},
            {"path": "self.data.b", "valueExpression": "'from-' + self.data.a"},
            {"path": "self.data.c", "value": "broken", "condition": "self.data.("},
        ]),
    );
    let live = json!({"data": {"a": "live"}});
    let comp = comp_view(json!({}));
    let out = apply(&manifest, &Vars { live: Some(&live), composition: &comp }).unwrap();
    assert_eq!(out["data"], json!({"a": "first", "b": "from-live"}));
    assert_eq!(out["metadata"]["annotations"][OVERRIDES], manifest["metadata"]["annotations"][OVERRIDES]);
    assert_eq!(apply(&cm(), &Vars { live: Some(&live), composition: &comp }), Ok(cm()), "no annotation, no change");
}

#[test]
fn overrides_switch_control_annotations() {
    let manifest = with_overrides(
        cm(),
        json!([
            {"path": "self.metadata.annotations['eno.azure.io/disable-reconciliation']", "value": "true", "condition": "composition.metadata.annotations['paused'] == 'yes'"},
            {"path": "self.metadata.annotations['eno.azure.io/disable-updates']", "value": "true", "condition": "composition.metadata.annotations['paused'] == 'yes'"},
            {"path": "self.metadata.annotations['eno.azure.io/reconcile-interval']", "value": "1m", "condition": "composition.metadata.annotations['paused'] == 'yes'"},
            {"path": "self.metadata.annotations['eno.azure.io/deletion-strategy']", "value": "orphan", "condition": "composition.metadata.annotations['paused'] == 'yes'"},
        ]),
    );
    let options = |annotations: Value| {
        let comp = comp_view(annotations);
        ResourceOptions::from_manifest(&apply(&manifest, &Vars { live: None, composition: &comp }).unwrap()).unwrap()
    };
    let paused = options(json!({"paused": "yes"}));
    assert!(paused.disable_reconciliation && paused.disable_updates);
    assert_eq!(paused.reconcile_interval, Some(std::time::Duration::from_secs(60)));
    assert_eq!(paused.deletion_strategy, crate::decide::resource::DeletionStrategy::Orphan);
    assert_eq!(options(json!({"paused": "no"})), options(json!({})));
    assert!(!options(json!({})).disable_reconciliation);
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,5}".prop_map(Segment::Field),
        "[a-z0-9./'\"\\\\ -]{0,8}".prop_map(Segment::Field),
        (0usize..20).prop_map(Segment::Index),
        Just(Segment::All),
        ("[a-z][a-z0-9]{0,4}", "[a-z'\"]{0,5}").prop_map(|(key, value)| Segment::Matching { key, value }),
    ]
}

fn quoted(s: &str, quote: char) -> String {
    let escaped: String = s.chars().flat_map(|c| if c == quote || c == '\\' { vec!['\\', c] } else { vec![c] }).collect();
    format!("{quote}{escaped}{quote}")
}

fn render(path: &[Segment], quote: char) -> String {
    let mut out = "self".to_owned();
    for s in path {
        match s {
            Segment::Field(f) if f.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                out += &format!(".{f}")
            }
            Segment::Field(f) => out += &format!("[{}]", quoted(f, quote)),
            Segment::Index(i) => out += &format!("[{i}]"),
            Segment::All => out += "[*]",
            Segment::Matching { key, value } => out += &format!("[{key}={}]", quoted(value, quote)),
        }
    }
    out
}

fn lookup<'a>(v: &'a Value, fields: &[String]) -> Option<&'a Value> {
    fields.iter().try_fold(v, |v, f| v.get(f))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any path written in either quoting style parses back to itself.
    #[test]
    fn paths_round_trip(segments in prop::collection::vec(segment(), 1..6), double in any::<bool>()) {
        let text = render(&segments, if double { '"' } else { '\'' });
        prop_assert_eq!(Path::parse(&text), Ok(Path(segments)), "{}", text);
    }

    /// Setting a field path makes it read back the value and touches nothing else; removing it
    /// again leaves the rest of the object as it was.
    #[test]
    fn set_then_remove_field_paths(
        fields in prop::collection::vec("[a-c]", 1..4),
        value in "[a-z]{1,4}",
        base in prop::collection::btree_map("[a-c]", prop::collection::btree_map("[a-c]", "[0-9]", 0..3), 0..3),
    ) {
        let original = serde_json::to_value(&base).unwrap();
        let p = Path(fields.iter().cloned().map(Segment::Field).collect());
        let mut v = original.clone();
        let outcome = p.apply(&mut v, &json!(value));
        // The only way to fail is to walk through a string leaf of the base object.
        let blocked = (1..fields.len()).any(|n| lookup(&original, &fields[..n]).is_some_and(Value::is_string));
        if blocked {
            prop_assert_eq!(outcome, Outcome::TypeMismatch);
            prop_assert_eq!(&v, &original);
        } else {
            prop_assert_eq!(outcome, Outcome::Applied);
            prop_assert_eq!(lookup(&v, &fields), Some(&json!(value)));
            prop_assert_eq!(p.apply(&mut v, &Value::Null), Outcome::Applied);
            prop_assert_eq!(lookup(&v, &fields), None);
            // Everything the base had outside the path is still there.
            for (k, inner) in &base {
                for (k2, leaf) in inner {
                    let here = vec![k.clone(), k2.clone()];
                    if !here.starts_with(&fields) {
                        prop_assert_eq!(lookup(&v, &here), Some(&json!(leaf)));
                    }
                }
            }
        }
    }
}
