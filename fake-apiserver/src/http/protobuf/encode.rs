//! JSON → protobuf: the stored object written field by field in ascending field number (as
//! gogo-protobuf writes it), maps in key order, so the same object always gives the same bytes.

use super::special::{is_inline, json_key, special, Special};
use super::wire::{self, put_bytes, put_key, put_varint};
use super::{Codec, Error, Result};
use base64::Engine as _;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

impl Codec {
    pub(super) fn encode_message(&self, desc: &MessageDescriptor, obj: &Map<String, Value>, out: &mut Vec<u8>, path: &mut String) -> Result<()> {
        let mut fields: Vec<FieldDescriptor> = desc.fields().collect();
        fields.sort_by_key(FieldDescriptor::number);
        for field in fields {
            if is_inline(desc.full_name(), field.name()) {
                let Kind::Message(inner) = field.kind() else { continue };
                let gathered: Map<String, Value> = obj
                    .iter()
                    .filter(|(k, _)| inner.fields().any(|f| json_key(inner.full_name(), f.name()) == k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !gathered.is_empty() {
                    let mut body = Vec::new();
                    self.encode_message(&inner, &gathered, &mut body, path)?;
                    put_bytes(out, field.number(), &body);
                }
                continue;
            }
            let key = json_key(desc.full_name(), field.name());
            let Some(value) = obj.get(key.as_ref()).filter(|v| !v.is_null()) else { continue };
            let len = path.len();
            path.push('.');
            path.push_str(&key);
            self.encode_field(&field, value, out, path)?;
            path.truncate(len);
        }
        Ok(())
    }

    fn encode_field(&self, field: &FieldDescriptor, value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<()> {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else { unreachable!("a map field's kind is its entry message") };
            let entries = value.as_object().ok_or_else(|| mismatch(path, "an object"))?;
            for (k, v) in entries {
                let mut body = Vec::new();
                put_bytes(&mut body, 1, k.as_bytes());
                if !v.is_null() {
                    self.encode_single(&entry.map_entry_value_field(), v, &mut body, path)?;
                }
                put_bytes(out, field.number(), &body);
            }
        } else if field.is_list() {
            let items = value.as_array().ok_or_else(|| mismatch(path, "an array"))?;
            for item in items {
                self.encode_single(field, item, out, path)?;
            }
        } else {
            self.encode_single(field, value, out, path)?;
        }
        Ok(())
    }

    /// One value of a field (an element, for a repeated field), key included.
    fn encode_single(&self, field: &FieldDescriptor, value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<()> {
        let n = field.number();
        match field.kind() {
            Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 => {
                put_key(out, n, wire::VARINT);
                put_varint(out, integer(value).ok_or_else(|| mismatch(path, "an integer"))? as u64);
            }
            Kind::Bool => {
                put_key(out, n, wire::VARINT);
                put_varint(out, u64::from(value.as_bool().ok_or_else(|| mismatch(path, "a boolean"))?));
            }
            Kind::Double => {
                put_key(out, n, wire::FIXED64);
                out.extend_from_slice(&value.as_f64().ok_or_else(|| mismatch(path, "a number"))?.to_le_bytes());
            }
            Kind::Float => {
                put_key(out, n, wire::FIXED32);
                out.extend_from_slice(&(value.as_f64().ok_or_else(|| mismatch(path, "a number"))? as f32).to_le_bytes());
            }
            Kind::String => put_bytes(out, n, value.as_str().ok_or_else(|| mismatch(path, "a string"))?.as_bytes()),
            Kind::Bytes => {
                let text = value.as_str().ok_or_else(|| mismatch(path, "a base64 string"))?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| Error::Json { path: path.clone(), message: format!("illegal base64 data: {e}") })?;
                put_bytes(out, n, &bytes);
            }
            Kind::Message(desc) => {
                let mut body = Vec::new();
                match special(desc.full_name()) {
                    Some(kind) => self.encode_special(kind, &desc, value, &mut body, path)?,
                    None => self.encode_message(&desc, value.as_object().ok_or_else(|| mismatch(path, "an object"))?, &mut body, path)?,
                }
                put_bytes(out, n, &body);
            }
            other => return Err(Error::Json { path: path.clone(), message: format!("fields of protobuf kind {other:?} are not served") }),
        }
        Ok(())
    }

    fn encode_special(&self, kind: Special, desc: &MessageDescriptor, value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<()> {
        let schema = || desc.get_field_by_name("schema").expect("the schema-or-X messages have a schema field");
        match kind {
            Special::Time | Special::MicroTime => {
                let text = value.as_str().ok_or_else(|| mismatch(path, "an RFC 3339 time"))?;
                let time = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| Error::Json { path: path.clone(), message: format!("{text:?} is not an RFC 3339 time: {e}") })?;
                put_key(out, 1, wire::VARINT);
                put_varint(out, time.timestamp() as u64);
                // Time keeps whole seconds only, as Go's Time does in JSON and protobuf alike.
                let nanos = if kind == Special::MicroTime { time.timestamp_subsec_micros() * 1000 } else { 0 };
                put_key(out, 2, wire::VARINT);
                put_varint(out, u64::from(nanos));
            }
            Special::IntOrString => {
                let (type_, int, text) = match value {
                    Value::String(s) => (1, 0, s.as_str()),
                    v => (0, integer(v).ok_or_else(|| mismatch(path, "an integer or a string"))?, ""),
                };
                put_key(out, 1, wire::VARINT);
                put_varint(out, type_);
                put_key(out, 2, wire::VARINT);
                put_varint(out, int as u64);
                put_bytes(out, 3, text.as_bytes());
            }
            Special::Quantity => match value {
                Value::String(s) => put_bytes(out, 1, s.as_bytes()),
                Value::Number(n) => put_bytes(out, 1, n.to_string().as_bytes()),
                _ => return Err(mismatch(path, "a quantity")),
            },
            Special::RawExtension | Special::FieldsV1 | Special::Json => put_bytes(out, 1, &serde_json::to_vec(value).expect("JSON values serialize")),
            Special::SchemaOrArray => match value {
                Value::Array(items) => {
                    let items_field = desc.get_field_by_name("jSONSchemas").expect("JSONSchemaPropsOrArray has jSONSchemas");
                    for item in items {
                        self.encode_single(&items_field, item, out, path)?;
                    }
                }
                v => self.encode_single(&schema(), v, out, path)?,
            },
            Special::SchemaOrBool => match value {
                Value::Bool(b) => {
                    put_key(out, 1, wire::VARINT);
                    put_varint(out, u64::from(*b));
                }
                v => {
                    put_key(out, 1, wire::VARINT);
                    put_varint(out, 1);
                    self.encode_single(&schema(), v, out, path)?;
                }
            },
            Special::SchemaOrStringArray => match value {
                Value::Array(items) => {
                    for item in items {
                        put_bytes(out, 2, item.as_str().ok_or_else(|| mismatch(path, "an array of strings"))?.as_bytes());
                    }
                }
                v => self.encode_single(&schema(), v, out, path)?,
            },
            Special::StringList => {
                for item in value.as_array().ok_or_else(|| mismatch(path, "an array of strings"))? {
                    put_bytes(out, 1, item.as_str().ok_or_else(|| mismatch(path, "an array of strings"))?.as_bytes());
                }
            }
        }
        Ok(())
    }
}

/// A JSON integer as protobuf varints carry it (negative numbers sign-extended to 64 bits).
fn integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)).or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

fn mismatch(path: &str, expected: &str) -> Error {
    Error::Json { path: path.to_string(), message: format!("expected {expected}") }
}
