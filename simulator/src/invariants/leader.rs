//! Single leader: with leader election on, read from the raw committed Lease and the writer of
//! every commit (the replica whose node made it).
//!
//! - A term is a Lease commit's (`spec.holderIdentity`, `spec.leaseTransitions`). Terms never
//!   go back, and no term has two holders.
//! - Every other write a replica makes is committed while the Lease names that replica (its
//!   identities are `eno-N_<incarnation>`): a follower never writes, and a deposed leader has
//!   stopped before its successor's term begins.
//! - A leader stops writing before its lease could expire elsewhere: each of its writes is
//!   committed within the lease duration of its last committed renewal (a standby takes over
//!   only after watching one renewal unchanged for that long), whether or not anyone took over.
//! - Failover is bounded: once the holder's replica is killed or cut off from the API server,
//!   some replica commits the Lease within the bound, counted from when one could (a replica
//!   up and reachable). Judged only without injected request errors, which may legitimately
//!   fail any number of attempts in a row.

use super::{describe, Found, Invariant};
use fake_apiserver::shared::ObservedEvent;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The election the scenario runs.
#[derive(Debug, Clone)]
pub struct Election {
    pub namespace: String,
    pub name: String,
    /// How long a standby waits, from a renewal it saw, before taking the Lease over.
    pub lease_duration: Duration,
    /// Longest acceptable time from the holder's loss to the next Lease commit.
    pub failover_bound: Duration,
    /// Whether the failover bound is judged (not under injected request errors).
    pub judge_failover: bool,
}

#[derive(Default)]
pub(super) struct Terms {
    election: Option<Election>,
    /// (holder identity, transitions) of the last Lease commit.
    current: Option<(String, i64)>,
    /// When the last Lease commit naming its holder was made.
    renewed_at: Duration,
    /// The last identity that held the Lease, and how many times another took it over since.
    last_holder: String,
    takeovers: u64,
    /// Since when the current holder's replica has been down or cut off.
    holder_lost_at: Option<Duration>,
    /// Each replica (`eno-N`) that is up and reachable, and since when.
    available: BTreeMap<String, Duration>,
}

/// The replica (`eno-N`) of an identity `eno-N_<incarnation>`.
fn replica_of(identity: &str) -> &str {
    identity.split('_').next().unwrap_or_default()
}

impl Terms {
    pub fn new(election: Option<Election>) -> Self {
        Terms { election, ..Terms::default() }
    }

    fn is_lease(&self, event: &ObservedEvent) -> bool {
        let Some(e) = &self.election else { return false };
        event.key.resource.group == "coordination.k8s.io" && event.key.resource.plural == "leases" && event.key.namespace == e.namespace && event.key.name == e.name
    }

    /// A commit by `actor` (a replica `eno-N`, the user, or the API server).
    pub fn committed(&mut self, event: &ObservedEvent, actor: &str, at: Duration) -> Found {
        if self.election.is_none() {
            return Vec::new();
        }
        let mut found = self.failover_overdue(at);
        if self.is_lease(event) {
            found.extend(self.lease_changed(&event.object, at));
        } else if actor.starts_with("eno-") {
            let holder = self.current.as_ref().map(|(h, t)| (replica_of(h), *t));
            if holder.is_none_or(|(replica, _)| replica != actor) {
                let led_by = match &self.current {
                    Some((h, t)) if !h.is_empty() => format!("{h} held the Lease (term {t})"),
                    _ => "nobody held the Lease".to_string(),
                };
                found.push((Invariant::SingleLeader, format!("{actor} wrote {} while {led_by}", describe(&event.key))));
            } else if let Some(e) = self.election.as_ref().filter(|e| at > self.renewed_at + e.lease_duration) {
                let since = at - self.renewed_at;
                found.push((
                    Invariant::SingleLeader,
                    format!("{actor} wrote {} {:.3}s after its last renewal (lease duration {:?}): its lease could have been taken over", describe(&event.key), since.as_secs_f64(), e.lease_duration),
                ));
            }
        }
        found
    }

    fn lease_changed(&mut self, lease: &Value, at: Duration) -> Found {
        let holder = lease["spec"]["holderIdentity"].as_str().unwrap_or_default().to_string();
        let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
        let mut found = Vec::new();
        if let Some((before, before_term)) = &self.current {
            if transitions < *before_term {
                found.push((Invariant::SingleLeader, format!("the Lease went back from term {before_term} to term {transitions}")));
            } else if transitions == *before_term && !before.is_empty() && !holder.is_empty() && *before != holder {
                found.push((Invariant::SingleLeader, format!("two leaders in term {transitions}: {before} and {holder}")));
            }
        }
        if !holder.is_empty() {
            self.holder_lost_at = None;
            self.renewed_at = at;
            if !self.last_holder.is_empty() && self.last_holder != holder {
                self.takeovers += 1;
            }
            self.last_holder = holder.clone();
        }
        self.current = Some((holder, transitions));
        found
    }

    /// How many times the Lease went to another identity: each deposed leader may leave a
    /// synthesis it claimed to be taken over once the claim expires, as a crash does.
    pub fn takeovers(&self) -> u64 {
        self.takeovers
    }

    /// Replica `name` went down or became unreachable (`available`: came back).
    pub fn replica_available(&mut self, name: &str, available: bool, at: Duration) -> Found {
        if self.election.is_none() {
            return Vec::new();
        }
        let found = self.failover_overdue(at);
        if available {
            self.available.insert(name.to_string(), at);
        } else {
            self.available.remove(name);
            let holds = self.current.as_ref().is_some_and(|(h, _)| replica_of(h) == name);
            if holds && self.holder_lost_at.is_none() {
                self.holder_lost_at = Some(at);
            }
        }
        found
    }

    /// Checked at every commit and at the end: a lost leader replaced within the bound.
    pub fn failover_overdue(&mut self, at: Duration) -> Found {
        let Some(e) = self.election.as_ref().filter(|e| e.judge_failover) else { return Vec::new() };
        let Some(lost) = self.holder_lost_at else { return Vec::new() };
        // From when a replica that could take over was there (up and reachable).
        let Some(candidate_since) = self.available.values().min().copied() else { return Vec::new() };
        let from = lost.max(candidate_since);
        if at.saturating_sub(from) <= e.failover_bound {
            return Vec::new();
        }
        let holder = self.current.as_ref().map(|(h, _)| h.clone()).unwrap_or_default();
        // Reported once.
        self.holder_lost_at = None;
        vec![(Invariant::SingleLeader, format!("no leader for {:.3}s after {holder} was lost (bound {:?})", at.saturating_sub(from).as_secs_f64(), e.failover_bound))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_apiserver::resource::StorageKey;
    use fake_apiserver::store::{EventType, ObjectKey};
    use serde_json::json;
    use std::sync::Arc;

    fn event(group: &str, plural: &str, name: &str, object: Value) -> ObservedEvent {
        let key = ObjectKey { resource: StorageKey { group: group.into(), plural: plural.into() }, namespace: "default".into(), name: name.into() };
        ObservedEvent { revision: 1, event_type: EventType::Modified, key, object: Arc::new(object), previous: None }
    }

    fn lease(holder: &str, term: i64) -> ObservedEvent {
        event("coordination.k8s.io", "leases", "eno-controller", json!({"spec": {"holderIdentity": holder, "leaseTransitions": term}}))
    }

    fn config_map() -> ObservedEvent {
        event("", "configmaps", "x", json!({}))
    }

    fn terms(judge_failover: bool) -> Terms {
        Terms::new(Some(Election { namespace: "default".into(), name: "eno-controller".into(), lease_duration: Duration::from_secs(6), failover_bound: Duration::from_secs(10), judge_failover }))
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn only_the_holders_replica_writes() {
        let mut t = terms(false);
        assert!(t.committed(&config_map(), "eno-0", s(0)).len() == 1, "nobody leads yet");
        assert!(t.committed(&lease("eno-0_0", 0), "eno-0", s(1)).is_empty());
        assert!(t.committed(&config_map(), "eno-0", s(2)).is_empty());
        assert!(t.committed(&config_map(), "user", s(2)).is_empty(), "the user is not judged");
        let found = t.committed(&config_map(), "eno-1", s(3));
        assert!(found[0].1.contains("eno-1 wrote configmaps default/x while eno-0_0 held the Lease (term 0)"), "{found:?}");
    }

    #[test]
    fn a_leader_stops_writing_before_its_lease_could_expire() {
        let mut t = terms(false);
        t.committed(&lease("eno-0_0", 0), "eno-0", s(0));
        assert!(t.committed(&config_map(), "eno-0", s(6)).is_empty(), "within the lease duration of the renewal");
        let found = t.committed(&config_map(), "eno-0", s(7));
        assert!(found[0].1.contains("eno-0 wrote configmaps default/x 7.000s after its last renewal"), "{found:?}");
        // Renewed: writing again is fine.
        t.committed(&lease("eno-0_0", 0), "eno-0", s(8));
        assert!(t.committed(&config_map(), "eno-0", s(13)).is_empty());
    }

    #[test]
    fn a_term_has_one_holder_and_terms_never_go_back() {
        let mut t = terms(false);
        t.committed(&lease("eno-0_0", 3), "eno-0", s(0));
        assert!(t.committed(&lease("eno-1_1", 3), "eno-1", s(1))[0].1.contains("two leaders in term 3"));
        assert!(t.committed(&lease("eno-1_1", 2), "eno-1", s(2))[0].1.contains("went back"));
        assert!(t.committed(&lease("eno-1_1", 4), "eno-1", s(3)).is_empty());
    }

    #[test]
    fn a_lost_leader_is_replaced_within_the_bound_counted_from_when_someone_could() {
        let mut t = terms(true);
        t.replica_available("eno-0", true, s(0));
        t.committed(&lease("eno-0_0", 0), "eno-0", s(0));
        t.replica_available("eno-0", false, s(5));
        // Nobody else is up: nothing judged yet; eno-1 comes up at 20 s.
        assert!(t.failover_overdue(s(30)).is_empty());
        t.replica_available("eno-1", true, s(20));
        assert!(t.failover_overdue(s(29)).is_empty());
        assert!(t.failover_overdue(s(31))[0].1.contains("no leader for 11.000s after eno-0_0 was lost"));
        // A takeover within the bound is fine.
        let mut t = terms(true);
        t.replica_available("eno-1", true, s(0));
        t.committed(&lease("eno-0_0", 0), "eno-0", s(0));
        t.replica_available("eno-0", false, s(5));
        assert!(t.committed(&lease("eno-1_1", 1), "eno-1", s(14)).is_empty());
        assert!(t.failover_overdue(s(100)).is_empty());
    }
}
