//! `x-kubernetes-list-type: set|map` (`schema/listtype/validation.go`): duplicate items and
//! duplicate keys are errors.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::validate::{bad_value, num, Num};
use super::{items, props, Cause, FPath, MAX_DEPTH};
use apimachinery::gofmt::go_json;

pub(super) fn list_types_object(path: &FPath, s: &Map<String, Value>, obj: &Map<String, Value>, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    if let Some(ap) = s.get("additionalProperties").and_then(Value::as_object) {
        for k in &keys {
            list_types_value(&path.key(k), ap, &obj[k.as_str()], depth + 1, out);
        }
    }
    if let Some(p) = props(s) {
        for k in &keys {
            if let Some(sub) = p.get(k.as_str()).and_then(Value::as_object) {
                list_types_value(&path.child(k), sub, &obj[k.as_str()], depth + 1, out);
            }
        }
    }
}

fn list_types_value(path: &FPath, s: &Map<String, Value>, v: &Value, depth: usize, out: &mut Vec<Cause>) {
    match v {
        Value::Array(list) => list_types_array(path, s, list, depth, out),
        Value::Object(obj) => list_types_object(path, s, obj, depth, out),
        _ => {}
    }
}

fn list_types_array(path: &FPath, s: &Map<String, Value>, list: &[Value], depth: usize, out: &mut Vec<Cause>) {
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for i in non_unique(list) {
                out.push(Cause::new("FieldValueDuplicate", path.index(i).render(), format!("Duplicate value: {}", bad_value(&list[i]))));
            }
        }
        Some("map") => list_map_duplicates(path, s, list, out),
        _ => {}
    }
    if let Some(item_schema) = items(s) {
        for (i, v) in list.iter().enumerate() {
            list_types_value(&path.index(i), item_schema, v, depth + 1, out);
        }
    }
}

/// Indices of the second appearance of each repeated item (Go's `validateListSet`).
fn non_unique(list: &[Value]) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, x) in list.iter().enumerate() {
        // Scalars compare by Go type and value; compounds by their JSON text.
        let key = match x {
            Value::Object(_) | Value::Array(_) => format!("c{}", go_json(x)),
            Value::Number(_) => match num(x) {
                Some(Num::Int(n)) => format!("i{n}"),
                Some(Num::Float(f)) => format!("f{}", f.to_bits()),
                None => "n".to_string(),
            },
            Value::String(s) => format!("s{s}"),
            Value::Bool(b) => format!("b{b}"),
            Value::Null => "n".to_string(),
        };
        let times = seen.entry(key).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn list_map_duplicates(path: &FPath, s: &Map<String, Value>, list: &[Value], out: &mut Vec<Cause>) {
    for (i, x) in list.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            out.push(Cause::new(
                "FieldValueInvalid",
                path.index(i).render(),
                format!("Invalid value: {}: must be an object for an array of list-type map", bad_value(x)),
            ));
            return;
        }
    }
    if list.len() <= 1 {
        return;
    }
    let map_keys: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let keys: Vec<Value> = list
        .iter()
        .map(|x| {
            let mut key = Map::new();
            if let Some(obj) = x.as_object() {
                for k in &map_keys {
                    if let Some(v) = obj.get(*k) {
                        key.insert(k.to_string(), v.clone());
                    }
                }
            }
            Value::Object(key)
        })
        .collect();
    for i in non_unique(&keys) {
        out.push(Cause::new("FieldValueDuplicate", path.index(i).render(), format!("Duplicate value: {}", go_json(&keys[i]))));
    }
}
