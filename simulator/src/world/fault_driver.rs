//! The fault driver: turns the seed's fault plan into actions on the fake API server and the
//! controller replicas over virtual time. Server-side rates and lags are set for the whole fault
//! window; crashes (timed, or right after replica 0's nth write), the second replica, spells of
//! watch delay, watch closes, watch expiries and compactions are tasks that act at their times;
//! when the window ends every fault stops (and caches that may have missed events are made to
//! relist).
//!
//! [`drive`] decides every fault kind in one exhaustive `match`, so a new kind does not compile
//! until it says what the driver does about it.

use super::recorder::Recorder;
use super::Replicas;
use crate::plan::{Fault, FaultPlan};
use fake_apiserver::faults::Faults;
use fake_apiserver::SharedApiServer;
use madsim::task::NodeId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long delayed watch events are let through between spells of delay.
const DELAY_BREAK: Duration = Duration::from_millis(200);

/// Replica 0's committed writes, counted across its restarts for `CrashAfterWrite`. At a
/// crash's write its client loses the response (the request never returns) and the driver is
/// asked to kill the replica: from the main node, since a node cannot kill itself from one of
/// its own tasks.
pub(super) struct WriteCrashes {
    writes: AtomicU64,
    /// (nth write, down time) of each crash.
    crashes: Vec<(u64, Duration)>,
    /// No crash once faults have stopped.
    until: Instant,
    requests: mpsc::UnboundedSender<(u64, Duration)>,
    /// The driver's end of `requests`, until it takes it.
    received: Mutex<Option<mpsc::UnboundedReceiver<(u64, Duration)>>>,
}

impl WriteCrashes {
    /// The counter for `crashes` (none without any).
    pub(super) fn new(crashes: &[(u64, Duration)], until: Instant) -> Option<Arc<WriteCrashes>> {
        let (requests, received) = mpsc::unbounded_channel();
        let received = Mutex::new(Some(received));
        (!crashes.is_empty()).then(|| Arc::new(WriteCrashes { writes: AtomicU64::new(0), crashes: crashes.to_vec(), until, requests, received }))
    }

    /// Replica 0 committed a write: whether it crashes now (and loses the response).
    pub(super) fn committed(&self) -> bool {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if Instant::now() >= self.until {
            return false;
        }
        match self.crashes.iter().find(|(nth, _)| *nth == n) {
            Some(&(nth, down)) => self.requests.send((nth, down)).is_ok(),
            None => false,
        }
    }
}

/// Starts `plan`'s faults in a run that started at `start`, with its fault window ending at
/// `until`. `primary` is replica 0, the one that crashes. Returns the task that acts out
/// crashes after writes, if the plan has any: it waits for requests to the end, so the run
/// aborts it once it is over.
pub(super) fn drive(plan: &FaultPlan, start: Instant, until: Instant, server: &SharedApiServer, replicas: &Replicas, primary: NodeId, recorder: &Recorder) -> Option<JoinHandle<()>> {
    server.with(|s| s.set_faults(plan.server_faults()));
    for fault in plan.faults.iter().cloned() {
        let server = server.clone();
        match fault {
            // In `plan.server_faults()`, set above for the whole window (dropped events also
            // make `end_window` heal caches).
            Fault::DroppedWatchEvents { .. } | Fault::Errors { .. } | Fault::TimeoutsAfterCommit { .. } | Fault::PausedGc => {}
            // The replay is in `plan.server_faults()`; ending watches makes them resume.
            Fault::DuplicateDelivery { every, .. } => {
                tokio::spawn(periodically(every, until, move || server.with(|s| s.close_watches())));
            }
            // Built into the replicas (`FaultPlan::replica_faults`).
            Fault::Latency { .. } | Fault::ClockSkew { .. } => {}
            // Built into the replica's client (`FaultPlan::replica_faults`); noted here.
            Fault::Partition { replica, at, duration } => {
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    let name = format!("eno-{replica}");
                    tokio::time::sleep_until(start + at).await;
                    if Instant::now() >= until {
                        return;
                    }
                    recorder.partitioned(&name, true);
                    tokio::time::sleep_until((start + at + duration).min(until)).await;
                    recorder.partitioned(&name, false);
                });
            }
            // Counted by replica 0's client (`WriteCrashes`); `crash_after_writes` kills.
            Fault::CrashAfterWrite { .. } => {}
            // The lag is in `plan.server_faults()` and the replicas list with the `Any`
            // semantic; expiring watches makes them relist into the lagging cache.
            Fault::TimeTravel { every, .. } => {
                tokio::spawn(periodically(every, until, move || server.with(|s| s.expire_watches())));
            }
            Fault::Crash { at, down } => {
                let (replicas, recorder) = (replicas.clone(), recorder.clone());
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + at).await;
                    replicas.kill(primary);
                    recorder.crashed(&format!("crash: replica 0 killed for {down:?}"));
                    tokio::time::sleep_until((start + at + down).min(until)).await;
                    replicas.restart(primary);
                    recorder.note("replica 0 restarted");
                });
            }
            Fault::SecondReplica { at } => {
                let second = replicas.start(replicas.permanent);
                replicas.kill(second);
                let (replicas, recorder) = (replicas.clone(), recorder.clone());
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + at).await;
                    replicas.restart(second);
                    recorder.note("second replica started (split brain)");
                    tokio::time::sleep_until(until).await;
                    replicas.kill(second);
                    recorder.crashed("second replica stopped");
                });
            }
            Fault::DelayedWatchEvents { lag, hold } => {
                tokio::spawn(async move {
                    loop {
                        if Instant::now() >= until {
                            return;
                        }
                        server.with(|s| s.set_faults(Faults { watch_lag: lag, ..s.faults().clone() }));
                        tokio::time::sleep(hold).await;
                        if Instant::now() >= until {
                            return;
                        }
                        server.with(|s| s.set_faults(Faults { watch_lag: 0, ..s.faults().clone() }));
                        tokio::time::sleep(DELAY_BREAK).await;
                    }
                });
            }
            Fault::WatchCloses { every } => {
                tokio::spawn(periodically(every, until, move || server.with(|s| s.close_watches())));
            }
            Fault::Compactions { every } => {
                tokio::spawn(periodically(every, until, move || {
                    server.with(|s| {
                        s.compact(s.revision());
                        s.close_watches();
                    })
                }));
            }
        }
    }
    let crashes = crash_after_writes(until, replicas, primary, recorder);
    end_window(plan, until, server, recorder);
    crashes
}

/// Kills replica 0 whenever its client asks (right after its nth write) and restarts it after
/// the crash's down time (at the latest when faults stop).
fn crash_after_writes(until: Instant, replicas: &Replicas, primary: NodeId, recorder: &Recorder) -> Option<JoinHandle<()>> {
    let requests = replicas.write_crashes.as_ref().and_then(|c| c.received.lock().unwrap_or_else(|p| p.into_inner()).take());
    let mut requests = requests?;
    let (replicas, recorder) = (replicas.clone(), recorder.clone());
    Some(tokio::spawn(async move {
        while let Some((nth, down)) = requests.recv().await {
            replicas.kill(primary);
            recorder.crashed(&format!("crash: replica 0 killed right after its write #{nth}, for {down:?}"));
            tokio::time::sleep_until((Instant::now() + down).min(until)).await;
            replicas.restart(primary);
            recorder.note("replica 0 restarted");
        }
    }))
}

/// At `until`, stops every fault, heals caches that may have missed events, and notes it.
fn end_window(plan: &FaultPlan, until: Instant, server: &SharedApiServer, recorder: &Recorder) {
    let (server, recorder) = (server.clone(), recorder.clone());
    let (any, heal) = (!plan.faults.is_empty(), plan.drops_events());
    tokio::spawn(async move {
        tokio::time::sleep_until(until).await;
        server.with(|s| s.set_faults(Faults::none()));
        if heal {
            heal_caches(&server);
        }
        if any {
            recorder.note("faults stop");
        }
    });
}

/// Makes every informer relist, which only a relist undoes after dropped watch events (a
/// watcher's position can pass an event it never got): a marker write moves the revision past
/// every watcher's position, compacting to it sends any later resume to a relist (410), and
/// every open watch ends with 410 Expired at once (one bookmarked at the newest revision would
/// otherwise resume above the compaction with its stale cache; both found by the sweep).
fn heal_caches(server: &SharedApiServer) {
    let marker = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "simulator-heal", "namespace": "kube-system"}});
    server.with(|s| {
        let created = s.target_for("v1", "ConfigMap", Some("kube-system"), None).and_then(|t| s.create(&t, marker, &Default::default()));
        if let Err(e) = created {
            tracing::warn!(error = %e, "could not write the cache-healing marker");
        }
    });
    // Separate calls: observers must see the marker's event before compaction forgets it.
    server.with(|s| {
        s.compact(s.revision());
        s.expire_watches();
    });
}

/// Calls `f` every `every` until `until`.
async fn periodically(every: Duration, until: Instant, f: impl Fn()) {
    loop {
        tokio::time::sleep(every).await;
        if Instant::now() >= until {
            return;
        }
        f();
    }
}
