//! The symphony controller's interpreter: one write per pass, decided by
//! [`crate::decide::symphony::next`] and made through [`super::writes::execute`].
//!
//! A pass decides on the caches first; only when that finds something to write does it read the
//! symphony and list its compositions uncached and decide again on those, so the write it makes (each one
//! conditioned on the resourceVersion it was decided on) rests on a linearizable read, as the
//! fencing argument in `decide::symphony` requires.

use super::keys::SymphonyKey;
use super::world::{PassError, World};
use super::defects::Fence;
use crate::api::{Composition, Symphony, CLEANUP_FINALIZER};
use crate::decide::step::{gvk, json, Write};
use crate::decide::symphony::{is_owned_by, next, Next};
use crate::runtime::{Action, ListParams, ObjectRef};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait before looking again when a composition carries a newer symphony
/// generation than our cached symphony (the informer is catching up).
const STALE_RETRY: Duration = Duration::from_secs(1);

pub async fn reconcile(world: &World, key: SymphonyKey) -> Result<Action, PassError> {
    let Some(cached_symphony) = world.symphony(&key) else { return Ok(Action::Done) };
    let cached: Vec<Arc<Composition>> = world.all_compositions().into_iter().filter(|c| is_owned_by(c, &cached_symphony)).collect();
    if decide(world, &cached_symphony, &cached).is_none() {
        return Ok(Action::Done);
    }
    // Something to write: decide again on uncached reads. The symphony is re-read too, so a
    // lagging informer costs a retry, not a stale decision (the fence covers the rest).
    let symphony_ref = key.object_ref();
    let Some(symphony) = world.get_fresh::<Symphony>(&symphony_ref, Fence::FreshSymphonyList).await? else { return Ok(Action::Done) };
    let fresh = fresh_owned(world, &symphony).await?;
    let typed: Vec<Composition> = fresh.values().map(|(c, _)| c.clone()).collect();
    let Some(decided) = decide(world, &symphony, &typed) else { return Ok(Action::Done) };
    let symphony_rv = symphony.metadata.resource_version.clone().unwrap_or_default();
    let finalizers = symphony.metadata.finalizers.clone().unwrap_or_default();
    let comp_ref = |name: &str| ObjectRef::new(gvk::<Composition>(), Some(&key.namespace), name);
    let write = match decided {
        Next::AddFinalizer => {
            let mut with = finalizers;
            with.push(CLEANUP_FINALIZER.to_string());
            Write::SetFinalizers { target: symphony_ref, resource_version: symphony_rv, finalizers: with }
        }
        Next::RemoveFinalizer => {
            let remaining = finalizers.into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
            Write::SetFinalizers { target: symphony_ref, resource_version: symphony_rv, finalizers: remaining }
        }
        Next::Create(comp) => {
            tracing::info!(symphony = %key.name, composition = ?comp.metadata.name, "creating composition");
            Write::Create { object: json(&*comp) }
        }
        Next::Update { composition, reason, labels, annotations, spec, .. } => {
            tracing::info!(symphony = %key.name, %composition, ?reason, "updating composition");
            // The raw object, so fields this version does not know survive the PUT; its
            // resourceVersion is the one the decision was made on.
            let (_, raw) = fresh.get(&composition).ok_or_else(|| PassError::Invalid(format!("composition {composition} vanished from the listing")))?;
            let mut body = raw.clone();
            set_map(&mut body["metadata"], "labels", &labels);
            set_map(&mut body["metadata"], "annotations", &annotations);
            if let Some(spec) = spec {
                body["spec"] = json(&spec);
            }
            Write::Replace { object: body }
        }
        Next::Delete { composition, uid, resource_version, reason } => {
            tracing::info!(symphony = %key.name, %composition, ?reason, "deleting composition");
            Write::Delete { target: comp_ref(&composition), uid: Some(uid), resource_version: Some(resource_version) }
        }
        Next::Status(status) => Write::ReplaceStatus { target: symphony_ref, resource_version: symphony_rv, status: json(&status) },
        Next::Stale { composition, stamp } => {
            tracing::debug!(symphony = %key.name, %composition, stamp, "a composition is ahead of our view of the symphony; waiting");
            return Ok(Action::RequeueAfter(STALE_RETRY));
        }
    };
    world.write(&write).await?;
    Ok(Action::Done)
}

/// [`next`], or the deliberately broken protocol when the simulator asks for it.
fn decide(world: &World, symphony: &Symphony, owned: &[impl std::borrow::Borrow<Composition>]) -> Option<Next> {
    #[cfg(madsim)]
    if world.defects.set_before_prune {
        return crate::decide::symphony::next_setting_before_pruning(symphony, owned);
    }
    let _ = world;
    next(symphony, owned)
}

/// The symphony's compositions from an uncached list, by name: typed for deciding, raw for
/// writing back.
async fn fresh_owned(world: &World, symphony: &Symphony) -> Result<BTreeMap<String, (Composition, Value)>, PassError> {
    let namespace = symphony.metadata.namespace.as_deref();
    let items = if world.unfenced(Fence::FreshSymphonyList) {
        world.compositions.list().into_iter().filter(|c| c["metadata"]["namespace"].as_str() == namespace).map(std::sync::Arc::unwrap_or_clone).collect()
    } else {
        world.cluster.list(&gvk::<Composition>(), namespace, &ListParams::default()).await?.items
    };
    let mut owned = BTreeMap::new();
    for raw in items {
        let comp: Composition = serde_json::from_value(raw.clone()).map_err(|e| PassError::Invalid(format!("listed composition does not decode: {e}")))?;
        if is_owned_by(&comp, symphony) {
            owned.insert(comp.metadata.name.clone().unwrap_or_default(), (comp, raw));
        }
    }
    Ok(owned)
}

/// Sets `meta[field]` to `values`, or removes it when empty.
fn set_map(meta: &mut Value, field: &str, values: &BTreeMap<String, String>) {
    match meta.as_object_mut() {
        Some(obj) if values.is_empty() => {
            obj.remove(field);
        }
        Some(obj) => {
            obj.insert(field.to_string(), serde_json::json!(values));
        }
        None => {}
    }
}
