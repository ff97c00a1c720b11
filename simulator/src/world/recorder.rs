//! The run's record: the invariant checker and the trace, shared by everything in the world that
//! sees something happen — the server's observer (every committed write), the executor (every
//! synthesis run), the fault driver (notes in the trace) and the user (whose writes are not
//! Eno's doing). Every entry is stamped with the virtual time since the run started, and every
//! write with its actor: the replica whose node made it, else the user while acting, else the
//! API server itself (its garbage collector, on the main node).

use crate::invariants::{Checker, SynthesisRun};
use crate::trace::Trace;
use eno::synthesis::{Executor, SimulatedExecutor, SynthesisError, SynthesisInput, SynthesisOutput};
use fake_apiserver::SharedApiServer;
use futures::future::BoxFuture;
use madsim::task::NodeId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How often a waiting user checks whether the run already failed.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// The actor of writes made on the main node outside the user's actions.
pub(super) const API_SERVER: &str = "api-server";
/// The scenario's user (`Checker::user_acting`).
pub(super) const USER: &str = "user";

/// Committed writes in one virtual second past which a run is taken to be livelocked:
/// replicas answering each other's writes (the scenarios make a few hundred writes in a whole
/// run). At one instant such a storm would also stop virtual time from reaching the deadline.
const STORM_WRITES: u64 = 2_000;

/// The panic payload that ends a livelocked world, with the trace up to the storm.
#[derive(Debug, Clone)]
pub struct Livelock {
    pub at: Duration,
    pub writes: u64,
    pub trace: Trace,
}

pub(super) struct Record {
    pub checker: Checker,
    pub trace: Trace,
    /// The controller replicas' nodes, by name (`eno-0`).
    replicas: BTreeMap<NodeId, String>,
    /// The virtual second of the last write, and how many writes it has seen.
    second: (u64, u64),
    /// Synthesizer runs not yet over, by a number of their own, with the node each runs for.
    runs: BTreeMap<u64, (NodeId, SynthesisRun)>,
    next_run: u64,
}

impl Record {
    /// Who is writing now: the current madsim node's replica, else the user or the server.
    fn actor(&self) -> &str {
        match self.replicas.get(&madsim::plugin::node()) {
            Some(replica) => replica.as_str(),
            None if self.checker.user_acting => USER,
            None => API_SERVER,
        }
    }
}

/// A handle on the run's [`Record`]; clones share it.
#[derive(Clone)]
pub(super) struct Recorder {
    record: Arc<Mutex<Record>>,
    start: Instant,
}

impl Recorder {
    pub fn new(checker: Checker, start: Instant) -> Self {
        Recorder { record: Arc::new(Mutex::new(Record { checker, trace: Trace::new(), replicas: BTreeMap::new(), second: (0, 0), runs: BTreeMap::new(), next_run: 0 })), start }
    }

    pub fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the trace and the checker out, leaving an empty record: the run's outcome owns
    /// them, and a task the runtime never drops (`end_tasks`) keeps only the empty record.
    pub fn take(&self) -> (Trace, Checker) {
        let mut g = self.lock();
        (std::mem::replace(&mut g.trace, Trace::new()), std::mem::replace(&mut g.checker, Checker::new(Default::default())))
    }

    /// Virtual time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Starts the checker from what the server holds, then records and checks every event the
    /// server commits and every request of a replica it answers.
    pub fn attach(&self, server: &SharedApiServer) {
        server.with(|s| self.lock().checker.seed(s));
        let recorder = self.clone();
        server.observe(move |s, event| {
            let at = recorder.elapsed();
            let mut g = recorder.lock();
            let second = at.as_secs();
            g.second = match g.second {
                (s, writes) if s == second => (s, writes + 1),
                _ => (second, 1),
            };
            if g.second.1 > STORM_WRITES {
                let trace = g.trace.clone();
                drop(g);
                // The world may never reach its deadline (a storm at one instant stops virtual
                // time): end it here, as `run` reports it.
                std::panic::panic_any(Livelock { at, writes: STORM_WRITES, trace });
            }
            let actor = g.actor().to_string();
            g.trace.record(event, at, &actor, s.faults().watch_lag);
            g.checker.observe(s, event, at);
            g.checker.written_by(event, &actor, at);
        });
        let recorder = self.clone();
        server.audit_with(move |event| {
            let at = recorder.elapsed();
            let mut g = recorder.lock();
            // The replicas' requests only: the user's are not Eno's doing.
            if let Some(replica) = g.replicas.get(&madsim::plugin::node()).cloned() {
                g.checker.answered(&replica, event, at);
            }
        });
    }

    /// A line in the trace that is not a write (a crash, faults stopping).
    pub fn note(&self, text: &str) {
        self.lock().trace.note(self.elapsed(), text)
    }

    /// A replica was killed: a note in the trace, and the checker allows a run it may have
    /// interrupted to be taken over.
    pub fn crashed(&self, text: &str) {
        let at = self.elapsed();
        let mut g = self.lock();
        g.trace.note(at, text);
        g.checker.replica_lost();
    }

    /// Replica `node` was paused: as for a crash, and the synthesizer runs it is waiting on
    /// are over. A synthesizer runs apart from its controller (a pod, a child process) and ends
    /// within its run limit, which a claim outlasts, whatever the controller does meanwhile;
    /// the simulated executor runs on the replica's node only for simplicity, so it pauses too.
    pub fn stalled(&self, node: NodeId, text: &str) {
        self.crashed(text);
        let mut g = self.lock();
        let Record { runs, checker, .. } = &mut *g;
        runs.retain(|_, (on, run)| {
            let stranded = *on == node;
            if stranded {
                checker.synthesis_ended(run, false);
            }
            !stranded
        });
    }

    /// Names the writes made on `node` after the replica `name` (up from now).
    pub fn replica(&self, node: NodeId, name: &str) {
        let at = self.elapsed();
        let mut g = self.lock();
        g.replicas.insert(node, name.to_string());
        g.checker.replica_available(name, true, at);
    }

    /// Replica `name` is cut off from the API server (`partitioned`), or reaches it again.
    pub fn partitioned(&self, name: &str, partitioned: bool) {
        let at = self.elapsed();
        let mut g = self.lock();
        let text = if partitioned { format!("partition: {name} cut off from the API server") } else { format!("partition of {name} healed") };
        g.trace.note(at, &text);
        if partitioned {
            // As a crash does, a partition may strand a run the replica claimed.
            g.checker.replica_lost();
        }
        g.checker.replica_available(name, !partitioned, at);
    }

    /// Every replica's node.
    pub fn replica_nodes(&self) -> Vec<NodeId> {
        self.lock().replicas.keys().copied().collect()
    }

    /// Marks `node`'s replica down (killed or paused) or up (restarted or resumed) from now.
    pub fn replica_running(&self, node: NodeId, running: bool) {
        let at = self.elapsed();
        let mut g = self.lock();
        let Some(name) = g.replicas.get(&node).cloned() else { return };
        if running { g.trace.up(&name, at) } else { g.trace.down(&name, at) }
        g.checker.replica_available(&name, running, at);
    }

    /// `inner`, telling the checker about every synthesis before running it.
    pub fn executor(&self, inner: SimulatedExecutor) -> Arc<dyn Executor> {
        Arc::new(RecordingExecutor { inner, recorder: self.clone() })
    }

    /// Sleeps until `t`; false (early) once the checker has found a violation.
    pub async fn wait_until(&self, t: Instant) -> bool {
        loop {
            if !self.lock().checker.violations().is_empty() {
                return false;
            }
            let now = Instant::now();
            if now >= t {
                return true;
            }
            tokio::time::sleep_until(t.min(now + CHECK_EVERY)).await;
        }
    }
}

struct RecordingExecutor {
    inner: SimulatedExecutor,
    recorder: Recorder,
}

impl Executor for RecordingExecutor {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        let run = SynthesisRun {
            uuid: input.uuid.clone(),
            composition: input.composition_key(),
            composition_uid: input.composition.metadata.uid.clone().unwrap_or_default(),
            composition_generation: input.composition.metadata.generation.unwrap_or(0),
            synthesizer_generation: input.synthesizer.metadata.generation.unwrap_or(0),
            input_revisions: input.inputs.iter().map(|i| i["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string()).collect(),
            lockstep_revisions: input.inputs.iter().filter_map(|i| i["metadata"]["annotations"]["eno.azure.io/revision"].as_str().map(str::to_string)).collect(),
        };
        let at = self.recorder.elapsed();
        let mut g = self.recorder.lock();
        g.checker.synthesis_started(&run, at);
        let id = g.next_run;
        g.next_run += 1;
        g.runs.insert(id, (madsim::plugin::node(), run));
        drop(g);
        let guard = RunGuard { recorder: self.recorder.clone(), id, errored: false };
        let running = self.inner.synthesize(input);
        Box::pin(async move {
            // Moved in whole (not just the field written below), so it lives as long as the run.
            let mut guard = guard;
            let result = running.await;
            guard.errored = result.is_err();
            result
        })
    }
}

/// Tells the checker a run is over when the run's future ends or is dropped (its replica was
/// killed mid-run), unless its replica's stall ended it first.
struct RunGuard {
    recorder: Recorder,
    id: u64,
    errored: bool,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let mut g = self.recorder.lock();
        if let Some((_, run)) = g.runs.remove(&self.id) {
            g.checker.synthesis_ended(&run, self.errored);
        }
    }
}
