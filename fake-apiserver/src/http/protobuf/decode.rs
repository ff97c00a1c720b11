//! Protobuf → JSON: a decoded message read back as the JSON a Go client would have sent.
//!
//! gogo-protobuf writes every non-pointer scalar, zeros included (`selfLink: ""`, `stdin: false`),
//! where Go's JSON leaves the `omitempty` ones out; the wire cannot tell those zeros from
//! meaningful ones. So a present zero is kept only where Go's JSON would write it
//! (`kept_zeros.txt`: pointers such as `replicas: 0`, and fields without `omitempty` such as
//! `PriorityClass.value: 0`); `workingDir: ""` goes. Anywhere else a zero and an absent field
//! mean the same to the real server.

use super::special::{is_inline, json_key, special, Special};
use super::{Codec, Error, Result, MAGIC};
use base64::Engine as _;
use prost_reflect::{DynamicMessage, FieldDescriptor, MapKey, ReflectMessage as _, Value as Pb};
use serde_json::{Map, Number, Value};

impl Codec {
    pub(super) fn message_to_json(&self, msg: &DynamicMessage) -> Result<Map<String, Value>> {
        let desc = msg.descriptor();
        let mut out = Map::new();
        for (field, value) in msg.fields() {
            if is_inline(desc.full_name(), field.name()) {
                if let Pb::Message(inner) = value {
                    out.extend(self.message_to_json(inner)?);
                }
                continue;
            }
            let key = json_key(desc.full_name(), field.name()).into_owned();
            let json = match value {
                Pb::Map(entries) => {
                    let mut object = Map::new();
                    for (k, v) in entries {
                        let MapKey::String(k) = k else { return Err(Error::Wire { kind: desc.name().into(), message: format!("{key} has a non-string key") }) };
                        object.insert(k.clone(), self.value_to_json(v)?.unwrap_or(Value::Null));
                    }
                    Value::Object(object)
                }
                Pb::List(items) => Value::Array(items.iter().map(|v| self.value_to_json(v).map(|j| j.unwrap_or(Value::Null))).collect::<Result<_>>()?),
                single => {
                    if is_zero(single) && !self.keeps_zero(&field) {
                        continue;
                    }
                    match self.value_to_json(single)? {
                        Some(json) => json,
                        None => continue,
                    }
                }
            };
            out.insert(key, json);
        }
        Ok(out)
    }

    fn keeps_zero(&self, field: &FieldDescriptor) -> bool {
        self.kept_zeros.get(field.parent_message().full_name()).is_some_and(|fields| fields.contains(field.name()))
    }

    /// `None` is Go's `null` (the zero time, an empty raw extension): the field is left out.
    fn value_to_json(&self, value: &Pb) -> Result<Option<Value>> {
        Ok(Some(match value {
            Pb::Bool(b) => Value::Bool(*b),
            Pb::I32(n) => Value::from(*n),
            Pb::I64(n) => Value::from(*n),
            Pb::U32(n) => Value::from(*n),
            Pb::U64(n) => Value::from(*n),
            Pb::F32(f) => float(f64::from(*f)),
            Pb::F64(f) => float(*f),
            Pb::String(s) => Value::String(s.clone()),
            Pb::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Pb::EnumNumber(n) => Value::from(*n),
            Pb::Message(m) => match special(m.descriptor().full_name()) {
                Some(s) => return self.special_to_json(s, m),
                None => Value::Object(self.message_to_json(m)?),
            },
            Pb::List(_) | Pb::Map(_) => unreachable!("repeated fields are handled by the caller"),
        }))
    }

    fn special_to_json(&self, kind: Special, msg: &DynamicMessage) -> Result<Option<Value>> {
        let get = |name: &str| msg.get_field_by_name(name).map(|v| v.into_owned());
        let is_set = |name: &str| msg.has_field_by_name(name);
        let bytes = |name: &str| get(name).and_then(|v| v.as_bytes().cloned()).unwrap_or_default();
        let json = |raw: &[u8]| -> Result<Option<Value>> {
            if raw.is_empty() {
                return Ok(None);
            }
            if raw.starts_with(MAGIC) {
                return self.decode(raw).map(Some);
            }
            serde_json::from_slice(raw).map(Some).map_err(|e| Error::Wire { kind: msg.descriptor().name().into(), message: format!("invalid embedded JSON: {e}") })
        };
        let schema = || -> Result<Option<Value>> {
            match get("schema") {
                Some(Pb::Message(m)) if is_set("schema") => Ok(Some(Value::Object(self.message_to_json(&m)?))),
                _ => Ok(None),
            }
        };
        Ok(match kind {
            Special::Time | Special::MicroTime => {
                // An empty Time is Go's zero time, which JSON writes as null.
                if msg.fields().next().is_none() {
                    return Ok(None);
                }
                let seconds = get("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
                let nanos = if kind == Special::MicroTime { get("nanos").and_then(|v| v.as_i32()).unwrap_or(0) / 1000 * 1000 } else { 0 };
                let time = chrono::DateTime::from_timestamp(seconds, nanos.max(0) as u32)
                    .ok_or_else(|| Error::Wire { kind: msg.descriptor().name().into(), message: format!("{seconds} seconds is out of range") })?;
                let format = if kind == Special::MicroTime { "%Y-%m-%dT%H:%M:%S%.6fZ" } else { "%Y-%m-%dT%H:%M:%SZ" };
                Some(Value::String(time.format(format).to_string()))
            }
            Special::IntOrString => Some(if get("type").and_then(|v| v.as_i64()) == Some(1) {
                Value::String(get("strVal").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
            } else {
                Value::from(get("intVal").and_then(|v| v.as_i32()).unwrap_or(0))
            }),
            Special::Quantity => Some(Value::String(get("string").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())),
            Special::RawExtension | Special::Json => json(&bytes("raw"))?,
            Special::FieldsV1 => json(&bytes("Raw"))?,
            Special::SchemaOrArray => match schema()? {
                Some(s) => Some(s),
                None => Some(Value::Array(match get("jSONSchemas") {
                    Some(Pb::List(items)) => items.iter().map(|i| self.value_to_json(i).map(|j| j.unwrap_or(Value::Null))).collect::<Result<_>>()?,
                    _ => Vec::new(),
                })),
            },
            Special::SchemaOrBool => match schema()? {
                Some(s) => Some(s),
                None => Some(Value::Bool(get("allows").and_then(|v| v.as_bool()).unwrap_or(false))),
            },
            Special::SchemaOrStringArray => match schema()? {
                Some(s) => Some(s),
                None => Some(strings(get("property"))),
            },
            Special::StringList => Some(strings(get("items"))),
        })
    }
}

fn strings(list: Option<Pb>) -> Value {
    match list {
        Some(Pb::List(items)) => Value::Array(items.iter().filter_map(|v| v.as_str().map(|s| Value::String(s.to_string()))).collect()),
        _ => Value::Array(Vec::new()),
    }
}

/// As Go's JSON writes a float64: `1`, not `1.0`.
fn float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn is_zero(v: &Pb) -> bool {
    match v {
        Pb::Bool(b) => !b,
        Pb::I32(n) => *n == 0,
        Pb::I64(n) => *n == 0,
        Pb::U32(n) => *n == 0,
        Pb::U64(n) => *n == 0,
        Pb::F32(f) => *f == 0.0,
        Pb::F64(f) => *f == 0.0,
        Pb::String(s) => s.is_empty(),
        Pb::Bytes(b) => b.is_empty(),
        Pb::EnumNumber(n) => *n == 0,
        Pb::Message(_) | Pb::List(_) | Pb::Map(_) => false,
    }
}
