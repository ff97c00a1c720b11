//! An informer's feed: the events of kube-runtime's `watcher` (a relist is `Init`, its objects,
//! `InitDone`; then `Apply`/`Delete` per change), so the kube-rs backend can hand over
//! `kube_runtime::watcher` itself and the other backends use [`list_watch`], which derives the
//! same events from the `Cluster`'s list and watch verbs.

use super::backoff::Backoff;
use super::client::{CacheEvent, Cluster, Gvk, ListParams, WatchEvent};
use futures::stream::{BoxStream, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;


enum State {
    List,
    Watch { resource_version: String },
    Streaming { resource_version: String, stream: BoxStream<'static, WatchEvent> },
}

struct ListWatch {
    cluster: Arc<dyn Cluster>,
    gvk: Gvk,
    namespace: Option<String>,
    params: ListParams,
    state: State,
    ready: VecDeque<CacheEvent>,
    backoff: Backoff,
}

impl ListWatch {
    /// Advances the state machine until it has events to hand out. List and watch failures
    /// back off and relist; an in-stream error (410 Expired) relists; a watch that simply ended
    /// resumes from the last resourceVersion seen. With `ListSemantic::Any` every (re)list may
    /// be older than what was already seen; the watch from its version replays what followed.
    async fn step(&mut self) {
        match std::mem::replace(&mut self.state, State::List) {
            State::List => match self.cluster.list(&self.gvk, self.namespace.as_deref(), &self.params).await {
                Ok(list) => {
                    self.ready.push_back(CacheEvent::Init);
                    self.ready.extend(list.items.into_iter().map(CacheEvent::InitApply));
                    self.ready.push_back(CacheEvent::InitDone);
                    self.state = State::Watch { resource_version: list.resource_version };
                }
                Err(e) => {
                    tracing::debug!(kind = %self.gvk.kind, error = %e, "list failed; retrying");
                    self.backoff.wait().await;
                }
            },
            State::Watch { resource_version } => match self.cluster.watch(&self.gvk, self.namespace.as_deref(), &self.params, &resource_version).await {
                Ok(stream) => {
                    self.backoff.reset();
                    self.state = State::Streaming { resource_version, stream };
                }
                Err(e) => {
                    tracing::debug!(kind = %self.gvk.kind, error = %e, "watch failed; relisting");
                    self.backoff.wait().await;
                }
            },
            State::Streaming { mut resource_version, mut stream } => {
                let (obj, removed) = match stream.next().await {
                    Some(WatchEvent::Added(o) | WatchEvent::Modified(o)) => (o, false),
                    Some(WatchEvent::Deleted(o)) => (o, true),
                    Some(WatchEvent::Bookmark(rv)) => {
                        self.state = State::Streaming { resource_version: rv, stream };
                        return;
                    }
                    Some(WatchEvent::Error(e)) => {
                        tracing::debug!(kind = %self.gvk.kind, error = %e, "watch error; relisting");
                        self.backoff.wait().await;
                        return;
                    }
                    None => {
                        self.state = State::Watch { resource_version };
                        return;
                    }
                };
                if let Some(rv) = obj["metadata"]["resourceVersion"].as_str() {
                    resource_version = rv.to_string();
                }
                self.ready.push_back(if removed { CacheEvent::Delete(obj) } else { CacheEvent::Apply(obj) });
                self.state = State::Streaming { resource_version, stream };
            }
        }
    }
}

/// The watcher events of `gvk` (in `namespace`, or everywhere; the objects `params`' selectors
/// match) from the cluster's list (with `params`' semantic) and watch verbs. The stream never
/// ends; dropping it stops watching.
pub fn list_watch(cluster: Arc<dyn Cluster>, gvk: Gvk, namespace: Option<String>, params: ListParams) -> BoxStream<'static, CacheEvent> {
    let lw = ListWatch { cluster, gvk, namespace, params, state: State::List, ready: VecDeque::new(), backoff: Backoff::watch() };
    futures::stream::unfold(lw, |mut lw| async move {
        loop {
            if let Some(event) = lw.ready.pop_front() {
                return Some((event, lw));
            }
            lw.step().await;
        }
    })
    .boxed()
}
