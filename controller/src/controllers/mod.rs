//! Eno's controllers: each reconciler is a **pure decision plus a thin interpreter**.
//!
//! ```text
//!   informer caches ──► observed state ──► decide::… (pure) ──► step
//!                            ▲                                  │
//!                            └────────── fresh read ◄───────────┤
//!                                                               └──► writes::execute ──► API
//! ```
//!
//! A pass gathers what it needs from the informer caches ([`world::World`]), calls its
//! decision in [`crate::decide`], and carries out the one step the decision names: a write
//! (made through the single write executor, [`writes::execute`], with the optimistic-concurrency
//! guard the decision chose), an uncached read to make before deciding again, a requeue, or
//! nothing. The synthesis runner's steps also include running the synthesizer.
//!
//! - [`composition`]: finalizer, recording inputs, starting (and retrying) syntheses,
//!   self-healing, slice cleanup, status, deletion; [`inputs`] watches the inputs' kinds;
//! - [`synthesis`]: claiming and running in-flight syntheses and recording their output;
//! - [`resources`]: keeping each managed resource converged;
//! - [`symphony`]: a symphony's compositions, one per variation, and its status.
//!
//! Module dependencies run one way: [`keys`] (what the queues hold) ← [`world`] (observed
//! state) ← the reconcilers ← this module; [`writes`] (the executor) depends on nothing else
//! here and is used by every reconciler. This module wires informers to work queues through
//! named mapper functions (`compositions_of_synthesizer`, `composition_of_slice`, ...), routed
//! by [`Router`].

mod composition;
mod decoded;
mod defects;
mod inputs;
mod keys;
mod manifests;
mod refusals;
mod resources;
mod slice_status;
mod symphony;
mod synthesis;
mod world;
mod writes;

#[cfg(madsim)]
pub use defects::{Defects, Fence};
pub use keys::{CompositionKey, ResourceWorkKey, SymphonyKey};

use crate::api::{Composition, ResourceSlice, Symphony, Synthesizer};
use crate::decide::shard::Shard;
use crate::decide::step::gvk;
use crate::decide::symphony::owner_symphony;
use crate::runtime::leader_election::{ElectionConfig, Elector, LeaderOnly, Leadership};
use crate::runtime::{run_controller, Cached, Cluster, Gvk, Informer, ListParams, ListSemantic, Metrics, TokenBucket, WorkQueue};
use crate::synthesis::Executor;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::{Arc, Weak};
use std::time::Duration;
use world::World;

/// Tunables of a running Eno.
#[derive(Debug, Clone)]
pub struct Options {
    /// Syntheses that may run at once (Eno's default: 10).
    pub synthesis_concurrency: usize,
    /// Resource reconcilers working at once.
    pub reconcile_concurrency: usize,
    /// First and longest retry delay after a failed pass.
    pub backoff: (Duration, Duration),
    /// How the informers list (at start and on every relist). `Any` is cheaper for large
    /// clusters but may hand a cache a state older than one it already saw; decisions that need
    /// fresh state re-read it uncached either way.
    pub list_semantic: ListSemantic,
    /// Added to the wall clock wherever Eno stamps or compares times (claims, conditions,
    /// intervals), in milliseconds, signed: a replica whose clock is off.
    pub clock_offset_millis: i64,
    /// Report compositions stuck mid-transition longer than this (Eno's
    /// `--watchdog-threshold`, 3 minutes in `eno run` and `eno dev`); `None`: no watchdog.
    pub watchdog_threshold: Option<Duration>,
    /// At most one deferred synthesis (a synthesizer change, a change to a `defer: true` input)
    /// starts per this long, across replicas (Eno's `--rollout-cooldown`: 1 minute in `eno run`
    /// and `eno dev`); zero: no pacing.
    pub rollout_cooldown: Duration,
    /// The namespace of the rollout slot's Lease (`eno-rollout`).
    pub rollout_namespace: String,
    /// A lost slice of the current synthesis is healed (one more synthesis is asked for) only
    /// once the synthesis is this old (Eno's `--self-healing-grace-period`; its 5 minutes are
    /// `eno run`'s default, 5 seconds here and in `eno dev`, so a lost slice heals within
    /// seconds in the simulator and while trying things out).
    pub self_healing_grace: Duration,
    /// Writes a second recording input changes in compositions' `status.inputRevisions`, at
    /// most `input_qps` at once after a quiet spell (Eno's `--input-qps`, 10 in `eno run`; its
    /// input controllers write these); a pass refused its token looks again once one is there.
    /// 0: unlimited.
    pub input_qps: f64,
    /// Which compositions, symphonies and resources this controller handles (Eno's
    /// `--composition-namespace`, `--composition-label-selector`, `--resource-filter`;
    /// everything by default).
    pub shard: Shard,
    /// Where the controllers count and time their work (a fresh set by default; `eno run`
    /// passes the one it serves on `/metrics`).
    pub metrics: Arc<Metrics>,
    /// Campaign for this Lease and work only while holding it
    /// ([`crate::runtime::leader_election`]); `None`: every replica works (the fenced writes
    /// keep that safe, at the cost of doing everything twice).
    pub leader_election: Option<ElectionConfig>,
    /// Deliberate bugs for the simulator's checker tests (simulation build only).
    #[cfg(madsim)]
    pub defects: Defects,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            synthesis_concurrency: 10,
            reconcile_concurrency: 4,
            backoff: (Duration::from_millis(50), Duration::from_secs(60)),
            list_semantic: ListSemantic::MostRecent,
            clock_offset_millis: 0,
            watchdog_threshold: None,
            rollout_cooldown: Duration::ZERO,
            rollout_namespace: "default".to_string(),
            self_healing_grace: Duration::from_secs(5),
            input_qps: 0.0,
            shard: Shard::default(),
            metrics: Arc::default(),
            leader_election: None,
            #[cfg(madsim)]
            defects: Defects::default(),
        }
    }
}

/// A running Eno: its informers and controller tasks stop when this is dropped.
pub struct Eno {
    world: Arc<World>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// This replica's campaign, when there is an election.
    elector: Option<Arc<Elector>>,
    leadership: Arc<Leadership>,
}

impl Drop for Eno {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Looks at every cached composition each half threshold (at least every second) and reports
/// the ones stuck mid-transition ([`crate::decide::watchdog::stuck`]).
async fn watchdog(world: &World, threshold: Duration, offset: i64) {
    let every = (threshold / 2).max(Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        let at = now(offset);
        let mut count: i64 = 0;
        for comp in world.all_compositions() {
            if let Some(why) = crate::decide::watchdog::stuck(&comp, &at, threshold) {
                count += 1;
                tracing::warn!(composition = %CompositionKey::of(&comp), %why, "composition stuck longer than the watchdog threshold");
            }
        }
        world.metrics.compositions_stuck.set(count);
    }
}

/// The current time, `offset_millis` off the wall clock, as `metav1.Time` wants it (whole
/// seconds, like the API server stores).
fn now(offset_millis: i64) -> Time {
    let millis = crate::runtime::wall_clock_millis(offset_millis);
    Time(k8s_openapi::jiff::Timestamp::from_second(millis.div_euclid(1000)).unwrap_or_default())
}

/// Index of the composition informer: the synthesizer a composition uses.
/// Index of the composition informer: its synthesizer's name, and `dependsOn:NAMESPACE/NAME`
/// for each composition it depends on (no synthesizer name holds a colon).
fn composition_index(comp: &Value) -> Vec<String> {
    let synthesizer = comp["spec"]["synthesizer"]["name"].as_str().map(str::to_string);
    let own = comp["metadata"]["namespace"].as_str().unwrap_or_default();
    let depends_on: Vec<crate::api::CompositionRef> = typed(&comp["spec"]["dependsOn"]).unwrap_or_default();
    let dependencies = depends_on.iter().map(|d| format!("{DEPENDS_ON_INDEX}{}", crate::decide::dependencies::key(d, own)));
    synthesizer.into_iter().chain(dependencies).collect()
}

/// The composition index's prefix for the compositions one depends on.
pub(crate) const DEPENDS_ON_INDEX: &str = "dependsOn:";

/// Index of the slice informer: the uids of a slice's owners.
fn owner_uids(slice: &Value) -> Vec<String> {
    slice["metadata"]["ownerReferences"].as_array().into_iter().flatten().filter_map(|o| o["uid"].as_str().map(str::to_string)).collect()
}

/// The symphony whose controller ownerReference the composition carries.
fn symphony_of_composition(comp: &Composition) -> Option<SymphonyKey> {
    let owner = owner_symphony(comp)?;
    Some(SymphonyKey { namespace: comp.metadata.namespace.clone().unwrap_or_default(), name: owner.name.clone() })
}

/// Every cached composition using the synthesizer.
fn compositions_of_synthesizer(world: &World, synth: &Synthesizer) -> Vec<CompositionKey> {
    world.compositions_using(synth.metadata.name.as_deref().unwrap_or_default()).iter().map(|c| CompositionKey::of(c)).collect()
}

/// Every cached composition bound to the input `obj` of kind `gvk`.
fn compositions_bound_to(world: &World, gvk: &Gvk, obj: &Value) -> Vec<CompositionKey> {
    let (namespace, name) = (obj["metadata"]["namespace"].as_str(), obj["metadata"]["name"].as_str().unwrap_or_default());
    // Many compositions share a synthesizer: each is decoded from the cache once.
    let mut synthesizers: std::collections::BTreeMap<String, Option<Arc<Synthesizer>>> = std::collections::BTreeMap::new();
    world
        .all_compositions()
        .into_iter()
        .filter(|comp| {
            let synth = synthesizers.entry(comp.spec.synthesizer.name.clone()).or_insert_with_key(|n| world.synthesizer(n));
            let Some(synth) = synth else { return false };
            let bound = crate::decide::inputs::bind(comp, synth).unwrap_or_default();
            bound.iter().any(|b| &b.target.gvk == gvk && b.target.name == name && (b.target.namespace.is_none() || b.target.namespace.as_deref() == namespace))
        })
        .map(|comp| CompositionKey::of(&comp))
        .collect()
}

/// The kinds the cached synthesizers' refs name.
fn input_kinds(world: &World) -> std::collections::BTreeSet<Gvk> {
    world.all_synthesizers().iter().flat_map(|s| &s.spec.refs).map(|r| Gvk::new(&r.resource.api_version(), &r.resource.kind)).collect()
}

/// The composition owning the slice.
fn composition_of_slice(slice: &ResourceSlice) -> Option<CompositionKey> {
    let owner = slice.metadata.owner_references.iter().flatten().find(|o| o.kind == "Composition")?;
    Some(CompositionKey { namespace: slice.metadata.namespace.clone().unwrap_or_default(), name: owner.name.clone() })
}

/// Every resource a composition's current and previous syntheses mention.
fn resources_of_composition(world: &World, comp: &Composition) -> Vec<ResourceWorkKey> {
    let key = CompositionKey::of(comp);
    world.resource_keys(comp).into_iter().map(|resource| ResourceWorkKey { composition: key.clone(), resource }).collect()
}

/// The symphony's own key (read raw: whatever its spec, a symphony's change is queued).
fn symphony_key(symphony: &Value) -> Option<SymphonyKey> {
    let meta = &symphony["metadata"];
    Some(SymphonyKey { namespace: meta["namespace"].as_str()?.to_string(), name: meta["name"].as_str()?.to_string() })
}

/// The work queues, one per reconciler.
#[derive(Clone)]
struct Queues {
    compositions: Arc<WorkQueue<CompositionKey>>,
    syntheses: Arc<WorkQueue<CompositionKey>>,
    resources: Arc<WorkQueue<ResourceWorkKey>>,
    symphonies: Arc<WorkQueue<SymphonyKey>>,
}

/// Routes informer events to work queues through the mapper functions above. Mapping a slice
/// or a synthesizer to compositions reads the caches, which are the informers this routes for,
/// so it holds the world weakly; events before the world exists are covered by queueing
/// everything once the caches have synced.
struct Router {
    queues: Queues,
    world: Weak<World>,
}

fn typed<T: DeserializeOwned>(obj: &Value) -> Option<T> {
    T::deserialize(obj).ok()
}

impl Router {
    fn world(&self) -> Option<Arc<World>> {
        self.world.upgrade()
    }

    fn composition_changed(&self, obj: &Cached) {
        let Some(world) = self.world() else { return };
        // Decoded into the cache the controllers read: the pass this change queues finds it.
        let Some(comp) = world.decoded.compositions.typed(obj.clone()) else { return };
        if let Some(owner) = symphony_of_composition(&comp) {
            self.queues.symphonies.add(owner);
        }
        let key = CompositionKey::of(&comp);
        self.queues.compositions.add(key.clone());
        self.queues.syntheses.add(key.clone());
        if world.composition(&key).is_none() {
            world.without_dependents.lock().unwrap_or_else(|p| p.into_inner()).remove(comp.metadata.uid.as_deref().unwrap_or_default());
        }
        resources_of_composition(&world, &comp).into_iter().for_each(|k| self.queues.resources.add(k));
        // Its readiness may let the compositions depending on it synthesize; its going may let
        // the ones it depends on finish their deletion.
        for dependent in world.dependents_of(&key) {
            self.queues.compositions.add(CompositionKey::of(&dependent));
        }
        for dependency in crate::decide::dependencies::dependencies_of(&comp).iter().filter_map(|d| CompositionKey::parse(d)) {
            if let Some(found) = world.composition(&dependency) {
                resources_of_composition(&world, &found).into_iter().for_each(|k| self.queues.resources.add(k));
            }
            self.queues.compositions.add(dependency);
        }
    }

    fn synthesizer_changed(&self, obj: &Cached) {
        let Some(world) = self.world() else { return };
        let Some(synth) = world.decoded.synthesizers.typed(obj.clone()) else { return };
        compositions_of_synthesizer(&world, &synth).into_iter().for_each(|k| self.queues.compositions.add(k));
        // A kind no synthesizer refers to any more is not watched any more.
        world.inputs.retain(&input_kinds(&world));
    }

    fn slice_changed(&self, obj: &Cached) {
        let Some(world) = self.world() else { return };
        let Some(slice) = world.decoded.slices.typed(obj.clone()) else { return };
        let Some(key) = composition_of_slice(&slice) else { return };
        self.queues.compositions.add(key.clone());
        if let Some(comp) = world.composition(&key) {
            resources_of_composition(&world, &comp).into_iter().for_each(|k| self.queues.resources.add(k));
        }
    }

    /// An input changed: the compositions bound to it look again.
    fn input_changed(&self, gvk: &Gvk, obj: &Cached) {
        let Some(world) = self.world() else { return };
        compositions_bound_to(&world, gvk, obj).into_iter().for_each(|k| self.queues.compositions.add(k));
    }

    fn symphony_changed(&self, obj: &Cached) {
        if let Some(key) = symphony_key(obj) {
            self.queues.symphonies.add(key);
        }
    }
}

impl Eno {
    /// Starts the informers and controllers and waits for the caches to fill.
    pub async fn start(cluster: Arc<dyn Cluster>, executor: Arc<dyn Executor>, options: Options) -> Eno {
        Eno::start_with(cluster, |_| executor, options).await
    }

    /// [`Eno::start`], with an executor made from the client the controllers write with (which,
    /// under leader election, refuses writes while this replica follows): an executor that
    /// writes (synthesis pods) must use that one.
    pub async fn start_with(cluster: Arc<dyn Cluster>, executor: impl FnOnce(Arc<dyn Cluster>) -> Arc<dyn Executor>, options: Options) -> Eno {
        let (leadership, elector) = match &options.leader_election {
            None => (Leadership::unelected(), None),
            Some(config) => {
                let leadership = Leadership::elected();
                #[allow(unused_mut)]
                let mut elector = Elector::new(cluster.clone(), config.clone(), leadership.clone(), options.metrics.clone(), options.clock_offset_millis);
                #[cfg(madsim)]
                {
                    elector.ignore_renew_deadline = options.defects.ignore_renew_deadline;
                }
                (leadership, Some(Arc::new(elector)))
            }
        };
        let cluster: Arc<dyn Cluster> = match leadership.is_elected() {
            false => cluster,
            true => {
                #[allow(unused_mut)]
                let mut gated = LeaderOnly::new(cluster, leadership.clone());
                #[cfg(madsim)]
                {
                    gated.open = options.defects.followers_write;
                }
                Arc::new(gated)
            }
        };
        let executor = executor(cluster.clone());
        let (base, max) = options.backoff;
        let metrics = options.metrics.clone();
        let queues = Queues {
            compositions: Arc::new(WorkQueue::new(base, max).with_metrics(metrics.queue("composition"))),
            syntheses: Arc::new(WorkQueue::new(base, max).with_metrics(metrics.queue("synthesis"))),
            resources: Arc::new(WorkQueue::new(base, max).with_metrics(metrics.queue("resource"))),
            symphonies: Arc::new(WorkQueue::new(base, max).with_metrics(metrics.queue("symphony"))),
        };
        // The informers' routes read the caches the informers fill: the world is built
        // knowing its own (weak) address, which resolves once it exists.
        let world = Arc::new_cyclic(|world: &Weak<World>| {
            let router = Arc::new(Router { queues: queues.clone(), world: world.clone() });
            let on = |changed: fn(&Router, &Cached)| {
                let router = router.clone();
                move |obj: &Cached| changed(&router, obj)
            };
            // The shard's compositions (and their slices, and its symphonies) are all this
            // replica lists and watches; synthesizers (cluster-scoped) and inputs (bound from
            // anywhere) are watched everywhere.
            let all = ListParams { semantic: options.list_semantic, ..ListParams::default() };
            let selected = ListParams { label_selector: options.shard.label_selector(), ..all.clone() };
            let namespace = options.shard.namespace().map(str::to_string);
            World {
                compositions: Informer::start_indexed(cluster.clone(), gvk::<Composition>(), namespace.clone(), selected.clone(), composition_index, on(Router::composition_changed)),
                synthesizers: Informer::start(cluster.clone(), gvk::<Synthesizer>(), None, all.clone(), on(Router::synthesizer_changed)),
                slices: Informer::start_indexed(cluster.clone(), gvk::<ResourceSlice>(), namespace.clone(), all.clone(), owner_uids, on(Router::slice_changed)),
                symphonies: Informer::start(cluster.clone(), gvk::<Symphony>(), namespace, selected, on(Router::symphony_changed)),
                inputs: inputs::InputWatches::new({
                    let (cluster, router) = (cluster.clone(), router.clone());
                    move |kind: &Gvk| {
                        let (router, watched) = (router.clone(), kind.clone());
                        Informer::start(cluster.clone(), kind.clone(), None, all.clone(), move |obj: &Cached| router.input_changed(&watched, obj))
                    }
                }),
                cluster,
                claims: Default::default(),
                cancellations: Default::default(),
                unpersisted: Default::default(),
                rollout: world::RolloutSlot::new(options.rollout_cooldown, &options.rollout_namespace),
                without_dependents: Default::default(),
                slice_status: Default::default(),
                refused: Default::default(),
                shard: options.shard.clone(),
                self_healing_grace: options.self_healing_grace,
                input_writes: (options.input_qps > 0.0).then(|| TokenBucket::new(options.input_qps, options.input_qps.ceil() as u32)),
                metrics: metrics.clone(),
                decoded: Default::default(),
                manifests: Default::default(),
                #[cfg(madsim)]
                defects: options.defects,
            }
        });
        world.synthesizers.wait_synced().await;
        world.slices.wait_synced().await;
        world.compositions.wait_synced().await;
        world.symphonies.wait_synced().await;
        // Events seen before the world existed could not be fanned out: queue everything once.
        for comp in world.all_compositions() {
            let key = CompositionKey::of(&comp);
            queues.compositions.add(key.clone());
            queues.syntheses.add(key);
            resources_of_composition(&world, &comp).into_iter().for_each(|k| queues.resources.add(k));
        }

        let offset = options.clock_offset_millis;
        let mut tasks = Vec::new();
        if let Some(elector) = &elector {
            let elector = elector.clone();
            tasks.push(tokio::spawn(async move { elector.run().await }));
        }
        {
            let (w, q, l) = (world.clone(), queues.symphonies.clone(), leadership.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("symphony", q, w.metrics.clone(), &l, |key| symphony::reconcile(&w, key)).await;
            }));
        }
        {
            let (w, q, l) = (world.clone(), queues.compositions.clone(), leadership.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("composition", q, w.metrics.clone(), &l, |key| composition::reconcile(&w, key, now(offset))).await;
            }));
        }
        for _ in 0..options.synthesis_concurrency.max(1) {
            let (w, q, e, l) = (world.clone(), queues.syntheses.clone(), executor.clone(), leadership.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("synthesis", q, w.metrics.clone(), &l, |key| synthesis::reconcile(&w, &*e, key, move || now(offset))).await;
            }));
        }
        for _ in 0..options.reconcile_concurrency.max(1) {
            let (w, q, l) = (world.clone(), queues.resources.clone(), leadership.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("resource", q, w.metrics.clone(), &l, |key| resources::reconcile(&w, key, now(offset))).await;
            }));
        }
        {
            let (w, l) = (world.clone(), leadership.clone());
            tasks.push(tokio::spawn(async move { slice_status::run_flusher(&w, &l).await }));
        }
        if let Some(threshold) = options.watchdog_threshold {
            let w = world.clone();
            tasks.push(tokio::spawn(async move { watchdog(&w, threshold, offset).await }));
        }
        Eno { world, tasks, elector, leadership }
    }

    /// Stops the controllers, then releases the leader election Lease if this replica holds it,
    /// so another replica takes over at once (SIGTERM).
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(elector) = &self.elector {
            elector.release().await;
        }
    }

    /// Whether this replica's controllers are working: it holds the Lease (or there is no
    /// election).
    pub fn is_leading(&self) -> bool {
        self.leadership.is_leading()
    }

    /// Compositions stuck mid-transition longer than the watchdog threshold, at its last look
    /// (0 without a watchdog): `eno_compositions_stuck`.
    pub fn stuck_compositions(&self) -> usize {
        usize::try_from(self.world.metrics.compositions_stuck.get()).unwrap_or(0)
    }

    /// This Eno's metrics (also the ones given in [`Options::metrics`]).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.world.metrics
    }

    /// The cluster client the controllers use.
    pub fn cluster(&self) -> &Arc<dyn Cluster> {
        &self.world.cluster
    }
}
