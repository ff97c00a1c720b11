//! A thread-safe handle on one `ApiServer`, with async watches. Both the HTTP front and
//! in-process clients use it; watchers wake when anything commits.

use crate::server::{ApiServer, Watch, WatchEvent};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct SharedApiServer {
    inner: Arc<Mutex<ApiServer>>,
    /// Wakes every watcher whenever a call changed the revision or closed watches. A plain
    /// `Notify` on purpose: tokio's `watch` channel spreads waiters over randomly chosen
    /// slots, with randomness madsim does not control, which would make wake order (and so a
    /// simulation) differ between runs of the same seed.
    changes: Arc<Notify>,
}

impl SharedApiServer {
    pub fn new(server: ApiServer) -> Self {
        SharedApiServer { inner: Arc::new(Mutex::new(server)), changes: Arc::new(Notify::new()) }
    }

    /// Runs `f` with exclusive access; wakes watchers if it committed anything.
    pub fn with<R>(&self, f: impl FnOnce(&mut ApiServer) -> R) -> R {
        let mut guard = self.lock();
        let before = (guard.revision(), guard.watch_epoch());
        let result = f(&mut guard);
        let changed = (guard.revision(), guard.watch_epoch()) != before;
        drop(guard);
        if changed {
            self.changes.notify_waiters();
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, ApiServer> {
        // A panic while holding the lock cannot leave a half-applied write (each verb commits
        // with one store call at its end), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Turns an opened watch into an async stream of events.
    pub fn stream(&self, watch: Watch, bookmark_interval: Duration) -> WatchStream {
        WatchStream { server: self.clone(), changes: self.changes.clone(), watch, bookmark_interval, closed: false }
    }
}

pub struct WatchStream {
    server: SharedApiServer,
    changes: Arc<Notify>,
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
            let changed = self.changes.clone();
            let notified = changed.notified();
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
