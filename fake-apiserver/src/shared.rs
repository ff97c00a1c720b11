//! A thread-safe handle on one `ApiServer`, with async watches. Both the HTTP front and
//! in-process clients use it; watchers wake when anything commits.

use crate::auth::Request;
use crate::server::{ApiServer, Watch, WatchEvent};
use crate::store::{Event, EventType, ObjectKey};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct SharedApiServer {
    shared: Arc<Shared>,
}

/// What every handle on one server shares.
struct Shared {
    server: Mutex<ApiServer>,
    /// Wakes every watcher whenever a call changed the revision or closed watches. A plain
    /// `Notify` on purpose: tokio's `watch` channel spreads waiters over randomly chosen
    /// slots, with randomness madsim does not control, which would make wake order (and so a
    /// simulation) differ between runs of the same seed.
    changes: Notify,
    observers: Mutex<Observers>,
    auditors: Mutex<Vec<Auditor>>,
    /// Client requests answered ([`SharedApiServer::audit`]): what a benchmark divides by.
    requests: AtomicU64,
}

/// Hears every client request the server answered, in the order answered.
pub type Auditor = Box<dyn FnMut(&AuditEvent) + Send>;

/// One client request as the server answered it: the essentials of a Kubernetes audit event
/// (who, which verb on what, the response's code), for request logs and checkers. A create
/// names the object it creates, as the real audit log does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub user: String,
    pub verb: String,
    #[serde(flatten)]
    pub request: Request,
    pub code: u16,
}

/// Sees every committed event, in revision order, with the server as it is after the call that
/// committed it (for type lookups; the state at the event itself is the observer's to rebuild).
pub type Observer = Box<dyn FnMut(&ApiServer, &ObservedEvent) + Send>;

/// A committed event as observers see it: its objects thawed into `Value`s, once for all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEvent {
    pub revision: u64,
    pub event_type: EventType,
    pub key: ObjectKey,
    /// The state after (for DELETED: the last state, at the deletion revision).
    pub object: Arc<Value>,
    /// The state before; None for ADDED.
    pub previous: Option<Arc<Value>>,
}

#[derive(Default)]
struct Observers {
    list: Vec<Observer>,
    /// The last object each live key's events carried, already thawed: an event's previous
    /// state is the one before it, so each event thaws only its new object.
    thawed: BTreeMap<ObjectKey, Arc<Value>>,
}

impl Observers {
    fn thaw(&mut self, event: &Event) -> ObservedEvent {
        let object = Arc::new(event.object.to_value());
        let kept = match event.event_type {
            EventType::Deleted => self.thawed.remove(&event.key),
            _ => self.thawed.insert(event.key.clone(), object.clone()),
        };
        // An object last written before the first observer came has nothing kept yet.
        let previous = kept.or_else(|| event.previous.as_ref().map(|p| Arc::new(p.to_value())));
        ObservedEvent { revision: event.revision, event_type: event.event_type, key: event.key.clone(), object, previous }
    }
}

impl SharedApiServer {
    pub fn new(server: ApiServer) -> Self {
        let shared = Shared { server: Mutex::new(server), changes: Notify::new(), observers: Mutex::default(), auditors: Mutex::default(), requests: AtomicU64::default() };
        SharedApiServer { shared: Arc::new(shared) }
    }

    /// Calls `observer` for each event committed from now on (invariant checkers, traces). It
    /// runs under the server's lock, so it must not call back into this server.
    pub fn observe(&self, observer: impl FnMut(&ApiServer, &ObservedEvent) + Send + 'static) {
        self.shared.observers.lock().unwrap_or_else(|p| p.into_inner()).list.push(Box::new(observer));
    }

    /// Runs `f` with exclusive access; tells observers what it committed and wakes watchers.
    pub fn with<R>(&self, f: impl FnOnce(&mut ApiServer) -> R) -> R {
        let mut guard = self.lock();
        let before = (guard.revision(), guard.watch_epoch());
        let result = f(&mut guard);
        let changed = (guard.revision(), guard.watch_epoch()) != before;
        if guard.revision() != before.0 {
            self.notify_observers(&guard, before.0);
        }
        drop(guard);
        if changed {
            self.shared.changes.notify_waiters();
        }
        result
    }

    /// Calls `auditor` for each client request answered from now on (`eno dev --request-log`,
    /// the simulator's checker). It must not call back into this server.
    pub fn audit_with(&self, auditor: impl FnMut(&AuditEvent) + Send + 'static) {
        self.shared.auditors.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(auditor));
    }

    /// A front (HTTP, or an in-process client) answered a client request: counted, and told to
    /// the auditors.
    pub fn audit(&self, event: &AuditEvent) {
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        for auditor in self.shared.auditors.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
            auditor(event);
        }
    }

    /// Client requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    fn notify_observers(&self, server: &ApiServer, after: u64) {
        let mut observers = self.shared.observers.lock().unwrap_or_else(|p| p.into_inner());
        if observers.list.is_empty() {
            return;
        }
        // One call commits at most a few events; a log smaller than that would hide some, which
        // an observer must not silently miss.
        let events = server.store().events_after(after).expect("the event log holds every event of one call");
        for event in events {
            let observed = observers.thaw(event);
            for observer in observers.list.iter_mut() {
                observer(server, &observed);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, ApiServer> {
        // A panic while holding the lock cannot leave a half-applied write (each verb commits
        // with one store call at its end), so a poisoned lock is still consistent.
        self.shared.server.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A handle that does not keep the server alive (for holders that may outlive its use).
    pub fn downgrade(&self) -> WeakApiServer {
        WeakApiServer { shared: Arc::downgrade(&self.shared) }
    }

    /// Turns an opened watch into an async stream of events.
    pub fn stream(&self, watch: Watch, bookmark_interval: Duration) -> WatchStream {
        WatchStream { server: self.clone(), watch, bookmark_interval, closed: false }
    }
}

/// A [`SharedApiServer`] that does not keep it alive: [`WeakApiServer::upgrade`] answers it
/// while some strong handle is left.
#[derive(Clone)]
pub struct WeakApiServer {
    shared: Weak<Shared>,
}

impl WeakApiServer {
    pub fn upgrade(&self) -> Option<SharedApiServer> {
        Some(SharedApiServer { shared: self.shared.upgrade()? })
    }
}

pub struct WatchStream {
    server: SharedApiServer,
    watch: Watch,
    bookmark_interval: Duration,
    closed: bool,
}

impl WatchStream {
    /// The next events, waiting for a commit if there are none; a BOOKMARK (when the client
    /// allowed them) after `bookmark_interval` of quiet. `None` once the stream has ended.
    pub async fn next_batch(&mut self) -> Option<Vec<WatchEvent>> {
        loop {
            if self.closed {
                return None;
            }
            // Register for the next change before polling, so a commit in between is not missed.
            let shared = self.server.shared.clone();
            let notified = shared.changes.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let poll = self.server.with(|s| s.poll_watch(&mut self.watch));
            self.closed = poll.closed;
            if !poll.events.is_empty() {
                return Some(poll.events);
            }
            if self.closed {
                return None;
            }
            match tokio::time::timeout(self.bookmark_interval, notified).await {
                Ok(()) => continue,
                Err(_) if self.watch.bookmarks() => return Some(vec![self.watch.bookmark()]),
                Err(_) => continue,
            }
        }
    }

    pub fn watch(&self) -> &Watch {
        &self.watch
    }
}

impl SharedApiServer {
    /// Runs a garbage-collection pass every `interval` until dropped (the simulator schedules
    /// passes itself instead).
    pub async fn run_garbage_collector(self, interval: std::time::Duration) {
        loop {
            tokio::time::sleep(interval).await;
            // A pass can enable another (a namespace empties, then its finalizer goes); bounded in
            // case some object keeps changing.
            for _ in 0..100 {
                if self.with(|s| s.collect_garbage()) == 0 {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::server::{Config, DeleteOptions, ListOptions, WriteOptions};
    use serde_json::Value;
    use serde_json::json;

    #[test]
    fn a_weak_handle_reaches_the_server_only_while_a_strong_one_is_left() {
        let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(ManualClock::at(0))));
        let weak = server.downgrade();
        let revision = server.with(|s| s.revision());
        assert_eq!(weak.upgrade().map(|s| s.with(|s| s.revision())), Some(revision));
        drop(server);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn observers_see_every_commit_in_order_and_nothing_else() {
        let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(ManualClock::at(0))));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        server.observe(move |_, e| sink.lock().unwrap().push(format!("{} {} {}", e.revision, e.event_type.as_str(), e.key.name)));
        let start = server.with(|s| s.revision());
        let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}, "data": {"v": v}});
        server.with(|s| {
            let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
            s.create(&t, cm("1"), &WriteOptions::default()).unwrap();
        });
        server.with(|s| {
            let t = s.target_for("v1", "ConfigMap", Some("default"), Some("a")).unwrap();
            s.update(&t, cm("2"), &WriteOptions::default()).unwrap();
            // A no-op write commits nothing, so observers hear nothing.
            s.update(&t, cm("2"), &WriteOptions::default()).unwrap();
            s.get(&t, None).unwrap();
            s.delete(&t, &DeleteOptions::default()).unwrap();
        });
        assert_eq!(
            *seen.lock().unwrap(),
            vec![format!("{} ADDED a", start + 1), format!("{} MODIFIED a", start + 2), format!("{} DELETED a", start + 3)]
        );
    }

    fn configmap(v: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}, "data": {"v": v}})
    }

    /// A server with ConfigMap `a` written at v=1, 2, 3; returns it, the ConfigMaps target and
    /// the revision of the last write.
    fn three_writes() -> (ApiServer, crate::server::Target, u64) {
        let mut s = ApiServer::new(Config::default(), Arc::new(ManualClock::at(0)));
        let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
        s.create(&t, configmap("1"), &WriteOptions::default()).unwrap();
        let named = s.target_for("v1", "ConfigMap", Some("default"), Some("a")).unwrap();
        s.update(&named, configmap("2"), &WriteOptions::default()).unwrap();
        s.update(&named, configmap("3"), &WriteOptions::default()).unwrap();
        let last = s.revision();
        (s, t, last)
    }

    #[test]
    fn a_lagging_cache_serves_any_semantic_lists_from_the_past_and_quorum_lists_fresh() {
        let (mut s, t, last) = three_writes();
        s.set_faults(crate::faults::Faults { read_lag: 2, ..Default::default() });
        let any = s.list(&t, &ListOptions { resource_version: Some("0".into()), ..Default::default() }).unwrap().into_value();
        assert_eq!((any["metadata"]["resourceVersion"].as_str(), any["items"][0]["data"]["v"].as_str()), (Some((last - 2).to_string().as_str()), Some("1")));
        let quorum = s.list(&t, &ListOptions::default()).unwrap().into_value();
        assert_eq!(quorum["items"][0]["data"]["v"], "3");
        // A watch from the old list's revision replays the newer events: the client catches up.
        let mut w = s.watch(&t, &ListOptions { resource_version: Some((last - 2).to_string()), ..Default::default() }).unwrap();
        let seen: Vec<String> = s.poll_watch(&mut w).events.iter().map(|e| e.object["data"]["v"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(seen, ["2", "3"]);
    }

    #[test]
    fn replayed_watches_redeliver_events_and_expired_watches_end_with_410() {
        let (mut s, t, last) = three_writes();
        s.set_faults(crate::faults::Faults { watch_replay: 1, ..Default::default() });
        let mut w = s.watch(&t, &ListOptions { resource_version: Some(last.to_string()), ..Default::default() }).unwrap();
        let replayed: Vec<String> = s.poll_watch(&mut w).events.iter().map(|e| e.object["data"]["v"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(replayed, ["3"], "the event at the requested revision is delivered again");
        s.expire_watches();
        let poll = s.poll_watch(&mut w);
        assert!(poll.closed);
        assert_eq!((poll.events[0].event_type, poll.events[0].object["code"].as_u64()), ("ERROR", Some(410)));
        // History is intact: a new watch from the same revision works.
        let mut again = s.watch(&t, &ListOptions { resource_version: Some(last.to_string()), ..Default::default() }).unwrap();
        assert!(!s.poll_watch(&mut again).closed);
    }
}
