//! The protobuf wire format over HTTP, as client-go's typed clients speak it: protobuf bodies,
//! `Accept: application/vnd.kubernetes.protobuf,application/json`, length-framed watches, and the
//! real server's answers for custom resources (JSON only).

#![cfg(not(madsim))]

mod support;

use fake_apiserver::http::protobuf::{Codec, PROTOBUF, PROTOBUF_WATCH};
use serde_json::{json, Value};
use support::{send, start, Reply};

const TYPED: &[(&str, &str)] = &[("Content-Type", PROTOBUF), ("Accept", "application/vnd.kubernetes.protobuf,application/json")];
const CM: &str = "/api/v1/namespaces/default/configmaps";

fn pb(obj: &Value) -> Vec<u8> {
    Codec::get().encode(obj).unwrap()
}

fn decoded(reply: &Reply) -> Value {
    assert_eq!(reply.content_type, PROTOBUF, "{}", String::from_utf8_lossy(&reply.body));
    Codec::get().decode(&reply.body).unwrap()
}

#[tokio::test]
async fn a_typed_client_creates_reads_updates_lists_and_deletes_in_protobuf() {
    let s = start().await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "", "uid": "", "generation": 0}, "data": {"a": "1"}});
    let created = send(s.addr, "POST", CM, TYPED, &pb(&cm)).await;
    assert_eq!(created.code, 201);
    let created = decoded(&created);
    assert_eq!(created["data"], json!({"a": "1"}));
    assert_eq!(created["metadata"]["namespace"], "default");
    assert!(created["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "{created}");

    let got = decoded(&send(s.addr, "GET", &format!("{CM}/settings"), TYPED, b"").await);
    assert_eq!(got, created);
    // The same object in JSON for a client that asks for JSON.
    let json_reply = send(s.addr, "GET", &format!("{CM}/settings"), &[("Accept", "application/json")], b"").await;
    assert_eq!(json_reply.content_type, "application/json");
    assert_eq!(json_reply.json(), got);

    let mut update = got.clone();
    update["data"]["a"] = json!("2");
    let updated = send(s.addr, "PUT", &format!("{CM}/settings"), TYPED, &pb(&update)).await;
    assert_eq!(updated.code, 200);
    assert_eq!(decoded(&updated)["data"]["a"], "2");

    let list = decoded(&send(s.addr, "GET", CM, TYPED, b"").await);
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"][0]["metadata"]["name"], "settings");

    // DeleteOptions in protobuf: a wrong UID precondition is honoured (409), the right one deletes.
    let wrong = json!({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "not-it"}, "propagationPolicy": "Background"});
    let refused = send(s.addr, "DELETE", &format!("{CM}/settings"), TYPED, &pb(&wrong)).await;
    assert_eq!(refused.code, 409, "{}", String::from_utf8_lossy(&refused.body));
    let right = json!({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": created["metadata"]["uid"]}, "gracePeriodSeconds": 0});
    let deleted = send(s.addr, "DELETE", &format!("{CM}/settings"), TYPED, &pb(&right)).await;
    assert_eq!(deleted.code, 200);
    assert_eq!(decoded(&deleted)["kind"], "Status");
    // An error is a Status in the encoding the client asked for.
    let missing = send(s.addr, "GET", &format!("{CM}/settings"), TYPED, b"").await;
    assert_eq!(missing.code, 404);
    let status = decoded(&missing);
    assert_eq!((status["kind"].as_str(), status["reason"].as_str(), status["code"].as_i64()), (Some("Status"), Some("NotFound"), Some(404)));
    assert_eq!(status["message"], "configmaps \"settings\" not found");
}

#[tokio::test]
async fn a_protobuf_watch_is_length_framed_events() {
    let s = start().await;
    let from = s.shared.with(|a| a.revision());
    for name in ["a", "b"] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
        assert_eq!(send(s.addr, "POST", CM, TYPED, &pb(&cm)).await.code, 201);
    }
    let reply = send(s.addr, "GET", &format!("{CM}?watch=true&timeoutSeconds=1&resourceVersion={from}"), TYPED, b"").await;
    assert_eq!(reply.code, 200);
    assert_eq!(reply.content_type, PROTOBUF_WATCH);
    let mut names = Vec::new();
    let mut rest = &reply.body[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let event = &rest[4..4 + len];
        rest = &rest[4 + len..];
        // WatchEvent{1: type, 2: RawExtension{1: enveloped object}}: read by hand so this test
        // does not trust the codec's own watch reader.
        let (event_type, object) = two_fields(event);
        let (raw, _) = two_fields(&object);
        let obj = Codec::get().decode(&raw).unwrap();
        names.push((String::from_utf8(event_type).unwrap(), obj["metadata"]["name"].as_str().unwrap().to_string()));
    }
    assert_eq!(names, [("ADDED".to_string(), "a".to_string()), ("ADDED".to_string(), "b".to_string())]);
}

#[tokio::test]
async fn a_protobuf_watch_ends_rather_than_skip_an_event_it_cannot_write() {
    let s = start().await;
    let from = s.shared.with(|a| a.revision());
    // The core does not type-check every built-in field; a number where a string belongs does
    // not fit the Pod message.
    s.shared.with(|a| {
        let pods = a.target_for("v1", "Pod", Some("default"), None).unwrap();
        for (name, policy) in [("good", json!("Always")), ("bad", json!(5))] {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": "i"}]}});
            a.create(&pods, pod, &Default::default()).unwrap();
        }
    });
    let path = format!("/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=600&resourceVersion={from}");
    let watch = send(s.addr, "GET", &path, TYPED, b"");
    let reply = tokio::time::timeout(std::time::Duration::from_secs(60), watch).await.expect("the watch ended instead of skipping the event");
    let len = u32::from_be_bytes(reply.body[..4].try_into().unwrap()) as usize;
    assert_eq!(reply.body.len(), 4 + len, "exactly the one event before the bad one");
    let (_, object) = two_fields(&reply.body[4..]);
    let (raw, _) = two_fields(&object);
    assert_eq!(Codec::get().decode(&raw).unwrap()["metadata"]["name"], "good");
}

/// Fields 1 and 2 of a message whose fields are all length-delimited with one-byte-or-more varints.
fn two_fields(mut m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut fields = [Vec::new(), Vec::new()];
    while !m.is_empty() {
        let (key, n) = varint(m);
        m = &m[n..];
        let (len, n) = varint(m);
        m = &m[n..];
        if let Some(slot) = fields.get_mut((key >> 3) as usize - 1) {
            *slot = m[..len as usize].to_vec();
        }
        m = &m[len as usize..];
    }
    let [a, b] = fields;
    (a, b)
}

fn varint(m: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, b) in m.iter().enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, m.len())
}

#[tokio::test]
async fn custom_resources_stay_json_with_the_real_servers_answers() {
    let s = start().await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    // The CRD itself is a built-in kind: it may come in protobuf.
    assert_eq!(send(s.addr, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", TYPED, &pb(&crd)).await.code, 201);
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let widget = br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}"#;
    assert_eq!(send(s.addr, "POST", widgets, &[("Content-Type", "application/json")], widget).await.code, 201);

    let fallback = send(s.addr, "GET", &format!("{widgets}/w"), TYPED, b"").await;
    assert_eq!((fallback.code, fallback.content_type.as_str()), (200, "application/json"), "protobuf,json falls back to JSON");
    let missing = send(s.addr, "GET", &format!("{widgets}/nope"), TYPED, b"").await;
    assert_eq!((missing.code, missing.content_type.as_str()), (404, "application/json"), "a custom resource's errors stay JSON");
    let refused = send(s.addr, "GET", &format!("{widgets}/w"), &[("Accept", PROTOBUF)], b"").await;
    assert_eq!(refused.code, 406);
    assert_eq!(refused.json()["message"], "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf");

    let before = s.shared.with(|a| a.revision());
    let body = Codec::get().encode(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w2"}})).unwrap();
    let rejected = send(s.addr, "POST", widgets, TYPED, &body).await;
    assert_eq!(rejected.code, 400);
    assert_eq!(rejected.json()["message"], "Widget in version \"v1\" cannot be handled as a Widget: Object 'Kind' is missing in 'object has no kind field '");
    assert_eq!(s.shared.with(|a| a.revision()), before, "nothing was written");
}
