use super::*;
use crate::api::{Binding, CompositionSpec, Ref, ResourceBinding, ResourceRef, SynthesizerRef, SynthesizerSpec};
use proptest::prelude::*;
use serde_json::json;

fn synth(refs: Vec<Ref>) -> Synthesizer {
    let mut s = Synthesizer::new("s", SynthesizerSpec { refs, ..Default::default() });
    s.metadata.generation = Some(3);
    s
}

fn configmap_ref(key: &str, name: &str, optional: bool) -> Ref {
    Ref { key: key.into(), resource: ResourceRef { version: "v1".into(), kind: "ConfigMap".into(), name: name.into(), ..Default::default() }, optional, ..Default::default() }
}

fn comp(bindings: &[(&str, &str)]) -> Composition {
    let bindings = bindings.iter().map(|(k, n)| Binding { key: k.to_string(), resource: ResourceBinding { name: n.to_string(), namespace: "ns".into() } }).collect();
    let mut c = Composition::new("c", CompositionSpec { synthesizer: SynthesizerRef::named("s"), bindings, ..Default::default() });
    c.metadata.generation = Some(2);
    c
}

fn cm(rv: &str, annotations: Value) -> Value {
    json!({"metadata": {"name": "x", "namespace": "ns", "resourceVersion": rv, "annotations": annotations}})
}

fn rev(key: &str, rv: &str) -> InputRevisions {
    InputRevisions { key: key.into(), resource_version: rv.into(), ..Default::default() }
}

#[test]
fn refs_are_bound_by_binding_or_by_the_ref_and_an_unbound_one_is_named() {
    let s = synth(vec![configmap_ref("cfg", "", false), configmap_ref("fixed", "shared", true)]);
    let bound = bind(&comp(&[("cfg", "mine")]), &s).unwrap();
    assert_eq!(bound[0].target.to_string(), "v1/ConfigMap ns/mine");
    assert_eq!((bound[1].target.name.as_str(), bound[1].target.namespace.as_deref(), bound[1].optional), ("shared", None, true));
    let err = bind(&comp(&[]), &s).unwrap_err();
    assert!(err.contains("\"cfg\" is not bound"), "{err}");
}

#[test]
fn missing_required_inputs_block_and_optional_ones_do_not() {
    let s = synth(vec![configmap_ref("a", "a", false), configmap_ref("b", "b", true), configmap_ref("c", "c", false)]);
    let bound = bind(&comp(&[]), &s).unwrap();
    let found: Vec<Found<Box<Value>>> = bound.iter().map(|b| if b.target.name == "a" { Found::Present(Box::new(cm("7", json!({})))) } else { Found::Absent }).collect();
    let observed = observe(bound.iter().zip(&found));
    assert_eq!(observed.revisions, vec![rev("a", "7")]);
    assert_eq!(observed.missing, vec!["c".to_string()]);
    assert_eq!(observed.blocked().as_deref(), Some("missing inputs: c"));
    let not_served = vec![Found::<Box<Value>>::KindNotServed; bound.len()];
    let unknown = observe(bound.iter().zip(&not_served));
    assert_eq!(unknown.blocked().as_deref(), Some("input \"a\": the API server does not serve v1 ConfigMap"));
}

#[test]
fn annotations_become_revisions_and_bad_ones_are_problems() {
    let r = revisions_of("k", &cm("5", json!({REVISION: "4", SYNTHESIZER_GENERATION: "2", IGNORE_SIDE_EFFECTS: "false"}))).unwrap();
    assert_eq!((r.revision, r.synthesizer_generation, r.composition_generation, r.ignore_side_effects), (Some(4), Some(2), None, Some(false)));
    let err = revisions_of("k", &cm("5", json!({REVISION: "four"}))).unwrap_err();
    assert_eq!(err, "annotation eno.azure.io/revision is \"four\", not an integer");
    let bound = bind(&comp(&[]), &synth(vec![configmap_ref("k", "x", false)])).unwrap();
    let bad = [Found::Present(Box::new(cm("5", json!({REVISION: "four"}))))];
    let observed = observe(bound.iter().zip(&bad));
    assert_eq!(observed.blocked().unwrap(), "input \"k\" (v1/ConfigMap x): annotation eno.azure.io/revision is \"four\", not an integer");
}

#[test]
fn recorded_revisions_only_move_forward_and_drop_what_is_gone() {
    let recorded = vec![rev("a", "10"), rev("b", "5")];
    // A cache that travelled back shows a at 9: the record keeps 10.
    assert_eq!(record(&recorded, &[rev("b", "6"), rev("a", "9")]), vec![rev("a", "10"), rev("b", "6")]);
    // b is gone.
    assert_eq!(record(&recorded, &[rev("a", "11")]), vec![rev("a", "11")]);
}

#[test]
fn lockstep_needs_agreeing_revisions_and_current_generations() {
    let (s, c) = (synth(vec![]), comp(&[]));
    let with = |revision, synth_gen| InputRevisions { revision, synthesizer_generation: synth_gen, ..rev("k", "1") };
    assert!(!out_of_lockstep(&s, &c, &[with(Some(2), None), with(Some(2), None), with(None, None)]));
    assert!(out_of_lockstep(&s, &c, &[with(Some(2), None), with(Some(3), None)]));
    assert!(out_of_lockstep(&s, &c, &[with(None, Some(2))]), "derived from synthesizer generation 2 of 3");
    assert!(!out_of_lockstep(&s, &c, &[with(None, Some(3))]));
}

#[test]
fn changes_count_unless_they_ignore_side_effects() {
    let s = synth(vec![configmap_ref("a", "a", false), configmap_ref("b", "b", false)]);
    let ran = vec![rev("a", "1")];
    assert_eq!(changed(&s, &ran, &[rev("a", "1")]), None);
    assert_eq!(changed(&s, &ran, &[rev("a", "2")]), Some(Change::Immediate));
    assert_eq!(changed(&s, &ran, &[InputRevisions { ignore_side_effects: Some(true), ..rev("a", "2") }]), None);
    assert_eq!(changed(&s, &ran, &[rev("a", "1"), rev("b", "1")]), None, "a new input alone does not resynthesize");
    assert_eq!(changed(&s, &ran, &[rev("a", "1"), InputRevisions { ignore_side_effects: Some(false), ..rev("b", "1") }]), Some(Change::Immediate));
}

#[test]
fn a_change_is_deferred_only_when_every_changed_ref_defers() {
    let deferred = Ref { defer: true, ..configmap_ref("a", "a", false) };
    let s = synth(vec![deferred, configmap_ref("b", "b", false)]);
    let ran = vec![rev("a", "1"), rev("b", "1")];
    assert_eq!(changed(&s, &ran, &[rev("a", "2"), rev("b", "1")]), Some(Change::Deferred));
    assert_eq!(changed(&s, &ran, &[rev("a", "2"), rev("b", "2")]), Some(Change::Immediate));
    assert_eq!(changed(&s, &ran, &[rev("a", "1"), rev("b", "2")]), Some(Change::Immediate));
}

proptest! {
    /// Recording never moves an input backwards, whatever order the states arrive in.
    #[test]
    fn a_recorded_revision_never_goes_back(seen in prop::collection::vec(1u64..50, 1..20)) {
        let mut recorded: Vec<InputRevisions> = Vec::new();
        let mut highest = 0;
        for rv in seen {
            recorded = record(&recorded, &[rev("a", &rv.to_string())]);
            highest = highest.max(rv);
            prop_assert_eq!(recorded[0].resource_version.parse::<u64>().unwrap(), highest);
        }
    }
}

#[test]
fn only_an_input_that_says_false_forces_past_ignored_side_effects() {
    let ran = vec![rev("a", "1")];
    let insisting = |rv: &str| InputRevisions { ignore_side_effects: Some(false), ..rev("a", rv) };
    assert!(!forced_change(&ran, &[rev("a", "2")]));
    assert!(forced_change(&ran, &[insisting("2")]));
    assert!(!forced_change(&ran, &[insisting("1")]), "unchanged");
    assert!(forced_change(&ran, &[rev("a", "1"), InputRevisions { ignore_side_effects: Some(false), ..rev("b", "1") }]));
}
