//! Eno's controllers, wired to the runtime seam: informers feed work queues, and each queue
//! drives one reconciler.
//!
//! - [`composition`]: finalizer, starting syntheses, slice cleanup, status, deletion;
//! - [`synthesis`]: running in-flight syntheses and recording their output;
//! - [`resources`]: keeping each managed resource converged;
//! - [`symphony`]: a symphony's compositions, one per variation, and its status.

mod composition;
mod defects;
mod resources;
mod symphony;
mod synthesis;
mod world;
mod writes;

pub use symphony::SymphonyKey;
#[cfg(madsim)]
pub use defects::Defects;
pub use world::{stable_uuid, CompositionKey, ResourceWorkKey};

use crate::api::{Composition, ResourceSlice, Synthesizer};
use crate::runtime::{run_controller, Cluster, Informer, WorkQueue};
use crate::synthesis::Executor;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use world::{gvk_composition, gvk_slice, gvk_symphony, gvk_synthesizer, World};

/// Tunables of a running Eno.
#[derive(Debug, Clone)]
pub struct Options {
    /// Syntheses that may run at once (Eno's default: 10).
    pub synthesis_concurrency: usize,
    /// Resource reconcilers working at once.
    pub reconcile_concurrency: usize,
    /// First and longest retry delay after a failed pass.
    pub backoff: (Duration, Duration),
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
            #[cfg(madsim)]
            defects: Defects::default(),
        }
    }
}

/// A running Eno: its informers and controller tasks stop when this is dropped.
pub struct Eno {
    world: Arc<World>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Eno {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn now() -> Time {
    Time(chrono_now())
}

/// The current time as `metav1.Time` wants it (whole seconds, like the API server stores).
fn chrono_now() -> k8s_openapi::jiff::Timestamp {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    k8s_openapi::jiff::Timestamp::from_second(secs).unwrap_or_default()
}

/// The symphony whose controller ownerReference the composition carries.
fn owner_symphony_key(comp: &Composition) -> Option<SymphonyKey> {
    let owner = crate::decide::symphony::owner_symphony(comp)?;
    Some(SymphonyKey { namespace: comp.metadata.namespace.clone().unwrap_or_default(), name: owner.name.clone() })
}

/// Index of the composition informer: the synthesizer a composition uses.
fn synthesizer_name(comp: &Value) -> Vec<String> {
    comp["spec"]["synthesizer"]["name"].as_str().map(str::to_string).into_iter().collect()
}

/// Index of the slice informer: the uids of a slice's owners.
fn owner_uids(slice: &Value) -> Vec<String> {
    slice["metadata"]["ownerReferences"].as_array().into_iter().flatten().filter_map(|o| o["uid"].as_str().map(str::to_string)).collect()
}

/// Queues every resource a composition's current and previous syntheses mention.
fn queue_resources(world: &World, comp: &Composition, queue: &WorkQueue<ResourceWorkKey>) {
    let key = CompositionKey::of(comp);
    for resource in world.resource_keys(comp) {
        queue.add(ResourceWorkKey { composition: key.clone(), resource });
    }
}

impl Eno {
    /// Starts the informers and controllers and waits for the caches to fill.
    pub async fn start(cluster: Arc<dyn Cluster>, executor: Arc<dyn Executor>, options: Options) -> Eno {
        let (base, max) = options.backoff;
        let comp_queue: Arc<WorkQueue<CompositionKey>> = Arc::new(WorkQueue::new(base, max));
        let synth_queue: Arc<WorkQueue<CompositionKey>> = Arc::new(WorkQueue::new(base, max));
        let resource_queue: Arc<WorkQueue<ResourceWorkKey>> = Arc::new(WorkQueue::new(base, max));
        let symphony_queue: Arc<WorkQueue<SymphonyKey>> = Arc::new(WorkQueue::new(base, max));
        // Informer callbacks need the world (to map a slice or synthesizer to compositions),
        // which needs the informers: the cell closes that loop once everything exists.
        let cell: Arc<OnceLock<std::sync::Weak<World>>> = Arc::new(OnceLock::new());

        let on_comp = {
            let (cq, sq, rq, yq, cell) = (comp_queue.clone(), synth_queue.clone(), resource_queue.clone(), symphony_queue.clone(), cell.clone());
            move |obj: &Value| {
                let Ok(comp) = serde_json::from_value::<Composition>(obj.clone()) else { return };
                if let Some(owner) = owner_symphony_key(&comp) {
                    yq.add(owner);
                }
                let key = CompositionKey::of(&comp);
                cq.add(key.clone());
                sq.add(key);
                if let Some(world) = cell.get().and_then(|w| w.upgrade()) {
                    queue_resources(&world, &comp, &rq);
                }
            }
        };
        let on_synth = {
            let (cq, cell) = (comp_queue.clone(), cell.clone());
            move |obj: &Value| {
                let Ok(synth) = serde_json::from_value::<Synthesizer>(obj.clone()) else { return };
                let Some(world) = cell.get().and_then(|w| w.upgrade()) else { return };
                for comp in world.compositions_using(synth.metadata.name.as_deref().unwrap_or_default()) {
                    cq.add(CompositionKey::of(&comp));
                }
            }
        };
        let on_slice = {
            let (cq, rq, cell) = (comp_queue.clone(), resource_queue.clone(), cell.clone());
            move |obj: &Value| {
                let Ok(slice) = serde_json::from_value::<ResourceSlice>(obj.clone()) else { return };
                let Some(owner) = slice.metadata.owner_references.iter().flatten().find(|o| o.kind == "Composition") else { return };
                let key = CompositionKey { namespace: slice.metadata.namespace.clone().unwrap_or_default(), name: owner.name.clone() };
                cq.add(key.clone());
                if let Some(world) = cell.get().and_then(|w| w.upgrade()) {
                    if let Some(comp) = world.composition(&key) {
                        queue_resources(&world, &comp, &rq);
                    }
                }
            }
        };

        let on_symphony = {
            let yq = symphony_queue.clone();
            move |obj: &Value| {
                let meta = &obj["metadata"];
                let (Some(namespace), Some(name)) = (meta["namespace"].as_str(), meta["name"].as_str()) else { return };
                yq.add(SymphonyKey { namespace: namespace.to_string(), name: name.to_string() });
            }
        };

        let world = Arc::new(World {
            compositions: Informer::start_indexed(cluster.clone(), gvk_composition(), None, synthesizer_name, on_comp),
            synthesizers: Informer::start(cluster.clone(), gvk_synthesizer(), None, on_synth),
            slices: Informer::start_indexed(cluster.clone(), gvk_slice(), None, owner_uids, on_slice),
            symphonies: Informer::start(cluster.clone(), gvk_symphony(), None, on_symphony),
            cluster,
            #[cfg(madsim)]
            defects: options.defects,
        });
        let _ = cell.set(Arc::downgrade(&world));
        world.synthesizers.wait_synced().await;
        world.slices.wait_synced().await;
        world.compositions.wait_synced().await;
        world.symphonies.wait_synced().await;
        // Events seen before the cell was set could not be fanned out: queue everything once.
        for comp in world.all_compositions() {
            let key = CompositionKey::of(&comp);
            comp_queue.add(key.clone());
            synth_queue.add(key);
            queue_resources(&world, &comp, &resource_queue);
        }

        let mut tasks = Vec::new();
        {
            let (w, q) = (world.clone(), symphony_queue.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("symphony", q, |key| symphony::reconcile(&w, key)).await;
            }));
        }
        {
            let (w, q) = (world.clone(), comp_queue.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("composition", q, |key| composition::reconcile(&w, key, now())).await;
            }));
        }
        for _ in 0..options.synthesis_concurrency.max(1) {
            let (w, q, e) = (world.clone(), synth_queue.clone(), executor.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("synthesis", q, |key| synthesis::reconcile(&w, &*e, key, now)).await;
            }));
        }
        for _ in 0..options.reconcile_concurrency.max(1) {
            let (w, q) = (world.clone(), resource_queue.clone());
            tasks.push(tokio::spawn(async move {
                run_controller("resource", q, |key| resources::reconcile(&w, key, now())).await;
            }));
        }
        Eno { world, tasks }
    }

    /// The cluster client the controllers use.
    pub fn cluster(&self) -> &Arc<dyn Cluster> {
        &self.world.cluster
    }
}
