//! The API server's semantics, free of I/O: every verb as a method over the store.
//!
//! The HTTP front (`crate::http`) and in-process callers (the simulator, the fake backend of the
//! controller) both end up here, so they cannot disagree about a rule.

mod builtin;
mod crd;
mod delete;
mod gc;
mod list;
mod metadata;
mod read;
mod write;

pub use list::List;
pub use read::{Watch, WatchEvent, WatchPoll};

use crate::clock::{format_time, Clock};
use crate::error::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::resource::{Registry, ResourceType};
use crate::rng::Rng;
use crate::store::{ObjectKey, Store};
use serde_json::Value;
use std::sync::Arc;

/// How strictly unknown or duplicate fields are treated on writes (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    /// The server default: unknown fields are dropped and reported as warnings.
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: &str) -> ApiResult<Self> {
        match s {
            "Ignore" => Ok(FieldValidation::Ignore),
            "Warn" | "" => Ok(FieldValidation::Warn),
            "Strict" => Ok(FieldValidation::Strict),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}. Supported values: Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Options every write takes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Recorded in `managedFields`; required for apply.
    pub field_manager: Option<String>,
    pub dry_run: bool,
    pub field_validation: FieldValidation,
    /// Apply only: take ownership of conflicting fields.
    pub force: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    /// From a request `Content-Type` (a `;charset=...` suffix is ignored).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Some(PatchType::Apply),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    Orphan,
    #[default]
    Background,
    Foreground,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    NotOlderThan,
    Exact,
}

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<u64>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// Watch only.
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub timeout_seconds: Option<u64>,
    /// In-process readers only (no query parameter): items and events come without
    /// `metadata.managedFields`, for a reader that drops them anyway (an informer), since
    /// thawing them is much of what a read costs.
    pub without_managed_fields: bool,
}

/// What a request addresses once its URL is resolved: a type, and optionally a namespace,
/// a name and a subresource.
#[derive(Debug, Clone)]
pub struct Target {
    /// Shared with the registry: resolving a request copies no type (nor its schema).
    pub resource: Arc<ResourceType>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// A successful write: the stored (or would-be stored, under dry run) object.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub object: Value,
    /// 201 rather than 200 (create, or apply that created).
    pub created: bool,
    /// `Warning` headers, e.g. unknown fields dropped under `fieldValidation=Warn`.
    pub warnings: Vec<String>,
}

impl Written {
    /// With `earlier` warnings (found before the core saw the request) first.
    pub fn warned(mut self, earlier: Vec<String>) -> Self {
        self.warnings.splice(0..0, earlier);
        self
    }
}

/// A delete's reply: the object while finalizers hold it (or for kinds that return it), else
/// a `Status` of kind Success.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    Pending(Value),
    Gone(Value),
}

impl Deleted {
    pub fn body(&self) -> &Value {
        match self {
            Deleted::Pending(v) | Deleted::Gone(v) => v,
        }
    }
}

/// Tunables fixed at construction.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed of the server's RNG (uids, generated names, fault dice).
    pub seed: u64,
    /// Events the log keeps before compacting the oldest.
    pub event_log_capacity: usize,
    /// Namespaces that exist from the start.
    pub namespaces: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            event_log_capacity: 10_000,
            namespaces: ["default", "kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec(),
        }
    }
}

pub struct ApiServer {
    registry: Registry,
    store: Store,
    clock: Arc<dyn Clock>,
    rng: Rng,
    faults: Faults,
    /// Bumped by `close_watches`: watches opened under an older epoch end at their next poll.
    watch_epoch: u64,
    /// Watches opened before this epoch end with 410 Expired rather than quietly (`expire_watches`).
    expired_before_epoch: u64,
}

impl ApiServer {
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Self {
        let mut server = ApiServer {
            registry: Registry::with_builtins(),
            store: Store::new(config.event_log_capacity),
            clock,
            rng: Rng::seeded(config.seed),
            faults: Faults::none(),
            watch_epoch: 0,
            expired_before_epoch: 0,
        };
        let namespaces = server.registry.get("", "v1", "namespaces").cloned().expect("namespaces are built in");
        for ns in &config.namespaces {
            let target = Target { resource: namespaces.clone(), namespace: None, name: None, subresource: None };
            let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            server.create(&target, body, &WriteOptions::default()).expect("bootstrap namespaces are valid");
        }
        server
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn revision(&self) -> u64 {
        self.store.revision()
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Raises the compaction floor: watches and continue tokens from before `revision` expire.
    pub fn compact(&mut self, revision: u64) {
        self.store.compact(revision);
    }

    /// Ends every open watch at its next poll (clients must re-watch, or relist on 410).
    pub fn watch_epoch(&self) -> u64 {
        self.watch_epoch
    }

    pub fn close_watches(&mut self) {
        self.watch_epoch += 1;
    }

    /// Ends every open watch at its next poll with 410 Expired, without compacting history: a
    /// client that failed over to an apiserver whose watch cache does not hold its revision must
    /// relist (and a `resourceVersion=0` relist may then be served from a lagging cache).
    pub fn expire_watches(&mut self) {
        self.watch_epoch += 1;
        self.expired_before_epoch = self.watch_epoch;
    }

    /// The type behind a URL's group, version and plural; 404 like the real server otherwise.
    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> ApiResult<Arc<ResourceType>> {
        self.registry
            .get(group, version, plural)
            .cloned()
            .ok_or_else(|| ApiError::new(404, "NotFound", "the server could not find the requested resource"))
    }

    /// A target for one named object, resolved from `apiVersion` and `kind` (in-process callers).
    pub fn target_for(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: Option<&str>) -> ApiResult<Target> {
        let (group, version) = crate::object::split_api_version(api_version);
        let resource = self.registry.by_kind(group, version, kind).cloned().ok_or_else(|| {
            ApiError::new(404, "NotFound", format!("no matches for kind \"{kind}\" in version \"{api_version}\""))
        })?;
        Ok(Target {
            namespace: if resource.namespaced { namespace.map(str::to_string) } else { None },
            name: name.map(str::to_string),
            resource,
            subresource: None,
        })
    }

    /// What an in-process request for an object of `kind` asks, as the audit log names it
    /// (namespace and name as the HTTP front would route it); for a kind the server does not
    /// serve, the discovery request a client makes to look the kind up.
    pub fn request_for(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> crate::auth::Request {
        let Ok(target) = self.target_for(api_version, kind, namespace, Some(name)) else {
            let path = if api_version.contains('/') { format!("/apis/{api_version}") } else { format!("/api/{api_version}") };
            return crate::auth::Request::NonResource { path };
        };
        let rt = &target.resource;
        // A Namespace object's own requests are in that namespace.
        let namespace = if rt.group.is_empty() && rt.plural == "namespaces" { name } else { target.namespace.as_deref().unwrap_or_default() };
        crate::auth::Request::resource(&rt.group, &rt.plural, namespace, name)
    }

    /// The server's idea of now (for printing ages).
    pub fn now_time(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    fn now(&self) -> String {
        format_time(self.clock.now())
    }

    /// The injected failure for this request, if the dice say so.
    fn injected_error(&mut self) -> ApiResult<()> {
        if self.faults.error_codes.is_empty() || !self.rng.chance(self.faults.error_rate) {
            return Ok(());
        }
        let code = self.faults.error_codes[self.rng.below(self.faults.error_codes.len() as u64) as usize];
        Err(match code {
            409 => ApiError::new(409, "Conflict", "Operation cannot be fulfilled: injected conflict"),
            429 => ApiError::too_many_requests(),
            503 => ApiError::service_unavailable(),
            504 => ApiError::timeout(),
            _ => ApiError::internal("injected fault"),
        })
    }

    /// After a committed write: maybe pretend the reply was lost.
    fn lost_reply(&mut self) -> ApiResult<()> {
        if self.rng.chance(self.faults.timeout_after_commit_rate) {
            return Err(ApiError::timeout());
        }
        Ok(())
    }

    fn object_key(target: &Target, name: &str) -> ObjectKey {
        ObjectKey {
            resource: target.resource.storage_key(),
            namespace: if target.resource.namespaced { target.namespace.clone().unwrap_or_default() } else { String::new() },
            name: name.to_string(),
        }
    }

    fn require_name(target: &Target) -> ApiResult<&str> {
        target.name.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| ApiError::method_not_supported("a name is required for this request"))
    }

    /// The object as clients see it at the version they asked for.
    fn present(target: &Target, object: Value) -> Value {
        list::stamp(object, &target.resource.api_version(), &target.resource.kind)
    }

    fn not_found(target: &Target, name: &str) -> ApiError {
        ApiError::not_found(&target.resource.group, &target.resource.plural, name)
    }
}

#[cfg(test)]
mod tests;
