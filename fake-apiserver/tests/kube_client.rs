//! Conformance with kube-rs: a real `kube::Client` over HTTP against the fake API server.

#![cfg(not(madsim))]

use fake_apiserver::clock::SystemClock;
use fake_apiserver::http::{serve, HttpConfig};
use fake_apiserver::server::{ApiServer, Config as ServerConfig};
use fake_apiserver::SharedApiServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use kube::{Client, CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[kube(group = "example.com", version = "v1", kind = "Widget", namespaced, status = "WidgetStatus")]
struct WidgetSpec {
    size: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Default)]
struct WidgetStatus {
    ready: bool,
}

struct Harness {
    server: SharedApiServer,
    client: Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Harness {
    let server = SharedApiServer::new(ApiServer::new(ServerConfig::default(), Arc::new(SystemClock)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = HttpConfig { bookmark_interval: Duration::from_millis(200), ..HttpConfig::default() };
    tokio::spawn(serve(server.clone(), listener, config, async {
        let _ = stopped.await;
    }));
    tokio::spawn(server.clone().run_garbage_collector(Duration::from_millis(50)));
    let client = Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Widget::crd()).await.unwrap();
    Harness { server, client, _stop: stop }
}

fn widget(name: &str, size: i64) -> Widget {
    Widget::new(name, WidgetSpec { size })
}

#[tokio::test]
async fn typed_crud_on_builtin_and_custom_resources() {
    let h = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("c".into());
    cm.data = Some(BTreeMap::from([("k".to_string(), "v".to_string())]));
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
    let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"), "{err:?}");

    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    let w = widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let mut replaced = w.clone();
    replaced.spec.size = 2;
    let replaced = widgets.replace("w", &PostParams::default(), &replaced).await.unwrap();
    assert_eq!(replaced.metadata.generation, Some(2));
    // The old object is stale now: replacing with it conflicts.
    let err = widgets.replace("w", &PostParams::default(), &w).await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 409), "{err:?}");
    let listed = widgets.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(listed.metadata.resource_version.is_some());
    let missing = widgets.get("nope").await.unwrap_err();
    assert!(matches!(&missing, kube::Error::Api(s) if s.code == 404), "{missing:?}");
}

#[tokio::test]
async fn status_patches_touch_only_status() {
    let h = start().await;
    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let patch = serde_json::json!({"status": {"ready": true}, "spec": {"size": 7}});
    let after = widgets.patch_status("w", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    assert_eq!(after.status, Some(WidgetStatus { ready: true }));
    assert_eq!(after.spec.size, 1);
    let applied = widgets
        .patch("w", &PatchParams::apply("tester").force(), &Patch::Apply(serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}})))
        .await
        .unwrap();
    assert_eq!(applied.spec.size, 3);
    assert_eq!(applied.status, Some(WidgetStatus { ready: true }), "apply to the main resource keeps status");
}

#[tokio::test]
async fn deletes_return_the_object_while_finalizers_hold_it_else_a_status() {
    let h = start().await;
    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    let mut held = widget("held", 1);
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    widgets.create(&PostParams::default(), &held).await.unwrap();
    widgets.create(&PostParams::default(), &widget("free", 1)).await.unwrap();
    let pending = widgets.delete("held", &DeleteParams::default()).await.unwrap();
    let obj = pending.left().expect("a finalizer keeps the object");
    assert!(obj.metadata.deletion_timestamp.is_some());
    let gone = widgets.delete("free", &DeleteParams::default()).await.unwrap();
    let status = gone.right().expect("no finalizer: a Status");
    assert_eq!(status.status, Some(kube::core::response::StatusSummary::Success));
}

#[tokio::test]
async fn watcher_relists_after_a_forced_410_and_sees_every_object() {
    let h = start().await;
    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    widgets.create(&PostParams::default(), &widget("a", 1)).await.unwrap();
    let mut stream = watcher(widgets.clone(), watcher::Config::default()).boxed();
    // Initial list.
    let mut seen = std::collections::BTreeSet::new();
    loop {
        match stream.try_next().await.unwrap().unwrap() {
            watcher::Event::InitApply(w) | watcher::Event::Apply(w) => {
                seen.insert(w.name_any());
            }
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert!(seen.contains("a"));
    // Commit changes while history is compacted and the watch is cut: the client must relist.
    widgets.create(&PostParams::default(), &widget("b", 1)).await.unwrap();
    widgets.create(&PostParams::default(), &widget("c", 1)).await.unwrap();
    h.server.with(|s| {
        let rev = s.revision();
        s.compact(rev);
        s.close_watches();
    });
    let mut relisted = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while relisted.len() < 3 {
        // The expired watch surfaces once as an error; the watcher then relists by itself.
        match tokio::time::timeout_at(deadline, stream.next()).await.expect("watcher recovered in time").expect("stream continues") {
            Ok(watcher::Event::InitApply(w) | watcher::Event::Apply(w)) => {
                relisted.insert(w.name_any());
            }
            Ok(_) => {}
            Err(e) => assert!(e.to_string().contains("410") || e.to_string().to_lowercase().contains("expired"), "{e}"),
        }
    }
    assert_eq!(relisted.into_iter().collect::<Vec<_>>(), vec!["a", "b", "c"]);
}

#[tokio::test]
async fn raw_watch_gets_bookmarks_and_410_in_stream() {
    let h = start().await;
    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    let list = widgets.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut events = widgets.watch(&WatchParams::default().timeout(10), &rv).await.unwrap().boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), events.try_next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(first, WatchEvent::Bookmark(_)), "{first:?}");

    widgets.create(&PostParams::default(), &widget("x", 1)).await.unwrap();
    h.server.with(|s| {
        let rev = s.revision();
        s.compact(rev);
    });
    let mut expired = widgets.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    let event = expired.try_next().await.unwrap().unwrap();
    assert!(matches!(&event, WatchEvent::Error(e) if e.code == 410), "{event:?}");
}

#[tokio::test]
async fn streaming_list_sends_initial_events_then_done() {
    let h = start().await;
    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    widgets.create(&PostParams::default(), &widget("s", 1)).await.unwrap();
    let mut stream = watcher(widgets, watcher::Config::default().streaming_lists()).boxed();
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await.unwrap().unwrap().unwrap() {
            watcher::Event::InitApply(w) => names.push(w.name_any()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(names, vec!["s"]);
}

#[tokio::test]
async fn kube_runtime_finalizer_helper_adds_then_cleans_up() {
    let h = start().await;
    let widgets: Api<Widget> = Api::namespaced(h.client.clone(), "default");
    widgets.create(&PostParams::default(), &widget("f", 1)).await.unwrap();
    let reconcile = |w: Widget| {
        let api = widgets.clone();
        async move {
            finalizer(&api, "example.com/cleanup", Arc::new(w), |event| async move {
                Ok::<_, std::convert::Infallible>(match event {
                    FinalizerEvent::Apply(_) => Action::requeue(Duration::from_secs(1)),
                    FinalizerEvent::Cleanup(_) => Action::await_change(),
                })
            })
            .await
        }
    };
    // First pass only adds the finalizer (JSON patch with the `test: null` guard).
    let _ = reconcile(widgets.get("f").await.unwrap()).await.unwrap();
    let with_finalizer = widgets.get("f").await.unwrap();
    assert_eq!(with_finalizer.finalizers(), &["example.com/cleanup".to_string()]);
    assert_eq!(reconcile(with_finalizer).await.unwrap(), Action::requeue(Duration::from_secs(1)), "applied");
    widgets.delete("f", &DeleteParams::default()).await.unwrap();
    assert_eq!(reconcile(widgets.get("f").await.unwrap()).await.unwrap(), Action::await_change(), "cleaned up");
    let removed = widgets.get("f").await.unwrap_err();
    assert!(matches!(&removed, kube::Error::Api(s) if s.code == 404), "removing the last finalizer deleted the object: {removed:?}");
}

#[tokio::test]
async fn discovery_finds_builtins_and_custom_resources() {
    let h = start().await;
    let discovery = kube::Discovery::new(h.client.clone()).run().await.unwrap();
    assert!(discovery.has_group("example.com"));
    assert!(discovery.has_group("apps"));
    let aggregated = kube::Discovery::new(h.client.clone()).run_aggregated().await.unwrap();
    let (resource, caps) = aggregated.groups().find(|g| g.name() == "example.com").unwrap().recommended_kind("Widget").unwrap();
    assert_eq!(resource.plural, "widgets");
    assert!(caps.supports_operation(kube::discovery::verbs::WATCH));
}
