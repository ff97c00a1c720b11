//! Typed copies of the informers' cached objects, decoded once per cached version.
//!
//! A pass reads the same few compositions and slices again and again between their changes, and
//! decoding a `Value` into a typed object (its `ObjectMeta` above all) cost more than copying
//! the typed object it makes. A cached object is immutable and replaced whole (a new `Arc`)
//! when it changes, so the decode kept for an object's name is good while its `Arc` is the one
//! read.

use crate::runtime::Cached;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The last decode of each cached object of one kind, by namespace and name (nested so a read
/// looks up by `&str` without building a key). Only objects that decode are kept: one that
/// does not is decoded (and warned about) on every read, as before.
pub struct Decoded<T> {
    last: Mutex<BTreeMap<String, BTreeMap<String, (Cached, T)>>>,
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Decoded { last: Mutex::default() }
    }
}

impl<T: DeserializeOwned + Clone> Decoded<T> {
    /// `cached` as `T` (`None`, with a warning, if it does not match its type).
    pub fn typed(&self, cached: Cached) -> Option<T> {
        let meta = &cached["metadata"];
        let (namespace, name) = (meta["namespace"].as_str().unwrap_or_default(), meta["name"].as_str().unwrap_or_default());
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((kept, t)) = last.get(namespace).and_then(|names| names.get(name)) {
            if Arc::ptr_eq(kept, &cached) {
                return Some(t.clone());
            }
        }
        let t = match T::deserialize(&*cached) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "cached object does not match its type; ignoring it");
                return None;
            }
        };
        let (namespace, name) = (namespace.to_string(), name.to_string());
        last.entry(namespace).or_default().insert(name, (cached, t.clone()));
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
    struct Thing {
        metadata: serde_json::Value,
        n: u32,
    }

    fn cached(n: u32) -> Cached {
        Arc::new(json!({"metadata": {"namespace": "ns", "name": "a"}, "n": n}))
    }

    #[test]
    fn a_new_version_is_decoded_again_and_a_bad_one_is_not_kept() {
        let decoded = Decoded::<Thing>::default();
        let first = cached(1);
        assert_eq!(decoded.typed(first.clone()).map(|t| t.n), Some(1));
        assert_eq!(decoded.typed(first).map(|t| t.n), Some(1));
        assert_eq!(decoded.typed(cached(2)).map(|t| t.n), Some(2), "a replaced object is decoded anew");
        assert_eq!(decoded.typed(Arc::new(json!({"metadata": {"namespace": "ns", "name": "a"}, "n": "x"}))), None);
    }
}
