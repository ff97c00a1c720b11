//! Fault plans. Swarm testing: each seed switches every fault kind on or off and picks its rate,
//! so some seeds hammer one mechanism and others mix a few. A plan is a list of independent
//! faults, so a failing plan can be shrunk by dropping faults ([`crate::shrink`]).
//!
//! Every place that interprets a fault kind (here, and the world's fault driver) does so in an
//! exhaustive `match`: a new kind does not compile until each of them decides about it.

use fake_apiserver::faults::Faults;
use fake_apiserver::rng::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One fault. Durations (de)serialise as whole milliseconds, so a plan saved as YAML or JSON
/// (`kind` names the variant, fields in camelCase) replays exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Fault {
    /// Time travel (an HA control plane with a lagging API server): replicas list with
    /// `ListSemantic::Any` (`resourceVersion=0`), which is served `lag` revisions in the past,
    /// and every `every` all watches expire (410) so informers relist into that past state,
    /// older than what they already saw, then replay forward from it.
    TimeTravel {
        lag: u64,
        #[serde(with = "millis")]
        every: Duration,
    },
    /// Watch events arrive only once this many revisions old, in spells of `hold` (the lag is
    /// lifted for a moment in between, so a quiet cluster's last events do come through).
    DelayedWatchEvents {
        lag: u64,
        #[serde(with = "millis")]
        hold: Duration,
    },
    DroppedWatchEvents { rate: f64 },
    /// Watches end every `every` (as real ones time out) and resume `replay` revisions before
    /// the one asked for, re-delivering events the informer already applied.
    DuplicateDelivery {
        replay: u64,
        #[serde(with = "millis")]
        every: Duration,
    },
    /// Requests fail before doing anything with one of these codes.
    Errors { rate: f64, codes: Vec<u16> },
    /// Writes commit but the caller sees a 504.
    TimeoutsAfterCommit { rate: f64 },
    /// Every open watch ends this often (clients re-watch).
    WatchCloses {
        #[serde(with = "millis")]
        every: Duration,
    },
    /// History is compacted to the current revision this often and watches closed, so
    /// resuming watches get 410 Gone and relist.
    Compactions {
        #[serde(with = "millis")]
        every: Duration,
    },
    /// Garbage collection does nothing until faults stop.
    PausedGc,
    /// Replica 0 is killed (memory lost) at `at` and restarted `down` later.
    Crash {
        #[serde(with = "millis")]
        at: Duration,
        #[serde(with = "millis")]
        down: Duration,
    },
    /// Replica 0 is killed right after its `nth` committed write (the response lost with it),
    /// so its next incarnation starts from the intermediate state of a multi-write step;
    /// restarted `down` later.
    CrashAfterWrite {
        nth: u64,
        #[serde(with = "millis")]
        down: Duration,
    },
    /// Replica 0's process stalls right after its `nth` committed write, before it sees the
    /// response, for `duration`: a stop-the-world pause, CPU throttling, a frozen VM. None of its
    /// tasks runs meanwhile; its timers and the events sent to it wait, then all run on at once.
    /// A leader stalled past its renew deadline must not act on what it decided before.
    StallAfterWrite {
        nth: u64,
        #[serde(with = "millis")]
        duration: Duration,
    },
    /// A second replica runs from `at` until faults stop: split brain.
    SecondReplica {
        #[serde(with = "millis")]
        at: Duration,
    },
    /// Replica `replica`'s clock (what it stamps and compares: claims, conditions, intervals)
    /// is `offset_millis` off, signed.
    ClockSkew { replica: usize, offset_millis: i64 },
    /// Each controller request takes up to `max` to reach the server, so a pass's read and its
    /// write are apart and other tasks' (and the other replica's) writes land in between, and
    /// a crash can fall in the middle of a pass.
    Latency {
        #[serde(with = "millis")]
        max: Duration,
    },
    /// Replica `replica` cannot reach the API server from `at` for `duration`: its requests
    /// fail (connection refused) and its watches end, while the others carry on.
    Partition {
        replica: usize,
        #[serde(with = "millis")]
        at: Duration,
        #[serde(with = "millis")]
        duration: Duration,
    },
}

/// `Duration` as whole milliseconds.
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TimeTravel { lag, every } => write!(f, "time travel (any-semantic lists {lag} revisions old, watches expire every {every:?})"),
            Fault::DelayedWatchEvents { lag, hold } => write!(f, "delayed watch events (lag {lag} revisions, in spells of {hold:?})"),
            Fault::DroppedWatchEvents { rate } => write!(f, "dropped watch events ({:.0}%)", rate * 100.0),
            Fault::DuplicateDelivery { replay, every } => write!(f, "duplicate delivery (watches resume {replay} revisions early, every {every:?})"),
            Fault::Errors { rate, codes } => write!(f, "errors {codes:?} ({:.0}% of requests)", rate * 100.0),
            Fault::TimeoutsAfterCommit { rate } => write!(f, "timeouts after commit ({:.0}% of writes)", rate * 100.0),
            Fault::WatchCloses { every } => write!(f, "watch closes every {every:?}"),
            Fault::Compactions { every } => write!(f, "compaction + 410 relists every {every:?}"),
            Fault::PausedGc => write!(f, "garbage collection paused"),
            Fault::Crash { at, down } => write!(f, "crash replica 0 at {at:?}, down {down:?}"),
            Fault::CrashAfterWrite { nth, down } => write!(f, "crash replica 0 after its write #{nth}, down {down:?}"),
            Fault::StallAfterWrite { nth, duration } => write!(f, "stall replica 0 after its write #{nth} for {duration:?}"),
            Fault::SecondReplica { at } => write!(f, "second replica (split brain) from {at:?}"),
            Fault::ClockSkew { replica, offset_millis } => write!(f, "clock of replica {replica} off by {offset_millis}ms"),
            Fault::Latency { max } => write!(f, "request latency up to {max:?}"),
            Fault::Partition { replica, at, duration } => write!(f, "replica {replica} partitioned from the API server at {at:?} for {duration:?}"),
        }
    }
}

impl Fault {
    /// Smaller versions of this fault for shrinking a failing plan beyond dropping faults, one
    /// knob each: a count, lag or time jumps to its least (a crash at once, a write early) or
    /// halves; a rate or skew halves; an interval doubles (fewer of the event). Empty when
    /// nothing is left to reduce.
    pub fn smaller(&self) -> Vec<Fault> {
        // Least first, so a knob that does not matter is settled in one run.
        let count = |n: u64| [1, (n / 2).max(1)];
        let time = |d: Duration| [Duration::ZERO, Duration::from_millis(d.as_millis() as u64 / 2)];
        let half_rate = |r: f64| (r * 50.0).floor() / 100.0;
        let mut out: Vec<Fault> = match self {
            Fault::TimeTravel { lag, every } => {
                let fewer_lag = count(*lag).map(|lag| Fault::TimeTravel { lag, every: *every });
                fewer_lag.into_iter().chain([Fault::TimeTravel { lag: *lag, every: *every * 2 }]).collect()
            }
            Fault::DelayedWatchEvents { lag, hold } => {
                let fewer_lag = count(*lag).map(|lag| Fault::DelayedWatchEvents { lag, hold: *hold });
                fewer_lag.into_iter().chain(time(*hold).map(|hold| Fault::DelayedWatchEvents { lag: *lag, hold })).collect()
            }
            Fault::DroppedWatchEvents { rate } => vec![Fault::DroppedWatchEvents { rate: half_rate(*rate) }],
            Fault::DuplicateDelivery { replay, every } => {
                let fewer = count(*replay).map(|replay| Fault::DuplicateDelivery { replay, every: *every });
                fewer.into_iter().chain([Fault::DuplicateDelivery { replay: *replay, every: *every * 2 }]).collect()
            }
            Fault::Errors { rate, codes } => {
                let mut v = vec![Fault::Errors { rate: half_rate(*rate), codes: codes.clone() }];
                // One code fewer.
                v.extend((0..codes.len()).filter(|_| codes.len() > 1).map(|i| {
                    let mut fewer = codes.clone();
                    fewer.remove(i);
                    Fault::Errors { rate: *rate, codes: fewer }
                }));
                v
            }
            Fault::TimeoutsAfterCommit { rate } => vec![Fault::TimeoutsAfterCommit { rate: half_rate(*rate) }],
            Fault::WatchCloses { every } => vec![Fault::WatchCloses { every: *every * 2 }],
            Fault::Compactions { every } => vec![Fault::Compactions { every: *every * 2 }],
            Fault::PausedGc => vec![],
            Fault::Crash { at, down } => {
                let earlier = time(*at).map(|at| Fault::Crash { at, down: *down });
                earlier.into_iter().chain(time(*down).map(|down| Fault::Crash { at: *at, down })).collect()
            }
            Fault::CrashAfterWrite { nth, down } => {
                let earlier = count(*nth).map(|nth| Fault::CrashAfterWrite { nth, down: *down });
                earlier.into_iter().chain(time(*down).map(|down| Fault::CrashAfterWrite { nth: *nth, down })).collect()
            }
            Fault::StallAfterWrite { nth, duration } => {
                let earlier = count(*nth).map(|nth| Fault::StallAfterWrite { nth, duration: *duration });
                earlier.into_iter().chain(time(*duration).map(|duration| Fault::StallAfterWrite { nth: *nth, duration })).collect()
            }
            Fault::SecondReplica { at } => time(*at).map(|at| Fault::SecondReplica { at }).to_vec(),
            Fault::ClockSkew { replica, offset_millis } => vec![Fault::ClockSkew { replica: *replica, offset_millis: offset_millis / 2 }],
            Fault::Latency { max } => time(*max).map(|max| Fault::Latency { max: max.max(Duration::from_millis(1)) }).to_vec(),
            Fault::Partition { replica, at, duration } => [
                time(*duration).map(|duration| Fault::Partition { replica: *replica, at: *at, duration }),
                time(*at).map(|at| Fault::Partition { replica: *replica, at, duration: *duration }),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        // Some knobs bottom out (a lag of 1 stays 1), and a rate or skew of 0 is no fault.
        out.retain(|f| f != self && !f.is_noop());
        out.dedup();
        // Doubled intervals stop growing somewhere: past a minute there is nothing to learn.
        out.retain(|f| match f {
            Fault::TimeTravel { every, .. } | Fault::DuplicateDelivery { every, .. } | Fault::WatchCloses { every } | Fault::Compactions { every } => {
                *every <= Duration::from_secs(60)
            }
            _ => true,
        });
        out
    }

    /// A fault with nothing left in it (dropping it is ddmin's job, not reduction's).
    fn is_noop(&self) -> bool {
        match self {
            Fault::DroppedWatchEvents { rate } | Fault::Errors { rate, .. } | Fault::TimeoutsAfterCommit { rate } => *rate <= 0.0,
            Fault::ClockSkew { offset_millis, .. } => *offset_millis == 0,
            Fault::Partition { duration, .. } | Fault::StallAfterWrite { duration, .. } => duration.is_zero(),
            Fault::TimeTravel { .. }
            | Fault::DelayedWatchEvents { .. }
            | Fault::DuplicateDelivery { .. }
            | Fault::WatchCloses { .. }
            | Fault::Compactions { .. }
            | Fault::PausedGc
            | Fault::Crash { .. }
            | Fault::CrashAfterWrite { .. }
            | Fault::SecondReplica { .. }
            | Fault::Latency { .. } => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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

/// What a plan changes in the controller replicas themselves (rather than on the server).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaFaults {
    /// The longest a controller request may take to reach the server (zero: at once).
    pub max_latency: Duration,
    /// Replicas list with `ListSemantic::Any` (so a lagging cache can serve them).
    pub any_semantic_lists: bool,
    /// Clock offset of replica 0 and replica 1, in milliseconds.
    pub clock_offsets_millis: [i64; 2],
    /// What happens to replica 0 right after its nth committed write: (nth, what).
    pub after_writes: Vec<(u64, AfterWrite)>,
    /// (replica, from, for how long) of each partition from the API server, from the run's start.
    pub partitions: Vec<(usize, Duration, Duration)>,
}

/// What replica 0's process goes through right after one of its committed writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterWrite {
    /// Killed (the response lost with it), restarted `down` later.
    Crash { down: Duration },
    /// Paused for this long, then the response arrives.
    Stall(Duration),
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
        // The kinds come in the order they were added, each new one drawn after all older ones,
        // so a seed keeps the older part of its plan (and the seeds known to catch something).
        let mut faults = Vec::new();
        let time_travel_lag = coin(&mut rng, 0.5).then(|| 1 + rng.below(20));
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
        if let Some(lag) = time_travel_lag {
            faults.insert(0, Fault::TimeTravel { lag, every: Duration::from_millis(500 + rng.below(4000)) });
        }
        if coin(&mut rng, 0.3) {
            faults.push(Fault::DuplicateDelivery { replay: 1 + rng.below(10), every: Duration::from_millis(300 + rng.below(3000)) });
        }
        if coin(&mut rng, 0.4) {
            // A scenario's replica makes a few dozen writes: over the seed budget every write
            // of every multi-write step is the last one before some crash.
            faults.push(Fault::CrashAfterWrite { nth: 1 + rng.below(MAX_NTH_WRITE), down: Duration::from_millis(rng.below(3000)) });
        }
        if coin(&mut rng, 0.3) {
            let magnitude = 1 + rng.below(30_000) as i64;
            let offset_millis = if rng.chance(0.5) { magnitude } else { -magnitude };
            faults.push(Fault::ClockSkew { replica: rng.below(2) as usize, offset_millis });
        }
        if coin(&mut rng, 0.3) {
            // Long enough, often, for another replica to take a partitioned leader's Lease.
            faults.push(Fault::Partition { replica: rng.below(2) as usize, at: at(&mut rng), duration: Duration::from_millis(500 + rng.below(20_000)) });
        }
        if coin(&mut rng, 0.3) {
            // As long, often, as a lease or a synthesis claim.
            faults.push(Fault::StallAfterWrite { nth: 1 + rng.below(MAX_NTH_WRITE), duration: Duration::from_millis(500 + rng.below(20_000)) });
        }
        FaultPlan { faults }
    }

    /// The server-side part of the plan.
    pub fn server_faults(&self) -> Faults {
        let mut f = Faults::none();
        for fault in &self.faults {
            match fault {
                Fault::TimeTravel { lag, .. } => f.read_lag = *lag,
                Fault::DroppedWatchEvents { rate } => f.watch_drop_rate = *rate,
                Fault::DuplicateDelivery { replay, .. } => f.watch_replay = *replay,
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
                | Fault::CrashAfterWrite { .. }
                | Fault::StallAfterWrite { .. }
                | Fault::SecondReplica { .. }
                | Fault::ClockSkew { .. }
                | Fault::Latency { .. }
                | Fault::Partition { .. } => {}
            }
        }
        f
    }

    /// The part of the plan built into the controller replicas.
    pub fn replica_faults(&self) -> ReplicaFaults {
        let mut r = ReplicaFaults::default();
        for fault in &self.faults {
            match fault {
                Fault::Latency { max } => r.max_latency = r.max_latency.max(*max),
                Fault::TimeTravel { .. } => r.any_semantic_lists = true,
                Fault::ClockSkew { replica, offset_millis } => {
                    if let Some(offset) = r.clock_offsets_millis.get_mut(*replica) {
                        *offset += offset_millis;
                    }
                }
                Fault::CrashAfterWrite { nth, down } => r.after_writes.push((*nth, AfterWrite::Crash { down: *down })),
                Fault::StallAfterWrite { nth, duration } => r.after_writes.push((*nth, AfterWrite::Stall(*duration))),
                Fault::Partition { replica, at, duration } => r.partitions.push((*replica, *at, *duration)),
                Fault::DelayedWatchEvents { .. }
                | Fault::DroppedWatchEvents { .. }
                | Fault::DuplicateDelivery { .. }
                | Fault::Errors { .. }
                | Fault::TimeoutsAfterCommit { .. }
                | Fault::WatchCloses { .. }
                | Fault::Compactions { .. }
                | Fault::PausedGc
                | Fault::Crash { .. }
                | Fault::SecondReplica { .. } => {}
            }
        }
        r
    }

    /// Whether caches may have missed events for good: then faults end with a compaction, which
    /// makes every informer relist (Eno's informers do not relist periodically).
    pub fn drops_events(&self) -> bool {
        self.faults.iter().any(|f| match f {
            Fault::DroppedWatchEvents { .. } => true,
            // Delayed events arrive late; closed or expired watches resume or relist; a
            // time-travelled cache replays forward from its old version.
            Fault::TimeTravel { .. }
            | Fault::DelayedWatchEvents { .. }
            | Fault::DuplicateDelivery { .. }
            | Fault::Errors { .. }
            | Fault::TimeoutsAfterCommit { .. }
            | Fault::WatchCloses { .. }
            | Fault::Compactions { .. }
            | Fault::PausedGc
            | Fault::Crash { .. }
            | Fault::CrashAfterWrite { .. }
            | Fault::StallAfterWrite { .. }
            | Fault::SecondReplica { .. }
            | Fault::ClockSkew { .. }
            | Fault::Latency { .. }
            | Fault::Partition { .. } => false,
        })
    }

    /// Controller restarts the plan causes (a crash, or the second replica starting).
    pub fn replica_starts(&self) -> usize {
        let starts_a_replica = |f: &&Fault| match f {
            Fault::Crash { .. } | Fault::CrashAfterWrite { .. } | Fault::SecondReplica { .. } => true,
            Fault::TimeTravel { .. }
            | Fault::DelayedWatchEvents { .. }
            | Fault::DroppedWatchEvents { .. }
            | Fault::DuplicateDelivery { .. }
            | Fault::Errors { .. }
            | Fault::TimeoutsAfterCommit { .. }
            | Fault::WatchCloses { .. }
            | Fault::Compactions { .. }
            | Fault::PausedGc
            | Fault::StallAfterWrite { .. }
            | Fault::ClockSkew { .. }
            | Fault::Latency { .. }
            | Fault::Partition { .. } => false,
        };
        self.faults.iter().filter(starts_a_replica).count()
    }
}

/// `CrashAfterWrite` and `StallAfterWrite` pick their write among the first this many of replica 0.
pub const MAX_NTH_WRITE: u64 = 40;

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
            ("time travel", with(|f| matches!(f, Fault::TimeTravel { .. }))),
            ("delayed", with(|f| matches!(f, Fault::DelayedWatchEvents { .. }))),
            ("dropped", with(|f| matches!(f, Fault::DroppedWatchEvents { .. }))),
            ("duplicates", with(|f| matches!(f, Fault::DuplicateDelivery { .. }))),
            ("errors", with(|f| matches!(f, Fault::Errors { .. }))),
            ("timeouts", with(|f| matches!(f, Fault::TimeoutsAfterCommit { .. }))),
            ("watch closes", with(|f| matches!(f, Fault::WatchCloses { .. }))),
            ("compaction", with(|f| matches!(f, Fault::Compactions { .. }))),
            ("paused gc", with(|f| matches!(f, Fault::PausedGc))),
            ("crash", with(|f| matches!(f, Fault::Crash { .. }))),
            ("crash after write", with(|f| matches!(f, Fault::CrashAfterWrite { .. }))),
            ("split brain", with(|f| matches!(f, Fault::SecondReplica { .. }))),
            ("clock skew", with(|f| matches!(f, Fault::ClockSkew { .. }))),
            ("latency", with(|f| matches!(f, Fault::Latency { .. }))),
            ("partition", with(|f| matches!(f, Fault::Partition { .. }))),
            ("stall after write", with(|f| matches!(f, Fault::StallAfterWrite { .. }))),
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
        // Crashes after writes hit every write position of a scenario's replica somewhere.
        let positions: std::collections::BTreeSet<u64> =
            (0..2000).flat_map(|s| FaultPlan::swarm(s, window).faults).filter_map(|f| if let Fault::CrashAfterWrite { nth, .. } = f { Some(nth) } else { None }).collect();
        assert_eq!(positions, (1..=MAX_NTH_WRITE).collect());
    }

    #[test]
    fn replica_faults_gather_what_the_replicas_are_built_with() {
        let plan = FaultPlan {
            faults: vec![
                Fault::Latency { max: Duration::from_millis(5) },
                Fault::ClockSkew { replica: 1, offset_millis: -20_000 },
                Fault::CrashAfterWrite { nth: 3, down: Duration::from_millis(100) },
                Fault::StallAfterWrite { nth: 5, duration: Duration::from_secs(7) },
                Fault::TimeTravel { lag: 4, every: Duration::from_secs(1) },
                Fault::Partition { replica: 1, at: Duration::from_secs(2), duration: Duration::from_secs(3) },
            ],
        };
        let r = plan.replica_faults();
        assert_eq!(
            r,
            ReplicaFaults { max_latency: Duration::from_millis(5), any_semantic_lists: true, clock_offsets_millis: [0, -20_000],
                after_writes: vec![(3, AfterWrite::Crash { down: Duration::from_millis(100) }), (5, AfterWrite::Stall(Duration::from_secs(7)))],
                partitions: vec![(1, Duration::from_secs(2), Duration::from_secs(3))],
            }
        );
        assert_eq!(FaultPlan::none().replica_faults(), ReplicaFaults::default());
    }

    #[test]
    fn plans_round_trip_through_yaml_and_json_with_durations_in_millis() {
        let plans: Vec<FaultPlan> = (0..50).map(|s| FaultPlan::swarm(s, Duration::from_secs(20))).collect();
        for plan in &plans {
            let yaml = serde_saphyr::to_string(plan).expect("serialises");
            assert_eq!(&serde_saphyr::from_str::<FaultPlan>(&yaml).expect("parses"), plan, "{yaml}");
        }
        let crash = FaultPlan { faults: vec![Fault::Crash { at: Duration::from_millis(1500), down: Duration::from_secs(2) }] };
        assert_eq!(serde_json::to_string(&crash).unwrap(), r#"{"faults":[{"kind":"crash","at":1500,"down":2000}]}"#);
        let skew: FaultPlan = serde_saphyr::from_str("faults:\n  - kind: clockSkew\n    replica: 1\n    offsetMillis: -3000\n").expect("parses");
        assert_eq!(skew.faults, vec![Fault::ClockSkew { replica: 1, offset_millis: -3000 }]);
    }

    #[test]
    fn smaller_faults_reduce_one_knob_at_a_time_and_bottom_out() {
        let crash = Fault::CrashAfterWrite { nth: 9, down: Duration::from_millis(800) };
        let ms = Duration::from_millis;
        assert_eq!(
            crash.smaller(),
            vec![
                Fault::CrashAfterWrite { nth: 1, down: ms(800) },
                Fault::CrashAfterWrite { nth: 4, down: ms(800) },
                Fault::CrashAfterWrite { nth: 9, down: ms(0) },
                Fault::CrashAfterWrite { nth: 9, down: ms(400) },
            ]
        );
        assert_eq!(Fault::ClockSkew { replica: 0, offset_millis: -7 }.smaller(), vec![Fault::ClockSkew { replica: 0, offset_millis: -3 }]);
        assert_eq!(Fault::Errors { rate: 0.2, codes: vec![409, 500] }.smaller().len(), 3, "a halved rate, and each code dropped");
        // Nothing left to reduce: no candidates, so shrinking terminates.
        for done in [Fault::PausedGc, Fault::DuplicateDelivery { replay: 1, every: Duration::from_secs(40) }, Fault::DroppedWatchEvents { rate: 0.01 }, Fault::ClockSkew { replica: 0, offset_millis: 1 }] {
            assert_eq!(done.smaller(), vec![], "{done}");
        }
        assert_eq!(Fault::Compactions { every: Duration::from_secs(40) }.smaller(), vec![], "intervals stop growing at a minute");
    }

    #[test]
    fn server_faults_combine_the_server_side_kinds() {
        let plan = FaultPlan {
            faults: vec![
                Fault::TimeTravel { lag: 3, every: Duration::from_secs(1) },
                Fault::DuplicateDelivery { replay: 2, every: Duration::from_secs(2) },
                Fault::Errors { rate: 0.1, codes: vec![500] },
                Fault::PausedGc,
                Fault::Crash { at: Duration::ZERO, down: Duration::ZERO },
            ],
        };
        let f = plan.server_faults();
        assert_eq!((f.read_lag, f.watch_replay, f.error_rate, f.error_codes.clone(), f.gc_paused), (3, 2, 0.1, vec![500], true));
        assert!(!f.lag_quorum_reads, "quorum reads stay fresh: only caches lag");
        assert_eq!(plan.replica_starts(), 1);
        assert_eq!(FaultPlan::none().server_faults(), Faults::none());
        assert_eq!(
            plan.to_string(),
            "time travel (any-semantic lists 3 revisions old, watches expire every 1s); duplicate delivery (watches resume 2 revisions early, every 2s); errors [500] (10% of requests); garbage collection paused; crash replica 0 at 0ns, down 0ns"
        );
    }
}
