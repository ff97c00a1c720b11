//! The in-process backend: calls the fake API server's core directly. It compiles in both
//! builds, so the simulator and unit tests run reconcilers without sockets.

use super::client::*;
use fake_apiserver::server::{self, Deleted, ListOptions, PatchType, Target, WriteOptions};
use fake_apiserver::{ApiError, SharedApiServer};
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{BoxStream, StreamExt};
use serde_json::Value;
use std::time::Duration;

/// One client of the fake API server; its writes are recorded under `field_manager`.
#[derive(Clone)]
pub struct FakeCluster {
    server: SharedApiServer,
    field_manager: String,
    bookmark_interval: Duration,
}

impl FakeCluster {
    pub fn new(server: SharedApiServer, field_manager: &str) -> Self {
        FakeCluster { server, field_manager: field_manager.to_string(), bookmark_interval: Duration::from_secs(5) }
    }

    pub fn server(&self) -> &SharedApiServer {
        &self.server
    }

    fn write_options(&self, force: Option<bool>) -> WriteOptions {
        WriteOptions { field_manager: Some(self.field_manager.clone()), force, ..Default::default() }
    }
}

/// Installs Eno's CRDs into a fake API server (what `eno dev` and the simulator start from).
pub fn install_crds(server: &SharedApiServer) -> Result<(), ApiError> {
    for crd in crate::api::crds::crds() {
        let body = serde_json::to_value(&crd).map_err(|e| ApiError::internal(e.to_string()))?;
        server.with(|s| {
            let target = s.target_for("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, None)?;
            s.create(&target, body, &WriteOptions { field_manager: Some("eno".into()), ..Default::default() })
        })?;
    }
    Ok(())
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

fn ready<T: Send + 'static>(r: ClientResult<T>) -> BoxFuture<'static, ClientResult<T>> {
    futures::future::ready(r).boxed()
}

impl Cluster for FakeCluster {
    fn get(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        ready(self.server.with(|s| {
            let t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            match s.get(&t, None) {
                Ok(o) => Ok(Some(o)),
                Err(e) if e.code == 404 => Ok(None),
                Err(e) => Err(api_error(e)),
            }
        }))
    }

    fn list(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxFuture<'static, ClientResult<ObjectList>> {
        ready(self.server.with(|s| {
            let t = target(s, gvk, namespace, None)?;
            let opts = ListOptions { label_selector: params.label_selector.clone(), field_selector: params.field_selector.clone(), ..Default::default() };
            let list = s.list(&t, &opts).map_err(api_error)?;
            Ok(ObjectList {
                resource_version: list["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string(),
                items: list["items"].as_array().cloned().unwrap_or_default(),
            })
        }))
    }

    fn watch(&self, gvk: &Gvk, namespace: Option<&str>, resource_version: &str) -> BoxFuture<'static, ClientResult<BoxStream<'static, WatchEvent>>> {
        let opened = self.server.with(|s| {
            let t = target(s, gvk, namespace, None)?;
            let opts = ListOptions { resource_version: Some(resource_version.to_string()), allow_watch_bookmarks: true, ..Default::default() };
            s.watch(&t, &opts).map_err(api_error)
        });
        let interval = self.bookmark_interval;
        let server = self.server.clone();
        ready(opened.map(move |w| {
            let stream = server.stream(w, interval);
            futures::stream::unfold(stream, |mut stream| async move { stream.next_batch().await.map(|batch| (batch, stream)) })
                .flat_map(|batch| futures::stream::iter(batch.into_iter().map(convert_event)))
                .boxed()
        }))
    }

    fn create(&self, object: &Value) -> BoxFuture<'static, ClientResult<Value>> {
        let opts = self.write_options(None);
        ready(self.server.with(|s| {
            let (gvk, namespace) = creatable(object)?;
            let t = target(s, &gvk, namespace.as_deref(), None)?;
            s.create(&t, object.clone(), &opts).map(|w| w.object).map_err(api_error)
        }))
    }

    fn replace(&self, object: &Value, status: bool) -> BoxFuture<'static, ClientResult<Value>> {
        let opts = self.write_options(None);
        ready(self.server.with(|s| {
            let r = ObjectRef::of(object).ok_or_else(|| ClientError::Decode("object without apiVersion, kind or name".into()))?;
            let mut t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            t.subresource = status.then(|| "status".to_string());
            s.update(&t, object.clone(), &opts).map(|w| w.object).map_err(api_error)
        }))
    }

    fn patch(&self, r: &ObjectRef, patch: &Patch) -> BoxFuture<'static, ClientResult<Value>> {
        let (patch_type, force) = match patch.kind {
            PatchKind::Json => (PatchType::Json, None),
            PatchKind::Merge => (PatchType::Merge, None),
            PatchKind::Strategic => (PatchType::Strategic, None),
            PatchKind::Apply { force } => (PatchType::Apply, Some(force)),
        };
        let opts = self.write_options(force);
        let body = patch.body.to_string();
        ready(self.server.with(|s| {
            let mut t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            t.subresource = patch.status.then(|| "status".to_string());
            s.patch(&t, patch_type, body.as_bytes(), &opts).map(|w| w.object).map_err(api_error)
        }))
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
        ready(self.server.with(|s| {
            let t = target(s, &r.gvk, r.namespace.as_deref(), Some(&r.name))?;
            match s.delete(&t, &opts).map_err(api_error)? {
                Deleted::Pending(o) => Ok(Some(o)),
                Deleted::Gone(_) => Ok(None),
            }
        }))
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
