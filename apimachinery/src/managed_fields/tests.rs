use super::entries::parse_rfc3339;
use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn f(n: &str) -> PathElement {
    PathElement::Field(n.to_string())
}

#[test]
fn fields_v1_round_trip_with_dot() {
    let v = json!({"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:size":{}}});
    let s = FieldSet::from_fields_v1(&v).unwrap();
    assert!(s.contains(&[f("spec")]));
    assert!(s.contains(&[f("spec"), f("size")]));
    assert!(s.contains(&[f("metadata"), f("labels")]));
    assert!(!s.contains(&[f("metadata")]));
    assert_eq!(s.to_fields_v1(), v);
    assert_eq!(s.len(), 4);
}

#[test]
fn keyed_value_and_index_elements() {
    let v = json!({"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}},
        "f:finalizers":{"v:\"a\"":{}},"f:args":{"i:0":{}}}});
    let s = FieldSet::from_fields_v1(&v).unwrap();
    let key = PathElement::Key(vec![("name".into(), json!("app"))]);
    assert!(s.contains(&[f("spec"), f("containers"), key.clone(), f("image")]));
    assert!(s.contains(&[f("spec"), f("containers"), key.clone()]));
    assert!(s.contains(&[f("spec"), f("finalizers"), PathElement::Value(json!("a"))]));
    assert!(s.contains(&[f("spec"), f("args"), PathElement::Index(0)]));
    assert_eq!(s.to_fields_v1(), v);
    assert_eq!(
        path_to_string(&[f("spec"), f("containers"), key, f("image")]),
        ".spec.containers[name=\"app\"].image"
    );
}

#[test]
fn key_serialisation_sorts_and_escapes_like_go() {
    let pe = PathElement::Key(vec![("containerPort".into(), json!(80)), ("protocol".into(), json!("TCP"))]);
    assert_eq!(pe.to_key(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
    let parsed = PathElement::from_key(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap().unwrap();
    assert_eq!(parsed, pe);
    assert_eq!(PathElement::Value(json!("a<b")).to_key(), r#"v:"a\u003cb""#);
}

/// Keys go through the crate's one Go JSON writer, so they come out as a real server's do:
/// Go holds `1.0` as a float64 and `encoding/json` writes it `1`, switching to exponents only
/// below 1e-6 (`1e-7`) and from 1e21 (`1e+21`); since Go 1.22 `\b` and `\f` are short escapes.
#[test]
fn key_serialisation_formats_floats_and_escapes_like_go() {
    let v = |x: Value| PathElement::Value(x).to_key();
    assert_eq!(v(json!(1.0)), "v:1");
    assert_eq!(v(json!(2.5)), "v:2.5");
    assert_eq!(v(json!(1e20)), "v:100000000000000000000");
    assert_eq!(v(json!(1e21)), "v:1e+21");
    assert_eq!(v(json!(1e-7)), "v:1e-7");
    assert_eq!(v(json!(-0.000001)), "v:-0.000001");
    let port = PathElement::Key(vec![("port".into(), json!(8080.0))]);
    assert_eq!(port.to_key(), r#"k:{"port":8080}"#);
    assert_eq!(v(json!("\u{8}\u{c}\u{1}<")), r#"v:"\b\f\u0001\u003c""#);
}

#[test]
fn bad_fields_v1_is_an_error_and_unknown_types_are_skipped() {
    assert!(FieldSet::from_fields_v1(&json!([1])).is_err());
    assert!(FieldSet::from_fields_v1(&json!({"x":{}})).is_err());
    assert!(FieldSet::from_fields_v1(&json!({"k:[1]":{}})).is_err());
    assert!(FieldSet::from_fields_v1(&json!({"f:a": 3})).is_err());
    let s = FieldSet::from_fields_v1(&json!({"z:whatever":{},"f:a":{}})).unwrap();
    assert_eq!(s.to_fields_v1(), json!({"f:a":{}}));
}

#[test]
fn set_operations() {
    let mut a = FieldSet::new();
    a.insert(&[f("spec"), f("a")]);
    a.insert(&[f("spec"), f("b")]);
    let mut b = FieldSet::new();
    b.insert(&[f("spec"), f("b")]);
    b.insert(&[f("status")]);
    assert_eq!(a.intersection(&b).paths(), vec![vec![f("spec"), f("b")]]);
    assert_eq!(a.difference(&b).paths(), vec![vec![f("spec"), f("a")]]);
    assert_eq!(a.union(&b).len(), 3);
    // Members are listed before children at each level.
    assert_eq!(a.union(&b).paths()[0], vec![f("status")]);
}

#[test]
fn fields_of_skips_identity_metadata() {
    let obj = json!({"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"x","namespace":"d","uid":"u","resourceVersion":"1","labels":{"a":"1"},
                    "finalizers":["f1"],"managedFields":[{"manager":"m"}]},
        "data":{"k":"v"}});
    let s = fields_of(&obj, &AtomicLists);
    assert_eq!(
        s.to_fields_v1(),
        json!({"f:data":{"f:k":{}},"f:metadata":{"f:finalizers":{"v:\"f1\"":{}},"f:labels":{"f:a":{}}}})
    );
}

#[test]
fn schema_lists_read_extensions() {
    let schema = json!({"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{
        "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["port","protocol"],
                 "items":{"type":"object","properties":{"protocol":{"type":"string","default":"TCP"}}}},
        "tags":{"type":"array","x-kubernetes-list-type":"set"},
        "sel":{"type":"object","x-kubernetes-map-type":"atomic"},
        "plain":{"type":"array"}}}}}});
    let l = SchemaLists::new(&schema);
    let p = |n: &str| vec![f("spec"), f(n)];
    match l.list_type(&p("ports")) {
        ListType::Map(keys) => {
            assert_eq!(keys[0].name, "port");
            assert_eq!(keys[1].default, Some(json!("TCP")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(l.list_type(&p("tags")), ListType::Set);
    assert_eq!(l.list_type(&p("plain")), ListType::Atomic);
    assert_eq!(l.list_type(&p("missing")), ListType::Atomic);
    assert!(l.map_is_atomic(&p("sel")));
    let obj = json!({"spec":{"ports":[{"port":80}],"sel":{"a":"b"}}});
    assert_eq!(
        fields_of(&obj, &l).to_fields_v1(),
        json!({"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{}}},"f:sel":{}}})
    );
}

#[test]
fn builtin_atomic_maps_and_owner_references() {
    let obj = json!({"metadata":{"name":"d","ownerReferences":[{"apiVersion":"v1","kind":"X","name":"o","uid":"u1"}]},
        "spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"nodeSelector":{"k":"v"},
            "containers":[{"name":"c","ports":[{"containerPort":80}]}]}}}});
    assert_eq!(
        fields_of(&obj, &BuiltinLists).to_fields_v1(),
        json!({"f:metadata":{"f:ownerReferences":{"k:{\"uid\":\"u1\"}":{}}},
            "f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:name":{},
                "f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}},
                "f:nodeSelector":{}}}}})
    );
}

#[test]
fn strict_fields_reject_missing_and_duplicate_keys() {
    let l = BuiltinLists;
    let missing = json!({"spec":{"containers":[{"image":"x"}]}});
    let e = try_fields_of(&missing, &l).unwrap_err();
    assert!(e.contains("omits key field \"name\""), "{e}");
    let dup = json!({"spec":{"containers":[{"name":"a"},{"name":"a"}]}});
    assert!(try_fields_of(&dup, &l).unwrap_err().contains("duplicate entries for key [name=\"a\"]"));
    // Lenient mode names the item by index instead.
    assert!(fields_of(&missing, &l).contains(&[f("spec"), f("containers"), PathElement::Index(0)]));
}

#[test]
fn record_update_on_create_marks_containers_with_dot() {
    let mut obj = json!({"apiVersion":"example.com/v1","kind":"Widget",
        "metadata":{"name":"w","labels":{"app":"x"}},"spec":{"size":1}});
    record_update(
        None,
        &mut obj,
        "kubectl-client-side-apply",
        None,
        "example.com/v1",
        "2024-01-01T00:00:00Z",
        &AtomicLists,
    );
    assert_eq!(
        obj["metadata"]["managedFields"],
        json!([{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"example.com/v1",
            "time":"2024-01-01T00:00:00Z","fieldsType":"FieldsV1",
            "fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:size":{}}}}])
    );
}

#[test]
fn record_update_moves_ownership_and_drops_empty_managers() {
    let mut obj = json!({"metadata":{"name":"w"},"spec":{"a":1,"b":1}});
    record_update(None, &mut obj, "one", None, "v1", "2024-01-01T00:00:00Z", &AtomicLists);
    let old = obj.clone();
    let mut next = old.clone();
    next["spec"]["a"] = json!(2);
    next["spec"]["b"] = json!(2);
    record_update(Some(&old), &mut next, "two", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
    let mf = next["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(mf.len(), 2);
    assert_eq!(mf[0]["manager"], "one");
    assert_eq!(mf[0]["fieldsV1"], json!({"f:spec":{}}));
    assert_eq!(mf[1]["manager"], "two");
    assert_eq!(mf[1]["fieldsV1"], json!({"f:spec":{"f:a":{},"f:b":{}}}));

    // A write that changes nothing keeps the entries (and times) untouched.
    let same_old = next.clone();
    let mut same = next.clone();
    record_update(Some(&same_old), &mut same, "three", None, "v1", "2024-01-03T00:00:00Z", &AtomicLists);
    assert_eq!(same, same_old);

    // Removing everything "one" owned drops it.
    let mut gone = next.clone();
    gone.as_object_mut().unwrap().remove("spec");
    record_update(Some(&next), &mut gone, "two", None, "v1", "2024-01-04T00:00:00Z", &AtomicLists);
    assert!(gone["metadata"].get("managedFields").is_none());
}

#[test]
fn record_update_reset_and_empty_list() {
    let mut obj = json!({"metadata":{"name":"w"},"spec":{"a":1}});
    record_update(None, &mut obj, "one", None, "v1", "2024-01-01T00:00:00Z", &AtomicLists);
    let old = obj.clone();

    let mut keep = old.clone();
    keep["metadata"]["managedFields"] = json!([]);
    record_update(Some(&old), &mut keep, "two", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
    assert_eq!(keep["metadata"]["managedFields"], old["metadata"]["managedFields"]);

    let mut clear = old.clone();
    clear["metadata"]["managedFields"] = json!([{}]);
    record_update(Some(&old), &mut clear, "two", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
    assert!(clear["metadata"].get("managedFields").is_none());

    // A subresource write cannot rewrite ownership.
    let mut status = old.clone();
    status["metadata"]["managedFields"] = json!([{}]);
    status["status"] = json!({"ready":true});
    record_update(Some(&old), &mut status, "ctl", Some("status"), "v1", "2024-01-02T00:00:00Z", &AtomicLists);
    let mf = status["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(mf.len(), 2);
    assert_eq!(mf[1]["subresource"], "status");
    assert_eq!(mf[1]["fieldsV1"], json!({"f:status":{".":{},"f:ready":{}}}));
}

#[test]
fn record_update_accepts_client_written_entries() {
    let mut obj = json!({"metadata":{"name":"w"},"spec":{"a":1}});
    record_update(None, &mut obj, "one", None, "v1", "2024-01-01T00:00:00Z", &AtomicLists);
    let old = obj.clone();
    let mut edited = old.clone();
    edited["metadata"]["managedFields"] = json!([{"manager":"renamed","operation":"Apply","apiVersion":"v1",
        "fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:a":{}}}}]);
    record_update(Some(&old), &mut edited, "x", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
    assert_eq!(edited["metadata"]["managedFields"][0]["manager"], "renamed");
    assert_eq!(edited["metadata"]["managedFields"].as_array().unwrap().len(), 1);
}

#[test]
fn keyed_list_changes_are_per_item() {
    let old = json!({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"1"}]}});
    let new = json!({"spec":{"containers":[{"name":"b","image":"2"},{"name":"a","image":"1"}]}});
    let c = compare(&old, &new, &BuiltinLists);
    let key = |n: &str| PathElement::Key(vec![("name".into(), json!(n))]);
    assert_eq!(c.modified.paths(), vec![vec![f("spec"), f("containers"), key("b"), f("image")]]);
    assert!(c.added.is_empty() && c.removed.is_empty());
}

#[test]
fn sorting_follows_kubernetes() {
    let e = |m: &str, op: Operation, t: Option<&str>| ManagedEntry {
        manager: m.into(),
        operation: op,
        api_version: "v1".into(),
        time: t.map(str::to_string),
        fields: FieldSet::from_fields_v1(&json!({"f:a":{}})).unwrap(),
        subresource: None,
    };
    let mut v = vec![
        e("b", Operation::Update, Some("2024-01-01T00:00:00Z")),
        e("a", Operation::Update, Some("2024-01-02T00:00:00+01:00")),
        e("z", Operation::Apply, Some("2025-01-01T00:00:00Z")),
        e("c", Operation::Update, None),
    ];
    sort_entries(&mut v);
    let names: Vec<&str> = v.iter().map(|e| e.manager.as_str()).collect();
    assert_eq!(names, ["z", "c", "b", "a"]);
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339("2024-02-29T12:00:00.5Z"), Some(1709208000));
    assert_eq!(parse_rfc3339("garbage"), None);
}

#[test]
fn identity_and_description() {
    assert_eq!(
        manager_identity("m", Operation::Update, "v1", Some("status")),
        r#"{"manager":"m","operation":"Update","apiVersion":"v1","subresource":"status"}"#
    );
    assert_eq!(manager_identity("m", Operation::Apply, "v1", None), r#"{"manager":"m","operation":"Apply"}"#);
    assert_eq!(describe_manager("m", Operation::Update, "apps/v1", None), r#""m" using apps/v1"#);
    assert_eq!(
        describe_manager("m", Operation::Apply, "apps/v1", Some("status")),
        r#""m" with subresource "status""#
    );
}

#[test]
fn update_managers_are_capped_into_ancient_changes() {
    let mut obj = json!({"metadata":{"name":"w"},"spec":{}});
    for i in 0..12 {
        let old = obj.clone();
        obj["spec"][format!("f{i}")] = json!(i);
        let t = format!("2024-01-01T00:00:{i:02}Z");
        record_update(Some(&old), &mut obj, &format!("m{i:02}"), None, "v1", &t, &AtomicLists);
    }
    let mf = obj["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(mf.len(), 10);
    let bucket = mf.iter().find(|e| e["manager"] == ANCIENT_CHANGES_MANAGER).unwrap();
    // m00, m01 and m02 went into the bucket, which carries the newest of their times.
    assert_eq!(bucket["time"], "2024-01-01T00:00:02Z");
    assert_eq!(bucket["fieldsV1"], json!({"f:spec":{"f:f0":{},"f:f1":{},"f:f2":{}}}));
    assert!(mf.iter().all(|e| e["manager"] != "m00" && e["manager"] != "m02"));
}

#[test]
fn decode_rejects_invalid_entries() {
    let bad = |e: Value| decode_managed_fields(&json!({"metadata":{"managedFields":[e]}})).is_err();
    assert!(bad(json!({"manager":"m","operation":"Patch","apiVersion":"v1","fieldsType":"FieldsV1"})));
    assert!(bad(json!({"manager":"m","operation":"Apply","fieldsType":"FieldsV1"})));
    assert!(bad(json!({"manager":"m","operation":"Apply","apiVersion":"v1"})));
    assert!(bad(json!("x")));
    assert!(decode_managed_fields(&json!({"metadata":{"managedFields":3}})).is_err());
    assert!(decode_managed_fields(&json!({"metadata":{}})).unwrap().is_empty());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(|n| json!(n)),
        "[a-c]{0,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-c:.{}\"]{0,3}|f:[a-c]|k:\\{\"name\":\"a\"\\}|v:1|i:0", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn fields_v1_parse_never_panics_and_round_trips(v in arb_json()) {
        if let Ok(s) = FieldSet::from_fields_v1(&v) {
            let again = FieldSet::from_fields_v1(&s.to_fields_v1()).unwrap();
            prop_assert_eq!(again, s);
        }
    }

    #[test]
    fn record_update_never_panics(old in arb_json(), new in arb_json(), mf in arb_json()) {
        let mut new = new;
        if let Value::Object(m) = &mut new {
            m.insert("metadata".into(), json!({"managedFields": mf}));
        }
        record_update(Some(&old), &mut new, "m", None, "v1", "2024-01-01T00:00:00Z", &BuiltinLists);
        let mut again = new.clone();
        record_update(Some(&new), &mut again, "m", None, "v1", "2024-01-01T00:00:00Z", &BuiltinLists);
        // Recording a write that changes nothing is a no-op.
        prop_assert_eq!(again, new);
    }

    #[test]
    fn subtracting_in_place_is_the_difference(a in arb_json(), b in arb_json(), c in arb_json()) {
        let (a, b) = (fields_of(&a, &BuiltinLists), fields_of(&b, &BuiltinLists).union(&fields_of(&c, &BuiltinLists)));
        let mut s = a.clone();
        s.subtract(&b);
        prop_assert_eq!(&s, &a.difference(&b));
        let mut t = a.clone();
        t.subtract(&a);
        prop_assert!(t.is_empty());
    }

    #[test]
    fn recorded_entries_are_what_the_written_managed_fields_decode_to(old in arb_json(), new in arb_json(), mf in arb_json()) {
        let mut new = new;
        if let Value::Object(m) = &mut new {
            m.insert("metadata".into(), json!({"managedFields": mf}));
        }
        let start = decode_managed_fields(&new).unwrap_or_default();
        let written = record_update_from(start, &old, &mut new, "m", None, "v1", "2024-01-01T00:00:00Z", &BuiltinLists);
        if new.is_object() {
            prop_assert_eq!(written, decode_managed_fields(&new).unwrap());
        }
    }

    #[test]
    fn comparing_content_in_place_is_comparing_stripped_copies(
        old in arb_json(), new in arb_json(), old_meta in arb_json(), new_meta in arb_json(), old_mf in arb_json(), new_mf in arb_json()
    ) {
        // Metadata with and without managedFields, beside other fields or alone.
        let with_metadata = |mut obj: Value, mut meta: Value, mf: Value| {
            if let Value::Object(m) = &mut meta {
                m.insert("managedFields".into(), mf);
            }
            if let Value::Object(m) = &mut obj {
                m.insert("metadata".into(), meta);
            }
            obj
        };
        let (old, new) = (with_metadata(old, old_meta, old_mf), with_metadata(new, new_meta, new_mf));
        let (mut old_stripped, mut new_stripped) = (old.clone(), new.clone());
        super::object_fields::strip_managed_fields(&mut old_stripped);
        super::object_fields::strip_managed_fields(&mut new_stripped);
        prop_assert_eq!(
            super::object_fields::compare_content(&old, &new, &BuiltinLists),
            compare(&old_stripped, &new_stripped, &BuiltinLists)
        );
    }
}
