//! A work queue like client-go's: a key is queued at most once, a key being processed is
//! re-queued after it finishes if it was added meanwhile, requeues can be delayed, and
//! failures back off exponentially per key. Deterministic: ready keys pop in FIFO order,
//! delayed ones by (deadline, key).

use super::metrics::QueueMetrics;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

pub struct WorkQueue<K> {
    state: Mutex<State<K>>,
    wake: Notify,
    base_backoff: Duration,
    max_backoff: Duration,
    metrics: QueueMetrics,
}

struct State<K> {
    ready: VecDeque<K>,
    queued: BTreeSet<K>,
    processing: BTreeSet<K>,
    /// Added while processing: goes back to `ready` when processing ends.
    dirty: BTreeSet<K>,
    delayed: BTreeMap<K, Instant>,
    failures: BTreeMap<K, u32>,
    /// When each ready key became ready, and when each key being processed was taken.
    since: BTreeMap<K, Instant>,
    shut_down: bool,
}

impl<K: Ord + Clone> State<K> {
    /// Makes `key` ready, unless it already is.
    fn enqueue(&mut self, key: K, metrics: &QueueMetrics) {
        if self.queued.insert(key.clone()) {
            self.since.insert(key.clone(), Instant::now());
            self.ready.push_back(key);
            metrics.adds.inc();
            metrics.depth.set(self.ready.len() as i64);
        }
    }
}

impl<K: Ord + Clone> WorkQueue<K> {
    pub fn new(base_backoff: Duration, max_backoff: Duration) -> Self {
        WorkQueue {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                queued: BTreeSet::new(),
                processing: BTreeSet::new(),
                dirty: BTreeSet::new(),
                delayed: BTreeMap::new(),
                failures: BTreeMap::new(),
                since: BTreeMap::new(),
                shut_down: false,
            }),
            wake: Notify::new(),
            base_backoff,
            max_backoff,
            metrics: QueueMetrics::default(),
        }
    }

    /// Reports into these metrics (`workqueue_*` of one queue name).
    pub fn with_metrics(mut self, metrics: QueueMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue now (deduplicated). Cancels a pending delayed requeue of the same key.
    pub fn add(&self, key: K) {
        let mut s = self.lock();
        s.delayed.remove(&key);
        if s.processing.contains(&key) {
            s.dirty.insert(key);
        } else {
            s.enqueue(key, &self.metrics);
        }
        drop(s);
        self.wake.notify_one();
    }

    /// Queue after `delay`, unless the key is queued sooner by someone else.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let at = Instant::now() + delay;
        let mut s = self.lock();
        if s.queued.contains(&key) {
            return;
        }
        let entry = s.delayed.entry(key).or_insert(at);
        if at < *entry {
            *entry = at;
        }
        drop(s);
        self.wake.notify_one();
    }

    /// Queue after this key's next backoff step.
    pub fn add_with_backoff(&self, key: K) {
        let delay = {
            self.metrics.retries.inc();
            let mut s = self.lock();
            let n = s.failures.entry(key.clone()).or_insert(0);
            *n += 1;
            let factor = 2u32.saturating_pow((*n - 1).min(20));
            self.base_backoff.saturating_mul(factor).min(self.max_backoff)
        };
        self.add_after(key, delay);
    }

    /// The key succeeded: its backoff starts over.
    pub fn forget(&self, key: &K) {
        self.lock().failures.remove(key);
    }

    /// Waits for the next key; `None` after `shut_down`. Call `done` when finished with it.
    pub async fn next(&self) -> Option<K> {
        loop {
            let notified = self.wake.notified();
            let wait_until = {
                let mut s = self.lock();
                if s.shut_down {
                    return None;
                }
                let now = Instant::now();
                let due: Vec<K> = s.delayed.iter().filter(|(_, at)| **at <= now).map(|(k, _)| k.clone()).collect();
                for k in due {
                    s.delayed.remove(&k);
                    if s.processing.contains(&k) {
                        s.dirty.insert(k);
                    } else {
                        s.enqueue(k, &self.metrics);
                    }
                }
                if let Some(k) = s.ready.pop_front() {
                    s.queued.remove(&k);
                    s.processing.insert(k.clone());
                    if let Some(since) = s.since.insert(k.clone(), now) {
                        self.metrics.queue_duration.observe(now.duration_since(since).as_secs_f64());
                    }
                    self.metrics.depth.set(s.ready.len() as i64);
                    return Some(k);
                }
                s.delayed.values().min().copied()
            };
            match wait_until {
                Some(at) => {
                    // `biased`: tokio's default random branch order is not seeded by madsim.
                    tokio::select! {
                        biased;
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Processing of `key` finished; if it was added meanwhile it is queued again.
    pub fn done(&self, key: &K) {
        let mut s = self.lock();
        s.processing.remove(key);
        if let Some(taken) = s.since.remove(key) {
            self.metrics.work_duration.observe(taken.elapsed().as_secs_f64());
        }
        if s.dirty.remove(key) {
            s.enqueue(key.clone(), &self.metrics);
            drop(s);
            self.wake.notify_one();
        }
    }

    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.wake.notify_waiters();
    }

    /// Keys queued now or later (not counting the one being processed).
    pub fn len(&self) -> usize {
        let s = self.lock();
        s.ready.len() + s.delayed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn dedupes_and_requeues_keys_added_while_processing() {
        let q = WorkQueue::new(Duration::from_millis(10), Duration::from_secs(1));
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.next().await, Some("a"));
        q.add("a"); // while processing
        assert_eq!(q.next().await, Some("b"));
        q.done(&"a");
        assert_eq!(q.next().await, Some("a"));
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn delays_and_backoff() {
        let q = WorkQueue::new(Duration::from_millis(100), Duration::from_millis(300));
        let start = Instant::now();
        q.add_after("x", Duration::from_secs(5));
        q.add_after("y", Duration::from_secs(1));
        assert_eq!(q.next().await, Some("y"));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        q.done(&"y");
        for expected in [100, 200, 300, 300] {
            let t = Instant::now();
            q.add_with_backoff("y");
            assert_eq!(q.next().await, Some("y"));
            assert_eq!(t.elapsed(), Duration::from_millis(expected));
            q.done(&"y");
        }
        q.forget(&"y");
        let t = Instant::now();
        q.add_with_backoff("y");
        assert_eq!(q.next().await, Some("y"));
        assert_eq!(t.elapsed(), Duration::from_millis(100));
        assert_eq!(q.next().await, Some("x"));
    }
}
