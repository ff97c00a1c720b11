use super::*;
use serde_json::json;
use crate::api::annotations::OVERRIDES;

const IN_SYNC: ResourceContext = ResourceContext { composition_deleting: false, symphony_deleting: false };
const COMP_DELETING: ResourceContext =
    ResourceContext { composition_deleting: true, symphony_deleting: false };
const SYMPHONY_DELETING_CTX: ResourceContext =
    ResourceContext { composition_deleting: true, symphony_deleting: true };

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns"}, "data": data})
}

fn with_annotations(mut v: Value, annotations: Value) -> Value {
    v["metadata"]["annotations"] = annotations;
    v
}

/// `v` as the server would return it: server metadata added.
fn live(mut v: Value) -> Value {
    let metadata = v["metadata"].as_object_mut().unwrap();
    metadata.insert("uid".into(), json!("uid-1"));
    metadata.insert("resourceVersion".into(), json!("41"));
    metadata.insert("creationTimestamp".into(), json!("2024-01-01T00:00:00Z"));
    metadata.insert("managedFields".into(), json!([{"manager": "kubectl", "operation": "Update"}]));
    v
}

fn deleting(mut v: Value) -> Value {
    v["metadata"]["deletionTimestamp"] = json!("2024-01-02T00:00:00Z");
    v
}

fn deployment(containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}},
    })
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}, "spec": spec})
}

/// Applies a patch action to `live` the way the server would.
fn apply_action(action: &ResourceAction, live: &Value) -> Value {
    let ResourceAction::Patch { patch_type, patch } = action else {
        panic!("expected a patch, got {action:?}");
    };
    let group = group_of(live["apiVersion"].as_str().unwrap());
    match patch_type {
        PatchType::Strategic => {
            let meta = merge_keys::builtin(group, live["kind"].as_str().unwrap()).unwrap();
            strategic::apply(live, patch, meta).unwrap()
        }
        PatchType::Merge => merge::apply(live, patch),
        PatchType::Json => apimachinery::patch::json::apply(live, patch).unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Reference table of three-way merge cases.

enum Expect {
    Nothing,
    Create(Value),
    /// Patch type, and the live object after applying it.
    Patch(PatchType, Value),
    /// Patch type and the exact patch body.
    PatchBody(PatchType, Value),
    Delete,
    Orphan,
    AlreadyGone,
}

struct Case {
    name: &'static str,
    desired: Option<Value>,
    previous: Option<Value>,
    live: Option<Value>,
    ctx: ResourceContext,
    expect: Expect,
}

fn reference_cases() -> Vec<Case> {
    vec![
        Case {
            name: "configmap data drift is fixed",
            desired: Some(cm(json!({"a": "1"}))),
            previous: Some(cm(json!({"a": "1"}))),
            live: Some(live(cm(json!({"a": "2"})))),
            ctx: IN_SYNC,
            expect: Expect::PatchBody(
                PatchType::Strategic,
                json!({"data": {"a": "1"}, "metadata": {"resourceVersion": "41"}}),
            ),
        },
        Case {
            name: "a field set by another client is kept",
            desired: Some(cm(json!({"a": "1"}))),
            previous: Some(cm(json!({"a": "1"}))),
            live: Some(live(cm(json!({"a": "2", "theirs": "x"})))),
            ctx: IN_SYNC,
            expect: Expect::Patch(PatchType::Strategic, live(cm(json!({"a": "1", "theirs": "x"})))),
        },
        Case {
            name: "another client's label is not a reason to write",
            desired: Some(cm(json!({"a": "1"}))),
            previous: Some(cm(json!({"a": "1"}))),
            live: Some({
                let mut l = live(cm(json!({"a": "1"})));
                l["metadata"]["labels"] = json!({"team": "x"});
                l
            }),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "a field Eno dropped is removed",
            desired: Some(cm(json!({"a": "1"}))),
            previous: Some(cm(json!({"a": "1", "old": "o"}))),
            live: Some(live(cm(json!({"a": "1", "old": "o", "theirs": "x"})))),
            ctx: IN_SYNC,
            expect: Expect::PatchBody(
                PatchType::Strategic,
                json!({"data": {"old": null}, "metadata": {"resourceVersion": "41"}}),
            ),
        },
        Case {
            name: "a field Eno never set is not removed without a previous synthesis",
            desired: Some(cm(json!({"a": "1"}))),
            previous: None,
            live: Some(live(cm(json!({"a": "1", "old": "o"})))),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "deployment containers merge by name; another client's env and sidecar are kept",
            desired: Some(deployment(json!([
                {"name": "app", "image": "app:v2", "env": [{"name": "A", "value": "1"}]},
            ]))),
            previous: Some(deployment(json!([
                {"name": "app", "image": "app:v1", "env": [{"name": "A", "value": "1"}, {"name": "OLD", "value": "o"}]},
            ]))),
            live: Some(live(deployment(json!([
                {"name": "app", "image": "app:v1", "env": [
                    {"name": "A", "value": "1"}, {"name": "OLD", "value": "o"}, {"name": "INJECTED", "value": "i"},
                ]},
                {"name": "sidecar", "image": "mesh:1"},
            ])))),
            ctx: IN_SYNC,
            expect: Expect::Patch(
                PatchType::Strategic,
                live(deployment(json!([
                    {"name": "app", "image": "app:v2", "env": [{"name": "A", "value": "1"}, {"name": "INJECTED", "value": "i"}]},
                    {"name": "sidecar", "image": "mesh:1"},
                ]))),
            ),
        },
        Case {
            name: "a container Eno dropped is removed, another client's stays",
            desired: Some(deployment(json!([{"name": "app", "image": "app:v1"}]))),
            previous: Some(deployment(
                json!([{"name": "app", "image": "app:v1"}, {"name": "old", "image": "old:1"}]),
            )),
            live: Some(live(deployment(json!([
                {"name": "app", "image": "app:v1"}, {"name": "old", "image": "old:1"}, {"name": "sidecar", "image": "mesh:1"},
            ])))),
            ctx: IN_SYNC,
            expect: Expect::Patch(
                PatchType::Strategic,
                live(deployment(
                    json!([{"name": "app", "image": "app:v1"}, {"name": "sidecar", "image": "mesh:1"}]),
                )),
            ),
        },
        Case {
            name: "custom resources use JSON merge: lists replace, dropped fields go, others stay",
            desired: Some(widget(json!({"size": 2, "tags": ["a"]}))),
            previous: Some(widget(json!({"size": 1, "color": "red", "tags": ["x"]}))),
            live: Some(live(widget(json!({"size": 1, "color": "red", "owner": "them", "tags": ["x", "y"]})))),
            ctx: IN_SYNC,
            expect: Expect::PatchBody(
                PatchType::Merge,
                json!({"spec": {"size": 2, "color": null, "tags": ["a"]}, "metadata": {"resourceVersion": "41"}}),
            ),
        },
        Case {
            name: "custom resource in sync: no write",
            desired: Some(widget(json!({"size": 2}))),
            previous: Some(widget(json!({"size": 2}))),
            live: Some({
                let mut l = live(widget(json!({"size": 2, "owner": "them"})));
                l["status"] = json!({"phase": "Ready"});
                l
            }),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "in sync: no write, whatever the control annotations and server fields",
            desired: Some(with_annotations(
                cm(json!({"a": "1"})),
                json!({"eno.azure.io/reconcile-interval": "1m", "note": "n"}),
            )),
            previous: Some(cm(json!({"a": "1"}))),
            live: Some(live(with_annotations(cm(json!({"a": "1"})), json!({"note": "n"})))),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "deployment in sync with defaulted fields: no write",
            desired: Some(deployment(json!([{"name": "app", "image": "app:v1"}]))),
            previous: Some(deployment(json!([{"name": "app", "image": "app:v1"}]))),
            live: Some({
                let mut l = live(deployment(
                    json!([{"name": "app", "image": "app:v1", "imagePullPolicy": "IfNotPresent"}]),
                ));
                l["spec"]["strategy"] = json!({"type": "RollingUpdate"});
                l["status"] = json!({"replicas": 1});
                l
            }),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "missing: created without control metadata or status",
            desired: Some({
                let mut d =
                    with_annotations(cm(json!({"a": "1"})), json!({"eno.azure.io/readiness": "true"}));
                d["metadata"]["labels"] = json!({"app": "x", "eno.azure.io/owned": "y"});
                d["status"] = json!({"ignored": true});
                d
            }),
            previous: None,
            live: None,
            ctx: IN_SYNC,
            expect: Expect::Create(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cfg", "namespace": "ns", "labels": {"app": "x"}},
                "data": {"a": "1"},
            })),
        },
        Case {
            name: "disable-updates: drift is left alone",
            desired: Some(with_annotations(
                cm(json!({"a": "1"})),
                json!({"eno.azure.io/disable-updates": "true"}),
            )),
            previous: Some(cm(json!({"a": "1"}))),
            live: Some(live(cm(json!({"a": "changed"})))),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "disable-updates: still created when missing",
            desired: Some(with_annotations(
                cm(json!({"a": "1"})),
                json!({"eno.azure.io/disable-updates": "true"}),
            )),
            previous: None,
            live: None,
            ctx: IN_SYNC,
            expect: Expect::Create(cm(json!({"a": "1"}))),
        },
        Case {
            name: "disable-reconciliation: nothing at all",
            desired: Some(with_annotations(
                cm(json!({"a": "1"})),
                json!({"eno.azure.io/disable-reconciliation": "true"}),
            )),
            previous: None,
            live: None,
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "disable-reconciliation: not even deleted",
            desired: None,
            previous: Some(with_annotations(
                cm(json!({})),
                json!({"eno.azure.io/disable-reconciliation": "true"}),
            )),
            live: Some(live(cm(json!({})))),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "tombstone: deleted with preconditions",
            desired: None,
            previous: Some(cm(json!({"a": "1"}))),
            live: Some(live(cm(json!({"a": "1"})))),
            ctx: IN_SYNC,
            expect: Expect::Delete,
        },
        Case {
            name: "tombstone: already gone",
            desired: None,
            previous: Some(cm(json!({"a": "1"}))),
            live: None,
            ctx: IN_SYNC,
            expect: Expect::AlreadyGone,
        },
        Case {
            name: "tombstone: deletion already running",
            desired: None,
            previous: Some(cm(json!({"a": "1"}))),
            live: Some(deleting(live(cm(json!({"a": "1"}))))),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
        Case {
            name: "tombstone with deletion-strategy orphan",
            desired: None,
            previous: Some(with_annotations(
                cm(json!({})),
                json!({"eno.azure.io/deletion-strategy": "orphan"}),
            )),
            live: Some(live(cm(json!({})))),
            ctx: IN_SYNC,
            expect: Expect::Orphan,
        },
        Case {
            name: "composition deleting: deleted",
            desired: Some(cm(json!({"a": "1"}))),
            previous: None,
            live: Some(live(cm(json!({"a": "1"})))),
            ctx: COMP_DELETING,
            expect: Expect::Delete,
        },
        Case {
            name: "composition deleting with orphan strategy",
            desired: Some(with_annotations(
                cm(json!({"a": "1"})),
                json!({"eno.azure.io/deletion-strategy": "orphan"}),
            )),
            previous: None,
            live: Some(live(cm(json!({"a": "1"})))),
            ctx: COMP_DELETING,
            expect: Expect::Orphan,
        },
        Case {
            name: "symphony deleting: orphaned",
            desired: Some(cm(json!({"a": "1"}))),
            previous: None,
            live: Some(live(cm(json!({"a": "1"})))),
            ctx: SYMPHONY_DELETING_CTX,
            expect: Expect::Orphan,
        },
        Case {
            name: "composition deleting and resource never created",
            desired: Some(cm(json!({"a": "1"}))),
            previous: None,
            live: None,
            ctx: COMP_DELETING,
            expect: Expect::AlreadyGone,
        },
        Case {
            name: "live object being deleted: wait, do not patch",
            desired: Some(cm(json!({"a": "1"}))),
            previous: None,
            live: Some(deleting(live(cm(json!({"a": "2"}))))),
            ctx: IN_SYNC,
            expect: Expect::Nothing,
        },
    ]
}

#[test]
fn reference_table() {
    for case in reference_cases() {
        let action = decide(case.desired.as_ref(), case.previous.as_ref(), case.live.as_ref(), &case.ctx)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        match case.expect {
            Expect::Nothing => assert_eq!(action, ResourceAction::Nothing, "{}", case.name),
            Expect::Create(object) => assert_eq!(action, ResourceAction::Create(object), "{}", case.name),
            Expect::PatchBody(patch_type, patch) => {
                assert_eq!(action, ResourceAction::Patch { patch_type, patch }, "{}", case.name)
            }
            Expect::Patch(patch_type, after) => {
                let ResourceAction::Patch { patch_type: got, ref patch } = action else {
                    panic!("{}: expected a patch, got {action:?}", case.name);
                };
                assert_eq!(got, patch_type, "{}", case.name);
                assert_eq!(patch["metadata"]["resourceVersion"], "41", "{}: optimistic", case.name);
                let live = case.live.as_ref().unwrap();
                assert_eq!(apply_action(&action, live), after, "{}: patch {patch}", case.name);
                // Converged: the next pass writes nothing.
                let again =
                    decide(case.desired.as_ref(), case.desired.as_ref(), Some(&after), &case.ctx).unwrap();
                assert_eq!(again, ResourceAction::Nothing, "{}: second pass", case.name);
            }
            Expect::Delete => assert_eq!(
                action,
                ResourceAction::Delete { uid: Some("uid-1".into()), resource_version: Some("41".into()) },
                "{}",
                case.name
            ),
            Expect::Orphan => assert_eq!(action, ResourceAction::Orphan, "{}", case.name),
            Expect::AlreadyGone => assert_eq!(action, ResourceAction::AlreadyGone, "{}", case.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unit tests of the pieces.

#[test]
fn options_default() {
    let opts = ResourceOptions::from_manifest(&cm(json!({}))).unwrap();
    assert_eq!(opts, ResourceOptions { readiness_group: -100, ..Default::default() });
    let opts = ResourceOptions::from_manifest(&deployment(json!([]))).unwrap();
    assert_eq!(opts, ResourceOptions::default());
}

#[test]
fn options_parse_every_annotation() {
    let manifest = with_annotations(
        deployment(json!([])),
        json!({
            "eno.azure.io/reconcile-interval": "1h30m",
            "eno.azure.io/use-default-reconcile-interval": "true",
            "eno.azure.io/disable-updates": "true",
            "eno.azure.io/disable-reconciliation": "False",
            "eno.azure.io/deletion-strategy": "orphan",
            "eno.azure.io/readiness-group": "3",
            "eno.azure.io/deletion-group": "-2",
            "eno.azure.io/replace": "1",
            "eno.azure.io/fail-open": "t",
            "eno.azure.io/readiness": "self.status.ready",
            "eno.azure.io/readiness-avail": "self.status.available > 0",
            "eno.azure.io/overrides": "[]",
            "eno.azure.io/unknown-future-key": "whatever",
        }),
    );
    let opts = ResourceOptions::from_manifest(&manifest).unwrap();
    assert_eq!(opts.reconcile_interval, Some(Duration::from_secs(5400)));
    assert!(opts.disable_updates && !opts.disable_reconciliation && opts.replace && opts.fail_open);
    assert!(opts.use_default_reconcile_interval);
    assert_eq!(opts.deletion_strategy, DeletionStrategy::Orphan);
    assert_eq!((opts.readiness_group, opts.deletion_group), (3, Some(-2)));
    assert_eq!(
        opts.readiness_checks,
        BTreeMap::from([
            ("eno.azure.io/readiness".to_owned(), "self.status.ready".to_owned()),
            ("eno.azure.io/readiness-avail".to_owned(), "self.status.available > 0".to_owned()),
        ])
    );
}

#[test]
fn every_readiness_prefixed_annotation_is_a_check_as_in_eno() {
    let manifest = with_annotations(
        cm(json!({})),
        json!({
            "eno.azure.io/readiness": "a",
            "eno.azure.io/readiness-": "b",
            "eno.azure.io/readiness-default": "c",
            "eno.azure.io/readinessX": "d",
            "eno.azure.io/readiness-group": "1",
            "eno.azure.io/ready": "e",
        }),
    );
    let checks = ResourceOptions::from_manifest(&manifest).unwrap().readiness_checks;
    assert_eq!(
        checks.keys().map(String::as_str).collect::<Vec<_>>(),
        ["eno.azure.io/readiness", "eno.azure.io/readiness-", "eno.azure.io/readiness-default", "eno.azure.io/readinessX"]
    );
}

#[test]
fn options_reject_bad_values() {
    for (key, value) in [
        (RECONCILE_INTERVAL, "15 minutes"),
        (RECONCILE_INTERVAL, "-1m"),
        (DISABLE_UPDATES, "yes"),
        (DISABLE_RECONCILIATION, "on"),
        (USE_DEFAULT_RECONCILE_INTERVAL, "sometimes"),
        (DELETION_STRATEGY, "keep"),
        (READINESS_GROUP, "first"),
        (DELETION_GROUP, "1.5"),
    ] {
        let manifest = with_annotations(cm(json!({})), json!({ key: value }));
        let err = ResourceOptions::from_manifest(&manifest).unwrap_err();
        assert_eq!((err.annotation.as_str(), err.value.as_str()), (key, value));
        // And decide reports it instead of guessing.
        assert!(matches!(decide(Some(&manifest), None, None, &IN_SYNC), Err(DecideError::Options(_))));
    }
}

#[test]
fn empty_values_are_unset_as_in_eno() {
    let keys = [RECONCILE_INTERVAL, USE_DEFAULT_RECONCILE_INTERVAL, DISABLE_UPDATES, DISABLE_RECONCILIATION, DELETION_STRATEGY, REPLACE, FAIL_OPEN, READINESS_GROUP];
    let annotations: serde_json::Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!(""))).collect();
    let manifest = with_annotations(cm(json!({})), Value::Object(annotations));
    assert_eq!(ResourceOptions::from_manifest(&manifest).unwrap(), ResourceOptions::from_manifest(&cm(json!({}))).unwrap());
}

#[test]
fn deletion_strategy_spellings() {
    for (value, strategy) in [
        ("orphan", DeletionStrategy::Orphan),
        ("Orphan", DeletionStrategy::Orphan),
        ("foreground", DeletionStrategy::Foreground),
        ("FOREGROUND", DeletionStrategy::Foreground),
        ("background", DeletionStrategy::Delete),
        ("delete", DeletionStrategy::Delete),
    ] {
        let manifest = with_annotations(cm(json!({})), json!({ DELETION_STRATEGY: value }));
        assert_eq!(ResourceOptions::from_manifest(&manifest).unwrap().deletion_strategy, strategy);
    }
}

#[test]
fn strip_removes_control_metadata_and_empty_maps() {
    let manifest = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "a",
            "labels": {"eno.azure.io/x": "1"},
            "annotations": {"eno.azure.io/reconcile-interval": "1m", "keep": "k", "eno.azure.io.other/y": "z"},
        },
        "data": {"eno.azure.io/not-metadata": "kept"},
    });
    assert_eq!(
        strip_control_metadata(&manifest),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {"keep": "k", "eno.azure.io.other/y": "z"}},
            "data": {"eno.azure.io/not-metadata": "kept"},
        })
    );
    let empty = json!({"metadata": {"name": "a", "labels": {}, "annotations": {"eno.azure.io/a": "1"}}});
    assert_eq!(strip_control_metadata(&empty), json!({"metadata": {"name": "a"}}));
}

#[test]
fn prepare_prunes_server_fields() {
    let mut object = live(cm(json!({"a": "1"})));
    object["status"] = json!({"x": 1});
    object["metadata"]["generation"] = json!(3);
    assert_eq!(prepare(&object), cm(json!({"a": "1"})));
}

#[test]
fn context_from_composition() {
    use crate::api::{Composition, CompositionSpec};
    let mut comp = Composition::new("c", CompositionSpec::default());
    assert_eq!(ResourceContext::for_composition(&comp), IN_SYNC);
    comp.metadata.labels = Some(BTreeMap::from([(SYMPHONY_DELETING.to_owned(), "true".to_owned())]));
    comp.metadata.deletion_timestamp = Some(serde_json::from_value(json!("2024-01-01T00:00:00Z")).unwrap());
    assert_eq!(ResourceContext::for_composition(&comp), SYMPHONY_DELETING_CTX);
}

#[test]
fn patch_without_resource_version_on_live_still_works() {
    let mut l = cm(json!({"a": "2"}));
    l["metadata"]["uid"] = json!("u");
    let action = decide(Some(&cm(json!({"a": "1"}))), None, Some(&l), &IN_SYNC).unwrap();
    assert_eq!(
        action,
        ResourceAction::Patch { patch_type: PatchType::Strategic, patch: json!({"data": {"a": "1"}}) }
    );
}

#[test]
fn invalid_desired_manifests_are_errors() {
    let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    assert_eq!(
        decide(Some(&nameless), None, None, &IN_SYNC),
        Err(DecideError::InvalidManifest("metadata.name"))
    );
    let kindless = json!({"apiVersion": "v1", "metadata": {"name": "a"}});
    assert_eq!(
        decide(Some(&kindless), None, Some(&live(kindless.clone())), &IN_SYNC),
        Err(DecideError::InvalidManifest("kind"))
    );
}

#[test]
fn strategic_errors_are_reported() {
    // A merge list whose live item lacks its merge key cannot be merged.
    let desired = deployment(json!([{"name": "app", "image": "a"}]));
    let broken = live(deployment(json!([{"image": "nameless"}])));
    assert!(matches!(decide(Some(&desired), None, Some(&broken), &IN_SYNC), Err(DecideError::Strategic(_))));
}

#[test]
fn deletion_settled_rules() {
    let object = live(cm(json!({})));
    let orphan = with_annotations(cm(json!({})), json!({ DELETION_STRATEGY: "orphan" }));
    let disabled = with_annotations(cm(json!({})), json!({ DISABLE_RECONCILIATION: "true" }));
    let d = |desired: Option<&Value>, prev: Option<&Value>, live: Option<&Value>, ctx| {
        deletion_settled(desired, prev, live, &ctx).unwrap()
    };
    // Not a deletion.
    assert!(!d(Some(&cm(json!({}))), None, None, IN_SYNC));
    // Tombstones.
    assert!(d(None, Some(&cm(json!({}))), None, IN_SYNC));
    assert!(!d(None, Some(&cm(json!({}))), Some(&object), IN_SYNC));
    assert!(d(None, Some(&cm(json!({}))), Some(&deleting(object.clone())), IN_SYNC));
    assert!(d(None, Some(&orphan), Some(&object), IN_SYNC));
    assert!(d(None, Some(&disabled), Some(&object), IN_SYNC));
    // Composition deletion.
    assert!(!d(Some(&cm(json!({}))), None, Some(&object), COMP_DELETING));
    assert!(d(Some(&orphan), None, Some(&object), COMP_DELETING));
    assert!(d(Some(&cm(json!({}))), None, Some(&object), SYMPHONY_DELETING_CTX));
    // Foreground: deleted only once gone, not once its deletion is accepted.
    let foreground = with_annotations(cm(json!({})), json!({ DELETION_STRATEGY: "foreground" }));
    assert!(d(Some(&cm(json!({}))), None, Some(&deleting(object.clone())), COMP_DELETING));
    assert!(!d(Some(&foreground), None, Some(&deleting(object.clone())), COMP_DELETING));
    assert!(!d(None, Some(&foreground), Some(&deleting(object.clone())), IN_SYNC));
    assert!(d(None, Some(&foreground), None, IN_SYNC));
}

#[test]
fn foreground_deletion_deletes_and_polls_until_the_object_is_gone() {
    let foreground = with_annotations(cm(json!({})), json!({ DELETION_STRATEGY: "foreground" }));
    let object = live(cm(json!({})));
    // The same delete as the default strategy (Eno sends no propagation policy either).
    assert!(matches!(decide(None, Some(&foreground), Some(&object), &IN_SYNC), Ok(ResourceAction::Delete { .. })));
    let held = deleting(object);
    assert_eq!(decide(None, Some(&foreground), Some(&held), &IN_SYNC), Ok(ResourceAction::Nothing));
    let now: Time = serde_json::from_value(json!("2024-06-01T12:00:00Z")).unwrap();
    let composition = json!({"metadata": {"annotations": {}}});
    let observed = Observed { desired: None, previous_desired: Some(&foreground), live: Some(&held), ctx: &IN_SYNC, composition: &composition, ready: None, now: &now };
    let Ok(Pass::Settled(s)) = decide_pass(&observed) else { panic!() };
    assert!(!s.deleted);
    let poll = s.recheck_after(1).expect("polls while the deletion runs");
    assert!(poll <= READINESS_POLL_INTERVAL * 11 / 10, "{poll:?}");
}

#[test]
fn replace_puts_the_whole_object_when_a_write_is_needed() {
    let replaced = with_annotations(cm(json!({"a": "1"})), json!({ REPLACE: "true" }));
    let mut drifted = live(cm(json!({"a": "2", "foreign": "x"})));
    drifted["metadata"]["labels"] = json!({"other": "client"});
    let Ok(ResourceAction::Replace(object)) = decide(Some(&replaced), None, Some(&drifted), &IN_SYNC) else { panic!() };
    // The desired object, control metadata stripped, guarded by the live resourceVersion:
    // other clients' fields go.
    assert_eq!(object, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns", "resourceVersion": "41"}, "data": {"a": "1"}}));
    // In sync as the three-way merge sees it: nothing (a foreign field alone is no drift).
    let in_sync = live(cm(json!({"a": "1", "foreign": "x"})));
    assert_eq!(decide(Some(&replaced), None, Some(&in_sync), &IN_SYNC), Ok(ResourceAction::Nothing));
    // Absent: created as usual.
    assert!(matches!(decide(Some(&replaced), None, None, &IN_SYNC), Ok(ResourceAction::Create(_))));
}

#[test]
fn wants_deletion_rules() {
    assert!(wants_deletion(None, &IN_SYNC));
    assert!(wants_deletion(Some(&cm(json!({}))), &COMP_DELETING));
    assert!(!wants_deletion(Some(&cm(json!({}))), &IN_SYNC));
}

#[test]
fn symphony_label_alone_does_not_orphan_a_wanted_resource() {
    let ctx = ResourceContext { composition_deleting: false, symphony_deleting: true };
    let action = decide(Some(&cm(json!({"a": "1"}))), None, None, &ctx).unwrap();
    assert_eq!(action, ResourceAction::Create(cm(json!({"a": "1"}))));
    // But a tombstone under a deleting symphony is left in place.
    let action = decide(None, Some(&cm(json!({}))), Some(&live(cm(json!({})))), &ctx).unwrap();
    assert_eq!(action, ResourceAction::Orphan);
}

#[test]
fn requeue_needs_an_interval() {
    assert_eq!(requeue_after(&ResourceOptions::default(), 7), None);
}

#[test]
fn the_default_interval_applies_only_without_an_explicit_one() {
    let default = ResourceOptions { use_default_reconcile_interval: true, ..Default::default() };
    let d = requeue_after(&default, 7).unwrap();
    assert!(d >= DEFAULT_RECONCILE_INTERVAL * 9 / 10 && d <= DEFAULT_RECONCILE_INTERVAL * 11 / 10, "{d:?}");
    let explicit = ResourceOptions { reconcile_interval: Some(Duration::from_secs(10)), ..default };
    assert!(requeue_after(&explicit, 7).unwrap() <= Duration::from_secs(11));
}

#[test]
fn requeue_jitters_within_ten_percent_deterministically() {
    let opts = ResourceOptions { reconcile_interval: Some(Duration::from_secs(900)), ..Default::default() };
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..1000u64 {
        let d = requeue_after(&opts, seed).unwrap();
        assert!(d >= Duration::from_secs(810) && d <= Duration::from_secs(990), "{d:?}");
        assert_eq!(requeue_after(&opts, seed), Some(d));
        seen.insert(d);
    }
    assert!(seen.len() > 900, "jitter should spread: {} distinct", seen.len());
    let low = (0..1000u64).filter(|&s| requeue_after(&opts, s).unwrap() < Duration::from_secs(900)).count();
    assert!((350..650).contains(&low), "roughly symmetric: {low}");
}

#[test]
fn requeue_has_a_floor() {
    let opts = ResourceOptions { reconcile_interval: Some(Duration::from_nanos(1)), ..Default::default() };
    let d = requeue_after(&opts, 3).unwrap();
    assert!(d >= Duration::from_millis(900) && d <= Duration::from_millis(1100));
}

#[test]
fn jitter_handles_extremes() {
    assert_eq!(jitter(Duration::ZERO, 1), Duration::ZERO);
    let huge = Duration::from_secs(u64::MAX / 2);
    let j = jitter(huge, 5);
    assert!(j >= huge.mul_f64(0.89) && j <= huge.mul_f64(1.11));
}

// ---------------------------------------------------------------------------------------------
// Property tests.

mod props {
    use super::*;
    use proptest::prelude::*;

    /// A place in an object: object keys, and items of merge-keyed lists by their `name`.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Seg {
        Key(String),
        Named(String),
    }

    /// In the Pod-like objects `containers` and `env` merge by `name`; every other list (and
    /// every list of a JSON-merged kind) is an atomic value.
    fn is_merge_list(keyed: bool, field: Option<&Seg>) -> bool {
        keyed && matches!(field, Some(Seg::Key(k)) if k == "containers" || k == "env")
    }

    /// Leaf paths (scalars, atomic lists, empty objects and empty merge lists) with their values.
    fn leaves(v: &Value, keyed: bool, prefix: &mut Vec<Seg>, out: &mut BTreeMap<Vec<Seg>, Value>) {
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, child) in map {
                    prefix.push(Seg::Key(k.clone()));
                    leaves(child, keyed, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) if !items.is_empty() && is_merge_list(keyed, prefix.last()) => {
                for item in items {
                    prefix.push(Seg::Named(item["name"].as_str().unwrap().to_owned()));
                    leaves(item, keyed, prefix, out);
                    prefix.pop();
                }
            }
            other => {
                out.insert(prefix.clone(), other.clone());
            }
        }
    }

    fn leaf_map(v: &Value, keyed: bool) -> BTreeMap<Vec<Seg>, Value> {
        let mut out = BTreeMap::new();
        leaves(v, keyed, &mut Vec::new(), &mut out);
        out
    }

    fn lookup<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
        let mut cur = v;
        for seg in path {
            cur = match (seg, cur) {
                (Seg::Key(k), Value::Object(m)) => m.get(k)?,
                (Seg::Named(n), Value::Array(items)) => items.iter().find(|i| i["name"] == n.as_str())?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Every leaf of `desired` is in `result` with the same value; an empty map (or merge list)
    /// only needs a map (or list) there, as others may have added to it.
    fn assert_contains(result: &Value, desired: &Value, keyed: bool) -> Result<(), TestCaseError> {
        for (path, value) in leaf_map(desired, keyed) {
            let found = lookup(result, &path);
            match &value {
                Value::Object(m) if m.is_empty() => {
                    prop_assert!(
                        found.is_some_and(Value::is_object),
                        "desired map {:?} missing in {}",
                        path,
                        result
                    )
                }
                Value::Array(items) if items.is_empty() && is_merge_list(keyed, path.last()) => {
                    prop_assert!(
                        found.is_some_and(Value::is_array),
                        "desired list {:?} missing in {}",
                        path,
                        result
                    )
                }
                _ => prop_assert_eq!(
                    found,
                    Some(&value),
                    "desired {:?} missing or different in {}",
                    path,
                    result
                ),
            }
        }
        Ok(())
    }

    fn check(
        kind_keyed: bool,
        desired: Value,
        previous: Option<Value>,
        live_obj: Value,
    ) -> Result<(), TestCaseError> {
        let action = decide(Some(&desired), previous.as_ref(), Some(&live_obj), &IN_SYNC)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let result = match &action {
            ResourceAction::Nothing => live_obj.clone(),
            ResourceAction::Patch { patch, .. } => {
                prop_assert_eq!(&patch["metadata"]["resourceVersion"], "41");
                apply_action(&action, &live_obj)
            }
            other => return Err(TestCaseError::fail(format!("unexpected action {other:?}"))),
        };
        let want = prepare(&desired);
        assert_contains(&result, &want, kind_keyed)?;

        let desired_leaves = leaf_map(&want, kind_keyed);
        let has_path = |v: &Value, p: &[Seg]| lookup(v, p).is_some();
        let prev = previous.as_ref().map(prepare).unwrap_or(Value::Null);
        let previous_only: Vec<Vec<Seg>> =
            leaf_map(&prev, kind_keyed).into_keys().filter(|p| !has_path(&want, p)).collect();
        for path in &previous_only {
            prop_assert!(!has_path(&result, path), "previous-only {:?} survived in {}", path, result);
        }
        // Fields only another client set survive, unless Eno removed a whole map or list item
        // above them that it used to own.
        for (path, value) in leaf_map(&live_obj, kind_keyed) {
            let eno_touches = (1..=path.len()).any(|n| {
                let prefix = &path[..n];
                desired_leaves.contains_key(prefix) || (has_path(&prev, prefix) && !has_path(&want, prefix))
            }) || has_path(&prev, &path);
            if eno_touches || path.first() == Some(&Seg::Key("metadata".into())) {
                continue;
            }
            let found = lookup(&result, &path);
            match &value {
                // An empty map (or merge list) may since have been filled by Eno's fields.
                Value::Object(m) if m.is_empty() => prop_assert!(found.is_some_and(Value::is_object)),
                Value::Array(items) if items.is_empty() && is_merge_list(kind_keyed, path.last()) => {
                    prop_assert!(found.is_some_and(Value::is_array))
                }
                _ => prop_assert_eq!(found, Some(&value), "other client's {:?} lost: {}", path, result),
            }
        }
        // Converged: nothing to do on the next pass, with either original.
        let again = decide(Some(&desired), Some(&desired), Some(&result), &IN_SYNC)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again, ResourceAction::Nothing, "not converged after {:?} on {}", action, result);
        let again = decide(Some(&desired), previous.as_ref(), Some(&result), &IN_SYNC)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again, ResourceAction::Nothing, "not converged (original previous) on {}", result);
        // And creating from scratch yields exactly the prepared desired object.
        let created = decide(Some(&desired), previous.as_ref(), None, &IN_SYNC).unwrap();
        prop_assert_eq!(created, ResourceAction::Create(want));
        Ok(())
    }

    fn small_map(
        keys: &'static [&'static str],
        values: &'static [&'static str],
    ) -> impl Strategy<Value = Value> {
        prop::collection::btree_map(prop::sample::select(keys), prop::sample::select(values), 0..keys.len())
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect()))
    }

    fn maybe<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
        prop::option::weighted(0.7, s)
    }

    const KEYS: &[&str] = &["a", "b", "c", "d", "e"];
    const VALUES: &[&str] = &["1", "2", "x"];
    const LABEL_KEYS: &[&str] = &["app", "team", "eno.azure.io/x"];
    const ANNOTATION_KEYS: &[&str] = &["note", "eno.azure.io/reconcile-interval", "eno.azure.io/readiness"];

    /// Metadata: labels and annotations, sometimes with Eno's control keys (which must never
    /// reach the cluster). Interval values stay valid so options parse.
    fn metadata() -> impl Strategy<Value = Value> {
        (maybe(small_map(LABEL_KEYS, VALUES)), maybe(small_map(ANNOTATION_KEYS, &["1m", "5m"]))).prop_map(
            |(labels, annotations)| {
                let mut m = json!({"name": "obj", "namespace": "ns"});
                if let Some(l) = labels {
                    m["labels"] = l;
                }
                if let Some(a) = annotations {
                    m["annotations"] = a;
                }
                m
            },
        )
    }

    /// ConfigMap-like: maps of strings. `custom` makes it a CR (JSON merge) with the same shape
    /// under `spec`, plus an atomic list.
    fn configmap_like(custom: bool) -> impl Strategy<Value = Value> {
        (metadata(), maybe(small_map(KEYS, VALUES)), maybe(small_map(KEYS, VALUES)), maybe(prop::collection::vec(prop::sample::select(VALUES), 0..3)))
            .prop_map(move |(metadata, data, nested, list)| {
                if custom {
                    let mut spec = json!({});
                    if let Some(d) = data {
                        spec["data"] = d;
                    }
                    if let Some(n) = nested {
                        spec["nested"] = json!({"inner": n});
                    }
                    if let Some(l) = list {
                        spec["list"] = json!(l);
                    }
                    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata, "spec": spec})
                } else {
                    let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata});
                    if let Some(d) = data {
                        v["data"] = d;
                    }
                    if let Some(n) = nested {
                        v["binaryData"] = n;
                    }
                    v
                }
            })
    }

    fn env() -> impl Strategy<Value = Value> {
        prop::collection::btree_map(
            prop::sample::select(&["A", "B", "C", "D"][..]),
            prop::sample::select(VALUES),
            0..4,
        )
        .prop_map(|m| json!(m.into_iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>()))
    }

    fn container() -> impl Strategy<Value = Value> {
        (
            maybe(prop::sample::select(&["img:1", "img:2"][..])),
            maybe(env()),
            maybe(prop::collection::vec(prop::sample::select(VALUES), 0..3)),
        )
            .prop_map(|(image, env, args)| {
                let mut c = json!({});
                if let Some(i) = image {
                    c["image"] = json!(i);
                }
                if let Some(e) = env {
                    c["env"] = e;
                }
                if let Some(a) = args {
                    c["args"] = json!(a);
                }
                c
            })
    }

    /// Pod-like: containers merged by name with env merged by name, a map and a scalar.
    fn pod_like() -> impl Strategy<Value = Value> {
        (
            metadata(),
            prop::collection::btree_map(
                prop::sample::select(&["app", "side", "init"][..]),
                container(),
                1..3,
            ),
            any::<bool>(),
            maybe(small_map(KEYS, VALUES)),
            maybe(prop::sample::select(&["Always", "Never"][..])),
        )
            .prop_map(|(metadata, containers, reverse, node_selector, restart)| {
                let mut list: Vec<Value> = containers
                    .into_iter()
                    .map(|(name, mut c)| {
                        c["name"] = json!(name);
                        c
                    })
                    .collect();
                if reverse {
                    list.reverse();
                }
                let mut spec = json!({"containers": list});
                if let Some(n) = node_selector {
                    spec["nodeSelector"] = n;
                }
                if let Some(r) = restart {
                    spec["restartPolicy"] = json!(r);
                }
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
            })
    }

    /// What the server holds: some version of the object (as another client left it) with server
    /// metadata, control metadata never stored, and sometimes a status.
    fn as_live(v: Value, status: bool) -> Value {
        let mut l = live(strip_control_metadata(&v));
        if status {
            l["status"] = json!({"phase": "Running"});
        }
        l
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn configmap_three_way_converges(
            desired in configmap_like(false),
            previous in maybe(configmap_like(false)),
            live_obj in configmap_like(false),
        ) {
            check(false, desired, previous, as_live(live_obj, false))?;
        }

        #[test]
        fn custom_resource_three_way_converges(
            desired in configmap_like(true),
            previous in maybe(configmap_like(true)),
            live_obj in configmap_like(true),
            status in any::<bool>(),
        ) {
            check(false, desired, previous, as_live(live_obj, status))?;
        }

        #[test]
        fn pod_three_way_converges(
            desired in pod_like(),
            previous in maybe(pod_like()),
            live_obj in pod_like(),
            status in any::<bool>(),
        ) {
            check(true, desired, previous, as_live(live_obj, status))?;
        }

        /// Applying to the previous desired state itself (the common case: no drift) lands on
        /// the desired state exactly, apart from server metadata.
        #[test]
        fn pod_update_without_drift_is_exact(desired in pod_like(), previous in pod_like()) {
            let live_obj = as_live(previous.clone(), false);
            let action = decide(Some(&desired), Some(&previous), Some(&live_obj), &IN_SYNC).unwrap();
            let result = match action {
                ResourceAction::Nothing => live_obj.clone(),
                ref a => apply_action(a, &live_obj),
            };
            // Order of merged lists is the desired order, so plain equality holds.
            let expected = live(prepare(&desired));
            prop_assert_eq!(result, expected);
        }
    }
}

mod pass;

fn secret(string_data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "ns"}, "stringData": string_data})
}

#[test]
fn a_secrets_string_data_is_compared_as_the_server_stores_it() {
    // The server keeps `stringData` as base64 `data` (and types the Secret Opaque).
    let stored = |data: Value| live(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "ns"}, "type": "Opaque", "data": data}));
    let desired = secret(json!({"token": "s3cret"}));
    let in_sync = stored(json!({"token": "czNjcmV0"}));
    assert_eq!(decide(Some(&desired), Some(&desired), Some(&in_sync), &IN_SYNC).unwrap(), ResourceAction::Nothing, "no patch on every pass");
    // Drift in the stored value is put back, as data.
    let drifted = stored(json!({"token": "b3RoZXI="}));
    let action = decide(Some(&desired), Some(&desired), Some(&drifted), &IN_SYNC).unwrap();
    assert_eq!(apply_action(&action, &drifted)["data"], json!({"token": "czNjcmV0"}));
    // A key the synthesizer stopped writing goes.
    let fewer = secret(json!({}));
    let previous = secret(json!({"token": "s3cret", "old": "x"}));
    let both = stored(json!({"token": "czNjcmV0", "old": "eA=="}));
    let action = decide(Some(&fewer), Some(&previous), Some(&both), &IN_SYNC).unwrap();
    assert_eq!(apply_action(&action, &both)["data"], json!({}));
}
