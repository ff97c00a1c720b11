//! The in-process backend: calls the fake API server's core directly. It compiles in both
//! builds, so the simulator and unit tests run reconcilers without sockets.

use super::client::*;
use super::client::CacheEvent;
use fake_apiserver::server::{self, Deleted, ListOptions, PatchType, Target, WriteOptions};
use fake_apiserver::shared::AuditEvent;
use fake_apiserver::{ApiError, SharedApiServer};
use futures::future::{BoxFuture, FutureExt, TryFutureExt};
use futures::stream::{BoxStream, StreamExt};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long a request takes to reach the server, drawn per request.
pub type Latency = Arc<dyn Fn() -> Duration + Send + Sync>;

/// Told of each write the client committed; the response waits for the future it answers, if
/// any (one that never ends loses the response).
pub type OnCommit = Arc<dyn Fn() -> Option<BoxFuture<'static, ()>> + Send + Sync>;

/// Whether the client can reach the server now (`false`: a network partition).
pub type Reachable = Arc<dyn Fn() -> bool + Send + Sync>;

/// One client of the fake API server; its writes are recorded under `field_manager`.
#[derive(Clone)]
pub struct FakeCluster {
    server: SharedApiServer,
    field_manager: String,
    bookmark_interval: Duration,
    latency: Option<Latency>,
    on_commit: Option<OnCommit>,
    reachable: Option<Reachable>,
    /// Lists and watches answer without `metadata.managedFields`: set for the client an
    /// informer's watcher uses, since the informer drops them anyway.
    without_managed_fields: bool,
}

impl FakeCluster {
    pub fn new(server: SharedApiServer, field_manager: &str) -> Self {
        FakeCluster { server, field_manager: field_manager.to_string(), bookmark_interval: Duration::from_secs(5), latency: None, on_commit: None, reachable: None, without_managed_fields: false }
    }

    /// Calls `on_commit` after each request that committed a write; when it answers a future,
    /// the response waits for it. The simulator stops the process between a write and its
    /// response that way (a node cannot kill or pause itself from one of its own tasks): a
    /// future that never ends loses the response with a killed process, whose next
    /// incarnation starts from whatever intermediate state that write left; one that ends once
    /// the node is paused holds the response until the process runs again.
    pub fn with_on_commit(mut self, on_commit: impl Fn() -> Option<BoxFuture<'static, ()>> + Send + Sync + 'static) -> Self {
        self.on_commit = Some(Arc::new(on_commit));
        self
    }

    /// Makes every request wait `latency()` before it reaches the server. Without it a request
    /// is served the moment it is made, so a reconciler's read and its write can never be told
    /// apart by another task; with it (in virtual time, under madsim) other replicas' writes
    /// land in between, as over a network.
    pub fn with_latency(mut self, latency: impl Fn() -> Duration + Send + Sync + 'static) -> Self {
        self.latency = Some(Arc::new(latency));
        self
    }

    /// Cuts the client off from the server whenever `reachable()` says so (a network
    /// partition): its requests fail without reaching the server, and its open watches end at
    /// their next event.
    pub fn with_reachable(mut self, reachable: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.reachable = Some(Arc::new(reachable));
        self
    }

    /// Serves `request` (`verb` on `about`) against the server, after the request's latency if
    /// there is one, and tells the server's audit log how it was answered.
    fn call<T: Send + 'static>(&self, verb: &'static str, about: About, request: impl FnOnce(&mut server::ApiServer) -> ClientResult<T> + Send + 'static) -> BoxFuture<'static, ClientResult<T>> {
        let (server, on_commit, reachable, user) = (self.server.clone(), self.on_commit.clone(), self.reachable.clone(), self.field_manager.clone());
        // The response, and what it waits for before it is answered.
        let serve = move || {
            if reachable.is_some_and(|r| !r()) {
                return (Err(ClientError::Transport("connection refused: the API server cannot be reached".into())), None);
            }
            let (result, committed, asked) = server.with(|s| {
                let before = s.revision();
                let asked = s.request_for(&about.gvk.api_version, &about.gvk.kind, about.namespace.as_deref(), &about.name);
                let result = request(s);
                (result, s.revision() != before, asked)
            });
            server.audit(&AuditEvent { user, verb: verb.to_string(), request: asked, code: answered(verb, &result) });
            let hold = if committed { on_commit.and_then(|hook| hook()) } else { None };
            (result, hold)
        };
        let answer = |(result, hold): (ClientResult<T>, Option<BoxFuture<'static, ()>>)| async move {
            if let Some(hold) = hold {
                hold.await;
            }
            result
        };
        match &self.latency {
            None => match serve() {
                (result, None) => futures::future::ready(result).boxed(),
                held => answer(held).boxed(),
            },
            Some(latency) => {
                let delay = latency();
                async move {
                    tokio::time::sleep(delay).await;
                    answer(serve()).await
                }
                .boxed()
            }
        }
    }

    pub fn server(&self) -> &SharedApiServer {
        &self.server
    }

    fn get_object(&self, r: &ObjectRef, without_managed_fields: bool) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        let r = r.clone();
        // A 404 is answered (and audited) as such; the caller sees no object.
        self.call("get", About::object(&r), move |s| {
            let t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            s.get_with(&t, &ListOptions { without_managed_fields, ..Default::default() }).map_err(api_error)
        })
        .map(|result| match result {
            Ok(o) => Ok(Some(o)),
            Err(ClientError::Api { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        })
        .boxed()
    }

    fn write_options(&self, force: Option<bool>) -> WriteOptions {
        WriteOptions { field_manager: Some(self.field_manager.clone()), force, ..Default::default() }
    }
}

/// Installs Eno's CRDs into a fake API server (what `eno dev` and the simulator start from).
pub fn install_crds(server: &SharedApiServer) -> Result<(), ApiError> {
    // Generated once per process: deriving the schemas is slow, and a simulation installs them
    // into thousands of servers.
    static BODIES: OnceLock<Result<Vec<Value>, String>> = OnceLock::new();
    let bodies = BODIES.get_or_init(|| crate::api::crds::crds().iter().map(|crd| serde_json::to_value(crd).map_err(|e| e.to_string())).collect());
    for body in bodies.as_ref().map_err(|e| ApiError::internal(e.clone()))? {
        let body = body.clone();
        server.with(|s| {
            let target = s.target_for("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, None)?;
            s.create(&target, body, &WriteOptions { field_manager: Some("eno".into()), ..Default::default() })
        })?;
    }
    Ok(())
}

/// What a request is about, for the audit log: the type, namespace and name it addresses.
struct About {
    gvk: Gvk,
    namespace: Option<String>,
    name: String,
}

impl About {
    fn object(r: &ObjectRef) -> Self {
        About { gvk: r.gvk.clone(), namespace: r.namespace.clone(), name: r.name.clone() }
    }

    fn collection(gvk: &Gvk, namespace: Option<&str>) -> Self {
        About { gvk: gvk.clone(), namespace: namespace.map(str::to_string), name: String::new() }
    }

    /// A whole object sent (create, replace): whatever it says of itself.
    fn sent(object: &Value) -> Self {
        let gvk = Gvk::of(object).unwrap_or_else(|| Gvk::new("", ""));
        let (namespace, name) = (object["metadata"]["namespace"].as_str(), object["metadata"]["name"].as_str().unwrap_or_default());
        About { gvk, namespace: namespace.map(str::to_string), name: name.to_string() }
    }
}

/// The HTTP status a request was answered with.
fn answered<T>(verb: &str, result: &ClientResult<T>) -> u16 {
    match result {
        Ok(_) if verb == "create" => 201,
        Ok(_) => 200,
        Err(ClientError::Api { code, .. }) => *code,
        Err(ClientError::UnknownKind(_)) => 404,
        Err(_) => 400,
    }
}

fn api_error(e: ApiError) -> ClientError {
    if e.code == 404 && e.message.starts_with("no matches for kind") {
        return ClientError::UnknownKind(e.message);
    }
    ClientError::Api { code: e.code, reason: e.reason, message: e.message }
}

fn target(s: &server::ApiServer, gvk: &Gvk, namespace: Option<&str>, name: Option<&str>) -> ClientResult<Target> {
    s.target_for(&gvk.api_version, &gvk.kind, namespace, name).map_err(api_error)
}

impl Cluster for FakeCluster {
    fn get(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        self.get_object(r, false)
    }

    fn get_without_managed_fields(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        self.get_object(r, true)
    }

    fn list(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxFuture<'static, ClientResult<ObjectList>> {
        let (gvk, namespace, params, without_managed_fields) = (gvk.clone(), namespace.map(str::to_string), params.clone(), self.without_managed_fields);
        self.call("list", About::collection(&gvk, namespace.as_deref()), move |s| {
            let t = target(s, &gvk, namespace.as_deref(), None)?;
            // `Any` is `resourceVersion=0`: the server may answer from a (lagging) cache.
            let resource_version = match params.semantic {
                ListSemantic::MostRecent => None,
                ListSemantic::Any => Some("0".to_string()),
            };
            let opts = ListOptions {
                label_selector: params.label_selector.clone(),
                field_selector: params.field_selector.clone(),
                resource_version,
                without_managed_fields,
                ..Default::default()
            };
            let list = s.list(&t, &opts).map_err(api_error)?;
            Ok(ObjectList {
                resource_version: list.metadata["resourceVersion"].as_str().unwrap_or_default().to_string(),
                items: list.item_values().collect(),
            })
        })
    }

    fn watch(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams, resource_version: &str) -> BoxFuture<'static, ClientResult<BoxStream<'static, WatchEvent>>> {
        let (gvk, namespace, params, resource_version, without_managed_fields) =
            (gvk.clone(), namespace.map(str::to_string), params.clone(), resource_version.to_string(), self.without_managed_fields);
        let opened = self.call("watch", About::collection(&gvk, namespace.as_deref()), move |s| {
            let t = target(s, &gvk, namespace.as_deref(), None)?;
            let opts = ListOptions {
                resource_version: Some(resource_version),
                allow_watch_bookmarks: true,
                label_selector: params.label_selector,
                field_selector: params.field_selector,
                without_managed_fields,
                ..Default::default()
            };
            s.watch(&t, &opts).map_err(api_error)
        });
        let (interval, server, reachable) = (self.bookmark_interval, self.server.clone(), self.reachable.clone());
        opened
            .map_ok(move |w| {
                let stream = server.stream(w, interval);
                futures::stream::unfold(stream, |mut stream| async move { stream.next_batch().await.map(|batch| (batch, stream)) })
                    .flat_map(|batch| futures::stream::iter(batch.into_iter().map(convert_event)))
                    .take_while(move |_| futures::future::ready(reachable.as_ref().is_none_or(|r| r())))
                    .boxed()
            })
            .boxed()
    }

    fn create(&self, object: &Value) -> BoxFuture<'static, ClientResult<Value>> {
        let (opts, object) = (self.write_options(None), object.clone());
        self.call("create", About::sent(&object), move |s| {
            let (gvk, namespace) = creatable(&object)?;
            let t = target(s, &gvk, namespace.as_deref(), None)?;
            s.create(&t, object, &opts).map(|w| w.object).map_err(api_error)
        })
    }

    fn replace(&self, object: &Value, status: bool) -> BoxFuture<'static, ClientResult<Value>> {
        let (opts, object) = (self.write_options(None), object.clone());
        self.call("update", About::sent(&object), move |s| {
            let r = ObjectRef::of(&object).ok_or_else(|| ClientError::Decode("object without apiVersion, kind or name".into()))?;
            let mut t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            t.subresource = status.then(|| "status".to_string());
            s.update(&t, object, &opts).map(|w| w.object).map_err(api_error)
        })
    }

    fn patch(&self, r: &ObjectRef, patch: &Patch) -> BoxFuture<'static, ClientResult<Value>> {
        let (patch_type, force) = match patch.kind {
            PatchKind::Json => (PatchType::Json, None),
            PatchKind::Merge => (PatchType::Merge, None),
            PatchKind::Strategic => (PatchType::Strategic, None),
            PatchKind::Apply { force } => (PatchType::Apply, Some(force)),
        };
        let opts = self.write_options(force);
        let (body, r, on_status) = (patch.body.to_string(), r.clone(), patch.status);
        self.call("patch", About::object(&r), move |s| {
            let mut t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            t.subresource = on_status.then(|| "status".to_string());
            s.patch(&t, patch_type, body.as_bytes(), &opts).map(|w| w.object).map_err(api_error)
        })
    }

    fn delete(&self, r: &ObjectRef, params: &DeleteParams) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        let opts = server::DeleteOptions {
            propagation: params.propagation.map(|p| match p {
                Propagation::Background => server::Propagation::Background,
                Propagation::Foreground => server::Propagation::Foreground,
                Propagation::Orphan => server::Propagation::Orphan,
            }),
            precondition_uid: params.precondition_uid.clone(),
            precondition_resource_version: params.precondition_resource_version.clone(),
            dry_run: false,
        };
        let r = r.clone();
        self.call("delete", About::object(&r), move |s| {
            let t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            match s.delete(&t, &opts).map_err(api_error)? {
                Deleted::Pending(o) => Ok(Some(o)),
                Deleted::Gone(_) => Ok(None),
            }
        })
    }

    fn watcher(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxStream<'static, CacheEvent> {
        // The informer this feeds drops every object's managedFields (`informer::stripped`):
        // they need not be thawed.
        let cluster = FakeCluster { without_managed_fields: true, ..self.clone() };
        super::watcher::list_watch(Arc::new(cluster), gvk.clone(), namespace.map(str::to_string), params.clone())
    }
}

fn convert_event(e: server::WatchEvent) -> WatchEvent {
    match e.event_type {
        "ADDED" => WatchEvent::Added(e.object),
        "MODIFIED" => WatchEvent::Modified(e.object),
        "DELETED" => WatchEvent::Deleted(e.object),
        "BOOKMARK" => WatchEvent::Bookmark(e.object["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string()),
        _ => WatchEvent::Error(ClientError::Api {
            code: e.object["code"].as_u64().unwrap_or(500) as u16,
            reason: e.object["reason"].as_str().unwrap_or_default().to_string(),
            message: e.object["message"].as_str().unwrap_or_default().to_string(),
        }),
    }
}
