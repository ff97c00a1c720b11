//! Running a synthesizer as a child process: what [`super::local::LocalProcessExecutor`] does on
//! this machine and `eno execute` does inside a synthesis pod.
//!
//! The process gets the input `ResourceList` on stdin and exactly the environment given (the
//! caller decides what it inherits). Its stdout is the output, read up to a hard cap; its stderr
//! goes to a [`StderrSink`], also capped. It is killed on its timeout, past a cap, and when the
//! future is dropped — together with everything it started, as it runs in a process group of
//! its own.

use std::ffi::OsString;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::outcome::SynthesisError;

/// How long to wait for a killed process to be reaped before leaving it to tokio's orphan reaper.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the synthesizer's stderr goes.
#[derive(Clone, Debug)]
pub enum StderrSink {
    /// Each line logged (target `synthesizer`) with the synthesis it belongs to.
    Log { composition: String, uuid: String },
    /// Copied as is to this process's stderr (`eno execute`: the container log is the
    /// synthesizer's log).
    PassThrough,
}

/// One synthesizer run.
#[derive(Clone, Debug)]
pub struct Process {
    /// Program and arguments; the program is looked up in the `PATH` of `env`, if any.
    pub argv: Vec<String>,
    /// The whole environment of the process.
    pub env: Vec<(OsString, OsString)>,
    /// Written to stdin, which is then closed.
    pub stdin: Vec<u8>,
    pub timeout: Duration,
    /// Past this many bytes of stdout the process is killed ([`SynthesisError::OutputTooLarge`]).
    pub max_output_bytes: usize,
    /// Past this many bytes of stderr the process is killed ([`SynthesisError::StderrTooLarge`]).
    pub max_stderr_bytes: usize,
    pub stderr: StderrSink,
}

impl Process {
    /// Runs the process to completion; its stdout when it exited 0.
    pub async fn run(self) -> Result<Vec<u8>, SynthesisError> {
        let Some(program) = self.argv.first() else {
            return Err(SynthesisError::CommandNotFound(String::new()));
        };
        let started = Instant::now();
        let mut command = Command::new(program);
        command
            .args(&self.argv[1..])
            .env_clear()
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);

        let mut child = command.spawn().map_err(|e| spawn_error(program, e))?;
        // Declared after `child`, so dropped before it: the group dies first, then tokio reaps.
        let group = ProcessGroup::of(&child);
        tracing::debug!(command = ?self.argv, pid = ?child.id(), "synthesizer started");

        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
            return Err(SynthesisError::Io("synthesizer pipes were not created".to_owned()));
        };
        let exchange = exchange(
            &mut child,
            stdin.map(|pipe| feed(pipe, self.stdin)),
            read_capped(stdout, self.max_output_bytes),
            forward_stderr(stderr, self.max_stderr_bytes, &self.stderr),
        );
        let outcome = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SynthesisError::TimedOut(self.timeout)),
        };

        // Whatever happened, nothing the synthesizer started may outlive it (background jobs
        // included, even after a clean exit).
        group.kill();
        let (stdout, last_stderr, status) = match outcome {
            Ok(done) => done,
            Err(error) => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
                tracing::debug!(%error, elapsed = ?started.elapsed(), "synthesizer stopped");
                return Err(error);
            }
        };
        tracing::debug!(%status, elapsed = ?started.elapsed(), bytes = stdout.len(), "synthesizer finished");
        check_status(status, last_stderr)?;
        Ok(stdout)
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

/// Sends each stderr line to `sink` and returns the last non-empty one, for the error message if
/// the process fails. More than `max` bytes in total fails.
async fn forward_stderr(pipe: impl AsyncRead + Unpin, max: usize, sink: &StderrSink) -> Result<Option<String>, SynthesisError> {
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
        match sink {
            StderrSink::Log { composition, uuid } => tracing::info!(target: "synthesizer", composition, uuid, "{text}"),
            StderrSink::PassThrough => {
                use std::io::Write;
                // A line at a time; losing a log line must not fail the synthesis.
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(&line);
                let _ = stderr.flush();
            }
        }
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

