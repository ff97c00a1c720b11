//! An informer: a local cache of one kind fed by list+watch, like kube-runtime's
//! watcher+reflector. It may lag the server (that is the point: decisions that must not act on
//! stale data read through the `Cluster` instead). Expired watches (410) relist; ended ones
//! resume from the last seen resourceVersion; errors back off and relist.

use super::client::{Cluster, Gvk, ListParams, WatchEvent};
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
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
        let task = tokio::spawn(run(cluster, gvk, namespace, store.clone(), synced.clone(), Arc::new(on_change)));
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

const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(10);

async fn run(
    cluster: Arc<dyn Cluster>,
    gvk: Gvk,
    namespace: Option<String>,
    store: Arc<RwLock<BTreeMap<CacheKey, Value>>>,
    synced: Arc<Synced>,
    on_change: OnChange,
) {
    let mut retry = RETRY_MIN;
    loop {
        // List: replace the cache, reporting what changed.
        let list = match cluster.list(&gvk, namespace.as_deref(), &ListParams::default()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(kind = %gvk.kind, error = %e, "list failed; retrying");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        let fresh: BTreeMap<CacheKey, Value> = list.items.into_iter().map(|o| (key_of(&o), o)).collect();
        let changed: Vec<Value> = {
            let mut cache = store.write().unwrap_or_else(|p| p.into_inner());
            let mut changed: Vec<Value> = cache.iter().filter(|(k, _)| !fresh.contains_key(*k)).map(|(_, v)| v.clone()).collect();
            changed.extend(fresh.iter().filter(|(k, v)| cache.get(*k) != Some(*v)).map(|(_, v)| v.clone()));
            *cache = fresh;
            changed
        };
        synced.done.store(true, Ordering::SeqCst);
        synced.notify.notify_waiters();
        for obj in &changed {
            on_change(obj);
        }
        // Watch from the list's revision until the watch expires or fails.
        let mut resource_version = list.resource_version;
        loop {
            let mut stream = match cluster.watch(&gvk, namespace.as_deref(), &resource_version).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(kind = %gvk.kind, error = %e, "watch failed; relisting");
                    break;
                }
            };
            retry = RETRY_MIN;
            let mut relist = false;
            while let Some(event) = stream.next().await {
                let (obj, removed) = match event {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) => (o, false),
                    WatchEvent::Deleted(o) => (o, true),
                    WatchEvent::Bookmark(rv) => {
                        resource_version = rv;
                        continue;
                    }
                    WatchEvent::Error(e) => {
                        tracing::debug!(kind = %gvk.kind, error = %e, "watch error; relisting");
                        relist = true;
                        break;
                    }
                };
                if let Some(rv) = obj["metadata"]["resourceVersion"].as_str() {
                    resource_version = rv.to_string();
                }
                {
                    let mut cache = store.write().unwrap_or_else(|p| p.into_inner());
                    if removed {
                        cache.remove(&key_of(&obj));
                    } else {
                        cache.insert(key_of(&obj), obj.clone());
                    }
                }
                on_change(&obj);
            }
            if relist {
                break;
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}
