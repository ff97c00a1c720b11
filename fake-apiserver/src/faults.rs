//! Fault hooks the simulator drives. All are off by default, and every random decision comes
//! from the server's seeded RNG, so a fault plan replays exactly.

/// What the server does wrong, and how often. Probabilities are per request or per event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Reads that may be served from a cache (`resourceVersion=0`, watches starting at "now")
    /// see the store as it was this many revisions ago.
    pub read_lag: u64,
    /// Apply `read_lag` to quorum reads too (a lagging apiserver replica: "time travel").
    pub lag_quorum_reads: bool,
    /// Watches deliver events only once they are this many revisions old.
    pub watch_lag: u64,
    /// A watch resumed at revision N starts this many revisions earlier (not below the
    /// compaction floor), re-delivering events the client already has: duplicate delivery, as
    /// after an apiserver failover whose watch cache starts a little behind.
    pub watch_replay: u64,
    /// Chance each watch event is silently lost (the watch moves past it).
    pub watch_drop_rate: f64,
    /// Chance a request fails with one of `error_codes` before doing anything.
    pub error_rate: f64,
    /// Codes to inject: 409, 429, 500, 503, 504.
    pub error_codes: Vec<u16>,
    /// Chance a write is committed but the caller sees a 504 timeout.
    pub timeout_after_commit_rate: f64,
    /// Garbage collection passes do nothing while set.
    pub gc_paused: bool,
}

impl Faults {
    pub fn none() -> Self {
        Faults::default()
    }
}
