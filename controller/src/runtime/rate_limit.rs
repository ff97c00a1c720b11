//! Client-side rate limiting, as client-go's token bucket (`--qps`, `--burst`): requests flow at
//! `qps` on average, with up to `burst` at once after a quiet spell, so a controller catching up
//! (a relist, a thousand compositions queued at start) does not flood the API server.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket. Each request takes a token; one that finds none waits for the token it
/// reserves, so waiting requests are served in order and the average rate holds.
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `qps` tokens a second, at most `burst` saved up (at least one). Starts full.
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket { qps, burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// How long the caller must wait for its token (zero: go now), reserving it.
    fn reserve(&self) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * self.qps).min(self.burst);
        *state = (refilled - 1.0, now);
        if refilled >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - refilled) / self.qps)
        }
    }

    /// Takes a token if one is there; otherwise says how long until one is, taking nothing (for
    /// callers that come back later rather than wait).
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * self.qps).min(self.burst);
        if refilled >= 1.0 {
            *state = (refilled - 1.0, now);
            Ok(())
        } else {
            *state = (refilled, now);
            Err(Duration::from_secs_f64((1.0 - refilled) / self.qps))
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_requests_keep_to_the_rate() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst");
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(990) && took <= Duration::from_millis(1010), "ten more at 10/s take a second, took {took:?}");
        // A quiet spell saves up at most the burst again.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let again = Instant::now();
        for _ in 0..6 {
            bucket.acquire().await;
        }
        let waited = again.elapsed();
        assert!(waited >= Duration::from_millis(99) && waited <= Duration::from_millis(101), "five saved, the sixth waits 100 ms: {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn trying_takes_a_token_or_says_when_one_comes_without_taking_it() {
        let bucket = TokenBucket::new(2.0, 2);
        assert_eq!((bucket.try_acquire(), bucket.try_acquire()), (Ok(()), Ok(())));
        assert_eq!(bucket.try_acquire(), Err(Duration::from_millis(500)));
        assert_eq!(bucket.try_acquire(), Err(Duration::from_millis(500)), "a refusal reserves nothing");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(bucket.try_acquire(), Ok(()));
        assert_eq!(bucket.try_acquire(), Err(Duration::from_millis(500)));
    }
}
