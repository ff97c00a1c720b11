//! Custom-resource schema handling as the apiextensions apiserver does it, over a CRD version's
//! `openAPIV3Schema` given as JSON: validation (kube-openapi's validators and the error texts
//! `kubeOpenAPIResultToFieldErrors` builds from them), defaulting (`structural/defaulting`) and
//! pruning (`structural/pruning`, plus `PruneNonNullableNullsWithoutDefaults`).
//!
//! Deliberately not covered here:
//! - `x-kubernetes-validations` (CEL rules) are ignored: no CEL evaluator.
//! - The root `metadata` is ObjectMeta, validated by the server elsewhere; only
//!   `metadata.name`/`metadata.generateName` are checked here, and only when the schema
//!   declares them. Metadata of embedded resources is not validated as ObjectMeta either.
//! - Formats the server knows but this file does not check (email, hostname, uri, mac, isbn,
//!   creditcard, ssn, rgbcolor, bsonobjectid, duration) accept any string.
//!
//! The real server walks Go maps, so its error order is random; here properties are visited
//! in key order, which keeps output deterministic.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use apimachinery::gofmt::{go_float_v, go_json, go_quote};

/// One `details.causes` entry of a 422 (the same type the server's errors carry).
pub use crate::error::Cause;

/// How the server words an unknown field it pruned (strict error / warning text).
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field {}", go_quote(path))
}

/// Recursion guard: objects nested deeper than this are left alone (not validated, defaulted
/// or pruned further) instead of risking the stack. Real objects are far shallower.
const MAX_DEPTH: usize = 256;

// =============================================================================================
// Validation
// =============================================================================================

/// Validates `obj` against the CRD schema. Returns the causes the server would put in a 422
/// `Invalid` status, in order: schema errors (kube-openapi), embedded-resource errors
/// (`apiVersion`/`kind` of `x-kubernetes-embedded-resource` objects), then duplicate errors
/// for `x-kubernetes-list-type: set|map` lists. Run [`prune`] and [`default`] first, as the
/// server does when decoding.
pub fn validate(schema: &Value, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    validate_node(schema, obj, "", 0, true, &mut out);
    validate_embedded(schema_map(schema), obj, &FPath::Nil, 0, &mut out);
    if let (Some(s), Some(o)) = (schema_map(schema), obj.as_object()) {
        list_types_object(&FPath::Nil, s, o, 0, &mut out);
    }
    out
}

/// The JSON type kube-openapi reports for a value.
fn data_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Number(_) => match num(v) {
            Some(Num::Int(_)) => "integer",
            _ => "number",
        },
    }
}

/// A JSON number as Go's unstructured decoding sees it: int64 when it fits, else float64.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i))
    } else {
        n.as_f64().map(Num::Float)
    }
}

fn schema_map(s: &Value) -> Option<&Map<String, Value>> {
    s.as_object()
}

fn flag(s: &Map<String, Value>, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn f64_of(s: &Map<String, Value>, key: &str) -> Option<f64> {
    s.get(key).and_then(Value::as_f64)
}

fn i64_of(s: &Map<String, Value>, key: &str) -> Option<i64> {
    let v = s.get(key)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn props(s: &Map<String, Value>) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

fn items(s: &Map<String, Value>) -> Option<&Map<String, Value>> {
    s.get("items").and_then(Value::as_object)
}

/// `type`, widened to `integer,string` by `x-kubernetes-int-or-string` as the server's
/// schema conversion does.
fn schema_types(s: &Map<String, Value>) -> Vec<String> {
    if flag(s, "x-kubernetes-int-or-string") {
        return vec!["integer".into(), "string".into()];
    }
    match s.get("type") {
        Some(Value::String(t)) if !t.is_empty() => vec![t.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    }
}

/// Formats that survive `StripUnsupportedFormatsPostProcess` (others are dropped, i.e. the
/// server ignores `int32`, `int64`, `float`, ... entirely).
fn supported_format(s: &Map<String, Value>) -> Option<&str> {
    let f = s.get("format")?.as_str()?;
    let normalized = f.replace('-', "");
    const SUPPORTED: &[&str] = &[
        "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4", "uuid5", "isbn",
        "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password", "date", "duration", "datetime",
    ];
    SUPPORTED.contains(&normalized.as_str()).then_some(f)
}

/// kube-openapi names (`spec.replicas`, `.spec` for a root-level required) to field paths.
fn field_of(name: &str) -> String {
    if name.is_empty() || name == "." {
        "<nil>".to_string()
    } else {
        name.strip_prefix('.').unwrap_or(name).to_string()
    }
}

fn child_name(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

// --- cause builders: field.Error{...}.ErrorBody() ---------------------------------------------

fn c_invalid(name: &str, bad: &str, detail: &str) -> Cause {
    Cause::new("FieldValueInvalid", field_of(name), format!("Invalid value: {bad}: {detail}"))
}

fn c_type_invalid(name: &str, bad: &str, detail: &str) -> Cause {
    Cause::new("FieldValueTypeInvalid", field_of(name), format!("Invalid value: {bad}: {detail}"))
}

/// openapi `InvalidType` → `field.TypeInvalid`: `Invalid value: "string": x in body must be of
/// type integer: "string"`.
fn c_wrong_type(name: &str, expected: &str, got: &str) -> Cause {
    let q = go_quote(got);
    c_type_invalid(name, &q, &format!("{name} in body must be of type {expected}: {q}"))
}

fn c_required(name: &str) -> Cause {
    Cause::new("FieldValueRequired", field_of(name), "Required value")
}

fn c_too_long(name: &str, max: i64) -> Cause {
    let detail = if max >= 0 {
        format!("may not be more than {max} {}", if max == 1 { "byte" } else { "bytes" })
    } else {
        "value is too long".to_string()
    };
    Cause::new("FieldValueTooLong", field_of(name), format!("Too long: {detail}"))
}

fn c_too_many(name: &str, actual: i64, max: i64) -> Cause {
    let detail = if max >= 0 {
        format!("must have at most {max} {}", if max == 1 { "item" } else { "items" })
    } else {
        "has too many items".to_string()
    };
    let msg = if actual >= 0 { format!("Too many: {actual}: {detail}") } else { format!("Too many: {detail}") };
    Cause::new("FieldValueTooMany", field_of(name), msg)
}

/// Errors that are not `*openapierrors.Validation` (anyOf/oneOf/allOf/not summaries) land on
/// the nil root path with an empty bad value.
fn c_composite(detail: String) -> Cause {
    Cause::new("FieldValueInvalid", "<nil>", format!("Invalid value: \"\": {detail}"))
}

/// How `ErrorBody` prints a bad value: strings quoted, scalars plain, the rest as JSON.
fn bad_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Number(_) => match num(v) {
            Some(Num::Int(i)) => i.to_string(),
            Some(Num::Float(f)) => go_float_v(f),
            None => "null".to_string(),
        },
        _ => go_json(v),
    }
}

// --- the validator ------------------------------------------------------------------------------

/// One kube-openapi `SchemaValidator.Validate`: type, anyOf/allOf/oneOf/not, string, format,
/// number, array, enum and object validators, in that order, each adding errors.
fn validate_node(schema: &Value, data: &Value, name: &str, depth: usize, root: bool, out: &mut Vec<Cause>) {
    if depth > MAX_DEPTH {
        return;
    }
    let empty = Map::new();
    let s = schema_map(schema).unwrap_or(&empty);
    let types = schema_types(s);
    let nullable = flag(s, "nullable");
    let format = supported_format(s);

    if data.is_null() {
        if !types.is_empty() && !nullable {
            out.push(c_wrong_type(name, &types.join(","), "null"));
        }
        // A null that the schema allows is not held against an enum.
        if !nullable {
            validate_enum(s, data, name, out);
        }
        return;
    }

    validate_type(&types, format, data, name, out);
    validate_composition(s, data, name, depth, root, out);
    if let Value::String(text) = data {
        validate_string(s, text, name, out);
        if let Some(f) = format {
            if !format_ok(f, text) {
                let q = go_quote(text);
                out.push(c_type_invalid(name, &q, &format!("{name} in body must be of type {f}: {q}")));
            }
        }
    }
    if let Some(n) = num(data) {
        validate_number(s, n, name, out);
    }
    if let Value::Array(list) = data {
        validate_array(s, list, name, depth, out);
    }
    validate_enum(s, data, name, out);
    if let Value::Object(obj) = data {
        validate_object(s, obj, name, depth, root, out);
    }
}

/// kube-openapi `typeValidator` for non-null data, including its format quirks.
fn validate_type(types: &[String], format: Option<&str>, data: &Value, name: &str, out: &mut Vec<Cause>) {
    if types.is_empty() && format.is_none() {
        return;
    }
    let sch = data_type(data);
    let contains = |t: &str| types.iter().any(|x| x == t);
    let data_format = match num(data) {
        Some(Num::Int(_)) => "int64",
        Some(Num::Float(_)) => "float64",
        None => "",
    };
    let is_float_int = matches!(num(data), Some(Num::Float(f)) if is_json_integer(f)) && contains("integer");
    let is_int_float = sch == "integer" && contains("number");
    let str_or_slice = data.is_string() || data.is_array();
    if let Some(f) = format {
        if !(str_or_slice || contains(sch) || data_format == f || is_float_int || is_int_float) {
            out.push(c_wrong_type(name, f, data_format));
            return;
        }
        if !(contains("number") || contains("integer")) && str_or_slice {
            return;
        }
    }
    if !(types.is_empty() || contains(sch) || is_float_int || is_int_float) {
        out.push(c_wrong_type(name, &types.join(","), sch));
    }
}

/// anyOf / oneOf / allOf / not. When every branch fails, the first failing branch's errors are
/// reported (kube-openapi picks the branch with the most passed checks; ties go to the first).
fn validate_composition(s: &Map<String, Value>, data: &Value, name: &str, depth: usize, root: bool, out: &mut Vec<Cause>) {
    let branches = |key: &str| s.get(key).and_then(Value::as_array).filter(|a| !a.is_empty());
    let run = |branch: &Value| {
        let mut errs = Vec::new();
        validate_node(branch, data, name, depth + 1, root, &mut errs);
        errs
    };
    if let Some(any) = branches("anyOf") {
        let mut best: Option<Vec<Cause>> = None;
        let mut ok = false;
        for b in any {
            let errs = run(b);
            if errs.is_empty() {
                ok = true;
                break;
            }
            best.get_or_insert(errs);
        }
        if !ok {
            out.push(c_composite(format!("{} must validate at least one schema (anyOf)", go_quote(name))));
            out.extend(best.unwrap_or_default());
        }
    }
    if let Some(one) = branches("oneOf") {
        let mut valid = 0;
        let mut best: Option<Vec<Cause>> = None;
        for b in one {
            let errs = run(b);
            if errs.is_empty() {
                valid += 1;
                best = None;
            } else if valid == 0 && best.is_none() {
                best = Some(errs);
            }
        }
        if valid != 1 {
            let extra = if valid == 0 { "Found none valid".to_string() } else { format!("Found {valid} valid alternatives") };
            out.push(c_composite(format!("{} must validate one and only one schema (oneOf). {extra}", go_quote(name))));
            out.extend(best.unwrap_or_default());
        }
    }
    if let Some(all) = branches("allOf") {
        let mut valid = 0;
        for b in all {
            let errs = run(b);
            if errs.is_empty() {
                valid += 1;
            }
            out.extend(errs);
        }
        if valid != all.len() {
            let extra = if valid == 0 { ". None validated" } else { "" };
            out.push(c_composite(format!("{} must validate all the schemas (allOf){extra}", go_quote(name))));
        }
    }
    if let Some(not) = s.get("not").filter(|n| n.is_object()) {
        if run(not).is_empty() {
            out.push(c_composite(format!("{} must not validate the schema (not)", go_quote(name))));
        }
    }
}

/// maxLength (in characters), minLength, pattern: the first failure only.
fn validate_string(s: &Map<String, Value>, text: &str, name: &str, out: &mut Vec<Cause>) {
    if let Some(max) = i64_of(s, "maxLength") {
        if text.chars().count() as i64 > max {
            out.push(c_too_long(name, max));
            return;
        }
    }
    if let Some(min) = i64_of(s, "minLength") {
        if (text.chars().count() as i64) < min {
            out.push(c_invalid(name, &go_quote(text), &format!("{name} in body should be at least {min} chars long")));
            return;
        }
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str).filter(|p| !p.is_empty()) {
        match pattern_matches(pattern, text) {
            Ok(true) => {}
            Ok(false) => out.push(c_invalid(name, &go_quote(text), &format!("{name} in body should match '{pattern}'"))),
            Err(e) => out.push(c_invalid(
                name,
                &go_quote(text),
                &format!("{name} in body should match '{pattern}, but pattern is invalid: {e}'"),
            )),
        }
    }
}

/// multipleOf, minimum, maximum; integers compare as int64 (bounds truncated) like Go.
fn validate_number(s: &Map<String, Value>, n: Num, name: &str, out: &mut Vec<Cause>) {
    let bad = match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => go_float_v(f),
    };
    if let Some(m) = f64_of(s, "multipleOf") {
        match n {
            Num::Int(i) => {
                let factor = m as i64;
                if factor <= 0 {
                    out.push(c_invalid(name, &factor.to_string(), &format!("factor MultipleOf declared for {name} must be positive: {factor}")));
                } else if i % factor != 0 {
                    out.push(c_invalid(name, &bad, &format!("{name} in body should be a multiple of {factor}")));
                }
            }
            Num::Float(f) => {
                if m <= 0.0 {
                    let fm = go_float_v(m);
                    out.push(c_invalid(name, &fm, &format!("factor MultipleOf declared for {name} must be positive: {fm}")));
                } else {
                    let mult = if m < 1.0 { 1.0 / m * f } else { f / m };
                    if !is_json_integer(mult) {
                        out.push(c_invalid(name, &bad, &format!("{name} in body should be a multiple of {}", go_float_v(m))));
                    }
                }
            }
        }
    }
    if let Some(min) = f64_of(s, "minimum") {
        let exclusive = flag(s, "exclusiveMinimum");
        let (fails, shown) = match n {
            Num::Int(i) => {
                let m = min as i64;
                (if exclusive { i <= m } else { i < m }, m.to_string())
            }
            Num::Float(f) => (if exclusive { f <= min } else { f < min }, go_float_v(min)),
        };
        if fails {
            let rel = if exclusive { "greater than" } else { "greater than or equal to" };
            out.push(c_invalid(name, &bad, &format!("{name} in body should be {rel} {shown}")));
        }
    }
    if let Some(max) = f64_of(s, "maximum") {
        let exclusive = flag(s, "exclusiveMaximum");
        let (fails, shown) = match n {
            Num::Int(i) => {
                let m = max as i64;
                (if exclusive { i >= m } else { i > m }, m.to_string())
            }
            Num::Float(f) => (if exclusive { f >= max } else { f > max }, go_float_v(max)),
        };
        if fails {
            let rel = if exclusive { "less than" } else { "less than or equal to" };
            out.push(c_invalid(name, &bad, &format!("{name} in body should be {rel} {shown}")));
        }
    }
}

/// items (each at `name[i]`), then minItems, maxItems, uniqueItems.
fn validate_array(s: &Map<String, Value>, list: &[Value], name: &str, depth: usize, out: &mut Vec<Cause>) {
    if let Some(item_schema) = s.get("items").filter(|i| i.is_object()) {
        for (i, v) in list.iter().enumerate() {
            validate_node(item_schema, v, &format!("{name}[{i}]"), depth + 1, false, out);
        }
    }
    let size = list.len() as i64;
    if let Some(min) = i64_of(s, "minItems") {
        if size < min {
            out.push(c_invalid(name, &size.to_string(), &format!("{name} in body should have at least {min} items")));
        }
    }
    if let Some(max) = i64_of(s, "maxItems") {
        if size > max {
            out.push(c_too_many(name, size, max));
        }
    }
    if flag(s, "uniqueItems") {
        let dup = list.iter().enumerate().any(|(i, a)| list[..i].iter().any(|b| b == a));
        if dup {
            out.push(c_invalid(name, "\"\"", &format!("{name} in body shouldn't contain duplicates")));
        }
    }
}

/// `enum` → `Unsupported value: "x": supported values: "a", "b"`.
fn validate_enum(s: &Map<String, Value>, data: &Value, name: &str, out: &mut Vec<Cause>) {
    let Some(values) = s.get("enum").and_then(Value::as_array).filter(|a| !a.is_empty()) else { return };
    if values.iter().any(|e| enum_equal(data, e)) {
        return;
    }
    let supported: Vec<String> = values
        .iter()
        .map(|e| match e {
            Value::String(s) => go_quote(s),
            other => go_quote(&go_json(other)),
        })
        .collect();
    out.push(Cause::new(
        "FieldValueNotSupported",
        field_of(name),
        format!("Unsupported value: {}: supported values: {}", bad_value(data), supported.join(", ")),
    ));
}

/// Go converts the data to the enum value's type before comparing; a JSON null in the enum
/// never matches (its Go type is nil).
fn enum_equal(data: &Value, e: &Value) -> bool {
    match (num(data), num(e)) {
        (Some(d), Some(Num::Float(ef))) => {
            let df = match d {
                Num::Int(i) => i as f64,
                Num::Float(f) => f,
            };
            df == ef
        }
        (Some(d), Some(Num::Int(ei))) => {
            let di = match d {
                Num::Int(i) => i,
                Num::Float(f) => f as i64,
            };
            di == ei
        }
        _ => !e.is_null() && data == e,
    }
}

/// min/maxProperties (which stop the object's validation), additionalProperties, properties,
/// required.
fn validate_object(s: &Map<String, Value>, obj: &Map<String, Value>, name: &str, depth: usize, root: bool, out: &mut Vec<Cause>) {
    let count = obj.len() as i64;
    if let Some(min) = i64_of(s, "minProperties") {
        if count < min {
            out.push(c_invalid(name, &count.to_string(), &format!("{name} in body should have at least {min} properties")));
            return;
        }
    }
    if let Some(max) = i64_of(s, "maxProperties") {
        if count > max {
            out.push(c_too_many(name, count, max));
            return;
        }
    }
    let empty = Map::new();
    let properties = props(s).unwrap_or(&empty);
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    match s.get("additionalProperties") {
        Some(Value::Bool(false)) => {
            for k in &keys {
                if !properties.contains_key(k.as_str()) {
                    out.push(c_invalid(name, &go_quote(k), &format!("{name}.{k} in body is a forbidden property")));
                }
            }
        }
        Some(ap @ Value::Object(_)) => {
            for k in &keys {
                if !properties.contains_key(k.as_str()) {
                    validate_node(ap, &obj[k.as_str()], &format!("{name}.{k}"), depth + 1, false, out);
                }
            }
        }
        _ => {}
    }
    let mut pnames: Vec<&String> = properties.keys().collect();
    pnames.sort();
    for p in pnames {
        let Some(v) = obj.get(p.as_str()) else { continue };
        let sub = &properties[p.as_str()];
        if root && p == "metadata" {
            validate_root_metadata(sub, v, depth, out);
            continue;
        }
        validate_node(sub, v, &child_name(name, p), depth + 1, false, out);
    }
    if let Some(required) = s.get("required").and_then(Value::as_array) {
        for k in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(k) {
                out.push(c_required(&format!("{name}.{k}")));
            }
        }
    }
}

/// The root `metadata` is ObjectMeta (validated elsewhere); a CRD schema may only constrain
/// `name` and `generateName`, so only those are checked.
fn validate_root_metadata(schema: &Value, meta: &Value, depth: usize, out: &mut Vec<Cause>) {
    let (Some(s), Some(m)) = (schema_map(schema), meta.as_object()) else { return };
    let Some(p) = props(s) else { return };
    for key in ["generateName", "name"] {
        if let (Some(sub), Some(v)) = (p.get(key), m.get(key)) {
            validate_node(sub, v, &format!("metadata.{key}"), depth + 1, false, out);
        }
    }
}

// --- formats -----------------------------------------------------------------------------------

fn format_ok(format: &str, s: &str) -> bool {
    match format.replace('-', "").as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "uuid" => is_uuid(s, None),
        "uuid3" => is_uuid(s, Some('3')),
        "uuid4" => is_uuid(s, Some('4')),
        "uuid5" => is_uuid(s, Some('5')),
        "byte" => is_base64(s),
        "ipv4" => s.parse::<std::net::IpAddr>().is_ok() && s.contains('.'),
        "ipv6" => s.parse::<std::net::IpAddr>().is_ok() && s.contains(':'),
        "cidr" => is_cidr(s),
        "hexcolor" => {
            let h = s.strip_prefix('#').unwrap_or(s);
            (h.len() == 3 || h.len() == 6) && h.bytes().all(|b| b.is_ascii_hexdigit())
        }
        _ => true,
    }
}

/// strfmt `IsDate`: Go `time.Parse("2006-01-02")`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    match (digits(0..4), digits(5..7), digits(8..10)) {
        (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some(),
        _ => false,
    }
}

/// strfmt `IsDateTime`: a valid date, `t`, then `hh:mm:ss(.frac)?(z|±hh:mm)` (case-insensitive).
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let t = parts[1].as_bytes();
    let two = |i: usize| t.get(i..i + 2).filter(|p| p.iter().all(u8::is_ascii_digit));
    let (Some(h), Some(m), Some(sec)) = (two(0), two(3), two(6)) else { return false };
    if t.get(2) != Some(&b':') || t.get(5) != Some(&b':') {
        return false;
    }
    let mut i = 8;
    // `(.[0-9]+)?`: any one character, then digits.
    if t.len() > i + 1 && t[i] != b'z' && t[i] != b'+' && t[i] != b'-' && t[i + 1].is_ascii_digit() {
        i += 1;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
    }
    let zone = &t[i.min(t.len())..];
    let zone_ok = zone == b"z"
        || (zone.len() == 6
            && (zone[0] == b'+' || zone[0] == b'-')
            && zone[1].is_ascii_digit()
            && zone[2].is_ascii_digit()
            && zone[3] == b':'
            && zone[4].is_ascii_digit()
            && zone[5].is_ascii_digit());
    zone_ok && h <= &b"23"[..] && m <= &b"59"[..] && sec <= &b"59"[..]
}

fn is_uuid(s: &str, version: Option<char>) -> bool {
    let hex: Vec<char> = s.chars().filter(|c| *c != '-').collect();
    // Dashes are optional but only at the canonical positions.
    let canonical_dashes = {
        let b = s.as_bytes();
        let mut pos = 0;
        let mut ok = true;
        for (gi, len) in [8usize, 4, 4, 4, 12].iter().enumerate() {
            if gi > 0 && b.get(pos) == Some(&b'-') {
                pos += 1;
            }
            let Some(group) = b.get(pos..pos + len) else {
                ok = false;
                break;
            };
            if !group.iter().all(u8::is_ascii_hexdigit) {
                ok = false;
                break;
            }
            pos += len;
        }
        ok && pos == b.len()
    };
    if !canonical_dashes || hex.len() != 32 {
        return false;
    }
    match version {
        None => true,
        Some(v) => hex[12] == v && (v == '3' || matches!(hex[16].to_ascii_lowercase(), '8' | '9' | 'a' | 'b')),
    }
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else { return false };
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else { return false };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    !bits.is_empty() && bits.len() <= 3 && bits.bytes().all(|c| c.is_ascii_digit()) && bits.parse::<u32>().is_ok_and(|n| n <= max)
}

/// Go `regexp.MatchString` (RE2, unanchored). Perl classes are rewritten to their ASCII
/// meaning, as in Go. Compiled patterns are cached per thread.
fn pattern_matches(pattern: &str, text: &str) -> Result<bool, String> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Result<regex::Regex, String>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 512 {
            cache.clear();
        }
        let re = cache.entry(pattern.to_string()).or_insert_with(|| {
            regex::RegexBuilder::new(&go_regex(pattern))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| e.to_string().lines().last().unwrap_or("invalid pattern").trim().to_string())
        });
        match re {
            Ok(re) => Ok(re.is_match(text)),
            Err(e) => Err(e.clone()),
        }
    })
}

/// Rewrites `\d \w \s` (and negations) to Go's ASCII-only classes.
fn go_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match (n, in_class) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[0-9A-Za-z_]"),
                    ('W', false) => Some("[^0-9A-Za-z_]"),
                    ('s', false) => Some("[\\t\\n\\f\\r ]"),
                    ('S', false) => Some("[^\\t\\n\\f\\r ]"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("0-9A-Za-z_"),
                    ('s', true) => Some("\\t\\n\\f\\r "),
                    ('D', true) => Some("[:^digit:]"),
                    ('W', true) => Some("[:^word:]"),
                    ('S', true) => Some("[:^space:]"),
                    _ => None,
                };
                match rep {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            // Go takes these literally inside a class; Rust would read nesting or set operators.
            '[' | '&' | '~' if in_class && !(c == '[' && chars.peek() == Some(&':')) => {
                out.push('\\');
                out.push(c);
            }
            '[' if in_class => {
                // POSIX class inside a bracket: copy through its closing `:]`.
                out.push('[');
                let mut prev = '[';
                for n in chars.by_ref() {
                    out.push(n);
                    if prev == ':' && n == ']' {
                        break;
                    }
                    prev = n;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

// --- embedded resources (schema/objectmeta/validation.go) ---------------------------------------

/// A `field.Path`: `Child` joins with `.`, `Index`/`Key` append `[i]`/`[k]`; the nil root
/// prints as nothing.
#[derive(Clone)]
enum FPath {
    Nil,
    Some(String),
}

impl FPath {
    fn child(&self, k: &str) -> FPath {
        match self {
            FPath::Nil => FPath::Some(k.to_string()),
            FPath::Some(p) => FPath::Some(format!("{p}.{k}")),
        }
    }
    fn index(&self, i: usize) -> FPath {
        self.key(&i.to_string())
    }
    fn key(&self, k: &str) -> FPath {
        match self {
            FPath::Nil => FPath::Some(format!("[{k}]")),
            FPath::Some(p) => FPath::Some(format!("{p}[{k}]")),
        }
    }
    fn render(&self) -> String {
        match self {
            FPath::Nil => "<nil>".to_string(),
            FPath::Some(p) => p.clone(),
        }
    }
}

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn validate_embedded(s: Option<&Map<String, Value>>, data: &Value, path: &FPath, depth: usize, out: &mut Vec<Cause>) {
    let Some(s) = s else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match data {
        Value::Object(obj) => {
            let embedded = flag(s, "x-kubernetes-embedded-resource");
            if embedded {
                embedded_resource_causes(obj, path, out);
            }
            let mut keys: Vec<&String> = obj.keys().collect();
            keys.sort();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = props(s).and_then(|p| p.get(k.as_str())) {
                    validate_embedded(schema_map(prop), &obj[k.as_str()], &path.child(k), depth + 1, out);
                } else if let Some(ap) = s.get("additionalProperties") {
                    validate_embedded(schema_map(ap), &obj[k.as_str()], &path.key(k), depth + 1, out);
                }
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                validate_embedded(items(s), v, &path.index(i), depth + 1, out);
            }
        }
        _ => {}
    }
}

/// An embedded object must carry a string `apiVersion` (a valid group/version) and `kind`.
fn embedded_resource_causes(obj: &Map<String, Value>, path: &FPath, out: &mut Vec<Cause>) {
    if !obj.contains_key("apiVersion") {
        out.push(Cause::new("FieldValueRequired", path.child("apiVersion").render(), "Required value: must not be empty"));
    }
    if !obj.contains_key("kind") {
        out.push(Cause::new("FieldValueRequired", path.child("kind").render(), "Required value: must not be empty"));
    }
    if let Some(v) = obj.get("apiVersion") {
        let f = path.child("apiVersion").render();
        match v.as_str() {
            None => out.push(Cause::new("FieldValueInvalid", f, format!("Invalid value: {}: must be a string", bad_value(v)))),
            Some("") => out.push(Cause::new("FieldValueInvalid", f, "Invalid value: \"\": must not be empty")),
            Some(av) if av != "/" && av.matches('/').count() > 1 => out.push(Cause::new(
                "FieldValueInvalid",
                f,
                format!("Invalid value: {}: unexpected GroupVersion string: {av}", go_quote(av)),
            )),
            Some(_) => {}
        }
    }
    if let Some(v) = obj.get("kind") {
        let f = path.child("kind").render();
        match v.as_str() {
            None => out.push(Cause::new("FieldValueInvalid", f, format!("Invalid value: {}: must be a string", bad_value(v)))),
            Some("") => out.push(Cause::new("FieldValueInvalid", f, "Invalid value: \"\": must not be empty")),
            Some(kind) => {
                let errs = dns1035_label_errors(&kind.to_lowercase());
                if !errs.is_empty() {
                    out.push(Cause::new(
                        "FieldValueInvalid",
                        f,
                        format!("Invalid value: {}: may have mixed case, but should otherwise match: {}", go_quote(kind), errs.join(",")),
                    ));
                }
            }
        }
    }
}

fn dns1035_label_errors(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !ok {
        errs.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    errs
}

// --- x-kubernetes-list-type set/map (schema/listtype/validation.go) ------------------------------

fn list_types_object(path: &FPath, s: &Map<String, Value>, obj: &Map<String, Value>, depth: usize, out: &mut Vec<Cause>) {
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

// =============================================================================================
// Defaulting
// =============================================================================================

/// `structuraldefaulting.Default`: fills missing properties (and non-nullable nulls) from
/// `default`, recursively through properties, `additionalProperties` and `items`. A property
/// default is applied and then defaulted itself; like the server, a default that replaces a
/// null array item or map value is not defaulted further.
pub fn default(schema: &Value, obj: &mut Value) {
    default_node(schema_map(schema), obj, 0);
}

fn has_default(s: &Map<String, Value>) -> Option<&Value> {
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

// =============================================================================================
// Pruning
// =============================================================================================

/// Removes fields the schema does not know, as the server does when decoding a custom
/// resource: everything under `x-kubernetes-preserve-unknown-fields: true` is kept, and the
/// root's (and embedded resources') `apiVersion`, `kind` and `metadata` are never touched.
/// Returns the removed paths sorted (`spec.foo`, `spec.items[0].bar`), which the server
/// reports as `unknown field "spec.foo"`. Then, like the server, drops `null` values of
/// non-nullable properties that have no default (those are not reported).
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut removed = Vec::new();
    // The server prunes the root against an empty schema when there is none, still sparing
    // apiVersion/kind/metadata.
    let empty = Map::new();
    prune_node(Some(schema_map(schema).unwrap_or(&empty)), obj, "", true, &mut removed, 0);
    prune_non_nullable_nulls(schema, obj);
    removed.sort();
    removed
}

/// `PruneNonNullableNullsWithoutDefaults`: deletes `"x": null` where the schema of `x` is not
/// nullable and has no default (array items are left alone).
pub fn prune_non_nullable_nulls(schema: &Value, obj: &mut Value) {
    prune_nulls(schema_map(schema), obj, 0);
}

fn key_path(parent: &str, k: &str) -> String {
    if parent.is_empty() {
        k.to_string()
    } else {
        format!("{parent}.{k}")
    }
}

fn prune_node(s: Option<&Map<String, Value>>, x: &mut Value, parent: &str, root: bool, removed: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(s) = s {
        if flag(s, "x-kubernetes-preserve-unknown-fields") {
            skip_prune(s, x, parent, root, removed, depth);
            return;
        }
    }
    match x {
        Value::Object(obj) => {
            let Some(s) = s else {
                removed.extend(obj.keys().map(|k| key_path(parent, k)));
                obj.clear();
                return;
            };
            let embedded = root || flag(s, "x-kubernetes-embedded-resource");
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let child = key_path(parent, &k);
                if let Some(prop) = props(s).and_then(|p| p.get(&k)) {
                    if let Some(v) = obj.get_mut(&k) {
                        prune_node(schema_map(prop), v, &child, false, removed, depth + 1);
                    }
                } else if let Some(ap) = s.get("additionalProperties") {
                    if let Some(v) = obj.get_mut(&k) {
                        prune_node(schema_map(ap), v, &child, false, removed, depth + 1);
                    }
                } else {
                    if !META_FIELDS.contains(&k.as_str()) || !parent.is_empty() {
                        removed.push(child);
                    }
                    obj.remove(&k);
                }
            }
        }
        Value::Array(list) => {
            let item_schema = s.and_then(items);
            for (i, v) in list.iter_mut().enumerate() {
                prune_node(item_schema, v, &format!("{parent}[{i}]"), false, removed, depth + 1);
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: unknown keys stay, known ones are pruned by
/// their own schemas.
fn skip_prune(s: &Map<String, Value>, x: &mut Value, parent: &str, root: bool, removed: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match x {
        Value::Object(obj) => {
            let embedded = root || flag(s, "x-kubernetes-embedded-resource");
            for (k, v) in obj.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let child = key_path(parent, k);
                if let Some(prop) = props(s).and_then(|p| p.get(k)) {
                    prune_node(schema_map(prop), v, &child, false, removed, depth + 1);
                } else if let Some(ap) = s.get("additionalProperties") {
                    prune_node(schema_map(ap), v, &child, false, removed, depth + 1);
                }
            }
        }
        Value::Array(list) => {
            if let Some(is) = items(s) {
                for (i, v) in list.iter_mut().enumerate() {
                    skip_prune(is, v, &format!("{parent}[{i}]"), false, removed, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn prune_nulls(s: Option<&Map<String, Value>>, x: &mut Value, depth: usize) {
    let Some(s) = s else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match x {
        Value::Object(obj) => {
            let ap = s.get("additionalProperties").and_then(Value::as_object);
            let mut drop = Vec::new();
            for (k, v) in obj.iter_mut() {
                let sub = match props(s).and_then(|p| p.get(k)) {
                    Some(prop) => schema_map(prop),
                    None => ap,
                };
                let Some(sub) = sub else { continue };
                if v.is_null() && !flag(sub, "nullable") && has_default(sub).is_none() {
                    drop.push(k.clone());
                } else {
                    prune_nulls(Some(sub), v, depth + 1);
                }
            }
            for k in drop {
                obj.remove(&k);
            }
        }
        Value::Array(list) => {
            for v in list.iter_mut() {
                prune_nulls(items(s), v, depth + 1);
            }
        }
        _ => {}
    }
}

// =============================================================================================
// JSON numbers
// =============================================================================================

/// swag `IsFloat64AJSONInteger`: integral within ±2^53, with a 1e-9 relative tolerance.
fn is_json_integer(f: f64) -> bool {
    const MAX: f64 = 9_007_199_254_740_992.0;
    if !f.is_finite() || !(-MAX..=MAX).contains(&f) {
        return false;
    }
    let fa = f.abs();
    let g = fa.trunc();
    fa == g || (fa > 1e-9 && (fa - g) / fa < 1e-9)
}

#[cfg(test)]
mod tests {
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
}
