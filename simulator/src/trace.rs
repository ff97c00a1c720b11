//! The trace of a run: one readable line per committed API write (what a reviewer reads in a
//! snapshot or a failure report) plus a digest of the full objects (what determinism compares).

use fake_apiserver::store::{Event, EventType};
use serde_json::Value;
use std::time::Duration;
use apimachinery::hash::Fnv1a;
use std::fmt::Write;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub lines: Vec<String>,
    /// FNV-1a over every event's full serialisation, in order.
    pub digest: u64,
}

/// Fields every write touches or that differ run to run without meaning anything.
const NOISE: &[&str] = &["/metadata/resourceVersion", "/metadata/managedFields", "/metadata/creationTimestamp", "/metadata/uid"];

impl Trace {
    pub fn new() -> Self {
        Trace { lines: Vec::new(), digest: Fnv1a::OFFSET_BASIS }
    }

    pub fn record(&mut self, event: &Event, at: Duration) {
        self.lines.push(line(event, at));
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

impl Write for Digest {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.bytes());
        Ok(())
    }
}

fn line(event: &Event, at: Duration) -> String {
    let k = &event.key;
    let kind = if k.resource.group.is_empty() { k.resource.plural.clone() } else { format!("{}.{}", k.resource.plural, k.resource.group) };
    let name = if k.namespace.is_empty() { k.name.clone() } else { format!("{}/{}", k.namespace, k.name) };
    let what = match (event.event_type, &event.previous) {
        (EventType::Modified, Some(previous)) => {
            let mut paths = Vec::new();
            changed(previous, &event.object, "", 0, &mut paths);
            format!(" {}", paths.join(" "))
        }
        _ => String::new(),
    };
    format!("{:>8.3}s {} {kind} {name}{what}", at.as_secs_f64(), event.event_type.as_str())
}

/// Paths (to depth 3) where `a` and `b` differ.
fn changed(a: &Value, b: &Value, prefix: &str, depth: usize, out: &mut Vec<String>) {
    if a == b || NOISE.contains(&prefix) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if depth < 3 => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                changed(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &format!("{prefix}/{k}"), depth + 1, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_apiserver::resource::StorageKey;
    use fake_apiserver::store::ObjectKey;
    use serde_json::json;

    #[test]
    fn lines_name_the_write_and_what_it_changed() {
        let key = ObjectKey { resource: StorageKey { group: "".into(), plural: "configmaps".into() }, namespace: "default".into(), name: "a".into() };
        let before = json!({"metadata": {"resourceVersion": "4", "labels": {"x": "1"}}, "data": {"v": "1", "w": "1"}});
        let after = json!({"metadata": {"resourceVersion": "5", "labels": {"x": "1"}}, "data": {"v": "2", "w": "1"}});
        let mut t = Trace::new();
        t.record(&Event { revision: 5, event_type: EventType::Modified, key: key.clone(), object: after.clone(), previous: Some(before) }, Duration::from_millis(1500));
        t.note(Duration::from_secs(2), "crash replica 0");
        t.record(&Event { revision: 6, event_type: EventType::Deleted, key, object: after, previous: None }, Duration::from_secs(3));
        assert_eq!(t.lines, vec!["   1.500s MODIFIED configmaps default/a /data/v", "   2.000s -- crash replica 0", "   3.000s DELETED configmaps default/a"]);
        assert_eq!(t.writes(), "MODIFIED configmaps default/a /data/v\n-- crash replica 0\nDELETED configmaps default/a");
        assert_ne!(t.digest, Trace::new().digest);
    }

    #[test]
    fn the_digest_hashes_each_events_full_text() {
        // Digests from before and after a change must stay comparable: the hash covers exactly
        // the text `format!` makes of the event, the whole object included.
        let key = ObjectKey { resource: StorageKey { group: "".into(), plural: "configmaps".into() }, namespace: "default".into(), name: "a".into() };
        let event = Event { revision: 7, event_type: EventType::Added, key, object: json!({"metadata": {"name": "a"}, "data": {"v": "ü"}}), previous: None };
        let mut t = Trace::new();
        t.record(&event, Duration::ZERO);
        let text = format!("{} {:?} {:?} {}", event.revision, event.event_type, event.key, event.object);
        assert_eq!(t.digest, apimachinery::hash::fnv1a64(text.bytes()));
    }
}
