use super::formats::{format_ok, is_date_time};
use super::pattern::pattern_matches;
use super::*;
use serde_json::json;

/// A Synthesizer/Composition-like schema in the shape controller-gen emits.
fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {"type": "string", "minLength": 1, "maxLength": 100},
                    "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                    "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0},
                    "mode": {"type": "string", "enum": ["Apply", "Orphan"]},
                    "enabled": {"type": "boolean"},
                    "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "timeout": {"type": "string", "pattern": "^[0-9]+(s|m)$"},
                    "since": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "variations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "synthesizer": {
                                    "type": "object",
                                    "required": ["name"],
                                    "properties": {"name": {"type": "string", "default": "base"}}
                                },
                                "weight": {"type": "integer", "default": 1}
                            }
                        }
                    },
                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                               "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                    "nullableNote": {"type": "string", "nullable": true},
                    "strategy": {"type": "object", "default": {}, "properties": {"type": {"type": "string", "default": "Rolling"}}}
                }
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    })
}

fn causes(obj: Value) -> Vec<(String, String, String)> {
    validate(&schema(), &obj).into_iter().map(|c| (c.reason, c.field, c.message)).collect()
}

fn one(obj: Value) -> (String, String, String) {
    let mut c = causes(obj);
    assert_eq!(c.len(), 1, "{c:?}");
    c.remove(0)
}

fn t(r: &str, f: &str, m: &str) -> (String, String, String) {
    (r.to_string(), f.to_string(), m.to_string())
}

#[test]
fn valid_object_has_no_causes() {
    let obj = json!({
        "apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "s"},
        "spec": {"image": "img", "replicas": 3, "ratio": 0.5, "mode": "Apply", "enabled": true, "port": 8080,
                 "timeout": "30s", "since": "2024-01-02T03:04:05Z", "tags": ["a"], "labels": {"k": "v"},
                 "variations": [{"synthesizer": {"name": "x"}}], "config": {"anything": [1, 2]}, "nullableNote": null},
        "status": {"whatever": true}
    });
    assert_eq!(causes(obj), vec![]);
}

#[test]
fn type_errors() {
    assert_eq!(
        one(json!({"spec": {"image": "i", "replicas": "string"}})),
        t("FieldValueTypeInvalid", "spec.replicas", "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"")
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "enabled": "yes"}})),
        t("FieldValueTypeInvalid", "spec.enabled", "Invalid value: \"string\": spec.enabled in body must be of type boolean: \"string\"")
    );
    assert_eq!(
        one(json!({"spec": "oops"})),
        t("FieldValueTypeInvalid", "spec", "Invalid value: \"string\": spec in body must be of type object: \"string\"")
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "replicas": 1.5}})),
        t("FieldValueTypeInvalid", "spec.replicas", "Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"")
    );
    // An integral float is an integer; an integer is a number.
    assert_eq!(causes(json!({"spec": {"image": "i", "replicas": 2.0, "ratio": 1}})), vec![]);
    assert_eq!(
        one(json!({"spec": {"image": "i", "replicas": null}})),
        t("FieldValueTypeInvalid", "spec.replicas", "Invalid value: \"null\": spec.replicas in body must be of type integer: \"null\"")
    );
}

#[test]
fn int_or_string_reports_anyof() {
    let c = causes(json!({"spec": {"image": "i", "port": true}}));
    assert_eq!(
        c,
        vec![
            t("FieldValueTypeInvalid", "spec.port", "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\""),
            t("FieldValueInvalid", "<nil>", "Invalid value: \"\": \"spec.port\" must validate at least one schema (anyOf)"),
            t("FieldValueTypeInvalid", "spec.port", "Invalid value: \"boolean\": spec.port in body must be of type integer: \"boolean\""),
        ]
    );
    assert_eq!(causes(json!({"spec": {"image": "i", "port": "http"}})), vec![]);
}

#[test]
fn required_and_nested_required() {
    assert_eq!(one(json!({"spec": {}})), t("FieldValueRequired", "spec.image", "Required value"));
    assert_eq!(
        causes(json!({"spec": {"image": "i", "variations": [{"synthesizer": {}}]}})),
        vec![t("FieldValueRequired", "spec.variations[0].synthesizer.name", "Required value")]
    );
    let c = causes(json!({"spec": {"image": "i", "variations": [{"synthesizer": {"name": "a"}}, {"synthesizer": {"name": 5}}]}}));
    assert_eq!(
        c,
        vec![t(
            "FieldValueTypeInvalid",
            "spec.variations[1].synthesizer.name",
            "Invalid value: \"integer\": spec.variations[1].synthesizer.name in body must be of type string: \"integer\""
        )]
    );
    let root = json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}});
    assert_eq!(validate(&root, &json!({})), vec![Cause::new("FieldValueRequired", "spec", "Required value")]);
}

#[test]
fn enum_errors() {
    assert_eq!(
        one(json!({"spec": {"image": "i", "mode": "x"}})),
        t("FieldValueNotSupported", "spec.mode", "Unsupported value: \"x\": supported values: \"Apply\", \"Orphan\"")
    );
    let s = json!({"type": "object", "properties": {"n": {"type": "integer", "enum": [1, 2]}}});
    assert_eq!(
        validate(&s, &json!({"n": 3})),
        vec![Cause::new("FieldValueNotSupported", "n", "Unsupported value: 3: supported values: \"1\", \"2\"")]
    );
    assert!(validate(&s, &json!({"n": 2})).is_empty());
}

#[test]
fn numeric_bounds() {
    assert_eq!(
        one(json!({"spec": {"image": "i", "replicas": 0}})),
        t("FieldValueInvalid", "spec.replicas", "Invalid value: 0: spec.replicas in body should be greater than or equal to 1")
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "replicas": 11}})),
        t("FieldValueInvalid", "spec.replicas", "Invalid value: 11: spec.replicas in body should be less than or equal to 10")
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "ratio": 0}})),
        t("FieldValueInvalid", "spec.ratio", "Invalid value: 0: spec.ratio in body should be greater than 0")
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "ratio": -0.5}})),
        t("FieldValueInvalid", "spec.ratio", "Invalid value: -0.5: spec.ratio in body should be greater than 0")
    );
    let s = json!({"type": "object", "properties": {
        "big": {"type": "number", "maximum": 1000000},
        "m": {"type": "integer", "multipleOf": 5},
        "f": {"type": "number", "multipleOf": 0.5}
    }});
    let c: Vec<String> = validate(&s, &json!({"big": 2000000.5, "m": 7, "f": 0.3})).into_iter().map(|c| c.message).collect();
    assert_eq!(
        c,
        vec![
            "Invalid value: 2.0000005e+06: big in body should be less than or equal to 1e+06",
            "Invalid value: 0.3: f in body should be a multiple of 0.5",
            "Invalid value: 7: m in body should be a multiple of 5",
        ]
    );
}

#[test]
fn string_constraints() {
    assert_eq!(one(json!({"spec": {"image": ""}})), t("FieldValueInvalid", "spec.image", "Invalid value: \"\": spec.image in body should be at least 1 chars long"));
    assert_eq!(
        one(json!({"spec": {"image": "x".repeat(101)}})),
        t("FieldValueTooLong", "spec.image", "Too long: may not be more than 100 bytes")
    );
    // maxLength counts characters, not bytes.
    assert_eq!(causes(json!({"spec": {"image": "é".repeat(100)}})), vec![]);
    assert_eq!(
        one(json!({"spec": {"image": "i", "timeout": "30h"}})),
        t("FieldValueInvalid", "spec.timeout", "Invalid value: \"30h\": spec.timeout in body should match '^[0-9]+(s|m)$'")
    );
    let s = json!({"type": "object", "properties": {"a": {"type": "string", "maxLength": 1}, "d": {"type": "string", "pattern": "^\\d+$"}}});
    assert_eq!(validate(&s, &json!({"a": "ab"}))[0].message, "Too long: may not be more than 1 byte");
    // Go's \d is ASCII-only.
    assert_eq!(validate(&s, &json!({"d": "١٢"})).len(), 1);
    assert!(validate(&s, &json!({"d": "12"})).is_empty());
    // Go reads `[`, `&&` and `~~` inside a class literally.
    assert_eq!(pattern_matches("^[a&&b]+$", "a&b"), Ok(true));
    assert_eq!(pattern_matches("^[x[]+$", "x[x"), Ok(true));
    assert_eq!(pattern_matches("^[~~]$", "~"), Ok(true));
    assert_eq!(pattern_matches("^[[:alpha:]\\d]+$", "ab1"), Ok(true));
    assert_eq!(pattern_matches("^\\w+\\s\\S$", "a_1 x"), Ok(true));
    assert_eq!(pattern_matches("^\\w+$", "é"), Ok(false));
    let bad = json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}});
    let c = validate(&bad, &json!({"a": "x"}));
    assert!(c[0].message.starts_with("Invalid value: \"x\": a in body should match '(, but pattern is invalid: "), "{c:?}");
}

#[test]
fn formats() {
    assert_eq!(
        one(json!({"spec": {"image": "i", "since": "yesterday"}})),
        t("FieldValueTypeInvalid", "spec.since", "Invalid value: \"yesterday\": spec.since in body must be of type date-time: \"yesterday\"")
    );
    for ok in ["2024-01-02T03:04:05Z", "2024-01-02t03:04:05.123+01:00", "2024-02-29T23:59:59-07:00"] {
        assert!(is_date_time(ok), "{ok}");
    }
    for bad in ["2024-01-02", "2024-13-02T03:04:05Z", "2024-01-02T24:00:00Z", "2023-02-29T00:00:00Z", "2024-01-02T03:04:05"] {
        assert!(!is_date_time(bad), "{bad}");
    }
    assert!(format_ok("uuid", "123e4567-e89b-12d3-a456-426614174000"));
    assert!(!format_ok("uuid", "123e4567e89b-12d3-a456-4266141740001"));
    assert!(format_ok("uuid4", "123e4567-e89b-42d3-a456-426614174000"));
    assert!(format_ok("byte", "aGVsbG8="));
    assert!(!format_ok("byte", "aGVsbG8"));
    assert!(format_ok("ipv4", "10.0.0.1") && !format_ok("ipv4", "::1") && format_ok("ipv6", "::1"));
    assert!(format_ok("cidr", "10.0.0.0/8") && !format_ok("cidr", "10.0.0.0/33"));
    // int32/int64 are stripped by the server: no effect at all.
    let s = json!({"type": "object", "properties": {"n": {"type": "integer", "format": "int32"}}});
    assert!(validate(&s, &json!({"n": 5_000_000_000i64})).is_empty());
    // A format makes the server skip the type check for strings/arrays.
    let s = json!({"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}}});
    assert!(validate(&s, &json!({"t": ["x"]})).is_empty());
    assert_eq!(
        validate(&s, &json!({"t": 5}))[0].message,
        "Invalid value: \"int64\": t in body must be of type date-time: \"int64\""
    );
}

#[test]
fn arrays_and_maps() {
    assert_eq!(
        one(json!({"spec": {"image": "i", "tags": ["a", "b", "c", "d"]}})),
        t("FieldValueTooMany", "spec.tags", "Too many: 4: must have at most 3 items")
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "tags": ["a", 1]}})).1,
        "spec.tags[1]"
    );
    assert_eq!(
        one(json!({"spec": {"image": "i", "labels": {"k": 1}}})),
        t("FieldValueTypeInvalid", "spec.labels.k", "Invalid value: \"integer\": spec.labels.k in body must be of type string: \"integer\"")
    );
    let s = json!({"type": "object", "properties": {
        "l": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "big": {"type": "array", "maxItems": 500, "items": {"type": "integer"}},
        "o": {"type": "object", "minProperties": 1, "maxProperties": 2, "additionalProperties": {"type": "string"}},
        "u": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
        "closed": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}}
    }});
    let c = validate(&s, &json!({"l": [], "big": (0..501).collect::<Vec<_>>(), "o": {}, "u": ["a", "a"], "closed": {"b": "x"}}));
    let got: Vec<(String, String, String)> = c.into_iter().map(|c| (c.reason, c.field, c.message)).collect();
    assert_eq!(
        got,
        vec![
            t("FieldValueTooMany", "big", "Too many: 501: must have at most 500 items"),
            t("FieldValueInvalid", "closed", "Invalid value: \"b\": closed.b in body is a forbidden property"),
            t("FieldValueInvalid", "l", "Invalid value: 0: l in body should have at least 1 items"),
            t("FieldValueInvalid", "o", "Invalid value: 0: o in body should have at least 1 properties"),
            t("FieldValueInvalid", "u", "Invalid value: \"\": u in body shouldn't contain duplicates"),
        ]
    );
    let c = validate(&s, &json!({"o": {"a": "1", "b": "2", "c": "3"}}));
    assert_eq!(c, vec![Cause::new("FieldValueTooMany", "o", "Too many: 3: must have at most 2 items")]);
}

#[test]
fn nullable_and_composition() {
    let s = json!({"type": "object", "properties": {
        "n": {"type": "string", "nullable": true, "enum": ["a"]},
        "one": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}], "type": "object"},
        "all": {"allOf": [{"minLength": 2}, {"maxLength": 3}], "type": "string"},
        "not": {"not": {"enum": ["bad"]}, "type": "string"}
    }});
    assert!(validate(&s, &json!({"n": null})).is_empty());
    let c: Vec<String> = validate(&s, &json!({"one": {"a": 1, "b": 2}, "all": "x", "not": "bad"})).into_iter().map(|c| c.message).collect();
    assert_eq!(
        c,
        vec![
            "Invalid value: \"x\": all in body should be at least 2 chars long",
            "Invalid value: \"\": \"all\" must validate all the schemas (allOf)",
            "Invalid value: \"\": \"not\" must not validate the schema (not)",
            "Invalid value: \"\": \"one\" must validate one and only one schema (oneOf). Found 2 valid alternatives",
        ]
    );
}

#[test]
fn root_metadata_only_name_rules() {
    let s = json!({"type": "object", "properties": {
        "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}},
        "spec": {"type": "object"}
    }});
    assert!(validate(&s, &json!({"metadata": {"name": "short", "labels": {"a": 1}}})).is_empty());
    assert_eq!(
        validate(&s, &json!({"metadata": {"name": "toolong"}})),
        vec![Cause::new("FieldValueTooLong", "metadata.name", "Too long: may not be more than 5 bytes")]
    );
    // Without a metadata schema, metadata is not looked at.
    assert!(validate(&json!({"type": "object"}), &json!({"metadata": {"name": 5}})).is_empty());
}

#[test]
fn embedded_resources() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
        "objects": {"type": "array", "items": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}
    }}}});
    let c = validate(&s, &json!({"spec": {"template": {"metadata": {}}, "objects": [{"apiVersion": "a/b/c", "kind": "Con_fig"}]}}));
    let got: Vec<(String, String, String)> = c.into_iter().map(|c| (c.reason, c.field, c.message)).collect();
    assert_eq!(got[0], t("FieldValueInvalid", "spec.objects[0].apiVersion", "Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c"));
    assert_eq!(got[1].1, "spec.objects[0].kind");
    assert!(got[1].2.starts_with("Invalid value: \"Con_fig\": may have mixed case, but should otherwise match: a DNS-1035 label"));
    assert_eq!(got[2], t("FieldValueRequired", "spec.template.apiVersion", "Required value: must not be empty"));
    assert_eq!(got[3], t("FieldValueRequired", "spec.template.kind", "Required value: must not be empty"));
    assert!(validate(&s, &json!({"spec": {"template": {"apiVersion": "v1", "kind": "ConfigMap"}}})).is_empty());
}

#[test]
fn list_type_set_and_map() {
    let s = json!({"type": "object", "properties": {
        "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}
    }});
    let c = validate(&s, &json!({"set": ["a", "b", "a", "a"], "ports": [{"name": "http", "port": 1}, {"name": "http", "port": 2}]}));
    assert_eq!(
        c,
        vec![
            Cause::new("FieldValueDuplicate", "ports[1]", "Duplicate value: {\"name\":\"http\"}"),
            Cause::new("FieldValueDuplicate", "set[2]", "Duplicate value: \"a\""),
        ]
    );
}

#[test]
fn defaulting() {
    let mut obj = json!({"spec": {"image": "i", "variations": [{"synthesizer": {}}, {"synthesizer": {"name": "keep"}, "weight": 5}]}});
    default(&schema(), &mut obj);
    assert_eq!(obj["spec"]["variations"][0], json!({"synthesizer": {"name": "base"}, "weight": 1}));
    assert_eq!(obj["spec"]["variations"][1], json!({"synthesizer": {"name": "keep"}, "weight": 5}));
    // An object default is applied, then defaulted itself.
    assert_eq!(obj["spec"]["strategy"], json!({"type": "Rolling"}));
    // A non-nullable null is replaced by the default; a nullable one is kept.
    let s = json!({"type": "object", "properties": {
        "a": {"type": "string", "default": "x"},
        "b": {"type": "string", "nullable": true, "default": "y"},
        "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"p": {"type": "integer", "default": 7}}}},
        "l": {"type": "array", "items": {"type": "string", "default": "d"}}
    }});
    let mut o = json!({"a": null, "b": null, "m": {"k1": {}, "k2": {"p": 1}}, "l": [null, "z"]});
    default(&s, &mut o);
    assert_eq!(o, json!({"a": "x", "b": null, "m": {"k1": {"p": 7}, "k2": {"p": 1}}, "l": ["d", "z"]}));
    // Nothing to do without an object, and odd schemas are harmless.
    let mut scalar = json!(5);
    default(&s, &mut scalar);
    default(&json!("not a schema"), &mut o);
}

#[test]
fn pruning() {
    let mut obj = json!({
        "apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "s", "whatever": 1},
        "spec": {"image": "i", "foo": 1, "variations": [{"synthesizer": {"name": "a", "extra": true}, "bar": {}}],
                 "labels": {"k": "v"}, "config": {"free": {"x": 1}, "known": {"a": "1", "b": "2"}}},
        "status": {"anything": [1]},
        "top": "level"
    });
    let removed = prune(&schema(), &mut obj);
    assert_eq!(
        removed,
        vec!["spec.config.known.b", "spec.foo", "spec.variations[0].bar", "spec.variations[0].synthesizer.extra", "top"]
    );
    assert_eq!(obj["metadata"], json!({"name": "s", "whatever": 1}));
    assert_eq!(obj["spec"]["config"], json!({"free": {"x": 1}, "known": {"a": "1"}}));
    assert_eq!(obj["status"], json!({"anything": [1]}));
    assert_eq!(obj["apiVersion"], "eno.azure.io/v1");
    assert!(obj.get("top").is_none());
}

#[test]
fn pruning_nulls_and_nested_meta_fields() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "a": {"type": "string"},
        "b": {"type": "string", "nullable": true},
        "c": {"type": "string", "default": "x"},
        "inner": {"type": "object", "properties": {}},
        "emb": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {"data": {"type": "object"}}}
    }}}});
    let mut obj = json!({"spec": {"a": null, "b": null, "c": null,
        "inner": {"kind": "X", "metadata": {}},
        "emb": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}, "data": {}, "junk": 1}}});
    let removed = prune(&s, &mut obj);
    assert_eq!(removed, vec!["spec.emb.junk", "spec.inner.kind", "spec.inner.metadata"]);
    assert_eq!(
        obj,
        json!({"spec": {"b": null, "c": null, "inner": {},
            "emb": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}, "data": {}}}})
    );
    // With no schema at all for a subtree, objects empty out.
    let mut o = json!({"spec": {"x": {"y": 1}}});
    assert_eq!(prune(&json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"x": {}}}}}), &mut o), vec!["spec.x.y"]);
}

#[test]
fn unknown_field_text() {
    assert_eq!(unknown_field_message("spec.foo"), "unknown field \"spec.foo\"");
}

#[test]
fn deep_values_do_not_overflow() {
    let mut v = json!(1);
    for _ in 0..2000 {
        v = Value::Array(vec![v]);
    }
    let s = json!({"type": "array"});
    let _ = validate(&s, &v);
    let mut v2 = v.clone();
    let _ = prune(&json!({"type": "object"}), &mut v2);
    default(&s, &mut v2);
    // A schema as deep as the data: the depth guard stops the walk instead of the stack.
    let mut deep_schema = json!({"type": "object"});
    let mut deep_obj = json!({});
    for _ in 0..400 {
        deep_schema = json!({"type": "object", "required": ["x"], "properties": {"a": {"type": "object"}, "x": deep_schema}});
        deep_obj = Value::Object([("x".to_string(), deep_obj), ("junk".to_string(), json!(1))].into_iter().collect());
    }
    let _ = validate(&deep_schema, &deep_obj);
    default(&deep_schema, &mut deep_obj);
    let removed = prune(&deep_schema, &mut deep_obj);
    assert!(!removed.is_empty());
    std::mem::forget(deep_schema);
    std::mem::forget(deep_obj);
    // Dropping a deeply nested Value recursion is serde_json's concern; forget it.
    std::mem::forget(v);
    std::mem::forget(v2);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-1e9f64..1e9).prop_map(|f| json!(f)),
            "[a-z]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,5}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics_and_prune_is_idempotent(obj in arb_json(), s in arb_json()) {
            let _ = validate(&schema(), &obj);
            let _ = validate(&s, &obj);
            let mut a = obj.clone();
            default(&schema(), &mut a);
            default(&s, &mut a);
            let mut b = obj.clone();
            prune(&schema(), &mut b);
            let again = prune(&schema(), &mut b.clone());
            prop_assert!(again.is_empty());
            let _ = prune(&s, &mut b);
        }

        #[test]
        fn pruned_objects_only_keep_known_spec_fields(extra in "[a-z]{1,8}") {
            prop_assume!(!["image", "replicas", "ratio", "mode", "enabled", "port", "timeout", "since", "tags",
                           "labels", "variations", "config", "strategy"].contains(&extra.as_str()) && !extra.starts_with("nullable"));
            let mut obj = json!({"spec": {"image": "i", &extra: 1}});
            let removed = prune(&schema(), &mut obj);
            prop_assert_eq!(removed, vec![format!("spec.{extra}")]);
            prop_assert_eq!(obj, json!({"spec": {"image": "i"}}));
        }
    }
}
