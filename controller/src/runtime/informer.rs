//! An informer: a local cache of one kind, the reflector over the backend's watcher (kube-rs's
//! `kube_runtime::watcher`, or [`super::watcher::list_watch`]). It may lag the server (that is
//! the point: decisions that must not act on stale data read through the `Cluster` instead).

use super::client::{Cluster, Gvk};
use super::watcher::CacheEvent;
use futures::stream::{BoxStream, StreamExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

/// (namespace, name) of a cached object.
pub type CacheKey = (String, String);

type OnChange = Arc<dyn Fn(&Value) + Send + Sync>;

/// Set once the first list is cached. (`Notify` rather than tokio's `watch`, whose waiter slots
/// are chosen with randomness madsim does not control.)
#[derive(Default)]
struct Synced {
    done: AtomicBool,
    notify: Notify,
}

pub struct Informer {
    store: Arc<RwLock<BTreeMap<CacheKey, Value>>>,
    synced: Arc<Synced>,
    task: tokio::task::JoinHandle<()>,
}

fn key_of(obj: &Value) -> CacheKey {
    let meta = &obj["metadata"];
    (meta["namespace"].as_str().unwrap_or("").to_string(), meta["name"].as_str().unwrap_or("").to_string())
}

impl Informer {
    /// Starts caching `gvk` (in `namespace`, or everywhere). `on_change` sees every object
    /// that was added, changed or removed (its last state), e.g. to enqueue work.
    pub fn start(cluster: Arc<dyn Cluster>, gvk: Gvk, namespace: Option<String>, on_change: impl Fn(&Value) + Send + Sync + 'static) -> Informer {
        let store: Arc<RwLock<BTreeMap<CacheKey, Value>>> = Arc::default();
        let synced = Arc::new(Synced::default());
        let task = tokio::spawn(run(cluster.watcher(&gvk, namespace.as_deref()), store.clone(), synced.clone(), Arc::new(on_change)));
        Informer { store, synced, task }
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

    pub fn get(&self, namespace: &str, name: &str) -> Option<Value> {
        self.store.read().unwrap_or_else(|p| p.into_inner()).get(&(namespace.to_string(), name.to_string())).cloned()
    }

    /// Every cached object, in (namespace, name) order.
    pub fn list(&self) -> Vec<Value> {
        self.store.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }
}

impl Drop for Informer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Applies the watcher's events to the cache. A relist replaces the cache when it completes,
/// and reports what it changed: objects that went away and objects that differ.
async fn run(mut events: BoxStream<'static, CacheEvent>, store: Arc<RwLock<BTreeMap<CacheKey, Value>>>, synced: Arc<Synced>, on_change: OnChange) {
    let mut relist: Option<BTreeMap<CacheKey, Value>> = None;
    while let Some(event) = events.next().await {
        let changed: Vec<Value> = match event {
            CacheEvent::Init => {
                relist = Some(BTreeMap::new());
                continue;
            }
            CacheEvent::InitApply(obj) => {
                relist.get_or_insert_default().insert(key_of(&obj), obj);
                continue;
            }
            CacheEvent::InitDone => {
                let fresh = relist.take().unwrap_or_default();
                let changed = {
                    let mut cache = store.write().unwrap_or_else(|p| p.into_inner());
                    let mut changed: Vec<Value> = cache.iter().filter(|(k, _)| !fresh.contains_key(*k)).map(|(_, v)| v.clone()).collect();
                    changed.extend(fresh.iter().filter(|(k, v)| cache.get(*k) != Some(*v)).map(|(_, v)| v.clone()));
                    *cache = fresh;
                    changed
                };
                synced.done.store(true, Ordering::SeqCst);
                synced.notify.notify_waiters();
                changed
            }
            CacheEvent::Apply(obj) => {
                store.write().unwrap_or_else(|p| p.into_inner()).insert(key_of(&obj), obj.clone());
                vec![obj]
            }
            CacheEvent::Delete(obj) => {
                store.write().unwrap_or_else(|p| p.into_inner()).remove(&key_of(&obj));
                vec![obj]
            }
        };
        for obj in &changed {
            on_change(obj);
        }
    }
}
