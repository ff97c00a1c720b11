//! The composition controller's interpreter: gathers the composition, its synthesizer and its
//! slices from the caches, asks [`crate::decide::composition::decide`] for the next step (with
//! the composition, or the status's inputs, read uncached when the decision asks for them), and
//! makes the one write it names through [`super::writes::execute`]. A composition gone from the
//! cache may have left slices holding their finalizer; those are released once it is confirmed
//! gone.

use super::keys::CompositionKey;
use super::world::{FreshStatusInputs, PassError, World};
use super::defects::{defect, Fence};
use crate::api::{Composition, Synthesizer};
use crate::decide::composition::{decide, release_orphaned_slice as decide_orphan, Observed, Pacing, StatusInputs, Step, Why};
use crate::decide::{dependencies, rollout};
use k8s_openapi::api::coordination::v1::Lease;
use crate::decide::inputs;
use crate::decide::step::Fresh;
use crate::runtime::Action;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub async fn reconcile(world: &World, key: CompositionKey, now: Time) -> Result<Action, PassError> {
    let Some(comp) = world.composition(&key) else { return release_orphaned_slice(world, &key).await };
    let synthesizer = world.synthesizer(&comp.spec.synthesizer.name);
    let current_slices = world.current_slices(&comp);
    let owned_slices = world.slices_owned_by(&comp);
    let inputs = observe_inputs(world, &comp, synthesizer.as_deref()).await?;
    let dependencies = dependency_hold(world, &key, &comp);
    // The uncached reads the decision asked for, once made.
    let mut fresh: Option<Option<Composition>> = None;
    let mut fresh_status: Option<FreshStatusInputs> = None;
    let mut cancellation_watched = None;
    let mut rollout = None;
    let step = loop {
        let observed = Observed {
            composition: &comp,
            synthesizer: synthesizer.as_deref(),
            current_slices: current_slices.as_deref(),
            owned_slices: &owned_slices,
            inputs: &inputs,
            fresh: fresh.as_ref().map_or(Fresh::Unread, |c| Fresh::Read(c.as_ref())),
            fresh_status: fresh_status.as_ref().map(|f| StatusInputs { slices: f.slices.as_deref(), synthesizer: f.synthesizer.as_ref(), halted: f.halted.as_deref(), dependencies: f.dependencies.as_ref() }),
            now: &now,
            cancellation_watched,
            pacing: Pacing { cooldown: world.rollout.cooldown, lease_namespace: &world.rollout.namespace },
            self_healing_grace: world.self_healing_grace,
            rollout: rollout.as_ref(),
            dependencies: dependencies.as_ref(),
            #[cfg(madsim)]
            early_finalizer_removal: world.defects.early_finalizer_removal,
            #[cfg(madsim)]
            retry_failed_synthesis: world.defects.retry_failed_synthesis,
            #[cfg(madsim)]
            eager_retry: world.defects.eager_retry,
            #[cfg(madsim)]
            ignore_input_changes: world.defects.ignore_input_changes,
            #[cfg(madsim)]
            no_self_healing: world.defects.no_self_healing,
            #[cfg(madsim)]
            ignore_lockstep: world.defects.ignore_lockstep,
            #[cfg(madsim)]
            skip_rollout_slot: world.defects.skip_rollout_slot,
            #[cfg(madsim)]
            ignore_dependencies: world.defects.ignore_dependencies,
        };
        match decide(&observed) {
            Step::ReadFresh if fresh.is_none() => fresh = Some(world.get_fresh::<Composition>(&key.object_ref(), Fence::FreshComposition).await?),
            Step::ReadStatusInputs if fresh_status.is_none() => {
                let held = dependencies.is_some() || comp.status.as_ref().is_some_and(|s| s.dependency_status.is_some());
                fresh_status = Some(world.status_inputs_fresh(&comp, rollout.is_some() || held).await?);
            }
            Step::WatchCancellation { uuid, canceled } if cancellation_watched.is_none() => cancellation_watched = Some(world.cancellations.watched(&uuid, &canceled)),
            Step::ReadRollout { uuid } if rollout.is_none() => rollout = Some(see_rollout(world, &comp, synthesizer.as_deref(), &slot_holder(&key, &uuid)).await?),
            step => break step,
        }
    };
    match &step {
        Step::Write { why: Why::StartSynthesis { reason, uuid }, .. } => tracing::info!(composition = %key, ?reason, %uuid, "starting synthesis"),
        Step::Write { why: Why::TakeRolloutSlot { uuid }, write } => {
            tracing::info!(composition = %key, %uuid, "taking the rollout slot");
            // The window runs from sending the take, not from its answer: a take answered late
            // (the process stalled, the request hung) has used up the window meanwhile, while
            // other replicas watched the Lease from its commit (found by the simulator's stalls).
            let sent = tokio::time::Instant::now();
            let taken = world.write(write).await?;
            let version = taken.as_ref().and_then(|lease| lease["metadata"]["resourceVersion"].as_str()).unwrap_or_default();
            let at = if defect!(world, slot_timed_from_answer) { tokio::time::Instant::now() } else { sent };
            world.rollout.took(&slot_holder(&key, uuid), version.to_string(), at);
            // The start is this replica's to make, within the window: straight away.
            return Ok(Action::RequeueAfter(std::time::Duration::ZERO));
        }
        Step::Write { why: Why::Status, .. } if rollout.as_ref().is_some_and(|r| r.halted.is_some()) => {
            tracing::warn!(composition = %key, why = rollout.as_ref().and_then(|r| r.halted.as_deref()).unwrap_or_default(), "rollout halted");
        }
        _ => {}
    }
    make(world, step).await
}

/// What this replica calls the deferred synthesis `uuid` of `key` when it takes the rollout
/// slot for it (`namespace/name/uuid`).
fn slot_holder(key: &CompositionKey, uuid: &str) -> String {
    format!("{key}/{uuid}")
}

/// What holds the composition back, from the cache: its dependencies (the compositions they
/// lead to, cycles included) while it is live, the compositions depending on it while it is
/// deleting.
fn dependency_hold(world: &World, key: &CompositionKey, comp: &Composition) -> Option<dependencies::Hold> {
    if comp.metadata.deletion_timestamp.is_some() {
        return dependencies::hold(comp, &|_| None, &world.dependents_of(key));
    }
    if comp.spec.depends_on.is_empty() {
        return None;
    }
    let reached = dependencies::reach(comp, |at| CompositionKey::parse(at).and_then(|k| world.composition(&k)));
    dependencies::hold(comp, &|k: &str| reached.get(k).map(|c| &**c), &[] as &[Composition])
}

/// What a deferred synthesis's admission looks at (with a cooldown: without one it asks for
/// nothing): whether the synthesizer's rollout is halted (from the cache), and the rollout slot
/// read uncached.
async fn see_rollout(world: &World, comp: &Composition, synthesizer: Option<&Synthesizer>, synthesis: &str) -> Result<rollout::Seen, PassError> {
    let halted = synthesizer.and_then(|synth| rollout::halted_by(synth, &world.compositions_using(&comp.spec.synthesizer.name)));
    let lease = world.get_uncached::<Lease>(&rollout::lease_address(&world.rollout.namespace)).await?;
    Ok(rollout::Seen { halted, slot: world.rollout.observe(lease, synthesis) })
}

/// The synthesizer's inputs for the composition, bound and found; a ref that binds nothing is
/// a problem the status shows.
async fn observe_inputs(world: &World, comp: &Composition, synthesizer: Option<&Synthesizer>) -> Result<inputs::Observed, PassError> {
    let Some(synth) = synthesizer else { return Ok(inputs::Observed::default()) };
    let bound = match inputs::bind(comp, synth) {
        Ok(bound) => bound,
        Err(problem) => return Ok(inputs::Observed { problems: vec![problem], ..Default::default() }),
    };
    let found = world.inputs.find(&*world.cluster, &bound).await?;
    Ok(inputs::observe(bound.iter().zip(&found)))
}

/// Makes the step's write, if it names one (recording input changes only with a token of
/// the input rate limit: without one, it looks again once one is there).
async fn make(world: &World, step: Step) -> Result<Action, PassError> {
    let (write, why) = match step {
        Step::Write { write, why } => (write, why),
        Step::RequeueAfter(after) => return Ok(Action::RequeueAfter(after)),
        _ => return Ok(Action::Done),
    };
    if let (Why::RecordInputs, Some(limit)) = (&why, &world.input_writes) {
        if let Err(wait) = limit.try_acquire() {
            return Ok(Action::RequeueAfter(wait));
        }
    }
    match world.write(&write).await {
        Err(e) if e.is_not_found() && why.done_if_gone() => Ok(Action::Done),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Action::Done),
    }
}

/// The composition is not in the cache: release a slice it left holding the cleanup finalizer
/// (see [`decide_orphan`]).
async fn release_orphaned_slice(world: &World, key: &CompositionKey) -> Result<Action, PassError> {
    let orphans = world.slices_held_for(key);
    let step = match decide_orphan(&orphans, Fresh::Unread) {
        Step::ReadFresh => {
            let fresh = world.get_fresh::<Composition>(&key.object_ref(), Fence::FreshComposition).await?;
            decide_orphan(&orphans, Fresh::Read(fresh.as_ref()))
        }
        step => step,
    };
    make(world, step).await
}
