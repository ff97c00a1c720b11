//! The core's rules, exercised in-process.

use super::*;
use crate::clock::ManualClock;
use serde_json::json;

fn server() -> ApiServer {
    ApiServer::new(Config::default(), Arc::new(ManualClock::at(1_700_000_000)))
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "required": ["size"], "properties": {
                            "size": {"type": "integer", "minimum": 1},
                            "color": {"type": "string", "enum": ["red", "blue"], "default": "red"}
                        }},
                        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
                    }
                }}
            }]
        }
    })
}

fn with_widgets() -> (ApiServer, Target) {
    let mut s = server();
    let crds = s.resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions").unwrap();
    s.create(&Target { resource: crds, namespace: None, name: None, subresource: None }, widget_crd(), &WriteOptions::default()).unwrap();
    let t = s.target_for("example.com/v1", "Widget", Some("default"), None).unwrap();
    (s, t)
}

fn named(t: &Target, name: &str) -> Target {
    Target { name: Some(name.to_string()), ..t.clone() }
}

fn status_of(t: &Target, name: &str) -> Target {
    Target { name: Some(name.to_string()), subresource: Some("status".into()), ..t.clone() }
}

fn widget(name: &str, size: i64) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": size}})
}

#[test]
fn create_sets_server_metadata_and_defaults() {
    let (mut s, t) = with_widgets();
    let w = s.create(&t, widget("w1", 3), &WriteOptions::default()).unwrap();
    assert!(w.created);
    let o = &w.object;
    assert_eq!(o["metadata"]["namespace"], "default");
    assert_eq!(o["metadata"]["generation"], 1);
    assert_eq!(o["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(o["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert_eq!(o["spec"]["color"], "red", "schema default applied");
    assert_eq!(crate::object::resource_version(o), s.revision().to_string());
    let again = s.create(&t, widget("w1", 3), &WriteOptions::default()).unwrap_err();
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(again.message, "widgets.example.com \"w1\" already exists");
}

#[test]
fn generate_name_and_missing_name() {
    let (mut s, t) = with_widgets();
    let body = json!({"metadata": {"generateName": "w-"}, "spec": {"size": 1}});
    let name = crate::object::name(&s.create(&t, body, &WriteOptions::default()).unwrap().object).to_string();
    assert!(name.starts_with("w-") && name.len() == 7, "{name}");
    let e = s.create(&t, json!({"metadata": {}, "spec": {"size": 1}}), &WriteOptions::default()).unwrap_err();
    assert_eq!(e.code, 422);
    assert!(e.message.contains("name or generateName is required"), "{}", e.message);
}

#[test]
fn schema_violations_are_422_with_fields_and_store_unchanged() {
    let (mut s, t) = with_widgets();
    let rev = s.revision();
    let e = s.create(&t, json!({"metadata": {"name": "bad"}, "spec": {"size": 0, "color": "green"}}), &WriteOptions::default()).unwrap_err();
    assert_eq!(e.code, 422);
    let fields: Vec<&str> = e.causes.iter().map(|c| c.field.as_str()).collect();
    assert!(fields.contains(&"spec.size") && fields.contains(&"spec.color"), "{fields:?}");
    assert!(e.message.starts_with("Widget.example.com \"bad\" is invalid"), "{}", e.message);
    assert_eq!(s.revision(), rev);
}

#[test]
fn unknown_fields_strict_rejects_warn_prunes() {
    let (mut s, t) = with_widgets();
    let body = json!({"metadata": {"name": "u"}, "spec": {"size": 1, "extra": true}});
    let strict = WriteOptions { field_validation: FieldValidation::Strict, ..Default::default() };
    let e = s.create(&t, body.clone(), &strict).unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.contains("unknown field \"spec.extra\""), "{}", e.message);
    let w = s.create(&t, body, &WriteOptions::default()).unwrap();
    assert!(w.object["spec"].get("extra").is_none());
    assert_eq!(w.warnings, vec!["unknown field \"spec.extra\"".to_string()]);
}

#[test]
fn update_rules_for_custom_resources() {
    let (mut s, t) = with_widgets();
    let created = s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap().object;
    // PUT without a resourceVersion is refused for custom resources.
    let e = s.update(&named(&t, "w"), widget("w", 2), &WriteOptions::default()).unwrap_err();
    assert_eq!(e.code, 422);
    assert!(e.message.contains("must be specified for an update"));
    // A stale resourceVersion conflicts.
    let mut v2 = created.clone();
    v2["spec"]["size"] = json!(2);
    let updated = s.update(&named(&t, "w"), v2.clone(), &WriteOptions::default()).unwrap().object;
    assert_eq!(updated["metadata"]["generation"], 2);
    let e = s.update(&named(&t, "w"), v2, &WriteOptions::default()).unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    // Status in a main-resource write is ignored.
    let mut with_status = updated.clone();
    with_status["status"] = json!({"ready": true});
    let same = s.update(&named(&t, "w"), with_status, &WriteOptions::default()).unwrap().object;
    assert_eq!(same, updated, "status-only change through the main resource is a no-op");
}

#[test]
fn noop_writes_keep_the_revision_and_emit_nothing() {
    let (mut s, t) = with_widgets();
    let created = s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap().object;
    let rev = s.revision();
    let again = s.update(&named(&t, "w"), created.clone(), &WriteOptions::default()).unwrap().object;
    assert_eq!(crate::object::resource_version(&again), crate::object::resource_version(&created));
    s.patch(&named(&t, "w"), PatchType::Merge, br#"{"spec":{"size":1}}"#, &WriteOptions::default()).unwrap();
    assert_eq!(s.revision(), rev);
}

#[test]
fn status_subresource_changes_only_status() {
    let (mut s, t) = with_widgets();
    let created = s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap().object;
    let mut body = created.clone();
    body["status"] = json!({"ready": true});
    body["spec"]["size"] = json!(9);
    body["metadata"]["labels"] = json!({"a": "b"});
    let after = s.update(&status_of(&t, "w"), body, &WriteOptions::default()).unwrap().object;
    assert_eq!(after["status"]["ready"], true);
    assert_eq!(after["spec"]["size"], 1);
    assert!(after["metadata"].get("labels").is_none());
    assert_eq!(after["metadata"]["generation"], 1, "status writes do not bump generation");
    let patched = s.patch(&status_of(&t, "w"), PatchType::Merge, br#"{"status":{"ready":false}}"#, &WriteOptions::default()).unwrap().object;
    assert_eq!(patched["status"]["ready"], false);
}

#[test]
fn patches_on_custom_resources() {
    let (mut s, t) = with_widgets();
    s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap();
    let e = s.patch(&named(&t, "w"), PatchType::Strategic, b"{}", &WriteOptions::default()).unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (415, "UnsupportedMediaType"));
    let ops = br#"[{"op":"test","path":"/metadata/finalizers","value":null},{"op":"add","path":"/metadata/finalizers","value":["f"]}]"#;
    let o = s.patch(&named(&t, "w"), PatchType::Json, ops, &WriteOptions::default()).unwrap().object;
    assert_eq!(o["metadata"]["finalizers"], json!(["f"]));
    let stale = br#"{"metadata":{"resourceVersion":"1"},"spec":{"size":5}}"#;
    assert_eq!(s.patch(&named(&t, "w"), PatchType::Merge, stale, &WriteOptions::default()).unwrap_err().code, 409);
    assert_eq!(s.patch(&named(&t, "w"), PatchType::Merge, b"not json", &WriteOptions::default()).unwrap_err().code, 400);
    assert_eq!(s.patch(&named(&t, "missing"), PatchType::Merge, b"{}", &WriteOptions::default()).unwrap_err().code, 404);
}

#[test]
fn strategic_patch_merges_containers_by_name() {
    let mut s = server();
    let t = s.target_for("apps/v1", "Deployment", Some("default"), None).unwrap();
    let d = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [
        {"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]},
        {"name": "sidecar", "image": "envoy"}
    ]}}}});
    s.create(&t, d, &WriteOptions::default()).unwrap();
    let p = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"},{"name":"sidecar"}],"containers":[{"image":"nginx:2","name":"app"}]}}}}"#;
    let o = s.patch(&named(&t, "d"), PatchType::Strategic, p, &WriteOptions::default()).unwrap().object;
    let cs = o["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0]["image"], "nginx:2");
    assert_eq!(cs[0]["ports"][0]["containerPort"], 80);
    assert_eq!(cs[1]["name"], "sidecar");
    assert_eq!(o["metadata"]["generation"], 2);
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let (mut s, t) = with_widgets();
    let mut w = widget("w", 1);
    w["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.create(&t, w, &WriteOptions::default()).unwrap();
    let pending = s.delete(&named(&t, "w"), &DeleteOptions::default()).unwrap();
    let Deleted::Pending(o) = pending else { panic!("finalizer should hold the object") };
    assert!(o["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(o["metadata"]["generation"], 2);
    // No new finalizers once deleting.
    let add = br#"{"metadata":{"finalizers":["example.com/hold","x/y"]}}"#;
    let e = s.patch(&named(&t, "w"), PatchType::Merge, add, &WriteOptions::default()).unwrap_err();
    assert_eq!(e.code, 422);
    assert!(e.message.contains("no new finalizers"), "{}", e.message);
    // Removing the last finalizer deletes it.
    s.patch(&named(&t, "w"), PatchType::Merge, br#"{"metadata":{"finalizers":null}}"#, &WriteOptions::default()).unwrap();
    assert!(s.get(&named(&t, "w"), None).unwrap_err().is_not_found());
}

#[test]
fn delete_without_finalizers_returns_status() {
    let (mut s, t) = with_widgets();
    let uid = crate::object::uid(&s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap().object).to_string();
    let wrong = DeleteOptions { precondition_uid: Some("nope".into()), ..Default::default() };
    assert_eq!(s.delete(&named(&t, "w"), &wrong).unwrap_err().code, 409);
    let Deleted::Gone(status) = s.delete(&named(&t, "w"), &DeleteOptions::default()).unwrap() else { panic!() };
    assert_eq!(status["status"], "Success");
    assert_eq!(status["details"]["uid"], uid.as_str());
    assert_eq!(status["details"]["kind"], "widgets");
}

fn owned_configmap(s: &mut ApiServer, name: &str, owner: &Value, block: bool) {
    let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
    let body = json!({"metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "example.com/v1", "kind": "Widget", "name": crate::object::name(owner),
        "uid": crate::object::uid(owner), "blockOwnerDeletion": block, "controller": true
    }]}});
    s.create(&t, body, &WriteOptions::default()).unwrap();
}

fn configmap_names(s: &mut ApiServer) -> Vec<String> {
    let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
    s.list(&t, &ListOptions::default()).unwrap().into_value()["items"].as_array().unwrap().iter().map(|o| crate::object::name(o).to_string()).collect()
}

fn gc(s: &mut ApiServer) {
    while s.collect_garbage() > 0 {}
}

#[test]
fn background_deletion_collects_dependents_later() {
    let (mut s, t) = with_widgets();
    let owner = s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap().object;
    owned_configmap(&mut s, "dep", &owner, false);
    s.delete(&named(&t, "w"), &DeleteOptions::default()).unwrap();
    assert_eq!(configmap_names(&mut s), vec!["dep"], "GC has not run yet");
    s.set_faults(Faults { gc_paused: true, ..Faults::none() });
    assert_eq!(s.collect_garbage(), 0);
    s.set_faults(Faults::none());
    gc(&mut s);
    assert!(configmap_names(&mut s).is_empty());
}

#[test]
fn orphan_and_foreground_propagation() {
    let (mut s, t) = with_widgets();
    let owner = s.create(&t, widget("o", 1), &WriteOptions::default()).unwrap().object;
    owned_configmap(&mut s, "kept", &owner, false);
    s.delete(&named(&t, "o"), &DeleteOptions { propagation: Some(Propagation::Orphan), ..Default::default() }).unwrap();
    gc(&mut s);
    assert_eq!(configmap_names(&mut s), vec!["kept"]);
    assert!(s.get(&named(&t, "o"), None).unwrap_err().is_not_found());

    let owner = s.create(&t, widget("f", 1), &WriteOptions::default()).unwrap().object;
    owned_configmap(&mut s, "blocker", &owner, true);
    let Deleted::Pending(o) = s.delete(&named(&t, "f"), &DeleteOptions { propagation: Some(Propagation::Foreground), ..Default::default() }).unwrap() else { panic!() };
    assert_eq!(o["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    gc(&mut s);
    assert_eq!(configmap_names(&mut s), vec!["kept"]);
    assert!(s.get(&named(&t, "f"), None).unwrap_err().is_not_found());
}

#[test]
fn gc_never_deletes_an_object_with_a_live_owner() {
    let (mut s, t) = with_widgets();
    let owner = s.create(&t, widget("w", 1), &WriteOptions::default()).unwrap().object;
    owned_configmap(&mut s, "dep", &owner, false);
    gc(&mut s);
    assert_eq!(configmap_names(&mut s), vec!["dep"]);
}

#[test]
fn watch_replays_from_a_revision_and_expires_below_the_floor() {
    let (mut s, t) = with_widgets();
    let start = s.revision();
    s.create(&t, widget("a", 1), &WriteOptions::default()).unwrap();
    s.patch(&named(&t, "a"), PatchType::Merge, br#"{"spec":{"size":2}}"#, &WriteOptions::default()).unwrap();
    s.delete(&named(&t, "a"), &DeleteOptions::default()).unwrap();
    let mut w = s.watch(&t, &ListOptions { resource_version: Some(start.to_string()), ..Default::default() }).unwrap();
    let types: Vec<&str> = s.poll_watch(&mut w).events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, vec!["ADDED", "MODIFIED", "DELETED"]);
    s.compact(s.revision());
    let mut old = s.watch(&t, &ListOptions { resource_version: Some(start.to_string()), ..Default::default() }).unwrap();
    let poll = s.poll_watch(&mut old);
    assert!(poll.closed);
    assert_eq!(poll.events[0].event_type, "ERROR");
    assert_eq!(poll.events[0].object["code"], 410);
    assert_eq!(poll.events[0].object["reason"], "Expired");
}

#[test]
fn watch_turns_selector_transitions_into_added_and_deleted() {
    let (mut s, t) = with_widgets();
    let start = s.revision();
    s.create(&t, widget("a", 1), &WriteOptions::default()).unwrap();
    s.patch(&named(&t, "a"), PatchType::Merge, br#"{"metadata":{"labels":{"x":"y"}}}"#, &WriteOptions::default()).unwrap();
    s.patch(&named(&t, "a"), PatchType::Merge, br#"{"metadata":{"labels":{"x":"z"}}}"#, &WriteOptions::default()).unwrap();
    let opts = ListOptions { resource_version: Some(start.to_string()), label_selector: Some("x=y".into()), ..Default::default() };
    let mut w = s.watch(&t, &opts).unwrap();
    let events = s.poll_watch(&mut w).events;
    let types: Vec<&str> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, vec!["ADDED", "DELETED"]);
    assert_eq!(events[1].object["metadata"]["labels"]["x"], "y", "DELETED carries the last matching state");
}

#[test]
fn initial_events_end_with_a_bookmark() {
    let (mut s, t) = with_widgets();
    s.create(&t, widget("a", 1), &WriteOptions::default()).unwrap();
    let opts = ListOptions {
        resource_version: Some("0".into()),
        resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
        send_initial_events: Some(true),
        allow_watch_bookmarks: true,
        ..Default::default()
    };
    let mut w = s.watch(&t, &opts).unwrap();
    let events = s.poll_watch(&mut w).events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].event_type, "BOOKMARK");
    assert_eq!(events[1].object["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
    let bad = ListOptions { send_initial_events: Some(true), ..Default::default() };
    assert_eq!(s.watch(&t, &bad).unwrap_err().code, 422);
}

#[test]
fn list_pages_with_continue_at_one_revision() {
    let (mut s, t) = with_widgets();
    for i in 0..5 {
        s.create(&t, widget(&format!("w{i}"), 1), &WriteOptions::default()).unwrap();
    }
    let first = s.list(&t, &ListOptions { limit: Some(2), ..Default::default() }).unwrap().into_value();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    let rv = first["metadata"]["resourceVersion"].clone();
    s.create(&t, widget("w9", 1), &WriteOptions::default()).unwrap();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let rest = s.list(&t, &ListOptions { limit: Some(10), continue_token: Some(token.clone()), ..Default::default() }).unwrap().into_value();
    let names: Vec<&str> = rest["items"].as_array().unwrap().iter().map(crate::object::name).collect();
    assert_eq!(names, vec!["w2", "w3", "w4"], "the page is served at the first page's revision");
    assert_eq!(rest["metadata"]["resourceVersion"], rv);
    assert!(rest["metadata"].get("continue").is_none());
    s.compact(s.revision());
    assert_eq!(s.list(&t, &ListOptions { continue_token: Some(token), ..Default::default() }).unwrap_err().code, 410);
    assert_eq!(s.list(&t, &ListOptions { continue_token: Some("zz".into()), ..Default::default() }).unwrap_err().code, 400);
}

#[test]
fn selectors_filter_lists_and_bad_ones_are_400() {
    let (mut s, t) = with_widgets();
    let mut a = widget("a", 1);
    a["metadata"]["labels"] = json!({"tier": "web"});
    s.create(&t, a, &WriteOptions::default()).unwrap();
    s.create(&t, widget("b", 1), &WriteOptions::default()).unwrap();
    let by_label = s.list(&t, &ListOptions { label_selector: Some("tier in (web,db)".into()), ..Default::default() }).unwrap().into_value();
    assert_eq!(by_label["items"].as_array().unwrap().len(), 1);
    let by_field = s.list(&t, &ListOptions { field_selector: Some("metadata.name!=a".into()), ..Default::default() }).unwrap().into_value();
    assert_eq!(crate::object::name(&by_field["items"][0]), "b");
    let e = s.list(&t, &ListOptions { field_selector: Some("spec.size=1".into()), ..Default::default() }).unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.contains("is not a known field selector"), "{}", e.message);
    assert_eq!(s.list(&t, &ListOptions { label_selector: Some("a in (".into()), ..Default::default() }).unwrap_err().code, 400);
}

#[test]
fn namespaces_must_exist_and_terminating_ones_refuse_content() {
    let mut s = server();
    let cm = s.target_for("v1", "ConfigMap", Some("nope"), None).unwrap();
    let e = s.create(&cm, json!({"metadata": {"name": "c"}}), &WriteOptions::default()).unwrap_err();
    assert_eq!(e.message, "namespaces \"nope\" not found");
    let ns = s.target_for("v1", "Namespace", None, None).unwrap();
    s.create(&ns, json!({"metadata": {"name": "team"}}), &WriteOptions::default()).unwrap();
    let cm = s.target_for("v1", "ConfigMap", Some("team"), None).unwrap();
    s.create(&cm, json!({"metadata": {"name": "c"}}), &WriteOptions::default()).unwrap();
    s.delete(&named(&ns, "team"), &DeleteOptions::default()).unwrap();
    assert_eq!(s.create(&cm, json!({"metadata": {"name": "d"}}), &WriteOptions::default()).unwrap_err().code, 403);
    gc(&mut s);
    assert!(s.get(&named(&ns, "team"), None).unwrap_err().is_not_found());
}

#[test]
fn deleting_a_crd_removes_its_objects_and_type() {
    let (mut s, t) = with_widgets();
    s.create(&t, widget("a", 1), &WriteOptions::default()).unwrap();
    let crds = s.target_for("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, Some("widgets.example.com")).unwrap();
    s.delete(&crds, &DeleteOptions::default()).unwrap();
    gc(&mut s);
    assert!(s.resolve("example.com", "v1", "widgets").is_err());
}

#[test]
fn stale_reads_and_injected_errors_follow_the_fault_plan() {
    let (mut s, t) = with_widgets();
    s.create(&t, widget("a", 1), &WriteOptions::default()).unwrap();
    s.patch(&named(&t, "a"), PatchType::Merge, br#"{"spec":{"size":2}}"#, &WriteOptions::default()).unwrap();
    s.set_faults(Faults { read_lag: 1, ..Faults::none() });
    assert_eq!(s.get(&named(&t, "a"), Some("0")).unwrap()["spec"]["size"], 1, "cache read lags");
    assert_eq!(s.get(&named(&t, "a"), None).unwrap()["spec"]["size"], 2, "quorum read is fresh");
    s.set_faults(Faults { error_rate: 1.0, error_codes: vec![503], ..Faults::none() });
    let rev = s.revision();
    assert_eq!(s.create(&t, widget("b", 1), &WriteOptions::default()).unwrap_err().code, 503);
    assert_eq!(s.revision(), rev);
    s.set_faults(Faults { timeout_after_commit_rate: 1.0, ..Faults::none() });
    assert_eq!(s.create(&t, widget("c", 1), &WriteOptions::default()).unwrap_err().code, 504);
    s.set_faults(Faults::none());
    assert!(s.get(&named(&t, "c"), None).is_ok(), "the write committed even though the reply was lost");
}

#[test]
fn watch_faults_drop_and_close() {
    let (mut s, t) = with_widgets();
    let start = s.revision();
    let mut w = s.watch(&t, &ListOptions { resource_version: Some(start.to_string()), ..Default::default() }).unwrap();
    s.set_faults(Faults { watch_drop_rate: 1.0, ..Faults::none() });
    s.create(&t, widget("a", 1), &WriteOptions::default()).unwrap();
    assert!(s.poll_watch(&mut w).events.is_empty());
    s.close_watches();
    assert!(s.poll_watch(&mut w).closed);
}

#[test]
fn server_side_apply_creates_then_updates() {
    let (mut s, t) = with_widgets();
    let opts = WriteOptions { field_manager: Some("me".into()), force: Some(true), ..Default::default() };
    let body = br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"a","labels":{"x":"1"}},"spec":{"size":1}}"#;
    let created = s.patch(&named(&t, "a"), PatchType::Apply, body, &opts).unwrap();
    assert!(created.created);
    assert_eq!(created.object["metadata"]["managedFields"][0]["manager"], "me");
    assert_eq!(created.object["metadata"]["managedFields"][0]["operation"], "Apply");
    let body = br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"a"},"spec":{"size":2}}"#;
    let updated = s.patch(&named(&t, "a"), PatchType::Apply, body, &opts).unwrap();
    assert!(!updated.created);
    assert_eq!(updated.object["spec"]["size"], 2);
    assert!(updated.object["metadata"].get("labels").is_none_or(|l| l.get("x").is_none()), "dropped field removed");
    let e = s.patch(&named(&t, "a"), PatchType::Apply, body, &WriteOptions::default()).unwrap_err();
    assert_eq!(e.code, 422, "apply needs a field manager");
}

#[test]
fn secret_string_data_is_written_into_data_and_the_type_defaults_to_opaque() {
    let mut s = server();
    let secrets = s.target_for("v1", "Secret", Some("default"), None).unwrap();
    let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"a": "b2xk", "keep": "eA=="}, "stringData": {"a": "new", "b": "two"}});
    let created = s.create(&secrets, body, &WriteOptions::default()).unwrap().object;
    assert_eq!(created["data"], json!({"a": "bmV3", "b": "dHdv", "keep": "eA=="}), "stringData wins over data");
    assert!(created.get("stringData").is_none());
    assert_eq!(created["type"], "Opaque");
    // An update's stringData lands the same way; an explicit type stays.
    let mut update = created.clone();
    update["stringData"] = json!({"b": "three"});
    let updated = s.update(&named(&secrets, "creds"), update, &WriteOptions::default()).unwrap().object;
    assert_eq!(updated["data"]["b"], "dGhyZWU=");
    let tls = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
    assert_eq!(s.create(&secrets, tls, &WriteOptions::default()).unwrap().object["type"], "kubernetes.io/tls");
}

/// One create (or update from `old`) per rule of the built-in kinds, and the cause it must give.
#[test]
fn builtin_validation_rules_give_the_real_servers_causes() {
    let cm = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data});
    let pod = |containers: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}});
    let svc = |ports: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": ports}});
    let label_msg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    #[rustfmt::skip]
    let table: Vec<(&str, Option<Value>, Value, &str, String)> = vec![
        ("config key", None, cm(json!({"a b": "x"})), "data[a b]",
         "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".into()),
        ("config key '..'", None, cm(json!({"..": "x"})), "data[..]", "Invalid value: \"..\": must not be '..'".into()),
        ("key in data and binaryData", None, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "x"}, "binaryData": {"k": "eA=="}}),
         "binaryData[k]", "Invalid value: \"k\": duplicate of key present in data".into()),
        ("immutable data", Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": true, "data": {"k": "x"}})),
         json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": true, "data": {"k": "y"}}), "data", "Forbidden: field is immutable when `immutable` is set".into()),
        ("immutable flag", Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": true, "data": {"k": "x"}})),
         json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": false, "data": {"k": "x"}}), "immutable", "Forbidden: field is immutable when `immutable` is set".into()),
        ("secret type", Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}, "type": "Opaque"})),
         json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}, "type": "kubernetes.io/tls"}), "type", "Invalid value: \"kubernetes.io/tls\": field is immutable".into()),
        ("container name", None, pod(json!([{"name": "Web", "image": "i"}])), "spec.containers[0].name", format!("Invalid value: \"Web\": {label_msg}")),
        ("duplicate container", None, pod(json!([{"name": "web", "image": "i"}, {"name": "web", "image": "i"}])), "spec.containers[1].name", "Duplicate value: \"web\"".into()),
        ("container image", None, pod(json!([{"name": "web"}])), "spec.containers[0].image", "Required value".into()),
        ("no containers", None, pod(json!([])), "spec.containers", "Required value".into()),
        ("container port", None, pod(json!([{"name": "web", "image": "i", "ports": [{"containerPort": 70000}]}])), "spec.containers[0].ports[0].containerPort",
         "Invalid value: 70000: must be between 1 and 65535, inclusive".into()),
        ("service port", None, svc(json!([{"port": 0}])), "spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive".into()),
        ("unnamed port of several", None, svc(json!([{"name": "a", "port": 80}, {"port": 81}])), "spec.ports[1].name", "Required value".into()),
        ("duplicate port name", None, svc(json!([{"name": "a", "port": 80}, {"name": "a", "port": 81}])), "spec.ports[1].name", "Duplicate value: \"a\"".into()),
        ("protocol", None, svc(json!([{"port": 80, "protocol": "HTTP"}])), "spec.ports[0].protocol", "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"".into()),
        ("target port", None, svc(json!([{"port": 80, "targetPort": 0}])), "spec.ports[0].targetPort", "Invalid value: 0: must be between 1 and 65535, inclusive".into()),
        ("job containers", None, json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "x_y", "image": "i"}]}}}}),
         "spec.template.spec.containers[0].name", format!("Invalid value: \"x_y\": {label_msg}")),
    ];
    for (rule, old, body, field, message) in table {
        let mut s = server();
        let api_version = body["apiVersion"].as_str().unwrap().to_string();
        let kind = body["kind"].as_str().unwrap().to_string();
        let t = s.target_for(&api_version, &kind, Some("default"), None).unwrap();
        let err = match old {
            None => s.create(&t, body, &WriteOptions::default()).unwrap_err(),
            Some(old) => {
                s.create(&t, old, &WriteOptions::default()).unwrap_or_else(|e| panic!("{rule}: the old object is valid: {e:?}"));
                s.update(&named(&t, body["metadata"]["name"].as_str().unwrap()), body, &WriteOptions::default()).unwrap_err()
            }
        };
        assert_eq!(err.code, 422, "{rule}: {err:?}");
        assert!(err.causes.iter().any(|c| c.field == field && c.message == message), "{rule}: want {field}: {message}\ngot {:#?}", err.causes);
    }
}

#[test]
fn a_crd_whose_schema_is_not_structural_is_refused_with_its_causes() {
    let mut s = server();
    let crds = s.resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions").unwrap();
    let target = Target { resource: crds, namespace: None, name: None, subresource: None };
    let mut crd = widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"] = json!({
        "size": {"type": "integer"},
        "tags": {"type": "array"},
        "mode": {"type": "strin"},
        "loose": {"description": "no type"},
        "free": {"x-kubernetes-preserve-unknown-fields": true},
        "port": {"x-kubernetes-int-or-string": true},
        "labels": {"type": "object", "additionalProperties": {"description": "no type"}},
    });
    let err = s.create(&target, crd, &WriteOptions::default()).unwrap_err();
    assert_eq!(err.code, 422);
    let at = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties";
    let causes: Vec<(String, String)> = err.causes.iter().map(|c| (c.field.clone(), c.message.clone())).collect();
    assert_eq!(causes, [
        (format!("{at}[labels].additionalProperties.type"), "Required value: must not be empty for specified object fields".to_string()),
        (format!("{at}[loose].type"), "Required value: must not be empty for specified object fields".to_string()),
        (format!("{at}[mode].type"), r#"Unsupported value: "strin": supported values: "array", "boolean", "integer", "number", "object", "string""#.to_string()),
        (format!("{at}[tags].items"), "Required value: must be specified".to_string()),
    ]);
    assert!(s.resolve("example.com", "v1", "widgets").is_err(), "nothing was registered");
}

/// Writes that leave the stored managedFields parsed in the store (no JSON patch, no apply)
/// answer as those that thaw them: whatever the client sent in their place is honoured.
#[test]
fn managed_fields_kept_parsed_answer_like_thawed_ones() {
    let (mut s, t) = with_widgets();
    let by = |m: &str| WriteOptions { field_manager: Some(m.into()), ..Default::default() };
    let managers = |w: &Written| -> Vec<String> {
        w.object["metadata"]["managedFields"].as_array().map_or(vec![], |a| a.iter().map(|e| format!("{}/{}", e["manager"].as_str().unwrap_or(""), e["subresource"].as_str().unwrap_or(""))).collect())
    };
    let a = named(&t, "a");
    s.create(&t, widget("a", 1), &by("maker")).unwrap();
    let w = s.patch(&a, PatchType::Merge, br#"{"spec":{"size":2}}"#, &by("merger")).unwrap();
    assert_eq!(managers(&w), ["maker/", "merger/"]);
    // A no-op answers the stored object, managedFields and all.
    let w = s.patch(&a, PatchType::Merge, br#"{"spec":{"size":2}}"#, &by("other")).unwrap();
    assert_eq!(managers(&w), ["maker/", "merger/"]);
    // `[]` leaves them alone; a list sent is taken as written; `[{}]` drops them all.
    let w = s.patch(&a, PatchType::Merge, br#"{"metadata":{"managedFields":[]},"spec":{"size":3}}"#, &by("merger")).unwrap();
    assert_eq!(managers(&w), ["maker/", "merger/"]);
    let only_maker = json!({"metadata": {"managedFields": [w.object["metadata"]["managedFields"][0].clone()]}, "spec": {"color": "blue"}});
    let w = s.patch(&a, PatchType::Merge, only_maker.to_string().as_bytes(), &by("painter")).unwrap();
    assert_eq!(managers(&w), ["maker/", "painter/"]);
    let w = s.patch(&a, PatchType::Merge, br#"{"metadata":{"managedFields":[{}]}}"#, &by("x")).unwrap();
    assert_eq!(managers(&w), Vec::<String>::new());
    let w = s.patch(&a, PatchType::Merge, br#"{"spec":{"size":4}}"#, &by("merger")).unwrap();
    assert_eq!(managers(&w), ["merger/"]);
    // A PUT without them keeps the stored ones; a status write records its subresource.
    let mut body = w.object.clone();
    body["metadata"].as_object_mut().unwrap().remove("managedFields");
    body["spec"]["size"] = json!(5);
    let w = s.update(&a, body, &by("putter")).unwrap();
    assert_eq!(managers(&w), ["putter/"]);
    let mut status = w.object.clone();
    status["status"] = json!({"ready": true});
    let w = s.update(&Target { subresource: Some("status".into()), ..a.clone() }, status, &by("statuser")).unwrap();
    assert_eq!(managers(&w), ["putter/", "statuser/status"]);
    // A JSON patch sees them.
    let w = s.patch(&a, PatchType::Json, br#"[{"op":"test","path":"/metadata/managedFields/0/manager","value":"putter"},{"op":"replace","path":"/spec/size","value":6}]"#, &by("jp")).unwrap();
    assert_eq!(managers(&w), ["jp/", "statuser/status"]);
    assert_eq!(s.get(&a, None).unwrap()["metadata"]["managedFields"], w.object["metadata"]["managedFields"]);
    let w = s.patch(&a, PatchType::Json, br#"[{"op":"replace","path":"/spec/size","value":7}]"#, &by("jp2")).unwrap();
    assert_eq!(managers(&w), ["jp2/", "statuser/status"]);
    let w = s.patch(&a, PatchType::Json, br#"[{"op":"add","path":"/metadata/labels","value":{"x":"y"}},{"op":"copy","from":"/metadata/managedFields/0","path":"/metadata/managedFields/2"}]"#, &by("jp3")).unwrap();
    assert_eq!(managers(&w), ["jp2/", "jp3/", "statuser/status"]);
    // A PUT of what was read (managedFields included) keeps them.
    let mut body = w.object.clone();
    body["spec"]["size"] = json!(8);
    let w = s.update(&a, body, &by("putter")).unwrap();
    assert_eq!(managers(&w), ["jp3/", "putter/", "statuser/status"]);
    assert_eq!(s.get(&a, None).unwrap(), w.object);
}
