use super::*;
use crate::decide::resource::{decide_pass, Observed, Pass, Settled};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use proptest::prelude::*;

const LIVE_COMP: ResourceContext = ResourceContext { composition_deleting: false, symphony_deleting: false };
const COMP_DELETING: ResourceContext = ResourceContext { composition_deleting: true, symphony_deleting: false };
const SYMPHONY_DELETING: ResourceContext = ResourceContext { composition_deleting: true, symphony_deleting: true };

fn eno_patch(ops: Value) -> Value {
    json!({
        "apiVersion": "eno.azure.io/v1", "kind": "Patch",
        "metadata": {"name": "cfg", "namespace": "ns"},
        "patch": {"apiVersion": "v1", "kind": "ConfigMap", "ops": ops},
    })
}

fn add_key() -> Value {
    eno_patch(json!([{"op": "add", "path": "/data/added", "value": "yes"}]))
}

fn deletion() -> Value {
    eno_patch(json!([{"op": "add", "path": "/metadata/deletionTimestamp", "value": "anything"}]))
}

fn target(data: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "ns", "uid": "u1", "resourceVersion": "7", "managedFields": [{"manager": "kubectl"}]},
        "data": data,
    })
}

fn deleting(mut v: Value) -> Value {
    v["metadata"]["deletionTimestamp"] = json!("2024-01-02T00:00:00Z");
    v
}

fn with_annotations(mut v: Value, annotations: Value) -> Value {
    v["metadata"]["annotations"] = annotations;
    v
}

fn run(desired: Option<&Value>, live: Option<&Value>, ctx: &ResourceContext) -> Result<ResourceAction, PatchError> {
    let opts = desired.map(|d| ResourceOptions::from_manifest(d).unwrap()).unwrap_or_default();
    decide(desired, live, ctx, &opts)
}

fn now() -> Time {
    serde_json::from_value(json!("2024-06-01T12:00:00Z")).unwrap()
}

/// A whole pass, as the reconciler makes it (overrides, cascade, decision, state).
fn pass(desired: Option<&Value>, previous: Option<&Value>, live: Option<&Value>, ctx: &ResourceContext, composition: &Value) -> Pass {
    decide_pass(&Observed { desired, previous_desired: previous, live, ctx, composition, ready: None, now: &now() }).unwrap()
}

fn settled(p: Pass) -> Settled {
    match p {
        Pass::Settled(s) => s,
        other => panic!("expected a settled pass, got {other:?}"),
    }
}

fn comp(annotations: Value) -> Value {
    json!({"metadata": {"name": "c", "namespace": "ns", "labels": {}, "annotations": annotations, "deletionTimestamp": null}})
}

/// Applies a decided JSON patch as the server would (its resourceVersion guard included).
fn apply(action: &ResourceAction, live: &Value) -> Result<Value, JsonPatchError> {
    let ResourceAction::Patch { patch_type: PatchType::Json, patch } = action else { panic!("expected a JSON patch, got {action:?}") };
    json_patch::apply(live, patch)
}

#[test]
fn recognises_patches_and_their_targets() {
    assert!(is_patch(&add_key()));
    assert!(!is_patch(&target(json!({}))));
    assert!(!is_patch(&json!({"apiVersion": "example.com/v1", "kind": "Patch"})), "another group's Patch is a plain kind");
    assert_eq!(target_of(&add_key()), Some(("v1", "ConfigMap")));
    assert_eq!(target_of(&target(json!({}))), Some(("v1", "ConfigMap")), "any other manifest addresses itself");
    let deployment = json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "web"}, "patch": {"apiVersion": "apps/v1", "kind": "Deployment"}});
    assert_eq!(target_of(&deployment), Some(("apps/v1", "Deployment")));
    assert_eq!(target_of(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "patch": {"kind": "ConfigMap"}})), None);
    assert_eq!(target_of(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "patch": {"apiVersion": "v1", "kind": ""}})), None);

    let r = target_ref(&add_key()).unwrap();
    assert_eq!(r.to_string(), "v1/ConfigMap ns/cfg");
    assert_eq!(target_ref(&deployment).unwrap().to_string(), "apps/v1/Deployment web");
    assert_eq!(target_ref(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": ""}, "patch": {"apiVersion": "v1", "kind": "ConfigMap"}})), None);
    let key = target_key(&deployment).unwrap();
    assert_eq!((key.group.as_str(), key.kind.as_str(), key.namespace.as_str(), key.name.as_str()), ("apps", "Deployment", "", "web"));
    assert_eq!(target_key(&target(json!({}))), ResourceKey::of(&target(json!({}))));
}

#[test]
fn a_patch_of_an_infrastructure_kind_is_ordered_as_that_kind() {
    // A ConfigMap defaults to readiness group -100 in Eno; so does a Patch of one.
    assert_eq!(ResourceOptions::from_manifest(&add_key()).unwrap().readiness_group, -100);
    let deployment = json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "web"}, "patch": {"apiVersion": "apps/v1", "kind": "Deployment", "ops": []}});
    assert_eq!(ResourceOptions::from_manifest(&deployment).unwrap().readiness_group, 0);
}

#[test]
fn deletion_ops_are_eno_s() {
    assert!(deletes_target(&deletion()));
    // Whatever the op, as long as the value is a non-empty string (Eno's rule).
    assert!(deletes_target(&eno_patch(json!([{"op": "replace", "path": "/metadata/deletionTimestamp", "value": "x"}]))));
    assert!(!deletes_target(&eno_patch(json!([{"op": "add", "path": "/metadata/deletionTimestamp", "value": ""}]))));
    assert!(!deletes_target(&eno_patch(json!([{"op": "add", "path": "/metadata/deletionTimestamp", "value": 1}]))));
    assert!(!deletes_target(&eno_patch(json!([{"op": "remove", "path": "/metadata/deletionTimestamp"}]))));
    assert!(!deletes_target(&add_key()));
    assert!(!deletes_target(&eno_patch(json!("not a list"))));
}

#[test]
fn applies_its_ops_guarded_by_the_targets_resource_version() {
    let live = target(json!({"kept": "1"}));
    let action = run(Some(&add_key()), Some(&live), &LIVE_COMP).unwrap();
    let ResourceAction::Patch { patch, .. } = &action else { panic!("{action:?}") };
    assert_eq!(patch[0], json!({"op": "replace", "path": "/metadata/resourceVersion", "value": "7"}));
    assert_eq!(patch[1], add_key()["patch"]["ops"][0]);
    let patched = apply(&action, &live).unwrap();
    assert_eq!(patched["data"], json!({"kept": "1", "added": "yes"}));
    // Applied on a newer version of the target, the lock changes the resourceVersion, which the
    // server refuses as a conflict (the fake API server and kube-apiserver compare it).
    let mut newer = live.clone();
    newer["metadata"]["resourceVersion"] = json!("8");
    assert_eq!(apply(&action, &newer).unwrap()["metadata"]["resourceVersion"], "7");
}

#[test]
fn ops_already_satisfied_send_nothing() {
    let live = target(json!({"added": "yes"}));
    assert_eq!(run(Some(&add_key()), Some(&live), &LIVE_COMP), Ok(ResourceAction::Nothing));
    assert_eq!(run(Some(&eno_patch(json!([]))), Some(&live), &LIVE_COMP), Ok(ResourceAction::Nothing), "no ops, nothing to do");
    // A `test` that holds and a remove of something absent-then-present: only real changes count.
    let test_only = eno_patch(json!([{"op": "test", "path": "/data/added", "value": "yes"}]));
    assert_eq!(run(Some(&test_only), Some(&live), &LIVE_COMP), Ok(ResourceAction::Nothing));
}

#[test]
fn a_missing_target_is_never_created() {
    assert_eq!(run(Some(&add_key()), None, &LIVE_COMP), Ok(ResourceAction::Nothing));
    let s = settled(pass(Some(&add_key()), None, None, &LIVE_COMP, &comp(json!({}))));
    assert_eq!((s.deleted, s.ready), (false, Some(now())), "skipped, so reconciled and ready, as in Eno");
}

#[test]
fn ops_that_do_not_apply_are_the_resources_error() {
    let remove_missing = eno_patch(json!([{"op": "remove", "path": "/data/absent"}]));
    let err = run(Some(&remove_missing), Some(&target(json!({}))), &LIVE_COMP).unwrap_err();
    assert!(matches!(&err, PatchError::DoesNotApply { target, .. } if target == "v1/ConfigMap ns/cfg"), "{err:?}");
    assert!(err.to_string().starts_with("patch.ops do not apply to v1/ConfigMap ns/cfg: "), "{err}");
    let bad_path = eno_patch(json!([{"op": "add", "path": "data/x", "value": "1"}]));
    assert!(matches!(run(Some(&bad_path), Some(&target(json!({}))), &LIVE_COMP), Err(PatchError::InvalidOp { index: 0, .. })));
    let no_ops = json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "cfg"}, "patch": {"apiVersion": "v1", "kind": "ConfigMap"}});
    assert_eq!(run(Some(&no_ops), Some(&target(json!({}))), &LIVE_COMP), Err(PatchError::NoOps));
    // Even while the composition is deleted: a broken Patch deletes nothing.
    assert_eq!(run(Some(&no_ops), Some(&target(json!({}))), &COMP_DELETING), Err(PatchError::NoOps));
}

#[test]
fn a_deletion_patch_deletes_its_target_with_preconditions() {
    let live = target(json!({}));
    assert_eq!(
        run(Some(&deletion()), Some(&live), &LIVE_COMP),
        Ok(ResourceAction::Delete { uid: Some("u1".into()), resource_version: Some("7".into()) })
    );
    assert_eq!(run(Some(&deletion()), Some(&deleting(live)), &LIVE_COMP), Ok(ResourceAction::Nothing));
    assert_eq!(run(Some(&deletion()), None, &LIVE_COMP), Ok(ResourceAction::AlreadyGone));
    // Done deleting: deleted, and ready, so the composition becomes Ready with it.
    let s = settled(pass(Some(&deletion()), Some(&deletion()), None, &LIVE_COMP, &comp(json!({}))));
    assert_eq!((s.deleted, s.ready.clone(), s.recheck_after(1)), (true, Some(now()), None));
}

#[test]
fn orphan_does_not_apply_to_a_patch() {
    // Eno never orphans a Patch: the composition's `orphan` keeps its managed objects, not the
    // deletions and changes its Patches ask for.
    let orphan = with_annotations(deletion(), json!({"eno.azure.io/deletion-strategy": "orphan"}));
    let live = target(json!({}));
    assert!(matches!(run(Some(&orphan), Some(&live), &LIVE_COMP), Ok(ResourceAction::Delete { .. })));
    let p = pass(Some(&deletion()), None, Some(&live), &LIVE_COMP, &comp(json!({"eno.azure.io/deletion-strategy": "orphan"})));
    assert!(matches!(p, Pass::Write(ResourceAction::Delete { .. })), "{p:?}");
}

#[test]
fn a_deleting_composition_deletes_existing_targets_as_eno_does() {
    let live = target(json!({"added": "yes"}));
    assert!(matches!(run(Some(&add_key()), Some(&live), &COMP_DELETING), Ok(ResourceAction::Delete { .. })));
    assert_eq!(run(Some(&add_key()), None, &COMP_DELETING), Ok(ResourceAction::AlreadyGone));
    // A deleting symphony leaves everything in place.
    assert_eq!(run(Some(&add_key()), Some(&live), &SYMPHONY_DELETING), Ok(ResourceAction::Orphan));
    let s = settled(pass(Some(&add_key()), None, Some(&live), &SYMPHONY_DELETING, &comp(json!({}))));
    assert!(s.deleted);
}

#[test]
fn a_patch_removed_from_the_output_never_touches_its_target() {
    // The tombstone of a Patch (Eno never writes one, nor do we; an older slice might hold one).
    for live in [Some(target(json!({"added": "yes"}))), None] {
        for ctx in [LIVE_COMP, COMP_DELETING] {
            assert_eq!(run(None, live.as_ref(), &ctx), Ok(ResourceAction::Orphan));
            let s = settled(pass(None, Some(&deletion()), live.as_ref(), &ctx, &comp(json!({}))));
            assert!(s.deleted, "done at once: nothing to wait for");
        }
    }
}

#[test]
fn disabled_or_frozen_patches_do_nothing() {
    let live = target(json!({}));
    let frozen = with_annotations(add_key(), json!({"eno.azure.io/disable-updates": "true"}));
    assert_eq!(run(Some(&frozen), Some(&live), &LIVE_COMP), Ok(ResourceAction::Nothing));
    assert_eq!(run(Some(&add_key()), Some(&deleting(live.clone())), &LIVE_COMP), Ok(ResourceAction::Nothing));
    let disabled = with_annotations(deletion(), json!({"eno.azure.io/disable-reconciliation": "true"}));
    let p = pass(Some(&disabled), None, Some(&live), &LIVE_COMP, &comp(json!({})));
    assert_eq!(settled(p).deleted, true, "disabled: nothing more will happen to it");
    // Cascaded from the composition too.
    let p = pass(Some(&add_key()), None, Some(&live), &LIVE_COMP, &comp(json!({"eno.azure.io/disable-updates": "true"})));
    assert!(matches!(p, Pass::Settled(_)), "{p:?}");
}

#[test]
fn overrides_see_the_target_and_the_composition() {
    // Eno's conditional deletion: empty ops, filled in by an override while the composition is
    // being deleted.
    let overrides = r#"[{"path": "self.patch.ops", "condition": "composition.metadata.deletionTimestamp != null",
        "value": [{"op": "add", "path": "/metadata/deletionTimestamp", "value": "now"}]}]"#;
    let conditional = with_annotations(eno_patch(json!([])), json!({"eno.azure.io/overrides": overrides}));
    let live = target(json!({}));
    assert!(matches!(pass(Some(&conditional), None, Some(&live), &LIVE_COMP, &comp(json!({}))), Pass::Settled(_)));
    let mut deleting_comp = comp(json!({}));
    deleting_comp["metadata"]["deletionTimestamp"] = json!("2024-06-01T11:00:00Z");
    assert!(matches!(pass(Some(&conditional), None, Some(&live), &LIVE_COMP, &deleting_comp), Pass::Write(ResourceAction::Delete { .. })));
    // An override of an op's value, evaluated against the target.
    let copy = r#"[{"path": "self.patch.ops[0].value", "valueExpression": "self.data.source"}]"#;
    let copying = with_annotations(add_key(), json!({"eno.azure.io/overrides": copy}));
    let live = target(json!({"source": "from-target"}));
    let Pass::Write(action) = pass(Some(&copying), None, Some(&live), &LIVE_COMP, &comp(json!({}))) else { panic!() };
    assert_eq!(apply(&action, &live).unwrap()["data"]["added"], "from-target");
}

#[test]
fn a_patch_with_reconcile_interval_reapplies_after_drift() {
    let periodic = with_annotations(add_key(), json!({"eno.azure.io/reconcile-interval": "1m"}));
    let s = settled(pass(Some(&periodic), None, Some(&target(json!({"added": "yes"}))), &LIVE_COMP, &comp(json!({}))));
    assert!(s.recheck_after(3).is_some());
    let drifted = target(json!({"added": "no"}));
    assert!(matches!(pass(Some(&periodic), None, Some(&drifted), &LIVE_COMP, &comp(json!({}))), Pass::Write(ResourceAction::Patch { .. })));
}

fn arb_data() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-c]", "[x-z]", 0..3).prop_map(|m| json!(m))
}

fn arb_op() -> impl Strategy<Value = Value> {
    prop_oneof![
        ("[a-c]", "[x-z]").prop_map(|(k, v)| json!({"op": "add", "path": format!("/data/{k}"), "value": v})),
        ("[a-c]", "[x-z]").prop_map(|(k, v)| json!({"op": "replace", "path": format!("/data/{k}"), "value": v})),
    ]
}

proptest! {
    /// Whatever the ops and the target: a write applies cleanly on the target it was decided
    /// on and changes it; after it the Patch is in sync, so a Patch of idempotent ops (`add`
    /// and `replace` of fixed values) converges in one write; no decision ever creates.
    #[test]
    fn one_write_converges(data in arb_data(), ops in prop::collection::vec(arb_op(), 0..4), exists: bool) {
        let patch = eno_patch(Value::Array(ops));
        let live = exists.then(|| target(data));
        match run(Some(&patch), live.as_ref(), &LIVE_COMP) {
            Ok(ResourceAction::Nothing) => {}
            Ok(action @ ResourceAction::Patch { .. }) => {
                let live = live.unwrap();
                let patched = apply(&action, &live).unwrap();
                prop_assert_ne!(&patched, &live);
                prop_assert_eq!(run(Some(&patch), Some(&patched), &LIVE_COMP), Ok(ResourceAction::Nothing));
            }
            Ok(other) => prop_assert!(false, "unexpected {:?}", other),
            Err(e) => prop_assert!(matches!(e, PatchError::DoesNotApply { .. }) && live.is_some(), "{:?}", e),
        }
    }
}
