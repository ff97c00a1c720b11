//! Whether this replica may write now, and the client that refuses writes when it may not.

use crate::runtime::client::*;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::BoxStream;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// This replica's standing in the election: leading until an instant on its monotonic clock
/// (the start of its last successful renewal plus the renew deadline), or not at all.
pub struct Leadership {
    /// `None` without an election: the only replica always leads.
    until: Option<Mutex<Option<Instant>>>,
    /// Wakes waiters each time this replica becomes leader. A `Notify`, not a `watch`
    /// channel: a watch picks one of several wakers at random (tokio's per-process RNG),
    /// which made simulated runs depend on what the process had run before.
    became_leader: tokio::sync::Notify,
}

impl Leadership {
    /// No election: this replica always leads.
    pub fn unelected() -> Arc<Self> {
        Arc::new(Leadership { until: None, became_leader: tokio::sync::Notify::new() })
    }

    /// An election this replica has not won yet.
    pub fn elected() -> Arc<Self> {
        Arc::new(Leadership { until: Some(Mutex::new(None)), became_leader: tokio::sync::Notify::new() })
    }

    /// Whether this replica may write now.
    pub fn is_leading(&self) -> bool {
        match &self.until {
            None => true,
            Some(until) => until.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|u| Instant::now() < u),
        }
    }

    /// Waits until this replica leads.
    pub async fn wait_leading(&self) {
        loop {
            // Registered before the check, so a renewal in between is not missed.
            let notified = self.became_leader.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_leading() {
                return;
            }
            notified.await;
        }
    }

    /// A renewal that started at `started` succeeded: leading until `started + renew_deadline`.
    /// Answers whether this replica just became leader.
    pub(super) fn renewed(&self, until_instant: Instant) -> bool {
        let Some(until) = &self.until else { return false };
        let was_leading = self.is_leading();
        *until.lock().unwrap_or_else(|p| p.into_inner()) = Some(until_instant);
        if !was_leading {
            self.became_leader.notify_waiters();
        }
        !was_leading
    }

    /// Stops leading at once (the Lease was released, or another replica holds it).
    pub(super) fn step_down(&self) {
        if let Some(until) = &self.until {
            *until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// Whether an election decides this replica's standing.
    pub fn is_elected(&self) -> bool {
        self.until.is_some()
    }
}

/// A client that reads freely and writes only while this replica leads: every write the
/// controllers make goes through it, so a replica that lost its lease (or never had it) cannot
/// write, even in the middle of a pass.
pub struct LeaderOnly {
    inner: Arc<dyn Cluster>,
    leadership: Arc<Leadership>,
    /// The planted defect `followers-write`: the gate lets every write through.
    #[cfg(madsim)]
    pub open: bool,
}

impl LeaderOnly {
    pub fn new(inner: Arc<dyn Cluster>, leadership: Arc<Leadership>) -> Self {
        LeaderOnly {
            inner,
            leadership,
            #[cfg(madsim)]
            open: false,
        }
    }

    fn refused<T: Send + 'static>(&self) -> Option<BoxFuture<'static, ClientResult<T>>> {
        (!self.may_write()).then(|| futures::future::ready(Err(ClientError::NotLeader)).boxed())
    }

    fn may_write(&self) -> bool {
        #[cfg(madsim)]
        if self.open {
            return true;
        }
        self.leadership.is_leading()
    }
}

impl Cluster for LeaderOnly {
    fn get(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        self.inner.get(r)
    }
    fn get_without_managed_fields(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        self.inner.get_without_managed_fields(r)
    }
    fn list(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxFuture<'static, ClientResult<ObjectList>> {
        self.inner.list(gvk, namespace, params)
    }
    fn watch(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams, resource_version: &str) -> BoxFuture<'static, ClientResult<BoxStream<'static, WatchEvent>>> {
        self.inner.watch(gvk, namespace, params, resource_version)
    }
    fn create(&self, object: &Value) -> BoxFuture<'static, ClientResult<Value>> {
        self.refused().unwrap_or_else(|| self.inner.create(object))
    }
    fn replace(&self, object: &Value, status: bool) -> BoxFuture<'static, ClientResult<Value>> {
        self.refused().unwrap_or_else(|| self.inner.replace(object, status))
    }
    fn patch(&self, r: &ObjectRef, patch: &Patch) -> BoxFuture<'static, ClientResult<Value>> {
        self.refused().unwrap_or_else(|| self.inner.patch(r, patch))
    }
    fn delete(&self, r: &ObjectRef, params: &DeleteParams) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        self.refused().unwrap_or_else(|| self.inner.delete(r, params))
    }
    fn watcher(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxStream<'static, CacheEvent> {
        self.inner.watcher(gvk, namespace, params)
    }
}
