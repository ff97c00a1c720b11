//! One run: a madsim world for one scenario, seed, fault plan and set of deliberate defects.
//!
//! This module assembles the world (the server, the recorder, the replicas) and runs it; its
//! parts hold one idea each:
//! - `recorder`: the checker and the trace, fed by everything that sees something happen;
//! - `fault_driver`: the fault plan acted out on the server and the replicas over virtual time;
//! - `user`: the scenario's user, playing its steps at their virtual times;
//! - `expectations`: what the run expects of the cluster at the deadline (and steps wait for);
//! - `check`: a seed's run, and the shrinking of a failing plan;
//! - `defects`: the deliberate controller defects the checker must catch.
//!
//! Nodes: the main node holds the fake API server (shared in memory, as a real one is shared
//! over the network), its garbage collector, the fault driver and the scenario's user; each
//! controller replica is a node of its own, so killing it loses its memory and restarting it
//! runs `Eno::start` afresh.

mod check;
mod defects;
mod expectations;
mod fault_driver;
mod recorder;
mod user;

pub use check::{check_plan, check_seed, Failure};
pub use defects::{defect_names, defects_named, DEFECTS, FENCES};

use crate::invariants::leader::Election;
use crate::invariants::{Checker, Invariant, Violation};
use crate::plan::{FaultPlan, ReplicaFaults};
use crate::scenario::Scenario;
use crate::trace::Trace;
use eno::controllers::{Defects, Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::leader_election::decide::JITTER_FACTOR;
use eno::runtime::leader_election::ElectionConfig;
use eno::runtime::{Cluster, ListSemantic};
use eno::synthesis::{Executor, SimulatedExecutor};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::shared::WeakApiServer;
use fake_apiserver::SharedApiServer;
use madsim::task::NodeId;
use recorder::{Livelock, Recorder};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub trace: Trace,
    /// Every violation, in the order found.
    pub violations: Vec<Violation>,
    /// Synthesizer runs, per synthesizer name.
    pub invocations: BTreeMap<String, u64>,
    /// Virtual time simulated.
    pub virtual_time: Duration,
    /// Client requests the replicas and the user made (for benchmarks).
    pub requests: u64,
}

impl Outcome {
    pub fn first_violation(&self) -> Option<&Violation> {
        self.violations.first()
    }
}

/// Runs one world on a thread of its own (std's hash seeds are per thread, and madsim seeds
/// them from the simulation's RNG only when a thread first asks) and returns what it saw.
pub fn run(scenario: Arc<Scenario>, seed: u64, plan: FaultPlan, defects: Defects) -> Outcome {
    let deadline = scenario.deadline.0;
    let joined = std::thread::Builder::new()
        .name(format!("sim-{}-{seed}", scenario.name))
        .spawn(move || madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default()).block_on(simulate(scenario, seed, plan, defects)))
        .map_err(|e| (panicked(&e.to_string()), Trace::new()))
        .and_then(|t| {
            t.join().map_err(|panic| match panic.downcast::<Livelock>() {
                Ok(livelock) => {
                    let Livelock { at, writes, trace } = *livelock;
                    let message = format!("livelock: more than {writes} writes within one virtual second (replicas answering each other's writes)");
                    (Violation { invariant: Invariant::Progress, at, revision: None, message }, trace)
                }
                Err(panic) => (panicked(&panic_message(&panic)), Trace::new()),
            })
        });
    joined.unwrap_or_else(|(violation, trace)| Outcome {
        trace,
        violations: vec![violation],
        invocations: BTreeMap::new(),
        virtual_time: deadline,
        requests: 0,
    })
}

fn panicked(message: &str) -> Violation {
    Violation { invariant: Invariant::NoPanic, at: Duration::ZERO, revision: None, message: format!("the simulation panicked: {message}") }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "unknown panic".into())
}

/// Builds the world, starts the fault driver, lets the user play the scenario, then checks the
/// expectations at the deadline (unless an invariant broke first).
async fn simulate(scenario: Arc<Scenario>, seed: u64, plan: FaultPlan, defects: Defects) -> Outcome {
    let start = Instant::now();
    let server = SharedApiServer::new(ApiServer::new(Config { seed, ..Config::default() }, Arc::new(SystemClock)));
    if let Err(e) = install_crds(&server) {
        return failed_setup(&scenario, format!("installing CRDs: {e}"));
    }
    let cooldown = scenario.rollout_cooldown.map_or(Duration::ZERO, |c| c.0);
    let mut checker = Checker::new(scenario.at_most_once.iter().cloned().collect()).with_rollout_cooldown(cooldown).with_handovers(scenario.handovers.clone());
    let election = scenario.leader_election.as_ref().map(|e| ElectionConfig {
        namespace: "default".into(),
        name: "eno-controller".into(),
        // Each replica's incarnation names itself (`Replicas::start`).
        identity: "eno".into(),
        lease_duration: e.lease_duration.0,
        renew_deadline: e.renew_deadline.0,
        retry_period: e.retry_period.0,
    });
    if let Some(config) = &election {
        if let Err(e) = config.validate() {
            return failed_setup(&scenario, format!("leaderElection: {e}"));
        }
        // Up to a lease duration from the standby's last look, and a jittered look on either side.
        let failover_bound = config.lease_duration + config.retry_period.mul_f64(2.0 * (1.0 + JITTER_FACTOR)) + Duration::from_secs(1);
        let judge_failover = !plan.faults.iter().any(|f| matches!(f, crate::plan::Fault::Errors { .. }));
        checker = checker.with_leader_election(Election { namespace: config.namespace.clone(), name: config.name.clone(), lease_duration: config.lease_duration, failover_bound, judge_failover });
    }
    let recorder = Recorder::new(checker, start);
    recorder.attach(&server);
    let garbage_collector = tokio::spawn(server.clone().run_garbage_collector(Duration::from_millis(500)));

    let simulated = SimulatedExecutor::new();
    for (name, behaviour) in &scenario.synthesizers {
        let b = behaviour.clone();
        simulated.set(name.clone(), move |input| b.synthesize(input));
        if let Some(delay) = behaviour.delay {
            simulated.set_delay(name.clone(), delay.0);
        }
    }
    let until = start + scenario.faults_until.0;
    let faults = plan.replica_faults();
    let after_writes = fault_driver::AfterWrites::new(&faults.after_writes, until);
    let list_semantic = if faults.any_semantic_lists { ListSemantic::Any } else { ListSemantic::MostRecent };
    let replicas = Replicas {
        server: server.downgrade(),
        executor: recorder.executor(simulated.clone()),
        options: Options { synthesis_concurrency: 2, reconcile_concurrency: 2, list_semantic, rollout_cooldown: cooldown, leader_election: election, defects, ..Options::default() },
        faults,
        start,
        until,
        incarnations: Arc::default(),
        after_writes,
        recorder: recorder.clone(),
        permanent: scenario.replicas,
    };
    let primary = replicas.start(0);
    for index in 1..scenario.replicas {
        replicas.start(index);
    }
    let after_writes = fault_driver::drive(&plan, start, until, &server, &replicas, primary, &recorder);

    let played = user::play(&scenario, start, &server, &simulated, &recorder).await;
    let mut stuck = played.unmet_conditions;
    if played.finished && recorder.wait_until(start + scenario.deadline.0).await {
        stuck.extend(expectations::unmet_at_deadline(&scenario, &server, &simulated, plan.faults.is_empty()));
    }

    let mut g = recorder.lock();
    let at = recorder.elapsed();
    if played.finished && stuck.is_empty() && g.checker.violations().is_empty() {
        g.checker.finish(at);
    }
    for failed in played.failed_actions {
        g.checker.report(Invariant::NoPanic, at, None, failed);
    }
    if !stuck.is_empty() {
        g.checker.report(Invariant::Convergence, at, None, stuck.join("; "));
    }
    drop(g);
    let (trace, checker) = recorder.take();
    let outcome = Outcome { trace, violations: checker.violations().to_vec(), invocations: simulated.all_invocations(), virtual_time: at, requests: server.requests() };
    garbage_collector.abort();
    if let Some(after_writes) = after_writes {
        after_writes.abort();
    }
    end_tasks(&recorder).await;
    outcome
}

/// Ends the world's remaining tasks before the runtime goes. madsim drops neither pending tasks
/// nor timers with its runtime, and those tasks hold one another (a watcher's waker in the
/// server it watches, a sleeper's waker in the timers its `Sleep` holds): without this, every
/// finished world stayed in memory. Killed and aborted tasks are dropped the next time the
/// executor runs, hence the yield.
async fn end_tasks(recorder: &Recorder) {
    let handle = madsim::runtime::Handle::current();
    for node in recorder.replica_nodes() {
        handle.kill(node);
    }
    tokio::task::yield_now().await;
}

fn failed_setup(scenario: &Scenario, message: String) -> Outcome {
    Outcome {
        trace: Trace::new(),
        violations: vec![Violation { invariant: Invariant::NoPanic, at: Duration::ZERO, revision: None, message }],
        invocations: BTreeMap::new(),
        virtual_time: scenario.deadline.0,
        requests: 0,
    }
}

/// Starts, kills and restarts controller replicas: each a node of its own running Eno against
/// the server through the simulated executor.
#[derive(Clone)]
struct Replicas {
    /// Weak: the fault driver's tasks hold replicas, and one may never end (`end_tasks`).
    server: WeakApiServer,
    executor: Arc<dyn Executor>,
    options: Options,
    /// What the plan builds into the replicas: latency, list semantic, clock offsets.
    faults: ReplicaFaults,
    /// Replica 0's write counter, when the plan crashes or stalls it after some write.
    after_writes: Option<Arc<fault_driver::AfterWrites>>,
    /// Told each replica's node, and when it goes down and up (the timeline's downtimes).
    recorder: Recorder,
    /// Replicas the scenario runs throughout (indices `0..permanent`); the plan's second
    /// replica comes after them.
    permanent: usize,
    /// When the run started and when faults stop (partitions are timed from the one and end
    /// by the other).
    start: Instant,
    until: Instant,
    /// Replica starts so far: each incarnation campaigns under an identity of its own.
    incarnations: Arc<std::sync::atomic::AtomicU64>,
}

impl Replicas {
    /// Replica `index` (0: the one that crashes; 1: the second replica) as a new node, running.
    fn start(&self, index: usize) -> NodeId {
        let server = self.server.upgrade().expect("replicas start while the world runs");
        let (executor, max_latency) = (self.executor.clone(), self.faults.max_latency);
        let clock_offset_millis = self.faults.clock_offsets_millis.get(index).copied().unwrap_or_default();
        let options = Options { clock_offset_millis, ..self.options.clone() };
        let after_writes = self.after_writes.clone().filter(|_| index == 0);
        let partitions: Vec<(Instant, Instant)> = self.faults.partitions.iter().filter(|(r, ..)| *r == index).map(|(_, at, d)| (self.start + *at, (self.start + *at + *d).min(self.until))).collect();
        let incarnations = self.incarnations.clone();
        // The runtime's handle is looked up, not kept: a task still holding it at the end would
        // keep the whole runtime (and so the world) alive.
        let node = madsim::runtime::Handle::current()
            .create_node()
            .name(format!("eno-{index}"))
            .init(move || {
                let mut cluster = FakeCluster::new(server.clone(), "eno");
                if let Some(after_writes) = after_writes.clone() {
                    cluster = cluster.with_on_commit(move || after_writes.committed());
                }
                if !partitions.is_empty() {
                    let partitions = partitions.clone();
                    cluster = cluster.with_reachable(move || {
                        let now = Instant::now();
                        !partitions.iter().any(|(from, to)| (*from..*to).contains(&now))
                    });
                }
                let cluster: Arc<dyn Cluster> = Arc::new(match max_latency.as_millis() as u64 {
                    0 => cluster,
                    // madsim's RNG, drawn in the order madsim runs the requests: seeded.
                    max => cluster.with_latency(move || Duration::from_millis(madsim::rand::random::<u64>() % (max + 1))),
                });
                let (executor, mut options) = (executor.clone(), options.clone());
                if let Some(election) = &mut options.leader_election {
                    let incarnation = incarnations.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    election.identity = format!("eno-{index}_{incarnation}");
                }
                async move {
                    let _eno = Eno::start(cluster, executor, options).await;
                    std::future::pending::<()>().await;
                }
            })
            .build();
        self.recorder.replica(node.id(), &format!("eno-{index}"));
        node.id()
    }

    /// Kills a replica: its tasks stop and its memory is lost.
    fn kill(&self, id: NodeId) {
        madsim::runtime::Handle::current().kill(id);
        self.recorder.replica_running(id, false);
    }

    /// Restarts a killed replica: Eno starts afresh.
    fn restart(&self, id: NodeId) {
        madsim::runtime::Handle::current().restart(id);
        self.recorder.replica_running(id, true);
    }

    /// Pauses a replica: none of its tasks runs, and what wakes them waits, until it resumes.
    fn pause(&self, id: NodeId) {
        madsim::runtime::Handle::current().pause(id);
        self.recorder.replica_running(id, false);
    }

    /// Resumes a paused replica where it stopped.
    fn resume(&self, id: NodeId) {
        madsim::runtime::Handle::current().resume(id);
        self.recorder.replica_running(id, true);
    }
}
