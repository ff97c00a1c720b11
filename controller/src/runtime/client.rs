//! The cluster-client trait and its vocabulary. Objects are unstructured JSON so the same
//! trait carries Eno's kinds and whatever a synthesizer emits.

use futures::future::{BoxFuture, FutureExt, TryFutureExt};
use futures::stream::BoxStream;
use serde_json::Value;

/// One step of a watcher's view of a kind.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent {
    /// A (re)list starts; the objects follow as `InitApply`, then `InitDone`.
    Init,
    InitApply(Value),
    /// The relist is complete: objects not seen since `Init` are gone.
    InitDone,
    /// An object was added or changed.
    Apply(Value),
    /// An object was removed (its last state).
    Delete(Value),
}

/// `apiVersion` + `kind`: what the backends resolve to a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvk {
    pub api_version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(api_version: &str, kind: &str) -> Self {
        Gvk { api_version: api_version.to_string(), kind: kind.to_string() }
    }

    /// The type of an object, from its own `apiVersion` and `kind`.
    pub fn of(obj: &Value) -> Option<Self> {
        Some(Gvk::new(obj.get("apiVersion")?.as_str()?, obj.get("kind")?.as_str()?))
    }

    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// One object's address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub gvk: Gvk,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(gvk: Gvk, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef { gvk, namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string), name: name.to_string() }
    }

    /// The address of an object, from its own type and metadata.
    pub fn of(obj: &Value) -> Option<Self> {
        let meta = obj.get("metadata")?;
        Some(ObjectRef::new(Gvk::of(obj)?, meta.get("namespace").and_then(Value::as_str), meta.get("name")?.as_str()?))
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{} {ns}/{}", self.gvk.api_version, self.gvk.kind, self.name),
            None => write!(f, "{}/{} {}", self.gvk.api_version, self.gvk.kind, self.name),
        }
    }
}

/// Drops `metadata.managedFields`: the controllers read Eno's own objects without them (they
/// are often the largest part of an object, and no decision looks at them).
pub fn drop_managed_fields(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// The type and namespace a new object goes to (it may have only a `generateName`).
pub fn creatable(obj: &Value) -> ClientResult<(Gvk, Option<String>)> {
    let gvk = Gvk::of(obj).ok_or_else(|| ClientError::Decode("object without apiVersion or kind".into()))?;
    let namespace = obj["metadata"]["namespace"].as_str().filter(|n| !n.is_empty()).map(str::to_string);
    Ok((gvk, namespace))
}

/// What went wrong talking to the API server: a `Status` it returned, or no answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{code} {reason}: {message}")]
    Api { code: u16, reason: String, message: String },
    #[error("transport error: {0}")]
    Transport(String),
    /// The backend could not map the kind to a resource (no such CRD), in the server's words:
    /// `no matches for kind "Foo" in version "example.com/v1"`.
    #[error("{0}")]
    UnknownKind(String),
    #[error("unexpected response: {0}")]
    Decode(String),
    /// Refused without asking the server: this replica does not hold the leader election Lease.
    #[error("not the leader: this replica does not write until it holds the leader election Lease")]
    NotLeader,
}

impl ClientError {
    fn code(&self) -> Option<u16> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }
    pub fn is_gone(&self) -> bool {
        self.code() == Some(410)
    }
    pub fn is_invalid(&self) -> bool {
        self.code() == Some(422)
    }
    /// Worth retrying as-is: throttling, server trouble, lost connections.
    pub fn is_transient(&self) -> bool {
        matches!(self.code(), Some(429 | 500 | 502 | 503 | 504)) || matches!(self, ClientError::Transport(_))
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub semantic: ListSemantic,
}

/// How fresh a list must be (kube-rs's `ListSemantic`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListSemantic {
    /// A quorum read: the latest state.
    #[default]
    MostRecent,
    /// `resourceVersion=0`: whatever an API server's watch cache holds, which is cheaper for
    /// large kinds but may be older than a state this client already saw (a lagging replica of
    /// an HA control plane), so an informer can travel back in time on a relist.
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList {
    pub items: Vec<Value>,
    pub resource_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    Added(Value),
    Modified(Value),
    Deleted(Value),
    /// Nothing changed up to this resourceVersion.
    Bookmark(String),
    /// An in-stream error, e.g. 410 Expired: the watcher must relist.
    Error(ClientError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    /// Server-side apply with this client's field manager.
    Apply { force: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub kind: PatchKind,
    pub body: Value,
    /// Patch the status subresource.
    pub status: bool,
}

impl Patch {
    pub fn json(ops: Value) -> Self {
        Patch { kind: PatchKind::Json, body: ops, status: false }
    }
    pub fn merge(body: Value) -> Self {
        Patch { kind: PatchKind::Merge, body, status: false }
    }
    pub fn strategic(body: Value) -> Self {
        Patch { kind: PatchKind::Strategic, body, status: false }
    }
    pub fn on_status(mut self) -> Self {
        self.status = true;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// Preconditions make a delete optimistic: it fails (409) if the object was replaced or changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteParams {
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

/// The API verbs reconcilers may use. Every backend returns the errors a real server would.
pub trait Cluster: Send + Sync + 'static {
    /// `Ok(None)` when the object does not exist.
    fn get(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>>;
    /// [`Cluster::get`] without the object's `metadata.managedFields`, for readers that have no
    /// use for them: a backend may spare copying them (the in-process one does).
    fn get_without_managed_fields(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        self.get(r)
            .map_ok(|found| {
                found.map(|mut o| {
                    drop_managed_fields(&mut o);
                    o
                })
            })
            .boxed()
    }
    fn list(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxFuture<'static, ClientResult<ObjectList>>;
    /// Events after `resource_version`, with bookmarks, of the objects `params`' selectors
    /// match (an object that stops matching is `Deleted`; its semantic is for lists only).
    fn watch(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams, resource_version: &str) -> BoxFuture<'static, ClientResult<BoxStream<'static, WatchEvent>>>;
    fn create(&self, object: &Value) -> BoxFuture<'static, ClientResult<Value>>;
    /// PUT of the object (or of its status with `status`), guarded by its resourceVersion.
    fn replace(&self, object: &Value, status: bool) -> BoxFuture<'static, ClientResult<Value>>;
    fn patch(&self, r: &ObjectRef, patch: &Patch) -> BoxFuture<'static, ClientResult<Value>>;
    /// `Ok(Some(obj))` while finalizers hold it, `Ok(None)` once it is gone.
    fn delete(&self, r: &ObjectRef, params: &DeleteParams) -> BoxFuture<'static, ClientResult<Option<Value>>>;
    /// What an informer caches `gvk` from: its list (with `params`' semantic and selectors),
    /// then its changes, relisting whenever the watch expires or fails. The stream never ends;
    /// dropping it stops watching.
    fn watcher(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxStream<'static, CacheEvent>;
}
