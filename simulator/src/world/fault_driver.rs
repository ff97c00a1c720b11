//! The fault driver: turns the seed's fault plan into actions on the fake API server and the
//! controller replicas over virtual time. Server-side rates and lags are set for the whole fault
//! window; crashes (timed, or right after replica 0's nth write), stalls (right after its nth
//! write), the second replica, spells of
//! watch delay, watch closes, watch expiries and compactions are tasks that act at their times;
//! when the window ends every fault stops (and caches that may have missed events are made to
//! relist).
//!
//! [`drive`] decides every fault kind in one exhaustive `match`, so a new kind does not compile
//! until it says what the driver does about it.

use super::recorder::Recorder;
use super::Replicas;
use crate::plan::{AfterWrite, Fault, FaultPlan};
use fake_apiserver::faults::Faults;
use fake_apiserver::SharedApiServer;
use futures::future::{BoxFuture, FutureExt};
use madsim::task::NodeId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long delayed watch events are let through between spells of delay.
const DELAY_BREAK: Duration = Duration::from_millis(200);

/// What the driver is asked to do to replica 0 after its nth write, and whom to tell once done.
type AfterWriteRequest = (u64, AfterWrite, oneshot::Sender<()>);

/// Replica 0's committed writes, counted across its restarts for `CrashAfterWrite` and
/// `StallAfterWrite`. At such a write its client holds the response and asks the driver to kill
/// or pause the replica: from the main node, since a node cannot kill or pause itself from one
/// of its own tasks. A killed replica never gets the response; a paused one gets it when it
/// runs again.
pub(super) struct AfterWrites {
    writes: AtomicU64,
    /// (nth write, what happens) of each fault.
    faults: Vec<(u64, AfterWrite)>,
    /// Nothing happens once faults have stopped.
    until: Instant,
    requests: mpsc::UnboundedSender<AfterWriteRequest>,
    /// The driver's end of `requests`, until it takes it.
    received: Mutex<Option<mpsc::UnboundedReceiver<AfterWriteRequest>>>,
}

impl AfterWrites {
    /// The counter for `faults` (none without any).
    pub(super) fn new(faults: &[(u64, AfterWrite)], until: Instant) -> Option<Arc<AfterWrites>> {
        let (requests, received) = mpsc::unbounded_channel();
        let received = Mutex::new(Some(received));
        (!faults.is_empty()).then(|| Arc::new(AfterWrites { writes: AtomicU64::new(0), faults: faults.to_vec(), until, requests, received }))
    }

    /// Replica 0 committed a write: what its response waits for, if anything (the driver's
    /// word that the replica is paused; a crash's never comes).
    pub(super) fn committed(&self) -> Option<BoxFuture<'static, ()>> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if Instant::now() >= self.until {
            return None;
        }
        let &(nth, what) = self.faults.iter().find(|(nth, _)| *nth == n)?;
        let (done, acted) = oneshot::channel();
        self.requests.send((nth, what, done)).ok()?;
        Some(
            async move {
                // A killed replica never hears back.
                if acted.await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            .boxed(),
        )
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
            // Counted by replica 0's client (`AfterWrites`); `act_after_writes` kills or pauses.
            Fault::CrashAfterWrite { .. } | Fault::StallAfterWrite { .. } => {}
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
    let after_writes = act_after_writes(until, replicas, primary, recorder);
    end_window(plan, until, server, recorder);
    after_writes
}

/// Kills or pauses replica 0 whenever its client asks (right after its nth write), and
/// restarts or resumes it once the fault's time is up (at the latest when faults stop).
fn act_after_writes(until: Instant, replicas: &Replicas, primary: NodeId, recorder: &Recorder) -> Option<JoinHandle<()>> {
    let requests = replicas.after_writes.as_ref().and_then(|c| c.received.lock().unwrap_or_else(|p| p.into_inner()).take());
    let mut requests = requests?;
    let (replicas, recorder) = (replicas.clone(), recorder.clone());
    Some(tokio::spawn(async move {
        while let Some((nth, what, done)) = requests.recv().await {
            match what {
                AfterWrite::Crash { down } => {
                    replicas.kill(primary);
                    recorder.crashed(&format!("crash: replica 0 killed right after its write #{nth}, for {down:?}"));
                    tokio::time::sleep_until((Instant::now() + down).min(until)).await;
                    replicas.restart(primary);
                    recorder.note("replica 0 restarted");
                }
                AfterWrite::Stall(duration) => {
                    replicas.pause(primary);
                    recorder.stalled(primary, &format!("stall: replica 0 paused right after its write #{nth}, for {duration:?}"));
                    let _ = done.send(());
                    tokio::time::sleep_until((Instant::now() + duration).min(until)).await;
                    replicas.resume(primary);
                    recorder.note("replica 0 runs again");
                }
            }
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
