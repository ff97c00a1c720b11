//! The in-process executor for tests and the deterministic simulator: each synthesizer (by name)
//! is a Rust function of the synthesis input, optionally taking virtual time.
//!
//! Nothing here touches the wall clock, threads or processes, so under `--cfg madsim` a run is
//! reproducible from its seed. Outputs go through the same [`super::output::validate`] as real
//! ones, so a scenario cannot feed the controller something a real synthesizer could not.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;

use super::executor::{Executor, SynthesisInput};
use super::outcome::{SynthesisError, SynthesisOutput};
use super::output;

/// A simulated synthesizer: what it returns for an input.
pub type SynthesizeFn = Arc<dyn Fn(&SynthesisInput) -> Result<SynthesisOutput, SynthesisError> + Send + Sync>;

/// Runs registered functions in place of synthesizer processes and counts the runs.
///
/// Clones share everything (functions, delays, counts), so a test can keep one handle to
/// register and assert while the controller holds another.
#[derive(Clone, Default)]
pub struct SimulatedExecutor {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    synthesizers: BTreeMap<String, SynthesizeFn>,
    delays: BTreeMap<String, Duration>,
    invocations: BTreeMap<String, u64>,
}

impl SimulatedExecutor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the function run for synthesizer `name`.
    pub fn set<F>(&self, name: impl Into<String>, synthesize: F) -> &Self
    where
        F: Fn(&SynthesisInput) -> Result<SynthesisOutput, SynthesisError> + Send + Sync + 'static,
    {
        self.lock().synthesizers.insert(name.into(), Arc::new(synthesize));
        self
    }

    /// Builder form of [`Self::set`].
    pub fn with<F>(self, name: impl Into<String>, synthesize: F) -> Self
    where
        F: Fn(&SynthesisInput) -> Result<SynthesisOutput, SynthesisError> + Send + Sync + 'static,
    {
        self.set(name, synthesize);
        self
    }

    /// Makes every run of synthesizer `name` take `delay` of (virtual, under madsim) time before
    /// its function is called, e.g. to let a scenario change the composition mid-synthesis.
    pub fn set_delay(&self, name: impl Into<String>, delay: Duration) -> &Self {
        self.lock().delays.insert(name.into(), delay);
        self
    }

    /// Builder form of [`Self::set_delay`].
    pub fn with_delay(self, name: impl Into<String>, delay: Duration) -> Self {
        self.set_delay(name, delay);
        self
    }

    /// How many syntheses were started for synthesizer `name` (registered or not), so tests can
    /// assert that a failed synthesis is not run again.
    pub fn invocations(&self, name: &str) -> u64 {
        self.lock().invocations.get(name).copied().unwrap_or(0)
    }

    /// Syntheses started, per synthesizer name.
    pub fn all_invocations(&self) -> BTreeMap<String, u64> {
        self.lock().invocations.clone()
    }

    /// A panicking test function must not poison the executor for the rest of the run.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn run(self, input: SynthesisInput) -> Result<SynthesisOutput, SynthesisError> {
        let name = input.synthesizer.metadata.name.clone().unwrap_or_default();
        let (synthesize, delay) = {
            let mut state = self.lock();
            *state.invocations.entry(name.clone()).or_default() += 1;
            (state.synthesizers.get(&name).cloned(), state.delays.get(&name).copied())
        };
        tracing::debug!(composition = %input.composition_key(), synthesizer = %name, uuid = %input.uuid, "simulated synthesis");
        let Some(synthesize) = synthesize else {
            // What a real executor reports for an image without the command.
            let argv0 = input.command().into_iter().next().unwrap_or_default();
            return Err(SynthesisError::CommandNotFound(argv0));
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let output = synthesize(&input)?;
        output::validate(&output.items)?;
        Ok(output)
    }
}

impl Executor for SimulatedExecutor {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        Box::pin(self.clone().run(input))
    }
}

impl std::fmt::Debug for SimulatedExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("SimulatedExecutor")
            .field("synthesizers", &state.synthesizers.keys().collect::<Vec<_>>())
            .field("delays", &state.delays)
            .field("invocations", &state.invocations)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::KrmResult;
    use crate::synthesis::executor::testing::{input, input_object};
    use serde_json::{json, Value};

    fn config_map(name: &str, replicas: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"replicas": replicas}})
    }

    /// Echoes each input's `data.replicas` into a ConfigMap named after the composition.
    fn from_inputs(input: &SynthesisInput) -> Result<SynthesisOutput, SynthesisError> {
        let name = input.composition.metadata.name.clone().unwrap_or_default();
        let items = input.inputs.iter().map(|i| config_map(&name, i["data"]["replicas"].as_str().unwrap_or("0"))).collect();
        Ok(SynthesisOutput::new(items))
    }

    #[tokio::test]
    async fn runs_the_registered_function_and_counts() {
        let executor = SimulatedExecutor::new().with("example", from_inputs);
        let mut synthesis = input(&["synthesize"]);
        synthesis.inputs = vec![input_object("config", "in")];
        let output = executor.synthesize(synthesis.clone()).await.unwrap();
        assert_eq!(output, SynthesisOutput::new(vec![config_map("example", "3")]));
        assert_eq!(executor.invocations("example"), 1);
        executor.synthesize(synthesis).await.unwrap();
        assert_eq!(executor.invocations("example"), 2);
        assert_eq!(executor.invocations("other"), 0);
    }

    #[tokio::test]
    async fn unknown_synthesizer_is_command_not_found() {
        let executor = SimulatedExecutor::new().with("other", from_inputs);
        let err = executor.synthesize(input(&["/bin/synth", "--flag"])).await.unwrap_err();
        assert_eq!(err.to_string(), "synthesizer command not found: /bin/synth");
        let err = executor.synthesize(input(&[])).await.unwrap_err();
        assert_eq!(err, SynthesisError::CommandNotFound("synthesize".into()));
        assert_eq!(executor.all_invocations(), BTreeMap::from([("example".to_owned(), 2)]));
    }

    #[tokio::test]
    async fn errors_and_error_results_pass_through() {
        let executor = SimulatedExecutor::new()
            .with("example", |_: &SynthesisInput| Err(SynthesisError::Exited { code: 1, stderr: Some("boom".into()) }));
        let err = executor.synthesize(input(&[])).await.unwrap_err();
        assert_eq!(err.to_string(), "synthesizer exited with status 1: boom");

        executor.set("example", |_: &SynthesisInput| {
            Ok(SynthesisOutput { items: vec![], results: vec![KrmResult::error("The system is down, the system is down")] })
        });
        let output = executor.synthesize(input(&[])).await.unwrap();
        assert_eq!(output.failed(), Some("The system is down, the system is down"));
        assert_eq!(executor.invocations("example"), 2);
    }

    #[tokio::test]
    async fn outputs_are_validated() {
        let executor = SimulatedExecutor::new().with("example", |_: &SynthesisInput| {
            Ok(SynthesisOutput::new(vec![config_map("a", "1"), config_map("a", "2")]))
        });
        let err = executor.synthesize(input(&[])).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid output item 1 (v1/ConfigMap default/a): item 0 has the same group, kind, namespace and name"
        );
    }

    #[tokio::test]
    async fn clones_share_registrations_and_counts() {
        let executor = SimulatedExecutor::new();
        let controller_side: Arc<dyn Executor> = Arc::new(executor.clone());
        executor.set("example", from_inputs);
        controller_side.synthesize(input(&[])).await.unwrap();
        assert_eq!(executor.invocations("example"), 1);
        assert!(format!("{executor:?}").contains("invocations: {\"example\": 1}"));
    }

    #[tokio::test]
    async fn delay_takes_time_before_the_function_runs() {
        let executor = SimulatedExecutor::new().with("example", from_inputs).with_delay("example", Duration::from_millis(50));
        let start = tokio::time::Instant::now();
        let future = executor.synthesize(input(&[]));
        assert_eq!(executor.invocations("example"), 0, "nothing runs until the future is polled");
        future.await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(executor.invocations("example"), 1);
    }

    #[tokio::test]
    async fn a_panicking_function_does_not_poison_the_executor() {
        let executor = SimulatedExecutor::new().with("example", from_inputs);
        let poisoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = executor.lock();
            panic!("test panic while holding the lock");
        }));
        assert!(poisoned.is_err() && executor.state.is_poisoned());
        assert_eq!(executor.invocations("example"), 0);
        executor.synthesize(input(&[])).await.unwrap();
        assert_eq!(executor.invocations("example"), 1);
    }
}
