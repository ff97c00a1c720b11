//! The scenario's user: creates the scenario's objects, then plays its steps — kubectl-like
//! applies, merge patches and deletes — each at its virtual time (a repeated step at each of
//! its times) and once its `waitFor` condition holds, retrying through injected errors as a
//! patient operator would.

use super::expectations;
use super::recorder::Recorder;
use crate::scenario::{address_of, Action, Address, FinalizerChange, Scenario};
use eno::runtime::fake::FakeCluster;
use eno::runtime::{ClientError, ClientResult, Cluster, DeleteParams, Gvk, ObjectRef, Patch};
use eno::synthesis::SimulatedExecutor;
use fake_apiserver::SharedApiServer;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

/// How often a waiting step re-checks its condition.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// How long the user waits before retrying an action that failed transiently.
const RETRY_AFTER: Duration = Duration::from_millis(100);
/// Attempts at one action before the user gives up on it.
const ATTEMPTS: usize = 100;

/// How the user's part of a run went.
pub(super) struct Played {
    /// Actions that failed for good.
    pub failed_actions: Vec<String>,
    /// Steps' conditions that never held before the deadline.
    pub unmet_conditions: Vec<String>,
    /// False when the user stopped early because an invariant broke: the rest of the run could
    /// only bury the violation.
    pub finished: bool,
}

/// Plays `scenario`'s objects and steps in a run that started at `start`.
pub(super) async fn play(scenario: &Scenario, start: Instant, server: &SharedApiServer, executor: &SimulatedExecutor, recorder: &Recorder) -> Played {
    let user = FakeCluster::new(server.clone(), "user");
    let mut played = Played { failed_actions: Vec::new(), unmet_conditions: Vec::new(), finished: true };
    for obj in &scenario.objects {
        if let Err(e) = act(&user, recorder, &Action::Apply(obj.clone())).await {
            played.failed_actions.push(e);
        }
    }
    for (at, step) in scenario.schedule() {
        if !recorder.wait_until(start + at).await {
            played.finished = false;
            break;
        }
        if let Some(condition) = &step.wait_for {
            while !expectations::unmet(condition, server, executor, false).is_empty() {
                if Instant::now() >= start + scenario.deadline.0 {
                    played.unmet_conditions.push(format!("the condition of the step at {at:?} never held: {}", expectations::unmet(condition, server, executor, false).join("; ")));
                    break;
                }
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
        if let Err(e) = act(&user, recorder, &step.action).await {
            played.failed_actions.push(e);
        }
    }
    played
}

/// One user action, retried through transient errors and conflicts. The fake cluster answers
/// without yielding, so the checker's `user_acting` covers exactly the call.
async fn act(user: &FakeCluster, recorder: &Recorder, action: &Action) -> Result<(), String> {
    let mut last = String::new();
    // A write answered with a timeout may have committed; a patch removing an object's last
    // finalizer deletes it, so its retry finds nothing to patch (found by the sweep).
    let mut may_have_committed = false;
    for _ in 0..ATTEMPTS {
        recorder.lock().checker.user_acting = true;
        let result = attempt(user, action).await;
        recorder.lock().checker.user_acting = false;
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.is_not_found() && may_have_committed && matches!(action, Action::Patch { .. }) => return Ok(()),
            Err(e) if e.is_transient() || e.is_conflict() => {
                may_have_committed |= e.is_transient();
                last = e.to_string();
            }
            Err(e) => return Err(format!("user step {action:?} failed: {e}")),
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
    Err(format!("user step {action:?} kept failing: {last}"))
}

async fn attempt(user: &FakeCluster, action: &Action) -> ClientResult<()> {
    match action {
        Action::Apply(obj) => {
            let Some(address) = address_of(obj) else { return Err(ClientError::Transport("object without an address".into())) };
            let r = object_ref(&address);
            match user.get(&r).await? {
                Some(_) => user.patch(&r, &Patch::merge(obj.clone())).await.map(|_| ()),
                None => user.create(obj).await.map(|_| ()),
            }
        }
        Action::Patch { target, merge } => user.patch(&object_ref(target), &Patch::merge(merge.clone())).await.map(|_| ()),
        Action::AddFinalizer(change) => change_finalizer(user, change, true).await,
        Action::RemoveFinalizer(change) => change_finalizer(user, change, false).await,
        Action::Delete(target) => delete(user, &object_ref(target)).await,
        Action::LoseSlices(key) => {
            let (namespace, name) = key.split_once('/').unwrap_or(("default", key));
            let Some(comp) = user.get(&ObjectRef::new(Gvk::new(eno::api::API_VERSION, "Composition"), Some(namespace), name)).await? else { return Ok(()) };
            for slice in comp["status"]["currentSynthesis"]["resourceSlices"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()) {
                let r = ObjectRef::new(Gvk::new(eno::api::API_VERSION, "ResourceSlice"), Some(namespace), slice);
                match user.patch(&r, &Patch::merge(json!({"metadata": {"finalizers": null}}))).await {
                    Err(e) if e.is_not_found() => continue,
                    other => other.map(|_| ())?,
                }
                delete(user, &r).await?;
            }
            Ok(())
        }
    }
}

/// Deletes `r`; already gone counts as deleted.
async fn delete(user: &FakeCluster, r: &ObjectRef) -> ClientResult<()> {
    match user.delete(r, &DeleteParams::default()).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Adds or removes one finalizer by a JSON patch that `test`s the resourceVersion it was
/// computed from; a failed test (422: the object changed since) is a conflict to retry.
async fn change_finalizer(user: &FakeCluster, change: &FinalizerChange, add: bool) -> ClientResult<()> {
    let r = object_ref(&change.target);
    let obj = match user.get(&r).await? {
        Some(obj) => obj,
        // The last finalizer's removal deletes the object: a retried one finds it gone.
        None if !add => return Ok(()),
        None => return Err(ClientError::Api { code: 404, reason: "NotFound".into(), message: format!("{r} not found") }),
    };
    let finalizers: Vec<&str> = obj["metadata"]["finalizers"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let at = finalizers.iter().position(|f| *f == change.finalizer);
    let edit = match (add, at) {
        (true, Some(_)) | (false, None) => return Ok(()),
        (true, None) if finalizers.is_empty() => json!({"op": "add", "path": "/metadata/finalizers", "value": [change.finalizer]}),
        (true, None) => json!({"op": "add", "path": "/metadata/finalizers/-", "value": change.finalizer}),
        (false, Some(i)) => json!({"op": "remove", "path": format!("/metadata/finalizers/{i}")}),
    };
    let ops = json!([{"op": "test", "path": "/metadata/resourceVersion", "value": obj["metadata"]["resourceVersion"]}, edit]);
    match user.patch(&r, &Patch::json(ops)).await {
        Err(e) if e.is_invalid() => Err(ClientError::Api { code: 409, reason: "Conflict".into(), message: format!("{r} changed since it was read: {e}") }),
        other => other.map(|_| ()),
    }
}

fn object_ref(a: &Address) -> ObjectRef {
    ObjectRef::new(Gvk::new(&a.api_version, &a.kind), a.namespace.as_deref(), &a.name)
}
