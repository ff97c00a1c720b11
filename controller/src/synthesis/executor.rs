//! What every executor shares: its input and output, its errors, the process environment and the
//! input `ResourceList`, and the [`Executor`] trait the synthesis controller calls.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::outcome::{SynthesisError, SynthesisOutput};
use crate::api::{Composition, ResourceList, Synthesizer, SynthesizerSpec};

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
    /// [`crate::api::annotations::INPUT_KEY_ANNOTATION`].
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

/// The `ResourceList` written to the synthesizer's stdin: the bound inputs, in order, and, as
/// Eno writes it, a `functionConfig` ConfigMap whose `optionalRefs` names the synthesizer's
/// optional refs (Eno's SDK tells an optional input that is absent from a missing one by it).
pub fn input_resource_list(input: &SynthesisInput) -> ResourceList {
    let optional: Vec<&str> = input.synthesizer.spec.refs.iter().filter(|r| r.optional).map(|r| r.key.as_str()).collect();
    let mut list = ResourceList::new(input.inputs.clone());
    list.function_config = Some(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "optionalRefs": optional}));
    list
}

#[cfg(test)]
pub(crate) mod testing {
    use serde_json::{json, Value};

    use super::*;
    use crate::api::annotations::INPUT_KEY_ANNOTATION;
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
    use crate::api::annotations::INPUT_KEY_ANNOTATION;
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
        assert_eq!(empty["functionConfig"], json!({"apiVersion": "v1", "kind": "ConfigMap", "optionalRefs": []}));
        // Optional refs are named, present or not.
        let mut optional = input(&["synth"]);
        optional.synthesizer.spec.refs = vec![
            crate::api::Ref { key: "needed".into(), ..Default::default() },
            crate::api::Ref { key: "maybe".into(), optional: true, ..Default::default() },
        ];
        assert_eq!(serde_json::to_value(input_resource_list(&optional)).unwrap()["functionConfig"]["optionalRefs"], json!(["maybe"]));
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
}
