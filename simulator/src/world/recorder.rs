//! The run's record: the invariant checker and the trace, shared by everything in the world that
//! sees something happen — the server's observer (every committed write), the executor (every
//! synthesis run), the fault driver (notes in the trace) and the user (whose writes are not
//! Eno's doing). Every entry is stamped with the virtual time since the run started.

use crate::invariants::Checker;
use crate::trace::Trace;
use eno::synthesis::{Executor, SimulatedExecutor, SynthesisError, SynthesisInput, SynthesisOutput};
use fake_apiserver::SharedApiServer;
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How often a waiting user checks whether the run already failed.
const CHECK_EVERY: Duration = Duration::from_millis(500);

pub(super) struct Record {
    pub checker: Checker,
    pub trace: Trace,
}

/// A handle on the run's [`Record`]; clones share it.
#[derive(Clone)]
pub(super) struct Recorder {
    record: Arc<Mutex<Record>>,
    start: Instant,
}

impl Recorder {
    pub fn new(checker: Checker, start: Instant) -> Self {
        Recorder { record: Arc::new(Mutex::new(Record { checker, trace: Trace::new() })), start }
    }

    pub fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Virtual time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Starts the checker from what the server holds, then records and checks every event the
    /// server commits.
    pub fn attach(&self, server: &SharedApiServer) {
        server.with(|s| self.lock().checker.seed(s));
        let recorder = self.clone();
        server.observe(move |s, event| {
            let at = recorder.elapsed();
            let mut g = recorder.lock();
            g.trace.record(event, at);
            g.checker.observe(s, event, at);
        });
    }

    /// A line in the trace that is not a write (a crash, faults stopping).
    pub fn note(&self, text: &str) {
        self.lock().trace.note(self.elapsed(), text)
    }

    /// `inner`, telling the checker about every synthesis before running it.
    pub fn executor(&self, inner: SimulatedExecutor) -> Arc<dyn Executor> {
        Arc::new(RecordingExecutor { inner, recorder: self.clone() })
    }

    /// Sleeps until `t`; false (early) once the checker has found a violation.
    pub async fn wait_until(&self, t: Instant) -> bool {
        loop {
            if !self.lock().checker.violations().is_empty() {
                return false;
            }
            let now = Instant::now();
            if now >= t {
                return true;
            }
            tokio::time::sleep_until(t.min(now + CHECK_EVERY)).await;
        }
    }
}

struct RecordingExecutor {
    inner: SimulatedExecutor,
    recorder: Recorder,
}

impl Executor for RecordingExecutor {
    fn synthesize(&self, input: SynthesisInput) -> BoxFuture<'static, Result<SynthesisOutput, SynthesisError>> {
        self.recorder.lock().checker.synthesis_started(&input.uuid, &input.composition_key(), self.recorder.elapsed());
        self.inner.synthesize(input)
    }
}
