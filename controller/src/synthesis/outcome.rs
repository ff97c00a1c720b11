//! What a synthesis yields: the synthesizer's validated output, or why there is none.
//!
//! Shared by the executors that produce outcomes and by [`super::output`], which validates
//! them; it depends on neither.

use std::time::Duration;

use serde_json::Value;

use crate::api::duration::format_go_duration;
use crate::api::{KrmResult, ResourceList};

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

    /// The synthesis pod failed with the synthesizer's verdict (`eno execute` exited with
    /// [`crate::synthesis::pod::VERDICT_EXIT_CODE`]): its words, as for [`Self::PodFailed`].
    #[error("{0}")]
    PodVerdict(String),

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

impl SynthesisError {
    /// Whether the failure is the synthesizer's verdict on its input: output that is not a valid
    /// ResourceList (or is too large), or a synthesizer that cannot be run as specified. A verdict
    /// is not retried until the composition or the synthesizer changes; anything else (a crash,
    /// a non-zero exit, a timeout, a failed pod, an API error) may pass on its own and is retried
    /// with backoff.
    pub fn is_verdict(&self) -> bool {
        match self {
            SynthesisError::CommandNotFound(_)
            | SynthesisError::OutputTooLarge(_)
            | SynthesisError::StderrTooLarge(_)
            | SynthesisError::EmptyOutput
            | SynthesisError::NotResourceList(_)
            | SynthesisError::InvalidItem(_)
            | SynthesisError::InvalidSpec { .. }
            | SynthesisError::PodVerdict(_) => true,
            SynthesisError::Spawn { .. }
            | SynthesisError::Exited { .. }
            | SynthesisError::Killed { .. }
            | SynthesisError::TimedOut(_)
            | SynthesisError::Io(_)
            | SynthesisError::PodFailed(_)
            | SynthesisError::PodTimedOut(_)
            | SynthesisError::OutputHandback(_)
            | SynthesisError::Cluster(_) => false,
        }
    }
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

/// One output item that cannot be used, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid output item {index}{}: {reason}", describe(.item))]
pub struct InvalidItem {
    /// Position in the output `items`.
    pub index: usize,
    /// `apiVersion/kind namespace/name`, as much of it as the item has (empty when nothing).
    pub item: String,
    pub reason: String,
}

fn describe(item: &str) -> String {
    if item.is_empty() {
        String::new()
    } else {
        format!(" ({item})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{KrmResult, Severity};
    use crate::synthesis::executor::{MAX_OUTPUT_BYTES, MAX_STDERR_BYTES};

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
