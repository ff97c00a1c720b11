//! Runs a synthesizer's `command` as a child process of this one: `eno dev`'s executor, and the
//! core of what `eno execute` does inside a synthesis pod.
//!
//! The process gets the input `ResourceList` on stdin and a clean environment (only `PATH`,
//! `HOME`, `LANG` are inherited: the controller's own variables, credentials included, are none
//! of the synthesizer's business). Its stdout is the output, read up to a hard cap; its stderr is
//! forwarded line by line to the log, also capped. It is killed on `execTimeout`, past a cap, and
//! when the synthesis future is dropped — together with everything it started, as it runs in a
//! process group of its own.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures::future::{self, BoxFuture, Either};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::executor::{
    environment, exec_timeout, input_resource_list, Executor, SynthesisError, SynthesisInput, SynthesisOutput,
    MAX_OUTPUT_BYTES, MAX_STDERR_BYTES,
};
use super::output;

/// Variables of this process that the synthesizer inherits: enough to find programs and behave
/// as a normal command line tool.
pub const INHERITED_ENV: [&str; 3] = ["PATH", "HOME", "LANG"];

/// How long to wait for a killed process to be reaped before leaving it to tokio's orphan reaper.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

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
        let argv = input.command();
        let composition = input.composition_key();
        let started = Instant::now();

        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]).env_clear();
        for name in &self.inherited_env {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .envs(environment(&input))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);

        let mut child = command.spawn().map_err(|e| spawn_error(&argv[0], e))?;
        // Declared after `child`, so dropped before it: the group dies first, then tokio reaps.
        let group = ProcessGroup::of(&child);
        tracing::debug!(%composition, uuid = %input.uuid, command = ?argv, pid = ?child.id(), "synthesizer started");

        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
            return Err(SynthesisError::Io("synthesizer pipes were not created".to_owned()));
        };
        let stdin_bytes = input_resource_list(&input).to_json();
        let exchange = exchange(
            &mut child,
            stdin.map(|pipe| feed(pipe, stdin_bytes)),
            read_capped(stdout, self.max_output_bytes),
            forward_stderr(stderr, self.max_stderr_bytes, &composition, &input.uuid),
        );
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SynthesisError::TimedOut(timeout)),
        };

        // Whatever happened, nothing the synthesizer started may outlive it (background jobs
        // included, even after a clean exit).
        group.kill();
        let (stdout, last_stderr, status) = match outcome {
            Ok(done) => done,
            Err(error) => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
                tracing::debug!(%composition, uuid = %input.uuid, %error, elapsed = ?started.elapsed(), "synthesizer stopped");
                return Err(error);
            }
        };
        tracing::debug!(%composition, uuid = %input.uuid, %status, elapsed = ?started.elapsed(), bytes = stdout.len(), "synthesizer finished");
        check_status(status, last_stderr)?;
        output::parse(&stdout)
    }
}

/// Feeds stdin while draining stdout and stderr and waiting for the exit; returns the output,
/// the last non-empty stderr line and the exit status. Stdin is written concurrently but not
/// waited for: a synthesizer that never reads its input (the seed examples don't) must not
/// block us once it has exited.
async fn exchange(
    child: &mut Child,
    feed: Option<impl std::future::Future<Output = ()>>,
    stdout: impl std::future::Future<Output = Result<Vec<u8>, SynthesisError>>,
    stderr: impl std::future::Future<Output = Result<Option<String>, SynthesisError>>,
) -> Result<(Vec<u8>, Option<String>, ExitStatus), SynthesisError> {
    let wait = async { child.wait().await.map_err(|e| SynthesisError::Io(format!("waiting for the synthesizer: {e}"))) };
    let work = async { tokio::try_join!(stdout, stderr, wait) };
    let work = std::pin::pin!(work);
    let Some(feed) = feed else { return work.await };
    match future::select(std::pin::pin!(feed), work).await {
        Either::Left(((), work)) => work.await,
        Either::Right((result, _unfinished_feed)) => result,
    }
}

/// Writes the input and closes stdin. Write errors are expected (the process may exit without
/// reading) and are not the synthesis's failure: its exit status and output decide that.
async fn feed(mut stdin: ChildStdin, bytes: Vec<u8>) {
    if let Err(error) = stdin.write_all(&bytes).await {
        tracing::debug!(%error, "synthesizer did not read all of its input");
        return;
    }
    let _ = stdin.shutdown().await;
}

/// Reads everything up to `max` bytes; one byte more fails (and the caller kills the process).
async fn read_capped(pipe: impl AsyncRead + Unpin, max: usize) -> Result<Vec<u8>, SynthesisError> {
    let mut buffer = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(limit)
        .read_to_end(&mut buffer)
        .await
        .map_err(|e| SynthesisError::Io(format!("reading the synthesizer's output: {e}")))?;
    if buffer.len() > max {
        return Err(SynthesisError::OutputTooLarge(max));
    }
    Ok(buffer)
}

/// Logs each stderr line (target `synthesizer`) and returns the last non-empty one, for the
/// error message if the process fails. More than `max` bytes in total fails.
async fn forward_stderr(
    pipe: impl AsyncRead + Unpin,
    max: usize,
    composition: &str,
    uuid: &str,
) -> Result<Option<String>, SynthesisError> {
    let mut reader = BufReader::new(pipe);
    let (mut total, mut line, mut last) = (0usize, Vec::new(), None);
    loop {
        line.clear();
        // Bounded even for a single endless line: never more than what is left of the budget.
        let budget = u64::try_from(max.saturating_sub(total)).unwrap_or(u64::MAX).saturating_add(1);
        let read = (&mut reader)
            .take(budget)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| SynthesisError::Io(format!("reading the synthesizer's stderr: {e}")))?;
        if read == 0 {
            return Ok(last);
        }
        total += read;
        if total > max {
            return Err(SynthesisError::StderrTooLarge(max));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        tracing::info!(target: "synthesizer", composition, uuid, "{text}");
        if !text.trim().is_empty() {
            last = Some(text.to_owned());
        }
    }
}

fn check_status(status: ExitStatus, stderr: Option<String>) -> Result<(), SynthesisError> {
    if status.success() {
        return Ok(());
    }
    if let Some(code) = status.code() {
        return Err(SynthesisError::Exited { code, stderr });
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(SynthesisError::Killed { signal, stderr });
        }
    }
    Err(SynthesisError::Exited { code: -1, stderr })
}

fn spawn_error(program: &str, error: std::io::Error) -> SynthesisError {
    match error.kind() {
        std::io::ErrorKind::NotFound => SynthesisError::CommandNotFound(program.to_owned()),
        _ => SynthesisError::Spawn { command: program.to_owned(), reason: error.to_string() },
    }
}

/// The child's process group (the child leads it, see `process_group(0)`), killed as a whole so
/// that grandchildren (`bash -c 'a | b'`, background jobs) die with the synthesizer. Killing
/// happens explicitly and again on drop, which covers a dropped synthesis future.
struct ProcessGroup(Option<i32>);

impl ProcessGroup {
    fn of(child: &Child) -> Self {
        Self(child.id().and_then(|pid| i32::try_from(pid).ok()).filter(|pid| *pid > 0))
    }

    fn kill(&self) {
        #[cfg(unix)]
        if let Some(pgid) = self.0 {
            extern "C" {
                fn kill(pid: i32, signal: i32) -> i32;
            }
            const SIGKILL: i32 = 9;
            // SAFETY: kill(2) takes two integers and touches no memory of ours; a negative pid
            // addresses the process group, which exists at least as long as its leader, our
            // child, is unreaped (and holds no other processes than the synthesizer's).
            unsafe {
                kill(-pgid, SIGKILL);
            }
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::api::testing::{documents, seed};
    use crate::api::{KrmResult, ResourceList, Synthesizer};
    use crate::synthesis::executor::testing::{input, input_object, with_env};
    use crate::synthesis::executor::INPUT_KEY_ANNOTATION;

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
