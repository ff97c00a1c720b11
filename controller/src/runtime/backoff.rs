//! Capped doubling pauses between retries, shared by the watchers, kind resolution and
//! synthesis persistence.

use std::time::Duration;

/// Pauses between retries, doubling from `first` up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    first: Duration,
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Self {
        Backoff { first, next: first, max }
    }

    /// How the watchers retry: from 200ms up to 10s.
    pub const fn watch() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }

    /// Sleeps for the current pause, and doubles the next one.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }

    /// Back to the first pause (after a success).
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}
