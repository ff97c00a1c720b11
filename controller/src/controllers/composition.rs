//! The composition controller's interpreter: gathers the composition, its synthesizer and its
//! slices from the caches, asks [`crate::decide::composition::decide`] for the next step (with
//! the composition read uncached when the decision asks for it), and makes the one write it
//! names through [`super::writes::execute`].

use super::keys::CompositionKey;
use super::world::{PassError, World};
use super::defects::Fence;
use crate::api::Composition;
use crate::decide::composition::{decide, Observed, Step, Why};
use crate::decide::step::Fresh;
use crate::runtime::Action;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub async fn reconcile(world: &World, key: CompositionKey, now: Time) -> Result<Action, PassError> {
    let Some(comp) = world.composition(&key) else { return Ok(Action::Done) };
    let synthesizer = world.synthesizer(&comp.spec.synthesizer.name);
    let current_slices = world.current_slices(&comp);
    let owned_slices = world.slices_owned_by(&comp);
    let observed = |fresh| Observed {
        composition: &comp,
        synthesizer: synthesizer.as_ref(),
        current_slices: current_slices.as_deref(),
        owned_slices: &owned_slices,
        fresh,
        now: &now,
        #[cfg(madsim)]
        early_finalizer_removal: world.defects.early_finalizer_removal,
        #[cfg(madsim)]
        retry_failed_synthesis: world.defects.retry_failed_synthesis,
    };
    let fresh;
    let step = match decide(&observed(Fresh::Unread)) {
        Step::ReadFresh => {
            fresh = world.get_fresh::<Composition>(&key.object_ref(), Fence::FreshComposition).await?;
            decide(&observed(Fresh::Read(fresh.as_ref())))
        }
        step => step,
    };
    let Step::Write { write, why } = step else { return Ok(Action::Done) };
    if let Why::StartSynthesis { reason, uuid } = &why {
        tracing::info!(composition = %key, ?reason, %uuid, "starting synthesis");
    }
    match world.write(&write).await {
        Err(e) if e.is_not_found() && why.done_if_gone() => Ok(Action::Done),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Action::Done),
    }
}
