//! At-most-once annotations: of the compositions one symphony controls (deleting ones
//! included: they still act on their annotations until gone), at most one holds each exclusive
//! annotation key at any committed state. Kept incrementally: each composition event moves only
//! that composition in or out of the holder sets.

use super::{Found, Invariant};
use crate::reading;
use fake_apiserver::store::ObjectKey;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Holders {
    /// The exclusive keys the scenario's symphonies move between variations.
    keys: BTreeSet<String>,
    /// For each (symphony uid, key): the compositions holding it, `namespace/name`.
    holders: BTreeMap<(String, String), BTreeSet<String>>,
}

impl Holders {
    pub fn new(keys: BTreeSet<String>) -> Self {
        Holders { keys, holders: BTreeMap::new() }
    }

    /// Composition `key` now is `object` (`None`: it is gone). Reports every key of its symphony
    /// that more than one composition holds afterwards because of this change.
    pub fn composition_changed(&mut self, key: &ObjectKey, object: Option<&Value>) -> Found {
        if self.keys.is_empty() {
            return Vec::new();
        }
        let name = format!("{}/{}", key.namespace, key.name);
        for holders in self.holders.values_mut() {
            holders.remove(&name);
        }
        let Some((symphony, symphony_name)) = object.and_then(reading::owner_symphony) else { return Vec::new() };
        let held: Vec<String> = self.keys.iter().filter(|k| object.is_some_and(|o| reading::holds_annotation(o, k))).cloned().collect();
        let mut found = Vec::new();
        for annotation in held {
            let holders = self.holders.entry((symphony.to_string(), annotation.clone())).or_default();
            holders.insert(name.clone());
            if holders.len() > 1 {
                let all: Vec<&str> = holders.iter().map(String::as_str).collect();
                found.push((Invariant::AtMostOnceAnnotation, format!("compositions {} of symphony {symphony_name} all hold annotation {annotation}", all.join(", "))));
            }
        }
        found
    }
}
