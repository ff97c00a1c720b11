//! What the controllers observe: the informer caches of Eno's kinds, read typed, and the
//! cluster client for the uncached reads a decision asks for (and for the write executor).
//! Depends only on [`super::keys`] (and, in the simulation build, the planted defects).

use super::decoded::Decoded;
use super::defects::Fence;
use super::keys::{CompositionKey, SymphonyKey};
use crate::api::{Composition, ResourceSlice, Symphony, Synthesizer};
use crate::decide::ResourceKey;
use crate::decide::step::Write;
use crate::decide::synthesis::runner::Run;
use crate::runtime::{ClientError, ClientResult, Cluster, Informer, ObjectRef};
use serde::de::DeserializeOwned;
use serde_json::Value;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A manifest's place: which slice, which index, and its parsed object.
#[derive(Debug, Clone)]
pub struct SliceEntry {
    pub slice: Arc<ResourceSlice>,
    pub index: usize,
    pub manifest: Value,
    pub deleted: bool,
}

/// The caches and the client one replica's controllers share.
pub struct World {
    pub cluster: Arc<dyn Cluster>,
    pub compositions: Informer,
    pub synthesizers: Informer,
    pub slices: Informer,
    pub symphonies: Informer,
    /// The synthesizers' inputs, one informer per kind referred to.
    pub inputs: super::inputs::InputWatches,
    /// The synthesis claims this replica has watched, and since when.
    pub claims: Watched,
    /// The synthesis cancellations this replica has watched, and since when (apart from the
    /// claims: a claim and a cancellation of one synthesis may carry the same whole-second time).
    pub cancellations: Watched,
    /// Runs whose output this replica has not managed to persist yet.
    pub unpersisted: Unpersisted,
    /// The rollout slot as this replica has watched and taken it.
    pub rollout: RolloutSlot,
    /// Deleting compositions (by uid) confirmed, on a fresh list, to have no dependents left.
    pub without_dependents: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Which compositions and resources are this replica's ([`crate::decide::shard`]).
    pub shard: crate::decide::shard::Shard,
    /// How old a synthesis must be before a lost slice of it is healed.
    pub self_healing_grace: Duration,
    /// The rate limit on recording input changes (`None`: unlimited).
    pub input_writes: Option<crate::runtime::TokenBucket>,
    /// Resource states recorded and waiting for their slice's next status write.
    pub slice_status: super::slice_status::SliceStatusBuffer,
    /// Managed resources the server refused, and when each may be asked again.
    pub refused: super::refusals::RefusedResources,
    /// Where the controllers count and time their work.
    pub metrics: Arc<crate::runtime::Metrics>,
    /// The cached objects of Eno's kinds, decoded once per cached version.
    pub decoded: Decodes,
    /// The cached slices' manifests, parsed once while in use.
    pub manifests: super::manifests::ParsedManifests,
    #[cfg(madsim)]
    pub defects: super::defects::Defects,
}

/// Typed copies of the four informers' objects ([`Decoded`]).
#[derive(Default)]
pub struct Decodes {
    pub(super) compositions: Decoded<Composition>,
    pub(super) synthesizers: Decoded<Synthesizer>,
    pub(super) slices: Decoded<ResourceSlice>,
    pub(super) symphonies: Decoded<Symphony>,
}

/// When this replica first saw each synthesis's claim (or cancellation) at a given time, by its
/// own monotonic clock: a claim expires once it has been watched unchanged for the expiry, and a
/// canceled synthesis is retried once its cancellation has been watched for the backoff, so
/// replicas whose wall clocks disagree still agree on when.
pub struct Watched<S = Time> {
    seen: std::sync::Mutex<BTreeMap<String, (S, tokio::time::Instant)>>,
}

impl<S> Default for Watched<S> {
    fn default() -> Self {
        Watched { seen: Default::default() }
    }
}

impl<S: PartialEq + Clone> Watched<S> {
    /// How long synthesis `uuid` has been watched with its claim (or cancellation) at `claimed`
    /// unchanged (zero the first time it is seen, or after it changed).
    pub fn watched(&self, uuid: &str, claimed: &S) -> Duration {
        let now = tokio::time::Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // A claim watched for an hour is long expired (and a retry long due); forgetting it
        // keeps the map small.
        seen.retain(|_, (_, since)| now.duration_since(*since) < FORGET_CLAIMS_AFTER);
        match seen.get(uuid) {
            Some((at, since)) if at == claimed => now.duration_since(*since),
            _ => {
                seen.insert(uuid.to_string(), (claimed.clone(), now));
                Duration::ZERO
            }
        }
    }

    /// This replica is claiming `uuid` itself.
    pub fn forget(&self, uuid: &str) {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).remove(uuid);
    }
}

/// The rollout slot ([`crate::decide::rollout`]) as this replica sees it: how long it has
/// watched the Lease at each resourceVersion, and the take it made last (by its own clock).
pub struct RolloutSlot {
    /// At most one deferred synthesis per cooldown (zero: no pacing).
    pub cooldown: Duration,
    /// Where the Lease lives.
    pub namespace: String,
    watched: Watched<String>,
    taken: std::sync::Mutex<Option<Taken>>,
}

struct Taken {
    /// `namespace/name/uuid` of the synthesis the slot was taken for.
    synthesis: String,
    /// The Lease's resourceVersion that take wrote.
    resource_version: String,
    /// When the take was sent.
    at: tokio::time::Instant,
}

impl RolloutSlot {
    pub fn new(cooldown: Duration, namespace: &str) -> Self {
        RolloutSlot { cooldown, namespace: namespace.to_string(), watched: Watched::default(), taken: Default::default() }
    }

    /// The slot as read now: how long the Lease has been watched at its version, and whether
    /// this replica took it for `synthesis` at that version (and how long ago).
    pub fn observe(&self, lease: Option<k8s_openapi::api::coordination::v1::Lease>, synthesis: &str) -> crate::decide::rollout::Slot {
        let version = lease.as_ref().and_then(|l| l.metadata.resource_version.clone()).unwrap_or_default();
        let watched = self.watched.watched(crate::decide::rollout::LEASE_NAME, &version);
        let taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        let taken_for_this = taken.as_ref().filter(|t| t.synthesis == synthesis && lease.is_some() && t.resource_version == version).map(|t| t.at.elapsed());
        crate::decide::rollout::Slot { lease, watched, taken_for_this }
    }

    /// This replica wrote the Lease at `resource_version`, taking the slot for `synthesis`,
    /// with the write sent `at`.
    pub fn took(&self, synthesis: &str, resource_version: String, at: tokio::time::Instant) {
        *self.taken.lock().unwrap_or_else(|p| p.into_inner()) = Some(Taken { synthesis: synthesis.to_string(), resource_version, at });
    }
}

/// Synthesis runs whose pass failed after the synthesizer ran (the API server refusing every
/// try to write the output or record the outcome), by composition: the next pass resumes one
/// instead of running the synthesizer again. Held in memory only: a restarted replica has
/// lost them, and the synthesis is taken over once its claim expires.
#[derive(Default)]
pub struct Unpersisted {
    runs: std::sync::Mutex<BTreeMap<CompositionKey, Run>>,
}

impl Unpersisted {
    pub fn keep(&self, key: CompositionKey, run: Run) {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(key, run);
    }

    /// The run to resume, if any; a pass that fails again keeps it anew.
    pub fn take(&self, key: &CompositionKey) -> Option<Run> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(key)
    }
}

const FORGET_CLAIMS_AFTER: Duration = Duration::from_secs(3600);

/// An object read without its managed fields (from the API server or the cache), as `T`.
fn decode<T: DeserializeOwned>(r: &ObjectRef, raw: Option<Value>) -> Result<Option<T>, PassError> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_value(raw).map(Some).map_err(|e| PassError::Invalid(format!("{r} does not decode: {e}")))
}

impl World {
    /// The object read from the API server, not the cache (for decisions a stale copy must not
    /// drive), decoded as `T`. `fence` names the read for the simulator's defects.
    pub async fn get_fresh<T: DeserializeOwned>(&self, r: &ObjectRef, fence: Fence) -> Result<Option<T>, PassError> {
        let raw = if self.unfenced(fence) { self.cached(r) } else { self.cluster.get_without_managed_fields(r).await? };
        decode(r, raw)
    }

    /// An object of a kind no informer caches (the rollout slot's Lease), read from the API
    /// server and decoded as `T`.
    pub async fn get_uncached<T: DeserializeOwned>(&self, r: &ObjectRef) -> Result<Option<T>, PassError> {
        decode(r, self.cluster.get_without_managed_fields(r).await?)
    }

    /// Every composition, listed from the API server (not the cache) and decoded; one that
    /// does not decode is left out, as the informer leaves it out.
    pub async fn compositions_fresh(&self) -> Result<Vec<Composition>, PassError> {
        let listed = self.cluster.list(&crate::decide::step::gvk::<Composition>(), None, &crate::runtime::ListParams::default()).await?;
        Ok(listed.items.into_iter().filter_map(|c| serde_json::from_value(c).ok()).collect())
    }

    /// Makes `write` with its fence (see [`super::writes::execute`]).
    pub async fn write(&self, write: &Write) -> ClientResult<Option<Value>> {
        #[cfg(madsim)]
        if Fence::of(write).is_some_and(|fence| self.unfenced(fence)) {
            return super::writes::execute_unfenced(&*self.cluster, write).await;
        }
        super::writes::execute(&*self.cluster, write).await
    }

    /// Whether the simulator's defect removes `fence` from this replica.
    pub fn unfenced(&self, fence: Fence) -> bool {
        #[cfg(madsim)]
        return self.defects.unfenced == Some(fence);
        #[cfg(not(madsim))]
        {
            let _ = fence;
            false
        }
    }

    /// The cached copy of an object of one of Eno's informed kinds.
    fn cached(&self, r: &ObjectRef) -> Option<Value> {
        let informer = match r.gvk.kind.as_str() {
            "Composition" => &self.compositions,
            "Synthesizer" => &self.synthesizers,
            "ResourceSlice" => &self.slices,
            "Symphony" => &self.symphonies,
            _ => return None,
        };
        informer.get(r.namespace.as_deref().unwrap_or_default(), &r.name).map(Arc::unwrap_or_clone)
    }

    pub fn composition(&self, key: &CompositionKey) -> Option<Arc<Composition>> {
        self.compositions.get(&key.namespace, &key.name).and_then(|c| self.decoded.compositions.typed(c))
    }

    pub fn all_compositions(&self) -> Vec<Arc<Composition>> {
        self.compositions.list().into_iter().filter_map(|c| self.decoded.compositions.typed(c)).collect()
    }

    pub fn symphony(&self, key: &SymphonyKey) -> Option<Arc<Symphony>> {
        self.symphonies.get(&key.namespace, &key.name).and_then(|s| self.decoded.symphonies.typed(s))
    }

    pub fn all_synthesizers(&self) -> Vec<Arc<Synthesizer>> {
        self.synthesizers.list().into_iter().filter_map(|s| self.decoded.synthesizers.typed(s)).collect()
    }

    pub fn synthesizer(&self, name: &str) -> Option<Arc<Synthesizer>> {
        self.synthesizers.get("", name).and_then(|s| self.decoded.synthesizers.typed(s))
    }

    /// The composition's slices, by name, from the cache.
    pub fn slices_named(&self, namespace: &str, refs: &[crate::api::ResourceSliceRef]) -> Vec<Arc<ResourceSlice>> {
        refs.iter().filter_map(|r| self.slices.get(namespace, &r.name)).filter_map(|s| self.decoded.slices.typed(s)).collect()
    }

    /// Every cached slice owned by this composition (the slice informer's index: owner uids).
    pub fn slices_owned_by(&self, comp: &Composition) -> Vec<Arc<ResourceSlice>> {
        self.slices.indexed(comp.metadata.uid.as_deref().unwrap_or_default()).into_iter().filter_map(|s| self.decoded.slices.typed(s)).collect()
    }

    /// Every cached slice in the key's namespace that a composition of the key's name owns and
    /// that still holds the cleanup finalizer (the composition itself may be gone).
    pub fn slices_held_for(&self, key: &CompositionKey) -> Vec<Arc<ResourceSlice>> {
        let owned = |s: &ResourceSlice| s.metadata.owner_references.iter().flatten().any(|o| o.kind == "Composition" && o.name == key.name);
        let held = |s: &ResourceSlice| s.metadata.finalizers.iter().flatten().any(|f| f == crate::api::CLEANUP_FINALIZER);
        self.slices
            .list()
            .into_iter()
            .filter(|s| s["metadata"]["namespace"].as_str() == Some(key.namespace.as_str()))
            .filter_map(|s| self.decoded.slices.typed(s))
            .filter(|s| owned(s) && held(s))
            .collect()
    }

    /// Every cached composition that names `namespace/name` in its `dependsOn` (the composition
    /// informer's index).
    pub fn dependents_of(&self, key: &CompositionKey) -> Vec<Arc<Composition>> {
        self.compositions.indexed(&format!("{}{key}", super::DEPENDS_ON_INDEX)).into_iter().filter_map(|c| self.decoded.compositions.typed(c)).collect()
    }

    /// Whether no composition depending on deleting composition `comp` remains: none in the
    /// cache, and (once per composition, on this replica) none in a fresh list of every
    /// composition, since a cache that missed an event could lack one. Once confirmed, a new
    /// dependent of a deleting composition no longer holds it.
    pub async fn dependents_gone(&self, key: &CompositionKey, comp: &Composition) -> Result<bool, PassError> {
        if crate::decide::dependencies::waiting_on_dependents(comp, &self.dependents_of(key)).is_some() {
            return Ok(false);
        }
        let uid = comp.metadata.uid.clone().unwrap_or_default();
        if self.without_dependents.lock().unwrap_or_else(|p| p.into_inner()).contains(&uid) {
            return Ok(true);
        }
        if crate::decide::dependencies::waiting_on_dependents(comp, &self.compositions_fresh().await?).is_some() {
            return Ok(false);
        }
        self.without_dependents.lock().unwrap_or_else(|p| p.into_inner()).insert(uid);
        Ok(true)
    }

    /// Every cached composition using this synthesizer (the composition informer's index).
    pub fn compositions_using(&self, synthesizer: &str) -> Vec<Arc<Composition>> {
        self.compositions.indexed(synthesizer).into_iter().filter_map(|c| self.decoded.compositions.typed(c)).collect()
    }

    /// Slices of the composition's current synthesis (`None` if one is missing from the cache).
    pub fn current_slices(&self, comp: &Composition) -> Option<Vec<ResourceSlice>> {
        let current = comp.status.as_ref()?.current_synthesis.as_ref()?;
        let slices: Vec<ResourceSlice> = self.slices_named(comp.metadata.namespace.as_deref().unwrap_or_default(), &current.resource_slices).iter().map(|s| ResourceSlice::clone(s)).collect();
        (slices.len() == current.resource_slices.len()).then_some(slices)
    }

    /// What the composition's status is made of, read uncached: the current synthesis's slices
    /// (`None` if one is missing) and the synthesizer; with `recompute_holds`, also the halt of
    /// the synthesizer's rollout and what holds the composition back by its dependencies, from
    /// one uncached list of every composition.
    pub async fn status_inputs_fresh(&self, comp: &Composition, recompute_holds: bool) -> Result<FreshStatusInputs, PassError> {
        let synthesizer_ref = ObjectRef::new(crate::decide::step::gvk::<Synthesizer>(), None, &comp.spec.synthesizer.name);
        let synthesizer = self.get_fresh::<Synthesizer>(&synthesizer_ref, Fence::FreshStatusInputs).await?;
        let (halted, dependencies) = if recompute_holds { self.holds_fresh(comp, synthesizer.as_ref()).await? } else { (None, None) };
        let mut fresh = FreshStatusInputs { slices: Some(Vec::new()), synthesizer, halted, dependencies };
        let Some(current) = comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()) else { return Ok(fresh) };
        let namespace = comp.metadata.namespace.as_deref();
        let mut slices = Vec::new();
        for r in &current.resource_slices {
            let address = ObjectRef::new(crate::decide::step::gvk::<ResourceSlice>(), namespace, &r.name);
            match self.get_fresh::<ResourceSlice>(&address, Fence::FreshStatusInputs).await? {
                Some(slice) => slices.push(slice),
                None => {
                    fresh.slices = None;
                    return Ok(fresh);
                }
            }
        }
        fresh.slices = Some(slices);
        Ok(fresh)
    }

    /// The halt of `synthesizer`'s rollout and what holds `comp` back by its dependencies (or,
    /// deleting, its dependents), from an uncached list of every composition.
    async fn holds_fresh(&self, comp: &Composition, synthesizer: Option<&Synthesizer>) -> Result<(Option<String>, Option<crate::decide::dependencies::Hold>), PassError> {
        use crate::decide::dependencies;
        let all = self.compositions_fresh().await?;
        let using: Vec<&Composition> = all.iter().filter(|c| c.spec.synthesizer.name == comp.spec.synthesizer.name).collect();
        let halted = synthesizer.and_then(|synth| crate::decide::rollout::halted_by(synth, &using));
        let by_key: BTreeMap<String, &Composition> = all.iter().map(|c| (dependencies::key_of(c), c)).collect();
        let hold = dependencies::hold(comp, &|k: &str| by_key.get(k).copied(), &all);
        Ok((halted, hold))
    }

    /// Where a resource sits in the current or previous synthesis's slices.
    pub fn find(&self, comp: &Composition, key: &ResourceKey, previous: bool) -> Option<SliceEntry> {
        let status = comp.status.as_ref()?;
        let synthesis = if previous { status.previous_synthesis.as_ref()? } else { status.current_synthesis.as_ref()? };
        for slice in self.slices_named(comp.metadata.namespace.as_deref().unwrap_or_default(), &synthesis.resource_slices) {
            for (index, m) in slice.spec.resources.iter().enumerate() {
                let Some(manifest) = self.manifests.object(m) else { continue };
                if ResourceKey::of(&manifest).as_ref() == Some(key) {
                    return Some(SliceEntry { deleted: m.deleted, slice: slice.clone(), index, manifest: Value::clone(&manifest) });
                }
            }
        }
        None
    }

    /// Every resource key a composition's current and previous syntheses mention.
    pub fn resource_keys(&self, comp: &Composition) -> Vec<ResourceKey> {
        let Some(status) = comp.status.as_ref() else { return Vec::new() };
        let ns = comp.metadata.namespace.as_deref().unwrap_or_default();
        let mut keys = Vec::new();
        for synthesis in [status.current_synthesis.as_ref(), status.previous_synthesis.as_ref()].into_iter().flatten() {
            for slice in self.slices_named(ns, &synthesis.resource_slices) {
                keys.extend(slice.spec.resources.iter().filter_map(|m| self.manifests.object(m).and_then(|o| ResourceKey::of(&o))));
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

/// What a composition's status is made of, read uncached ([`World::status_inputs_fresh`]).
pub struct FreshStatusInputs {
    /// The current synthesis's slices (`None`: one is missing).
    pub slices: Option<Vec<ResourceSlice>>,
    pub synthesizer: Option<Synthesizer>,
    /// Why the synthesizer's rollout is halted (recomputed only when asked).
    pub halted: Option<String>,
    /// What holds the composition back (recomputed only when asked).
    pub dependencies: Option<crate::decide::dependencies::Hold>,
}

/// Errors a pass can end with: API trouble (retried with backoff) or a broken object.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Api(#[from] ClientError),
    #[error("{0}")]
    Invalid(String),
}
