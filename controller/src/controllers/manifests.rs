//! Slice manifests parsed once while they are in use, not on every pass.
//!
//! A resource's pass looks up its manifest, and orders itself against every other manifest of
//! its synthesis, in the cached slices: parsing each manifest's JSON text on each of those
//! reads made a synthesis of n resources cost n² parses per round of passes. A manifest's text
//! is all its parse depends on, so parses are kept by text.

use crate::api::Manifest;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Parses kept before the first sweep of those no longer read.
const FIRST_SWEEP: usize = 256;

#[derive(Default)]
pub struct ParsedManifests {
    memo: Mutex<Memo>,
}

#[derive(Default)]
struct Memo {
    /// Each parse, and whether it was read since the last sweep.
    by_text: BTreeMap<String, (Arc<Value>, bool)>,
    /// Size at which parses not read since the last sweep are dropped (manifests of syntheses
    /// gone would otherwise stay for the replica's lifetime); 0 until the first.
    sweep_at: usize,
}

impl ParsedManifests {
    /// The manifest's object (`None` if its text does not parse; not kept, so such a manifest
    /// is parsed again on every read, as before).
    pub fn object(&self, manifest: &Manifest) -> Option<Arc<Value>> {
        let lock = || self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((parsed, read)) = lock().by_text.get_mut(manifest.manifest.as_str()) {
            *read = true;
            return Some(parsed.clone());
        }
        // Parsed without the lock, so that workers on other threads do not queue behind it.
        let parsed = Arc::new(manifest.object().ok()?);
        let mut memo = lock();
        memo.by_text.insert(manifest.manifest.clone(), (parsed.clone(), true));
        if memo.by_text.len() >= memo.sweep_at.max(FIRST_SWEEP) {
            memo.sweep();
        }
        Some(parsed)
    }
}

impl Memo {
    /// Keeps the parses read since the last sweep; the next sweep comes once the memo has
    /// doubled, so sweeping costs a constant per parse.
    fn sweep(&mut self) {
        self.by_text.retain(|_, (_, read)| std::mem::take(read));
        self.sweep_at = 2 * self.by_text.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str) -> Manifest {
        Manifest { manifest: format!(r#"{{"kind":"ConfigMap","metadata":{{"name":"{name}"}}}}"#), deleted: false }
    }

    #[test]
    fn a_manifest_is_parsed_once_and_dropped_once_unread() {
        let parsed = ParsedManifests::default();
        let a = parsed.object(&manifest("a")).unwrap();
        assert!(Arc::ptr_eq(&a, &parsed.object(&manifest("a")).unwrap()), "the same parse is read again");
        assert_eq!(a["metadata"]["name"], "a");
        assert!(parsed.object(&Manifest { manifest: "{".into(), deleted: false }).is_none());
        for i in 0..FIRST_SWEEP {
            parsed.object(&manifest(&i.to_string()));
        }
        // The sweep at FIRST_SWEEP parses kept those read since the start (all of them); the
        // next one drops those not read again.
        for i in 0..FIRST_SWEEP + 1 {
            parsed.object(&manifest(&format!("other-{i}")));
        }
        let memo = parsed.memo.lock().unwrap();
        assert!(!memo.by_text.contains_key(manifest("a").manifest.as_str()), "an unread parse goes");
    }
}
