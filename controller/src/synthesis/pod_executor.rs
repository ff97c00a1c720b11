//! The production executor: runs each synthesis in a Pod ([`super::pod`]) and reads its output
//! back from the Secrets the pod wrote ([`super::handback`]).
//!
//! One synthesis:
//! 1. an uncached list of pods labelled with the synthesis uuid; a pod already there (started
//!    by a controller that restarted since) is adopted instead of starting a second one;
//! 2. otherwise the input Secret (immutable) and the pod are created;
//! 3. the pod is polled until it succeeds (its output Secrets are reassembled and validated
//!    exactly like a local synthesizer's stdout), fails (the container's termination message is
//!    the error), outlives its timeout ([`super::pod::pod_timeout`]: the synthesizer's
//!    `podTimeout`, capped by `--pod-timeout`) plus [`PodExecutor::grace`] (a pod that never
//!    got to run has no `activeDeadlineSeconds` clock), or, scheduled, waits longer than
//!    `--container-creation-ttl` for the kubelet to start its containers (a partitioned node);
//! 4. the pod and every Secret of the synthesis are deleted, whatever the outcome — also when
//!    the synthesis future is dropped (superseded or canceled).
//!
//! It talks to the cluster only through [`Cluster`], so it runs in the simulation too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared, WeakShared};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::api::duration::format_go_duration;
use super::executor::{exec_timeout, Executor, SynthesisInput};
use super::outcome::{quotable_line, SynthesisError, SynthesisOutput};
use super::handback::reassemble;
use super::output;
use super::pod::{synthesis_input_secret, synthesis_pod, PodConfig};
use crate::api::annotations::SYNTHESIS_UUID_LABEL;
use crate::api::Synthesizer;
use crate::runtime::{ClientError, ClientResult, Cluster, DeleteParams, Gvk, ListParams, ObjectRef};

/// How often a running pod is looked at.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Time past `podTimeout` before the executor gives up on a pod Kubernetes has not failed.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(15);
/// Attempts at a request that failed transiently (throttling, a lost connection).
const ATTEMPTS: u32 = 5;

type Synthesis = Shared<BoxFuture<'static, Result<SynthesisOutput, SynthesisError>>>;

/// Runs syntheses in pods (see the module docs).
#[derive(Clone)]
pub struct PodExecutor {
    cluster: Arc<dyn Cluster>,
    config: PodConfig,
    pub poll_interval: Duration,
    pub grace: Duration,
    /// Syntheses in flight by uuid: a second call for the same synthesis joins the first
    /// rather than racing it for the same pod.
    in_flight: Arc<Mutex<BTreeMap<String, WeakShared<BoxFuture<'static, Result<SynthesisOutput, SynthesisError>>>>>>,
}

impl PodExecutor {
    /// `config.input_secret` is set per synthesis (`synthesis-<uuid>`).
    pub fn new(cluster: Arc<dyn Cluster>, config: PodConfig) -> Self {
        Self {
            cluster,
            config,
            poll_interval: DEFAULT_POLL_INTERVAL,
            grace: DEFAULT_GRACE,
            in_flight: Arc::default(),
        }
    }

    fn join_or_start(&self, input: SynthesisInput) -> Synthesis {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        in_flight.retain(|_, synthesis| synthesis.upgrade().is_some());
        if let Some(running) = in_flight.get(&input.uuid).and_then(WeakShared::upgrade) {
            tracing::debug!(composition = %input.composition_key(), uuid = %input.uuid, "joining the synthesis in flight");
            return running;
        }
        let uuid = input.uuid.clone();
        let executor = self.clone();
        let synthesis = async move { executor.run(input).await }.boxed().shared();
        if let Some(weak) = synthesis.downgrade() {
            in_flight.insert(uuid, weak);
        }
        synthesis
    }

    async fn run(&self, input: SynthesisInput) -> Result<SynthesisOutput, SynthesisError> {
        // Checked here too, so a bad spec fails at once, as it does locally.
        exec_timeout(&input.synthesizer.spec)?;
        let namespace = self.config.namespace.clone();
        let config = PodConfig { input_secret: format!("synthesis-{}", input.uuid), ..self.config.clone() };
        let pod = synthesis_pod(&input, &config);
        let deadline_seconds = pod.spec.as_ref().and_then(|s| s.active_deadline_seconds).unwrap_or_default();
        let pod_timeout = Duration::from_secs(u64::try_from(deadline_seconds).unwrap_or_default());
        // As the synthesizer says it, unless the installation's cap is what holds.
        let limit = super::pod::pod_timeout(&input.synthesizer.spec, &config);
        let shown_timeout = match input.synthesizer.spec.pod_timeout() {
            Ok(t) if !t.is_negative() && Duration::from(t) == limit => input.synthesizer.spec.pod_timeout.clone(),
            _ => format_go_duration(limit),
        };

        let cleanup = Cleanup { cluster: self.cluster.clone(), namespace: namespace.clone(), uuid: input.uuid.clone(), armed: true };
        let outcome = async {
            let name = self.find_or_create(&input, &config, &pod).await?;
            tracing::info!(composition = %input.composition_key(), uuid = %input.uuid, pod = %name, "synthesis pod running");
            let deadline = tokio::time::Instant::now() + pod_timeout + self.grace;
            self.wait(&namespace, &name, deadline, &shown_timeout).await?;
            self.output(&namespace, &name, &input.uuid).await
        }
        .await;
        cleanup.run().await;
        outcome
    }

    /// The name of the pod running this synthesis: an adopted one, or one just created.
    async fn find_or_create(&self, input: &SynthesisInput, config: &PodConfig, pod: &Pod) -> Result<String, SynthesisError> {
        let namespace = Some(config.namespace.as_str());
        let selector = ListParams { label_selector: Some(format!("{SYNTHESIS_UUID_LABEL}={}", input.uuid)), ..ListParams::default() };
        let pods = retry(|| self.cluster.list(&pod_gvk(), namespace, &selector)).await.map_err(cluster_error("listing synthesis pods"))?;
        let live = pods.items.iter().filter(|p| p["metadata"]["deletionTimestamp"].is_null()).find_map(|p| p["metadata"]["name"].as_str());
        if let Some(name) = live {
            tracing::info!(composition = %input.composition_key(), uuid = %input.uuid, pod = name, "adopting the synthesis pod already running");
            return Ok(name.to_owned());
        }
        let secret = to_value(&synthesis_input_secret(input, config))?;
        match retry(|| self.cluster.create(&secret)).await {
            // Left by an earlier attempt at the same synthesis: same uuid, same inputs.
            Err(e) if e.is_conflict() => tracing::debug!(secret = %config.input_secret, "input secret already there"),
            Err(e) => return Err(cluster_error("creating the input secret")(e)),
            Ok(_) => {}
        }
        let pod = to_value(pod)?;
        let created = retry(|| self.cluster.create(&pod)).await.map_err(cluster_error("creating the synthesis pod"))?;
        created["metadata"]["name"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SynthesisError::Cluster("the API server returned a pod without a name".to_owned()))
    }

    /// Polls the pod until it succeeded (`Ok`) or failed (the error).
    async fn wait(&self, namespace: &str, name: &str, deadline: tokio::time::Instant, pod_timeout: &str) -> Result<(), SynthesisError> {
        let pod_ref = ObjectRef::new(pod_gvk(), Some(namespace), name);
        loop {
            match self.cluster.get(&pod_ref).await {
                Ok(None) => return Err(SynthesisError::PodFailed(format!("synthesis pod {name} was deleted before it finished"))),
                Ok(Some(value)) => {
                    let pod: Pod = serde_json::from_value(value).map_err(|e| SynthesisError::Cluster(format!("reading pod {name}: {e}")))?;
                    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
                        Some("Succeeded") => return Ok(()),
                        Some("Failed") => return Err(failure(&pod, pod_timeout)),
                        _ => {}
                    }
                    if let Some(ttl) = self.config.container_creation_ttl {
                        if waiting_for_kubelet(&pod, &wall_clock()).is_some_and(|waited| waited >= ttl) {
                            // Deleted with the synthesis's other objects; the synthesis is retried.
                            tracing::warn!(pod = name, ?ttl, "the kubelet has not started the synthesis pod's containers; giving up on the pod");
                            return Err(SynthesisError::PodFailed(format!(
                                "the kubelet did not start synthesis pod {name}'s containers within {} of scheduling it",
                                format_go_duration(ttl)
                            )));
                        }
                    }
                }
                Err(e) if e.is_transient() => tracing::debug!(pod = name, error = %e, "polling the synthesis pod failed; retrying"),
                Err(e) => return Err(SynthesisError::Cluster(format!("reading pod {name}: {e}"))),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SynthesisError::PodTimedOut(pod_timeout.to_owned()));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The pod's output, read back from its Secrets and validated as a local stdout would be.
    async fn output(&self, namespace: &str, name: &str, uuid: &str) -> Result<SynthesisOutput, SynthesisError> {
        let selector = ListParams { label_selector: Some(format!("{SYNTHESIS_UUID_LABEL}={uuid}")), ..ListParams::default() };
        let secrets = retry(|| self.cluster.list(&secret_gvk(), Some(namespace), &selector))
            .await
            .map_err(cluster_error("listing the output secrets"))?;
        output::parse(&reassemble(name, &secrets.items)?)
    }
}

impl Executor for PodExecutor {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        self.join_or_start(input).boxed()
    }
    /// The pod's timeout ([`super::pod::pod_timeout`]) plus the grace this executor waits
    /// beyond it.
    fn run_limit(&self, synth: &Synthesizer) -> Duration {
        super::pod::pod_timeout(&synth.spec, &self.config) + self.grace
    }
}

/// How long a pod has waited for the kubelet since it was scheduled: `None` once a container
/// status is reported (the kubelet acknowledged it) or while it is not scheduled, as Eno's
/// `timeWaitingForKubelet` (`internal/controllers/synthesis/gc.go`).
fn waiting_for_kubelet(pod: &Pod, now: &Timestamp) -> Option<Duration> {
    let status = pod.status.as_ref()?;
    if status.container_statuses.as_ref().is_some_and(|c| !c.is_empty()) {
        return None;
    }
    let scheduled = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled")?;
    if scheduled.status == "False" {
        return None;
    }
    let since = scheduled.last_transition_time.as_ref()?.0;
    Duration::try_from(now.duration_since(since)).ok().filter(|waited| !waited.is_zero())
}

/// The wall clock, as the API server stamps conditions.
fn wall_clock() -> Timestamp {
    Timestamp::try_from(std::time::SystemTime::now()).unwrap_or_default()
}

/// Why a `Failed` pod failed, in the words of whoever could tell.
fn failure(pod: &Pod, pod_timeout: &str) -> SynthesisError {
    let Some(status) = &pod.status else { return SynthesisError::PodFailed("synthesis pod failed".to_owned()) };
    if status.reason.as_deref() == Some("DeadlineExceeded") {
        return SynthesisError::PodTimedOut(pod_timeout.to_owned());
    }
    let failed = |statuses: &Option<Vec<ContainerStatus>>| -> Option<(String, i32, String, String)> {
        statuses.iter().flatten().find_map(|c| {
            let terminated = c.state.as_ref()?.terminated.as_ref()?;
            (terminated.exit_code != 0).then(|| {
                let message = terminated.message.clone().unwrap_or_default();
                (c.name.clone(), terminated.exit_code, terminated.reason.clone().unwrap_or_default(), message)
            })
        })
    };
    // The installer failing means the synthesizer never ran: say so rather than quote its log.
    if let Some((name, code, _, message)) = failed(&status.init_container_statuses) {
        let detail = quotable_line(&message).map(|l| format!(": {l}")).unwrap_or_default();
        return SynthesisError::PodFailed(format!("synthesis pod's {name} container exited with code {code}{detail}"));
    }
    if let Some((name, code, reason, message)) = failed(&status.container_statuses) {
        let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let said = match lines.as_slice() {
            // What `eno execute` wrote: already one sentence about the synthesizer.
            [line] => (*line).to_owned(),
            // The log's tail (`FallbackToLogsOnError`): its last line.
            [.., _] => quotable_line(&message).unwrap_or_default(),
            [] => format!("synthesis pod's {name} container exited with code {code}{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") }),
        };
        return if code == crate::synthesis::pod::VERDICT_EXIT_CODE { SynthesisError::PodVerdict(said) } else { SynthesisError::PodFailed(said) };
    }
    let said = status.message.as_deref().or(status.reason.as_deref()).and_then(quotable_line);
    SynthesisError::PodFailed(format!("synthesis pod failed{}", said.map(|s| format!(": {s}")).unwrap_or_default()))
}

/// Deletes the synthesis's pods and Secrets (found by uuid: the input, the outputs, and any
/// pod an earlier controller left); on drop too, unless it already ran.
struct Cleanup {
    cluster: Arc<dyn Cluster>,
    namespace: String,
    uuid: String,
    armed: bool,
}

impl Cleanup {
    /// Disarmed only once done: dropped halfway, it starts over in the background.
    async fn run(mut self) {
        delete_synthesis(self.cluster.clone(), self.namespace.clone(), self.uuid.clone()).await;
        self.armed = false;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // A dropped synthesis must not leave its pod running: finish the job in the background.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(delete_synthesis(self.cluster.clone(), self.namespace.clone(), self.uuid.clone()));
            }
            Err(_) => tracing::warn!(uuid = %self.uuid, "synthesis dropped outside a runtime; its pod is left to its deadline"),
        }
    }
}

async fn delete_synthesis(cluster: Arc<dyn Cluster>, namespace: String, uuid: String) {
    let selector = ListParams { label_selector: Some(format!("{SYNTHESIS_UUID_LABEL}={uuid}")), ..ListParams::default() };
    for gvk in [pod_gvk(), secret_gvk()] {
        let listed = match retry(|| cluster.list(&gvk, Some(&namespace), &selector)).await {
            Ok(listed) => listed,
            Err(error) => {
                tracing::warn!(%uuid, kind = %gvk.kind, %error, "cleaning up after the synthesis failed");
                continue;
            }
        };
        for object in listed.items {
            let Some(r) = ObjectRef::of(&object) else { continue };
            // Guarded by uid: what a later synthesis recreated under the same name stays.
            let params = DeleteParams { precondition_uid: object["metadata"]["uid"].as_str().map(str::to_owned), ..Default::default() };
            match retry(|| cluster.delete(&r, &params)).await {
                Ok(_) => tracing::debug!(%uuid, object = %r, "deleted"),
                Err(error) if error.is_not_found() || error.is_conflict() => {}
                Err(error) => tracing::warn!(%uuid, object = %r, %error, "deleting a synthesis object failed"),
            }
        }
    }
}

/// Retries transient failures with a short backoff.
pub(crate) async fn retry<T, F>(mut request: impl FnMut() -> F) -> ClientResult<T>
where
    F: std::future::Future<Output = ClientResult<T>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                tracing::debug!(%error, attempt, "request failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

fn cluster_error(what: &'static str) -> impl Fn(ClientError) -> SynthesisError {
    move |error| SynthesisError::Cluster(format!("{what}: {error}"))
}

fn to_value<T: serde::Serialize>(object: &T) -> Result<Value, SynthesisError> {
    serde_json::to_value(object).map_err(|e| SynthesisError::Cluster(format!("encoding: {e}")))
}

fn pod_gvk() -> Gvk {
    Gvk::new("v1", "Pod")
}

fn secret_gvk() -> Gvk {
    Gvk::new("v1", "Secret")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed_pod(status: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "synthesis-abcde"}, "status": status})).unwrap()
    }

    fn terminated(name: &str, code: i32, message: &str) -> Value {
        json!({"name": name, "image": "i", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"terminated": {"exitCode": code, "reason": "Error", "message": message}}})
    }

    fn message(status: Value) -> String {
        failure(&failed_pod(status), "2m").to_string()
    }

    #[test]
    fn the_wrappers_message_is_the_error() {
        let status = json!({"phase": "Failed", "containerStatuses": [terminated("synthesizer", 1, "synthesizer exited with status 3: disk on fire\n")]});
        assert_eq!(message(status), "synthesizer exited with status 3: disk on fire");
    }

    #[test]
    fn a_log_tail_gives_its_last_line() {
        let status = json!({"phase": "Failed", "containerStatuses": [terminated("synthesizer", 2, "starting\npanic: index out of range\n\n")]});
        assert_eq!(message(status), "panic: index out of range");
    }

    #[test]
    fn without_a_message_the_exit_code_is_reported() {
        let status = json!({"phase": "Failed", "containerStatuses": [terminated("synthesizer", 137, "")]});
        assert_eq!(message(status), "synthesis pod's synthesizer container exited with code 137 (Error)");
    }

    #[test]
    fn a_failed_installer_is_named() {
        let status = json!({"phase": "Failed",
            "initContainerStatuses": [terminated("install-executor", 1, "Error: copying /eno to /eno/eno: No space left on device")],
            "containerStatuses": [terminated("synthesizer", 0, "")]});
        assert_eq!(
            message(status),
            "synthesis pod's install-executor container exited with code 1: Error: copying /eno to /eno/eno: No space left on device"
        );
    }

    #[test]
    fn deadline_exceeded_is_the_pod_timeout() {
        let status = json!({"phase": "Failed", "reason": "DeadlineExceeded", "message": "Pod was active on the node longer than the specified deadline"});
        assert_eq!(message(status), "synthesis pod exceeded podTimeout (2m)");
    }

    #[test]
    fn a_scheduled_pod_waits_for_the_kubelet_until_a_container_status_shows() {
        let now: Timestamp = "2025-01-01T00:00:10Z".parse().unwrap();
        let scheduled = |status: &str| json!({"type": "PodScheduled", "status": status, "lastTransitionTime": "2025-01-01T00:00:06Z"});
        let waiting = |status: Value| waiting_for_kubelet(&failed_pod(status), &now);
        assert_eq!(waiting(json!({"phase": "Pending", "conditions": [scheduled("True")]})), Some(Duration::from_secs(4)));
        // Eno only tells a scheduled pod by the condition not being False.
        assert_eq!(waiting(json!({"phase": "Pending", "conditions": [scheduled("Unknown")]})), Some(Duration::from_secs(4)));
        assert_eq!(waiting(json!({"phase": "Pending", "conditions": [scheduled("False")]})), None, "not scheduled yet: the scheduler's business");
        assert_eq!(waiting(json!({"phase": "Pending"})), None);
        let started = json!({"phase": "Pending", "conditions": [scheduled("True")], "containerStatuses": [terminated("synthesizer", 0, "")]});
        assert_eq!(waiting(started), None, "the kubelet reported a container");
        let future = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-01-01T00:00:20Z"}]});
        assert_eq!(waiting(future), None, "a clock behind the server's has not waited");
    }

    #[test]
    fn an_evicted_pod_says_why() {
        let status = json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."});
        assert_eq!(message(status), "synthesis pod failed: The node was low on resource: memory.");
    }
}
