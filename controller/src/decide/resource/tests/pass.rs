//! One whole pass: overrides, the action, readiness and the state to record.

use super::*;
use crate::decide::readiness::ReadinessError;

fn t(s: &str) -> Time {
    serde_json::from_value(json!(s)).unwrap()
}

fn now() -> Time {
    t("2024-06-01T12:00:00Z")
}

fn comp(annotations: Value) -> Value {
    json!({"metadata": {"name": "c", "namespace": "ns", "labels": {}, "annotations": annotations, "deletionTimestamp": null}})
}

fn overrides(manifest: Value, ops: Value) -> Value {
    let mut m = manifest;
    m["metadata"]["annotations"][OVERRIDES] = Value::String(ops.to_string());
    m
}

struct Pass_<'a> {
    desired: Option<&'a Value>,
    previous: Option<&'a Value>,
    live: Option<&'a Value>,
    ctx: ResourceContext,
    composition: Value,
    ready: Option<Time>,
}

impl<'a> Pass_<'a> {
    fn new(desired: Option<&'a Value>, live: Option<&'a Value>) -> Self {
        Self { desired, previous: desired, live, ctx: IN_SYNC, composition: comp(json!({})), ready: None }
    }

    fn run(&self) -> Result<Pass, DecideError> {
        decide_pass(&Observed {
            desired: self.desired,
            previous_desired: self.previous,
            live: self.live,
            ctx: &self.ctx,
            composition: &self.composition,
            ready: self.ready.as_ref(),
            now: &now(),
        })
    }

    fn settled(&self) -> Settled {
        match self.run().unwrap() {
            Pass::Settled(s) => s,
            other => panic!("expected a settled resource, got {other:?}"),
        }
    }
}

fn is_write(pass: &Pass) -> bool {
    matches!(pass, Pass::Write(_))
}

#[test]
fn writes_are_decided_as_before() {
    let desired = cm(json!({"a": "1"}));
    assert_eq!(Pass_::new(Some(&desired), None).run(), Ok(Pass::Write(ResourceAction::Create(desired.clone()))));
    let drifted = live(cm(json!({"a": "2"})));
    assert!(matches!(Pass_::new(Some(&desired), Some(&drifted)).run(), Ok(Pass::Write(ResourceAction::Patch { .. }))));
}

#[test]
fn in_sync_without_checks_is_ready_now() {
    let desired = cm(json!({"a": "1"}));
    let object = live(desired.clone());
    let s = Pass_::new(Some(&desired), Some(&object)).settled();
    assert_eq!((s.deleted, s.ready.clone(), s.readiness_error.clone()), (false, Some(now()), None));
    assert_eq!(s.recheck_after(1), None, "no interval, no drift polling");
}

#[test]
fn readiness_checks_gate_and_latch() {
    let desired = with_annotations(cm(json!({"a": "1"})), json!({READINESS: "self.data.ready == 'yes'"}));
    let not_yet = live(cm(json!({"a": "1"})));
    let s = Pass_::new(Some(&desired), Some(&not_yet)).settled();
    assert_eq!((s.ready.clone(), s.readiness_error.clone()), (None, None));
    let poll = s.recheck_after(1).unwrap();
    assert!(poll >= READINESS_POLL_INTERVAL * 9 / 10 && poll <= READINESS_POLL_INTERVAL * 11 / 10, "{poll:?}");

    let ready = live(cm(json!({"a": "1", "ready": "yes"})));
    assert_eq!(Pass_::new(Some(&desired), Some(&ready)).settled().ready, Some(now()));

    // Once recorded, readiness holds even if the check would fail now.
    let latched = Pass_ { ready: Some(t("2024-06-01T11:00:00Z")), ..Pass_::new(Some(&desired), Some(&not_yet)) };
    assert_eq!(latched.settled().ready, Some(t("2024-06-01T11:00:00Z")));
}

#[test]
fn an_invalid_readiness_check_is_not_ready_and_says_why() {
    let desired = with_annotations(cm(json!({"a": "1"})), json!({"eno.azure.io/readiness-data": "self.data.("}));
    let object = live(cm(json!({"a": "1"})));
    let s = Pass_::new(Some(&desired), Some(&object)).settled();
    assert_eq!(s.ready, None);
    let Some(ReadinessError { check, .. }) = s.readiness_error else { panic!("no error") };
    assert_eq!(check, "eno.azure.io/readiness-data");
}

#[test]
fn readiness_sees_an_empty_composition_as_in_eno() {
    let desired = with_annotations(cm(json!({})), json!({READINESS: "!('go' in composition.metadata.annotations)"}));
    let object = live(cm(json!({})));
    let pass = |go: &str| Pass_ { composition: comp(json!({"go": go})), ..Pass_::new(Some(&desired), Some(&object)) }.settled().ready;
    assert_eq!((pass("no"), pass("yes")), (Some(now()), Some(now())));
}

#[test]
fn disable_reconciliation_leaves_everything_alone() {
    let desired = with_annotations(cm(json!({"a": "1"})), json!({DISABLE_RECONCILIATION: "true"}));
    let drifted = live(cm(json!({"a": "2"})));
    // Not created, not patched...
    assert!(!is_write(&Pass_::new(Some(&desired), None).run().unwrap()));
    let s = Pass_::new(Some(&desired), Some(&drifted)).settled();
    assert_eq!((s.deleted, s.ready), (false, Some(now())));
    // ...and not deleted with its composition, which must not wait for it.
    let s = Pass_ { ctx: COMP_DELETING, ..Pass_::new(Some(&desired), Some(&drifted)) }.settled();
    assert_eq!((s.deleted, s.ready), (true, None));
}

#[test]
fn overrides_are_applied_before_control_annotations() {
    let desired = overrides(
        cm(json!({"a": "1"})),
        json!([{"path": "self.metadata.annotations['eno.azure.io/disable-updates']", "value": "true", "condition": "composition.metadata.annotations['freeze'] == 'yes'"}]),
    );
    let drifted = live(cm(json!({"a": "2"})));
    let pass = |annotations| Pass_ { composition: comp(annotations), ..Pass_::new(Some(&desired), Some(&drifted)) }.run().unwrap();
    assert!(is_write(&pass(json!({}))));
    assert!(!is_write(&pass(json!({"freeze": "yes"}))));
}

#[test]
fn overrides_change_what_is_applied() {
    let desired = overrides(
        cm(json!({"a": "1"})),
        json!([{"path": "self.data.a", "value": "big", "condition": "composition.metadata.labels['size'] == 'big'"}]),
    );
    let mut view = comp(json!({}));
    view["metadata"]["labels"] = json!({"size": "big"});
    let created = Pass_ { composition: view, ..Pass_::new(Some(&desired), None) }.run().unwrap();
    let Pass::Write(ResourceAction::Create(object)) = created else { panic!("{created:?}") };
    assert_eq!(object["data"], json!({"a": "big"}));
    assert_eq!(object["metadata"].get("annotations"), None, "the overrides annotation is control metadata");
}

#[test]
fn a_removing_override_keeps_another_clients_value() {
    // Eno applied `b` before; now an override drops it while another client owns it.
    let desired = overrides(
        cm(json!({"a": "1", "b": "eno"})),
        json!([{"path": "self.data.b", "value": null, "condition": "has(self.data.b) && self.data.b != 'eno'"}]),
    );
    let theirs = live(cm(json!({"a": "1", "b": "theirs"})));
    let s = Pass_::new(Some(&desired), Some(&theirs)).run().unwrap();
    assert!(!is_write(&s), "the previous manifest is overridden too, so `b` is not pruned: {s:?}");
}

#[test]
fn value_expressions_keep_live_values() {
    let desired = overrides(
        deployment(json!([{"name": "app", "image": "a"}])),
        json!([{"path": "self.spec.replicas", "valueExpression": "self.spec.replicas", "condition": "has(self.spec.replicas)"}]),
    );
    let mut scaled = live(deployment(json!([{"name": "app", "image": "a"}])));
    scaled["spec"]["replicas"] = json!(5);
    assert!(!is_write(&Pass_::new(Some(&desired), Some(&scaled)).run().unwrap()), "an autoscaler's replicas are kept");
}

#[test]
fn overrides_reach_tombstones() {
    let tombstone = overrides(
        cm(json!({})),
        json!([{"path": "self.metadata.annotations['eno.azure.io/deletion-strategy']", "value": "orphan", "condition": "composition.metadata.annotations['keep'] == 'yes'"}]),
    );
    let object = live(cm(json!({})));
    let pass = |annotations| Pass_ { previous: Some(&tombstone), composition: comp(annotations), ..Pass_::new(None, Some(&object)) }.run().unwrap();
    assert!(matches!(pass(json!({})), Pass::Write(ResourceAction::Delete { .. })));
    let Pass::Settled(s) = pass(json!({"keep": "yes"})) else { panic!("orphan expected") };
    assert!(s.deleted, "orphaned counts as deleted");
}

#[test]
fn malformed_overrides_are_reconciliation_errors() {
    let desired = overrides(cm(json!({})), json!([{"path": "data.a", "value": "x"}]));
    let err = Pass_::new(Some(&desired), None).run().unwrap_err();
    assert!(matches!(err, DecideError::Overrides(_)));
    assert!(err.to_string().contains("eno.azure.io/overrides[0]: path"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The seed's migration example: two compositions of one symphony both synthesize the same
// resource; the symphony's annotation decides which one reconciles it, and flipping it
// (prune first, then set) hands the resource over.

const OWNER: &str = "migration/resource-owner";

/// The two ways to write the handover: Eno's own test (disabled unless the annotation says
/// so) and the migration guide's (disabled when it does not), guarded for a missing key.
fn migrating(synth: &str, guide_form: bool) -> Value {
    let mut annotations = json!({});
    let op = if guide_form {
        json!({
            "path": "self.metadata.annotations['eno.azure.io/disable-reconciliation']",
            "value": "true",
            "condition": format!("!('{OWNER}' in composition.metadata.annotations) || composition.metadata.annotations['{OWNER}'] != 'true'"),
        })
    } else {
        annotations[DISABLE_RECONCILIATION] = json!("true");
        json!({
            "path": "self.metadata.annotations['eno.azure.io/disable-reconciliation']",
            "value": "false",
            "condition": format!("composition.metadata.annotations['{OWNER}'] == 'true'"),
        })
    };
    annotations[OVERRIDES] = Value::String(json!([op]).to_string());
    with_annotations(cm(json!({"managedBy": synth})), annotations)
}

/// Composition annotations through a flip from `a` to `b`: owner, pruned, new owner.
fn flip(from: usize) -> [[Value; 2]; 3] {
    let owner = json!({OWNER: "true"});
    let mut start = [json!({}), json!({})];
    start[from] = owner.clone();
    let mut end = [json!({}), json!({})];
    end[1 - from] = owner;
    [start, [json!({}), json!({})], end]
}

fn pass_for(desired: &Value, live: Option<&Value>, annotations: &Value) -> Pass {
    Pass_ { composition: comp(annotations.clone()), ..Pass_::new(Some(desired), live) }.run().unwrap()
}

#[test]
fn migration_never_has_two_writers() {
    for guide_form in [false, true] {
        let desired = [migrating("a", guide_form), migrating("b", guide_form)];
        let lives = [None, Some(live(desired[0].clone())), Some(live(desired[1].clone())), Some(live(cm(json!({"managedBy": "someone"}))))];
        for from in [0, 1] {
            for (step, annotations) in flip(from).iter().enumerate() {
                for l in &lives {
                    let writers: Vec<usize> =
                        (0..2).filter(|&i| is_write(&pass_for(&desired[i], l.as_ref(), &annotations[i]))).collect();
                    let owner: Vec<usize> = (0..2).filter(|&i| annotations[i].get(OWNER).is_some()).collect();
                    assert!(writers.iter().all(|w| owner.contains(w)), "form {guide_form}, step {step}: {writers:?} write, owner {owner:?}");
                }
            }
        }
    }
}

#[test]
fn migration_hands_over_and_settles() {
    for guide_form in [false, true] {
        let desired = [migrating("a", guide_form), migrating("b", guide_form)];
        let mut object: Option<Value> = None;
        let mut writes = Vec::new();
        for annotations in flip(0).iter().chain(flip(1).iter().skip(1)) {
            // Reconcile both until neither writes; count who wrote.
            for _round in 0..3 {
                let mut wrote = false;
                for i in 0..2 {
                    match pass_for(&desired[i], object.as_ref(), &annotations[i]) {
                        Pass::Write(ResourceAction::Create(obj)) => object = Some(live(obj)),
                        Pass::Write(action) => object = Some(apply_action(&action, object.as_ref().unwrap())),
                        Pass::Settled(_) => continue,
                    }
                    writes.push(i);
                    wrote = true;
                }
                if !wrote {
                    break;
                }
            }
            let expected = (0..2).find(|&i| annotations[i].get(OWNER).is_some());
            if let Some(owner) = expected {
                assert_eq!(object.as_ref().unwrap()["data"]["managedBy"], ["a", "b"][owner], "form {guide_form}");
            }
        }
        // a creates, b takes over with one patch, a takes it back with one patch: no ping-pong.
        assert_eq!(writes, vec![0, 1, 0], "form {guide_form}");
    }
}

#[test]
fn an_unguarded_condition_fails_open_on_a_missing_annotation() {
    // The guide's condition without the `in` guard errors when the annotation is absent, and
    // an override whose condition errors is skipped: the resource is reconciled. Between the
    // prune and the set both compositions would then write, hence the guard above.
    let unguarded = |synth: &str| {
        overrides(
            cm(json!({"managedBy": synth})),
            json!([{"path": "self.metadata.annotations['eno.azure.io/disable-reconciliation']", "value": "true",
                    "condition": format!("composition.metadata.annotations['{OWNER}'] != 'true'")}]),
        )
    };
    let object = live(cm(json!({"managedBy": "someone"})));
    assert!(is_write(&pass_for(&unguarded("a"), Some(&object), &json!({}))));
    assert!(is_write(&pass_for(&unguarded("b"), Some(&object), &json!({}))));
}
