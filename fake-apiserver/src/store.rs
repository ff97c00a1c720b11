//! Objects, the global revision and the event log: the etcd-like heart of the server.
//!
//! Every committed write gets the next revision; an object's `resourceVersion` is the revision
//! of its last write. The log keeps each event's previous object, so the state at any revision
//! above the compaction floor can be rebuilt (stale reads) and watches can replay from there.

use crate::frozen::Frozen;
use crate::resource::StorageKey;
use apimachinery::managed_fields::{decode_managed_fields_list, ManagedEntry};
use apimachinery::selector::LabelDigest;
use apimachinery::view::JsonView;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// Where one object lives: group/resource, namespace (`""` for cluster-scoped), name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub resource: StorageKey,
    pub namespace: String,
    pub name: String,
}

/// One committed change. `object` is the state after (for DELETED: the last state, stamped
/// with the deletion revision); `previous` the state before (None for ADDED). Both are shared
/// with the store, never copies.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub revision: u64,
    pub event_type: EventType,
    pub key: ObjectKey,
    pub object: Arc<Frozen>,
    pub previous: Option<Arc<Frozen>>,
}

/// A stored object and the digest of its labels, side by side in the map: a selective list
/// rules most objects out by the digest alone, without reading the objects' memory. Whether it
/// is being deleted or has owners is kept alike, for the garbage collector's passes over every
/// object. Its managedFields are kept parsed too, once a write has them (or needs them): the
/// next write starts from them instead of decoding the JSON again.
#[derive(Debug, Clone)]
struct Stored {
    object: Arc<Frozen>,
    labels: LabelDigest,
    deleting: bool,
    owned: bool,
    managed: OnceLock<Arc<Vec<ManagedEntry>>>,
}

impl Stored {
    fn new(object: Arc<Frozen>) -> Self {
        let labels = object.path(["metadata", "labels"]).and_then(|l| match l {
            Frozen::Object(entries) => Some(LabelDigest::of(entries.iter().filter_map(|(k, v)| Some((&**k, v.as_str()?))))),
            _ => None,
        });
        let deleting = crate::object::is_deleting(&*object);
        let owned = object.path(["metadata", "ownerReferences"]).is_some_and(|refs| !refs.elements().is_empty());
        Stored { object, labels: labels.unwrap_or_default(), deleting, owned, managed: OnceLock::new() }
    }

    /// The object's managedFields entries, decoded as `decode_managed_fields` decodes them
    /// (none when they do not decode).
    fn managed(&self) -> &Arc<Vec<ManagedEntry>> {
        self.managed.get_or_init(|| {
            let mf = self.object.path(["metadata", "managedFields"]).map(Frozen::to_value);
            Arc::new(decode_managed_fields_list(mf.as_ref()).unwrap_or_default())
        })
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    /// Frozen and shared with the event log and list results: a write stores its object once,
    /// compactly, not once per holder.
    objects: BTreeMap<ObjectKey, Stored>,
    revision: u64,
    log: VecDeque<Event>,
    /// Events at or below this revision are gone; watching from below it gets 410 Expired.
    floor: u64,
    /// The log keeps at most this many events; older ones are compacted away.
    capacity: usize,
}

impl Store {
    pub fn new(capacity: usize) -> Self {
        Store { objects: BTreeMap::new(), revision: 1, log: VecDeque::new(), floor: 1, capacity: capacity.max(1) }
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn floor(&self) -> u64 {
        self.floor
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Frozen> {
        self.objects.get(key).map(|v| &*v.object)
    }

    /// The managedFields entries of a stored object, parsed (see [`Store::put_managed`]).
    pub fn managed_entries(&self, key: &ObjectKey) -> Option<&[ManagedEntry]> {
        self.objects.get(key).map(|v| v.managed().as_slice())
    }

    /// The objects of one resource (optionally one namespace), in key order: a key range, so
    /// no key outside it is compared.
    fn of_resource(&self, resource: &StorageKey, namespace: Option<&str>) -> std::collections::btree_map::Range<'_, ObjectKey, Stored> {
        // Names hold no NUL, so appending one gives the first key past the namespace (or, for
        // every namespace, past the resource).
        let end = match namespace {
            Some(ns) => ObjectKey { resource: resource.clone(), namespace: format!("{ns}\0"), name: String::new() },
            None => ObjectKey { resource: StorageKey { group: resource.group.clone(), plural: format!("{}\0", resource.plural) }, namespace: String::new(), name: String::new() },
        };
        self.objects.range(range_start(resource, namespace)..end)
    }

    /// Commits a create or update: stamps the next revision into `metadata.resourceVersion`.
    /// Returns the object as stored.
    pub fn put(&mut self, key: ObjectKey, object: Value) -> Value {
        self.put_managed(key, object, None)
    }

    /// [`Store::put`] of an object whose managedFields are `managed`, already parsed (exactly
    /// what decoding them gives).
    pub fn put_managed(&mut self, key: ObjectKey, mut object: Value, managed: Option<Vec<ManagedEntry>>) -> Value {
        self.revision += 1;
        crate::object::set_meta(&mut object, "resourceVersion", Value::String(self.revision.to_string()));
        let frozen = Arc::new(Frozen::from(&object));
        let stored = Stored::new(frozen.clone());
        if let Some(m) = managed {
            debug_assert_eq!(
                m,
                decode_managed_fields_list(crate::object::meta(&object).and_then(|m| m.get("managedFields"))).unwrap_or_default(),
                "the parsed managedFields kept are what the stored ones decode to"
            );
            let _ = stored.managed.set(Arc::new(m));
        }
        let previous = self.objects.insert(key.clone(), stored).map(|s| s.object);
        let event_type = if previous.is_some() { EventType::Modified } else { EventType::Added };
        self.append(Event { revision: self.revision, event_type, key, object: frozen, previous });
        object
    }

    /// Commits a removal. The DELETED event carries the last state at the new revision.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        let last = self.objects.get(key)?.object.to_value();
        self.remove_as(key, last)
    }

    /// Commits a removal whose last state is `last` (an update that dropped the final
    /// finalizer): one DELETED event, no intermediate MODIFIED.
    pub fn remove_as(&mut self, key: &ObjectKey, last: Value) -> Option<Value> {
        let previous = self.objects.remove(key)?.object;
        self.revision += 1;
        let mut object = last;
        crate::object::set_meta(&mut object, "resourceVersion", Value::String(self.revision.to_string()));
        let frozen = Arc::new(Frozen::from(&object));
        self.append(Event { revision: self.revision, event_type: EventType::Deleted, key: key.clone(), object: frozen, previous: Some(previous) });
        Some(object)
    }

    fn append(&mut self, event: Event) {
        self.log.push_back(event);
        while self.log.len() > self.capacity {
            if let Some(e) = self.log.pop_front() {
                self.floor = e.revision;
            }
        }
    }

    /// Forgets history up to `revision` (clamped to the current one), as etcd compaction does.
    pub fn compact(&mut self, revision: u64) {
        let target = revision.min(self.revision);
        if target <= self.floor {
            return;
        }
        while self.log.front().is_some_and(|e| e.revision <= target) {
            self.log.pop_front();
        }
        self.floor = target;
    }

    /// Events after `revision`, oldest first; `None` when that history is compacted.
    pub fn events_after(&self, revision: u64) -> Option<impl Iterator<Item = &Event>> {
        if revision < self.floor {
            return None;
        }
        let start = self.log.partition_point(|e| e.revision <= revision);
        Some(self.log.range(start..))
    }

    /// One object as it was at `revision` (for stale reads). `None` if it did not exist then;
    /// `Err(())` if that revision is compacted.
    pub fn get_at(&self, key: &ObjectKey, revision: u64) -> Result<Option<Arc<Frozen>>, Compacted> {
        if revision >= self.revision {
            return Ok(self.objects.get(key).map(|s| s.object.clone()));
        }
        let events = self.events_after(revision).ok_or(Compacted)?;
        // The first change after `revision` tells what the object was before it.
        for e in events {
            if &e.key == key {
                return Ok(e.previous.clone());
            }
        }
        Ok(self.objects.get(key).map(|s| s.object.clone()))
    }

    /// The objects of a resource that `keep` accepts, as they were at `revision`, in key order.
    /// `labels` may rule an object out first by its label digest (it must never rule out one
    /// `keep` accepts). The objects are shared, not copied: a list costs a reference count each.
    pub fn list_at(
        &self,
        resource: &StorageKey,
        namespace: Option<&str>,
        revision: u64,
        labels: impl Fn(LabelDigest) -> bool,
        keep: impl Fn(&Frozen) -> bool,
    ) -> Result<Vec<Arc<Frozen>>, Compacted> {
        if revision >= self.revision {
            let current = self.of_resource(resource, namespace).filter(|(_, s)| labels(s.labels)).map(|(_, s)| &s.object);
            return Ok(current.filter(|o| keep(o)).cloned().collect());
        }
        let events = self.events_after(revision).ok_or(Compacted)?;
        // Earlier states come from the log, which keeps no digests: `keep` alone judges those.
        let mut state: BTreeMap<&ObjectKey, &Arc<Frozen>> = self.of_resource(resource, namespace).map(|(k, s)| (k, &s.object)).collect();
        let mut seen = std::collections::BTreeSet::new();
        for e in events {
            if &e.key.resource != resource || namespace.is_some_and(|ns| e.key.namespace != ns) || !seen.insert(&e.key) {
                continue;
            }
            match &e.previous {
                Some(prev) => state.insert(&e.key, prev),
                None => state.remove(&e.key),
            };
        }
        Ok(state.into_values().filter(|o| keep(o)).cloned().collect())
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Every stored object, in key order (for GC and invariant checks).
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Frozen)> {
        self.objects.iter().map(|(k, v)| (k, &*v.object))
    }

    /// The stored objects being deleted (a `deletionTimestamp` set), in key order.
    pub fn deleting(&self) -> impl Iterator<Item = (&ObjectKey, &Arc<Frozen>)> {
        self.objects.iter().filter(|(_, v)| v.deleting).map(|(k, v)| (k, &v.object))
    }

    /// The stored objects with `ownerReferences`, in key order.
    pub fn owned(&self) -> impl Iterator<Item = (&ObjectKey, &Frozen)> {
        self.objects.iter().filter(|(_, v)| v.owned).map(|(k, v)| (k, &*v.object))
    }
}

/// The requested revision has been compacted away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted;

fn range_start(resource: &StorageKey, namespace: Option<&str>) -> ObjectKey {
    ObjectKey { resource: resource.clone(), namespace: namespace.unwrap_or("").to_string(), name: String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> ObjectKey {
        ObjectKey { resource: StorageKey { group: "".into(), plural: "configmaps".into() }, namespace: "default".into(), name: name.into() }
    }

    #[test]
    fn revisions_increase_and_history_is_rebuilt() {
        let mut s = Store::new(100);
        let a1 = s.put(key("a"), json!({"metadata": {"name": "a"}, "data": {"v": "1"}}));
        let r1 = crate::object::resource_version(&a1).parse::<u64>().unwrap();
        s.put(key("a"), json!({"metadata": {"name": "a"}, "data": {"v": "2"}}));
        s.put(key("b"), json!({"metadata": {"name": "b"}}));
        assert_eq!(s.revision(), r1 + 2);
        let old = s.get_at(&key("a"), r1).unwrap().unwrap();
        assert_eq!(old["data"]["v"].as_str(), Some("1"));
        assert!(s.get_at(&key("b"), r1).unwrap().is_none());
        let listed = s.list_at(&key("a").resource, Some("default"), r1, |_| true, |_| true).unwrap();
        assert_eq!(listed.len(), 1);
        s.remove(&key("a"));
        assert_eq!(s.list_at(&key("a").resource, None, s.revision(), |_| true, |_| true).unwrap().len(), 1);
        assert_eq!(s.list_at(&key("a").resource, None, r1 + 1, |_| true, |_| true).unwrap().len(), 1);
    }

    #[test]
    fn compaction_expires_old_revisions() {
        let mut s = Store::new(2);
        for i in 0..5 {
            s.put(key(&format!("o{i}")), json!({}));
        }
        assert!(s.events_after(1).is_none());
        assert_eq!(s.events_after(s.floor()).unwrap().count(), 2);
        s.compact(s.revision());
        assert_eq!(s.events_after(s.revision()).unwrap().count(), 0);
        assert_eq!(s.get_at(&key("o0"), 2), Err(Compacted));
    }
}
