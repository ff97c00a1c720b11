//! The resources the server refused, as this replica remembers them: when each may be asked
//! again ([`crate::decide::refusal`]). Memory only: a replica that starts (or takes over) asks
//! once, then keeps to the schedule.

use super::keys::ResourceWorkKey;
use crate::decide::refusal::{self, Refusals};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A record no pass has renewed for this long is of a resource no longer tried (its
/// composition or synthesis went): dropped, which keeps the map small.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct RefusedResources {
    recorded: Mutex<BTreeMap<ResourceWorkKey, Refusals>>,
}

impl RefusedResources {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ResourceWorkKey, Refusals>> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long a pass over `key` making `attempt` waits before asking the server anything.
    /// `attempt` is only worked out for a resource refused before (it hashes the manifest).
    pub fn hold_off(&self, key: &ResourceWorkKey, attempt: impl FnOnce() -> u64) -> Option<Duration> {
        let recorded = self.lock().get(key).copied()?;
        refusal::hold_off(Some(&recorded), attempt(), Instant::now())
    }

    /// The server refused `attempt` at `key` once more: how long until it is tried again.
    pub fn refused(&self, key: &ResourceWorkKey, attempt: u64, jitter_seed: u64) -> Duration {
        let now = Instant::now();
        let mut recorded = self.lock();
        recorded.retain(|_, r| now.saturating_duration_since(r.retry_at) < FORGET_AFTER);
        let next = refusal::refused(recorded.get(key), attempt, now, jitter_seed);
        recorded.insert(key.clone(), next);
        next.retry_at - now
    }

    /// A pass over `key` went through: its next refusal starts the schedule over.
    pub fn forget(&self, key: &ResourceWorkKey) {
        self.lock().remove(key);
    }
}
