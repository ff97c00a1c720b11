//! The controller loop: pop a key, reconcile it, act on the outcome.

use super::leader_election::Leadership;
use super::metrics::{Metrics, ReconcileResult};
use super::queue::WorkQueue;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What a reconcile pass asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Converged; wait for the next change.
    Done,
    /// Look again after this long (drift checks, waiting on something).
    RequeueAfter(Duration),
}

/// Runs `reconcile` for each queued key, one at a time (deterministic order), until the queue
/// shuts down. Errors are logged and retried with per-key exponential backoff. Each pass is
/// counted and timed in `metrics` under the controller's `name`. Keys wait in the queue while
/// this replica does not lead.
pub async fn run_controller<K, F, Fut, E>(name: &'static str, queue: Arc<WorkQueue<K>>, metrics: Arc<Metrics>, leadership: &Leadership, reconcile: F)
where
    K: Ord + Clone + std::fmt::Debug,
    F: Fn(K) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
    E: std::fmt::Display,
{
    loop {
        leadership.wait_leading().await;
        let Some(key) = queue.next().await else { break };
        let started = tokio::time::Instant::now();
        let result = match reconcile(key.clone()).await {
            Ok(Action::Done) => {
                queue.forget(&key);
                ReconcileResult::Success
            }
            Ok(Action::RequeueAfter(after)) => {
                queue.forget(&key);
                queue.add_after(key.clone(), after);
                ReconcileResult::RequeueAfter
            }
            Err(e) => {
                tracing::warn!(controller = name, key = ?key, error = %e, "reconcile failed; backing off");
                queue.add_with_backoff(key.clone());
                ReconcileResult::Error
            }
        };
        metrics.reconciled(name, result, started.elapsed());
        queue.done(&key);
    }
}
