use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use proptest::prelude::*;
use serde_json::json;

fn manifest(api_version: &str, kind: &str, name: &str, annotations: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "ns", "annotations": annotations}})
}

fn at(rfc3339: &str) -> Time {
    serde_json::from_value(json!(rfc3339)).unwrap()
}

fn ready() -> ResourceState {
    ResourceState { reconciled: true, ready: Some(at("2024-01-01T00:00:00Z")), ..Default::default() }
}

fn deleted() -> ResourceState {
    ResourceState { reconciled: true, deleted: true, ..Default::default() }
}

fn member(m: &Value, state: Option<&ResourceState>, deleting: bool) -> Member {
    Member::of(m, state, deleting).expect("identity")
}

fn names(blockers: &[&Member]) -> Vec<String> {
    blockers.iter().map(|m| m.key.name.clone()).collect()
}

fn group(g: i64) -> Value {
    json!({"eno.azure.io/readiness-group": g.to_string()})
}

fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}}})
}

#[test]
fn a_group_waits_for_the_nearest_lower_group_only() {
    let a = manifest("apps/v1", "Deployment", "a", group(-5));
    let b = manifest("apps/v1", "Deployment", "b", group(2));
    let c = manifest("apps/v1", "Deployment", "c", group(7));
    let members = vec![member(&a, None, false), member(&b, None, false), member(&c, None, false)];
    let key = |m: &Value| ResourceKey::of(m).unwrap();
    assert!(blockers(&members, &key(&a), false).is_empty(), "the lowest group waits for nothing");
    assert_eq!(names(&blockers(&members, &key(&b), false)), ["a"]);
    // Groups are sparse: 7 waits for 2 (the nearest lower one present), not for -5.
    assert_eq!(names(&blockers(&members, &key(&c), false)), ["b"]);
    let members = vec![member(&a, Some(&ready()), false), member(&b, None, false), member(&c, None, false)];
    assert!(blockers(&members, &key(&b), false).is_empty(), "a ready lower group releases the next");
    assert_eq!(names(&blockers(&members, &key(&c), false)), ["b"]);
}

#[test]
fn resources_of_one_group_do_not_wait_for_each_other() {
    let a = manifest("v1", "Pod", "a", json!({}));
    let b = manifest("v1", "Pod", "b", json!({}));
    let members = vec![member(&a, None, false), member(&b, None, false)];
    assert!(blockers(&members, &ResourceKey::of(&a).unwrap(), false).is_empty());
    assert_eq!(waiting_on(&members, false), None);
}

#[test]
fn infrastructure_kinds_come_first_and_go_last() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}});
    let config = manifest("v1", "ConfigMap", "c", json!({}));
    let deployment = manifest("apps/v1", "Deployment", "d", json!({}));
    let creating = vec![member(&namespace, None, false), member(&config, None, false), member(&deployment, None, false)];
    assert_eq!(names(&blockers(&creating, &ResourceKey::of(&deployment).unwrap(), false)), ["c", "app"]);
    assert!(blockers(&creating, &ResourceKey::of(&config).unwrap(), false).is_empty(), "infrastructure is one group");
    let deleting = vec![member(&namespace, None, true), member(&config, None, true), member(&deployment, None, true)];
    assert!(blockers(&deleting, &ResourceKey::of(&deployment).unwrap(), true).is_empty());
    assert_eq!(names(&blockers(&deleting, &ResourceKey::of(&namespace).unwrap(), true)), ["d"]);
    let deployment_gone = vec![member(&namespace, None, true), member(&config, None, true), member(&deployment, Some(&deleted()), true)];
    assert!(blockers(&deployment_gone, &ResourceKey::of(&namespace).unwrap(), true).is_empty());
}

#[test]
fn an_explicit_group_overrides_the_kind_default() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "late", "annotations": {"eno.azure.io/readiness-group": "3", "eno.azure.io/deletion-group": "-1"}}});
    let deployment = manifest("apps/v1", "Deployment", "d", json!({}));
    let creating = vec![member(&namespace, None, false), member(&deployment, None, false)];
    assert_eq!(names(&blockers(&creating, &ResourceKey::of(&namespace).unwrap(), false)), ["d"]);
    let deleting = vec![member(&namespace, None, true), member(&deployment, None, true)];
    // Deletion group -1 goes before the deployment's 0.
    assert_eq!(names(&blockers(&deleting, &ResourceKey::of(&deployment).unwrap(), true)), ["late"]);
}

#[test]
fn custom_resources_wait_for_their_crd_while_creating_only() {
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns",
        "annotations": {"eno.azure.io/readiness-group": "-100"}}});
    let creating = vec![member(&crd(), None, false), member(&widget, None, false)];
    // Same group as the CRD, and still waits for it.
    assert_eq!(names(&blockers(&creating, &ResourceKey::of(&widget).unwrap(), false)), ["widgets.example.com"]);
    let established = vec![member(&crd(), Some(&ready()), false), member(&widget, None, false)];
    assert!(blockers(&established, &ResourceKey::of(&widget).unwrap(), false).is_empty());
    // Deleting a CRD deletes its custom resources: they do not hold it back, nor it them.
    let deleting = vec![member(&crd(), None, true), member(&widget, None, true)];
    assert!(blockers(&deleting, &ResourceKey::of(&widget).unwrap(), true).is_empty());
    // Another kind of the same group does not wait.
    let gadget = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "ns",
        "annotations": {"eno.azure.io/readiness-group": "-100"}}});
    let other = vec![member(&crd(), None, false), member(&gadget, None, false)];
    assert!(blockers(&other, &ResourceKey::of(&gadget).unwrap(), false).is_empty());
}

#[test]
fn a_crd_is_ready_once_established() {
    let options = ResourceOptions::from_manifest(&crd()).unwrap();
    assert_eq!(options.readiness_checks.len(), 1);
    let now = at("2024-01-01T00:01:40Z");
    let pending = json!({"status": {"conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"}]}});
    assert_eq!(crate::decide::readiness::evaluate(&options.readiness_checks, Some(&pending), &now).unwrap(), None);
    let established = json!({"status": {"conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": "2024-01-01T00:00:42Z"}]}});
    let since = crate::decide::readiness::evaluate(&options.readiness_checks, Some(&established), &now).unwrap();
    assert_eq!(since, Some(at("2024-01-01T00:00:42Z")), "ready when it was established");
    // A CRD with its own readiness check keeps only that one.
    let mut own = crd();
    own["metadata"]["annotations"] = json!({"eno.azure.io/readiness": "true"});
    let options = ResourceOptions::from_manifest(&own).unwrap();
    assert_eq!(options.readiness_checks.values().collect::<Vec<_>>(), ["true"]);
}

#[test]
fn the_status_names_what_is_waited_for() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}});
    let deployment = manifest("apps/v1", "Deployment", "d", json!({}));
    let creating = vec![member(&namespace, None, false), member(&deployment, None, false)];
    assert_eq!(waiting_on(&creating, false).as_deref(), Some("waiting for Namespace app to be ready"));
    let deleting = vec![member(&namespace, None, true), member(&deployment, None, true)];
    assert_eq!(waiting_on(&deleting, true).as_deref(), Some("waiting for Deployment ns/d to be deleted"));
    let many: Vec<Value> = (0..5).map(|i| manifest("v1", "ConfigMap", &format!("c{i}"), json!({}))).collect();
    let mut members: Vec<Member> = many.iter().map(|m| member(m, None, false)).collect();
    members.push(member(&deployment, None, false));
    assert_eq!(
        waiting_on(&members, false).as_deref(),
        Some("waiting for ConfigMap ns/c0, ConfigMap ns/c1, ConfigMap ns/c2, 2 more to be ready")
    );
}

#[test]
fn a_resource_outside_the_synthesis_or_a_bad_group_waits_for_nothing_unexpected() {
    let a = manifest("v1", "Pod", "a", group(1));
    let members = vec![member(&a, None, false)];
    let stranger = ResourceKey::of(&manifest("v1", "Pod", "z", json!({}))).unwrap();
    assert!(blockers(&members, &stranger, false).is_empty());
    // An unparsable group is the kind's default here (the resource reports the error itself).
    let bad = manifest("v1", "Pod", "b", json!({"eno.azure.io/readiness-group": "soon"}));
    assert_eq!(member(&bad, None, false).group, 0);
}

proptest! {
    /// Whatever the groups and states: nothing waits on itself or on a member of its own or a
    /// higher group (other than its CRD), and once every member is done nothing waits.
    #[test]
    fn blockers_are_lower_and_pending(groups in proptest::collection::vec((-3i64..4, any::<bool>()), 1..8), deleting in any::<bool>()) {
        let manifests: Vec<Value> = groups.iter().enumerate().map(|(i, (g, _))| manifest("v1", "Pod", &format!("p{i}"), group(*g))).collect();
        let state = if deleting { deleted() } else { ready() };
        let members: Vec<Member> = manifests.iter().zip(&groups).map(|(m, (_, done))| member(m, done.then_some(&state), deleting)).collect();
        for m in &members {
            for b in blockers(&members, &m.key, deleting) {
                prop_assert!(b.group < m.group && !b.done);
            }
        }
        let all_done: Vec<Member> = manifests.iter().map(|m| member(m, Some(&state), deleting)).collect();
        prop_assert_eq!(waiting_on(&all_done, deleting), None);
        // The lowest group present never waits.
        let lowest = members.iter().map(|m| m.group).min().unwrap();
        for m in members.iter().filter(|m| m.group == lowest) {
            prop_assert!(blockers(&members, &m.key, deleting).is_empty());
        }
    }
}

#[test]
fn a_patch_is_ordered_as_the_kind_it_patches() {
    let patch = json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "w", "namespace": "ns"},
        "patch": {"apiVersion": "example.com/v1", "kind": "Widget", "ops": []}});
    let config_patch = json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "c", "namespace": "ns"},
        "patch": {"apiVersion": "v1", "kind": "ConfigMap", "ops": []}});
    // A Patch of a ConfigMap is infrastructure (-100); a Patch of a Widget waits for its CRD.
    assert_eq!(member(&config_patch, None, false).group, -100);
    let members = vec![member(&crd(), Some(&ready()), false), member(&config_patch, Some(&ready()), false), member(&patch, None, false)];
    assert!(blockers(&members, &ResourceKey::of(&patch).unwrap(), false).is_empty());
    let members = vec![member(&crd(), None, false), member(&patch, None, false)];
    assert_eq!(names(&blockers(&members, &ResourceKey::of(&patch).unwrap(), false)), ["widgets.example.com"]);
}

#[test]
fn namespaced_resources_wait_for_their_namespace_unless_it_is_ordered_later() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}});
    let config = manifest("v1", "ConfigMap", "c", json!({}));
    let elsewhere = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e", "namespace": "other"}});
    let creating = vec![member(&namespace, None, false), member(&config, None, false), member(&elsewhere, None, false)];
    // Same readiness group (-100), and still the ConfigMap waits for its Namespace.
    assert_eq!(names(&blockers(&creating, &ResourceKey::of(&config).unwrap(), false)), ["ns"]);
    assert!(blockers(&creating, &ResourceKey::of(&elsewhere).unwrap(), false).is_empty());
    let created = vec![member(&namespace, Some(&ready()), false), member(&config, None, false)];
    assert!(blockers(&created, &ResourceKey::of(&config).unwrap(), false).is_empty());
    // Deleting: the Namespace's deletion takes its contents; they do not wait for it.
    let deleting = vec![member(&namespace, None, true), member(&config, None, true)];
    assert!(blockers(&deleting, &ResourceKey::of(&config).unwrap(), true).is_empty());
    // A Namespace ordered after its contents: they do not wait for it (that would wait forever).
    let late = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns", "annotations": {"eno.azure.io/readiness-group": "1"}}});
    let members = vec![member(&late, None, false), member(&config, None, false)];
    assert!(blockers(&members, &ResourceKey::of(&config).unwrap(), false).is_empty());
}
