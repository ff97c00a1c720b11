//! Fault plans. Swarm testing: each seed switches every fault kind on or off and picks its rate,
//! so some seeds hammer one mechanism and others mix a few. A plan is a list of independent
//! faults, so a failing plan can be shrunk by dropping faults ([`crate::shrink`]).
//!
//! Every place that interprets a fault kind (here, and the world's fault driver) does so in an
//! exhaustive `match`: a new kind does not compile until each of them decides about it.

use fake_apiserver::faults::Faults;
use fake_apiserver::rng::Rng;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Cached reads (informer lists) see the store this many revisions ago.
    StaleReads { lag: u64 },
    /// Watch events arrive only once this many revisions old, in spells of `hold` (the lag is
    /// lifted for a moment in between, so a quiet cluster's last events do come through).
    DelayedWatchEvents { lag: u64, hold: Duration },
    DroppedWatchEvents { rate: f64 },
    /// Requests fail before doing anything with one of these codes.
    Errors { rate: f64, codes: Vec<u16> },
    /// Writes commit but the caller sees a 504.
    TimeoutsAfterCommit { rate: f64 },
    /// Every open watch ends this often (clients re-watch).
    WatchCloses { every: Duration },
    /// History is compacted to the current revision this often and watches closed, so
    /// resuming watches get 410 Gone and relist.
    Compactions { every: Duration },
    /// Garbage collection does nothing until faults stop.
    PausedGc,
    /// Replica 0 is killed (memory lost) at `at` and restarted `down` later.
    Crash { at: Duration, down: Duration },
    /// A second replica runs from `at` until faults stop: split brain.
    SecondReplica { at: Duration },
    /// Each controller request takes up to `max` to reach the server, so a pass's read and its
    /// write are apart and other tasks' (and the other replica's) writes land in between, and
    /// a crash can fall in the middle of a pass.
    Latency { max: Duration },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::StaleReads { lag } => write!(f, "stale reads (lag {lag} revisions)"),
            Fault::DelayedWatchEvents { lag, hold } => write!(f, "delayed watch events (lag {lag} revisions, in spells of {hold:?})"),
            Fault::DroppedWatchEvents { rate } => write!(f, "dropped watch events ({:.0}%)", rate * 100.0),
            Fault::Errors { rate, codes } => write!(f, "errors {codes:?} ({:.0}% of requests)", rate * 100.0),
            Fault::TimeoutsAfterCommit { rate } => write!(f, "timeouts after commit ({:.0}% of writes)", rate * 100.0),
            Fault::WatchCloses { every } => write!(f, "watch closes every {every:?}"),
            Fault::Compactions { every } => write!(f, "compaction + 410 relists every {every:?}"),
            Fault::PausedGc => write!(f, "garbage collection paused"),
            Fault::Crash { at, down } => write!(f, "crash replica 0 at {at:?}, down {down:?}"),
            Fault::SecondReplica { at } => write!(f, "second replica (split brain) from {at:?}"),
            Fault::Latency { max } => write!(f, "request latency up to {max:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultPlan {
    pub faults: Vec<Fault>,
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.faults.is_empty() {
            return write!(f, "no faults");
        }
        let parts: Vec<String> = self.faults.iter().map(Fault::to_string).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl FaultPlan {
    pub fn none() -> Self {
        FaultPlan::default()
    }

    /// The swarm plan of `seed` for a fault window of `window`.
    pub fn swarm(seed: u64, window: Duration) -> Self {
        // A stream of its own, so the plan does not depend on how madsim or the server use the seed.
        let mut rng = Rng::seeded(seed ^ 0x5eed_fa17_0000_0000);
        let coin = |rng: &mut Rng, p: f64| rng.chance(p);
        let rate = |rng: &mut Rng, max_percent: u64| (1 + rng.below(max_percent)) as f64 / 100.0;
        let at = |rng: &mut Rng| Duration::from_millis(rng.below(window.as_millis().max(1) as u64));
        let mut faults = Vec::new();
        if coin(&mut rng, 0.5) {
            faults.push(Fault::StaleReads { lag: 1 + rng.below(20) });
        }
        if coin(&mut rng, 0.5) {
            faults.push(Fault::DelayedWatchEvents { lag: 1 + rng.below(5), hold: Duration::from_millis(300 + rng.below(3000)) });
        }
        if coin(&mut rng, 0.4) {
            faults.push(Fault::DroppedWatchEvents { rate: rate(&mut rng, 30) });
        }
        if coin(&mut rng, 0.5) {
            const CODES: [u16; 5] = [409, 429, 500, 503, 504];
            let codes: Vec<u16> = CODES.iter().copied().filter(|_| rng.chance(0.5)).collect();
            let codes = if codes.is_empty() { vec![CODES[rng.below(5) as usize]] } else { codes };
            faults.push(Fault::Errors { rate: rate(&mut rng, 20), codes });
        }
        if coin(&mut rng, 0.4) {
            faults.push(Fault::TimeoutsAfterCommit { rate: rate(&mut rng, 20) });
        }
        if coin(&mut rng, 0.4) {
            faults.push(Fault::WatchCloses { every: Duration::from_millis(200 + rng.below(3000)) });
        }
        if coin(&mut rng, 0.4) {
            faults.push(Fault::Compactions { every: Duration::from_millis(500 + rng.below(5000)) });
        }
        if coin(&mut rng, 0.3) {
            faults.push(Fault::PausedGc);
        }
        if coin(&mut rng, 0.5) {
            for _ in 0..1 + rng.below(3) {
                faults.push(Fault::Crash { at: at(&mut rng), down: Duration::from_millis(rng.below(3000)) });
            }
        }
        if coin(&mut rng, 0.3) {
            faults.push(Fault::SecondReplica { at: at(&mut rng) });
        }
        if coin(&mut rng, 0.5) {
            faults.push(Fault::Latency { max: Duration::from_millis(1 + rng.below(50)) });
        }
        FaultPlan { faults }
    }

    /// The server-side part of the plan.
    pub fn server_faults(&self) -> Faults {
        let mut f = Faults::none();
        for fault in &self.faults {
            match fault {
                Fault::StaleReads { lag } => f.read_lag = *lag,
                Fault::DroppedWatchEvents { rate } => f.watch_drop_rate = *rate,
                Fault::Errors { rate, codes } => {
                    f.error_rate = *rate;
                    f.error_codes = codes.clone();
                }
                Fault::TimeoutsAfterCommit { rate } => f.timeout_after_commit_rate = *rate,
                Fault::PausedGc => f.gc_paused = true,
                Fault::DelayedWatchEvents { .. }
                | Fault::WatchCloses { .. }
                | Fault::Compactions { .. }
                | Fault::Crash { .. }
                | Fault::SecondReplica { .. }
                | Fault::Latency { .. } => {}
            }
        }
        f
    }

    /// Whether caches may have missed events for good: then faults end with a compaction, which
    /// makes every informer relist (Eno's informers do not relist periodically).
    pub fn drops_events(&self) -> bool {
        self.faults.iter().any(|f| match f {
            Fault::DroppedWatchEvents { .. } => true,
            // Delayed events arrive late; closed or expired watches resume or relist.
            Fault::StaleReads { .. }
            | Fault::DelayedWatchEvents { .. }
            | Fault::Errors { .. }
            | Fault::TimeoutsAfterCommit { .. }
            | Fault::WatchCloses { .. }
            | Fault::Compactions { .. }
            | Fault::PausedGc
            | Fault::Crash { .. }
            | Fault::SecondReplica { .. }
            | Fault::Latency { .. } => false,
        })
    }

    /// The longest a controller request may take to reach the server (zero: at once).
    pub fn max_latency(&self) -> Duration {
        let latency = |f: &Fault| match f {
            Fault::Latency { max } => *max,
            Fault::StaleReads { .. }
            | Fault::DelayedWatchEvents { .. }
            | Fault::DroppedWatchEvents { .. }
            | Fault::Errors { .. }
            | Fault::TimeoutsAfterCommit { .. }
            | Fault::WatchCloses { .. }
            | Fault::Compactions { .. }
            | Fault::PausedGc
            | Fault::Crash { .. }
            | Fault::SecondReplica { .. } => Duration::ZERO,
        };
        self.faults.iter().map(latency).max().unwrap_or_default()
    }

    /// Controller restarts the plan causes (a crash, or the second replica starting).
    pub fn replica_starts(&self) -> usize {
        let starts_a_replica = |f: &&Fault| match f {
            Fault::Crash { .. } | Fault::SecondReplica { .. } => true,
            Fault::StaleReads { .. }
            | Fault::DelayedWatchEvents { .. }
            | Fault::DroppedWatchEvents { .. }
            | Fault::Errors { .. }
            | Fault::TimeoutsAfterCommit { .. }
            | Fault::WatchCloses { .. }
            | Fault::Compactions { .. }
            | Fault::PausedGc
            | Fault::Latency { .. } => false,
        };
        self.faults.iter().filter(starts_a_replica).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swarm_plans_are_a_function_of_the_seed_and_vary() {
        let window = Duration::from_secs(20);
        assert_eq!(FaultPlan::swarm(3, window), FaultPlan::swarm(3, window));
        let plans: Vec<FaultPlan> = (0..200).map(|s| FaultPlan::swarm(s, window)).collect();
        let with = |pred: fn(&Fault) -> bool| plans.iter().filter(|p| p.faults.iter().any(pred)).count();
        // Every kind is on for some seeds and off for others.
        for (name, n) in [
            ("stale", with(|f| matches!(f, Fault::StaleReads { .. }))),
            ("errors", with(|f| matches!(f, Fault::Errors { .. }))),
            ("crash", with(|f| matches!(f, Fault::Crash { .. }))),
            ("split brain", with(|f| matches!(f, Fault::SecondReplica { .. }))),
            ("compaction", with(|f| matches!(f, Fault::Compactions { .. }))),
            ("latency", with(|f| matches!(f, Fault::Latency { .. }))),
        ] {
            assert!(n > 20 && n < 180, "{name}: on in {n} of 200 plans");
        }
        for p in &plans {
            for f in &p.faults {
                if let Fault::Crash { at, .. } | Fault::SecondReplica { at } = f {
                    assert!(*at < window);
                }
            }
        }
    }

    #[test]
    fn server_faults_combine_the_server_side_kinds() {
        let plan = FaultPlan {
            faults: vec![Fault::StaleReads { lag: 3 }, Fault::Errors { rate: 0.1, codes: vec![500] }, Fault::PausedGc, Fault::Crash { at: Duration::ZERO, down: Duration::ZERO }],
        };
        let f = plan.server_faults();
        assert_eq!((f.read_lag, f.error_rate, f.error_codes.clone(), f.gc_paused), (3, 0.1, vec![500], true));
        assert_eq!(plan.replica_starts(), 1);
        assert_eq!(FaultPlan::none().server_faults(), Faults::none());
        assert_eq!(plan.to_string(), "stale reads (lag 3 revisions); errors [500] (10% of requests); garbage collection paused; crash replica 0 at 0ns, down 0ns");
    }
}
