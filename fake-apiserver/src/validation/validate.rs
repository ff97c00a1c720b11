//! Schema validation proper: kube-openapi's validators over a CRD schema and the causes
//! `kubeOpenAPIResultToFieldErrors` builds from their results, followed by the
//! embedded-resource and list-type checks.

use serde_json::{Map, Value};

use super::embedded::validate_embedded;
use super::formats::format_ok;
use super::list_types::list_types_object;
use super::pattern::pattern_matches;
use super::{flag, props, schema_map, Cause, FPath, MAX_DEPTH};
use apimachinery::gofmt::{go_float_v, go_json, go_quote};

/// Validates `obj` against the CRD schema. Returns the causes the server would put in a 422
/// `Invalid` status, in order: schema errors (kube-openapi), embedded-resource errors
/// (`apiVersion`/`kind` of `x-kubernetes-embedded-resource` objects), then duplicate errors
/// for `x-kubernetes-list-type: set|map` lists. Run [`prune`](super::prune) and [`default`](super::default) first, as the
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
pub(super) enum Num {
    Int(i64),
    Float(f64),
}

pub(super) fn num(v: &Value) -> Option<Num> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i))
    } else {
        n.as_f64().map(Num::Float)
    }
}

fn f64_of(s: &Map<String, Value>, key: &str) -> Option<f64> {
    s.get(key).and_then(Value::as_f64)
}

fn i64_of(s: &Map<String, Value>, key: &str) -> Option<i64> {
    let v = s.get(key)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// `type`, widened to `integer,string` by `x-kubernetes-int-or-string` as the server's
/// schema conversion does: the type names borrowed from the schema (validating a node
/// allocates nothing for them).
enum Types<'a> {
    None,
    IntOrString,
    One(&'a str),
    /// The string members of a `type` list.
    List(&'a [Value]),
}

impl Types<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Types::None => true,
            Types::IntOrString | Types::One(_) => false,
            Types::List(a) => !a.iter().any(Value::is_string),
        }
    }

    fn contains(&self, t: &str) -> bool {
        match self {
            Types::None => false,
            Types::IntOrString => t == "integer" || t == "string",
            Types::One(x) => *x == t,
            Types::List(a) => a.iter().any(|v| v.as_str() == Some(t)),
        }
    }

    /// The names joined with `,`.
    fn join(&self) -> String {
        match self {
            Types::None => String::new(),
            Types::IntOrString => "integer,string".to_string(),
            Types::One(x) => x.to_string(),
            Types::List(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
        }
    }
}

fn schema_types(s: &Map<String, Value>) -> Types<'_> {
    if flag(s, "x-kubernetes-int-or-string") {
        return Types::IntOrString;
    }
    match s.get("type") {
        Some(Value::String(t)) if !t.is_empty() => Types::One(t),
        Some(Value::Array(a)) => Types::List(a),
        _ => Types::None,
    }
}

/// Formats that survive `StripUnsupportedFormatsPostProcess` (others are dropped, i.e. the
/// server ignores `int32`, `int64`, `float`, ... entirely).
fn supported_format(s: &Map<String, Value>) -> Option<&str> {
    let f = s.get("format")?.as_str()?;
    let normalized = if f.contains('-') { std::borrow::Cow::Owned(f.replace('-', "")) } else { std::borrow::Cow::Borrowed(f) };
    const SUPPORTED: &[&str] = &[
        "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4", "uuid5", "isbn",
        "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password", "date", "duration", "datetime",
    ];
    SUPPORTED.contains(&&*normalized).then_some(f)
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
pub(super) fn bad_value(v: &Value) -> String {
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
            out.push(c_wrong_type(name, &types.join(), "null"));
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
fn validate_type(types: &Types, format: Option<&str>, data: &Value, name: &str, out: &mut Vec<Cause>) {
    if types.is_empty() && format.is_none() {
        return;
    }
    let sch = data_type(data);
    let contains = |t: &str| types.contains(t);
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
        out.push(c_wrong_type(name, &types.join(), sch));
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
    // A `Map` iterates its keys sorted.
    match s.get("additionalProperties") {
        Some(Value::Bool(false)) => {
            for k in obj.keys() {
                if !properties.contains_key(k.as_str()) {
                    out.push(c_invalid(name, &go_quote(k), &format!("{name}.{k} in body is a forbidden property")));
                }
            }
        }
        Some(ap @ Value::Object(_)) => {
            for k in obj.keys() {
                if !properties.contains_key(k.as_str()) {
                    validate_node(ap, &obj[k.as_str()], &format!("{name}.{k}"), depth + 1, false, out);
                }
            }
        }
        _ => {}
    }
    for p in properties.keys() {
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
