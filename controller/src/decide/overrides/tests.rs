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
    for bad in ["", "spec.replicas", "this.spec", "selfish.a", "[\"self\"].a", "self.", "self[", "self[0", "self['x", "self[k=v]", "self.1a", "self.a-b", "self[-1]"] {
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
        ("[{\"path\": 1}]", "path must be a string"),
        ("[null]", "expected an override object"),
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

// Eno's own cases (`internal/resource/mutation/*_test.go`) and the rules read from its code.

/// Applies `path` to `obj` as Eno's `TestApply` does: the outcome and the object after.
fn walk(path_text: &str, mut obj: Value, value: Value) -> (Outcome, Value) {
    let outcome = path(path_text).apply(&mut obj, &value);
    (outcome, obj)
}

#[test]
fn self_alone_is_a_path_that_changes_nothing() {
    assert_eq!(path("self"), Path(vec![]));
    assert_eq!(walk("self", json!({}), json!(123)), (Outcome::MissingParent, json!({})));
}

#[test]
fn whitespace_and_dots_between_sections_are_optional_as_in_enos_grammar() {
    let a0b = Path(vec![field("a"), Segment::Index(0), field("b")]);
    for text in ["self.a[0].b", "self a[0] b", "self..a.[0]..b", ".self.a[0].b", " self . a [ 0 ] . b "] {
        assert_eq!(Path::parse(text), Ok(a0b.clone()), "{text:?}");
    }
}

#[test]
fn only_the_quote_character_is_unescaped_in_keys() {
    assert_eq!(path(r#"self["a\"b"]"#).0, vec![field(r#"a"b"#)]);
    assert_eq!(path(r"self['a\'b']").0, vec![field("a'b")]);
    // Other backslashes are kept as written.
    assert_eq!(path(r#"self["a\\b"]"#).0, vec![field(r"a\\b")]);
    assert_eq!(path(r#"self["a\'b"]"#).0, vec![field(r"a\'b")]);
    assert_eq!(path(r#"self.l[k="x\ny"]"#).0, vec![field("l"), Segment::Matching { key: "k".into(), value: r"x\ny".into() }]);
    // A key holding a line break keeps its quotes.
    assert_eq!(path("self[\"a\nb\"]").0, vec![field("\"a\nb\"")]);
}

#[test]
fn sets_fields_at_any_depth() {
    assert_eq!(walk("self.foo", json!({}), json!(123)), (Outcome::Applied, json!({"foo": 123})));
    assert_eq!(
        walk("self.foo.bar", json!({"foo": {}, "another": "baz"}), json!(123)),
        (Outcome::Applied, json!({"foo": {"bar": 123}, "another": "baz"}))
    );
    assert_eq!(walk(r#"self.foo["ba.r"]"#, json!({"foo": {}}), json!(123)), (Outcome::Applied, json!({"foo": {"ba.r": 123}})));
    assert_eq!(walk("self.foo['bar']", json!({"foo": {"bar": "old"}}), json!(123)), (Outcome::Applied, json!({"foo": {"bar": 123}})));
    assert_eq!(walk(r#"self["foo"]["bar"]"#, json!({"foo": {}}), json!(123)), (Outcome::Applied, json!({"foo": {"bar": 123}})));
    assert_eq!(walk(r#"self["foo-bar"]"#, json!({}), json!(123)), (Outcome::Applied, json!({"foo-bar": 123})));
    assert_eq!(walk("self['foo-bar']", json!({}), json!(123)), (Outcome::Applied, json!({"foo-bar": 123})));
}

#[test]
fn missing_objects_on_the_way_are_created() {
    for p in ["self.foo.bar", r#"self.foo["bar"]"#] {
        assert_eq!(walk(p, json!({"another": "baz"}), json!(123)), (Outcome::Applied, json!({"another": "baz", "foo": {"bar": 123}})));
    }
    assert_eq!(
        walk("self.spec.minAllowed.memory", json!({"spec": {}}), json!("20Mi")),
        (Outcome::Applied, json!({"spec": {"minAllowed": {"memory": "20Mi"}}}))
    );
    assert_eq!(walk("self.a.b.c.d", json!({}), json!("val")), (Outcome::Applied, json!({"a": {"b": {"c": {"d": "val"}}}})));
}

#[test]
fn an_explicit_null_on_the_way_is_skipped_not_replaced() {
    for p in ["self.foo.bar", r#"self.foo["bar"]"#] {
        let obj = json!({"foo": null, "another": "baz"});
        assert_eq!(walk(p, obj.clone(), json!(123)), (Outcome::Applied, obj));
    }
}

#[test]
fn removing_below_a_missing_object_changes_nothing() {
    assert_eq!(walk("self.foo", json!({}), Value::Null), (Outcome::Applied, json!({})));
    assert_eq!(walk(r#"self["foo"]"#, json!({}), Value::Null), (Outcome::Applied, json!({})));
    assert_eq!(walk("self.spec.minAllowed.memory", json!({"spec": {}}), Value::Null), (Outcome::Applied, json!({"spec": {}})));
}

#[test]
fn a_removal_that_empties_its_parents_removes_them_too() {
    // Eno's Complex_Nil: `limits` goes with its only field, `resources` stays for `requests`.
    let deployment = |resources: Value| {
        json!({"spec": {"selector": {"matchLabels": {"foo": "bar"}}, "template": {"spec": {"containers": [{"name": "foo", "image": "bar", "resources": resources}]}}}})
    };
    assert_eq!(
        walk(
            "self.spec.template.spec.containers[name='foo'].resources.limits.cpu",
            deployment(json!({"requests": {"cpu": "5m"}, "limits": {"cpu": "10m"}})),
            Value::Null
        ),
        (Outcome::Applied, deployment(json!({"requests": {"cpu": "5m"}})))
    );
    assert_eq!(walk("self.a.b.c", json!({"a": {"b": {"c": 1}}}), Value::Null), (Outcome::Applied, json!({})));
    assert_eq!(walk("self.a.b.c", json!({"a": {"b": {"c": 1}, "d": 2}}), Value::Null), (Outcome::Applied, json!({"a": {"d": 2}})));
    // An object that was empty already stays, and list elements are never removed.
    assert_eq!(walk("self.a.x", json!({"a": {}}), Value::Null), (Outcome::Applied, json!({"a": {}})));
    assert_eq!(walk("self.l[0].a", json!({"l": [{"a": 1}]}), Value::Null), (Outcome::Applied, json!({"l": [{}]})));
}

#[test]
fn indexes_set_elements_and_refuse_out_of_range() {
    assert_eq!(walk("self.foo[1]", json!({"foo": [1, 2, 3]}), json!(123)), (Outcome::Applied, json!({"foo": [1, 123, 3]})));
    let obj = json!({"foo": [1, 2, 3]});
    assert_eq!(walk("self.foo[9001]", obj.clone(), json!(123)), (Outcome::IndexOutOfRange, obj));
    assert_eq!(
        walk("self.foo[0].bar", json!({"foo": [{"bar": 1}, {"bar": 2}]}), json!(123)),
        (Outcome::Applied, json!({"foo": [{"bar": 123}, {"bar": 2}]}))
    );
    // A null element is not descended into.
    assert_eq!(walk("self.foo[0].bar", json!({"foo": [null]}), json!(123)), (Outcome::Applied, json!({"foo": [null]})));
}

#[test]
fn removing_a_list_element_leaves_null_in_its_place() {
    assert_eq!(walk("self.foo[1]", json!({"foo": [1, 2, 3]}), Value::Null), (Outcome::Applied, json!({"foo": [1, null, 3]})));
    assert_eq!(walk("self.foo[*]", json!({"foo": [1, 2]}), Value::Null), (Outcome::Applied, json!({"foo": [null, null]})));
    assert_eq!(
        walk("self.foo[name='a']", json!({"foo": [{"name": "a"}, {"name": "b"}]}), Value::Null),
        (Outcome::Applied, json!({"foo": [null, {"name": "b"}]}))
    );
}

#[test]
fn wildcards_set_every_element() {
    assert_eq!(walk("self.foo[*]", json!({"foo": [1, 2, 3]}), json!(123)), (Outcome::Applied, json!({"foo": [123, 123, 123]})));
    assert_eq!(
        walk("self.foo[*].bar", json!({"foo": [{"bar": 1}, {"bar": 2}]}), json!(123)),
        (Outcome::Applied, json!({"foo": [{"bar": 123}, {"bar": 123}]}))
    );
    // Below the wildcard, an element that is not an object is replaced whole.
    assert_eq!(
        walk("self.foo[*].bar", json!({"foo": [1, null, {"bar": 1}]}), json!(123)),
        (Outcome::Applied, json!({"foo": [123, 123, {"bar": 123}]}))
    );
}

#[test]
fn list_segments_on_something_else_are_a_type_mismatch() {
    let obj = json!({"foo": 1});
    assert_eq!(walk("self.foo[*]", obj.clone(), json!(123)), (Outcome::TypeMismatch, obj));
    let obj = json!({"foo": [{"name": "test-2"}, {"name": 234}]});
    assert_eq!(walk("self.foo[*][123]", obj.clone(), Value::Null), (Outcome::TypeMismatch, obj));
    let obj = json!({"foo": "scalar"});
    assert_eq!(walk("self.foo[0]", obj.clone(), json!(1)), (Outcome::TypeMismatch, obj));
}

#[test]
fn a_failing_walk_keeps_the_changes_made_before_it_failed() {
    // The missing `volumes` is created as an object before `[0]` finds it is not a list.
    assert_eq!(
        walk("self.spec.volumes[0].name", json!({"spec": {}}), json!("x")),
        (Outcome::TypeMismatch, json!({"spec": {"volumes": {}}}))
    );
    // The first element is changed before the second stops the walk.
    assert_eq!(
        walk("self.foo[*].bar[0]", json!({"foo": [{"bar": [1]}, {"bar": "x"}]}), json!(9)),
        (Outcome::TypeMismatch, json!({"foo": [{"bar": [9]}, {"bar": "x"}]}))
    );
}

#[test]
fn a_field_segment_on_something_else_is_passed_over() {
    // Through a scalar: nothing to change, and Eno still reports the override active.
    let obj = json!({"spec": {"containers": [{"name": "a", "image": "1"}]}});
    assert_eq!(walk("self.spec.containers.image", obj.clone(), json!("x")), (Outcome::Applied, obj.clone()));
    assert_eq!(walk("self.spec.containers[0].image.tag", obj.clone(), json!("x")), (Outcome::Applied, obj));
    // Through a list: the next segment applies to the list itself.
    assert_eq!(walk("self.foo.bar[0]", json!({"foo": [1, 2, 3]}), json!(9)), (Outcome::Applied, json!({"foo": [9, 2, 3]})));
}

#[test]
fn matchers_select_objects_by_a_string_field() {
    let mixed = |matched: Value| json!({"foo": [{"name": "test-2"}, matched, ["string slice"], 9001, true, {"name": 234}]});
    assert_eq!(
        walk(r#"self.foo[name="test-1"].bar"#, mixed(json!({"name": "test-1"})), json!(123)),
        (Outcome::Applied, mixed(json!({"name": "test-1", "bar": 123})))
    );
    assert_eq!(
        walk(r#"self.foo[name="test-\"-1"].bar"#, json!({"foo": [{"name": "test-\"-1"}, {"name": 234}]}), json!(123)),
        (Outcome::Applied, json!({"foo": [{"name": "test-\"-1", "bar": 123}, {"name": 234}]}))
    );
    // The matched element itself may be replaced.
    assert_eq!(
        walk(r#"self.foo[name="test-1"]"#, json!({"foo": [{"name": "test-2"}, {"name": "test-1"}, {"name": 234}]}), json!(123)),
        (Outcome::Applied, json!({"foo": [{"name": "test-2"}, 123, {"name": 234}]}))
    );
    // No match, no change.
    let obj = json!({"foo": [{"name": "test-2"}, {"name": 234}]});
    assert_eq!(walk(r#"self.foo[name="test-1"].bar"#, obj.clone(), json!(123)), (Outcome::Applied, obj));
}

/// One override from its annotation form, applied to `mutated` against `current`.
fn apply_one(op: Value, current: Option<&Value>, mut mutated: Value) -> (Outcome, Value) {
    let op = parse(&json!([op]).to_string()).unwrap().remove(0);
    let comp = comp_view(json!({}));
    let outcome = op.apply(&mut mutated, &Vars { live: current, composition: &comp });
    (outcome, mutated)
}

#[test]
fn conditions_without_a_live_object_see_an_empty_self() {
    let op = |condition: &str| json!({"path": "self.foo", "value": "bar", "condition": condition});
    assert_eq!(apply_one(op("true"), None, json!({})), (Outcome::Applied, json!({"foo": "bar"})));
    assert_eq!(apply_one(op("false"), None, json!({})), (Outcome::ConditionFalse, json!({})));
    assert!(matches!(apply_one(op("self.bar"), None, json!({})), (Outcome::InvalidCondition(_), v) if v == json!({})));
    assert_eq!(apply_one(json!({"path": "self.foo", "value": "bar"}), None, json!({})), (Outcome::Applied, json!({"foo": "bar"})));
}

#[test]
fn conditions_on_a_missing_annotation_skip_the_override() {
    let op = json!({"path": "self.spec.minAllowed.cpu", "value": "100m", "condition": "self.metadata.annotations['override-min-max'] == 'enabled'"});
    let current = |metadata: Value| json!({"metadata": metadata, "spec": {}});
    let run = |current: Option<&Value>| apply_one(op.clone(), current, json!({"spec": {}}));
    assert_eq!(run(Some(&current(json!({"annotations": {"override-min-max": "enabled"}})))), (Outcome::Applied, json!({"spec": {"minAllowed": {"cpu": "100m"}}})));
    assert_eq!(run(Some(&current(json!({"annotations": {"override-min-max": "disabled"}})))), (Outcome::ConditionFalse, json!({"spec": {}})));
    for current in [Some(current(json!({"annotations": {}}))), Some(current(json!({}))), None] {
        assert!(matches!(run(current.as_ref()), (Outcome::InvalidCondition(_), v) if v == json!({"spec": {}})), "{current:?}");
    }
    let guarded = json!({"path": "self.spec.minAllowed.cpu", "value": "100m", "condition": "has(self.metadata.annotations) && 'override-min-max' in self.metadata.annotations && self.metadata.annotations['override-min-max'] == 'enabled'"});
    assert_eq!(apply_one(guarded.clone(), Some(&current(json!({}))), json!({"spec": {}})), (Outcome::ConditionFalse, json!({"spec": {}})));
    assert_eq!(
        apply_one(guarded, Some(&current(json!({"annotations": {"override-min-max": "enabled"}}))), json!({"spec": {}})),
        (Outcome::Applied, json!({"spec": {"minAllowed": {"cpu": "100m"}}}))
    );
}

#[test]
fn value_expressions_fail_open() {
    let current = json!({"bar": "not-a-map"});
    // Eno's case reads `self.bar.baz`; our CEL engine selects `false` from a string, so the
    // index form, which fails in both, stands in for it.
    let (outcome, v) = apply_one(json!({"path": "self.foo", "valueExpression": "self.bar['baz']"}), Some(&current), json!({"foo": "synthesized-default"}));
    assert!(matches!(outcome, Outcome::InvalidValueExpression(_)), "{outcome:?}");
    assert_eq!(v, json!({"foo": "synthesized-default"}));
    // A path that does not fit the object is skipped too.
    assert_eq!(
        apply_one(json!({"path": "self.foo[*]", "value": "new-value"}), Some(&json!({})), json!({"foo": "scalar"})),
        (Outcome::TypeMismatch, json!({"foo": "scalar"}))
    );
}

#[test]
fn a_null_value_expression_keeps_the_synthesized_value_but_a_null_value_removes_it() {
    let current = json!({"bar": "val"});
    let null_expression = json!({"path": "self.foo", "valueExpression": "null"});
    assert_eq!(apply_one(null_expression.clone(), Some(&current), json!({"foo": "old-value"})), (Outcome::NullValue, json!({"foo": "old-value"})));
    assert_eq!(apply_one(null_expression, Some(&current), json!({})), (Outcome::NullValue, json!({})));
    let mode = json!({"spec": {"updatePolicy": {"updateMode": "Recreate"}}});
    assert_eq!(
        apply_one(json!({"path": "self.spec.updatePolicy.updateMode", "valueExpression": "null"}), Some(&json!({"spec": {"updatePolicy": {}}})), mode.clone()),
        (Outcome::NullValue, mode)
    );
    assert_eq!(apply_one(json!({"path": "self.foo", "value": null}), Some(&current), json!({"foo": "old-value"})), (Outcome::Applied, json!({})));
}

#[test]
fn value_expressions_read_from_the_live_object_after_the_condition() {
    let current = json!({"bar": "dynamic-val"});
    assert_eq!(
        apply_one(json!({"path": "self.foo", "condition": "has(self.bar)", "valueExpression": "self.bar"}), Some(&current), json!({})),
        (Outcome::Applied, json!({"foo": "dynamic-val"}))
    );
    assert_eq!(apply_one(json!({"path": "self.foo", "valueExpression": "self.bar"}), None, json!({})), (Outcome::NoLiveObject, json!({})));
}

/// Eno's `TestVPAOverrideMatrix`: customers' min/max and update mode persist only while the
/// matching annotation is `enabled`.
#[test]
fn vpa_overrides_keep_customer_values_only_when_enabled() {
    let ops = [
        json!({"path": r#"self.spec.resourcePolicy.containerPolicies[containerName="cost-analysis-agent"].minAllowed.memory"#, "condition": "self.metadata.annotations['autoscaler.addons.k8s.io/override-min-max'] == 'enabled'", "valueExpression": "self.spec.resourcePolicy.containerPolicies[0].minAllowed.memory"}),
        json!({"path": r#"self.spec.resourcePolicy.containerPolicies[containerName="cost-analysis-agent"].maxAllowed.memory"#, "condition": "self.metadata.annotations['autoscaler.addons.k8s.io/override-min-max'] == 'enabled'", "valueExpression": "self.spec.resourcePolicy.containerPolicies[0].maxAllowed.memory"}),
        json!({"path": "self.spec.updatePolicy.updateMode", "condition": "self.metadata.annotations['autoscaler.addons.k8s.io/override-update-mode'] == 'enabled'", "valueExpression": "self.spec.updatePolicy.updateMode"}),
    ];
    let ops = parse(&Value::Array(ops.to_vec()).to_string()).unwrap();
    let vpa = |min_max: &str, mode_override: &str, min: &str, max: &str, mode: &str| {
        json!({
            "metadata": {"annotations": {"autoscaler.addons.k8s.io/override-min-max": min_max, "autoscaler.addons.k8s.io/override-update-mode": mode_override}},
            "spec": {"updatePolicy": {"updateMode": mode}, "resourcePolicy": {"containerPolicies": [{"containerName": "cost-analysis-agent", "minAllowed": {"memory": min}, "maxAllowed": {"memory": max}}]}},
        })
    };
    let read = |v: &Value| {
        let policy = &v["spec"]["resourcePolicy"]["containerPolicies"][0];
        (policy["minAllowed"]["memory"].clone(), policy["maxAllowed"]["memory"].clone(), v["spec"]["updatePolicy"]["updateMode"].clone())
    };
    let comp = comp_view(json!({}));
    // (min-max, update-mode, current min, max, mode) → expected min, max, mode
    let cases = [
        (("enabled", "enabled", "99Mi", "99Mi", "Off"), ("99Mi", "99Mi", "Off")),
        (("disabled", "disabled", "99Mi", "99Mi", "Off"), ("10Mi", "30Mi", "Recreate")),
        (("enabled", "disabled", "99Mi", "99Mi", "Off"), ("99Mi", "99Mi", "Recreate")),
        (("disabled", "enabled", "99Mi", "99Mi", "Off"), ("10Mi", "30Mi", "Off")),
        (("enabled", "enabled", "50Mi", "30Mi", "Recreate"), ("50Mi", "30Mi", "Recreate")),
        (("enabled", "enabled", "10Mi", "100Mi", "Recreate"), ("10Mi", "100Mi", "Recreate")),
        (("enabled", "enabled", "10Mi", "30Mi", "Auto"), ("10Mi", "30Mi", "Auto")),
        (("enabled", "enabled", "20Mi", "60Mi", "Recreate"), ("20Mi", "60Mi", "Recreate")),
        (("enabled", "enabled", "25Mi", "30Mi", "Initial"), ("25Mi", "30Mi", "Initial")),
        (("enabled", "enabled", "15Mi", "50Mi", "Auto"), ("15Mi", "50Mi", "Auto")),
        (("disabled", "disabled", "15Mi", "50Mi", "Auto"), ("10Mi", "30Mi", "Recreate")),
        (("enabled", "disabled", "15Mi", "50Mi", "Auto"), ("15Mi", "50Mi", "Recreate")),
    ];
    for ((min_max, mode_override, min, max, mode), expected) in cases {
        let current = vpa(min_max, mode_override, min, max, mode);
        let mut mutated = vpa(min_max, mode_override, "10Mi", "30Mi", "Recreate");
        for op in &ops {
            op.apply(&mut mutated, &Vars { live: Some(&current), composition: &comp });
        }
        assert_eq!(read(&mutated), (json!(expected.0), json!(expected.1), json!(expected.2)), "{min_max} {mode_override} {min} {max} {mode}");
    }
}

#[test]
fn annotations_are_read_as_go_reads_json() {
    assert_eq!(parse("null"), Ok(vec![]));
    // Unknown keys are ignored; keys match whatever their case.
    let ops = parse(r#"[{"path": "self.a", "valu": 1}, {"PATH": "self.b", "Value": 2, "CONDITION": "true"}]"#).unwrap();
    assert_eq!((ops[0].path.clone(), ops[0].value.clone()), (path("self.a"), ValueSource::Literal(Value::Null)));
    assert_eq!((ops[1].path.clone(), ops[1].value.clone(), ops[1].condition.as_deref()), (path("self.b"), ValueSource::Literal(json!(2)), Some("true")));
}

#[test]
fn expressions_that_do_not_compile_fail_validation_and_are_skipped_when_applied() {
    // Eno's TestInvalidPathInJson: CEL has no `[name='operator']`.
    let annotation = r#"[{"path": "self.spec.template.spec.containers[name='operator'].resources.requests.cpu", "value": "250m", "condition": "self.spec.template.spec.containers[name='operator'].resources.requests.cpu == '250m'"}]"#;
    assert!(matches!(validate(annotation), Err(OverridesError::Invalid { index: 0, .. })));
    assert!(matches!(validate(r#"[{"path": "self.a"}, {"path": "self.a", "valueExpression": "self.("}]"#), Err(OverridesError::Invalid { index: 1, .. })));
    assert_eq!(validate(r#"[{"path": "self.a", "valueExpression": "self.b", "condition": "has(self.b)"}]"#), Ok(()));
    let manifest = json!({"metadata": {"annotations": {OVERRIDES: annotation}}, "spec": {}});
    let comp = comp_view(json!({}));
    assert_eq!(apply(&manifest, &Vars { live: None, composition: &comp }), Ok(manifest));
}

/// A live ConfigMap whose `managedFields` hold `(manager, fieldsV1)` entries.
fn managed(entries: &[(&str, Value)]) -> Value {
    let managed_fields: Vec<Value> = entries
        .iter()
        .map(|(manager, fields)| json!({"manager": manager, "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": fields}))
        .collect();
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-obj", "namespace": "default", "managedFields": managed_fields}, "data": {"foo": "bar"}})
}

#[test]
fn paths_are_managed_by_eno_when_its_field_manager_owns_them() {
    let data_foo = json!({"f:data": {"f:foo": {}}});
    let eno = managed(&[("eno", data_foo.clone())]);
    for p in ["self.data.foo", "self.data['foo']", r#"self.data["foo"]"#] {
        assert!(path(p).managed_by_eno(Some(&eno)), "{p}");
    }
    assert!(!path("self.data.foo").managed_by_eno(Some(&managed(&[("other-manager", data_foo.clone())]))));
    assert!(path("self.data.foo").managed_by_eno(Some(&managed(&[("other-manager", data_foo.clone()), ("eno", data_foo.clone())]))));
    assert!(!path("self.data.foo").managed_by_eno(Some(&managed(&[]))));
    assert!(!path("self.data.foo").managed_by_eno(None));
    // A parent is not owned unless marked so; `self` alone and wildcards match nothing.
    assert!(!path("self.data").managed_by_eno(Some(&eno)));
    assert!(path("self.data").managed_by_eno(Some(&managed(&[("eno", json!({"f:data": {".": {}, "f:foo": {}}}))]))));
    assert!(!path("self").managed_by_eno(Some(&eno)));
    let containers = managed(&[("eno", json!({"f:spec": {"f:containers": {"i:0": {"f:image": {}}, "k:{\"name\":\"app\"}": {"f:image": {}}}}}))]);
    assert!(path("self.spec.containers[0].image").managed_by_eno(Some(&containers)));
    assert!(path("self.spec.containers[name='app'].image").managed_by_eno(Some(&containers)));
    assert!(!path("self.spec.containers[name='other'].image").managed_by_eno(Some(&containers)));
    assert!(!path("self.spec.containers[*].image").managed_by_eno(Some(&containers)));
}

#[test]
fn conditions_can_ask_whether_eno_manages_the_path() {
    // Eno's documented use: drop a field from the desired state only where another client owns it.
    let op = json!({"path": "self.data.foo", "value": null, "condition": "has(self.data.foo) && !pathManagedByEno"});
    let desired = json!({"data": {"foo": "eno", "bar": "x"}});
    let owned_by_eno = managed(&[("eno", json!({"f:data": {"f:foo": {}}}))]);
    let owned_by_other = managed(&[("kubectl", json!({"f:data": {"f:foo": {}}}))]);
    assert_eq!(apply_one(op.clone(), Some(&owned_by_eno), desired.clone()), (Outcome::ConditionFalse, desired.clone()));
    assert_eq!(apply_one(op, Some(&owned_by_other), desired), (Outcome::Applied, json!({"data": {"bar": "x"}})));
    // Value expressions see it too.
    let flag = json!({"path": "self.data.foo", "valueExpression": "pathManagedByEno ? 'eno' : 'other'"});
    assert_eq!(apply_one(flag.clone(), Some(&owned_by_eno), json!({"data": {}})), (Outcome::Applied, json!({"data": {"foo": "eno"}})));
    assert_eq!(apply_one(flag, Some(&owned_by_other), json!({"data": {}})), (Outcome::Applied, json!({"data": {"foo": "other"}})));
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,5}".prop_map(Segment::Field),
        "[a-z0-9./'\" -]{0,8}".prop_map(Segment::Field),
        (0usize..20).prop_map(Segment::Index),
        Just(Segment::All),
        ("[a-z][a-z0-9]{0,4}", "[a-z'\"]{0,5}").prop_map(|(key, value)| Segment::Matching { key, value }),
    ]
}

fn quoted(s: &str, quote: char) -> String {
    let escaped: String = s.chars().flat_map(|c| if c == quote { vec!['\\', c] } else { vec![c] }).collect();
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
    fn paths_round_trip(segments in prop::collection::vec(segment(), 0..6), double in any::<bool>()) {
        let text = render(&segments, if double { '"' } else { '\'' });
        prop_assert_eq!(Path::parse(&text), Ok(Path(segments)), "{}", text);
    }

    /// Setting a field path makes it read back the value and touches nothing else; removing it
    /// again leaves the rest of the object as it was (objects it emptied are removed with it).
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
        // Walking through a string leaf of the base object passes over the remaining fields.
        let blocked = (1..fields.len()).any(|n| lookup(&original, &fields[..n]).is_some_and(Value::is_string));
        prop_assert_eq!(outcome, Outcome::Applied);
        if blocked {
            prop_assert_eq!(&v, &original);
        } else {
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
