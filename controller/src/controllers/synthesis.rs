//! The synthesis runner: executes a composition's in-flight synthesis, writes its output as
//! ResourceSlices, and records the outcome. A failed synthesis writes nothing but the status,
//! so the last good synthesis's resources stay exactly as they were.
//!
//! This is the one pass that makes more than one write: the synthesizer's run is the expensive,
//! side-effecting step, so its output (slices, then the status naming them) is written by the
//! pass that produced it. Slices a crash leaves unnamed are unreferenced, and the composition
//! controller removes them.

use super::defects::defect;
use super::world::{gvk_composition, gvk_slice, gvk_synthesizer, CompositionKey, PassError, World};
use super::writes::replace_status;
use crate::api::{Composition, KrmResult, ResourceSlice, ResourceSliceRef, Synthesis, CLEANUP_FINALIZER};
use crate::decide::slices::{pack, MAX_SLICE_BYTES};
use crate::decide::synthesis::{claim, complete_failure, complete_success, is_running, Claim};
use crate::runtime::{Action, Backoff, ClientError, Cluster, Gvk, ObjectRef, Patch};
use crate::api::annotations::INPUT_KEY_ANNOTATION;
use crate::synthesis::{Executor, SynthesisInput};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{json, Value};
use std::time::Duration;

pub async fn reconcile(world: &World, executor: &dyn Executor, key: CompositionKey, now: impl Fn() -> Time) -> Result<Action, PassError> {
    // Running a synthesizer is the one thing a stale cache must never trigger (it would run a
    // synthesis that already finished: a retry nobody asked for), so read fresh.
    let comp_ref = ObjectRef::new(gvk_composition(), Some(&key.namespace), &key.name);
    let Some(comp) = world.get_fresh::<Composition>(&comp_ref).await? else { return Ok(Action::Done) };
    let Some(in_flight) = comp.status.as_ref().and_then(|s| s.in_flight_synthesis.clone()) else { return Ok(Action::Done) };
    if comp.metadata.deletion_timestamp.is_some() || !is_running(&in_flight) {
        return Ok(Action::Done);
    }
    // Fresh too: a lagging cache would run an older synthesizer version than the one this
    // synthesis was started for, and record its output as that version's (found by the simulator).
    let synth_ref = ObjectRef::new(gvk_synthesizer(), None, &comp.spec.synthesizer.name);
    let Some(synth) = world.get_fresh::<crate::api::Synthesizer>(&synth_ref).await? else { return Ok(Action::Done) };
    // Inputs before the claim: a read failing here costs a retry, not a held claim.
    let inputs = gather_inputs(&*world.cluster, &comp, &synth).await?;
    // Claim it first: the claim is conditioned on the in-flight synthesis being exactly what
    // was read, so of two replicas (or a replica acting on a stale read) at most one runs it.
    let in_flight = if defect!(world, unfenced_synthesis_claim) {
        in_flight
    } else {
        match claim(&in_flight, &now(), executor.run_limit(&synth) + CLAIM_MARGIN) {
            Claim::Held { retry_after } => {
                tracing::debug!(composition = %key, uuid = %in_flight.uuid, ?retry_after, "synthesis claimed by another executor");
                return Ok(Action::RequeueAfter(retry_after));
            }
            Claim::Take(claimed) => {
                match claim_in_flight(&*world.cluster, &comp_ref, &in_flight, &claimed).await {
                    Ok(()) => {}
                    // The composition changed under the claim (someone else claimed, recorded or
                    // replaced the synthesis, or an unrelated write landed): look again.
                    Err(e) if e.is_conflict() || e.is_invalid() => {
                        tracing::debug!(composition = %key, uuid = %in_flight.uuid, error = %e, "claim lost; looking again");
                        return Ok(Action::RequeueAfter(RETRY_MIN));
                    }
                    Err(e) => return Err(e.into()),
                }
                claimed
            }
        }
    };
    let input = SynthesisInput::new(comp.clone(), synth, in_flight.uuid.clone(), inputs);
    let outcome = executor.synthesize(input).await;

    // Slices first (they are unreferenced until the status names them, and the composition
    // controller removes unreferenced ones), then the outcome, recorded against a fresh read.
    let outcome = match outcome {
        Err(e) => {
            tracing::warn!(composition = %key, uuid = %in_flight.uuid, error = %e, "synthesis failed");
            Outcome::Failed { results: Vec::new(), message: Some(e.to_string()) }
        }
        Ok(output) if output.failed().is_some() => {
            tracing::warn!(composition = %key, uuid = %in_flight.uuid, error = output.failed().unwrap_or_default(), "synthesizer reported an error");
            Outcome::Failed { results: output.results, message: None }
        }
        Ok(output) => {
            let written = persisting(&comp_ref, &in_flight.uuid, "writing the output", || write_slices(world, &comp_ref, &in_flight.uuid, &output.items)).await?;
            let Some(slices) = written else { return Ok(Action::Done) };
            Outcome::Succeeded { slices, results: output.results }
        }
    };
    persisting(&comp_ref, &in_flight.uuid, "recording the outcome", || record(world, &comp_ref, &in_flight.uuid, &outcome, &now)).await?;
    Ok(Action::Done)
}

/// How many times writing a synthesis's output or outcome is tried before the pass gives up.
const PERSIST_ATTEMPTS: u32 = 8;
/// The first pause between those tries (doubling, up to 2s); also how soon a lost claim is
/// looked at again.
const RETRY_MIN: Duration = Duration::from_millis(20);

/// Runs `step` until it succeeds, fails for good, or has failed `PERSIST_ATTEMPTS` times.
/// Conflicts and transient errors are retried here, against fresh reads, rather than by failing
/// the pass: the synthesizer has already run, and a failed pass would wait out the claim and run
/// it again, which for a failed synthesis is exactly the retry that must not happen.
async fn persisting<T, F, Fut>(comp_ref: &ObjectRef, uuid: &str, what: &str, mut step: F) -> Result<T, PassError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, PassError>>,
{
    let mut backoff = Backoff::new(RETRY_MIN, Duration::from_secs(2));
    let mut attempt = 1;
    loop {
        match step().await {
            Err(PassError::Api(e)) if (e.is_conflict() || e.is_transient()) && attempt < PERSIST_ATTEMPTS => {
                tracing::debug!(composition = %comp_ref, %uuid, error = %e, "{what} failed; retrying");
                backoff.wait().await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Writes the output as new slices, with tombstones for what the current synthesis's slices
/// held and the output drops. `None`: the synthesis is no longer in flight, so its output is
/// dropped. Slices are unreferenced until the status names them; the composition controller
/// removes unreferenced ones, so a retry or a crash here leaves no lasting litter.
async fn write_slices(world: &World, comp_ref: &ObjectRef, uuid: &str, items: &[Value]) -> Result<Option<Vec<ResourceSliceRef>>, PassError> {
    let Some(fresh) = read_in_flight(world, comp_ref, uuid).await? else { return Ok(None) };
    // Tombstones come from the slices the new output replaces: read them uncached, as a lagging
    // cache would drop tombstones and strand removed resources.
    let previous = current_slices_uncached(world, &fresh).await?;
    let mut slices = Vec::new();
    for spec in pack(items, &previous, MAX_SLICE_BYTES) {
        let created = create_slice(&*world.cluster, &fresh, uuid, spec).await?;
        slices.push(ResourceSliceRef { name: created });
    }
    Ok(Some(slices))
}

/// How much longer than its executor's run limit a claim is honoured.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// Records `claimed` as the in-flight synthesis if the in-flight synthesis is still `read`
/// (JSON-patch `test`s on its uuid and claim, not on the whole object, so an unrelated write
/// such as a label does not get in the way).
async fn claim_in_flight(cluster: &dyn Cluster, comp_ref: &ObjectRef, read: &Synthesis, claimed: &Synthesis) -> Result<(), ClientError> {
    fn value(v: &impl serde::Serialize) -> Value {
        serde_json::to_value(v).unwrap_or_default()
    }
    let ops = json!([
        {"op": "test", "path": "/status/inFlightSynthesis/uuid", "value": read.uuid},
        {"op": "test", "path": "/status/inFlightSynthesis/claimed", "value": value(&read.claimed)},
        {"op": "test", "path": "/status/inFlightSynthesis/synthesized", "value": value(&read.synthesized)},
        {"op": "replace", "path": "/status/inFlightSynthesis", "value": value(claimed)},
    ]);
    cluster.patch(comp_ref, &Patch::json(ops).on_status()).await.map(|_| ())
}

/// What running the synthesizer produced, ready to be recorded.
enum Outcome {
    Failed { results: Vec<KrmResult>, message: Option<String> },
    Succeeded { slices: Vec<ResourceSliceRef>, results: Vec<KrmResult> },
}

/// Records the outcome in the composition's status, against a fresh read (the composition may
/// have been written while the synthesizer ran).
async fn record(world: &World, comp_ref: &ObjectRef, uuid: &str, outcome: &Outcome, now: &impl Fn() -> Time) -> Result<(), PassError> {
    let Some(fresh) = read_in_flight(world, comp_ref, uuid).await? else { return Ok(()) };
    let status = fresh.status.clone().unwrap_or_default();
    let next = match outcome {
        Outcome::Failed { results, message } => complete_failure(&status, uuid, results.clone(), message.clone(), now()),
        Outcome::Succeeded { slices, results } => complete_success(&status, uuid, slices.clone(), results.clone(), now()),
    };
    let next = next.map_err(|e| PassError::Invalid(e.to_string()))?;
    let value = serde_json::to_value(&next).map_err(|e| PassError::Invalid(e.to_string()))?;
    replace_status(&*world.cluster, comp_ref, fresh.metadata.resource_version.as_deref().unwrap_or_default(), &value).await?;
    Ok(())
}

/// The composition read uncached, if `uuid` is still its in-flight synthesis (otherwise it was
/// superseded, canceled or already recorded, and this outcome is dropped).
async fn read_in_flight(world: &World, comp_ref: &ObjectRef, uuid: &str) -> Result<Option<Composition>, PassError> {
    let Some(fresh) = world.get_fresh::<Composition>(comp_ref).await? else { return Ok(None) };
    let in_flight = fresh.status.as_ref().and_then(|s| s.in_flight_synthesis.as_ref()).map(|s| s.uuid.as_str());
    if in_flight != Some(uuid) {
        tracing::info!(composition = %comp_ref, %uuid, "synthesis no longer in flight; dropping its output");
        return Ok(None);
    }
    Ok(Some(fresh))
}

/// The current synthesis's slices, read from the API server.
async fn current_slices_uncached(world: &World, comp: &Composition) -> Result<Vec<ResourceSlice>, PassError> {
    let Some(current) = comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()) else { return Ok(Vec::new()) };
    let mut slices = Vec::new();
    for r in &current.resource_slices {
        let slice_ref = ObjectRef::new(gvk_slice(), comp.metadata.namespace.as_deref(), &r.name);
        match world.get_fresh::<ResourceSlice>(&slice_ref).await? {
            Some(slice) => slices.push(slice),
            // Slices hold a finalizer until nothing refers to them, so this takes a hand edit.
            None => tracing::warn!(slice = %slice_ref, "current synthesis's slice is gone; its resources get no tombstones"),
        }
    }
    Ok(slices)
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
