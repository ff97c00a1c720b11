use super::*;
use crate::api::{CompositionSpec, CompositionStatus, Synthesis};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;

fn comp(name: &str, depends_on: &[&str], ready: bool) -> Composition {
    let spec = CompositionSpec { depends_on: depends_on.iter().map(|d| CompositionRef { name: d.to_string(), namespace: String::new() }).collect(), ..CompositionSpec::default() };
    let mut c = Composition::new(name, spec);
    c.metadata.namespace = Some("ns".into());
    let at = Time(Timestamp::from_second(1_700_000_000).unwrap());
    c.status = Some(CompositionStatus { current_synthesis: Some(Synthesis { ready: ready.then_some(at), ..Synthesis::default() }), ..CompositionStatus::default() });
    c
}

fn cache(comps: &[Composition]) -> BTreeMap<String, Composition> {
    comps.iter().map(|c| (key_of(c), c.clone())).collect()
}

#[test]
fn a_composition_waits_for_missing_and_unready_dependencies_and_names_them() {
    let app = comp("app", &["db", "cache", "queue"], false);
    let known = cache(&[comp("db", &[], true), comp("cache", &[], false)]);
    let find = |k: &str| known.get(k);
    let status = waiting_on(&app, &find).unwrap();
    assert_eq!((status.blocked, status.reason.as_str()), (true, WAITING_ON_DEPENDENCIES));
    let blockers: Vec<(&str, &str)> = status.blocked_by.iter().map(|b| (b.name.as_str(), b.reason.as_str())).collect();
    assert_eq!(blockers, [("cache", DEPENDENCY_NOT_READY), ("queue", DEPENDENCY_NOT_FOUND)]);
    assert_eq!(status.blocked_by[0].namespace, "ns", "a dependsOn without a namespace is the dependent's");
    assert_eq!(describe(&status, None), "WaitingOnDependencies: ns/cache (DependencyNotReady), ns/queue (DependencyNotFound)");
    let all_ready = cache(&[comp("db", &[], true), comp("cache", &[], true), comp("queue", &[], true)]);
    assert_eq!(waiting_on(&app, &|k: &str| all_ready.get(k)), None);
    assert_eq!(waiting_on(&comp("alone", &[], false), &find), None);
}

#[test]
fn a_cycle_holds_every_composition_on_it_and_behind_it() {
    let comps = [comp("a", &["b"], true), comp("b", &["c"], true), comp("c", &["a"], true), comp("d", &["a"], true), comp("e", &["d"], true), comp("f", &[], true)];
    let known = cache(&comps);
    let find = |k: &str| known.get(k);
    assert_eq!(cycle(&comps[0], &find).unwrap(), ["ns/a", "ns/b", "ns/c", "ns/a"]);
    for on_or_behind in &comps[..5] {
        let held = hold(on_or_behind, &find, &[] as &[Composition]).unwrap();
        assert_eq!(held.status.reason, CIRCULAR_DEPENDENCY);
        assert!(held.message.starts_with("circular dependency: "), "{}", held.message);
    }
    assert_eq!(hold(&comps[5], &find, &[] as &[Composition]), None);
    let self_loop = comp("s", &["s"], true);
    assert_eq!(cycle(&self_loop, &|k: &str| (k == "ns/s").then_some(&self_loop)).unwrap(), ["ns/s", "ns/s"]);
}

#[test]
fn a_deleting_composition_waits_for_its_dependents_unless_its_symphony_is_going() {
    let mut db = comp("db", &[], true);
    db.metadata.deletion_timestamp = db.status.as_ref().unwrap().current_synthesis.as_ref().unwrap().ready.clone();
    let app = comp("app", &["db"], true);
    let other = comp("other", &["elsewhere"], true);
    let held = hold(&db, &|_| None, &[app.clone(), other.clone()]).unwrap();
    assert_eq!((held.status.reason.as_str(), held.status.blocked_by.len()), (WAITING_ON_DEPENDENTS, 1));
    assert_eq!((held.status.blocked_by[0].name.as_str(), held.status.blocked_by[0].reason.as_str()), ("app", DEPENDENT_NOT_DELETED));
    // A dependent that is deleting still counts until it has let go of its cleanup finalizer.
    let mut going = app.clone();
    going.metadata.deletion_timestamp = db.metadata.deletion_timestamp.clone();
    going.metadata.finalizers = Some(vec![crate::api::CLEANUP_FINALIZER.into()]);
    assert!(hold(&db, &|_| None, &[going.clone()]).is_some());
    going.metadata.finalizers = None;
    assert_eq!(hold(&db, &|_| None, &[going]), None);
    let mut symphony_going = db.clone();
    symphony_going.metadata.labels = Some([(crate::api::annotations::SYMPHONY_DELETING.to_string(), "true".to_string())].into());
    assert_eq!(hold(&symphony_going, &|_| None, &[app]), None);
}

#[test]
fn topological_order_puts_dependencies_first_and_leaves_cycles_out() {
    let items = [("web", vec!["db", "cache"]), ("db", vec![]), ("cache", vec!["db"]), ("x", vec!["y"]), ("y", vec!["x"]), ("lone", vec!["missing"])];
    let (order, cyclic) = topological(&items, |i| i.0.to_string(), |i| i.1.iter().map(|d| d.to_string()).collect());
    let named: Vec<&str> = order.iter().map(|i| items[*i].0).collect();
    assert_eq!(named, ["db", "cache", "web", "lone"]);
    assert_eq!(cyclic, ["x".to_string(), "y".to_string()].into());
}
