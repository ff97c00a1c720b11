//! JSON merge patch (RFC 7386): applying one, as the server does for
//! `application/merge-patch+json`, and creating the three-way patch that
//! client-side `kubectl apply` sends for custom resources
//! (`jsonmergepatch.CreateThreeWayJSONMergePatch`).
//!
//! Lists are always replaced wholesale and `null` removes a field; there is
//! no schema. Object keys are processed in sorted order, so output is
//! deterministic.

use serde_json::{Map, Value};

type JsonMap = Map<String, Value>;

/// Applies `patch` to `target` (RFC 7386 `MergePatch`): an object patch is
/// merged key by key (`null` deletes, objects recurse, anything else
/// replaces); any other patch replaces the target.
pub fn apply(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(m) => m.clone(),
        _ => JsonMap::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            out.remove(key);
        } else {
            let merged = apply(out.get(key).unwrap_or(&Value::Null), value);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

/// [`apply`] to a target the caller hands over: its unpatched parts are moved, not copied.
pub fn apply_owned(target: Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(m) => m,
        _ => JsonMap::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            out.remove(key);
        } else {
            let merged = apply_owned(out.remove(key).unwrap_or(Value::Null), value);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

/// Creates the patch kubectl sends for `apply` of a custom resource:
/// additions and changes from `current` to `modified`, plus `null` for every
/// field `original` (the last-applied configuration) had that `modified`
/// dropped. Fields only `current` has are left alone. Returns `{}` when
/// there is nothing to do. Non-object documents (never sent by kubectl)
/// yield `modified` itself, which replaces whatever is there.
pub fn three_way(original: Option<&Value>, modified: &Value, current: &Value) -> Value {
    let empty = JsonMap::new();
    let as_map = |v: Option<&'_ Value>| -> Option<JsonMap> {
        match v {
            None | Some(Value::Null) => Some(empty.clone()),
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => None,
        }
    };
    let (Some(original), Some(modified_map), Some(current)) = (
        as_map(original),
        as_map(Some(modified)),
        as_map(Some(current)),
    ) else {
        return modified.clone();
    };
    let additions = keep_or_delete_null(&diff(&current, &modified_map), false);
    let deletions = keep_or_delete_null(&diff(&original, &modified_map), true);
    apply(&Value::Object(deletions), &Value::Object(additions))
}

/// Creates a two-way merge patch turning `original` into `modified`
/// (evanphx `CreateMergePatch` on objects).
pub fn two_way(original: &Value, modified: &Value) -> Value {
    match (original, modified) {
        (Value::Object(o), Value::Object(m)) => Value::Object(diff(o, m)),
        _ => modified.clone(),
    }
}

/// evanphx `getDiff`: changed and added fields of `b`, `null` for removed.
fn diff(a: &JsonMap, b: &JsonMap) -> JsonMap {
    let mut into = JsonMap::new();
    for (key, bv) in b {
        let Some(av) = a.get(key) else {
            into.insert(key.clone(), bv.clone());
            continue;
        };
        match (av, bv) {
            (Value::Object(am), Value::Object(bm)) => {
                let d = diff(am, bm);
                if !d.is_empty() {
                    into.insert(key.clone(), Value::Object(d));
                }
            }
            _ if !json_equal(av, bv) => {
                into.insert(key.clone(), bv.clone());
            }
            _ => {}
        }
    }
    for key in a.keys() {
        if !b.contains_key(key) {
            into.insert(key.clone(), Value::Null);
        }
    }
    into
}

/// Equality as Go's `encoding/json` sees it: every number is a float64, so
/// `1` and `1.0` are the same value.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// `keepOrDeleteNullInObj`: with `keep_null`, only the `null`s (deletions)
/// survive; otherwise everything but them. Explicit empty objects count as
/// values, and objects left empty by the filtering are dropped.
fn keep_or_delete_null(m: &JsonMap, keep_null: bool) -> JsonMap {
    let mut out = JsonMap::new();
    for (key, value) in m {
        match value {
            Value::Null => {
                if keep_null {
                    out.insert(key.clone(), Value::Null);
                }
            }
            Value::Object(sub) if sub.is_empty() => {
                if !keep_null {
                    out.insert(key.clone(), value.clone());
                }
            }
            Value::Object(sub) => {
                let filtered = keep_or_delete_null(sub, keep_null);
                if !filtered.is_empty() {
                    out.insert(key.clone(), Value::Object(filtered));
                }
            }
            _ => {
                if !keep_null {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use super::super::arbitrary::arb_leaf;

    #[test]
    fn rfc7386_appendix_a() {
        // The examples from RFC 7386 appendix A.
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(apply(&target, &patch), expected, "{target} + {patch}");
        }
    }

    #[test]
    fn three_way_like_kubectl() {
        let original = json!({"spec":{"size":1,"mode":"a","tags":["x"]}});
        let modified = json!({"spec":{"size":2,"tags":["y"]}});
        let current =
            json!({"spec":{"size":1,"mode":"a","tags":["x"],"extra":true},"status":{"ok":true}});
        let patch = three_way(Some(&original), &modified, &current);
        assert_eq!(patch, json!({"spec":{"mode":null,"size":2,"tags":["y"]}}));
        assert_eq!(
            apply(&current, &patch),
            json!({"spec":{"size":2,"tags":["y"],"extra":true},"status":{"ok":true}})
        );
    }

    #[test]
    fn three_way_nothing_to_do() {
        let doc = json!({"a":{"b":[1,2]},"c":"d"});
        let current = json!({"a":{"b":[1,2],"z":1},"c":"d","e":5});
        assert_eq!(three_way(Some(&doc), &doc, &current), json!({}));
        assert_eq!(three_way(None, &doc, &current), json!({}));
    }

    #[test]
    fn three_way_edge_cases() {
        // Deleting a field that is already gone is still sent (harmless).
        let p = three_way(Some(&json!({"a":1})), &json!({}), &json!({}));
        assert_eq!(p, json!({"a":null}));
        // An explicit empty object is a value.
        let p = three_way(None, &json!({"a":{}}), &json!({}));
        assert_eq!(p, json!({"a":{}}));
        // An emptied object does not delete fields the user never set.
        let p = three_way(
            Some(&json!({"a":{"x":1}})),
            &json!({"a":{}}),
            &json!({"a":{"x":1,"y":2}}),
        );
        assert_eq!(p, json!({"a":{"x":null}}));
        assert_eq!(apply(&json!({"a":{"x":1,"y":2}}), &p), json!({"a":{"y":2}}));
        // 1 and 1.0 are equal for encoding/json.
        assert_eq!(
            three_way(None, &json!({"a":1.0}), &json!({"a":1})),
            json!({})
        );
        // A type change replaces the field.
        let p = three_way(
            Some(&json!({"a":{"x":1}})),
            &json!({"a":[1]}),
            &json!({"a":{"x":1}}),
        );
        assert_eq!(apply(&json!({"a":{"x":1}}), &p), json!({"a":[1]}));
        // Non-object documents replace wholesale.
        assert_eq!(three_way(None, &json!([1]), &json!({"a":1})), json!([1]));
        assert_eq!(
            two_way(&json!({"a":1,"b":2}), &json!({"a":1,"c":3})),
            json!({"b":null,"c":3})
        );
    }

    /// Checks the three-way contract: everything in `modified`, nothing that
    /// only `original` had, and `current`'s unmentioned fields untouched.
    fn check_merge_contract(
        result: &Value,
        original: Option<&Value>,
        modified: &Value,
        current: Option<&Value>,
        at: &str,
    ) -> Result<(), String> {
        let Value::Object(m) = modified else {
            return if json_equal(result, modified) {
                Ok(())
            } else {
                Err(format!("{at}: expected {modified}, got {result}"))
            };
        };
        let Value::Object(r) = result else {
            return Err(format!("{at}: expected an object, got {result}"));
        };
        let o = original.and_then(Value::as_object);
        let c = current.and_then(Value::as_object);
        for (k, mv) in m {
            let rv = r.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
            check_merge_contract(
                rv,
                o.and_then(|o| o.get(k)),
                mv,
                c.and_then(|c| c.get(k)),
                &format!("{at}.{k}"),
            )?;
        }
        if let Some(o) = o {
            for k in o.keys() {
                if !m.contains_key(k) && r.contains_key(k) {
                    return Err(format!(
                        "{at}.{k}: removed from the configuration but still present"
                    ));
                }
            }
        }
        if let Some(c) = c {
            for (k, cv) in c {
                let mentioned = m.contains_key(k) || o.is_some_and(|o| o.contains_key(k));
                if !mentioned && r.get(k) != Some(cv) {
                    return Err(format!("{at}.{k}: live-only field changed"));
                }
            }
        }
        Ok(())
    }

    /// Map-heavy documents over a tiny key alphabet so the three inputs
    /// overlap a lot.
    fn arb_doc(with_null: bool) -> BoxedStrategy<Value> {
        arb_leaf(with_null.then_some(4))
            .prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    1 => inner.clone(),
                    3 => prop::collection::btree_map(
                        prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from),
                        inner,
                        0..4
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
            .prop_map(|v| match v {
                Value::Object(_) => v,
                other => json!({ "a": other }),
            })
            .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn three_way_contract(
            original in prop::option::of(arb_doc(true)),
            modified in arb_doc(false),
            current in arb_doc(true),
        ) {
            let patch = three_way(original.as_ref(), &modified, &current);
            let result = apply(&current, &patch);
            check_merge_contract(&result, original.as_ref(), &modified, Some(&current), "")
                .map_err(|e| TestCaseError::fail(format!("{e}\npatch: {patch}\nresult: {result}")))?;
        }

        #[test]
        fn applying_to_an_owned_target_is_applying(target in arb_doc(true), patch in arb_doc(true)) {
            prop_assert_eq!(apply_owned(target.clone(), &patch), apply(&target, &patch));
            prop_assert_eq!(apply_owned(target.clone(), &target), apply(&target, &target));
        }

        #[test]
        fn two_way_round_trips(original in arb_doc(false), modified in arb_doc(false)) {
            let patch = two_way(&original, &modified);
            prop_assert_eq!(apply(&original, &patch), modified);
        }
    }
}
