//! Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`) for the built-in kinds.
//!
//! client-go's typed clients (every `kubectl create <kind>` generator, helm's release storage,
//! `kubectl auth can-i`, `kubectl create token`) send protobuf bodies and ask for protobuf first.
//! One generic codec serves every built-in kind: it walks the descriptors compiled from
//! Kubernetes' own `.proto` files (`proto/`, see `build.rs`) and maps each message to the JSON the
//! rest of the server stores. Nothing here is written per kind except the few types whose JSON
//! is not their message's shape ([`special`]).
//!
//! The envelope is `k8s\0` followed by a `runtime.Unknown` holding the TypeMeta and the object's
//! message. A watch frame is a 4-byte big-endian length and a `WatchEvent` whose object is itself
//! enveloped.

mod decode;
mod encode;
mod special;
mod unknown;
mod wire;

#[cfg(test)]
mod tests;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
pub const PROTOBUF_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// The envelope's magic prefix.
const MAGIC: &[u8; 4] = b"k8s\0";

const UNKNOWN: &str = "apimachinery.pkg.runtime.Unknown";
const META: &str = "apimachinery.pkg.apis.meta.v1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")]
    NotProtobuf,
    #[error("empty data")]
    Empty,
    #[error("the protobuf envelope is malformed: {0}")]
    Envelope(String),
    #[error("unsupported protobuf content encoding {0:?}")]
    ContentEncoding(String),
    #[error("no protobuf message is known for {api_version}, Kind={kind}")]
    UnknownKind { api_version: String, kind: String },
    #[error("the {kind} message is malformed: {message}")]
    Wire { kind: String, message: String },
    #[error("{path}: {message}")]
    Json { path: String, message: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// The descriptors and the tables that drive encoding and decoding. Built once per process.
pub struct Codec {
    pool: DescriptorPool,
    /// Message → the scalar fields whose zero Go's JSON writes: pointers (where a present zero
    /// means something: `replicas: 0`, `automountServiceAccountToken: false`) and fields without
    /// `omitempty` (`PriorityClass.value: 0`). Derived from the Go types' tags.
    kept_zeros: HashMap<String, HashSet<String>>,
}

impl Codec {
    pub fn get() -> &'static Codec {
        static CODEC: OnceLock<Codec> = OnceLock::new();
        CODEC.get_or_init(|| {
            let bytes: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kubernetes.fds"));
            let pool = DescriptorPool::decode(bytes).expect("build.rs wrote a valid descriptor set");
            let mut kept_zeros: HashMap<String, HashSet<String>> = HashMap::new();
            for (message, field) in include_str!("kept_zeros.txt").lines().filter_map(|l| l.split_once(' ')) {
                kept_zeros.entry(message.to_string()).or_default().insert(field.to_string());
            }
            Codec { pool, kept_zeros }
        })
    }

    /// The message for a kind: `apps/v1` `Deployment` is `api.apps.v1.Deployment`. The generic
    /// meta kinds (`Status`, `DeleteOptions`, ...) are the same message whatever group sent them.
    pub fn message_for(&self, api_version: &str, kind: &str) -> Option<MessageDescriptor> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let package = match group {
            "" => "api.core".to_string(),
            "rbac.authorization.k8s.io" => "api.rbac".to_string(),
            "apiextensions.k8s.io" => "apiextensions_apiserver.pkg.apis.apiextensions".to_string(),
            "meta.k8s.io" => "apimachinery.pkg.apis.meta".to_string(),
            g if g.contains('.') && !g.ends_with(".k8s.io") => return None,
            g => format!("api.{}", g.split('.').next().unwrap_or(g)),
        };
        self.pool
            .get_message_by_name(&format!("{package}.{version}.{kind}"))
            .or_else(|| matches!(kind, "Status" | "DeleteOptions" | "WatchEvent" | "List").then(|| self.message(&format!("{META}.{kind}"))))
            .filter(|m| !m.is_map_entry())
    }

    fn message(&self, name: &str) -> MessageDescriptor {
        self.pool.get_message_by_name(name).unwrap_or_else(|| panic!("the descriptor set has {name}"))
    }

    /// `obj` (an object, a list or a Status, with its `apiVersion` and `kind`) in the envelope.
    pub fn encode(&self, obj: &Value) -> Result<Vec<u8>> {
        let (api_version, kind) = type_meta(obj)?;
        let desc = self.message_for(api_version, kind).ok_or_else(|| Error::UnknownKind { api_version: api_version.into(), kind: kind.into() })?;
        let object = obj.as_object().expect("type_meta checked it is an object");
        let mut raw = Vec::new();
        self.encode_message(&desc, object, &mut raw, &mut String::new())?;
        Ok(wire::envelope(api_version, kind, &raw))
    }

    /// A request body: the object as the JSON the store keeps, `apiVersion` and `kind` included.
    pub fn decode(&self, body: &[u8]) -> Result<Value> {
        if body.is_empty() {
            return Err(Error::Empty);
        }
        let raw = body.strip_prefix(MAGIC.as_slice()).ok_or(Error::NotProtobuf)?;
        let unknown = DynamicMessage::decode(self.message(UNKNOWN), raw).map_err(|e| Error::Envelope(e.to_string()))?;
        let text = |name: &str| unknown.get_field_by_name(name).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let encoding = text("contentEncoding");
        if !encoding.is_empty() {
            return Err(Error::ContentEncoding(encoding));
        }
        let content_type = text("contentType");
        if !content_type.is_empty() && content_type != PROTOBUF {
            return Err(Error::Envelope(format!("unsupported content type {content_type:?}")));
        }
        let type_meta = unknown.get_field_by_name("typeMeta").and_then(|v| v.as_message().cloned());
        let field = |name: &str| type_meta.as_ref().and_then(|m| m.get_field_by_name(name)).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let (api_version, kind) = (field("apiVersion"), field("kind"));
        if kind.is_empty() {
            return Err(Error::Envelope("the envelope names no kind".into()));
        }
        let desc = self.message_for(&api_version, &kind).ok_or_else(|| Error::UnknownKind { api_version: api_version.clone(), kind: kind.clone() })?;
        let payload = unknown.get_field_by_name("raw").and_then(|v| v.as_bytes().cloned()).unwrap_or_default();
        let message = DynamicMessage::decode(desc, payload).map_err(|e| Error::Wire { kind: kind.clone(), message: e.to_string() })?;
        let mut object = Map::new();
        object.insert("apiVersion".into(), Value::String(api_version));
        object.insert("kind".into(), Value::String(kind));
        object.extend(self.message_to_json(&message)?);
        Ok(Value::Object(object))
    }

    /// One watch frame: length, then a `WatchEvent` whose object is enveloped.
    pub fn watch_frame(&self, event_type: &str, obj: &Value) -> Result<Vec<u8>> {
        let object = self.encode(obj)?;
        let mut event = Vec::new();
        wire::put_bytes(&mut event, 1, event_type.as_bytes());
        let mut extension = Vec::new();
        wire::put_bytes(&mut extension, 1, &object);
        wire::put_bytes(&mut event, 2, &extension);
        let mut frame = Vec::with_capacity(event.len() + 4);
        frame.extend_from_slice(&u32::try_from(event.len()).unwrap_or(u32::MAX).to_be_bytes());
        frame.extend_from_slice(&event);
        Ok(frame)
    }
}

fn type_meta(obj: &Value) -> Result<(&str, &str)> {
    let missing = |what: &str| Error::Json { path: what.into(), message: "required to encode an object".into() };
    let api_version = obj.get("apiVersion").and_then(Value::as_str).ok_or_else(|| missing("apiVersion"))?;
    let kind = obj.get("kind").and_then(Value::as_str).ok_or_else(|| missing("kind"))?;
    Ok((api_version, kind))
}
