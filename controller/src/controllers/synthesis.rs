//! The synthesis runner's interpreter: carries out the steps
//! [`crate::decide::synthesis::runner::Run`] names (uncached reads, the claim, the
//! synthesizer's run, slice creations, the outcome) and reports what each found, until the
//! decision ends the pass. Writes go through [`World::write`] (the one executor). A pass that
//! fails after its synthesizer ran leaves the run in [`World::unpersisted`] for the next one.

use super::keys::CompositionKey;
use super::world::{PassError, World};
use super::defects::Fence;
use crate::api::{Composition, ResourceSlice, Synthesizer};
use crate::decide::step::Write;
use crate::decide::inputs::Bound;
use crate::decide::synthesis::runner::{Failure, Observation, Ran, Step};
use crate::runtime::metrics::SynthesisOutcome;
use crate::runtime::{Action, ClientError, Cluster, ObjectRef};
use crate::api::annotations::INPUT_KEY_ANNOTATION;
use crate::synthesis::{Executor, SynthesisInput};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{json, Value};

pub async fn reconcile(world: &World, executor: &dyn Executor, key: CompositionKey, now: impl Fn() -> Time) -> Result<Action, PassError> {
    let comp_ref = key.object_ref();
    // A pass that gave up persisting its output left the run to resume.
    let mut run = world.unpersisted.take(&key).unwrap_or_default();
    #[cfg(madsim)]
    {
        run.unfenced_claim = world.defects.unfenced_synthesis_claim;
        run.claims_never_expire = world.defects.claims_never_expire;
        run.ignore_lockstep = world.defects.ignore_lockstep;
        run.run_late_claims = world.defects.run_late_claims;
    }
    // The error of the last failed step, returned if the decision ends the pass on it.
    let mut error: Option<PassError> = None;
    loop {
        let found = match run.next(&now()) {
            // A composition that is no longer this shard's (its labels stopped matching) is
            // left alone, as if it were gone.
            Step::ReadComposition => {
                let fresh = world.get_fresh::<Composition>(&comp_ref, Fence::FreshRunnerReads).await;
                fresh.map(|c| Observation::Composition(c.filter(|c| world.shard.owns_composition(c))))
            }
            Step::ReadSynthesizer(r) => world.get_fresh::<Synthesizer>(&r, Fence::FreshRunnerReads).await.map(|s| Observation::Synthesizer(s.map(|s| {
                let limit = executor.run_limit(&s);
                (s, limit)
            }))),
            Step::ReadInputs(inputs) => read_inputs(&*world.cluster, &inputs).await.map(Observation::Inputs),
            Step::WatchClaim { uuid, claimed } => Ok(Observation::ClaimWatched(world.claims.watched(&uuid, &claimed))),
            Step::Claim { write, claimed } => {
                world.claims.forget(&claimed.uuid);
                let sent = tokio::time::Instant::now();
                world.write(&write).await.map(|_| Observation::Claimed { claimed, round_trip: sent.elapsed() }).map_err(PassError::from)
            }
            Step::ClaimHeld { retry_after } => {
                tracing::debug!(composition = %key, ?retry_after, "synthesis claimed by another executor");
                return Ok(Action::RequeueAfter(retry_after));
            }
            Step::ClaimLost { retry_after } => {
                tracing::debug!(composition = %key, error = ?error, "claim lost; looking again");
                return Ok(Action::RequeueAfter(retry_after));
            }
            Step::ClaimAnsweredLate { retry_after } => {
                tracing::warn!(composition = %key, "the synthesis claim was answered too late to run on (the process stalled, or the API server was slow); looking again");
                return Ok(Action::RequeueAfter(retry_after));
            }
            Step::RunSynthesizer { composition, synthesizer, uuid, inputs } => {
                let input = SynthesisInput::new(*composition, *synthesizer, uuid, inputs);
                Ok(Observation::Ran(run_synthesizer(world, executor, &key, input).await))
            }
            Step::ReadCurrentSlices(refs) => read_slices(world, &refs).await.map(Observation::CurrentSlices),
            Step::WriteSlice(write) => create_slice(world, &write).await.map(Observation::SliceCreated),
            Step::RecordOutcome(write) => world.write(&write).await.map(|_| Observation::Recorded).map_err(PassError::from),
            Step::Retry(pause) => {
                tracing::debug!(composition = %key, error = ?error, ?pause, "persisting the synthesis failed; retrying");
                tokio::time::sleep(pause).await;
                Ok(Observation::Paused)
            }
            Step::Superseded { uuid } => {
                tracing::info!(composition = %key, %uuid, "synthesis no longer in flight; dropping its output");
                return Ok(Action::Done);
            }
            Step::Refused(e) => return Err(PassError::Invalid(e.to_string())),
            Step::Fail => {
                if let Some(resumable) = run.resumable() {
                    tracing::info!(composition = %key, "persisting the synthesis output failed; the next pass resumes it without running the synthesizer again");
                    world.unpersisted.keep(key, resumable);
                }
                return Err(error.unwrap_or_else(|| PassError::Invalid("synthesis pass failed".into())));
            }
            Step::Done => return Ok(Action::Done),
        };
        match found {
            Ok(observation) => run.observe(observation),
            Err(e) => {
                run.observe(Observation::Failed(failure(&e)));
                error = Some(e);
            }
        }
    }
}

fn failure(e: &PassError) -> Failure {
    match e {
        PassError::Api(e) if e.is_conflict() => Failure::Conflict,
        PassError::Api(e) if e.is_invalid() => Failure::Invalid,
        PassError::Api(e) if e.is_transient() => Failure::Transient,
        _ => Failure::Other,
    }
}

/// Runs the synthesizer, counting the run in `eno_synthesis_runs_total` by how it ended.
async fn run_synthesizer(world: &World, executor: &dyn Executor, key: &CompositionKey, input: SynthesisInput) -> Ran {
    let uuid = input.uuid.clone();
    let started = tokio::time::Instant::now();
    let (ran, outcome) = match executor.synthesize(input).await {
        Err(e) => {
            tracing::warn!(composition = %key, %uuid, error = %e, "synthesis failed");
            let outcome = if e.is_verdict() { SynthesisOutcome::Failed } else { SynthesisOutcome::Retried };
            (Ran::Failed { message: e.to_string(), verdict: e.is_verdict() }, outcome)
        }
        Ok(output) => {
            let outcome = match output.failed() {
                Some(error) => {
                    tracing::warn!(composition = %key, %uuid, error, "synthesizer reported an error");
                    SynthesisOutcome::Failed
                }
                None => SynthesisOutcome::Succeeded,
            };
            (Ran::Output { items: output.items, results: output.results }, outcome)
        }
    };
    world.metrics.synthesized(outcome, started.elapsed());
    ran
}

/// The inputs that exist, each annotated with its key (their changes are tracked by the
/// composition controller: `decide::inputs`).
async fn read_inputs(cluster: &dyn Cluster, inputs: &[Bound]) -> Result<Vec<Value>, PassError> {
    let mut found = Vec::new();
    for input in inputs {
        match cluster.get(&input.target).await {
            Ok(Some(mut obj)) => {
                obj["metadata"]["annotations"][INPUT_KEY_ANNOTATION] = json!(input.key);
                found.push(obj);
            }
            Ok(None) => tracing::info!(input = %input.target, key = %input.key, "bound input not found; synthesizing without it"),
            Err(ClientError::UnknownKind(_)) => tracing::info!(input = %input.target, "input kind not served"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}

/// The slices, read uncached; a missing one is left out.
async fn read_slices(world: &World, refs: &[ObjectRef]) -> Result<Vec<ResourceSlice>, PassError> {
    let mut slices = Vec::new();
    for r in refs {
        match world.get_fresh::<ResourceSlice>(r, Fence::FreshRunnerReads).await? {
            Some(slice) => slices.push(slice),
            // Slices hold a finalizer until nothing refers to them, so this takes a hand edit.
            None => tracing::warn!(slice = %r, "current synthesis's slice is gone; its resources get no tombstones"),
        }
    }
    Ok(slices)
}

/// Creates a slice; the name the server gave it.
async fn create_slice(world: &World, write: &Write) -> Result<String, PassError> {
    let created = world.write(write).await?.unwrap_or_default();
    let _: ResourceSlice = serde_json::from_value(created.clone()).map_err(|e| PassError::Invalid(e.to_string()))?;
    Ok(created["metadata"]["name"].as_str().unwrap_or_default().to_string())
}
