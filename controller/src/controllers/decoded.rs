//! Typed copies of the informers' cached objects, decoded once per cached version.
//!
//! A pass reads the same few compositions and slices again and again between their changes, and
//! decoding a `Value` into a typed object (its `ObjectMeta` above all) cost more than copying
//! the typed object it makes. A cached object is immutable and replaced whole (a new `Arc`)
//! when it changes, so the decode kept for an object's name is good while its `Arc` is the one
//! read.

use crate::runtime::Cached;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

/// Entries kept before the first sweep of those the informer has let go.
const FIRST_SWEEP: usize = 64;

/// The last decode of each cached object of one kind, by namespace and name (nested so a read
/// looks up by `&str` without building a key). Only objects that decode are kept: one that
/// does not is decoded (and warned about) on every read, as before.
pub struct Decoded<T> {
    last: Mutex<Last<T>>,
}

struct Last<T> {
    /// Each decode beside the cached object it came from, held weakly: the informer's copy
    /// alone decides how long an object lives, and a weak reference keeps its allocation (so
    /// its address cannot be reused by a newer object while the entry remains).
    by_name: BTreeMap<String, BTreeMap<String, (Weak<Value>, Arc<T>)>>,
    len: usize,
    /// Entry count at which the entries of objects the informer dropped are swept out
    /// (deleted objects would otherwise stay for the replica's lifetime).
    sweep_at: usize,
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Decoded { last: Mutex::new(Last { by_name: BTreeMap::new(), len: 0, sweep_at: FIRST_SWEEP }) }
    }
}

impl<T: DeserializeOwned> Decoded<T> {
    /// `cached` as `T` (`None`, with a warning, if it does not match its type), shared: a pass
    /// that only reads it copies nothing.
    pub fn typed(&self, cached: Cached) -> Option<Arc<T>> {
        let meta = &cached["metadata"];
        let (namespace, name) = (meta["namespace"].as_str().unwrap_or_default(), meta["name"].as_str().unwrap_or_default());
        let lock = || self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((kept, t)) = lock().by_name.get(namespace).and_then(|names| names.get(name)) {
            if std::ptr::eq(kept.as_ptr(), &*cached) {
                return Some(t.clone());
            }
        }
        // Decoded without the lock, so that workers on other threads do not queue behind it; a
        // decode made twice at once is kept once.
        let t = match T::deserialize(&*cached) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                tracing::warn!(error = %e, "cached object does not match its type; ignoring it");
                return None;
            }
        };
        lock().insert(namespace, name, Arc::downgrade(&cached), t.clone());
        Some(t)
    }
}

impl<T> Last<T> {
    fn insert(&mut self, namespace: &str, name: &str, cached: Weak<Value>, t: Arc<T>) {
        let names = self.by_name.entry(namespace.to_string()).or_default();
        if names.insert(name.to_string(), (cached, t)).is_none() {
            self.len += 1;
        }
        if self.len >= self.sweep_at {
            self.sweep();
        }
    }

    /// Drops the entries of objects no longer cached; the next sweep comes once the live ones
    /// have doubled, so sweeping costs a constant per insert.
    fn sweep(&mut self) {
        for names in self.by_name.values_mut() {
            names.retain(|_, (cached, _)| cached.strong_count() > 0);
        }
        self.by_name.retain(|_, names| !names.is_empty());
        self.len = self.by_name.values().map(BTreeMap::len).sum();
        self.sweep_at = (2 * self.len).max(FIRST_SWEEP);
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

    #[test]
    fn objects_the_informer_let_go_are_swept_out() {
        let decoded = Decoded::<Thing>::default();
        let live: Vec<Cached> = (0..10).map(|i| Arc::new(json!({"metadata": {"namespace": "ns", "name": format!("live-{i}")}, "n": i}))).collect();
        for c in &live {
            decoded.typed(c.clone());
        }
        for i in 0..FIRST_SWEEP {
            decoded.typed(Arc::new(json!({"metadata": {"namespace": "gone", "name": format!("{i}")}, "n": 0})));
        }
        let last = decoded.last.lock().unwrap();
        assert!(last.len < FIRST_SWEEP, "the objects dropped before the sweep went: {} left", last.len);
        assert_eq!(last.by_name["ns"].len(), 10, "the live objects stay");
    }
}
