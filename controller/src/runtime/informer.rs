//! An informer: a local cache of one kind, the reflector over the backend's watcher (kube-rs's
//! `kube_runtime::watcher`, or [`super::watcher::list_watch`]). It may lag the server (that is
//! the point: decisions that must not act on stale data read through the `Cluster` instead).
//!
//! Cached objects are shared (`Arc`): a read costs a reference count, not a copy of the object,
//! and their `metadata.managedFields` are dropped on the way in (controller-runtime's
//! `TransformStripManagedFields`): no decision reads them from a cache, and they are often the
//! largest part of an object.

use super::client::{Cluster, Gvk, ListParams};
use super::client::CacheEvent;
use futures::stream::{BoxStream, StreamExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

/// (namespace, name) of a cached object.
pub type CacheKey = (String, String);

type OnChange = Arc<dyn Fn(&Cached) + Send + Sync>;

/// A cached object.
pub type Cached = Arc<Value>;

/// The index values an object is filed under (e.g. its owner's uid).
pub type IndexFn = Arc<dyn Fn(&Value) -> Vec<String> + Send + Sync>;

/// The cached objects, and the optional secondary index over them (client-go's `Indexer`):
/// lookups by an index value cost the matches, not a scan of the whole kind.
struct Cache {
    objects: BTreeMap<CacheKey, Cached>,
    index_fn: Option<IndexFn>,
    index: BTreeMap<String, BTreeSet<CacheKey>>,
}

impl Cache {
    fn new(index_fn: Option<IndexFn>) -> Self {
        Cache { objects: BTreeMap::new(), index_fn, index: BTreeMap::new() }
    }

    fn index_values(&self, obj: &Value) -> Vec<String> {
        self.index_fn.as_ref().map(|f| f(obj)).unwrap_or_default()
    }

    fn insert(&mut self, obj: Cached) {
        let key = key_of(&obj);
        self.remove(&key);
        for value in self.index_values(&obj) {
            self.index.entry(value).or_default().insert(key.clone());
        }
        self.objects.insert(key, obj);
    }

    fn remove(&mut self, key: &CacheKey) {
        let Some(old) = self.objects.remove(key) else { return };
        for value in self.index_values(&old) {
            if let Some(keys) = self.index.get_mut(&value) {
                keys.remove(key);
                if keys.is_empty() {
                    self.index.remove(&value);
                }
            }
        }
    }

    /// Replaces everything with a relist's objects; returns what went away or differs.
    fn replace(&mut self, fresh: BTreeMap<CacheKey, Cached>) -> Vec<Cached> {
        let mut changed: Vec<Cached> = self.objects.iter().filter(|(k, _)| !fresh.contains_key(*k)).map(|(_, v)| v.clone()).collect();
        changed.extend(fresh.iter().filter(|(k, v)| self.objects.get(*k) != Some(*v)).map(|(_, v)| v.clone()));
        self.objects.clear();
        self.index.clear();
        for obj in fresh.into_values() {
            self.insert(obj);
        }
        changed
    }
}

/// Set once the first list is cached. (`Notify` rather than tokio's `watch`, whose waiter slots
/// are chosen with randomness madsim does not control.)
#[derive(Default)]
struct Synced {
    done: AtomicBool,
    notify: Notify,
}

pub struct Informer {
    store: Arc<RwLock<Cache>>,
    synced: Arc<Synced>,
    task: tokio::task::JoinHandle<()>,
}

fn key_of(obj: &Value) -> CacheKey {
    let meta = &obj["metadata"];
    (meta["namespace"].as_str().unwrap_or("").to_string(), meta["name"].as_str().unwrap_or("").to_string())
}

impl Informer {
    /// Starts caching `gvk` (in `namespace`, or everywhere; the objects `params`' selectors
    /// match), listing with `params`' semantic. `on_change` sees every object that was added,
    /// changed or removed (its last state; an object that stops matching the selectors is
    /// removed), e.g. to enqueue work.
    pub fn start(cluster: Arc<dyn Cluster>, gvk: Gvk, namespace: Option<String>, params: ListParams, on_change: impl Fn(&Cached) + Send + Sync + 'static) -> Informer {
        Self::start_with(cluster, gvk, namespace, params, None, on_change)
    }

    /// Like [`Informer::start`], with objects also filed under `index`'s values for
    /// [`Informer::indexed`].
    pub fn start_indexed(
        cluster: Arc<dyn Cluster>,
        gvk: Gvk,
        namespace: Option<String>,
        params: ListParams,
        index: impl Fn(&Value) -> Vec<String> + Send + Sync + 'static,
        on_change: impl Fn(&Cached) + Send + Sync + 'static,
    ) -> Informer {
        Self::start_with(cluster, gvk, namespace, params, Some(Arc::new(index)), on_change)
    }

    fn start_with(
        cluster: Arc<dyn Cluster>,
        gvk: Gvk,
        namespace: Option<String>,
        params: ListParams,
        index: Option<IndexFn>,
        on_change: impl Fn(&Cached) + Send + Sync + 'static,
    ) -> Informer {
        let store = Arc::new(RwLock::new(Cache::new(index)));
        let synced = Arc::new(Synced::default());
        let task = tokio::spawn(run(cluster.watcher(&gvk, namespace.as_deref(), &params), store.clone(), synced.clone(), Arc::new(on_change)));
        Informer { store, synced, task }
    }

    /// Whether the first list has been cached.
    pub fn is_synced(&self) -> bool {
        self.synced.done.load(Ordering::SeqCst)
    }

    /// Waits until the first list has been cached.
    pub async fn wait_synced(&self) {
        loop {
            let notified = self.synced.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.synced.done.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    fn cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Cached> {
        self.cache().objects.get(&(namespace.to_string(), name.to_string())).cloned()
    }

    /// Every cached object, in (namespace, name) order.
    pub fn list(&self) -> Vec<Cached> {
        self.cache().objects.values().cloned().collect()
    }

    /// The cached objects filed under `value` by the informer's index, in (namespace, name)
    /// order (none for an informer started without one).
    pub fn indexed(&self, value: &str) -> Vec<Cached> {
        let cache = self.cache();
        cache.index.get(value).into_iter().flatten().filter_map(|k| cache.objects.get(k).cloned()).collect()
    }
}

impl Drop for Informer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The object as cached: without its `managedFields` ([`super::client::drop_managed_fields`]).
fn stripped(mut obj: Value) -> Cached {
    super::client::drop_managed_fields(&mut obj);
    Arc::new(obj)
}

/// Applies the watcher's events to the cache. A relist replaces the cache when it completes,
/// and reports what it changed: objects that went away and objects that differ.
async fn run(mut events: BoxStream<'static, CacheEvent>, store: Arc<RwLock<Cache>>, synced: Arc<Synced>, on_change: OnChange) {
    let mut relist: Option<BTreeMap<CacheKey, Cached>> = None;
    while let Some(event) = events.next().await {
        let changed: Vec<Cached> = match event {
            CacheEvent::Init => {
                relist = Some(BTreeMap::new());
                continue;
            }
            CacheEvent::InitApply(obj) => {
                relist.get_or_insert_default().insert(key_of(&obj), stripped(obj));
                continue;
            }
            CacheEvent::InitDone => {
                let fresh = relist.take().unwrap_or_default();
                let changed = store.write().unwrap_or_else(|p| p.into_inner()).replace(fresh);
                synced.done.store(true, Ordering::SeqCst);
                synced.notify.notify_waiters();
                changed
            }
            CacheEvent::Apply(obj) => {
                let obj = stripped(obj);
                store.write().unwrap_or_else(|p| p.into_inner()).insert(obj.clone());
                vec![obj]
            }
            CacheEvent::Delete(obj) => {
                store.write().unwrap_or_else(|p| p.into_inner()).remove(&key_of(&obj));
                vec![stripped(obj)]
            }
        };
        for obj in &changed {
            on_change(obj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, owner: &str) -> Cached {
        Arc::new(json!({"metadata": {"namespace": "ns", "name": name, "owner": owner}}))
    }

    fn names(cache: &Cache, value: &str) -> Vec<String> {
        cache.index.get(value).into_iter().flatten().map(|k| k.1.clone()).collect()
    }

    #[test]
    fn the_index_follows_inserts_changes_removals_and_relists() {
        let mut cache = Cache::new(Some(Arc::new(|v: &Value| v["metadata"]["owner"].as_str().map(str::to_string).into_iter().collect())));
        cache.insert(obj("a", "x"));
        cache.insert(obj("b", "x"));
        cache.insert(obj("c", "y"));
        assert_eq!(names(&cache, "x"), ["a", "b"]);
        // A changed object moves to its new index value and leaves no trace under the old one.
        cache.insert(obj("b", "y"));
        assert_eq!((names(&cache, "x"), names(&cache, "y")), (vec!["a".to_string()], vec!["b".to_string(), "c".to_string()]));
        cache.remove(&("ns".into(), "a".into()));
        assert!(!cache.index.contains_key("x"), "empty index entries are dropped");
        let changed = cache.replace([obj("c", "z")].into_iter().map(|o| (key_of(&o), o)).collect());
        assert_eq!(changed.len(), 2, "b went away and c changed: {changed:?}");
        assert_eq!((names(&cache, "y"), names(&cache, "z")), (vec![], vec!["c".to_string()]));
    }

    #[test]
    fn cached_objects_leave_their_managed_fields_behind() {
        let cached = stripped(json!({"metadata": {"name": "a", "labels": {"k": "v"}, "managedFields": [{"manager": "eno"}]}, "spec": {}}));
        assert_eq!(*cached, json!({"metadata": {"name": "a", "labels": {"k": "v"}}, "spec": {}}));
    }
}
