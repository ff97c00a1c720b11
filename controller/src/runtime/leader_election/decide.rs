//! The election's decisions, free of I/O: what to write to the Lease given what was read.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use std::time::Duration;

/// client-go's `JitterFactor`: followers wait between one and 2.2 retry periods between looks.
pub const JITTER_FACTOR: f64 = 1.2;

/// One election: which Lease, who this replica is, and the timings (client-go's
/// `LeaderElectionConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    pub namespace: String,
    /// The Lease's name (Eno's `--leader-election-id`).
    pub name: String,
    /// This replica, unique among the candidates (and across its restarts).
    pub identity: String,
    /// How long a follower waits, from when it saw the Lease last change, before taking it.
    pub lease_duration: Duration,
    /// How long after the start of its last successful renewal a leader keeps writing.
    pub renew_deadline: Duration,
    /// How often the Lease is renewed, and looked at by followers.
    pub retry_period: Duration,
}

/// An election whose timings cannot be safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("leader election: the lease duration ({lease:?}) must be longer than the renew deadline ({renew:?}), or a leader could still be writing when another takes over")]
    LeaseNotLongerThanRenewDeadline { lease: Duration, renew: Duration },
    #[error("leader election: the renew deadline ({renew:?}) must be longer than {JITTER_FACTOR} × the retry period ({retry:?}), or a leader would lose its lease between two renewals")]
    RenewDeadlineTooShort { renew: Duration, retry: Duration },
    #[error("leader election: the {0} must be positive")]
    NotPositive(&'static str),
    #[error("leader election: the lease duration is counted in whole seconds (leaseDurationSeconds); {0:?} is not")]
    FractionalLeaseDuration(Duration),
    #[error("leader election: {0} must not be empty")]
    Empty(&'static str),
}

impl ElectionConfig {
    /// client-go's `NewLeaderElector` checks, plus whole seconds for the lease duration (the
    /// Lease stores seconds, and followers go by the stored value).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (value, what) in [(&self.namespace, "the namespace"), (&self.name, "the Lease name"), (&self.identity, "the identity")] {
            if value.is_empty() {
                return Err(ConfigError::Empty(what));
            }
        }
        for (value, what) in [(self.lease_duration, "lease duration"), (self.renew_deadline, "renew deadline"), (self.retry_period, "retry period")] {
            if value.is_zero() {
                return Err(ConfigError::NotPositive(what));
            }
        }
        if self.lease_duration.subsec_nanos() != 0 {
            return Err(ConfigError::FractionalLeaseDuration(self.lease_duration));
        }
        if self.lease_duration <= self.renew_deadline {
            return Err(ConfigError::LeaseNotLongerThanRenewDeadline { lease: self.lease_duration, renew: self.renew_deadline });
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            return Err(ConfigError::RenewDeadlineTooShort { renew: self.renew_deadline, retry: self.retry_period });
        }
        Ok(())
    }
}

/// What to do after reading the Lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Nobody has written the Lease: create it, naming this replica.
    Create(Lease),
    /// Take or renew it: this write, guarded by the resourceVersion read.
    Update(Lease),
    /// Another replica holds it and its lease has not run out as this replica has watched it:
    /// it does, unless renewed, `expires_in` from now.
    Held { holder: String, expires_in: Duration },
}

/// The Lease's holder ("" when released or never held).
pub fn holder(lease: &Lease) -> &str {
    lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).unwrap_or_default()
}

/// The lease duration the holder declared (client-go judges expiry by the record's, not its own).
fn declared_duration(lease: &Lease) -> Duration {
    let seconds = lease.spec.as_ref().and_then(|s| s.lease_duration_seconds).unwrap_or(0);
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// client-go's `tryAcquireOrRenew`: `read` is the Lease as read now (uncached), `unchanged_for`
/// how long this replica has watched it unchanged (its resourceVersion) on its monotonic clock.
pub fn attempt(config: &ElectionConfig, read: Option<&Lease>, unchanged_for: Duration, now: MicroTime) -> Attempt {
    let Some(lease) = read else {
        let metadata = ObjectMeta { name: Some(config.name.clone()), namespace: Some(config.namespace.clone()), ..Default::default() };
        return Attempt::Create(Lease { metadata, spec: Some(new_term(config, LeaseSpec::default(), 0, now)) });
    };
    let held_by = holder(lease);
    let ours = held_by == config.identity;
    if !held_by.is_empty() && !ours && unchanged_for < declared_duration(lease) {
        return Attempt::Held { holder: held_by.to_string(), expires_in: declared_duration(lease) - unchanged_for };
    }
    let old = lease.spec.clone().unwrap_or_default();
    let spec = match ours {
        true => {
            // A renewal must be seen as one: the server keeps no-op writes at their version, and
            // standbys time the lease from the last change they saw.
            let renewed = after(old.renew_time.as_ref(), now);
            LeaseSpec { renew_time: Some(renewed), lease_duration_seconds: Some(seconds(config.lease_duration)), ..old }
        }
        false => {
            let transitions = old.lease_transitions.unwrap_or(0) + 1;
            new_term(config, old, transitions, now)
        }
    };
    Attempt::Update(Lease { metadata: lease.metadata.clone(), spec: Some(spec) })
}

/// `now`, or just after `previous` if the clock has not passed it (a clock stepped back, or
/// two renewals within its resolution).
fn after(previous: Option<&MicroTime>, now: MicroTime) -> MicroTime {
    match previous {
        Some(p) if p.0 >= now.0 => MicroTime(p.0.checked_add(k8s_openapi::jiff::SignedDuration::from_micros(1)).unwrap_or(p.0)),
        _ => now,
    }
}

/// The record of a term this replica starts now, the `transitions`-th.
fn new_term(config: &ElectionConfig, old: LeaseSpec, transitions: i32, now: MicroTime) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(seconds(config.lease_duration)),
        acquire_time: Some(now.clone()),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..old
    }
}

/// The Lease after this replica lets go of it (client-go's `release`): no holder, a one-second
/// duration so others take over at once, the transitions kept. `None` unless it holds it.
pub fn release(config: &ElectionConfig, read: &Lease, now: MicroTime) -> Option<Lease> {
    if holder(read) != config.identity {
        return None;
    }
    let old = read.spec.clone().unwrap_or_default();
    let spec = LeaseSpec { holder_identity: Some(String::new()), lease_duration_seconds: Some(1), acquire_time: Some(now.clone()), renew_time: Some(now), ..old };
    Some(Lease { metadata: read.metadata.clone(), spec: Some(spec) })
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests;
