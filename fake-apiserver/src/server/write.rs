//! create, update (PUT), patch and the status subresource: the rules of
//! `registry/rest/create.go`, `update.go` and the apiextensions strategies.

use crate::frozen::Frozen;
use super::{metadata, ApiServer, PatchType, Target, WriteOptions, Written};
use crate::error::{ApiError, ApiResult, Cause};
use crate::object;
use crate::patch;
use apimachinery::managed_fields::{decode_managed_fields, is_reset_request, record_update_from, ManagedEntry};
use apimachinery::patch::{apply, merge, merge_keys, strategic};
use crate::resource::ResourceType;
use serde_json::{json, Value};

/// Fields only the server sets on create; whatever a client sends is replaced.
const SERVER_SET_ON_CREATE: &[&str] = &["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"];
/// Fields an update cannot change; the stored values are kept.
const KEPT_ON_UPDATE: &[&str] = &["creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"];
/// JSON patches with more operations are refused (413), as the real server does.
const MAX_JSON_PATCH_OPS: usize = 10_000;

impl ApiServer {
    pub fn create(&mut self, target: &Target, body: Value, opts: &WriteOptions) -> ApiResult<Written> {
        self.injected_error()?;
        self.create_object(target, body, opts, true)
    }

    /// `record_manager` is false when server-side apply already wrote managedFields.
    fn create_object(&mut self, target: &Target, body: Value, opts: &WriteOptions, record_manager: bool) -> ApiResult<Written> {
        if let Some(sub) = &target.subresource {
            return Err(ApiError::method_not_supported(format!("create is not supported on the {sub} subresource")));
        }
        let mut obj = self.check_body(target, body)?;
        let rt = &target.resource;
        if !object::resource_version(&obj).is_empty() {
            return Err(ApiError::internal("resourceVersion should not be set on objects to be created"));
        }
        let mut name = object::name(&obj).to_string();
        if name.is_empty() {
            let prefix = object::meta_str(&obj, "generateName").unwrap_or("").to_string();
            if prefix.is_empty() {
                return Err(self.invalid(target, "", vec![Cause::new("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")]));
            }
            name = format!("{prefix}{}", self.rng.name_suffix());
            object::set_meta(&mut obj, "name", Value::String(name.clone()));
        }
        if let Some(n) = &target.name {
            if !n.is_empty() && *n != name {
                return Err(ApiError::bad_request(format!("the name of the object ({name}) does not match the name on the URL ({n})")));
            }
        }
        if rt.namespaced {
            self.check_namespace_accepts_content(object::namespace(&obj))?;
        }
        for f in SERVER_SET_ON_CREATE {
            object::remove_meta(&mut obj, f);
        }
        let uid = self.rng.uuid();
        object::set_meta(&mut obj, "uid", Value::String(uid));
        object::set_meta(&mut obj, "creationTimestamp", Value::String(self.now()));
        if rt.tracks_generation() {
            object::set_meta(&mut obj, "generation", json!(1));
        }
        if rt.status_subresource {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        if rt.kind == "Namespace" && rt.group.is_empty() {
            obj["status"] = json!({"phase": "Active"});
        }
        let warnings = self.validate_object(target, &mut obj, None, opts)?;
        if rt.kind == "CustomResourceDefinition" {
            Self::accept_crd(&mut obj);
        }
        let key = Self::object_key(target, &name);
        if self.store.get(&key).is_some() {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        let mut managed = None;
        if record_manager && obj.is_object() {
            // As `record_update` starts a create: from the entries sent, if any.
            let mf = object::meta(&obj).and_then(|m| m.get("managedFields"));
            let entries = if is_reset_request(mf) { Vec::new() } else { decode_managed_fields(&obj).unwrap_or_default() };
            let empty = Value::Object(serde_json::Map::new());
            managed = Some(record_update_from(entries, &empty, &mut obj, &manager(opts), None, &rt.api_version(), &self.now(), rt.list_semantics()));
        }
        if opts.dry_run {
            return Ok(Written { object: Self::present(target, obj), created: true, warnings });
        }
        let stored = self.store.put_managed(key, obj, managed);
        if rt.kind == "CustomResourceDefinition" {
            self.register_crd(&stored);
        }
        self.lost_reply()?;
        Ok(Written { object: Self::present(target, stored), created: true, warnings })
    }

    /// PUT: replace the object (or its status) guarded by `metadata.resourceVersion`.
    pub fn update(&mut self, target: &Target, body: Value, opts: &WriteOptions) -> ApiResult<Written> {
        self.injected_error()?;
        let name = Self::require_name(target)?.to_string();
        let mut new = self.check_body(target, body)?;
        let body_name = object::name(&new).to_string();
        if body_name != name {
            return Err(ApiError::bad_request(format!("the name of the object ({body_name}) does not match the name on the URL ({name})")));
        }
        let stored = self.store.get(&Self::object_key(target, &name)).ok_or_else(|| Self::not_found(target, &name))?;
        // The stored managedFields stay parsed in the store; see `finish_update_with`.
        let lean = leaves_managed_fields_parsed(stored);
        let old = if lean { stored.to_value_without_managed_fields() } else { stored.to_value() };
        let rv = object::resource_version(&new).to_string();
        if rv.is_empty() {
            if target.resource.is_custom() {
                return Err(self.invalid(target, &name, vec![Cause::new("FieldValueInvalid", "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")]));
            }
            object::set_meta(&mut new, "resourceVersion", Value::String(object::resource_version(&old).to_string()));
        }
        self.finish_update_with(target, &old, new, opts, true, lean)
    }

    /// PATCH in any of the four formats; apply creates a missing object (201).
    pub fn patch(&mut self, target: &Target, patch_type: PatchType, body: &[u8], opts: &WriteOptions) -> ApiResult<Written> {
        self.injected_error()?;
        let name = Self::require_name(target)?.to_string();
        let rt = &target.resource;
        if patch_type == PatchType::Strategic && rt.is_custom() {
            return Err(ApiError::unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            ));
        }
        if patch_type != PatchType::Apply && opts.force.is_some() {
            return Err(patch_options_invalid("force", "Forbidden: may not be specified for non-apply patch"));
        }
        let manager = opts.field_manager.clone().unwrap_or_default();
        if patch_type == PatchType::Apply && manager.is_empty() {
            return Err(patch_options_invalid("fieldManager", "Required value: is required for apply patch"));
        }
        let stored = self.store.get(&Self::object_key(target, &name));
        let old;
        let mut lean = false;
        let now = self.now();
        let lists = rt.list_semantics();
        let patched = match patch_type {
            PatchType::Apply => {
                let applied = parse_apply_body(body)?;
                let applied_name = object::name(&applied);
                if applied_name != name {
                    return Err(ApiError::bad_request(format!("the name of the object ({applied_name}) does not match the name on the URL ({name})")));
                }
                let apply_opts = apply::ApplyOptions {
                    manager: manager.clone(),
                    force: opts.force.unwrap_or(false),
                    subresource: target.subresource.clone(),
                    api_version: rt.api_version(),
                    kind: rt.kind.clone(),
                    time: now.clone(),
                };
                let reset = patch::reset_fields(rt, target.subresource.as_deref());
                old = stored.map(Frozen::to_value);
                let result = apply::apply_with(old.as_ref(), &applied, &apply_opts, lists, reset).map_err(|e| patch::apply_error_to_status(rt, &name, e))?;
                if old.is_none() {
                    // Apply of a missing object is a create; its managedFields come from apply.
                    return self.create_object(target, strip_server_fields(result), opts, false);
                }
                result
            }
            _ => {
                let stored = stored.ok_or_else(|| Self::not_found(target, &name))?;
                let parsed = parse_patch(patch_type, body)?;
                // A patch that cannot reach the managedFields applies to the object without
                // them, which stay parsed in the store (see `finish_update_with`).
                lean = leaves_managed_fields_parsed(stored) && !reaches_managed_fields(patch_type, &parsed);
                let thawed = if lean { stored.to_value_without_managed_fields() } else { stored.to_value() };
                let current = Self::present(target, thawed.clone());
                old = Some(thawed);
                apply_patch(rt, patch_type, current, parsed)?
            }
        };
        let old = old.ok_or_else(|| Self::not_found(target, &name))?;
        if object::name(&patched) != name {
            return Err(ApiError::bad_request(format!("the name of the object ({}) does not match the name on the URL ({name})", object::name(&patched))));
        }
        let mut opts = opts.clone();
        if patch_type == PatchType::Apply {
            // Apply already recorded ownership; don't record it again as an Update.
            opts.field_manager = None;
        }
        let mut patched = patched;
        if object::resource_version(&patched).is_empty() {
            object::set_meta(&mut patched, "resourceVersion", Value::String(object::resource_version(&old).to_string()));
        }
        let record_manager = patch_type != PatchType::Apply;
        self.finish_update_with(target, &old, patched, &opts, record_manager, lean && record_manager)
    }

    /// The shared tail of PUT and PATCH: preconditions, status rules, generation, validation,
    /// no-op detection, finalizer-driven removal, commit.
    ///
    /// `lean`: `old` was thawed without its managedFields (which the store keeps parsed, and
    /// which are no reset request), and `new` has managedFields only if the client sent some:
    /// where it has none, they are the stored ones, as if thawed with the rest. Only a write
    /// that records its manager may be lean (the entries go back in through `record_update_from`).
    fn finish_update_with(&mut self, target: &Target, old: &Value, new: Value, opts: &WriteOptions, record_manager: bool, lean: bool) -> ApiResult<Written> {
        debug_assert!(record_manager || !lean);
        let rt = &target.resource;
        let name = object::name(old).to_string();
        if object::resource_version(&new) != object::resource_version(old) {
            return Err(ApiError::conflict(&rt.group, &rt.plural, &name));
        }
        let body_ns = object::namespace(&new);
        if rt.namespaced && !body_ns.is_empty() && body_ns != object::namespace(old) {
            return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
        }
        let new_uid = object::uid(&new);
        if !new_uid.is_empty() && new_uid != object::uid(old) {
            return Err(ApiError::conflict_because(&rt.group, &rt.plural, &name, &format!("Precondition failed: UID in precondition: {new_uid}, UID in object meta: {}", object::uid(old))));
        }
        let status_write = target.subresource.as_deref() == Some("status");
        let mut result = if status_write {
            if !rt.status_subresource {
                return Err(Self::not_found(target, &name));
            }
            // Only status (and managedFields) change through /status.
            let mut r = old.clone();
            match new.get("status") {
                Some(s) => r["status"] = s.clone(),
                None => {
                    if let Some(m) = r.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            if let Some(mf) = object::meta(&new).and_then(|m| m.get("managedFields")) {
                object::set_meta(&mut r, "managedFields", mf.clone());
            }
            r
        } else if let Some(sub) = &target.subresource {
            return Err(ApiError::not_found(&rt.group, &format!("{}/{sub}", rt.plural), &name));
        } else {
            let mut r = new;
            if rt.status_subresource {
                match old.get("status") {
                    Some(s) => r["status"] = s.clone(),
                    None => {
                        if let Some(m) = r.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            r
        };
        object::set_meta(&mut result, "uid", Value::String(object::uid(old).to_string()));
        object::set_meta(&mut result, "name", Value::String(name.clone()));
        if rt.namespaced {
            object::set_meta(&mut result, "namespace", Value::String(object::namespace(old).to_string()));
        } else {
            object::remove_meta(&mut result, "namespace");
        }
        for f in KEPT_ON_UPDATE {
            match object::meta(old).and_then(|m| m.get(*f)) {
                Some(v) => object::set_meta(&mut result, f, v.clone()),
                None => {
                    object::remove_meta(&mut result, f);
                }
            }
        }
        if object::is_deleting(old) {
            if let Some(c) = metadata::new_finalizers_while_deleting(old, &result) {
                return Err(self.invalid(target, &name, vec![c]));
            }
        }
        let mut warnings = self.validate_object(target, &mut result, Some(old), opts)?;
        if rt.tracks_generation() {
            let changed = if rt.status_subresource {
                !object::equal_except(&result, old, &["metadata", "status"])
            } else {
                !object::equal_except(&result, old, &["metadata"])
            };
            if changed {
                object::set_meta(&mut result, "generation", json!(object::generation(old) + 1));
            }
        }
        if rt.kind == "CustomResourceDefinition" && !status_write {
            Self::accept_crd(&mut result);
        }
        let key = Self::object_key(target, &name);
        if lean && self.sends_stored_managed_fields(&key, &result) {
            // The client sent back the stored ones: they may as well have been left out (and
            // need not be decoded).
            object::remove_meta(&mut result, "managedFields");
        }
        if object::meta(&result).and_then(|m| m.get("managedFields")).is_some_and(|mf| mf.as_array().is_some_and(Vec::is_empty)) {
            // `[]` means "leave managedFields alone".
            if lean {
                // Left out, they are the stored ones.
                object::remove_meta(&mut result, "managedFields");
            } else if let Some(mf) = object::meta(old).and_then(|m| m.get("managedFields")) {
                object::set_meta(&mut result, "managedFields", mf.clone());
            }
        }
        if same_ignoring_managed_fields(&result, old) && !managed_fields_cleared(&result) {
            let old = if lean { self.store.get(&key).map(Frozen::to_value).expect("the object is stored") } else { old.clone() };
            return Ok(Written { object: Self::present(target, old), created: false, warnings });
        }
        let mut managed = None;
        if record_manager && result.is_object() {
            let sub = target.subresource.as_deref().filter(|s| !s.is_empty());
            let entries = self.starting_entries(&key, old, &result, sub, lean);
            managed = Some(record_update_from(entries, old, &mut result, &manager(opts), sub, &rt.api_version(), &self.now(), rt.list_semantics()));
        }
        if opts.dry_run {
            return Ok(Written { object: Self::present(target, result), created: false, warnings });
        }
        let stored = if object::is_deleting(&result) && object::finalizers(&result).is_empty() {
            // The last finalizer is gone: the object goes now.
            let gone = self.store.remove_as(&key, result).expect("object exists");
            self.after_removal(rt, &gone);
            gone
        } else {
            let stored = self.store.put_managed(key, result, managed);
            if rt.kind == "CustomResourceDefinition" {
                self.register_crd(&stored);
            }
            stored
        };
        warnings.dedup();
        self.lost_reply()?;
        Ok(Written { object: Self::present(target, stored), created: false, warnings })
    }

    /// The entries an update's bookkeeping starts from, as `record_update` chooses them: a
    /// subresource write starts from the stored ones; otherwise `[{}]` starts from none, a
    /// valid non-empty list sent is taken as written, and anything else keeps the stored ones.
    /// When `lean`, the stored ones come parsed from the store, and `new` without managedFields
    /// has the stored ones.
    fn starting_entries(&self, key: &crate::store::ObjectKey, old: &Value, new: &Value, sub: Option<&str>, lean: bool) -> Vec<ManagedEntry> {
        let from_old = || match lean {
            true => self.store.managed_entries(key).map(<[ManagedEntry]>::to_vec).unwrap_or_default(),
            false => decode_managed_fields(old).unwrap_or_default(),
        };
        let new_mf = object::meta(new).and_then(|m| m.get("managedFields"));
        if sub.is_some() || (lean && new_mf.is_none()) {
            return from_old();
        }
        if is_reset_request(new_mf) {
            return Vec::new();
        }
        match decode_managed_fields(new) {
            Ok(e) if !e.is_empty() => e,
            _ => from_old(),
        }
    }

    /// Whether `new` carries exactly the managedFields stored under `key`.
    fn sends_stored_managed_fields(&self, key: &crate::store::ObjectKey, new: &Value) -> bool {
        let Some(sent) = object::meta(new).and_then(|m| m.get("managedFields")) else { return false };
        let stored = self.store.get(key).and_then(|o| o.get("metadata")).and_then(|m| m.get("managedFields"));
        stored.is_some_and(|stored| stored.equals(sent))
    }

    /// A request body must be an object of this type; namespace rules from `rest.BeforeCreate`.
    fn check_body(&self, target: &Target, body: Value) -> ApiResult<Value> {
        let rt = &target.resource;
        let mut obj = match body {
            Value::Object(_) => body,
            _ => return Err(ApiError::bad_request("the body of the request must be a JSON or YAML object")),
        };
        let expected = rt.api_version();
        match obj.get("apiVersion").and_then(Value::as_str) {
            Some(av) if av != expected => {
                return Err(ApiError::bad_request(format!("the API version in the data ({av}) does not match the expected API version ({expected})")))
            }
            _ => obj["apiVersion"] = Value::String(expected),
        }
        match obj.get("kind").and_then(Value::as_str) {
            Some(k) if k != rt.kind => {
                return Err(ApiError::bad_request(format!("the kind in the data ({k}) does not match the expected kind ({})", rt.kind)))
            }
            _ => obj["kind"] = Value::String(rt.kind.clone()),
        }
        if !obj.get("metadata").is_none_or(Value::is_object) {
            return Err(ApiError::bad_request("metadata must be an object"));
        }
        if rt.namespaced {
            let url_ns = target.namespace.clone().unwrap_or_default();
            let body_ns = object::namespace(&obj).to_string();
            match (body_ns.is_empty(), url_ns.is_empty()) {
                (true, true) => return Err(ApiError::bad_request("the namespace of the provided object is empty and the request has no namespace")),
                (true, false) => object::set_meta(&mut obj, "namespace", Value::String(url_ns)),
                (false, false) if body_ns != url_ns => {
                    return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"))
                }
                _ => {}
            }
        } else {
            object::remove_meta(&mut obj, "namespace");
        }
        Ok(obj)
    }

    fn check_namespace_accepts_content(&self, namespace: &str) -> ApiResult<()> {
        let key = crate::store::ObjectKey {
            resource: crate::resource::StorageKey { group: String::new(), plural: "namespaces".into() },
            namespace: String::new(),
            name: namespace.to_string(),
        };
        match self.store.get(&key) {
            None => Err(ApiError::not_found("", "namespaces", namespace)),
            Some(ns) if object::is_deleting(ns) => Err(ApiError::forbidden(format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Schema defaulting, pruning and validation (custom resources), metadata validation, and
    /// the CRD's own checks. Returns warnings for unknown fields under `fieldValidation=Warn`.
    fn validate_object(&self, target: &Target, obj: &mut Value, old: Option<&Value>, opts: &WriteOptions) -> ApiResult<Vec<String>> {
        let rt = &target.resource;
        let name = object::name(obj).to_string();
        let mut warnings = Vec::new();
        super::builtin::normalize(rt, obj);
        let mut causes = metadata::validate(&rt.kind, &rt.group, obj);
        if let Some(schema) = rt.schema() {
            let unknown = crate::validation::prune(schema, obj);
            crate::validation::default(schema, obj);
            match opts.field_validation {
                super::FieldValidation::Strict if !unknown.is_empty() => {
                    let list = unknown.iter().map(|f| crate::validation::unknown_field_message(f)).collect::<Vec<_>>().join(", ");
                    return Err(ApiError::bad_request(format!("{} in body: strict decoding error: {list}", rt.kind_group())));
                }
                super::FieldValidation::Warn => warnings.extend(unknown.iter().map(|f| crate::validation::unknown_field_message(f))),
                _ => {}
            }
            causes.extend(crate::validation::validate(schema, obj));
        }
        if rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io" {
            causes.extend(Self::crd_causes(obj, old));
        }
        causes.extend(super::builtin::causes(rt, obj, old));
        if causes.is_empty() {
            Ok(warnings)
        } else {
            Err(self.invalid(target, &name, causes))
        }
    }

    fn invalid(&self, target: &Target, name: &str, causes: Vec<Cause>) -> ApiError {
        ApiError::invalid(&target.resource.kind_group(), &target.resource.group, &target.resource.kind, name, causes)
    }
}

fn manager(opts: &WriteOptions) -> String {
    opts.field_manager.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| "unknown".to_string())
}

/// Equal apart from managedFields and resourceVersion: such a write is a no-op (same RV, no event).
/// A missing `metadata` counts as an empty one.
fn same_ignoring_managed_fields(a: &Value, b: &Value) -> bool {
    let empty = serde_json::Map::new();
    let (meta_a, meta_b) = (object::meta(a).unwrap_or(&empty), object::meta(b).unwrap_or(&empty));
    object::equal_except(a, b, &["metadata"]) && object::maps_equal_except(meta_a, meta_b, &["managedFields", "resourceVersion"])
}

/// `managedFields: [{}]` clears them, which is a change even if nothing else is.
fn managed_fields_cleared(obj: &Value) -> bool {
    object::meta(obj).and_then(|m| m.get("managedFields")).and_then(Value::as_array).is_some_and(|a| a.len() == 1 && a[0].as_object().is_some_and(|o| o.is_empty()))
}

fn strip_server_fields(mut obj: Value) -> Value {
    for f in ["resourceVersion", "uid", "creationTimestamp", "generation"] {
        object::remove_meta(&mut obj, f);
    }
    obj
}

/// Apply bodies are YAML (JSON is a subset).
fn parse_apply_body(body: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("error decoding YAML: invalid UTF-8"))?;
    let value: Value = serde_json::from_str(text)
        .or_else(|_| serde_saphyr::from_str::<Value>(text))
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("error decoding YAML: the apply configuration must be an object"));
    }
    if object::meta(&value).is_some_and(|m| m.get("managedFields").is_some_and(|mf| !mf.is_null())) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    Ok(value)
}

/// A JSON, merge or strategic patch body, decoded and checked as far as it can be without the
/// object it applies to.
fn parse_patch(patch_type: PatchType, body: &[u8]) -> ApiResult<Value> {
    let p: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    match patch_type {
        PatchType::Json if p.as_array().is_some_and(|a| a.len() > MAX_JSON_PATCH_OPS) => Err(ApiError::request_entity_too_large(format!(
            "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPS}, got {}",
            p.as_array().map_or(0, Vec::len)
        ))),
        PatchType::Merge if !p.is_object() => Err(ApiError::bad_request("error decoding patch: a merge patch must be a JSON object")),
        _ => Ok(p),
    }
}

/// Whether a parsed patch may read or change `metadata.managedFields` (so must apply to the
/// object with them): a JSON patch with an operation whose `path` or `from` is the object,
/// its metadata or in its managedFields (or is no pointer at all); a merge patch that names
/// them; a strategic one that names them or carries a directive (`$patch`, `$retainKeys`, ...)
/// at the top or in `metadata`.
fn reaches_managed_fields(patch_type: PatchType, patch: &Value) -> bool {
    let directive = |m: &serde_json::Map<String, Value>| m.keys().any(|k| k.starts_with('$'));
    let meta = patch.get("metadata").and_then(Value::as_object);
    match patch_type {
        PatchType::Json => patch.as_array().is_none_or(|ops| {
            ops.iter().any(|op| {
                let Some(op) = op.as_object() else { return true };
                ["path", "from"].iter().any(|k| match op.get(*k) {
                    None => false,
                    Some(Value::String(pointer)) => pointer_reaches_managed_fields(pointer),
                    Some(_) => true,
                })
            })
        }),
        PatchType::Merge => meta.is_some_and(|m| m.contains_key("managedFields")),
        PatchType::Strategic => {
            patch.as_object().is_none_or(directive) || meta.is_some_and(|m| m.contains_key("managedFields") || directive(m))
        }
        PatchType::Apply => true,
    }
}

/// Whether a JSON pointer addresses the object, its metadata or something in its
/// managedFields (a malformed one counts). `~0` and `~1` unescape to `~` and `/`, so a
/// segment that reads `metadata` or `managedFields` once unescaped reads so as written.
fn pointer_reaches_managed_fields(pointer: &str) -> bool {
    let Some(rest) = pointer.strip_prefix('/') else { return true };
    let mut segments = rest.split('/');
    if segments.next() != Some("metadata") {
        return false;
    }
    segments.next().is_none_or(|s| s == "managedFields")
}

/// Whether a write may leave the stored object's managedFields parsed in the store rather than
/// thaw them (`finish_update_with`'s `lean`): they must not be a reset request (`[{}]`), which
/// a write that left them out could not tell from the stored ones.
fn leaves_managed_fields_parsed(stored: &Frozen) -> bool {
    match stored.get("metadata").and_then(|m| m.get("managedFields")) {
        Some(Frozen::Array(items)) if items.len() == 1 => match &items[0] {
            Frozen::Object(entries) => !entries.iter().all(|(_, v)| match v {
                Frozen::Null => true,
                Frozen::String(s) => s.is_empty(),
                _ => false,
            }),
            _ => true,
        },
        _ => true,
    }
}

/// Applies a parsed patch to `current`, which it consumes (no copy of the object is made).
fn apply_patch(rt: &ResourceType, patch_type: PatchType, current: Value, p: Value) -> ApiResult<Value> {
    match patch_type {
        PatchType::Json => apimachinery::patch::json::apply_owned(current, &p).map_err(patch::json_patch_error_to_status),
        PatchType::Merge => Ok(merge::apply_owned(current, &p)),
        PatchType::Strategic => {
            let meta = merge_keys::builtin(&rt.group, &rt.kind)
                .ok_or_else(|| ApiError::unsupported_media_type(format!("strategic merge patch is not supported for {}", rt.kind_group())))?;
            strategic::apply(&current, &p, meta).map_err(|e| ApiError::bad_request(e.to_string()))
        }
        PatchType::Apply => unreachable!("apply is handled by the caller"),
    }
}

fn patch_options_invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid("PatchOptions.meta.k8s.io", "meta.k8s.io", "PatchOptions", "", vec![Cause::new("FieldValueInvalid", field, message)])
}
