//! The composition controller: finalizer, starting syntheses, slice cleanup, status, and the
//! deletion handshake. Each pass makes at most one write.

use super::defects::defect;
use super::world::{gvk_composition, gvk_slice, stable_uuid, CompositionKey, PassError, World};
use super::writes::{replace_status, set_finalizers};
use crate::api::{Composition, CompositionStatus, ResourceSlice, CLEANUP_FINALIZER};
use crate::api::annotations::SYMPHONY_DELETING;
use crate::decide::status::{aggregate, simplified};
use crate::decide::synthesis::{begin, next_synthesis, StartReason, SynthesisDecision};
use crate::runtime::{Action, DeleteParams, ObjectRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

fn finalizers(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Vec<String> {
    meta.finalizers.clone().unwrap_or_default()
}

fn comp_ref(key: &CompositionKey) -> ObjectRef {
    ObjectRef::new(gvk_composition(), Some(&key.namespace), &key.name)
}

fn rv(comp: &Composition) -> String {
    comp.metadata.resource_version.clone().unwrap_or_default()
}

pub async fn reconcile(world: &World, key: CompositionKey, now: Time) -> Result<Action, PassError> {
    let Some(comp) = world.composition(&key) else { return Ok(Action::Done) };
    let cluster = &*world.cluster;
    let deleting = comp.metadata.deletion_timestamp.is_some();
    let held = finalizers(&comp.metadata).iter().any(|f| f == CLEANUP_FINALIZER);

    if deleting {
        if !held {
            return Ok(Action::Done);
        }
        let symphony_deleting = comp.metadata.labels.as_ref().and_then(|l| l.get(SYMPHONY_DELETING)).is_some_and(|v| v == "true");
        let settled = symphony_deleting || defect!(world, early_finalizer_removal) || resources_settled(world, &comp, now.clone());
        if !settled {
            return write_status_if_changed(world, &comp, now).await;
        }
        // Slices keep their finalizer until the composition lets go, so the manifests needed
        // to delete resources can't vanish first.
        if let Some(slice) = world.slices_owned_by(&comp).into_iter().find(|s| finalizers(&s.metadata).iter().any(|f| f == CLEANUP_FINALIZER)) {
            release_slice(world, &slice).await?;
            return Ok(Action::Done);
        }
        let remaining: Vec<String> = finalizers(&comp.metadata).into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
        set_finalizers(cluster, &comp_ref(&key), &rv(&comp), &remaining).await?;
        return Ok(Action::Done);
    }

    if !held {
        let mut with = finalizers(&comp.metadata);
        with.push(CLEANUP_FINALIZER.to_string());
        set_finalizers(cluster, &comp_ref(&key), &rv(&comp), &with).await?;
        return Ok(Action::Done);
    }

    let synth = world.synthesizer(&comp.spec.synthesizer.name);
    let decision = match next_synthesis(&comp, synth.as_ref()) {
        SynthesisDecision::WaitForModification if defect!(world, retry_failed_synthesis) => SynthesisDecision::Start { reason: StartReason::CompositionModified },
        decision => decision,
    };
    if let (SynthesisDecision::Start { reason }, Some(synth)) = (decision, synth.as_ref()) {
        let status = comp.status.clone().unwrap_or_default();
        let attempt = status.in_flight_synthesis.as_ref().map_or(0, |s| s.attempts);
        let uuid = stable_uuid(&[
            comp.metadata.uid.as_deref().unwrap_or_default(),
            &comp.metadata.generation.unwrap_or_default().to_string(),
            &synth.metadata.generation.unwrap_or_default().to_string(),
            &attempt.to_string(),
        ]);
        tracing::info!(composition = %key, ?reason, %uuid, "starting synthesis");
        let in_flight = begin(&comp, synth, uuid, now.clone());
        let next = CompositionStatus { in_flight_synthesis: Some(in_flight), ..status };
        let value = serde_json::to_value(&next).map_err(|e| PassError::Invalid(e.to_string()))?;
        replace_status(cluster, &comp_ref(&key), &rv(&comp), &value).await?;
        return Ok(Action::Done);
    }

    if let Some(stale) = unreferenced_slice(world, &comp) {
        // A slice newer than the cached composition looks unreferenced too: deleting the
        // current synthesis's slice would strand its resources (found by the simulator), so the
        // decision is checked against the composition read uncached.
        let Some(fresh) = world.get_fresh::<Composition>(&comp_ref(&key)).await? else { return Ok(Action::Done) };
        if fresh.metadata.uid != comp.metadata.uid || !unreferenced(&fresh, &stale) {
            return Ok(Action::Done);
        }
        if finalizers(&stale.metadata).iter().any(|f| f == CLEANUP_FINALIZER) {
            release_slice(world, &stale).await?;
        } else {
            let r = ObjectRef::new(gvk_slice(), stale.metadata.namespace.as_deref(), stale.metadata.name.as_deref().unwrap_or_default());
            let params = DeleteParams { precondition_uid: stale.metadata.uid.clone(), ..Default::default() };
            match cluster.delete(&r, &params).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(Action::Done);
    }

    write_status_if_changed(world, &comp, now).await
}

/// While deleting: every resource of the current synthesis reports deleted (or orphaned).
fn resources_settled(world: &World, comp: &Composition, now: Time) -> bool {
    let Some(current) = comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()) else { return true };
    match world.current_slices(comp) {
        Some(slices) => aggregate(&slices, current, true, now).0.is_some(),
        None => false,
    }
}

/// A slice no synthesis of this composition refers to any more (superseded, or written by a
/// synthesis that never completed).
fn unreferenced_slice(world: &World, comp: &Composition) -> Option<ResourceSlice> {
    world.slices_owned_by(comp).into_iter().find(|s| unreferenced(comp, s))
}

/// Whether `comp` (its current, previous and in-flight syntheses) no longer refers to `slice`.
fn unreferenced(comp: &Composition, slice: &ResourceSlice) -> bool {
    let status = comp.status.as_ref();
    let name = slice.metadata.name.as_deref().unwrap_or_default();
    let referenced = [status.and_then(|s| s.current_synthesis.as_ref()), status.and_then(|s| s.previous_synthesis.as_ref())]
        .into_iter()
        .flatten()
        .any(|s| s.resource_slices.iter().any(|r| r.name == name));
    let in_flight = status.and_then(|s| s.in_flight_synthesis.as_ref()).is_some_and(|s| s.uuid == slice.spec.synthesis_uuid);
    !referenced && !in_flight
}

async fn release_slice(world: &World, slice: &ResourceSlice) -> Result<(), PassError> {
    let r = ObjectRef::new(gvk_slice(), slice.metadata.namespace.as_deref(), slice.metadata.name.as_deref().unwrap_or_default());
    let remaining: Vec<String> = finalizers(&slice.metadata).into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
    match set_finalizers(&*world.cluster, &r, slice.metadata.resource_version.as_deref().unwrap_or_default(), &remaining).await {
        Err(PassError::Api(e)) if e.is_not_found() => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The simplified status and the current synthesis's reconciled/ready times, written only when
/// they changed (no-op passes make no write).
async fn write_status_if_changed(world: &World, comp: &Composition, now: Time) -> Result<Action, PassError> {
    let mut status = comp.status.clone().unwrap_or_default();
    let deleting = comp.metadata.deletion_timestamp.is_some();
    let slices = world.current_slices(comp).unwrap_or_default();
    if let Some(current) = status.current_synthesis.as_mut() {
        let (reconciled, ready) = aggregate(&slices, current, deleting, now);
        current.reconciled = reconciled;
        current.ready = ready;
    }
    let synth_exists = world.synthesizer(&comp.spec.synthesizer.name).is_some();
    let with_times = Composition { status: Some(status.clone()), ..comp.clone() };
    status.simplified = Some(simplified(&with_times, synth_exists, &slices));
    if Some(&status) == comp.status.as_ref() {
        return Ok(Action::Done);
    }
    let value: Value = serde_json::to_value(&status).map_err(|e| PassError::Invalid(e.to_string()))?;
    replace_status(&*world.cluster, &comp_ref(&CompositionKey::of(comp)), &rv(comp), &value).await?;
    Ok(Action::Done)
}
