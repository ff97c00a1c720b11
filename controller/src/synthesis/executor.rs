//! What every executor shares: its input and output, its errors, the process environment and the
//! input `ResourceList`, and the [`Executor`] trait the synthesis controller calls.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::duration::format_go_duration;
use super::output::InvalidItem;
use crate::api::{Composition, KrmResult, ResourceList, Synthesizer, SynthesizerSpec};

/// Annotation carried by every input object: the synthesizer ref key it was bound to.
pub const INPUT_KEY_ANNOTATION: &str = "eno.azure.io/input-key";
/// Largest stdout a synthesizer may write; past it the process is killed. Also bounds what a
/// synthesis can put into resource slices.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// Largest stderr a synthesizer may write; logs are forwarded, but a runaway logger must not
/// exhaust the executor's memory or the log pipeline.
pub const MAX_STDERR_BYTES: usize = 4 * 1024 * 1024;
/// `execTimeout` when a synthesizer does not say (the CRD default).
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// The command run when a synthesizer's `command` is empty, as in Eno.
pub const DEFAULT_COMMAND: &str = "synthesize";
/// Variables Eno sets for every synthesizer; `synthesisEnv` entries cannot override them.
pub const RESERVED_ENV: [&str; 4] = ["COMPOSITION_NAME", "COMPOSITION_NAMESPACE", "SYNTHESIS_UUID", "IMAGE"];

/// Everything needed to run one synthesis: gathered by the caller so that executors never read
/// the cluster themselves (and the simulated one stays a pure function of its input).
#[derive(Clone, Debug, PartialEq)]
pub struct SynthesisInput {
    pub composition: Composition,
    pub synthesizer: Synthesizer,
    /// `status.inFlightSynthesis.uuid` of the composition.
    pub uuid: String,
    /// Bound input objects in the synthesizer's refs order, each already annotated
    /// [`INPUT_KEY_ANNOTATION`].
    pub inputs: Vec<Value>,
}

impl SynthesisInput {
    pub fn new(composition: Composition, synthesizer: Synthesizer, uuid: impl Into<String>, inputs: Vec<Value>) -> Self {
        Self { composition, synthesizer, uuid: uuid.into(), inputs }
    }

    /// `namespace/name` of the composition, for logs.
    pub fn composition_key(&self) -> String {
        let meta = &self.composition.metadata;
        format!("{}/{}", meta.namespace.as_deref().unwrap_or_default(), meta.name.as_deref().unwrap_or_default())
    }

    /// The synthesizer's argv: `command`, or `["synthesize"]` when it is empty.
    pub fn command(&self) -> Vec<String> {
        command(&self.synthesizer.spec)
    }
}

/// The synthesizer's argv: `command`, or `["synthesize"]` when it is empty.
pub fn command(spec: &SynthesizerSpec) -> Vec<String> {
    if spec.command.is_empty() {
        vec![DEFAULT_COMMAND.to_owned()]
    } else {
        spec.command.clone()
    }
}

/// `execTimeout` of the synthesizer. The CRD rejects bad values, but objects written before
/// validation existed (or by a lenient server) must fail the synthesis clearly, not hang it.
pub fn exec_timeout(spec: &SynthesizerSpec) -> Result<Duration, SynthesisError> {
    let invalid = |reason: String| SynthesisError::InvalidSpec { field: "execTimeout", value: spec.exec_timeout.clone(), reason };
    let timeout = spec.exec_timeout().map_err(|e| invalid(e.to_string()))?;
    if timeout.is_negative() {
        return Err(invalid("it is negative".to_owned()));
    }
    Ok(timeout.into())
}

/// A synthesizer's result: the desired resources and its KRM results. Executors only return
/// outputs whose items passed [`super::output::validate`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SynthesisOutput {
    pub items: Vec<Value>,
    pub results: Vec<KrmResult>,
}

impl SynthesisOutput {
    pub fn new(items: Vec<Value>) -> Self {
        Self { items, results: Vec::new() }
    }

    /// The message to show when the synthesizer reported failure itself: that of the first result
    /// with severity `error`. Such an output must not be written, whatever its items.
    pub fn failed(&self) -> Option<&str> {
        let result = self.results.iter().find(|r| r.is_error())?;
        Some(if result.message.trim().is_empty() {
            "synthesizer reported an error without a message"
        } else {
            &result.message
        })
    }
}

impl From<ResourceList> for SynthesisOutput {
    /// Drops `functionConfig`: it is input-only in Eno's protocol.
    fn from(list: ResourceList) -> Self {
        Self { items: list.items, results: list.results }
    }
}

/// Why a synthesis produced no usable output. The `Display` text is shown verbatim in the
/// composition's `status.simplified.error` (the ERROR column of `kubectl get compositions`), so
/// each is one short sentence that names the cause.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SynthesisError {
    #[error("synthesizer command not found: {0}")]
    CommandNotFound(String),

    #[error("synthesizer command {command} could not be started: {reason}")]
    Spawn { command: String, reason: String },

    #[error("synthesizer exited with status {code}{}", last_line(.stderr))]
    Exited { code: i32, stderr: Option<String> },

    #[error("synthesizer was killed by signal {signal}{}", last_line(.stderr))]
    Killed { signal: i32, stderr: Option<String> },

    #[error("synthesizer timed out after {}", format_go_duration(*.0))]
    TimedOut(Duration),

    #[error("synthesizer output exceeds {}", size(*.0))]
    OutputTooLarge(usize),

    #[error("synthesizer wrote more than {} to stderr", size(*.0))]
    StderrTooLarge(usize),

    #[error("synthesizer wrote no output")]
    EmptyOutput,

    /// The reason is [`crate::api::KrmError`]'s message.
    #[error("synthesizer output is not a KRM ResourceList: {0}")]
    NotResourceList(String),

    #[error(transparent)]
    InvalidItem(#[from] InvalidItem),

    #[error("synthesizer has an invalid {field} {value:?}: {reason}")]
    InvalidSpec { field: &'static str, value: String, reason: String },

    /// Reading or writing the synthesizer's pipes failed (not the synthesizer's fault).
    #[error("synthesizer I/O failed: {0}")]
    Io(String),

    /// The synthesis pod failed. The message is the one `eno execute` left in the container's
    /// termination message (worded like the other variants) or, when the wrapper could not
    /// say, what Kubernetes reported.
    #[error("{0}")]
    PodFailed(String),

    /// The pod ran (or waited to run) past the synthesizer's `podTimeout`, shown as written.
    #[error("synthesis pod exceeded podTimeout ({0})")]
    PodTimedOut(String),

    /// The pod succeeded but its output Secrets are missing or inconsistent.
    #[error("synthesis output could not be read back: {0}")]
    OutputHandback(String),

    /// Creating or reading the synthesis pod or its Secrets failed (not the synthesizer's fault).
    #[error("synthesis pod could not be run: {0}")]
    Cluster(String),
}

/// Longest stderr line quoted in an error message: the ERROR column is one line of a table.
const MAX_QUOTED_STDERR_CHARS: usize = 200;

fn last_line(stderr: &Option<String>) -> String {
    stderr.as_deref().and_then(quotable_line).map(|line| format!(": {line}")).unwrap_or_default()
}

/// The last non-empty line of `text`, trimmed and shortened to fit one cell of a table.
pub(crate) fn quotable_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    if line.chars().count() <= MAX_QUOTED_STDERR_CHARS {
        return Some(line.to_owned());
    }
    let cut: String = line.chars().take(MAX_QUOTED_STDERR_CHARS).collect();
    Some(format!("{cut}…"))
}

fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Runs syntheses. Implementations: [`super::pod_executor::PodExecutor`] (production),
/// [`super::local::LocalProcessExecutor`] (`eno dev`), [`super::simulated::SimulatedExecutor`]
/// (tests and the simulator).
///
/// The future is `'static` so callers can spawn it; dropping it must stop the synthesis (no
/// process outlives it).
pub trait Executor: Send + Sync {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>>;

    /// The longest one run of `synth` can take before this executor gives up on it: a claim on
    /// a synthesis older than this belongs to an executor that died. Default: `execTimeout`.
    fn run_limit(&self, synth: &Synthesizer) -> Duration {
        exec_timeout(&synth.spec).unwrap_or(DEFAULT_EXEC_TIMEOUT)
    }
}

impl<E: Executor + ?Sized> Executor for Arc<E> {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        (**self).synthesize(input)
    }
    fn run_limit(&self, synth: &Synthesizer) -> Duration {
        (**self).run_limit(synth)
    }
}

/// The synthesizer's environment, in order: `COMPOSITION_NAME`, `COMPOSITION_NAMESPACE`,
/// `SYNTHESIS_UUID`, `IMAGE`, then the composition's `synthesisEnv`.
///
/// `synthesisEnv` entries named like the first four are dropped (Eno's rule: a composition must
/// not impersonate another); so are names no process environment can hold (empty, or with `=`
/// or NUL) and values with NUL. When a name repeats, the later value wins, as it does for a
/// container's `env`. Every drop is logged.
pub fn environment(input: &SynthesisInput) -> Vec<(String, String)> {
    let meta = &input.composition.metadata;
    let mut env: Vec<(String, String)> = vec![
        (RESERVED_ENV[0].to_owned(), meta.name.clone().unwrap_or_default()),
        (RESERVED_ENV[1].to_owned(), meta.namespace.clone().unwrap_or_default()),
        (RESERVED_ENV[2].to_owned(), input.uuid.clone()),
        (RESERVED_ENV[3].to_owned(), input.synthesizer.spec.image.clone()),
    ];
    let composition = input.composition_key();
    for var in &input.composition.spec.synthesis_env {
        let name = var.name.as_str();
        if RESERVED_ENV.contains(&name) {
            tracing::warn!(%composition, name, "synthesisEnv entry collides with a variable Eno sets; dropped");
            continue;
        }
        if name.is_empty() || name.contains(['=', '\0']) || var.value.contains('\0') {
            tracing::warn!(%composition, name, "synthesisEnv entry cannot be an environment variable; dropped");
            continue;
        }
        if let Some(slot) = env.iter_mut().skip(RESERVED_ENV.len()).find(|(n, _)| n == name) {
            tracing::warn!(%composition, name, "synthesisEnv names this variable more than once; the later value wins");
            slot.1 = var.value.clone();
            continue;
        }
        env.push((name.to_owned(), var.value.clone()));
    }
    env
}

/// The `ResourceList` written to the synthesizer's stdin: the bound inputs, in order.
pub fn input_resource_list(input: &SynthesisInput) -> ResourceList {
    ResourceList::new(input.inputs.clone())
}

#[cfg(test)]
pub(crate) mod testing {
    use serde_json::{json, Value};

    use super::*;
    use crate::api::{CompositionSpec, EnvVar, SynthesizerRef, SynthesizerSpec};

    /// A composition `default/example` of synthesizer `example` running `command`.
    pub fn input(command: &[&str]) -> SynthesisInput {
        let mut composition = Composition::new(
            "example",
            CompositionSpec { synthesizer: SynthesizerRef::named("example"), ..Default::default() },
        );
        composition.metadata.namespace = Some("default".to_owned());
        let synthesizer = Synthesizer::new(
            "example",
            SynthesizerSpec {
                image: "docker.io/ubuntu:latest".to_owned(),
                command: command.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        );
        SynthesisInput::new(composition, synthesizer, "8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c", Vec::new())
    }

    pub fn with_env(mut input: SynthesisInput, vars: &[(&str, &str)]) -> SynthesisInput {
        input.composition.spec.synthesis_env =
            vars.iter().map(|(n, v)| EnvVar { name: n.to_string(), value: v.to_string() }).collect();
        input
    }

    /// A bound input object as the caller hands it over.
    pub fn input_object(key: &str, name: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "annotations": {INPUT_KEY_ANNOTATION: key}},
            "data": {"replicas": "3"},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{input, input_object, with_env};
    use super::*;
    use crate::api::Severity;
    use serde_json::json;

    fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
        env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    #[test]
    fn environment_starts_with_eno_variables() {
        let env = environment(&with_env(input(&["synth"]), &[("REGION", "westus"), ("EMPTY", "")]));
        assert_eq!(
            pairs(&env),
            [
                ("COMPOSITION_NAME", "example"),
                ("COMPOSITION_NAMESPACE", "default"),
                ("SYNTHESIS_UUID", "8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c"),
                ("IMAGE", "docker.io/ubuntu:latest"),
                ("REGION", "westus"),
                ("EMPTY", ""),
            ]
        );
    }

    #[test]
    fn environment_drops_collisions_and_unusable_names() {
        let env = environment(&with_env(
            input(&["synth"]),
            &[
                ("COMPOSITION_NAME", "impostor"),
                ("A", "1"),
                ("IMAGE", "evil:latest"),
                ("", "x"),
                ("B=C", "x"),
                ("NUL", "a\0b"),
                ("A", "2"),
                ("SYNTHESIS_UUID", "0"),
                ("COMPOSITION_NAMESPACE", "kube-system"),
                ("composition_name", "case matters"),
            ],
        ));
        assert_eq!(
            pairs(&env),
            [
                ("COMPOSITION_NAME", "example"),
                ("COMPOSITION_NAMESPACE", "default"),
                ("SYNTHESIS_UUID", "8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c"),
                ("IMAGE", "docker.io/ubuntu:latest"),
                ("A", "2"),
                ("composition_name", "case matters"),
            ]
        );
    }

    #[test]
    fn input_list_holds_inputs_in_order() {
        let mut synthesis = input(&["synth"]);
        synthesis.inputs = vec![input_object("b", "second"), input_object("a", "first")];
        let list = input_resource_list(&synthesis);
        let value = serde_json::to_value(&list).unwrap();
        assert_eq!(value["apiVersion"], "config.kubernetes.io/v1");
        assert_eq!(value["kind"], "ResourceList");
        assert_eq!(value["items"][0]["metadata"]["name"], "second");
        assert_eq!(value["items"][1]["metadata"]["annotations"][INPUT_KEY_ANNOTATION], "a");
        assert_eq!(ResourceList::parse(&list.to_json()).unwrap(), list);
        // No inputs still writes `items: []`.
        let empty = serde_json::to_value(input_resource_list(&input(&["synth"]))).unwrap();
        assert_eq!(empty["items"], json!([]));
    }

    #[test]
    fn command_defaults_to_synthesize() {
        assert_eq!(input(&[]).command(), ["synthesize"]);
        assert_eq!(input(&["/bin/synth", "--x"]).command(), ["/bin/synth", "--x"]);
    }

    #[test]
    fn exec_timeout_is_parsed_and_checked() {
        let mut spec = input(&[]).synthesizer.spec;
        assert_eq!(exec_timeout(&spec), Ok(DEFAULT_EXEC_TIMEOUT));
        spec.exec_timeout = "1m30s".into();
        assert_eq!(exec_timeout(&spec), Ok(Duration::from_secs(90)));
        spec.exec_timeout = "-5s".into();
        assert_eq!(
            exec_timeout(&spec).unwrap_err().to_string(),
            "synthesizer has an invalid execTimeout \"-5s\": it is negative"
        );
        spec.exec_timeout = "soon".into();
        let message = exec_timeout(&spec).unwrap_err().to_string();
        assert!(message.starts_with("synthesizer has an invalid execTimeout \"soon\": "), "{message}");
    }

    #[test]
    fn failed_reports_the_first_error_result() {
        let mut output = SynthesisOutput::new(vec![]);
        assert_eq!(output.failed(), None);
        output.results = vec![
            KrmResult { message: "just so you know".into(), severity: Some(Severity::Warning), ..Default::default() },
            KrmResult { message: "no severity".into(), severity: None, ..Default::default() },
        ];
        assert_eq!(output.failed(), None);
        output.results.push(KrmResult::error("The system is down, the system is down"));
        output.results.push(KrmResult::error("second error"));
        assert_eq!(output.failed(), Some("The system is down, the system is down"));
        output.results = vec![KrmResult::error(" ")];
        assert_eq!(output.failed(), Some("synthesizer reported an error without a message"));
    }

    #[test]
    fn error_messages_are_short_and_exact() {
        let cases = [
            (SynthesisError::CommandNotFound("foo".into()), "synthesizer command not found: foo"),
            (
                SynthesisError::Exited { code: 1, stderr: Some("  boom \n".into()) },
                "synthesizer exited with status 1: boom",
            ),
            (SynthesisError::Exited { code: 2, stderr: None }, "synthesizer exited with status 2"),
            (SynthesisError::Exited { code: 2, stderr: Some(" ".into()) }, "synthesizer exited with status 2"),
            (SynthesisError::Killed { signal: 9, stderr: None }, "synthesizer was killed by signal 9"),
            (SynthesisError::TimedOut(Duration::from_secs(10)), "synthesizer timed out after 10s"),
            (SynthesisError::TimedOut(Duration::from_millis(1500)), "synthesizer timed out after 1.5s"),
            (SynthesisError::OutputTooLarge(MAX_OUTPUT_BYTES), "synthesizer output exceeds 16 MiB"),
            (SynthesisError::OutputTooLarge(1000), "synthesizer output exceeds 1000 bytes"),
            (SynthesisError::StderrTooLarge(MAX_STDERR_BYTES), "synthesizer wrote more than 4 MiB to stderr"),
            (SynthesisError::StderrTooLarge(2048), "synthesizer wrote more than 2 KiB to stderr"),
            (SynthesisError::EmptyOutput, "synthesizer wrote no output"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
        let long = "x".repeat(500);
        let message = SynthesisError::Exited { code: 1, stderr: Some(long) }.to_string();
        assert_eq!(message, format!("synthesizer exited with status 1: {}…", "x".repeat(200)));
    }
}
