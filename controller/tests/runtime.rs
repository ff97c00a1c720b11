//! The runtime seam's two backends behave the same: each check runs against the in-process
//! fake and against kube-rs over HTTP (both served by the same fake API server core).

#![cfg(not(madsim))]

use eno::runtime::fake::FakeCluster;
use eno::runtime::kube::KubeCluster;
use eno::runtime::{Cluster, DeleteParams, Gvk, Informer, ListParams, ListSemantic, ObjectRef, Patch};
use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn new_server() -> SharedApiServer {
    SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)))
}

async fn over_http(server: SharedApiServer) -> (Arc<dyn Cluster>, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = fake_apiserver::http::HttpConfig { bookmark_interval: Duration::from_millis(100), ..Default::default() };
    tokio::spawn(fake_apiserver::http::serve(server, listener, config, async {
        let _ = stopped.await;
    }));
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    (Arc::new(KubeCluster::new(client, "eno")), stop)
}

fn cm_ref(name: &str) -> ObjectRef {
    ObjectRef::new(Gvk::new("v1", "ConfigMap"), Some("default"), name)
}

async fn verbs(cluster: Arc<dyn Cluster>) {
    assert_eq!(cluster.get(&cm_ref("a")).await.unwrap(), None, "missing is Ok(None)");
    let created = cluster.create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}, "data": {"k": "1"}})).await.unwrap();
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "eno");
    let with_rv = cluster.create(&created).await.unwrap_err();
    assert!(with_rv.to_string().contains("resourceVersion should not be set"), "{with_rv}");
    let again = cluster.create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})).await.unwrap_err();
    assert!(again.is_conflict(), "{again}");
    let mut stale = created.clone();
    stale["data"]["k"] = json!("2");
    cluster.replace(&stale, false).await.unwrap();
    assert!(cluster.replace(&stale, false).await.unwrap_err().is_conflict(), "stale resourceVersion conflicts");
    let patched = cluster
        .patch(&cm_ref("a"), &Patch::strategic(json!({"metadata": {"finalizers": ["x.io/f"]}, "data": {"s": "y"}})))
        .await
        .unwrap();
    assert_eq!(patched["data"], json!({"k": "2", "s": "y"}));
    let failed_test = cluster.patch(&cm_ref("a"), &Patch::json(json!([{"op": "test", "path": "/data/k", "value": "9"}]))).await.unwrap_err();
    assert!(failed_test.is_invalid(), "{failed_test}");
    let rv = patched["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let wrong = DeleteParams { precondition_resource_version: Some("1".into()), ..Default::default() };
    assert!(cluster.delete(&cm_ref("a"), &wrong).await.unwrap_err().is_conflict());
    let ok = DeleteParams { precondition_resource_version: Some(rv), ..Default::default() };
    let pending = cluster.delete(&cm_ref("a"), &ok).await.unwrap().expect("finalizer holds it");
    assert!(pending["metadata"]["deletionTimestamp"].is_string());
    cluster.patch(&cm_ref("a"), &Patch::merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    assert_eq!(cluster.get(&cm_ref("a")).await.unwrap(), None);
    let unknown = cluster.get(&ObjectRef::new(Gvk::new("nope.io/v1", "Thing"), Some("default"), "x")).await.unwrap_err();
    assert!(matches!(unknown, eno::runtime::ClientError::UnknownKind(_)), "{unknown}");
    assert_eq!(unknown.to_string(), "no matches for kind \"Thing\" in version \"nope.io/v1\"");
    // In a namespace that does not exist: nothing to read, and a create names the namespace.
    let late = ObjectRef::new(Gvk::new("v1", "ConfigMap"), Some("late"), "c");
    assert_eq!(cluster.get(&late).await.unwrap(), None);
    let refused = cluster.create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "late"}})).await.unwrap_err();
    assert_eq!(refused, eno::runtime::ClientError::Api { code: 404, reason: "NotFound".into(), message: "namespaces \"late\" not found".into() });
    let listed = cluster.list(&Gvk::new("v1", "Namespace"), None, &ListParams::default()).await.unwrap();
    assert!(listed.items.iter().any(|n| n["metadata"]["name"] == "default"));
}

async fn informer_survives_expiry(cluster: Arc<dyn Cluster>, server: SharedApiServer, semantic: ListSemantic) {
    let changes = Arc::new(AtomicUsize::new(0));
    let seen = changes.clone();
    let informer = Informer::start(cluster.clone(), Gvk::new("v1", "ConfigMap"), Some("default".into()), ListParams { semantic, ..ListParams::default() }, move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    informer.wait_synced().await;
    for name in ["i1", "i2"] {
        cluster.create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while informer.list().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "informer never saw i1 and i2: {:?}", informer.list());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // In one step: i3 is created, its event compacted away and every watch closed. The
    // informer resumes from i2's revision, below the floor: only a relist can show it i3.
    server.with(|s| {
        let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
        s.create(&t, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "i3", "namespace": "default"}}), &Default::default()).unwrap();
        let rev = s.revision();
        s.compact(rev);
        s.close_watches();
    });
    while informer.get("default", "i3").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "informer never relisted: {:?}", informer.list());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(informer.list().len(), 3);
    assert!(changes.load(Ordering::SeqCst) >= 3);
}

/// What the server's audit log hears of the backend's requests for a ConfigMap in a namespace
/// that does not exist: a read and a create, both answered 404.
async fn audited(cluster: Arc<dyn Cluster>, server: &SharedApiServer) -> Vec<(String, String, String, u16)> {
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = heard.clone();
    server.audit_with(move |e| {
        let v = serde_json::to_value(e).unwrap();
        if v["namespace"] == "late" {
            log.lock().unwrap().push((e.verb.clone(), v["resource"].as_str().unwrap_or_default().to_string(), v["name"].as_str().unwrap_or_default().to_string(), e.code));
        }
    });
    let late = ObjectRef::new(Gvk::new("v1", "ConfigMap"), Some("late"), "c");
    assert_eq!(cluster.get(&late).await.unwrap(), None);
    cluster.create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "late"}})).await.unwrap_err();
    let heard = heard.lock().unwrap().clone();
    heard
}

#[tokio::test]
async fn both_backends_are_audited_alike() {
    let expected = vec![("get".to_string(), "configmaps".to_string(), "c".to_string(), 404), ("create".into(), "configmaps".into(), "c".into(), 404)];
    let server = new_server();
    assert_eq!(audited(Arc::new(FakeCluster::new(server.clone(), "eno")), &server).await, expected);
    let server = new_server();
    let (cluster, _stop) = over_http(server.clone()).await;
    assert_eq!(audited(cluster, &server).await, expected);
}

#[tokio::test]
async fn fake_backend_verbs() {
    verbs(Arc::new(FakeCluster::new(new_server(), "eno"))).await;
}

#[tokio::test]
async fn kube_backend_verbs() {
    let (cluster, _stop) = over_http(new_server()).await;
    verbs(cluster).await;
}

#[tokio::test]
async fn fake_backend_informer_relists_after_expiry() {
    let server = new_server();
    informer_survives_expiry(Arc::new(FakeCluster::new(server.clone(), "eno")), server, ListSemantic::MostRecent).await;
}

#[tokio::test]
async fn kube_backend_informer_relists_after_expiry() {
    let server = new_server();
    let (cluster, _stop) = over_http(server.clone()).await;
    informer_survives_expiry(cluster, server, ListSemantic::MostRecent).await;
}

/// `eno run --list-semantic any`: kube-rs lists with `resourceVersion=0` (served from the watch
/// cache) and the informer still relists its way to the current state.
#[tokio::test]
async fn kube_backend_informer_with_any_semantic_relists_after_expiry() {
    let server = new_server();
    let (cluster, _stop) = over_http(server.clone()).await;
    informer_survives_expiry(cluster, server, ListSemantic::Any).await;
}

/// A label-selected informer (a shard's `--composition-label-selector`) caches only the objects
/// the selector matches: one whose labels stop matching leaves the cache, one that starts
/// matching joins it.
async fn informer_follows_its_label_selector(cluster: Arc<dyn Cluster>) {
    let cm = |name: &str, shard: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "labels": {"shard": shard}}});
    cluster.create(&cm("mine", "a")).await.unwrap();
    cluster.create(&cm("theirs", "b")).await.unwrap();
    let params = ListParams { label_selector: Some("shard=a".into()), ..ListParams::default() };
    let informer = Informer::start(cluster.clone(), Gvk::new("v1", "ConfigMap"), Some("default".into()), params, |_| {});
    informer.wait_synced().await;
    let names = |informer: &Informer| informer.list().iter().map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>();
    assert_eq!(names(&informer), ["mine"]);
    let relabel = |shard: &str| Patch::merge(json!({"metadata": {"labels": {"shard": shard}}}));
    cluster.patch(&cm_ref("mine"), &relabel("b")).await.unwrap();
    cluster.patch(&cm_ref("theirs"), &relabel("a")).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while names(&informer) != ["theirs"] {
        assert!(tokio::time::Instant::now() < deadline, "the cache did not follow the labels: {:?}", names(&informer));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fake_backend_informer_follows_its_label_selector() {
    informer_follows_its_label_selector(Arc::new(FakeCluster::new(new_server(), "eno"))).await;
}

#[tokio::test]
async fn kube_backend_informer_follows_its_label_selector() {
    let (cluster, _stop) = over_http(new_server()).await;
    informer_follows_its_label_selector(cluster).await;
}
