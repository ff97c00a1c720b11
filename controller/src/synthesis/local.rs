//! Runs a synthesizer's `command` as a child process of this one: `eno dev`'s executor.
//!
//! The process ([`super::process::Process`]) gets a clean environment: only `PATH`, `HOME`,
//! `LANG` are inherited (the controller's own variables, credentials included, are none of the
//! synthesizer's business), then Eno's variables. Its stderr is forwarded line by line to the
//! log.

use std::ffi::OsString;

use futures::future::BoxFuture;
use tracing::Instrument;

use super::executor::{environment, exec_timeout, input_resource_list, Executor, SynthesisInput, MAX_OUTPUT_BYTES, MAX_STDERR_BYTES};
use super::outcome::{SynthesisError, SynthesisOutput};
use super::output;
use super::process::{Process, StderrSink};

/// Variables of this process that the synthesizer inherits: enough to find programs and behave
/// as a normal command line tool.
pub const INHERITED_ENV: [&str; 3] = ["PATH", "HOME", "LANG"];

/// Runs synthesizers as local processes.
#[derive(Clone, Debug)]
pub struct LocalProcessExecutor {
    /// Past this many bytes of stdout the process is killed and the synthesis fails.
    pub max_output_bytes: usize,
    /// Past this many bytes of stderr the process is killed and the synthesis fails.
    pub max_stderr_bytes: usize,
    /// Names of this process's variables passed on to the synthesizer.
    pub inherited_env: Vec<String>,
}

impl Default for LocalProcessExecutor {
    fn default() -> Self {
        Self {
            max_output_bytes: MAX_OUTPUT_BYTES,
            max_stderr_bytes: MAX_STDERR_BYTES,
            inherited_env: INHERITED_ENV.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Executor for LocalProcessExecutor {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        let executor = self.clone();
        Box::pin(async move { executor.run(input).await })
    }
}

impl LocalProcessExecutor {
    /// Runs one synthesis to completion (see the module docs).
    pub async fn run(&self, input: SynthesisInput) -> Result<SynthesisOutput, SynthesisError> {
        let timeout = exec_timeout(&input.synthesizer.spec)?;
        let mut env: Vec<(OsString, OsString)> =
            self.inherited_env.iter().filter_map(|name| Some((name.into(), std::env::var_os(name)?))).collect();
        env.extend(environment(&input).into_iter().map(|(name, value)| (name.into(), value.into())));
        let process = Process {
            argv: input.command(),
            env,
            stdin: input_resource_list(&input).to_json(),
            timeout,
            max_output_bytes: self.max_output_bytes,
            max_stderr_bytes: self.max_stderr_bytes,
            stderr: StderrSink::Log { composition: input.composition_key(), uuid: input.uuid.clone() },
        };
        let stdout = process
            .run()
            .instrument(tracing::debug_span!("synthesis", composition = %input.composition_key(), uuid = %input.uuid))
            .await?;
        output::parse(&stdout)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::api::testing::{documents, seed};
    use crate::api::{KrmResult, ResourceList, Synthesizer};
    use crate::synthesis::executor::testing::{input, input_object, with_env};
    use crate::api::annotations::INPUT_KEY_ANNOTATION;

    const VALID: &str = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"out","namespace":"default"}}]}"#;

    /// A synthesis running `script` with bash; `$0` is `arg0` (a scratch file path in some tests).
    fn bash(script: &str, arg0: &str) -> SynthesisInput {
        input(&["/bin/bash", "-c", script, arg0])
    }

    async fn run(input: SynthesisInput) -> Result<SynthesisOutput, SynthesisError> {
        LocalProcessExecutor::default().synthesize(input).await
    }

    async fn error_of(input: SynthesisInput) -> String {
        run(input).await.expect_err("expected the synthesis to fail").to_string()
    }

    /// A fresh path in the temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            Self(std::env::temp_dir().join(format!("eno-local-executor-{}-{n}", std::process::id())))
        }

        fn arg(&self) -> &str {
            self.0.to_str().unwrap()
        }

        fn read(&self) -> String {
            std::fs::read_to_string(&self.0).unwrap_or_else(|e| panic!("reading {}: {e}", self.0.display()))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// True while `pid` exists and is not a zombie.
    fn alive(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }

    async fn eventually_dead(pid: &str) {
        for _ in 0..100 {
            if !alive(pid) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("process {pid} is still running");
    }

    fn seed_input(file: &str) -> SynthesisInput {
        let synthesizer: Synthesizer = documents(&seed(file)).remove(0);
        let mut synthesis = input(&[]);
        synthesis.composition.spec.synthesizer.name = synthesizer.metadata.name.clone().unwrap();
        synthesis.synthesizer = synthesizer;
        synthesis
    }

    #[tokio::test]
    async fn seed_example_produces_its_config_map() {
        let output = run(seed_input("synthesizer-example.yaml")).await.unwrap();
        assert_eq!(
            output.items,
            [json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "some-config", "namespace": "default"}})]
        );
        assert!(output.results.is_empty());
        assert_eq!(output.failed(), None);
    }

    #[tokio::test]
    async fn seed_error_example_reports_its_result() {
        let output = run(seed_input("synthesizer-error-example.yaml")).await.unwrap();
        assert!(output.items.is_empty());
        assert_eq!(output.results, [KrmResult::error("The system is down, the system is down")]);
        assert_eq!(output.failed(), Some("The system is down, the system is down"));
    }

    #[tokio::test]
    async fn large_input_not_read_by_the_synthesizer_does_not_block() {
        // The seed synthesizer never reads stdin; 4 MiB is far beyond a pipe's buffer.
        let mut synthesis = seed_input("synthesizer-example.yaml");
        let mut big = input_object("big", "big");
        big["data"]["blob"] = json!("x".repeat(4 << 20));
        synthesis.inputs = vec![big];
        let output = run(synthesis).await.unwrap();
        assert_eq!(output.items.len(), 1);
    }

    #[tokio::test]
    async fn output_that_is_not_json_fails() {
        let message = error_of(bash("echo 'hello, world'", "synth")).await;
        assert_eq!(message, "synthesizer output is not a KRM ResourceList: not valid JSON: expected value at line 1 column 1");
    }

    #[tokio::test]
    async fn output_of_the_wrong_kind_fails() {
        let message = error_of(bash(r#"echo '{"apiVersion":"v1","kind":"List","items":[]}'"#, "synth")).await;
        assert_eq!(message, "synthesizer output is not a KRM ResourceList: expected kind \"ResourceList\", found \"List\"");
    }

    #[tokio::test]
    async fn empty_output_fails() {
        assert_eq!(error_of(bash("true", "synth")).await, "synthesizer wrote no output");
    }

    #[tokio::test]
    async fn item_without_name_fails() {
        let script = r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"namespace":"default"}}]}'"#;
        assert_eq!(
            error_of(bash(script, "synth")).await,
            "invalid output item 0 (v1/ConfigMap): metadata.name must be a non-empty string"
        );
    }

    #[tokio::test]
    async fn bad_eno_annotation_fails() {
        let script = r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"default","annotations":{"eno.azure.io/reconcile-interval":"15 minutes"}}}]}'"#;
        assert_eq!(
            error_of(bash(script, "synth")).await,
            "invalid output item 0 (v1/ConfigMap default/x): annotation eno.azure.io/reconcile-interval=\"15 minutes\" is not a Go duration (unknown unit \" minutes\" in duration \"15 minutes\")"
        );
    }

    #[tokio::test]
    async fn non_zero_exit_reports_the_last_stderr_line() {
        let script = format!(
            "echo 'loading inputs' >&2; printf '\\xff\\xfe not utf-8\\n' >&2; echo 'connection refused: db:5432' >&2; echo >&2; echo '{VALID}'; exit 3"
        );
        assert_eq!(error_of(bash(&script, "synth")).await, "synthesizer exited with status 3: connection refused: db:5432");
        assert_eq!(error_of(bash("exit 1", "synth")).await, "synthesizer exited with status 1");
        // A last line without a newline counts too.
        assert_eq!(error_of(bash("printf 'no newline' >&2; exit 2", "synth")).await, "synthesizer exited with status 2: no newline");
    }

    #[tokio::test]
    async fn death_by_signal_is_reported() {
        assert_eq!(
            error_of(bash("echo 'about to die' >&2; kill -9 $$", "synth")).await,
            "synthesizer was killed by signal 9: about to die"
        );
    }

    #[tokio::test]
    async fn timeout_kills_the_synthesizer() {
        let pid_file = Scratch::new();
        let mut synthesis = bash("echo $$ > \"$0\"; sleep 30 & wait", pid_file.arg());
        synthesis.synthesizer.spec.exec_timeout = "1s".into();
        let started = Instant::now();
        assert_eq!(error_of(synthesis).await, "synthesizer timed out after 1s");
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5), "took {elapsed:?}");
        eventually_dead(pid_file.read().trim()).await;
    }

    #[tokio::test]
    async fn huge_output_fails_fast_and_kills_the_synthesizer() {
        let pid_file = Scratch::new();
        // 50 MB through a pipeline, so the writer is a grandchild that must die too.
        let synthesis = bash("echo $$ > \"$0\"; head -c 50000000 /dev/zero | tr '\\0' x; sleep 30", pid_file.arg());
        let started = Instant::now();
        assert_eq!(error_of(synthesis).await, "synthesizer output exceeds 16 MiB");
        assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
        eventually_dead(pid_file.read().trim()).await;
    }

    #[tokio::test]
    async fn output_at_the_cap_is_read_whole() {
        let executor = LocalProcessExecutor { max_output_bytes: VALID.len() + 1, ..Default::default() };
        let output = executor.synthesize(bash(&format!("echo '{VALID}'"), "synth")).await.unwrap();
        assert_eq!(output.items.len(), 1);
        let executor = LocalProcessExecutor { max_output_bytes: VALID.len(), ..Default::default() };
        let err = executor.synthesize(bash(&format!("echo '{VALID}'"), "synth")).await.unwrap_err();
        assert_eq!(err, SynthesisError::OutputTooLarge(VALID.len()));
    }

    #[tokio::test]
    async fn stderr_flood_fails() {
        let started = Instant::now();
        assert_eq!(error_of(bash("yes 'log line' >&2", "synth")).await, "synthesizer wrote more than 4 MiB to stderr");
        assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
        // One endless line is bounded the same way.
        assert_eq!(
            error_of(bash("head -c 10000000 /dev/zero | tr '\\0' e >&2", "synth")).await,
            "synthesizer wrote more than 4 MiB to stderr"
        );
    }

    #[tokio::test]
    async fn missing_command_is_reported_by_name() {
        assert_eq!(
            error_of(input(&["eno-test-no-such-synthesizer", "--flag"])).await,
            "synthesizer command not found: eno-test-no-such-synthesizer"
        );
        assert_eq!(
            error_of(input(&["/nonexistent/dir/synthesize"])).await,
            "synthesizer command not found: /nonexistent/dir/synthesize"
        );
    }

    #[tokio::test]
    async fn non_executable_command_is_reported() {
        let file = Scratch::new();
        std::fs::write(&file.0, "#!/bin/sh\necho hi\n").unwrap();
        let message = error_of(input(&[file.arg()])).await;
        assert_eq!(
            message,
            format!("synthesizer command {} could not be started: Permission denied (os error 13)", file.arg())
        );
    }

    #[tokio::test]
    async fn invalid_exec_timeout_fails_before_running() {
        let mut synthesis = bash("echo ran >&2; exit 1", "synth");
        synthesis.synthesizer.spec.exec_timeout = "10 seconds".into();
        let message = error_of(synthesis).await;
        assert!(message.starts_with("synthesizer has an invalid execTimeout \"10 seconds\": "), "{message}");
    }

    #[tokio::test]
    async fn environment_is_clean_and_complete() {
        let env_file = Scratch::new();
        let synthesis = with_env(
            bash(&format!("env > \"$0\"; echo '{VALID}'"), env_file.arg()),
            &[("REGION", "westus"), ("SYNTHESIS_UUID", "forged"), ("IMAGE", "evil"), ("WITH SPACE", "a b=c")],
        );
        run(synthesis).await.unwrap();
        let env = env_file.read();
        let vars: Vec<(&str, &str)> = env.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert_eq!(get("COMPOSITION_NAME"), Some("example"));
        assert_eq!(get("COMPOSITION_NAMESPACE"), Some("default"));
        assert_eq!(get("SYNTHESIS_UUID"), Some("8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c"));
        assert_eq!(get("IMAGE"), Some("docker.io/ubuntu:latest"));
        assert_eq!(get("REGION"), Some("westus"));
        assert_eq!(get("WITH SPACE"), Some("a b=c"));
        assert_eq!(get("PATH").map(str::to_owned), std::env::var("PATH").ok());
        assert_eq!(vars.iter().filter(|(n, _)| *n == "SYNTHESIS_UUID").count(), 1);
        // Nothing else of ours leaks: only what bash adds by itself.
        let expected = [
            "COMPOSITION_NAME", "COMPOSITION_NAMESPACE", "SYNTHESIS_UUID", "IMAGE", "REGION", "WITH SPACE", "PATH", "HOME",
            "LANG", "PWD", "SHLVL", "_",
        ];
        for (name, _) in &vars {
            assert!(expected.contains(name), "unexpected variable {name} in the synthesizer's environment");
        }
    }

    #[tokio::test]
    async fn stdin_holds_the_inputs() {
        let stdin_file = Scratch::new();
        let mut synthesis = bash(&format!("cat > \"$0\"; echo '{VALID}'"), stdin_file.arg());
        synthesis.inputs = vec![input_object("config", "first"), input_object("other", "second")];
        run(synthesis.clone()).await.unwrap();
        let list = ResourceList::parse(stdin_file.read().as_bytes()).unwrap();
        assert_eq!(list.items, synthesis.inputs);
        assert_eq!(list.items[0]["metadata"]["annotations"][INPUT_KEY_ANNOTATION], "config");
        assert!(list.results.is_empty());
    }

    #[tokio::test]
    async fn dropping_the_future_kills_the_synthesizer() {
        let pid_file = Scratch::new();
        let synthesis = bash("echo $$ > \"$0\"; sleep 30; sleep 30", pid_file.arg());
        let future = LocalProcessExecutor::default().synthesize(synthesis);
        assert!(tokio::time::timeout(Duration::from_millis(500), future).await.is_err());
        eventually_dead(pid_file.read().trim()).await;
    }

    #[tokio::test]
    async fn background_jobs_die_with_a_successful_synthesizer() {
        let pid_file = Scratch::new();
        // The job closes its pipes, so the synthesis completes while it would still be running.
        let script = format!("sleep 30 </dev/null >/dev/null 2>&1 & echo $! > \"$0\"; echo '{VALID}'");
        run(bash(&script, pid_file.arg())).await.unwrap();
        eventually_dead(pid_file.read().trim()).await;
    }
}
