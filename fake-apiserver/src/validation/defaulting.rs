//! Defaulting (`structural/defaulting`): missing properties and non-nullable nulls take the
//! schema's `default`.

use serde_json::{Map, Value};

use super::{flag, items, props, schema_map, MAX_DEPTH};

/// `structuraldefaulting.Default`: fills missing properties (and non-nullable nulls) from
/// `default`, recursively through properties, `additionalProperties` and `items`. A property
/// default is applied and then defaulted itself; like the server, a default that replaces a
/// null array item or map value is not defaulted further.
pub fn default(schema: &Value, obj: &mut Value) {
    default_node(schema_map(schema), obj, 0);
}

pub(super) fn has_default(s: &Map<String, Value>) -> Option<&Value> {
    s.get("default").filter(|d| !d.is_null())
}

fn is_non_nullable_null(v: &Value, s: Option<&Map<String, Value>>) -> bool {
    v.is_null() && s.is_some_and(|s| !flag(s, "nullable"))
}

fn default_node(s: Option<&Map<String, Value>>, x: &mut Value, depth: usize) {
    let Some(s) = s else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match x {
        Value::Object(obj) => {
            if let Some(p) = props(s) {
                for (k, prop) in p {
                    let Some(ps) = prop.as_object() else { continue };
                    let Some(d) = has_default(ps) else { continue };
                    let missing = obj.get(k).is_none_or(|v| is_non_nullable_null(v, Some(ps)));
                    if missing {
                        obj.insert(k.clone(), d.clone());
                    }
                }
            }
            let ap = s.get("additionalProperties").and_then(Value::as_object);
            for (k, v) in obj.iter_mut() {
                if let Some(prop) = props(s).and_then(|p| p.get(k)) {
                    default_node(schema_map(prop), v, depth + 1);
                } else if let Some(ap) = ap {
                    if is_non_nullable_null(v, Some(ap)) {
                        if let Some(d) = has_default(ap) {
                            *v = d.clone();
                            continue;
                        }
                    }
                    default_node(Some(ap), v, depth + 1);
                }
            }
        }
        Value::Array(list) => {
            let item_schema = items(s);
            for v in list.iter_mut() {
                if let Some(is) = item_schema {
                    if is_non_nullable_null(v, Some(is)) {
                        if let Some(d) = has_default(is) {
                            *v = d.clone();
                            continue;
                        }
                    }
                }
                default_node(item_schema, v, depth + 1);
            }
        }
        _ => {}
    }
}
