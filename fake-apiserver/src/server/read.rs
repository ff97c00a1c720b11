//! get, list (selectors, pagination, resourceVersion semantics) and watch.

use super::list::List;
use super::{ApiServer, ListOptions, ResourceVersionMatch, Target};
use crate::error::{ApiError, ApiResult};
use crate::frozen::Frozen;
use crate::object;
use apimachinery::selector::{FieldSelector, LabelDigest, LabelSelector};
use crate::store::EventType;
use serde_json::{json, Value};
use std::collections::VecDeque;

/// Which revision a read is served at, from its `resourceVersion` parameter.
enum ReadAt {
    /// Unset: the latest state (quorum read).
    Latest,
    /// `"0"`: any state, so a cache may answer (and may be stale).
    Any,
    /// N with NotOlderThan: at least N.
    NotOlderThan(u64),
    /// N with Exact (or a continue token): exactly N.
    Exact(u64),
}

fn parse_rv(rv: &str) -> ApiResult<u64> {
    rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("Invalid value: \"{rv}\": resourceVersion must be an unsigned integer")))
}

/// Filters a request's selectors apply to objects.
struct Filter {
    namespace: Option<String>,
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
}

impl Filter {
    fn new(target: &Target, opts: &ListOptions) -> ApiResult<Self> {
        let labels = match opts.label_selector.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?),
            None => None,
        };
        let fields = match opts.field_selector.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => {
                let f = FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
                let allowed = target.resource.field_selectors();
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                f.validate(&allowed).map_err(|e| ApiError::bad_request(e.to_string()))?;
                Some(f)
            }
            None => None,
        };
        let namespace = if target.resource.namespaced { target.namespace.clone().filter(|n| !n.is_empty()) } else { None };
        Ok(Filter { namespace, labels, fields })
    }

    /// False only if no object with these labels can match.
    fn may_match(&self, labels: LabelDigest) -> bool {
        self.labels.as_ref().is_none_or(|l| l.may_match(labels))
    }

    fn matches(&self, obj: &Frozen) -> bool {
        if self.namespace.as_deref().is_some_and(|ns| object::namespace(obj) != ns) {
            return false;
        }
        if self.labels.as_ref().is_some_and(|l| !l.matches_object(obj)) {
            return false;
        }
        self.fields.as_ref().is_none_or(|f| f.matches(|field| apimachinery::selector::field_value(obj, field)))
    }
}

/// One watch stream's event, as it goes on the wire (`{"type":..,"object":..}`).
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub event_type: &'static str,
    pub object: Value,
}

impl WatchEvent {
    pub fn to_json(&self) -> Value {
        json!({"type": self.event_type, "object": self.object})
    }
}

/// An open watch: a cursor into the event log plus its filters.
#[derive(Debug)]
pub struct Watch {
    target: Target,
    filter_opts: ListOptions,
    /// Last revision delivered (or skipped): the next events are after it.
    revision: u64,
    pending: VecDeque<WatchEvent>,
    bookmarks: bool,
    epoch: u64,
    finished: bool,
}

impl Watch {
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn bookmarks(&self) -> bool {
        self.bookmarks
    }

    pub fn timeout_seconds(&self) -> Option<u64> {
        self.filter_opts.timeout_seconds
    }

    /// A BOOKMARK at the watch's current revision (kube-rs needs apiVersion, kind and the RV).
    pub fn bookmark(&self) -> WatchEvent {
        WatchEvent {
            event_type: "BOOKMARK",
            object: json!({
                "kind": self.target.resource.kind,
                "apiVersion": self.target.resource.api_version(),
                "metadata": {"resourceVersion": self.revision.to_string()}
            }),
        }
    }
}

/// What a poll of a watch produced.
#[derive(Debug, Default, PartialEq)]
pub struct WatchPoll {
    pub events: Vec<WatchEvent>,
    /// The stream ends after these events (closed by a fault, or after an ERROR).
    pub closed: bool,
}

impl ApiServer {
    fn read_at(&self, opts: &ListOptions, is_list: bool) -> ApiResult<ReadAt> {
        let rv = opts.resource_version.as_deref().filter(|s| !s.is_empty());
        Ok(match (rv, opts.resource_version_match) {
            (None, None) => ReadAt::Latest,
            (None, Some(_)) => {
                return Err(list_options_invalid("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"))
            }
            (Some("0"), Some(ResourceVersionMatch::Exact)) => {
                return Err(list_options_invalid("resourceVersionMatch", "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
            }
            (Some("0"), _) => ReadAt::Any,
            (Some(rv), Some(ResourceVersionMatch::Exact)) => ReadAt::Exact(parse_rv(rv)?),
            // A paginated list at N is served exactly at N.
            (Some(rv), None) if is_list && opts.limit.is_some() => ReadAt::Exact(parse_rv(rv)?),
            (Some(rv), _) => ReadAt::NotOlderThan(parse_rv(rv)?),
        })
    }

    /// The revision a read is served at, after faults that make caches lag.
    fn serve_revision(&self, at: &ReadAt) -> ApiResult<u64> {
        let current = self.store.revision();
        let lagged = current.saturating_sub(self.faults.read_lag).max(self.store.floor());
        Ok(match at {
            ReadAt::Latest if self.faults.lag_quorum_reads => lagged,
            ReadAt::Latest => current,
            ReadAt::Any => lagged,
            ReadAt::NotOlderThan(n) if *n > current => {
                return Err(ApiError::new(504, "Timeout", format!("Too large resource version: {n}, current: {current}")))
            }
            ReadAt::NotOlderThan(n) => (*n).max(if self.faults.lag_quorum_reads { lagged } else { current }),
            ReadAt::Exact(n) if *n > current => {
                return Err(ApiError::new(504, "Timeout", format!("Too large resource version: {n}, current: {current}")))
            }
            ReadAt::Exact(n) => *n,
        })
    }

    pub fn get(&mut self, target: &Target, resource_version: Option<&str>) -> ApiResult<Value> {
        self.get_with(target, &ListOptions { resource_version: resource_version.map(str::to_string), ..Default::default() })
    }

    /// [`ApiServer::get`] with the read options that apply to one object: `resource_version`
    /// and `without_managed_fields`.
    pub fn get_with(&mut self, target: &Target, opts: &ListOptions) -> ApiResult<Value> {
        self.injected_error()?;
        let name = Self::require_name(target)?;
        let at = self.serve_revision(&self.read_at(opts, false)?)?;
        let key = Self::object_key(target, name);
        let found = self.store.get_at(&key, at).map_err(|_| too_old(at, self.store.floor()))?;
        found.map(|o| Self::present(target, thaw(&o, opts))).ok_or_else(|| Self::not_found(target, name))
    }

    /// A `<Kind>List` of the matching objects, with `metadata.resourceVersion` and, when
    /// `limit` cut it short, `metadata.continue` and `remainingItemCount`.
    pub fn list(&mut self, target: &Target, opts: &ListOptions) -> ApiResult<List> {
        self.injected_error()?;
        let mut filter = Filter::new(target, opts)?;
        let (revision, after) = match opts.continue_token.as_deref().filter(|c| !c.is_empty()) {
            Some(token) => {
                if opts.resource_version.as_deref().is_some_and(|rv| !rv.is_empty()) {
                    return Err(list_options_invalid("resourceVersion", "specifying resource version is not allowed when using continue"));
                }
                let (rv, after) = decode_continue(token)?;
                if rv < self.store.floor() {
                    return Err(ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    ));
                }
                (rv, Some(after))
            }
            None => (self.serve_revision(&self.read_at(opts, true)?)?, None),
        };
        // The store's key range already holds the list to the namespace.
        let namespace = filter.namespace.take();
        let objects = self
            .store
            .list_at(&target.resource.storage_key(), namespace.as_deref(), revision, |labels| filter.may_match(labels), |o| {
                filter.matches(o) && after.as_ref().is_none_or(|after| sort_key(o) > *after)
            })
            .map_err(|_| too_old(revision, self.store.floor()))?;
        let mut matching = objects.into_iter();
        let limit = opts.limit.filter(|l| *l > 0).map(|l| l as usize);
        let mut items = Vec::new();
        let mut more = 0usize;
        for o in matching.by_ref() {
            if limit.is_some_and(|l| items.len() >= l) {
                more = 1;
                break;
            }
            items.push(o);
        }
        more += matching.count();
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if more > 0 {
            let last = items.last().map(|o| sort_key(o)).unwrap_or_default();
            metadata["continue"] = Value::String(encode_continue(revision, &last));
            metadata["remainingItemCount"] = json!(more);
        }
        Ok(List { api_version: target.resource.api_version(), kind: target.resource.kind.clone(), metadata, items, without_managed_fields: opts.without_managed_fields })
    }

    /// Opens a watch. Semantics of `resourceVersion`: unset or `"0"` start with synthetic
    /// ADDED events for the current state; N replays events after N (410 in-stream if N is
    /// compacted); `sendInitialEvents=true` sends the state then an `initial-events-end` bookmark.
    pub fn watch(&mut self, target: &Target, opts: &ListOptions) -> ApiResult<Watch> {
        self.injected_error()?;
        let filter = Filter::new(target, opts)?;
        if let Some(true) = opts.send_initial_events {
            if opts.resource_version_match != Some(ResourceVersionMatch::NotOlderThan) {
                return Err(list_options_invalid("sendInitialEvents", "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan"));
            }
            if !opts.allow_watch_bookmarks {
                return Err(list_options_invalid("allowWatchBookmarks", "allowWatchBookmarks must be set to true when sendInitialEvents is set"));
            }
        } else if opts.resource_version_match.is_some() {
            return Err(list_options_invalid("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
        }
        let rv = opts.resource_version.as_deref().filter(|s| !s.is_empty());
        let initial = opts.send_initial_events.unwrap_or(matches!(rv, None | Some("0")));
        let mut watch = Watch {
            target: target.clone(),
            filter_opts: opts.clone(),
            revision: 0,
            pending: VecDeque::new(),
            bookmarks: opts.allow_watch_bookmarks,
            epoch: self.watch_epoch,
            finished: false,
        };
        if initial {
            let at = match rv {
                None | Some("0") => self.serve_revision(&ReadAt::Any)?,
                Some(n) => self.serve_revision(&ReadAt::NotOlderThan(parse_rv(n)?))?,
            };
            let objects = self
                .store
                .list_at(&target.resource.storage_key(), filter.namespace.as_deref(), at, |labels| filter.may_match(labels), |o| filter.matches(o))
                .map_err(|_| too_old(at, self.store.floor()))?;
            for o in objects {
                watch.pending.push_back(WatchEvent { event_type: "ADDED", object: Self::present(target, thaw(&o, opts)) });
            }
            watch.revision = at;
            if opts.send_initial_events == Some(true) {
                let mut end = watch.bookmark();
                end.object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                watch.pending.push_back(end);
            }
        } else {
            let from = parse_rv(rv.unwrap_or("0"))?;
            let floor = self.store.floor();
            // Replay starts earlier, never below the floor; a compacted start still expires (410).
            watch.revision = if from >= floor { from.saturating_sub(self.faults.watch_replay).max(floor) } else { from };
        }
        Ok(watch)
    }

    /// Events committed since the watch's cursor, filtered, with selector transitions turned
    /// into ADDED/DELETED. Never blocks: callers wait for the next revision and poll again.
    pub fn poll_watch(&mut self, watch: &mut Watch) -> WatchPoll {
        if watch.finished {
            return WatchPoll { events: Vec::new(), closed: true };
        }
        let mut events: Vec<WatchEvent> = watch.pending.drain(..).collect();
        if watch.epoch < self.expired_before_epoch {
            let e = ApiError::expired(format!("too old resource version: {} (watch cache moved on)", watch.revision));
            return finish_with_error(watch, events, e);
        }
        if watch.epoch != self.watch_epoch {
            watch.finished = true;
            return WatchPoll { events, closed: true };
        }
        let filter = match Filter::new(&watch.target, &watch.filter_opts) {
            Ok(f) => f,
            Err(e) => return finish_with_error(watch, events, e),
        };
        let visible_up_to = self.store.revision().saturating_sub(self.faults.watch_lag);
        let Some(log) = self.store.events_after(watch.revision) else {
            let e = too_old(watch.revision, self.store.floor());
            return finish_with_error(watch, events, e);
        };
        let storage = watch.target.resource.storage_key();
        let mut candidates = Vec::new();
        for e in log {
            if e.revision > visible_up_to {
                break;
            }
            if e.key.resource == storage {
                candidates.push(e.clone());
            }
            watch.revision = e.revision;
        }
        for e in candidates {
            if self.rng.chance(self.faults.watch_drop_rate) {
                continue;
            }
            let now = e.event_type != EventType::Deleted && filter.matches(&e.object);
            let before = e.previous.as_ref().is_some_and(|p| filter.matches(p));
            let thaw = |o: &Frozen| thaw(o, &watch.filter_opts);
            let (event_type, object) = match (before, now) {
                (false, true) => ("ADDED", thaw(&e.object)),
                (true, true) => ("MODIFIED", thaw(&e.object)),
                (true, false) if e.event_type == EventType::Deleted => ("DELETED", thaw(&e.object)),
                (true, false) => {
                    // Stopped matching: the old object at the new revision.
                    let mut old = e.previous.as_deref().map(thaw).unwrap_or_default();
                    object::set_meta(&mut old, "resourceVersion", Value::String(e.revision.to_string()));
                    ("DELETED", old)
                }
                (false, false) => continue,
            };
            events.push(WatchEvent { event_type, object: Self::present(&watch.target, object) });
        }
        WatchPoll { events, closed: false }
    }
}

/// A stored object thawed for a reader, with or without its managedFields as it asked.
fn thaw(object: &Frozen, opts: &ListOptions) -> Value {
    if opts.without_managed_fields {
        object.to_value_without_managed_fields()
    } else {
        object.to_value()
    }
}

fn finish_with_error(watch: &mut Watch, mut events: Vec<WatchEvent>, e: ApiError) -> WatchPoll {
    watch.finished = true;
    events.push(WatchEvent { event_type: "ERROR", object: e.to_status() });
    WatchPoll { events, closed: true }
}

fn too_old(requested: u64, floor: u64) -> ApiError {
    ApiError::expired(format!("too old resource version: {requested} ({floor})"))
}

fn list_options_invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid(
        "ListOptions.meta.k8s.io",
        "meta.k8s.io",
        "ListOptions",
        "",
        vec![crate::error::Cause::new("FieldValueForbidden", field, format!("Forbidden: {message}"))],
    )
}

/// Objects are listed in (namespace, name) order; a continue token remembers where it stopped.
fn sort_key(o: &Frozen) -> (String, String) {
    (object::namespace(o).to_string(), object::name(o).to_string())
}

fn encode_continue(revision: u64, after: &(String, String)) -> String {
    let raw = json!({"rv": revision, "ns": after.0, "name": after.1}).to_string();
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> ApiResult<(u64, (String, String))> {
    let bad = || ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..token.len()).step_by(2).map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok()).collect();
    let v: Value = serde_json::from_slice(&bytes.ok_or_else(bad)?).map_err(|_| bad())?;
    let field = |f: &str| v[f].as_str().map(str::to_string).ok_or_else(bad);
    Ok((v["rv"].as_u64().ok_or_else(bad)?, (field("ns")?, field("name")?)))
}

