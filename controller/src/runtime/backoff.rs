//! Capped doubling pauses between retries, shared by the watchers, kind resolution and
//! synthesis persistence.

use std::time::Duration;

/// Pauses between retries, doubling from `first` up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    /// Pauses taken since the last reset.
    retries: u32,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Self {
        Backoff { first, max, retries: 0 }
    }

    /// How the watchers retry: from 200ms up to 10s.
    pub const fn watch() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }

    /// Sleeps for the current pause, and doubles the next one.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.pause(self.retries)).await;
        self.retries = self.retries.saturating_add(1);
    }

    /// Back to the first pause (after a success).
    pub fn reset(&mut self) {
        self.retries = 0;
    }

    /// The pause before retry number `retries` (0: the first): `first` doubled that many
    /// times, at most `max`. Pure, so decisions can name their pauses as data.
    pub fn pause(&self, retries: u32) -> Duration {
        self.first.checked_mul(1 << retries.min(31)).unwrap_or(self.max).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_first_up_to_max() {
        let backoff = Backoff::new(Duration::from_millis(20), Duration::from_secs(2));
        let pauses: Vec<u64> = (0..9).map(|n| backoff.pause(n).as_millis() as u64).collect();
        assert_eq!(pauses, [20, 40, 80, 160, 320, 640, 1280, 2000, 2000]);
        assert_eq!(backoff.pause(u32::MAX), Duration::from_secs(2));
    }
}
