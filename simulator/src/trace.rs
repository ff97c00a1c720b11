//! The trace of a run: one readable line per committed API write (what a reviewer reads in a
//! snapshot or a failure report) plus a digest of the full objects (what determinism compares),
//! and the same run as structured data (who wrote what, when replicas were down) for the
//! timeline picture (`crate::timeline`).

use fake_apiserver::shared::ObservedEvent;
use fake_apiserver::store::{EventType, ObjectKey};
use serde_json::Value;
use std::time::Duration;
use apimachinery::hash::Fnv1a;
use std::fmt::Write as _;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub lines: Vec<String>,
    /// FNV-1a over every event's full serialisation, in order.
    pub digest: u64,
    /// Every committed write, in commit order.
    pub writes: Vec<Write>,
    /// Spells when an actor (a controller replica) was not running, in the order they began.
    pub downtimes: Vec<Downtime>,
}

/// One committed write, as the timeline draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub at: Duration,
    pub revision: u64,
    pub event_type: EventType,
    /// `kind namespace/name`, as in the trace lines.
    pub object: String,
    /// Who made the write: the scenario's user, a replica (`eno-0`), or the API server itself.
    pub actor: String,
    /// The server's watch lag when the write committed (non-zero during a delayed-events spell).
    pub watch_lag: u64,
    /// What the write changed against the object's previous version (empty for a delete).
    pub diff: Vec<Change>,
}

/// One field a write added, changed or removed, with compact JSON values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added { path: String, value: String },
    Changed { path: String, from: String, to: String },
    Removed { path: String, value: String },
}

/// An actor not running from `from` until `to` (`None`: still down when the trace ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downtime {
    pub actor: String,
    pub from: Duration,
    pub to: Option<Duration>,
}

/// Fields every write touches or that differ run to run without meaning anything.
const NOISE: &[&str] = &["/metadata/resourceVersion", "/metadata/managedFields", "/metadata/creationTimestamp", "/metadata/uid"];

impl Trace {
    pub fn new() -> Self {
        Trace { lines: Vec::new(), digest: Fnv1a::OFFSET_BASIS, writes: Vec::new(), downtimes: Vec::new() }
    }

    /// Records a committed `event`, made by `actor` while watches lagged `watch_lag` revisions.
    pub fn record(&mut self, event: &ObservedEvent, at: Duration, actor: &str, watch_lag: u64) {
        self.lines.push(line(event, at));
        self.writes.push(Write {
            at,
            revision: event.revision,
            event_type: event.event_type,
            object: object_name(&event.key),
            actor: actor.to_string(),
            watch_lag,
            diff: diff(event),
        });
        // Formatted straight into the hash: the same bytes as `format!` would make, without
        // building the whole object's text first.
        let mut h = Digest(Fnv1a::with_basis(self.digest));
        write!(h, "{} {:?} {:?} {}", event.revision, event.event_type, event.key, event.object).expect("hashing cannot fail");
        self.digest = h.0.finish();
    }

    /// A note that is not a write (a crash, a fault window closing), so a report reads in order.
    pub fn note(&mut self, at: Duration, text: &str) {
        self.lines.push(format!("{:>8.3}s -- {text}", at.as_secs_f64()));
    }

    /// `actor` stopped running (a replica killed) at `at`.
    pub fn down(&mut self, actor: &str, at: Duration) {
        self.downtimes.push(Downtime { actor: actor.to_string(), from: at, to: None });
    }

    /// `actor` runs again from `at`: closes its open downtime.
    pub fn up(&mut self, actor: &str, at: Duration) {
        if let Some(open) = self.downtimes.iter_mut().rev().find(|d| d.actor == actor && d.to.is_none()) {
            open.to = Some(at);
        }
    }

    /// The lines without virtual times: what a fault-free snapshot keeps, so a change in timing
    /// alone (a different backoff) shows as a reordering, not as every line changing.
    pub fn writes(&self) -> String {
        self.lines.iter().map(|l| l.split_once("s ").map_or(l.as_str(), |(_, rest)| rest)).collect::<Vec<_>>().join("\n")
    }

    /// The last `n` lines, for failure reports.
    pub fn tail(&self, n: usize) -> &[String] {
        &self.lines[self.lines.len().saturating_sub(n)..]
    }
}

/// A `fmt::Write` that feeds what is written to FNV-1a.
struct Digest(Fnv1a);

impl std::fmt::Write for Digest {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.bytes());
        Ok(())
    }
}

/// `kind namespace/name` (`kind name` when cluster-scoped), the kind with its API group.
fn object_name(k: &ObjectKey) -> String {
    let kind = if k.resource.group.is_empty() { k.resource.plural.clone() } else { format!("{}.{}", k.resource.plural, k.resource.group) };
    let name = if k.namespace.is_empty() { k.name.clone() } else { format!("{}/{}", k.namespace, k.name) };
    format!("{kind} {name}")
}

fn line(event: &ObservedEvent, at: Duration) -> String {
    let what = match (event.event_type, &event.previous) {
        (EventType::Modified, Some(previous)) => {
            let mut paths = Vec::new();
            walk(previous, &event.object, &mut String::new(), 0, Walk::LINE, &mut |path, _, _| paths.push(path.to_string()));
            format!(" {}", paths.join(" "))
        }
        _ => String::new(),
    };
    format!("{:>8.3}s {} {}{what}", at.as_secs_f64(), event.event_type.as_str(), object_name(&event.key))
}

/// Longest JSON value kept in a [`Change`]: enough to recognise a value, short enough to hover.
const MAX_VALUE: usize = 80;

/// The leaf fields `event` added, changed or removed against the previous version (a create
/// adds all of its fields), without [`NOISE`].
fn diff(event: &ObservedEvent) -> Vec<Change> {
    let mut out = Vec::new();
    if event.event_type != EventType::Deleted {
        let previous = event.previous.as_deref().unwrap_or(&Value::Null);
        walk(previous, &event.object, &mut String::new(), 0, Walk::FIELDS, &mut |path, a, b| {
            let path = path.to_string();
            out.push(match (a.is_null(), b.is_null()) {
                (true, _) => Change::Added { path, value: compact(b) },
                (_, true) => Change::Removed { path, value: compact(a) },
                _ => Change::Changed { path, from: compact(a), to: compact(b) },
            })
        });
    }
    out
}

/// How far [`walk`] looks into two values.
#[derive(Clone, Copy)]
struct Walk {
    max_depth: usize,
    /// Look into an object that is missing on one side (its fields are the differences), rather
    /// than calling it one difference.
    into_missing: bool,
}

impl Walk {
    /// The trace line's paths: short, an object that appeared is one path.
    const LINE: Walk = Walk { max_depth: 3, into_missing: false };
    /// The timeline's diff: every leaf field.
    const FIELDS: Walk = Walk { max_depth: usize::MAX, into_missing: true };
}

/// Calls `leaf` with each path (sorted, outside [`NOISE`]) where `a` and `b` differ. `path` is
/// where `a` and `b` are, one buffer for the whole walk (each event walks every field).
fn walk(a: &Value, b: &Value, path: &mut String, depth: usize, how: Walk, leaf: &mut dyn FnMut(&str, &Value, &Value)) {
    // Noise first: managedFields are large, and comparing them would be wasted.
    if NOISE.contains(&path.as_str()) || a == b {
        return;
    }
    let opens = |v: &Value| v.is_object() || (how.into_missing && v.is_null());
    if depth < how.max_depth && opens(a) && opens(b) {
        let mut keys: Vec<&String> = [a, b].into_iter().filter_map(Value::as_object).flat_map(|m| m.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let at = path.len();
            path.push('/');
            path.push_str(k);
            walk(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), path, depth + 1, how, leaf);
            path.truncate(at);
        }
    } else {
        leaf(path, a, b);
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(MAX_VALUE) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_apiserver::resource::StorageKey;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn lines_name_the_write_and_what_it_changed() {
        let key = ObjectKey { resource: StorageKey { group: "".into(), plural: "configmaps".into() }, namespace: "default".into(), name: "a".into() };
        let before = json!({"metadata": {"resourceVersion": "4", "labels": {"x": "1"}}, "data": {"v": "1", "w": "1"}});
        let after = json!({"metadata": {"resourceVersion": "5", "labels": {"x": "1"}}, "data": {"v": "2", "w": "1"}});
        let mut t = Trace::new();
        t.record(&ObservedEvent { revision: 5, event_type: EventType::Modified, key: key.clone(), object: Arc::new(after.clone()), previous: Some(Arc::new(before)) }, Duration::from_millis(1500), "eno-0", 0);
        t.note(Duration::from_secs(2), "crash replica 0");
        t.record(&ObservedEvent { revision: 6, event_type: EventType::Deleted, key, object: Arc::new(after), previous: None }, Duration::from_secs(3), "user", 2);
        assert_eq!(t.lines, vec!["   1.500s MODIFIED configmaps default/a /data/v", "   2.000s -- crash replica 0", "   3.000s DELETED configmaps default/a"]);
        assert_eq!(t.writes(), "MODIFIED configmaps default/a /data/v\n-- crash replica 0\nDELETED configmaps default/a");
        assert_ne!(t.digest, Trace::new().digest);
        let who: Vec<(&str, &str, u64)> = t.writes.iter().map(|w| (w.object.as_str(), w.actor.as_str(), w.watch_lag)).collect();
        assert_eq!(who, vec![("configmaps default/a", "eno-0", 0), ("configmaps default/a", "user", 2)]);
    }

    #[test]
    fn a_write_diff_names_added_changed_and_removed_fields_with_their_values() {
        let key = ObjectKey { resource: StorageKey { group: "".into(), plural: "configmaps".into() }, namespace: "default".into(), name: "a".into() };
        let before = json!({"metadata": {"resourceVersion": "4", "finalizers": ["eno"]}, "data": {"v": "1", "gone": "x"}});
        let after = json!({"metadata": {"resourceVersion": "5"}, "data": {"v": "2", "new": {"deep": "y".repeat(100)}}});
        let mut t = Trace::new();
        t.record(&ObservedEvent { revision: 5, event_type: EventType::Modified, key: key.clone(), object: Arc::new(after.clone()), previous: Some(Arc::new(before)) }, Duration::ZERO, "user", 0);
        t.record(&ObservedEvent { revision: 1, event_type: EventType::Added, key, object: Arc::new(json!({"metadata": {"uid": "u"}, "data": {"k": 1}})), previous: None }, Duration::ZERO, "user", 0);
        let long = format!("\"{}…", "y".repeat(MAX_VALUE - 1));
        assert_eq!(t.writes[0].diff, vec![
            Change::Removed { path: "/data/gone".into(), value: "\"x\"".into() },
            Change::Added { path: "/data/new/deep".into(), value: long },
            Change::Changed { path: "/data/v".into(), from: "\"1\"".into(), to: "\"2\"".into() },
            Change::Removed { path: "/metadata/finalizers".into(), value: "[\"eno\"]".into() },
        ]);
        assert_eq!(t.writes[1].diff, vec![Change::Added { path: "/data/k".into(), value: "1".into() }], "a create adds its fields, without noise");
    }

    #[test]
    fn the_digest_hashes_each_events_full_text() {
        // Digests from before and after a change must stay comparable: the hash covers exactly
        // the text `format!` makes of the event, the whole object included.
        let key = ObjectKey { resource: StorageKey { group: "".into(), plural: "configmaps".into() }, namespace: "default".into(), name: "a".into() };
        let event = ObservedEvent { revision: 7, event_type: EventType::Added, key, object: Arc::new(json!({"metadata": {"name": "a"}, "data": {"v": "ü"}})), previous: None };
        let mut t = Trace::new();
        t.record(&event, Duration::ZERO, "eno-0", 0);
        let text = format!("{} {:?} {:?} {}", event.revision, event.event_type, event.key, event.object);
        assert_eq!(t.digest, apimachinery::hash::fnv1a64(text.bytes()));
    }
}
