//! Server-side apply (`PATCH` with `application/apply-patch+yaml`), as kubectl
//! `apply --server-side` and kube-rs `Patch::Apply` expect it.
//!
//! The algorithm is structured-merge-diff's `Updater.Apply` behind Kubernetes' field-manager
//! layers: check the type, merge the applied configuration into the live object, prune what
//! this manager applied last time but no longer mentions (unless someone else owns it),
//! detect conflicts with other managers on the fields whose values change, and record the
//! manager's new Apply entry. Pure: the caller parses the body, stores the result and sets
//! uid, resourceVersion and timestamps.

use crate::managed_fields::{
    compare, decode_managed_fields, describe_manager, fields_of, item_pe, item_pe_lenient, list_type_at,
    manager_identity, map_atomic_at, path_to_string, set_managed_fields, strip_managed_fields, try_fields_of, FieldSet,
    ListSemantics, ListType, ManagedEntry, Operation, PathElement,
};
use crate::gofmt::go_json;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// Request parameters of one apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// `fieldManager` (required for apply; the caller rejects an empty one with 422).
    pub manager: String,
    /// `force=true`: take conflicting fields from their owners instead of failing.
    pub force: bool,
    /// `Some("status")` for `/status`; recorded in the entry.
    pub subresource: Option<String>,
    /// The resource's `group/version` (`v1` for core); the body must use exactly this.
    pub api_version: String,
    /// The resource's kind; the body must use exactly this. Empty skips the comparison (the
    /// body still needs a kind).
    pub kind: String,
    /// RFC 3339 time stamped on the entry when the apply changes the object.
    pub time: String,
}

/// Which part of the applied body the endpoint ignores (Kubernetes' "reset fields": the
/// strategy resets them, so applying them neither changes nor owns anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetFields {
    /// Nothing is ignored (a kind without a status subresource).
    Nothing,
    /// The main resource of a kind with a status subresource: `status` is ignored.
    Status,
    /// The `/status` subresource: everything but `status` is ignored.
    AllButStatus,
}

impl ResetFields {
    /// The usual rule: `/status` keeps only status, the main resource drops status.
    pub fn for_subresource(subresource: Option<&str>) -> ResetFields {
        match subresource {
            None | Some("") => ResetFields::Status,
            Some("status") => ResetFields::AllButStatus,
            Some(_) => ResetFields::Nothing,
        }
    }
}

/// One field another manager owns and this apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: Option<String>,
    /// Kubernetes' path form, e.g. `.spec.replicas` or `.spec.containers[name="app"].image`.
    pub field: String,
}

impl Conflict {
    /// `"m" using v1` (updaters) or `"m"` (appliers), as in the message.
    pub fn manager_description(&self) -> String {
        describe_manager(&self.manager, self.operation, &self.api_version, self.subresource.as_deref())
    }

    /// The manager identifier conflicts are grouped and sorted by.
    pub fn manager_identity(&self) -> String {
        manager_identity(&self.manager, self.operation, &self.api_version, self.subresource.as_deref())
    }

    /// `details.causes[].message`: `conflict with "m" using v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager_description())
    }
}

/// All conflicts of one apply, sorted by manager identity, then in field-set order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

impl fmt::Display for Conflicts {
    /// Kubernetes' `getConflictMessage` (managedfields/internal/conflict.go).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [c] = self.0.as_slice() {
            return write!(f, "Apply failed with 1 conflict: conflict with {}: {}", c.manager_description(), c.field);
        }
        let mut groups: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new();
        for c in &self.0 {
            groups
                .entry(c.manager_identity())
                .or_insert_with(|| (c.manager_description(), Vec::new()))
                .1
                .push(&c.field);
        }
        let mut lines = Vec::new();
        for (desc, fields) in groups.values() {
            lines.push(format!("conflicts with {desc}:"));
            lines.extend(fields.iter().map(|p| format!("- {p}")));
        }
        write!(f, "Apply failed with {} conflicts: {}", self.0.len(), lines.join("\n"))
    }
}

/// `details.causes` entry of a 409 apply conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictCause {
    /// Always `FieldManagerConflict`.
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

/// Why an apply was refused. [`ApplyError::code`] and [`ApplyError::reason`] give the
/// Kubernetes status; the `Display` text is the status message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// 400: the body is not an object.
    #[error("error decoding YAML: {0}")]
    Decode(String),
    /// 400: apiVersion/kind missing or not the resource's (`versioncheck.go`).
    #[error("invalid object type: {0}")]
    InvalidObjectType(String),
    /// 400: appliers may not write ownership.
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsNotNil,
    /// 409 `Conflict` with `FieldManagerConflict` causes.
    #[error("{0}")]
    Conflict(Conflicts),
    /// 500: the body does not fit the list semantics (an item without its keys, duplicate
    /// keys, a non-object metadata). Kubernetes reports these as internal errors.
    #[error("{0}")]
    Invalid(String),
    /// 404: applying to a subresource of an object that does not exist.
    #[error("the object does not exist, so its {0} subresource cannot be applied to")]
    NotFound(String),
}

impl ApplyError {
    pub fn code(&self) -> u16 {
        match self {
            ApplyError::Decode(_) | ApplyError::InvalidObjectType(_) | ApplyError::ManagedFieldsNotNil => 400,
            ApplyError::Conflict(_) => 409,
            ApplyError::Invalid(_) => 500,
            ApplyError::NotFound(_) => 404,
        }
    }

    /// The `metav1.Status` reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ApplyError::Decode(_) | ApplyError::InvalidObjectType(_) | ApplyError::ManagedFieldsNotNil => "BadRequest",
            ApplyError::Conflict(_) => "Conflict",
            ApplyError::Invalid(_) => "InternalError",
            ApplyError::NotFound(_) => "NotFound",
        }
    }

    /// `details.causes` (only conflicts have any).
    pub fn causes(&self) -> Vec<ConflictCause> {
        match self {
            ApplyError::Conflict(cs) => {
                cs.0.iter()
                    .map(|c| ConflictCause {
                        reason: "FieldManagerConflict",
                        message: c.cause_message(),
                        field: c.field.clone(),
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Applies `applied` (the parsed body) to `live` (`None` creates) with the usual reset
/// fields for `opts.subresource`. Returns the object to store, with its managedFields.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    opts: &ApplyOptions,
    lists: &dyn ListSemantics,
) -> Result<Value, ApplyError> {
    apply_with(live, applied, opts, lists, ResetFields::for_subresource(opts.subresource.as_deref()))
}

/// [`apply`] with explicit reset fields, e.g. [`ResetFields::Nothing`] for a custom resource
/// without a status subresource, whose status is an ordinary field.
pub fn apply_with(
    live: Option<&Value>,
    applied: &Value,
    opts: &ApplyOptions,
    lists: &dyn ListSemantics,
    reset: ResetFields,
) -> Result<Value, ApplyError> {
    let Value::Object(body) = applied else {
        return Err(ApplyError::Decode(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            go_type_name(applied)
        )));
    };
    check_type(body, opts)?;
    let metadata = body.get("metadata");
    if metadata.and_then(|m| m.get("managedFields")).is_some_and(|mf| !mf.is_null()) {
        return Err(ApplyError::ManagedFieldsNotNil);
    }
    let invalid = |detail: String| ApplyError::Invalid(typed_patch_error(body, &detail));
    if metadata.is_some_and(|m| !m.is_object() && !m.is_null()) {
        return Err(invalid(".metadata: expected map".to_string()));
    }

    let subresource = opts.subresource.as_deref().filter(|s| !s.is_empty());
    let live_content = match live {
        Some(v @ Value::Object(_)) => {
            let mut c = v.clone();
            strip_managed_fields(&mut c);
            c
        }
        Some(_) => return Err(ApplyError::Invalid("the stored object is not a JSON object".to_string())),
        None => {
            if let Some(sub) = subresource {
                return Err(ApplyError::NotFound(sub.to_string()));
            }
            Value::Object(Map::new())
        }
    };
    // Unreadable stored ownership is dropped rather than blocking every future apply.
    let entries = live.map(|l| decode_managed_fields(l).unwrap_or_default()).unwrap_or_default();

    let config = config_of(body, reset);
    let config_set = try_fields_of(&config, lists).map_err(invalid)?;

    let mut path = Vec::new();
    let mut merged = merge(&live_content, &config, &mut path, lists).map_err(invalid)?;

    let is_mine = |e: &ManagedEntry| {
        e.operation == Operation::Apply && e.manager == opts.manager && e.subresource.as_deref() == subresource
    };
    let previous = entries.iter().find(|e| is_mine(e)).cloned();
    let mut others: Vec<ManagedEntry> = entries.into_iter().filter(|e| !is_mine(e)).collect();

    // Prune: what this manager applied last time and omits now goes, unless it is still
    // claimed (by this config or by any other manager).
    if let Some(prev) = &previous {
        let mut claimed = config_set.clone();
        for o in &others {
            claimed.union_with(&o.fields);
        }
        prune(&mut merged, &prev.fields, &claimed, lists);
    }

    let cmp = compare(&live_content, &merged, lists);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts: Vec<(Conflict, Vec<PathElement>)> = Vec::new();
    for o in &others {
        for p in o.fields.intersection(&changed).paths() {
            let c = Conflict {
                manager: o.manager.clone(),
                operation: o.operation,
                api_version: o.api_version.clone(),
                subresource: o.subresource.clone(),
                field: path_to_string(&p),
            };
            conflicts.push((c, p));
        }
    }
    if !conflicts.is_empty() && !opts.force {
        // `lastappliedmanager.go`: kubectl moving from client-side to server-side apply may
        // take the fields its last-applied annotation describes, if they still hold.
        if opts.manager == KUBECTL {
            if let Some(allowed) = allowed_from_last_applied(&live_content, opts, lists) {
                conflicts.retain(|(_, p)| !allowed.contains(p));
            }
        }
        if !conflicts.is_empty() {
            let mut conflicts: Vec<Conflict> = conflicts.into_iter().map(|(c, _)| c).collect();
            // Stable sort keeps each manager's paths in field-set order.
            conflicts.sort_by_cached_key(Conflict::manager_identity);
            return Err(ApplyError::Conflict(Conflicts(conflicts)));
        }
    }
    for o in &mut others {
        o.fields.subtract(&changed);
        o.fields.subtract(&cmp.removed);
    }

    // The time moves only when the content changes, so a repeated apply is a byte-for-byte
    // no-op and the caller can keep the resourceVersion.
    let content_changed = merged != live_content;
    let time = if content_changed { Some(opts.time.clone()) } else { previous.and_then(|p| p.time) };
    others.push(ManagedEntry {
        manager: opts.manager.clone(),
        operation: Operation::Apply,
        api_version: opts.api_version.clone(),
        time,
        fields: config_set,
        subresource: subresource.map(str::to_string),
    });
    set_managed_fields(&mut merged, others);
    if opts.manager == KUBECTL {
        sync_last_applied(&mut merged, body);
    }
    Ok(merged)
}

/// The field manager of `kubectl apply --server-side`, which Kubernetes treats specially to
/// ease moving from client-side apply.
const KUBECTL: &str = "kubectl";

/// The client-side apply annotation.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn last_applied(obj: &Value) -> Option<&str> {
    obj.get("metadata")?.get("annotations")?.get(LAST_APPLIED_ANNOTATION)?.as_str().filter(|s| !s.is_empty())
}

/// The fields of the live object's last-applied configuration whose values still match live.
/// `None` when there is no usable annotation.
fn allowed_from_last_applied(live: &Value, opts: &ApplyOptions, lists: &dyn ListSemantics) -> Option<FieldSet> {
    let last: Value = serde_json::from_str(last_applied(live)?).ok()?;
    if !last.is_object() || last.get("apiVersion").and_then(Value::as_str) != Some(opts.api_version.as_str()) {
        return None;
    }
    let set = try_fields_of(&last, lists).ok()?;
    let cmp = compare(&last, live, lists);
    Some(set.difference(&cmp.modified).difference(&cmp.added).difference(&cmp.removed))
}

/// `lastappliedupdater.go`: after a kubectl server-side apply, an existing last-applied
/// annotation is rewritten to the applied body so a later client-side apply diffs correctly.
/// Dropped if it would push the annotations past Kubernetes' 256 KiB limit.
fn sync_last_applied(merged: &mut Value, body: &Map<String, Value>) {
    if last_applied(merged).is_none() {
        return;
    }
    let mut applied = Value::Object(body.clone());
    if let Some(Value::Object(ann)) = applied.get_mut("metadata").and_then(|m| m.get_mut("annotations")) {
        ann.retain(|k, _| k != LAST_APPLIED_ANNOTATION);
    }
    let value = format!("{}\n", go_json(&applied));
    let Some(Value::Object(ann)) = merged.get_mut("metadata").and_then(|m| m.get_mut("annotations")) else {
        return;
    };
    if let Some(slot) = ann.get_mut(LAST_APPLIED_ANNOTATION) {
        *slot = Value::String(value);
    }
    let size: usize = ann.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        ann.retain(|k, _| k != LAST_APPLIED_ANNOTATION);
    }
}

/// `TotalAnnotationSizeLimitB` in apimachinery's ObjectMeta validation.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `versioncheck.go`: the body's group, version and kind must be the resource's.
fn check_type(body: &Map<String, Value>, opts: &ApplyOptions) -> Result<(), ApplyError> {
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    // An unparsable apiVersion makes Go's unstructured GroupVersionKind() entirely empty.
    let (group, version, kind) = match parse_group_version(api_version) {
        Some((g, v)) => (g, v, kind),
        None => ("", "", ""),
    };
    let expected = parse_group_version(&opts.api_version).unwrap_or(("", ""));
    let kind_ok = if opts.kind.is_empty() { !kind.is_empty() } else { kind == opts.kind };
    if (group, version) != expected || version.is_empty() || !kind_ok {
        return Err(ApplyError::InvalidObjectType(format!("{group}/{version}, Kind={kind}")));
    }
    Ok(())
}

/// Go's `schema.ParseGroupVersion`; `None` for more than one slash.
fn parse_group_version(gv: &str) -> Option<(&str, &str)> {
    if gv.is_empty() || gv == "/" {
        return Some(("", ""));
    }
    match gv.matches('/').count() {
        0 => Some(("", gv)),
        1 => gv.split_once('/'),
        _ => None,
    }
}

fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `failed to create typed patch object (ns/name; group/version, Kind=K): detail`.
fn typed_patch_error(body: &Map<String, Value>, detail: &str) -> String {
    let meta = body.get("metadata");
    let s = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or("");
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let (group, version) = parse_group_version(api_version).unwrap_or(("", ""));
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    format!(
        "failed to create typed patch object ({}/{}; {group}/{version}, Kind={kind}): {detail}",
        s("namespace"),
        s("name")
    )
}

/// The part of the body that is applied: nulls dropped (a null claims nothing, as CRD
/// pruning drops it before storage) and the reset fields removed.
fn config_of(body: &Map<String, Value>, reset: ResetFields) -> Value {
    let mut config = Map::new();
    for (k, v) in body {
        let keep = match reset {
            ResetFields::Nothing => true,
            ResetFields::Status => k != "status",
            ResetFields::AllButStatus => matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"),
        };
        if !keep || v.is_null() {
            continue;
        }
        let mut v = v.clone();
        if reset == ResetFields::AllButStatus && k == "metadata" {
            // Only the identity survives a status write; everything else would be reset.
            if let Value::Object(m) = &mut v {
                m.retain(|mk, _| mk == "name" || mk == "namespace");
            }
        }
        strip_nulls(&mut v);
        config.insert(k.clone(), v);
    }
    Value::Object(config)
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            for x in m.values_mut() {
                strip_nulls(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// structured-merge-diff's merge: maps merge key by key, atomic lists and scalars take the
/// applied value, map and set lists merge item by item.
fn merge(lhs: &Value, rhs: &Value, path: &mut Vec<PathElement>, lists: &dyn ListSemantics) -> Result<Value, String> {
    match (lhs, rhs) {
        (Value::Object(lm), Value::Object(rm)) => {
            if map_atomic_at(lists, path) || (lm.is_empty() && rm.is_empty()) {
                return Ok(rhs.clone());
            }
            let mut out = Map::new();
            for (k, lv) in lm {
                let v = match rm.get(k) {
                    Some(rv) => {
                        path.push(PathElement::Field(k.clone()));
                        let r = merge(lv, rv, path, lists);
                        path.pop();
                        r?
                    }
                    None => lv.clone(),
                };
                out.insert(k.clone(), v);
            }
            for (k, rv) in rm {
                if !lm.contains_key(k) {
                    out.insert(k.clone(), rv.clone());
                }
            }
            Ok(Value::Object(out))
        }
        (Value::Array(la), Value::Array(ra)) => {
            let lt = list_type_at(lists, path);
            if lt == ListType::Atomic || (la.is_empty() && ra.is_empty()) {
                return Ok(rhs.clone());
            }
            merge_list(la, ra, &lt, path, lists).map(Value::Array)
        }
        _ => Ok(rhs.clone()),
    }
}

/// Merges an associative list, keeping the applied order for applied items and slotting the
/// live-only items in where they were (structured-merge-diff's `visitListItems`).
fn merge_list(
    la: &[Value],
    ra: &[Value],
    lt: &ListType,
    path: &mut Vec<PathElement>,
    lists: &dyn ListSemantics,
) -> Result<Vec<Value>, String> {
    let mut rhs_pes = Vec::with_capacity(ra.len());
    let mut rhs_index: BTreeMap<PathElement, usize> = BTreeMap::new();
    for (i, item) in ra.iter().enumerate() {
        let pe = item_pe(lt, i, item).map_err(|e| format!("{}: {e}", path_to_string(path)))?;
        if rhs_index.insert(pe.clone(), i).is_some() {
            return Err(format!("{}: duplicate entries for key {pe}", path_to_string(path)));
        }
        rhs_pes.push(pe);
    }
    // Live items that repeat a key are kept as they are and never matched.
    let mut lhs_pes: Vec<Option<PathElement>> = Vec::with_capacity(la.len());
    let mut lhs_index: BTreeMap<PathElement, usize> = BTreeMap::new();
    for (i, item) in la.iter().enumerate() {
        let pe = item_pe_lenient(lt, i, item);
        if lhs_index.contains_key(&pe) {
            lhs_pes.push(None);
        } else {
            lhs_index.insert(pe.clone(), i);
            lhs_pes.push(Some(pe));
        }
    }

    let mut shared: VecDeque<&PathElement> = rhs_pes.iter().filter(|pe| lhs_index.contains_key(*pe)).collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(la.len().max(ra.len()));
    let merge_item = |li: Option<usize>, ri: usize, pe: &PathElement, path: &mut Vec<PathElement>| match li
        .and_then(|li| la.get(li))
    {
        Some(l) => {
            path.push(pe.clone());
            let r = merge(l, &ra[ri], path, lists);
            path.pop();
            r
        }
        None => Ok(ra[ri].clone()),
    };

    let (mut l, mut r) = (0usize, 0usize);
    while l < la.len() || r < ra.len() {
        if l < la.len() && r < ra.len() {
            if let Some(lpe) = &lhs_pes[l] {
                if *lpe == rhs_pes[r] {
                    merged_rhs.insert(&rhs_pes[r]);
                    out.push(merge_item(Some(l), r, lpe, path)?);
                    l += 1;
                    r += 1;
                    next_shared = shared.pop_front();
                    continue;
                }
                if rhs_index.contains_key(lpe) && next_shared.is_some_and(|ns| ns != lpe) {
                    // Shared, but the applied order puts it later.
                    l += 1;
                    continue;
                }
            }
        }
        if l < la.len() {
            match &lhs_pes[l] {
                None => {
                    out.push(la[l].clone());
                    l += 1;
                    continue;
                }
                Some(lpe) if !rhs_index.contains_key(lpe) => {
                    out.push(la[l].clone());
                    l += 1;
                    continue;
                }
                Some(lpe) if merged_rhs.contains(lpe) => {
                    l += 1;
                    continue;
                }
                _ => {}
            }
        }
        if r < ra.len() {
            let pe = &rhs_pes[r];
            merged_rhs.insert(pe);
            out.push(merge_item(lhs_index.get(pe).copied(), r, pe, path)?);
            r += 1;
            if next_shared == Some(pe) {
                next_shared = shared.pop_front();
            }
            continue;
        }
        // Unreachable by construction; finishing the live side guarantees termination.
        out.extend(la[l..].iter().cloned());
        break;
    }
    Ok(out)
}

/// Removes from `merged` every path of `last` that is not `claimed`, deepest first, and then
/// any map or list that became empty through that removal and nobody claims. Only paths that
/// are still leaves or items of `merged` go: a field the new config turned into a map (and
/// owns parts of) is not pruned as the old leaf.
fn prune(merged: &mut Value, last: &FieldSet, claimed: &FieldSet, lists: &dyn ListSemantics) {
    let present = fields_of(merged, lists);
    let mut doomed: Vec<Vec<PathElement>> =
        last.paths().into_iter().filter(|p| present.contains(p) && !claimed.contains(p)).collect();
    doomed.sort();
    for p in doomed.iter().rev() {
        let mut prefix = Vec::new();
        remove_path(merged, p, &mut prefix, claimed, lists);
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn remove_path(
    v: &mut Value,
    path: &[PathElement],
    prefix: &mut Vec<PathElement>,
    claimed: &FieldSet,
    lists: &dyn ListSemantics,
) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match (first, v) {
        (PathElement::Field(name), Value::Object(m)) => {
            if rest.is_empty() {
                let had = m.contains_key(name);
                m.retain(|k, _| k != name);
                return had;
            }
            let Some(child) = m.get_mut(name) else { return false };
            let was_full = !is_empty_container(child);
            prefix.push(first.clone());
            let removed = remove_path(child, rest, prefix, claimed, lists);
            let now_empty = is_empty_container(child);
            let keep = claimed.contains(prefix) || (prefix.len() == 1 && name == "metadata");
            prefix.pop();
            if removed && was_full && now_empty && !keep {
                m.retain(|k, _| k != name);
            }
            removed
        }
        (pe, Value::Array(items)) if !matches!(pe, PathElement::Field(_)) => {
            let lt = list_type_at(lists, prefix);
            let Some(pos) = items.iter().enumerate().position(|(i, it)| item_pe_lenient(&lt, i, it) == *pe) else {
                return false;
            };
            if rest.is_empty() {
                items.remove(pos);
                return true;
            }
            prefix.push(first.clone());
            let removed = remove_path(&mut items[pos], rest, prefix, claimed, lists);
            prefix.pop();
            removed
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use crate::managed_fields::{record_update, AtomicLists, BuiltinLists, FnLists, SchemaLists};
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const T1: &str = "2024-01-01T00:00:00Z";
    const T2: &str = "2024-01-02T00:00:00Z";

    fn opts(manager: &str, api_version: &str, kind: &str, time: &str) -> ApplyOptions {
        ApplyOptions {
            manager: manager.into(),
            force: false,
            subresource: None,
            api_version: api_version.into(),
            kind: kind.into(),
            time: time.into(),
        }
    }

    fn widget(spec: Value) -> Value {
        json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","namespace":"default"},"spec":spec})
    }

    fn wopts(manager: &str, time: &str) -> ApplyOptions {
        opts(manager, "example.com/v1", "Widget", time)
    }

    #[test]
    fn create_via_apply() {
        let body = json!({"apiVersion":"example.com/v1","kind":"Widget",
            "metadata":{"name":"w","namespace":"default","labels":{"app":"a"}},"spec":{"size":3,"tags":["x"]}});
        let out = apply(None, &body, &wopts("kubectl", T1), &AtomicLists).unwrap();
        assert_eq!(out["spec"], json!({"size":3,"tags":["x"]}));
        assert_eq!(
            out["metadata"]["managedFields"],
            json!([{"manager":"kubectl","operation":"Apply","apiVersion":"example.com/v1","time":T1,
                "fieldsType":"FieldsV1",
                "fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:size":{},"f:tags":{}}}}])
        );
    }

    #[test]
    fn dropping_a_label_removes_it() {
        let first = json!({"apiVersion":"v1","kind":"ConfigMap",
            "metadata":{"name":"c","labels":{"a":"1","b":"2"}},"data":{"k":"v"}});
        let o = opts("kubectl", "v1", "ConfigMap", T1);
        let live = apply(None, &first, &o, &AtomicLists).unwrap();
        let second =
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"a":"1"}},"data":{"k":"v"}});
        let out = apply(Some(&live), &second, &opts("kubectl", "v1", "ConfigMap", T2), &AtomicLists).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"a":"1"}));
        assert_eq!(out["metadata"]["managedFields"][0]["time"], T2);
        // Dropping the last label removes the emptied map too.
        let third = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}});
        let out = apply(Some(&out), &third, &opts("kubectl", "v1", "ConfigMap", T2), &AtomicLists).unwrap();
        assert!(out["metadata"].get("labels").is_none(), "{out}");
    }

    #[test]
    fn fields_of_other_updaters_survive() {
        // A controller set spec.extra with a plain update; the applier never mentions it.
        let live = apply(None, &widget(json!({"size":1})), &wopts("kubectl", T1), &AtomicLists).unwrap();
        let mut updated = live.clone();
        updated["spec"]["extra"] = json!("x");
        record_update(Some(&live), &mut updated, "controller", None, "example.com/v1", T2, &AtomicLists);
        let out = apply(Some(&updated), &widget(json!({"size":2})), &wopts("kubectl", T2), &AtomicLists).unwrap();
        assert_eq!(out["spec"], json!({"size":2,"extra":"x"}));

        // A field the applier drops survives when another manager also owns it.
        let mut both = out.clone();
        both["spec"]["shared"] = json!(1);
        record_update(Some(&out), &mut both, "controller", None, "example.com/v1", T2, &AtomicLists);
        let with_shared =
            apply(Some(&both), &widget(json!({"size":2,"shared":1})), &wopts("kubectl", T2), &AtomicLists).unwrap();
        let dropped =
            apply(Some(&with_shared), &widget(json!({"size":2})), &wopts("kubectl", T2), &AtomicLists).unwrap();
        assert_eq!(dropped["spec"]["shared"], 1);
        // ...while one only the applier owned goes.
        let solo =
            apply(Some(&dropped), &widget(json!({"size":2,"solo":true})), &wopts("kubectl", T2), &AtomicLists).unwrap();
        let gone = apply(Some(&solo), &widget(json!({"size":2})), &wopts("kubectl", T2), &AtomicLists).unwrap();
        assert!(gone["spec"].get("solo").is_none());
    }

    fn deployment(replicas: i64) -> Value {
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"default"},
            "spec":{"replicas":replicas}})
    }

    fn csa_owned(replicas: i64) -> Value {
        let mut obj = deployment(replicas);
        record_update(None, &mut obj, "kubectl-client-side-apply", None, "apps/v1", T1, &BuiltinLists);
        obj
    }

    #[test]
    fn conflict_without_force_has_kubernetes_message() {
        let live = csa_owned(1);
        let err = apply(Some(&live), &deployment(2), &opts("kubectl", "apps/v1", "Deployment", T2), &BuiltinLists)
            .unwrap_err();
        assert_eq!(err.code(), 409);
        assert_eq!(err.reason(), "Conflict");
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
        );
        assert_eq!(
            err.causes(),
            vec![ConflictCause {
                reason: "FieldManagerConflict",
                message: "conflict with \"kubectl-client-side-apply\" using apps/v1".into(),
                field: ".spec.replicas".into()
            }]
        );
        // The same value is not a conflict: ownership becomes shared.
        let shared =
            apply(Some(&live), &deployment(1), &opts("kubectl", "apps/v1", "Deployment", T2), &BuiltinLists).unwrap();
        assert_eq!(shared["metadata"]["managedFields"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let mut live = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","b":"1"}});
        record_update(None, &mut live, "zeta", None, "v1", T1, &AtomicLists);
        let mut next = live.clone();
        next["data"]["c"] = json!("1");
        record_update(Some(&live), &mut next, "alpha", None, "v1", T1, &AtomicLists);
        let applier = opts("m", "v1", "ConfigMap", T2);
        let body =
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"2","b":"2","c":"2"}});
        let err = apply(Some(&next), &body, &applier, &AtomicLists).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 3 conflicts: conflicts with \"alpha\" using v1:\n- .data.c\nconflicts with \"zeta\" using v1:\n- .data.a\n- .data.b"
        );
        assert_eq!(err.causes().len(), 3);
        assert_eq!(err.causes()[0].field, ".data.c");
    }

    #[test]
    fn kubectl_upgrading_from_client_side_apply() {
        // `kubectl apply` (client-side) created the object and left its annotation.
        let mut live = deployment(1);
        let last = serde_json::to_string(&deployment(1)).unwrap() + "\n";
        live["metadata"]["annotations"] = json!({ LAST_APPLIED_ANNOTATION: last });
        record_update(None, &mut live, "kubectl-client-side-apply", None, "apps/v1", T1, &BuiltinLists);

        // Another manager gets no such allowance.
        let other = opts("helm", "apps/v1", "Deployment", T2);
        assert_eq!(apply(Some(&live), &deployment(2), &other, &BuiltinLists).unwrap_err().code(), 409);

        // kubectl takes the fields its last-applied configuration covers and updates it.
        let out =
            apply(Some(&live), &deployment(2), &opts("kubectl", "apps/v1", "Deployment", T2), &BuiltinLists).unwrap();
        assert_eq!(out["spec"]["replicas"], 2);
        let ann = out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION].as_str().unwrap();
        let parsed: Value = serde_json::from_str(ann).unwrap();
        assert_eq!(parsed, deployment(2));
        assert!(ann.ends_with('\n'));

        // A field changed since the last client-side apply is a real conflict.
        let mut drifted = live.clone();
        drifted["spec"]["replicas"] = json!(5);
        record_update(Some(&live), &mut drifted, "hpa", None, "apps/v1", T2, &BuiltinLists);
        let err = apply(Some(&drifted), &deployment(2), &opts("kubectl", "apps/v1", "Deployment", T2), &BuiltinLists)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"hpa\" using apps/v1: .spec.replicas"
        );
    }

    #[test]
    fn force_transfers_ownership() {
        let live = csa_owned(1);
        let mut o = opts("kubectl", "apps/v1", "Deployment", T2);
        o.force = true;
        let out = apply(Some(&live), &deployment(2), &o, &BuiltinLists).unwrap();
        assert_eq!(out["spec"]["replicas"], 2);
        let mf = out["metadata"]["managedFields"].as_array().unwrap();
        // The updater owned only spec (as a container) and spec.replicas: it keeps `spec`.
        assert_eq!(mf[0]["manager"], "kubectl");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:spec":{"f:replicas":{}}}));
        assert_eq!(mf[1]["manager"], "kubectl-client-side-apply");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:spec":{}}));
        // Now the updater's value would conflict the other way round: no longer.
        let again = apply(Some(&out), &deployment(3), &opts("kubectl", "apps/v1", "Deployment", T2), &BuiltinLists);
        assert!(again.is_ok());
    }

    fn pod_template(containers: Value) -> Value {
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
            "spec":{"template":{"spec":{"containers":containers}}}})
    }

    #[test]
    fn keyed_list_merge_for_containers() {
        let o = opts("kubectl", "apps/v1", "Deployment", T1);
        let live = apply(None, &pod_template(json!([{"name":"app","image":"nginx:1"}])), &o, &BuiltinLists).unwrap();
        // A second manager adds a sidecar and an env var to `app`.
        let sidecar = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
            "spec":{"template":{"spec":{"containers":[{"name":"side","image":"s:1"},{"name":"app","env":[{"name":"X","value":"1"}]}]}}}});
        let both = apply(Some(&live), &sidecar, &opts("other", "apps/v1", "Deployment", T1), &BuiltinLists).unwrap();
        assert_eq!(
            both["spec"]["template"]["spec"]["containers"],
            json!([{"name":"side","image":"s:1"},{"name":"app","image":"nginx:1","env":[{"name":"X","value":"1"}]}])
        );
        // The first manager bumps its image: merged by key, the other manager's parts stay.
        let bumped =
            apply(Some(&both), &pod_template(json!([{"name":"app","image":"nginx:2"}])), &o, &BuiltinLists).unwrap();
        assert_eq!(
            bumped["spec"]["template"]["spec"]["containers"],
            json!([{"name":"side","image":"s:1"},{"name":"app","image":"nginx:2","env":[{"name":"X","value":"1"}]}])
        );
        let mf = bumped["metadata"]["managedFields"].as_array().unwrap();
        let kubectl = mf.iter().find(|e| e["manager"] == "kubectl").unwrap();
        assert_eq!(
            kubectl["fieldsV1"],
            json!({"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}})
        );
        // Changing the other manager's sidecar image is a conflict naming the item.
        let err = apply(
            Some(&bumped),
            &pod_template(json!([{"name":"app","image":"nginx:2"},{"name":"side","image":"s:2"}])),
            &o,
            &BuiltinLists,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"other\": .spec.template.spec.containers[name=\"side\"].image"
        );
        // Dropping `app` from kubectl's config keeps it: `other` still owns the item.
        let dropped = apply(Some(&bumped), &pod_template(json!([])), &o, &BuiltinLists).unwrap();
        let names: Vec<&Value> =
            dropped["spec"]["template"]["spec"]["containers"].as_array().unwrap().iter().map(|c| &c["name"]).collect();
        assert_eq!(names, [&json!("side"), &json!("app")]);
        // ...but its image, owned only by kubectl, is gone.
        assert!(dropped["spec"]["template"]["spec"]["containers"][1].get("image").is_none());
    }

    #[test]
    fn set_lists_union_and_finalizers_are_sets() {
        let schema = json!({"type":"object","properties":{"spec":{"type":"object","properties":{
            "tags":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}}}}}});
        let lists = SchemaLists::new(&schema);
        let mut body = widget(json!({"tags":["a","b"]}));
        body["metadata"]["finalizers"] = json!(["x"]);
        let live = apply(None, &body, &wopts("one", T1), &lists).unwrap();
        let mut body2 = widget(json!({"tags":["c","a"]}));
        body2["metadata"]["finalizers"] = json!(["y"]);
        let out = apply(Some(&live), &body2, &wopts("two", T1), &lists).unwrap();
        // Applied order first, live-only items slotted in where they were.
        assert_eq!(out["spec"]["tags"], json!(["c", "a", "b"]));
        assert_eq!(out["metadata"]["finalizers"], json!(["x", "y"]));
    }

    #[test]
    fn managed_fields_reset_then_apply() {
        // `[{}]` through an update clears ownership; the next apply starts afresh.
        let live = apply(None, &widget(json!({"size":1})), &wopts("kubectl", T1), &AtomicLists).unwrap();
        let mut cleared = live.clone();
        cleared["metadata"]["managedFields"] = json!([{}]);
        record_update(Some(&live), &mut cleared, "kubectl-edit", None, "example.com/v1", T2, &AtomicLists);
        assert!(cleared["metadata"].get("managedFields").is_none());
        // Without a record of the earlier apply, omitting `size` no longer prunes it.
        let out = apply(Some(&cleared), &widget(json!({"other":1})), &wopts("kubectl", T2), &AtomicLists).unwrap();
        assert_eq!(out["spec"], json!({"size":1,"other":1}));
    }

    #[test]
    fn status_is_ignored_on_the_main_resource() {
        let mut body = widget(json!({"size":1}));
        body["status"] = json!({"ready":true});
        let created = apply(None, &body, &wopts("kubectl", T1), &AtomicLists).unwrap();
        assert!(created.get("status").is_none());
        assert!(created["metadata"]["managedFields"][0]["fieldsV1"].get("f:status").is_none());

        let mut live = created.clone();
        live["status"] = json!({"ready":false});
        let out = apply(Some(&live), &body, &wopts("kubectl", T2), &AtomicLists).unwrap();
        assert_eq!(out["status"], json!({"ready":false}));

        // Without a status subresource, status is an ordinary field.
        let plain = apply_with(None, &body, &wopts("kubectl", T1), &AtomicLists, ResetFields::Nothing).unwrap();
        assert_eq!(plain["status"], json!({"ready":true}));
    }

    #[test]
    fn status_subresource_applies_only_status() {
        let live = apply(None, &widget(json!({"size":1})), &wopts("kubectl", T1), &AtomicLists).unwrap();
        let mut body = widget(json!({"size":99}));
        body["metadata"]["labels"] = json!({"x":"y"});
        body["status"] = json!({"ready":true});
        let mut o = wopts("ctl", T2);
        o.subresource = Some("status".into());
        let out = apply(Some(&live), &body, &o, &AtomicLists).unwrap();
        assert_eq!(out["spec"], json!({"size":1}));
        assert!(out["metadata"].get("labels").is_none());
        assert_eq!(out["status"], json!({"ready":true}));
        let mf = out["metadata"]["managedFields"].as_array().unwrap();
        let ctl = mf.iter().find(|e| e["manager"] == "ctl").unwrap();
        assert_eq!(ctl["subresource"], "status");
        assert_eq!(ctl["fieldsV1"], json!({"f:status":{"f:ready":{}}}));
        assert_eq!(apply(None, &body, &o, &AtomicLists).unwrap_err().code(), 404);
    }

    #[test]
    fn request_errors() {
        let o = wopts("kubectl", T1);
        let mut with_mf = widget(json!({}));
        with_mf["metadata"]["managedFields"] = json!([]);
        let e = apply(None, &with_mf, &o, &AtomicLists).unwrap_err();
        assert_eq!((e.code(), e.to_string()), (400, "metadata.managedFields must be nil".to_string()));
        with_mf["metadata"]["managedFields"] = Value::Null;
        assert!(apply(None, &with_mf, &o, &AtomicLists).is_ok());

        let mut wrong = widget(json!({}));
        wrong["apiVersion"] = json!("example.com/v2");
        let e = apply(None, &wrong, &o, &AtomicLists).unwrap_err();
        assert_eq!((e.code(), e.to_string()), (400, "invalid object type: example.com/v2, Kind=Widget".to_string()));
        wrong.as_object_mut().unwrap().remove("apiVersion");
        assert_eq!(
            apply(None, &wrong, &o, &AtomicLists).unwrap_err().to_string(),
            "invalid object type: /, Kind=Widget"
        );
        let mut nokind = widget(json!({}));
        nokind.as_object_mut().unwrap().remove("kind");
        assert_eq!(
            apply(None, &nokind, &o, &AtomicLists).unwrap_err().to_string(),
            "invalid object type: example.com/v1, Kind="
        );
        let core = json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}});
        assert_eq!(
            apply(None, &core, &opts("m", "v1", "ConfigMap", T1), &AtomicLists).unwrap_err().to_string(),
            "invalid object type: /v1, Kind=Secret"
        );
        assert_eq!(apply(None, &json!([1]), &o, &AtomicLists).unwrap_err().code(), 400);

        let bad_list = pod_template(json!([{"image":"x"}]));
        let e = apply(None, &bad_list, &opts("m", "apps/v1", "Deployment", T1), &BuiltinLists).unwrap_err();
        assert_eq!(e.code(), 500);
        assert!(e.to_string().starts_with("failed to create typed patch object (/d; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0"), "{e}");
    }

    #[test]
    fn repeated_apply_is_a_no_op_and_keeps_the_time() {
        let body = widget(json!({"size":1}));
        let first = apply(None, &body, &wopts("kubectl", T1), &AtomicLists).unwrap();
        let second = apply(Some(&first), &body, &wopts("kubectl", T2), &AtomicLists).unwrap();
        assert_eq!(serde_json::to_string(&second).unwrap(), serde_json::to_string(&first).unwrap());
    }

    #[test]
    fn custom_keys_from_a_closure() {
        let lists = FnLists(|path: &[PathElement]| match path.last() {
            Some(PathElement::Field(f)) if f == "rules" => Some(ListType::map(["id"])),
            _ => None,
        });
        let live = apply(None, &widget(json!({"rules":[{"id":1,"v":"a"}]})), &wopts("a", T1), &lists).unwrap();
        let out = apply(Some(&live), &widget(json!({"rules":[{"id":2,"v":"b"}]})), &wopts("b", T1), &lists).unwrap();
        assert_eq!(out["spec"]["rules"], json!([{"id":1,"v":"a"},{"id":2,"v":"b"}]));
        assert!(fields_of(&out, &lists).contains(&[
            PathElement::Field("spec".into()),
            PathElement::Field("rules".into()),
            PathElement::Key(vec![("id".into(), json!(2))])
        ]));
    }

    // ----- property tests -----

    fn arb_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            (-3i64..3).prop_map(|n| json!(n)),
            "[a-c]{0,2}".prop_map(Value::String),
            Just(Value::Null),
        ]
    }

    fn arb_tree() -> impl Strategy<Value = Value> {
        arb_scalar().prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_containers() -> impl Strategy<Value = Value> {
        prop::collection::vec(("[a-c]", prop::option::of("[x-z]"), prop::option::of(arb_tree())), 0..4).prop_map(
            |items| {
                Value::Array(
                    items
                        .into_iter()
                        .map(|(name, image, extra)| {
                            let mut m = Map::new();
                            m.insert("name".into(), json!(name));
                            if let Some(i) = image {
                                m.insert("image".into(), json!(i));
                            }
                            if let Some(e) = extra {
                                m.insert("extra".into(), e);
                            }
                            Value::Object(m)
                        })
                        .collect(),
                )
            },
        )
    }

    fn arb_config() -> impl Strategy<Value = Value> {
        (
            prop::collection::btree_map("[a-c]", "[a-c]{0,2}", 0..3),
            prop::collection::vec("[a-c]", 0..3),
            arb_tree(),
            arb_containers(),
            prop::option::of(arb_tree()),
        )
            .prop_map(|(labels, finalizers, spec_extra, containers, status)| {
                let mut body = json!({"apiVersion":"apps/v1","kind":"Deployment",
                    "metadata":{"name":"d","labels":labels,"finalizers":finalizers},
                    "spec":{"extra":spec_extra,"template":{"spec":{"containers":containers}}}});
                if let Some(s) = status {
                    body["status"] = s;
                }
                body
            })
    }

    fn popts(manager: &str, force: bool, time: &str) -> ApplyOptions {
        let mut o = opts(manager, "apps/v1", "Deployment", time);
        o.force = force;
        o
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Applying the same configuration twice gives byte-identical output the second time.
        #[test]
        fn apply_is_idempotent(base in arb_config(), cfg in arb_config(), force in any::<bool>()) {
            let live = apply(None, &base, &popts("base", true, T1), &BuiltinLists).ok();
            if let Ok(once) = apply(live.as_ref(), &cfg, &popts("kubectl", force, T1), &BuiltinLists) {
                let twice = apply(Some(&once), &cfg, &popts("kubectl", false, T2), &BuiltinLists);
                prop_assert!(twice.is_ok(), "second apply failed: {:?}", twice);
                let twice = twice.unwrap();
                prop_assert_eq!(serde_json::to_string(&twice).unwrap(), serde_json::to_string(&once).unwrap());
            }
        }

        /// After an apply, the applier owns exactly what it sent, no two appliers disagree
        /// about a field they both own, and every owned field is present.
        #[test]
        fn ownership_matches_content(a in arb_config(), b in arb_config(), c in arb_config(), force in any::<bool>()) {
            let mut live = None;
            for (m, cfg) in [("one", &a), ("two", &b), ("one", &c)] {
                match apply(live.as_ref(), cfg, &popts(m, force, T1), &BuiltinLists) {
                    Ok(v) => live = Some(v),
                    Err(e) => prop_assert!(matches!(e, ApplyError::Conflict(_) | ApplyError::Invalid(_)), "{e}"),
                }
            }
            if let Some(obj) = live {
                let present = fields_of(&obj, &BuiltinLists);
                for e in decode_managed_fields(&obj).unwrap() {
                    for p in e.fields.paths() {
                        let covered = present.contains(&p)
                            || present.paths().iter().any(|q| q.len() > p.len() && q.starts_with(&p));
                        prop_assert!(covered, "{} owns missing {}", e.manager, path_to_string(&p));
                    }
                }
            }
        }

        /// Arbitrary bodies and live objects never panic.
        #[test]
        fn never_panics(live in arb_tree(), body in arb_tree(), force in any::<bool>(), sub in any::<bool>()) {
            let mut o = popts("m", force, T1);
            if sub { o.subresource = Some("status".into()); }
            let mut body = body;
            if let Value::Object(m) = &mut body {
                m.insert("apiVersion".into(), json!("apps/v1"));
                m.insert("kind".into(), json!("Deployment"));
            }
            let _ = apply(Some(&live), &body, &o, &BuiltinLists);
            let _ = apply(None, &body, &o, &AtomicLists);
        }
    }
}
