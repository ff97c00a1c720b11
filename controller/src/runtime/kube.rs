//! The kube-rs backend: the same verbs against a real API server (a cluster, or `eno dev`'s
//! fake over HTTP). Kinds are resolved through discovery once and cached.

use super::client::*;
use super::backoff::Backoff;
use super::rate_limit::TokenBucket;
use super::client::CacheEvent;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{BoxStream, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject, PatchParams, PostParams};
use kube::discovery::{ApiCapabilities, Scope};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct KubeCluster {
    client: Client,
    field_manager: String,
    resources: Arc<Mutex<BTreeMap<Gvk, (ApiResource, ApiCapabilities)>>>,
    /// Client-side rate limit on every request this backend makes (none: unlimited).
    limit: Option<Arc<TokenBucket>>,
}

impl KubeCluster {
    pub fn new(client: Client, field_manager: &str) -> Self {
        KubeCluster { client, field_manager: field_manager.to_string(), resources: Arc::default(), limit: None }
    }

    /// At most `qps` requests a second on average, `burst` at once (`qps` 0: unlimited), as
    /// client-go's `--qps` and `--burst`.
    pub fn with_rate_limit(mut self, qps: f64, burst: u32) -> Self {
        self.limit = (qps > 0.0).then(|| Arc::new(TokenBucket::new(qps, burst)));
        self
    }

    /// The API for a kind; every verb starts here, so this is where a request waits for its
    /// token.
    async fn api(&self, gvk: &Gvk, namespace: Option<&str>) -> ClientResult<Api<DynamicObject>> {
        if let Some(limit) = &self.limit {
            limit.acquire().await;
        }
        let cached = self.resources.lock().unwrap_or_else(|p| p.into_inner()).get(gvk).cloned();
        let (resource, caps) = match cached {
            Some(found) => found,
            None => {
                let (group, version) = match gvk.api_version.rsplit_once('/') {
                    Some((g, v)) => (g, v),
                    None => ("", gvk.api_version.as_str()),
                };
                let kube_gvk = kube::api::GroupVersionKind::gvk(group, version, &gvk.kind);
                // What kubectl says of a kind discovery does not know.
                let unknown = || ClientError::UnknownKind(format!("no matches for kind \"{}\" in version \"{}\"", gvk.kind, gvk.api_version));
                let found = kube::discovery::pinned_kind(&self.client, &kube_gvk).await.map_err(|e| match e {
                    // A group/version the server does not serve answers discovery with 404.
                    kube::Error::Discovery(_) => unknown(),
                    kube::Error::Api(s) if s.code == 404 => unknown(),
                    other => kube_error(other),
                })?;
                self.resources.lock().unwrap_or_else(|p| p.into_inner()).insert(gvk.clone(), found.clone());
                found
            }
        };
        Ok(match (caps.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        })
    }
}

fn kube_error(e: kube::Error) -> ClientError {
    match e {
        kube::Error::Api(status) => ClientError::Api { code: status.code, reason: status.reason.clone(), message: status.message.clone() },
        kube::Error::SerdeError(e) => ClientError::Decode(e.to_string()),
        other => ClientError::Transport(other.to_string()),
    }
}

fn to_value(obj: DynamicObject) -> ClientResult<Value> {
    serde_json::to_value(obj).map_err(|e| ClientError::Decode(e.to_string()))
}

fn from_value(obj: &Value) -> ClientResult<DynamicObject> {
    serde_json::from_value(obj.clone()).map_err(|e| ClientError::Decode(e.to_string()))
}

/// kube-runtime's watcher events as the informer takes them (errors are logged: the watcher
/// backs off and relists by itself).
fn cache_event(event: Result<watcher::Event<DynamicObject>, watcher::Error>, kind: &str) -> Option<CacheEvent> {
    let value = |o: DynamicObject| to_value(o).map_err(|e| tracing::warn!(%kind, error = %e, "watched object does not serialize")).ok();
    match event {
        Ok(watcher::Event::Init) => Some(CacheEvent::Init),
        Ok(watcher::Event::InitApply(o)) => value(o).map(CacheEvent::InitApply),
        Ok(watcher::Event::InitDone) => Some(CacheEvent::InitDone),
        Ok(watcher::Event::Apply(o)) => value(o).map(CacheEvent::Apply),
        Ok(watcher::Event::Delete(o)) => value(o).map(CacheEvent::Delete),
        Err(e) => {
            tracing::debug!(%kind, error = %e, "watcher error; it backs off and retries");
            None
        }
    }
}

impl Cluster for KubeCluster {
    fn get(&self, r: &ObjectRef) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        let (this, r) = (self.clone(), r.clone());
        async move {
            let api = this.api(&r.gvk, r.namespace.as_deref()).await?;
            api.get_opt(&r.name).await.map_err(kube_error)?.map(to_value).transpose()
        }
        .boxed()
    }

    fn list(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxFuture<'static, ClientResult<ObjectList>> {
        let (this, gvk, namespace, params) = (self.clone(), gvk.clone(), namespace.map(str::to_string), params.clone());
        async move {
            let api = this.api(&gvk, namespace.as_deref()).await?;
            let mut lp = match params.semantic {
                ListSemantic::MostRecent => kube::api::ListParams::default(),
                ListSemantic::Any => kube::api::ListParams::default().match_any(),
            };
            lp.label_selector = params.label_selector;
            lp.field_selector = params.field_selector;
            let list = api.list(&lp).await.map_err(kube_error)?;
            Ok(ObjectList {
                resource_version: list.metadata.resource_version.unwrap_or_default(),
                items: list.items.into_iter().map(to_value).collect::<ClientResult<_>>()?,
            })
        }
        .boxed()
    }

    fn watch(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams, resource_version: &str) -> BoxFuture<'static, ClientResult<BoxStream<'static, WatchEvent>>> {
        let (this, gvk, namespace, params, rv) = (self.clone(), gvk.clone(), namespace.map(str::to_string), params.clone(), resource_version.to_string());
        async move {
            let api = this.api(&gvk, namespace.as_deref()).await?;
            let mut wp = kube::api::WatchParams::default().timeout(290);
            wp.label_selector = params.label_selector;
            wp.field_selector = params.field_selector;
            let stream = api.watch(&wp, &rv).await.map_err(kube_error)?;
            Ok(stream
                .map(|event| match event {
                    Ok(kube::api::WatchEvent::Added(o)) => to_value(o).map_or_else(WatchEvent::Error, WatchEvent::Added),
                    Ok(kube::api::WatchEvent::Modified(o)) => to_value(o).map_or_else(WatchEvent::Error, WatchEvent::Modified),
                    Ok(kube::api::WatchEvent::Deleted(o)) => to_value(o).map_or_else(WatchEvent::Error, WatchEvent::Deleted),
                    Ok(kube::api::WatchEvent::Bookmark(b)) => WatchEvent::Bookmark(b.metadata.resource_version),
                    Ok(kube::api::WatchEvent::Error(status)) => {
                        WatchEvent::Error(ClientError::Api { code: status.code, reason: status.reason.clone(), message: status.message.clone() })
                    }
                    Err(e) => WatchEvent::Error(kube_error(e)),
                })
                .boxed())
        }
        .boxed()
    }

    fn create(&self, object: &Value) -> BoxFuture<'static, ClientResult<Value>> {
        let (this, object) = (self.clone(), object.clone());
        async move {
            let (gvk, namespace) = creatable(&object)?;
            let api = this.api(&gvk, namespace.as_deref()).await?;
            let pp = PostParams { field_manager: Some(this.field_manager.clone()), ..Default::default() };
            to_value(api.create(&pp, &from_value(&object)?).await.map_err(kube_error)?)
        }
        .boxed()
    }

    fn replace(&self, object: &Value, status: bool) -> BoxFuture<'static, ClientResult<Value>> {
        let (this, object) = (self.clone(), object.clone());
        async move {
            let r = ObjectRef::of(&object).ok_or_else(|| ClientError::Decode("object without apiVersion, kind or name".into()))?;
            let api = this.api(&r.gvk, r.namespace.as_deref()).await?;
            let pp = PostParams { field_manager: Some(this.field_manager.clone()), ..Default::default() };
            let body = from_value(&object)?;
            let result = if status { api.replace_status(&r.name, &pp, &body).await } else { api.replace(&r.name, &pp, &body).await };
            to_value(result.map_err(kube_error)?)
        }
        .boxed()
    }

    fn patch(&self, r: &ObjectRef, patch: &Patch) -> BoxFuture<'static, ClientResult<Value>> {
        let (this, r, patch) = (self.clone(), r.clone(), patch.clone());
        async move {
            let api = this.api(&r.gvk, r.namespace.as_deref()).await?;
            let mut pp = PatchParams { field_manager: Some(this.field_manager.clone()), ..Default::default() };
            let body = match patch.kind {
                PatchKind::Json => kube::api::Patch::Json(serde_json::from_value(patch.body.clone()).map_err(|e| ClientError::Decode(e.to_string()))?),
                PatchKind::Merge => kube::api::Patch::Merge(patch.body.clone()),
                PatchKind::Strategic => kube::api::Patch::Strategic(patch.body.clone()),
                PatchKind::Apply { force } => {
                    pp.force = force;
                    kube::api::Patch::Apply(patch.body.clone())
                }
            };
            let result = if patch.status { api.patch_status(&r.name, &pp, &body).await } else { api.patch(&r.name, &pp, &body).await };
            to_value(result.map_err(kube_error)?)
        }
        .boxed()
    }

    fn delete(&self, r: &ObjectRef, params: &DeleteParams) -> BoxFuture<'static, ClientResult<Option<Value>>> {
        let (this, r, params) = (self.clone(), r.clone(), params.clone());
        async move {
            let api = this.api(&r.gvk, r.namespace.as_deref()).await?;
            let dp = kube::api::DeleteParams {
                propagation_policy: params.propagation.map(|p| match p {
                    Propagation::Background => kube::api::PropagationPolicy::Background,
                    Propagation::Foreground => kube::api::PropagationPolicy::Foreground,
                    Propagation::Orphan => kube::api::PropagationPolicy::Orphan,
                }),
                preconditions: (params.precondition_uid.is_some() || params.precondition_resource_version.is_some()).then(|| kube::api::Preconditions {
                    uid: params.precondition_uid.clone(),
                    resource_version: params.precondition_resource_version.clone(),
                }),
                ..Default::default()
            };
            match api.delete(&r.name, &dp).await {
                Ok(either) => either.left().map(to_value).transpose(),
                Err(e) => Err(kube_error(e)),
            }
        }
        .boxed()
    }

    /// `kube_runtime::watcher` itself: list (paginated), watch with bookmarks, relist on 410,
    /// back off on errors. Resolving the kind comes first and is retried the same way.
    /// `ListSemantic::Any` is kube-rs's `any_semantic()`, its recommendation for large kinds
    /// (lists served from the API server's watch cache, possibly older than already seen).
    fn watcher(&self, gvk: &Gvk, namespace: Option<&str>, params: &ListParams) -> BoxStream<'static, CacheEvent> {
        let (this, gvk, namespace, params) = (self.clone(), gvk.clone(), namespace.map(str::to_string), params.clone());
        let kind = gvk.kind.clone();
        futures::stream::once(async move {
            let mut backoff = Backoff::watch();
            loop {
                match this.api(&gvk, namespace.as_deref()).await {
                    Ok(api) => return api,
                    Err(e) => {
                        tracing::debug!(kind = %gvk.kind, error = %e, "cannot resolve the kind to watch; retrying");
                        backoff.wait().await;
                    }
                }
            }
        })
        .flat_map(move |api| {
            let kind = kind.clone();
            let mut config = match params.semantic {
                ListSemantic::MostRecent => watcher::Config::default(),
                ListSemantic::Any => watcher::Config::default().any_semantic(),
            };
            config.label_selector = params.label_selector.clone();
            config.field_selector = params.field_selector.clone();
            watcher::watcher(api, config).default_backoff().filter_map(move |e| futures::future::ready(cache_event(e, &kind)))
        })
        .boxed()
    }
}
