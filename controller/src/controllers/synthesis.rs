//! The synthesis runner: executes a composition's in-flight synthesis, writes its output as
//! ResourceSlices, and records the outcome. A failed synthesis writes nothing but the status,
//! so the last good synthesis's resources stay exactly as they were.

use super::defects::defect;
use super::world::{gvk_composition, gvk_slice, gvk_synthesizer, CompositionKey, PassError, World};
use super::writes::{replace_status, resource_version};
use crate::api::{Composition, ResourceSlice, ResourceSliceRef, CLEANUP_FINALIZER};
use crate::decide::slices::{pack, MAX_SLICE_BYTES};
use crate::decide::synthesis::{complete_failure, complete_success, is_running};
use crate::runtime::{Action, Cluster, Gvk, ObjectRef};
use crate::synthesis::executor::INPUT_KEY_ANNOTATION;
use crate::synthesis::{Executor, SynthesisInput};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{json, Value};

pub async fn reconcile(world: &World, executor: &dyn Executor, key: CompositionKey, now: impl Fn() -> Time) -> Result<Action, PassError> {
    // Running a synthesizer is the one thing a stale cache must never trigger (it would run a
    // synthesis that already finished: a retry nobody asked for), so read fresh.
    let comp_ref = ObjectRef::new(gvk_composition(), Some(&key.namespace), &key.name);
    let comp = if defect!(world, cached_synthesis_read) {
        world.composition(&key)
    } else {
        let Some(comp) = world.cluster.get(&comp_ref).await? else { return Ok(Action::Done) };
        Some(serde_json::from_value(comp).map_err(|e| PassError::Invalid(e.to_string()))?)
    };
    let Some(comp): Option<Composition> = comp else { return Ok(Action::Done) };
    let Some(in_flight) = comp.status.as_ref().and_then(|s| s.in_flight_synthesis.clone()) else { return Ok(Action::Done) };
    if comp.metadata.deletion_timestamp.is_some() || !is_running(&in_flight) {
        return Ok(Action::Done);
    }
    // Fresh too: a lagging cache would run an older synthesizer version than the one this
    // synthesis was started for, and record its output as that version's (found by the simulator).
    let synth_ref = ObjectRef::new(gvk_synthesizer(), None, &comp.spec.synthesizer.name);
    let Some(synth) = world.cluster.get(&synth_ref).await? else { return Ok(Action::Done) };
    let synth: crate::api::Synthesizer = serde_json::from_value(synth).map_err(|e| PassError::Invalid(e.to_string()))?;
    let inputs = gather_inputs(&*world.cluster, &comp, &synth).await?;
    let input = SynthesisInput::new(comp.clone(), synth, in_flight.uuid.clone(), inputs);
    let outcome = executor.synthesize(input).await;

    // Record against a fresh read: the in-flight synthesis may have been superseded while the
    // synthesizer ran.
    let Some(fresh) = world.cluster.get(&comp_ref).await? else { return Ok(Action::Done) };
    let fresh: Composition = serde_json::from_value(fresh).map_err(|e| PassError::Invalid(e.to_string()))?;
    let status = fresh.status.clone().unwrap_or_default();
    if status.in_flight_synthesis.as_ref().map(|s| s.uuid.as_str()) != Some(in_flight.uuid.as_str()) {
        tracing::info!(composition = %key, uuid = %in_flight.uuid, "synthesis superseded; dropping its output");
        return Ok(Action::Done);
    }
    let next = match outcome {
        Err(e) => {
            tracing::warn!(composition = %key, uuid = %in_flight.uuid, error = %e, "synthesis failed");
            complete_failure(&status, &in_flight.uuid, Vec::new(), Some(e.to_string()), now())
        }
        Ok(output) if output.failed().is_some() => {
            tracing::warn!(composition = %key, uuid = %in_flight.uuid, error = output.failed().unwrap_or_default(), "synthesizer reported an error");
            complete_failure(&status, &in_flight.uuid, output.results, None, now())
        }
        Ok(output) => {
            let previous = world.current_slices(&fresh).unwrap_or_default();
            let mut refs = Vec::new();
            for spec in pack(&output.items, &previous, MAX_SLICE_BYTES) {
                let created = create_slice(&*world.cluster, &fresh, &in_flight.uuid, spec).await?;
                refs.push(ResourceSliceRef { name: created });
            }
            complete_success(&status, &in_flight.uuid, refs, output.results, now())
        }
    };
    let next = next.map_err(|e| PassError::Invalid(e.to_string()))?;
    let value = serde_json::to_value(&next).map_err(|e| PassError::Invalid(e.to_string()))?;
    replace_status(&*world.cluster, &comp_ref, &resource_version(&serde_json::to_value(&fresh).unwrap_or_default()), &value).await?;
    Ok(Action::Done)
}

/// The synthesizer's bound inputs, read fresh, each annotated with its key. Inputs that do not
/// exist (yet) are left out; tracking input changes is Eno's T2 behaviour.
async fn gather_inputs(cluster: &dyn Cluster, comp: &Composition, synth: &crate::api::Synthesizer) -> Result<Vec<Value>, PassError> {
    let mut inputs = Vec::new();
    for r in &synth.spec.refs {
        let binding = comp.spec.bindings.iter().find(|b| b.key == r.key);
        let non_empty = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
        let name = binding.and_then(|b| non_empty(&b.resource.name)).or_else(|| non_empty(&r.resource.name));
        let Some(name) = name else { continue };
        let namespace = binding.and_then(|b| non_empty(&b.resource.namespace)).or_else(|| non_empty(&r.resource.namespace));
        let api_version = if r.resource.group.is_empty() { r.resource.version.clone() } else { format!("{}/{}", r.resource.group, r.resource.version) };
        let obj_ref = ObjectRef::new(Gvk::new(&api_version, &r.resource.kind), namespace.as_deref(), &name);
        match cluster.get(&obj_ref).await {
            Ok(Some(mut obj)) => {
                obj["metadata"]["annotations"][INPUT_KEY_ANNOTATION] = json!(r.key);
                inputs.push(obj);
            }
            Ok(None) => tracing::info!(input = %obj_ref, key = %r.key, "bound input not found; synthesizing without it"),
            Err(e) if matches!(e, crate::runtime::ClientError::UnknownKind(_)) => tracing::info!(input = %obj_ref, "input kind not served"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(inputs)
}

/// Creates one slice owned by the composition (controller reference, so garbage collection
/// removes it once the composition is gone and its finalizer released).
async fn create_slice(cluster: &dyn Cluster, comp: &Composition, uuid: &str, mut spec: crate::api::ResourceSliceSpec) -> Result<String, PassError> {
    spec.synthesis_uuid = uuid.to_string();
    let name = comp.metadata.name.clone().unwrap_or_default();
    let slice = json!({
        "apiVersion": gvk_slice().api_version,
        "kind": "ResourceSlice",
        "metadata": {
            "generateName": format!("{name}-"),
            "namespace": comp.metadata.namespace,
            "finalizers": [CLEANUP_FINALIZER],
            "ownerReferences": [{
                "apiVersion": gvk_composition().api_version, "kind": "Composition", "name": name,
                "uid": comp.metadata.uid, "controller": true, "blockOwnerDeletion": true
            }],
        },
        "spec": spec,
    });
    let created = cluster.create(&slice).await?;
    let _: ResourceSlice = serde_json::from_value(created.clone()).map_err(|e| PassError::Invalid(e.to_string()))?;
    Ok(created["metadata"]["name"].as_str().unwrap_or_default().to_string())
}
