//! One run: a madsim world for one scenario, seed, fault plan and set of deliberate defects.
//!
//! Nodes: the main node holds the fake API server (shared in memory, as a real one is shared
//! over the network), its garbage collector, the fault driver and the scenario's user; each
//! controller replica is a node of its own, so killing it loses its memory and restarting it
//! runs `Eno::start` afresh.

use crate::invariants::{Checker, Invariant, Violation};
use crate::plan::{Fault, FaultPlan};
use crate::scenario::{address_of, field, Action, Address, Expectations, Scenario};
use crate::trace::Trace;
use eno::controllers::{Defects, Eno, Options};
use eno::runtime::fake::{install_crds, FakeCluster};
use eno::runtime::{ClientError, ClientResult, Cluster, DeleteParams, Gvk, ObjectRef, Patch};
use eno::synthesis::{Executor, SimulatedExecutor, SynthesisError, SynthesisInput, SynthesisOutput};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::faults::Faults;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How long delayed watch events are let through between spells of delay.
const DELAY_BREAK: Duration = Duration::from_millis(200);

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
        .and_then(|t| t.join().map_err(|panic| std::io::Error::other(panic_message(&panic))));
    joined.unwrap_or_else(|e| Outcome {
        trace: Trace::new(),
        violations: vec![Violation { invariant: Invariant::NoPanic, at: Duration::ZERO, revision: None, message: format!("the simulation panicked: {e}") }],
        invocations: BTreeMap::new(),
        virtual_time: deadline,
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "unknown panic".into())
}

/// The checker and the trace, fed by the server's observer and by the executor.
struct Shared {
    checker: Checker,
    trace: Trace,
}

type Recorder = Arc<Mutex<Shared>>;

fn lock(shared: &Recorder) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Tells the checker about every synthesis before the simulated executor runs it.
struct RecordingExecutor {
    inner: SimulatedExecutor,
    shared: Recorder,
    start: Instant,
}

impl Executor for RecordingExecutor {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        lock(&self.shared).checker.synthesis_started(&input.uuid, &input.composition_key(), self.start.elapsed());
        self.inner.synthesize(input)
    }
}

async fn simulate(scenario: Arc<Scenario>, seed: u64, plan: FaultPlan, defects: Defects) -> Outcome {
    let handle = madsim::runtime::Handle::current();
    let start = Instant::now();
    let server = SharedApiServer::new(ApiServer::new(Config { seed, ..Config::default() }, Arc::new(SystemClock)));
    if let Err(e) = install_crds(&server) {
        return failed_setup(&scenario, format!("installing CRDs: {e}"));
    }
    let shared: Recorder = Arc::new(Mutex::new(Shared { checker: Checker::new(scenario.at_most_once.iter().cloned().collect()), trace: Trace::new() }));
    server.with(|s| lock(&shared).checker.seed(s));
    {
        let shared = shared.clone();
        server.observe(move |s, event| {
            let at = start.elapsed();
            let mut g = lock(&shared);
            g.trace.record(event, at);
            g.checker.observe(s, event, at);
        });
    }
    tokio::spawn(server.clone().run_garbage_collector(Duration::from_millis(500)));

    let simulated = SimulatedExecutor::new();
    for (name, behaviour) in &scenario.synthesizers {
        let b = behaviour.clone();
        simulated.set(name.clone(), move |input| b.synthesize(input));
        if let Some(delay) = behaviour.delay {
            simulated.set_delay(name.clone(), delay.0);
        }
    }
    let executor: Arc<dyn Executor> = Arc::new(RecordingExecutor { inner: simulated.clone(), shared: shared.clone(), start });
    let options = Options { synthesis_concurrency: 2, reconcile_concurrency: 2, defects, ..Options::default() };
    let max_latency = plan.max_latency();
    let replica = |name: &str| {
        let (server, executor, options) = (server.clone(), executor.clone(), options.clone());
        handle
            .create_node()
            .name(name)
            .init(move || {
                let cluster = FakeCluster::new(server.clone(), "eno");
                let cluster: Arc<dyn Cluster> = Arc::new(match max_latency.as_millis() as u64 {
                    0 => cluster,
                    // madsim's RNG, drawn in the order madsim runs the requests: seeded.
                    max => cluster.with_latency(move || Duration::from_millis(madsim::rand::random::<u64>() % (max + 1))),
                });
                let (executor, options) = (executor.clone(), options.clone());
                async move {
                    let _eno = Eno::start(cluster, executor, options).await;
                    std::future::pending::<()>().await;
                }
            })
            .build()
    };
    let primary = replica("eno-0");

    server.with(|s| s.set_faults(plan.server_faults()));
    let until = start + scenario.faults_until.0;
    let note = |text: String| {
        let shared = shared.clone();
        move || lock(&shared).trace.note(start.elapsed(), &text)
    };
    for fault in plan.faults.iter().cloned() {
        let server = server.clone();
        match fault {
            Fault::Crash { at, down } => {
                let (handle, id) = (handle.clone(), primary.id());
                let (crashed, restarted) = (note(format!("crash: replica 0 killed for {down:?}")), note("replica 0 restarted".into()));
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + at).await;
                    handle.kill(id);
                    crashed();
                    tokio::time::sleep_until((start + at + down).min(until)).await;
                    handle.restart(id);
                    restarted();
                });
            }
            Fault::SecondReplica { at } => {
                let second = replica("eno-1");
                let (handle, id) = (handle.clone(), second.id());
                handle.kill(id);
                let (started, stopped) = (note("second replica started (split brain)".into()), note("second replica stopped".into()));
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + at).await;
                    handle.restart(id);
                    started();
                    tokio::time::sleep_until(until).await;
                    handle.kill(id);
                    stopped();
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
            _ => {}
        }
    }
    {
        let (server, ended) = (server.clone(), note("faults stop".into()));
        let (any, heal) = (!plan.faults.is_empty(), plan.drops_events());
        tokio::spawn(async move {
            tokio::time::sleep_until(until).await;
            server.with(|s| s.set_faults(Faults::none()));
            if heal {
                heal_caches(&server);
            }
            if any {
                ended();
            }
        });
    }

    let user = FakeCluster::new(server.clone(), "user");
    let (mut problems, mut stuck) = (Vec::new(), Vec::new());
    for obj in &scenario.objects {
        if let Err(e) = user_step(&user, &shared, &Action::Apply(obj.clone())).await {
            problems.push(e);
        }
    }
    // Stops early once an invariant broke: the rest of the run could only bury the violation.
    let mut finished = true;
    for step in &scenario.steps {
        if !wait_until(start + step.at.0, &shared).await {
            finished = false;
            break;
        }
        if let Some(condition) = &step.wait_for {
            while !unmet_expectations(condition, &server, &simulated, false).is_empty() {
                if Instant::now() >= start + scenario.deadline.0 {
                    stuck.push(format!("the condition of the step at {:?} never held: {}", step.at.0, unmet_expectations(condition, &server, &simulated, false).join("; ")));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if let Err(e) = user_step(&user, &shared, &step.action).await {
            problems.push(e);
        }
    }
    finished = finished && wait_until(start + scenario.deadline.0, &shared).await;
    if finished {
        stuck.extend(unmet_expectations(&scenario.expect, &server, &simulated, plan.faults.is_empty()));
        stuck.extend(unsettled_compositions(&server));
    }

    let mut g = lock(&shared);
    let at = start.elapsed();
    for p in problems {
        g.checker.report(Invariant::NoPanic, at, None, p);
    }
    if !stuck.is_empty() {
        g.checker.report(Invariant::Convergence, at, None, stuck.join("; "));
    }
    Outcome { trace: g.trace.clone(), violations: g.checker.violations().to_vec(), invocations: simulated.all_invocations(), virtual_time: at }
}

/// Makes every informer relist: a write moves the revision past every watch's position, and
/// compacting to it makes each resuming watch expire (410). Only after dropped watch events,
/// which leave caches stale until a relist.
fn heal_caches(server: &SharedApiServer) {
    let marker = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "simulator-heal", "namespace": "kube-system"}});
    // Separate calls: observers must see the marker's event before compaction forgets it.
    server.with(|s| {
        let created = s.target_for("v1", "ConfigMap", Some("kube-system"), None).and_then(|t| s.create(&t, marker, &Default::default()));
        if let Err(e) = created {
            tracing::warn!(error = %e, "could not write the cache-healing marker");
        }
    });
    server.with(|s| {
        s.compact(s.revision());
        s.close_watches();
    });
}

fn failed_setup(scenario: &Scenario, message: String) -> Outcome {
    Outcome {
        trace: Trace::new(),
        violations: vec![Violation { invariant: Invariant::NoPanic, at: Duration::ZERO, revision: None, message }],
        invocations: BTreeMap::new(),
        virtual_time: scenario.deadline.0,
    }
}

/// How often a waiting user checks whether the run already failed.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// Sleeps until `t`; false (early) once the checker has found a violation.
async fn wait_until(t: Instant, shared: &Recorder) -> bool {
    loop {
        if !lock(shared).checker.violations().is_empty() {
            return false;
        }
        let now = Instant::now();
        if now >= t {
            return true;
        }
        tokio::time::sleep_until(t.min(now + CHECK_EVERY)).await;
    }
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

fn object_ref(a: &Address) -> ObjectRef {
    ObjectRef::new(Gvk::new(&a.api_version, &a.kind), a.namespace.as_deref(), &a.name)
}

/// One user action, retried like a patient operator would through injected errors. The fake
/// cluster answers without yielding, so the checker's `user_acting` covers exactly the call.
async fn user_step(user: &FakeCluster, shared: &Recorder, action: &Action) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..100 {
        lock(shared).checker.user_acting = true;
        let result = attempt(user, action).await;
        lock(shared).checker.user_acting = false;
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() || e.is_conflict() => last = e.to_string(),
            Err(e) => return Err(format!("user step {action:?} failed: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("user step {action:?} kept failing: {last}"))
}

async fn attempt(user: &FakeCluster, action: &Action) -> ClientResult<()> {
    match action {
        Action::Apply(obj) => {
            let Some(address) = address_of(obj) else { return Err(ClientError::Transport("object without an address".into())) };
            let r = object_ref(&address);
            match user.get(&r).await? {
                Some(_) => user.patch(&r, &Patch::merge(obj.clone())).await.map(|_| ()),
                None => user.create(obj).await.map(|_| ()),
            }
        }
        Action::Patch { target, merge } => user.patch(&object_ref(target), &Patch::merge(merge.clone())).await.map(|_| ()),
        Action::Delete(target) => match user.delete(&object_ref(target), &DeleteParams::default()).await {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(|_| ()),
        },
    }
}

/// What every scenario expects once faults have long stopped: no composition still synthesizing
/// or being deleted, and every composition's current synthesis reconciled (unless it failed).
fn unsettled_compositions(server: &SharedApiServer) -> Vec<String> {
    let listed = server.with(|s| s.target_for(eno::api::API_VERSION, "Composition", None, None).and_then(|t| s.list(&t, &Default::default())));
    let items = match listed {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        Err(e) => return vec![format!("listing compositions: {e}")],
    };
    let mut unsettled = Vec::new();
    for comp in items {
        let Ok(comp) = serde_json::from_value::<eno::api::Composition>(comp) else { continue };
        let name = format!("{}/{}", comp.metadata.namespace.clone().unwrap_or_default(), comp.metadata.name.clone().unwrap_or_default());
        let status = comp.status.clone().unwrap_or_default();
        if comp.metadata.deletion_timestamp.is_some() {
            unsettled.push(format!("composition {name} is still being deleted"));
        } else if status.in_flight_synthesis.as_ref().is_some_and(eno::decide::synthesis::is_running) {
            unsettled.push(format!("composition {name} is still synthesizing"));
        } else if let Some(current) = status.current_synthesis.as_ref().filter(|c| !eno::decide::synthesis::is_failed(c)) {
            if current.reconciled.is_none() {
                unsettled.push(format!("composition {name} is not reconciled"));
            }
        } else if status.current_synthesis.is_none() {
            unsettled.push(format!("composition {name} was never synthesized"));
        }
    }
    unsettled
}

/// The scenario's expectations the server's state does not meet.
fn unmet_expectations(expect: &Expectations, server: &SharedApiServer, executor: &SimulatedExecutor, fault_free: bool) -> Vec<String> {
    let get = |a: &Address| server.with(|s| s.target_for(&a.api_version, &a.kind, a.namespace.as_deref(), Some(&a.name)).and_then(|t| s.get(&t, None)).ok());
    let mut unmet = Vec::new();
    for e in &expect.present {
        let Some(obj) = get(&e.address) else {
            unmet.push(format!("{} is missing", e.address));
            continue;
        };
        for (path, want) in &e.fields {
            let got = field(&obj, path);
            if got != Some(want) {
                unmet.push(format!("{} has {path} = {}, want {want}", e.address, got.map_or("nothing".into(), |v| v.to_string())));
            }
        }
    }
    for a in &expect.absent {
        if get(a).is_some() {
            unmet.push(format!("{a} still exists"));
        }
    }
    for a in &expect.deleting {
        match get(a) {
            None => unmet.push(format!("{a} is missing")),
            Some(obj) if obj["metadata"]["deletionTimestamp"].is_null() => unmet.push(format!("{a} is not being deleted")),
            Some(_) => {}
        }
    }
    let composition = |key: &str| {
        let (namespace, name) = key.split_once('/').unwrap_or(("default", key));
        get(&Address { api_version: eno::api::API_VERSION.into(), kind: "Composition".into(), namespace: Some(namespace.into()), name: name.into() })
    };
    for key in &expect.synthesizing {
        let in_flight = composition(key).map(|c| c["status"]["inFlightSynthesis"].clone()).unwrap_or_default();
        if !in_flight.is_object() || !in_flight["synthesized"].is_null() || !in_flight["canceled"].is_null() {
            unmet.push(format!("composition {key} has no synthesis running"));
        }
    }
    for (key, want) in &expect.compositions {
        let status = composition(key).map(|c| c["status"]["simplified"]["status"].as_str().unwrap_or("(none)").to_string());
        if status.as_deref() != Some(want.as_str()) {
            unmet.push(format!("composition {key} is {}, want {want}", status.unwrap_or_else(|| "missing".into())));
        }
    }
    if fault_free {
        for (name, want) in &expect.invocations {
            let got = executor.invocations(name);
            if got != *want {
                unmet.push(format!("synthesizer {name} ran {got} times, want {want}"));
            }
        }
    }
    unmet
}

/// A seed's run that broke an invariant, shrunk to the smallest fault plan that still breaks
/// the same one.
#[derive(Debug, Clone)]
pub struct Failure {
    pub scenario: String,
    pub seed: u64,
    pub plan: FaultPlan,
    pub outcome: Outcome,
    pub shrunk: Option<(FaultPlan, Outcome)>,
}

impl Failure {
    /// The violation to report: the shrunk run's if there is one.
    pub fn violation(&self) -> &Violation {
        let outcome = self.shrunk.as_ref().map_or(&self.outcome, |(_, o)| o);
        outcome.first_violation().or(self.outcome.first_violation()).expect("a failure has a violation")
    }

    /// What a person needs to understand and replay the failure.
    pub fn report(&self, trace_lines: usize) -> String {
        let mut out = format!("FAILED scenario {} seed {}\n  fault plan: {}\n", self.scenario, self.seed, self.plan);
        let outcome = match &self.shrunk {
            Some((plan, outcome)) => {
                out.push_str(&format!("  shrunk to:  {plan}\n"));
                outcome
            }
            None => &self.outcome,
        };
        out.push_str(&format!("  violation:  {}\n", self.violation()));
        out.push_str(&format!("  replay:     simulate --scenario {} --seed {}\n  trace (last {trace_lines} lines):\n", self.scenario, self.seed));
        for line in outcome.trace.tail(trace_lines) {
            out.push_str(&format!("    {line}\n"));
        }
        out
    }
}

/// Runs `seed` with its swarm plan; on a violation, shrinks the plan (re-running the same seed
/// with subsets of its faults) to a minimal one that breaks the same invariant.
pub fn check_seed(scenario: &Arc<Scenario>, seed: u64, defects: Defects, shrink: bool) -> Result<Outcome, Box<Failure>> {
    let plan = FaultPlan::swarm(seed, scenario.faults_until.0);
    let outcome = run(scenario.clone(), seed, plan.clone(), defects);
    let Some(violation) = outcome.first_violation().cloned() else { return Ok(outcome) };
    let shrunk = shrink.then(|| {
        let breaks = |faults: &[Fault]| {
            let o = run(scenario.clone(), seed, FaultPlan { faults: faults.to_vec() }, defects);
            o.violations.iter().any(|v| v.invariant == violation.invariant)
        };
        let faults = crate::shrink::ddmin(&plan.faults, breaks);
        let smaller = FaultPlan { faults };
        let outcome = run(scenario.clone(), seed, smaller.clone(), defects);
        (smaller, outcome)
    });
    Err(Box::new(Failure { scenario: scenario.name.clone(), seed, plan, outcome, shrunk }))
}

/// The deliberate defects the checker must catch, by name, with the scenario that exposes each
/// and the invariant it breaks.
pub const DEFECTS: &[(&str, &str, Invariant)] = &[
    ("retry-failed-synthesis", "failed-synthesis", Invariant::NoRetryStorm),
    ("early-finalizer-removal", "deleted-mid-synthesis", Invariant::DeletionOrdering),
    ("unfenced-synthesis-claim", "deleted-mid-synthesis", Invariant::NoRetryStorm),
    ("cached-create-check", "deleted-mid-synthesis", Invariant::DeletionOrdering),
    ("set-before-prune", "symphony-migration", Invariant::AtMostOnceAnnotation),
];

/// The controller defects switched on by `name` (see [`DEFECTS`]).
pub fn defects_named(name: &str) -> Option<Defects> {
    let mut d = Defects::default();
    match name {
        "retry-failed-synthesis" => d.retry_failed_synthesis = true,
        "early-finalizer-removal" => d.early_finalizer_removal = true,
        "unfenced-synthesis-claim" => d.unfenced_synthesis_claim = true,
        "cached-create-check" => d.cached_create_check = true,
        "set-before-prune" => d.set_before_prune = true,
        _ => return None,
    }
    Some(d)
}
