//! The resource reconciler's interpreter: keeps one managed resource converged with its
//! composition's current synthesis. It gathers the manifests from the cached slices and the
//! live object (a Patch's target, for a Patch), asks [`crate::decide::resource::decide_pass`],
//! and either changes the resource (create, three-way patch or PUT, a Patch's ops, delete) or,
//! once it is in sync, records the resource's state in its slice's status (batched per slice):
//! never both. Every change is first fenced on the composition read
//! uncached ([`crate::decide::composition::fence_resource_write`]). Writes go through
//! [`super::writes::execute`].

use super::defects::{defect, Fence};
use super::keys::ResourceWorkKey;
use super::world::{PassError, SliceEntry, World};
use crate::api::{Composition, ResourceState};
use crate::decide::cel::composition_view;
use crate::decide::composition::{fence_resource_write, Fenced, ResourceWrite};
use crate::decide::fail_open::settle_failure;
use crate::decide::ordering;
use crate::decide::patch::{is_patch, target_ref};
use crate::decide::refusal::{self, classify, Failure, Request};
use crate::decide::resource::{decide_pass, Observed, Pass, PatchType, ResourceAction, ResourceContext, Settled, READINESS_POLL_INTERVAL};
use crate::decide::step::Write;
use crate::runtime::{Action, Patch};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::time::Duration;
use apimachinery::hash::fnv1a64;

/// How soon to look again after changing a resource (to record its new state).
const AFTER_WRITE: Duration = Duration::from_millis(10);
/// How soon to look again when the cache is behind the API server (the informer's event for the
/// newer composition normally queues the resource sooner).
const CACHE_BEHIND: Duration = Duration::from_secs(1);
/// How soon to look again when compositions depending on a deleting one remain (their going
/// queues it sooner).
const DEPENDENTS_REMAIN: Duration = Duration::from_secs(5);
/// How soon a resource waiting for others of its synthesis looks again (a change of their
/// states queues it sooner: every slice change queues the composition's resources).
const WAITING_FOR_OTHERS: Duration = READINESS_POLL_INTERVAL;

pub async fn reconcile(world: &World, key: ResourceWorkKey, now: Time) -> Result<Action, PassError> {
    let Some(comp) = world.composition(&key.composition) else { return Ok(Action::Done) };
    let Some(entry) = world.find(&comp, &key.resource, false) else { return Ok(Action::Done) };
    let mut composition = composition_view(&comp);
    match world.shard.owns_resource(&entry.manifest, &composition) {
        Ok(true) => {}
        // Another shard's (`--resource-filter`): not touched, nothing recorded.
        Ok(false) => return Ok(Action::Done),
        Err(e) => {
            world.metrics.resource_filter_errors.inc();
            tracing::warn!(resource = %key.resource, composition = %key.composition, error = %e, "the resource filter failed on the resource; skipping it");
            return Ok(Action::Done);
        }
    }
    if defect!(world, ignore_cascade) {
        // Deliberate defect (simulation build only): the composition's annotations are not seen.
        composition["metadata"]["annotations"] = serde_json::json!({});
    }
    let previous = world.find(&comp, &key.resource, true);
    let ctx = ResourceContext::for_composition(&comp);
    let desired = (!entry.deleted).then_some(&entry.manifest);
    // What Eno applied before: a tombstone carries it; otherwise the previous synthesis has it.
    let previous_desired = if entry.deleted { Some(&entry.manifest) } else { previous.as_ref().filter(|p| !p.deleted).map(|p| &p.manifest) };
    if waits_for_others(world, &comp, &key, &entry, &ctx) {
        return Ok(Action::RequeueAfter(WAITING_FOR_OTHERS));
    }
    let Some(target) = target_ref(&entry.manifest) else {
        return record(world, &entry, Err("manifest has no apiVersion, kind or name".into())).await;
    };

    let recorded = entry.slice.status.as_ref().and_then(|s| s.resources.get(entry.index));
    let observe = |live| Observed {
        desired,
        previous_desired,
        live,
        ctx: &ctx,
        composition: &composition,
        ready: recorded.and_then(|r| r.ready.as_ref()),
        now: &now,
    };
    // A resource the server refused asks nothing again before its retry is due, whatever
    // queued it.
    let attempt = || refusal::attempt(&entry.manifest, entry.deleted, ctx.composition_deleting);
    if let Some(wait) = world.refused.hold_off(&key, attempt) {
        return Ok(Action::RequeueAfter(wait));
    }
    let live = match world.cluster.get(&target).await {
        Ok(live) => live,
        Err(e) => match classify(Request::Read, &e) {
            // No such kind (its CRD is not installed, or went first): no such object.
            Failure::Absent => None,
            Failure::Refused(reason) => return refused(world, &key, &entry, attempt(), &observe(None), reason).await,
            Failure::Transient | Failure::Stale => return Err(e.into()),
        },
    };
    let observed = observe(live.as_ref());
    let action = match decide_pass(&observed) {
        Ok(Pass::Write(action)) => action,
        // Deliberate defect (simulation build only): a Patch's missing target is created.
        Ok(Pass::Settled(_)) if defect!(world, create_patch_targets) && live.is_none() && desired.is_some_and(is_patch) => {
            ResourceAction::Create(serde_json::json!({"apiVersion": target.gvk.api_version, "kind": target.gvk.kind, "metadata": {"name": target.name, "namespace": target.namespace}}))
        }
        Ok(Pass::Settled(mut settled)) => {
            // Deliberate defect (simulation build only): a deletion counts once it is accepted,
            // even in the foreground.
            settled.deleted |= defect!(world, foreground_as_background) && ctx.composition_deleting && live.as_ref().is_some_and(|l| !l["metadata"]["deletionTimestamp"].is_null());
            world.refused.forget(&key);
            return settle(world, &entry, &key, settled).await;
        }
        Err(e) => return failed(world, &entry, &key, &observed, e.to_string()).await,
    };
    let (write, fence) = match action {
        ResourceAction::Create(obj) => (Write::Create { object: obj }, ResourceWrite::Create),
        ResourceAction::Patch { patch_type, patch } => {
            let patch = match patch_type {
                PatchType::Strategic => Patch::strategic(patch),
                PatchType::Merge => Patch::merge(patch),
                PatchType::Json => Patch::json(patch),
            };
            (Write::Patch { target, patch }, ResourceWrite::Update)
        }
        ResourceAction::Replace(object) => (Write::Replace { object }, ResourceWrite::Update),
        ResourceAction::Delete { uid, resource_version } => (Write::Delete { target, uid, resource_version }, ResourceWrite::Delete),
        // `decide_pass` settles every action that is not a write.
        ResourceAction::Nothing | ResourceAction::Orphan | ResourceAction::AlreadyGone => return Ok(Action::Done),
    };
    // Deletion runs in reverse dependency order: nothing of a composition goes while a
    // composition depending on it remains.
    if fence == ResourceWrite::Delete && ctx.composition_deleting && !ctx.symphony_deleting && !defect!(world, ignore_dependents) && !world.dependents_gone(&key.composition, &comp).await? {
        return Ok(Action::RequeueAfter(DEPENDENTS_REMAIN));
    }
    let fresh = if fence == ResourceWrite::Create && defect!(world, cached_create_check) { Some(Composition::clone(&comp)) } else { world.get_fresh::<Composition>(&key.composition.object_ref(), Fence::FreshCompositionForResources).await? };
    match fence_resource_write(fence, &comp, fresh.as_ref()) {
        Fenced::Write => {}
        Fenced::Drop => return Ok(Action::Done),
        Fenced::CacheBehind => return Ok(Action::RequeueAfter(CACHE_BEHIND)),
    }
    match world.write(&write).await {
        Ok(_) => {
            world.metrics.resources_reconciled.inc();
            world.refused.forget(&key);
            Ok(Action::RequeueAfter(AFTER_WRITE))
        }
        Err(e) => match classify(if fence == ResourceWrite::Create { Request::Create } else { Request::Change }, &e) {
            // Someone changed it under us: decide again from fresh state.
            Failure::Stale => Ok(Action::RequeueAfter(AFTER_WRITE)),
            Failure::Refused(reason) => refused(world, &key, &entry, attempt(), &observed, reason).await,
            Failure::Absent | Failure::Transient => Err(e.into()),
        },
    }
}

/// Whether the resource waits for others of its synthesis ([`ordering`]): an earlier readiness
/// group not ready yet, its CRD not established, or, while the composition is being deleted, an
/// earlier deletion group not gone. A waiting resource is left alone, nothing recorded. Judged
/// on the cached slices: a state recorded there was committed, so a stale cache only waits longer.
fn waits_for_others(world: &World, comp: &Composition, key: &ResourceWorkKey, entry: &SliceEntry, ctx: &ResourceContext) -> bool {
    if entry.deleted || ctx.symphony_deleting || defect!(world, ignore_ordering) {
        return false;
    }
    // A slice of the synthesis not in the cache yet: what it holds may come first.
    let Some(slices) = world.current_slices(comp) else { return true };
    let members = ordering::members(&slices, ctx.composition_deleting, |m| world.manifests.object(m));
    let blockers = ordering::blockers(&members, &key.resource, ctx.composition_deleting);
    if let Some(first) = blockers.first() {
        tracing::debug!(resource = %key.resource, composition = %key.composition, waiting_for = %first.key, count = blockers.len(), "waiting for resources of an earlier group");
    }
    !blockers.is_empty()
}

/// The server refused the resource: the reason is shown on it (or, failing open, the state it
/// counts as instead), and it is asked again once its refusal backoff is out
/// ([`crate::decide::refusal::retry_after`]).
async fn refused(world: &World, key: &ResourceWorkKey, entry: &SliceEntry, attempt: u64, observed: &Observed<'_>, reason: String) -> Result<Action, PassError> {
    let retry = if defect!(world, refusals_without_backoff) { AFTER_WRITE } else { world.refused.refused(key, attempt, jitter_seed(key)) };
    tracing::warn!(resource = %key.resource, composition = %key.composition, %reason, retry_in = ?retry, "the API server refused the resource; trying again after a backoff");
    // `failed` answers a recorded error as the pass's failure (for the work queue's retry); a
    // refusal keeps to its own schedule instead.
    let _recorded = failed(world, entry, key, observed, reason).await;
    Ok(Action::RequeueAfter(retry))
}

/// Records a resource Eno has nothing more to do to, and when to look at it again.
async fn settle(world: &World, entry: &SliceEntry, key: &ResourceWorkKey, settled: Settled) -> Result<Action, PassError> {
    if let Some(e) = &settled.readiness_error {
        tracing::warn!(resource = %key.resource, error = %e, "readiness check failed");
    }
    let recheck = settled.recheck_after(jitter_seed(key));
    let action = record(world, entry, Ok(settled)).await?;
    Ok(match (action, recheck) {
        (Action::Done, Some(after)) => Action::RequeueAfter(after),
        (a, _) => a,
    })
}

/// Records a reconciliation error, or, for a resource that fails open (`eno.azure.io/fail-open`),
/// the state it counts as instead.
async fn failed(world: &World, entry: &SliceEntry, key: &ResourceWorkKey, observed: &Observed<'_>, message: String) -> Result<Action, PassError> {
    match settle_failure(observed) {
        Some(settled) => {
            tracing::warn!(resource = %key.resource, composition = %key.composition, error = %message, "reconciliation failed; the resource fails open");
            settle(world, entry, key, settled).await
        }
        None => record(world, entry, Err(message)).await,
    }
}

/// Records the resource's state for its slice's status if it changed (written in a batch with
/// the slice's other resources: [`super::slice_status`]). `Ok(settled)` is a
/// successful reconciliation (a failed readiness check shows as its error), `Err(message)` a
/// reconciliation error to show.
async fn record(world: &World, entry: &SliceEntry, outcome: Result<Settled, String>) -> Result<Action, PassError> {
    let slice = &entry.slice;
    let old = slice.status.as_ref().and_then(|s| s.resources.get(entry.index)).cloned().unwrap_or_default();
    let new = match &outcome {
        Ok(settled) => ResourceState {
            reconciled: true,
            deleted: settled.deleted,
            ready: settled.ready.clone(),
            reconciliation_error: settled.readiness_error.as_ref().map(ToString::to_string),
        },
        Err(message) => ResourceState { reconciliation_error: Some(message.clone()), ..old.clone() },
    };
    if new != old {
        world.slice_status.record(slice, entry.index, new);
    }
    match outcome {
        Ok(_) => Ok(Action::Done),
        Err(message) => Err(PassError::Invalid(message)),
    }
}

/// Spreads drift checks of different resources apart, deterministically.
fn jitter_seed(key: &ResourceWorkKey) -> u64 {
    fnv1a64(format!("{}/{}", key.composition, key.resource).bytes())
}

