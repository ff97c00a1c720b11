//! Refusal backoff: a resource the API server refused (a create answered 400, 403, 404 or 422:
//! its namespace does not exist, its kind is not served, Eno may not, the object is invalid) is
//! asked for again on a backoff, not in a loop. The documented schedule (2 s, doubling, at most
//! 30 s, ±10%) asks at most 6 times in any minute; each replica keeps its own schedule, and
//! one that (re)starts or reconnects may ask at once, so refusals are counted per replica and
//! resource, from the replica's last start. Judged from the requests the server answered, in
//! virtual time.

use super::{Found, Invariant};
use fake_apiserver::auth::Request;
use fake_apiserver::shared::AuditEvent;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// At most this many refused creates of one resource by one replica ...
pub(super) const MAX_REFUSED: usize = 6;
/// ... within any window this long.
pub(super) const WINDOW: Duration = Duration::from_secs(60);

/// The answers that refuse a create for good (not throttling, not a race).
fn refuses(code: u16) -> bool {
    matches!(code, 400 | 403 | 404 | 422)
}

#[derive(Default)]
pub(super) struct Refused {
    /// When each replica's refused creates of each resource (group, resource, namespace,
    /// name) were answered, within the last window.
    at: BTreeMap<(String, [String; 4]), VecDeque<Duration>>,
}

impl Refused {
    /// A request `replica` made was answered: flags the refused create past the rate.
    pub fn answered(&mut self, replica: &str, event: &AuditEvent, at: Duration) -> Found {
        let Request::Resource { api_group, resource, namespace, name, .. } = &event.request else { return Vec::new() };
        if event.verb != "create" || !refuses(event.code) {
            return Vec::new();
        }
        let key = (replica.to_string(), [api_group.clone(), resource.clone(), namespace.clone(), name.clone()]);
        let times = self.at.entry(key).or_default();
        while times.front().is_some_and(|t| at.saturating_sub(*t) >= WINDOW) {
            times.pop_front();
        }
        times.push_back(at);
        // Flagged once per burst: when the window first holds one too many.
        if times.len() != MAX_REFUSED + 1 {
            return Vec::new();
        }
        let seconds: Vec<String> = times.iter().map(|t| format!("{:.3}s", t.as_secs_f64())).collect();
        vec![(
            Invariant::RefusalBackoff,
            format!("{replica} created {resource} {namespace}/{name} {} times within {WINDOW:?}, each refused ({}), at {}", times.len(), event.code, seconds.join(", ")),
        )]
    }

    /// `replica` (re)started or reconnected: its schedule starts over.
    pub fn replica_available(&mut self, replica: &str) {
        self.at.retain(|(r, _), _| r != replica);
    }
}
