//! Ownership bookkeeping for non-apply writes (`operation: Update`) and the cap on the
//! number of updaters.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::entries::time_seconds;
use super::object_fields::{compare_content, strip_set_ref};
use super::{
    decode_managed_fields, is_reset_request, manager_identity, set_managed_fields_kept, ListSemantics,
    ManagedEntry, Operation,
};

/// Records a non-apply write (create, update, patch) in `new.metadata.managedFields`, as the
/// apiserver's field manager does for `operation: Update`.
///
/// Which entries to start from: a write to a subresource always starts from `old`'s entries
/// (a status writer cannot edit ownership); otherwise `managedFields: [{}]` in `new` starts
/// from nothing, a valid non-empty list in `new` is taken as written (clients may edit
/// ownership directly), and anything else (absent, `[]`, invalid) keeps `old`'s entries.
///
/// Then every changed, added or removed field is taken away from the other managers, managers
/// left with nothing are dropped, and the fields this write added or changed are added to the
/// entry `{manager, Update, api_version, subresource}`, whose time becomes `time`. A write
/// that changes nothing trackable leaves that entry (and its time) alone.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    api_version: &str,
    time: &str,
    lists: &dyn ListSemantics,
) {
    if !new.is_object() {
        return;
    }
    let subresource = subresource.filter(|s| !s.is_empty());
    let from_old = || old.map(|o| decode_managed_fields(o).unwrap_or_default()).unwrap_or_default();
    let new_mf = new.get("metadata").and_then(|m| m.get("managedFields"));
    let entries = if subresource.is_some() {
        from_old()
    } else if is_reset_request(new_mf) {
        Vec::new()
    } else {
        match decode_managed_fields(new) {
            Ok(e) if !e.is_empty() => e,
            _ => from_old(),
        }
    };
    let empty = Value::Object(Map::new());
    record_update_from(entries, old.unwrap_or(&empty), new, manager, subresource, api_version, time, lists);
}

/// [`record_update`] once the caller has chosen the entries to start from (`entries`, as
/// `record_update` would choose them: a caller that keeps the stored entries parsed need not
/// decode them again). `old` is the stored object (an empty object for a create); only its
/// content is compared, so it may come without its managedFields, and so may `new`.
///
/// Returns the entries written into `new` (sorted, empty ones dropped): what decoding `new`'s
/// managedFields gives back.
#[allow(clippy::too_many_arguments)]
pub fn record_update_from(
    mut entries: Vec<ManagedEntry>,
    old: &Value,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    api_version: &str,
    time: &str,
    lists: &dyn ListSemantics,
) -> Vec<ManagedEntry> {
    if !new.is_object() {
        return entries;
    }
    let subresource = subresource.filter(|s| !s.is_empty());
    let cmp = compare_content(old, new, lists);
    let changed = cmp.modified.union(&cmp.added);
    for e in &mut entries {
        e.fields.subtract(&changed);
        e.fields.subtract(&cmp.removed);
    }
    let mut own = changed.difference(&cmp.removed);
    own.subtract(strip_set_ref());
    if !own.is_empty() {
        let id = manager_identity(manager, Operation::Update, api_version, subresource);
        match entries.iter_mut().find(|e| e.identity() == id) {
            Some(e) => {
                e.fields.union_with(&own);
                e.time = Some(time.to_string());
            }
            None => entries.push(ManagedEntry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: api_version.to_string(),
                time: Some(time.to_string()),
                fields: own,
                subresource: subresource.map(str::to_string),
            }),
        }
    }
    cap_update_managers(&mut entries, MAX_UPDATE_MANAGERS);
    set_managed_fields_kept(new, &mut entries);
    entries
}

/// Kubernetes keeps at most this many `Update` entries (`DefaultMaxUpdateManagers`).
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager that absorbs the oldest updaters beyond the cap.
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// `capmanagers.go`: while there are more than `max` Update entries, the oldest ones are
/// merged, per apiVersion, into an `ancient-changes` entry carrying the newest merged time.
/// The first (oldest) updater of each apiVersion only marks the version; the second one
/// moves it into the bucket, so every merge removes one entry.
pub fn cap_update_managers(entries: &mut Vec<ManagedEntry>, max: usize) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == Operation::Update && !entries[i].fields.is_empty())
        .collect();
    if updaters.len() <= max {
        return;
    }
    updaters.sort_by(|&i, &j| {
        time_seconds(entries[i].time.as_deref())
            .cmp(&time_seconds(entries[j].time.as_deref()))
            .then_with(|| entries[i].identity().cmp(&entries[j].identity()))
    });
    let mut removed = vec![false; entries.len()];
    let mut first_of_version: BTreeMap<String, usize> = BTreeMap::new();
    let mut length = updaters.len();
    for &i in &updaters {
        if length <= max {
            break;
        }
        let version = entries[i].api_version.clone();
        let bucket_id = manager_identity(ANCIENT_CHANGES_MANAGER, Operation::Update, &version, None);
        if entries[i].identity() == bucket_id {
            // The bucket itself is old: it stays and absorbs later updaters of its version.
            first_of_version.entry(version).or_insert(i);
            continue;
        }
        let Some(&first) = first_of_version.get(&version) else {
            first_of_version.insert(version, i);
            continue;
        };
        let bucket = match (0..entries.len()).find(|&b| !removed[b] && entries[b].identity() == bucket_id) {
            Some(b) => b,
            None => {
                // The version's first updater becomes the bucket.
                entries[first].manager = ANCIENT_CHANGES_MANAGER.to_string();
                entries[first].subresource = None;
                first
            }
        };
        let fields = entries[i].fields.clone();
        let time = entries[i].time.clone();
        entries[bucket].fields.union_with(&fields);
        entries[bucket].time = time;
        removed[i] = true;
        length -= 1;
    }
    let mut idx = 0;
    entries.retain(|_| {
        let keep = !removed[idx];
        idx += 1;
        keep
    });
}
