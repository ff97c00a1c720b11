use super::*;
use crate::decide::resource::ResourceContext;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{json, Value};

const LIVE_COMP: ResourceContext = ResourceContext { composition_deleting: false, symphony_deleting: false };
const COMP_DELETING: ResourceContext = ResourceContext { composition_deleting: true, symphony_deleting: false };

fn t(s: &str) -> Time {
    serde_json::from_value(json!(s)).unwrap()
}

fn now() -> Time {
    t("2024-06-01T12:00:00Z")
}

fn cm(annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns", "annotations": annotations}})
}

fn comp(annotations: Value) -> Value {
    json!({"metadata": {"name": "c", "namespace": "ns", "labels": {}, "annotations": annotations, "deletionTimestamp": null}})
}

struct Failure {
    desired: Option<Value>,
    previous: Option<Value>,
    live: Option<Value>,
    ctx: ResourceContext,
    composition: Value,
    ready: Option<Time>,
}

impl Failure {
    fn of(manifest: Value) -> Self {
        Failure { desired: Some(manifest), previous: None, live: None, ctx: LIVE_COMP, composition: comp(json!({})), ready: None }
    }

    fn settle(&self) -> Option<Settled> {
        settle_failure(&Observed {
            desired: self.desired.as_ref(),
            previous_desired: self.previous.as_ref(),
            live: self.live.as_ref(),
            ctx: &self.ctx,
            composition: &self.composition,
            ready: self.ready.as_ref(),
            now: &now(),
        })
    }
}

#[test]
fn without_fail_open_the_error_stands() {
    assert_eq!(Failure::of(cm(json!({}))).settle(), None);
    assert_eq!(Failure::of(cm(json!({"eno.azure.io/fail-open": "false"}))).settle(), None);
    // Eno reads it from the resource only: a composition's does not cascade.
    let cascaded = Failure { composition: comp(json!({"eno.azure.io/fail-open": "true"})), ..Failure::of(cm(json!({}))) };
    assert_eq!(cascaded.settle(), None);
}

#[test]
fn a_failing_resource_counts_reconciled_and_ready_as_its_checks_say() {
    let open = cm(json!({"eno.azure.io/fail-open": "true"}));
    let s = Failure::of(open.clone()).settle().unwrap();
    assert_eq!((s.deleted, s.ready, s.readiness_error), (false, Some(now()), None), "no checks: ready now, as in Eno");
    // Readiness checks still decide readiness (against what could be read).
    let checked = cm(json!({"eno.azure.io/fail-open": "true", "eno.azure.io/readiness": "self.data.ok == 'yes'"}));
    assert_eq!(Failure::of(checked.clone()).settle().unwrap().ready, None);
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"ok": "yes"}});
    assert_eq!(Failure { live: Some(live), ..Failure::of(checked.clone()) }.settle().unwrap().ready, Some(now()));
    // A latched readiness holds.
    let latched = Failure { ready: Some(t("2024-06-01T11:00:00Z")), ..Failure::of(checked) };
    assert_eq!(latched.settle().unwrap().ready, Some(t("2024-06-01T11:00:00Z")));
}

#[test]
fn a_failing_deletion_counts_deleted_unless_foreground() {
    let open = cm(json!({"eno.azure.io/fail-open": "true"}));
    // A tombstone, and a resource of a deleting composition.
    let tombstone = Failure { desired: None, previous: Some(open.clone()), ..Failure::of(open.clone()) };
    assert_eq!(tombstone.settle().map(|s| (s.deleted, s.ready)), Some((true, None)));
    let deleting = Failure { ctx: COMP_DELETING, ..Failure::of(open.clone()) };
    assert_eq!(deleting.settle().map(|s| s.deleted), Some(true));
    // Foreground: waiting for the object to go is the point, so the error stands; also when
    // the strategy comes from the composition.
    let foreground = cm(json!({"eno.azure.io/fail-open": "true", "eno.azure.io/deletion-strategy": "foreground"}));
    assert_eq!(Failure { ctx: COMP_DELETING, ..Failure::of(foreground.clone()) }.settle(), None);
    let cascaded = Failure { ctx: COMP_DELETING, composition: comp(json!({"eno.azure.io/deletion-strategy": "foreground"})), ..Failure::of(open.clone()) };
    assert_eq!(cascaded.settle(), None);
    // Not being deleted, foreground changes nothing.
    assert!(Failure::of(foreground).settle().is_some());
}

#[test]
fn a_failing_deletion_patch_counts_deleted() {
    let patch = json!({
        "apiVersion": "eno.azure.io/v1", "kind": "Patch",
        "metadata": {"name": "a", "namespace": "ns", "annotations": {"eno.azure.io/fail-open": "true"}},
        "patch": {"apiVersion": "v1", "kind": "ConfigMap", "ops": [{"op": "add", "path": "/metadata/deletionTimestamp", "value": "x"}]},
    });
    let s = Failure::of(patch).settle().unwrap();
    assert_eq!((s.deleted, s.ready), (true, Some(now())));
}

#[test]
fn the_recheck_follows_the_cascaded_interval() {
    let open = cm(json!({"eno.azure.io/fail-open": "true"}));
    let f = Failure { composition: comp(json!({"eno.azure.io/reconcile-interval": "1m"})), ..Failure::of(open) };
    let after = f.settle().unwrap().recheck_after(5).unwrap();
    assert!(after.as_secs() >= 54 && after.as_secs() <= 66, "{after:?}");
}
