//! The composition controller's interpreter: gathers the composition, its synthesizer and its
//! slices from the caches, asks [`crate::decide::composition::decide`] for the next step (with
//! the composition, or the status's inputs, read uncached when the decision asks for them), and
//! makes the one write it names through [`super::writes::execute`]. A composition gone from the
//! cache may have left slices holding their finalizer; those are released once it is confirmed
//! gone.

use super::keys::CompositionKey;
use super::world::{PassError, World};
use super::defects::Fence;
use crate::api::{Composition, ResourceSlice, Synthesizer};
use crate::decide::composition::{decide, release_orphaned_slice as decide_orphan, Observed, StatusInputs, Step, Why};
use crate::decide::inputs;
use crate::decide::step::Fresh;
use crate::runtime::Action;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub async fn reconcile(world: &World, key: CompositionKey, now: Time) -> Result<Action, PassError> {
    let Some(comp) = world.composition(&key) else { return release_orphaned_slice(world, &key).await };
    let synthesizer = world.synthesizer(&comp.spec.synthesizer.name);
    let current_slices = world.current_slices(&comp);
    let owned_slices = world.slices_owned_by(&comp);
    let inputs = observe_inputs(world, &comp, synthesizer.as_ref()).await?;
    // The uncached reads the decision asked for, once made.
    let mut fresh: Option<Option<Composition>> = None;
    let mut fresh_status: Option<(Option<Vec<ResourceSlice>>, Option<Synthesizer>)> = None;
    let mut cancellation_watched = None;
    let step = loop {
        let observed = Observed {
            composition: &comp,
            synthesizer: synthesizer.as_ref(),
            current_slices: current_slices.as_deref(),
            owned_slices: &owned_slices,
            inputs: &inputs,
            fresh: fresh.as_ref().map_or(Fresh::Unread, |c| Fresh::Read(c.as_ref())),
            fresh_status: fresh_status.as_ref().map(|(slices, synthesizer)| StatusInputs { slices: slices.as_deref(), synthesizer: synthesizer.as_ref() }),
            now: &now,
            cancellation_watched,
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
        };
        match decide(&observed) {
            Step::ReadFresh if fresh.is_none() => fresh = Some(world.get_fresh::<Composition>(&key.object_ref(), Fence::FreshComposition).await?),
            Step::ReadStatusInputs if fresh_status.is_none() => fresh_status = Some(world.status_inputs_fresh(&comp).await?),
            Step::WatchCancellation { uuid, canceled } if cancellation_watched.is_none() => cancellation_watched = Some(world.cancellations.watched(&uuid, &canceled)),
            step => break step,
        }
    };
    if let Step::Write { why: Why::StartSynthesis { reason, uuid }, .. } = &step {
        tracing::info!(composition = %key, ?reason, %uuid, "starting synthesis");
    }
    make(world, step).await
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

/// Makes the step's write, if it names one.
async fn make(world: &World, step: Step) -> Result<Action, PassError> {
    let (write, why) = match step {
        Step::Write { write, why } => (write, why),
        Step::RequeueAfter(after) => return Ok(Action::RequeueAfter(after)),
        _ => return Ok(Action::Done),
    };
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
