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
//!
//! One module per pass: [`validate()`] (with the string `formats`, Go `pattern`s, embedded
//! resources and list types it checks), [`default()`] and [`prune()`].

mod defaulting;
mod embedded;
mod formats;
mod list_types;
mod pattern;
mod pruning;
mod validate;

#[cfg(test)]
mod tests;

use apimachinery::gofmt::go_quote;
use serde_json::{Map, Value};

pub use defaulting::default;
pub use pruning::{prune, prune_non_nullable_nulls};
pub use validate::validate;

/// One `details.causes` entry of a 422 (the same type the server's errors carry).
pub use crate::error::Cause;

/// How the server words an unknown field it pruned (strict error / warning text).
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field {}", go_quote(path))
}

/// Recursion guard: objects nested deeper than this are left alone (not validated, defaulted
/// or pruned further) instead of risking the stack. Real objects are far shallower.
const MAX_DEPTH: usize = 256;

// Schema accessors every pass uses.

fn schema_map(s: &Value) -> Option<&Map<String, Value>> {
    s.as_object()
}

fn flag(s: &Map<String, Value>, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn props(s: &Map<String, Value>) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

fn items(s: &Map<String, Value>) -> Option<&Map<String, Value>> {
    s.get("items").and_then(Value::as_object)
}

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
