//! Malformed requests over HTTP get a 4xx `Status` and leave the store unchanged.

#![cfg(not(madsim))]

mod support;

use fake_apiserver::http::protobuf::Codec;
use support::{request, start, Server};

async fn expect_status(s: &Server, method: &str, path: &str, content_type: &str, body: &[u8], code: u16, reason: &str) {
    let before = s.shared.with(|a| a.revision());
    let (got, status) = request(s.addr, method, path, content_type, body).await;
    assert_eq!(got, code, "{method} {path}: {status}");
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["code"], code);
    assert_eq!(status["reason"], reason, "{status}");
    assert_eq!(s.shared.with(|a| a.revision()), before, "the store changed");
}

const CM: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn malformed_bodies() {
    let s = start().await;
    expect_status(&s, "POST", CM, "application/json", b"{not json", 400, "BadRequest").await;
    expect_status(&s, "POST", CM, "application/yaml", b"a: [unclosed", 400, "BadRequest").await;
    expect_status(&s, "POST", CM, "application/json", b"[1,2]", 400, "BadRequest").await;
    expect_status(&s, "POST", CM, "text/plain", b"hello", 415, "UnsupportedMediaType").await;
    expect_status(&s, "POST", CM, "application/vnd.kubernetes.protobuf", b"\x00\x01", 400, "BadRequest").await;
    // Protobuf: garbage after the magic, a truncated envelope, and a well-formed Secret sent to
    // the ConfigMap collection.
    expect_status(&s, "POST", CM, "application/vnd.kubernetes.protobuf", b"k8s\0\xff\xff", 400, "BadRequest").await;
    let secret = Codec::get().encode(&serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})).unwrap();
    expect_status(&s, "POST", CM, "application/vnd.kubernetes.protobuf", &secret[..secret.len() - 6], 400, "BadRequest").await;
    expect_status(&s, "POST", CM, "application/vnd.kubernetes.protobuf", &secret, 400, "BadRequest").await;
    let big = vec![b' '; 4 * 1024 * 1024];
    expect_status(&s, "POST", CM, "application/json", &big, 413, "RequestEntityTooLarge").await;
}

#[tokio::test]
async fn bad_addresses_and_parameters() {
    let s = start().await;
    expect_status(&s, "GET", "/apis/nope.io/v1/things", "application/json", b"", 404, "NotFound").await;
    expect_status(&s, "GET", "/api/v1/namespaces/default/configmaps/missing", "application/json", b"", 404, "NotFound").await;
    expect_status(&s, "GET", &format!("{CM}?labelSelector=a%20in%20(b"), "application/json", b"", 400, "BadRequest").await;
    expect_status(&s, "GET", &format!("{CM}?fieldSelector=data.x%3Dy"), "application/json", b"", 400, "BadRequest").await;
    expect_status(&s, "GET", &format!("{CM}?limit=abc"), "application/json", b"", 400, "BadRequest").await;
    expect_status(&s, "GET", &format!("{CM}?resourceVersion=x"), "application/json", b"", 400, "BadRequest").await;
    expect_status(&s, "PATCH", &format!("{CM}/missing"), "application/merge-patch+json", b"{}", 404, "NotFound").await;
    expect_status(&s, "PATCH", &format!("{CM}/x"), "text/plain", b"{}", 415, "UnsupportedMediaType").await;
    let (code, status) = request(s.addr, "POST", &format!("{CM}?dryRun=Yes"), "application/json", br#"{"metadata":{"name":"d"}}"#).await;
    assert_eq!(code, 422);
    assert_eq!(status["message"], "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Yes\"}: supported values: \"All\"");
    let (code, _) = request(s.addr, "POST", &format!("{CM}?dryRun=All"), "application/json", br#"{"metadata":{"name":"d"}}"#).await;
    assert_eq!(code, 201, "a dry run answers as if created");
    assert_eq!(request(s.addr, "GET", &format!("{CM}/d"), "", b"").await.0, 404, "and stores nothing");
    expect_status(&s, "DELETE", &format!("{CM}/x"), "application/vnd.kubernetes.protobuf", b"k8s\0\x0a", 400, "BadRequest").await;
    expect_status(&s, "POST", "/api/v1/namespaces/default/configmaps/named", "application/json", b"{}", 405, "MethodNotAllowed").await;
    let wrong_ns = br#"{"metadata":{"name":"c","namespace":"other"}}"#;
    expect_status(&s, "POST", CM, "application/json", wrong_ns, 400, "BadRequest").await;
    let wrong_kind = br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c"}}"#;
    expect_status(&s, "POST", CM, "application/json", wrong_kind, 400, "BadRequest").await;
    let bad_name = br#"{"metadata":{"name":"Not_Valid"}}"#;
    expect_status(&s, "POST", CM, "application/json", bad_name, 422, "Invalid").await;
}

#[tokio::test]
async fn well_formed_requests_still_work_afterwards() {
    let s = start().await;
    let (code, _) = request(s.addr, "POST", CM, "application/json", b"{oops").await;
    assert_eq!(code, 400);
    let (code, obj) = request(s.addr, "POST", CM, "application/json", br#"{"metadata":{"name":"ok"},"data":{"a":"b"}}"#).await;
    assert_eq!(code, 201, "{obj}");
    let (code, obj) = request(s.addr, "GET", &format!("{CM}/ok"), "application/json", b"").await;
    assert_eq!((code, obj["data"]["a"].as_str()), (200, Some("b")));
}

#[tokio::test]
async fn repeated_and_unknown_fields_under_each_field_validation() {
    let s = start().await;
    let body = br#"{"metadata":{"name":"d","name":"d"},"data":{"a":"1"},"colour":"blue"}"#;
    let before = s.shared.with(|a| a.revision());
    let (code, status) = request(s.addr, "POST", &format!("{CM}?fieldValidation=Strict"), "application/json", body).await;
    assert_eq!(code, 400);
    assert_eq!(status["message"], r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "colour", duplicate field "metadata.name""#);
    assert_eq!(s.shared.with(|a| a.revision()), before, "the store changed");
    let reply = support::send(s.addr, "POST", CM, &[("Content-Type", "application/json")], body).await;
    assert_eq!(reply.code, 201, "Warn is the default: {}", String::from_utf8_lossy(&reply.body));
    assert!(reply.json().get("colour").is_none(), "the unknown field is dropped");
    assert_eq!(reply.warnings, [r#"299 - "unknown field \"colour\"""#, r#"299 - "duplicate field \"metadata.name\"""#]);
}

/// As a real server: a create in a namespace that does not exist is a 404 naming the namespace
/// (not the object), and the audit log hears it with the object's name.
#[tokio::test]
async fn a_create_in_a_missing_namespace_is_a_404_naming_the_namespace() {
    let s = start().await;
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = heard.clone();
    s.shared.audit_with(move |e| log.lock().unwrap().push(serde_json::to_value(e).unwrap()));
    let before = s.shared.requests();
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#;
    expect_status(&s, "POST", "/api/v1/namespaces/late/configmaps", "application/json", body, 404, "NotFound").await;
    let (_, status) = request(s.addr, "POST", "/api/v1/namespaces/late/configmaps", "application/json", body).await;
    assert_eq!(status["message"], "namespaces \"late\" not found");
    assert_eq!(status["details"]["name"], "late");
    assert_eq!(status["details"]["kind"], "namespaces");
    let heard = heard.lock().unwrap();
    assert_eq!(s.shared.requests() - before, 2);
    assert_eq!(heard.len(), 2);
    assert_eq!(heard[0]["verb"], "create");
    assert_eq!(heard[0]["apiGroup"], "");
    assert_eq!(heard[0]["resource"], "configmaps");
    assert_eq!(heard[0]["namespace"], "late");
    assert_eq!(heard[0]["name"], "c");
    assert_eq!(heard[0]["code"], 404);
}
