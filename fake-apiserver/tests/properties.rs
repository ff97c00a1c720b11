//! Properties of the core under random sequences of writes from several clients.

use fake_apiserver::clock::ManualClock;
use fake_apiserver::object;
use fake_apiserver::server::{ApiServer, Config, DeleteOptions, ListOptions, PatchType, Propagation, Target, WriteOptions};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

fn server() -> ApiServer {
    ApiServer::new(Config { event_log_capacity: 1_000_000, ..Config::default() }, Arc::new(ManualClock::at(1_700_000_000)))
}

fn configmaps(s: &ApiServer) -> Target {
    s.target_for("v1", "ConfigMap", Some("default"), None).unwrap()
}

fn named(t: &Target, name: &str) -> Target {
    Target { name: Some(name.to_string()), ..t.clone() }
}

#[derive(Debug, Clone)]
enum Op {
    Create { name: u8, value: u8 },
    /// A client writes back the copy it read last (possibly stale) with a new value.
    Update { client: u8, name: u8, value: u8 },
    /// A client refreshes its copy.
    Read { client: u8, name: u8 },
    MergePatch { name: u8, value: u8 },
    AddFinalizer { name: u8 },
    RemoveFinalizers { name: u8 },
    Delete { name: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0u8..4;
    let value = 0u8..3;
    prop_oneof![
        (name.clone(), value.clone()).prop_map(|(name, value)| Op::Create { name, value }),
        (0u8..3, name.clone(), value.clone()).prop_map(|(client, name, value)| Op::Update { client, name, value }),
        (0u8..3, name.clone()).prop_map(|(client, name)| Op::Read { client, name }),
        (name.clone(), value).prop_map(|(name, value)| Op::MergePatch { name, value }),
        name.clone().prop_map(|name| Op::AddFinalizer { name }),
        name.clone().prop_map(|name| Op::RemoveFinalizers { name }),
        name.prop_map(|name| Op::Delete { name }),
    ]
}

/// Runs one op; errors (conflicts, not found, ...) are part of the game.
fn run(s: &mut ApiServer, t: &Target, copies: &mut BTreeMap<(u8, u8), Value>, op: &Op) {
    let n = |name: &u8| format!("cm{name}");
    let opts = WriteOptions::default();
    let _ = match op {
        Op::Create { name, value } => s.create(t, json!({"metadata": {"name": n(name)}, "data": {"v": value.to_string()}}), &opts).map(|_| ()),
        Op::Update { client, name, value } => match copies.get(&(*client, *name)) {
            Some(copy) => {
                let mut body = copy.clone();
                body["data"] = json!({"v": value.to_string()});
                s.update(&named(t, &n(name)), body, &opts).map(|_| ())
            }
            None => Ok(()),
        },
        Op::Read { client, name } => s.get(&named(t, &n(name)), None).map(|o| {
            copies.insert((*client, *name), o);
        }),
        Op::MergePatch { name, value } => s.patch(&named(t, &n(name)), PatchType::Merge, json!({"data": {"v": value.to_string()}}).to_string().as_bytes(), &opts).map(|_| ()),
        Op::AddFinalizer { name } => s.patch(&named(t, &n(name)), PatchType::Merge, br#"{"metadata":{"finalizers":["x.io/f"]}}"#, &opts).map(|_| ()),
        Op::RemoveFinalizers { name } => s.patch(&named(t, &n(name)), PatchType::Merge, br#"{"metadata":{"finalizers":null}}"#, &opts).map(|_| ()),
        Op::Delete { name } => s.delete(&named(t, &n(name)), &DeleteOptions::default()).map(|_| ()),
    };
}

/// What each object looks like from outside, by name.
fn observe(s: &mut ApiServer, t: &Target) -> BTreeMap<String, Value> {
    s.list(t, &ListOptions::default()).unwrap().into_value()["items"].as_array().unwrap().iter().map(|o| (object::name(o).to_string(), o.clone())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Watchers opened at any revision see exactly the committed changes after it, in order,
    /// with strictly increasing resourceVersions; no-op writes are invisible.
    #[test]
    fn watchers_see_exactly_the_committed_changes(ops in prop::collection::vec(op(), 1..60), starts in prop::collection::vec(0usize..60, 1..4)) {
        let mut s = server();
        let t = configmaps(&s);
        let mut copies = BTreeMap::new();
        // Expected events, derived by observing state before and after each op.
        let mut expected: Vec<(u64, &'static str, String, Value)> = Vec::new();
        let mut revisions = vec![s.revision()];
        let mut before = observe(&mut s, &t);
        for op in &ops {
            let rev_before = s.revision();
            run(&mut s, &t, &mut copies, op);
            let after = observe(&mut s, &t);
            let mut changes = Vec::new();
            for (name, obj) in &after {
                let rv: u64 = object::resource_version(obj).parse().unwrap();
                match before.get(name) {
                    None => changes.push((rv, "ADDED", name.clone(), obj.clone())),
                    Some(old) if object::resource_version(old) != object::resource_version(obj) => changes.push((rv, "MODIFIED", name.clone(), obj.clone())),
                    Some(old) => prop_assert_eq!(old, obj, "content changed without a new resourceVersion"),
                }
            }
            for (name, old) in &before {
                if !after.contains_key(name) {
                    changes.push((s.revision(), "DELETED", name.clone(), old.clone()));
                }
            }
            if changes.is_empty() {
                prop_assert_eq!(s.revision(), rev_before, "a write with no visible change moved the revision");
            }
            changes.sort_by_key(|c| c.0);
            expected.extend(changes);
            revisions.push(s.revision());
            before = after;
        }
        for w in expected.windows(2) {
            prop_assert!(w[0].0 < w[1].0, "resourceVersions must strictly increase: {:?}", w);
        }
        for start in starts {
            let from = revisions[start % revisions.len()];
            let mut watch = s.watch(&t, &ListOptions { resource_version: Some(from.to_string()), ..Default::default() }).unwrap();
            let seen: Vec<(u64, &str, String)> = s.poll_watch(&mut watch).events.iter().map(|e| {
                (object::resource_version(&e.object).parse().unwrap(), e.event_type, object::name(&e.object).to_string())
            }).collect();
            let want: Vec<(u64, &str, String)> = expected.iter().filter(|e| e.0 > from).map(|e| (e.0, e.1, e.2.clone())).collect();
            prop_assert_eq!(seen, want, "watch from {}", from);
        }
    }

    /// Garbage collection never removes an object while one of its owners is alive.
    #[test]
    fn gc_never_deletes_an_object_with_a_live_owner(
        owners in 1usize..4,
        deps in prop::collection::vec((prop::collection::vec(0usize..5, 1..3), any::<bool>()), 1..8),
        deletions in prop::collection::vec((0usize..4, 0u8..3, any::<bool>()), 0..6),
    ) {
        let mut s = server();
        let cms = configmaps(&s);
        let secrets = s.target_for("v1", "Secret", Some("default"), None).unwrap();
        let mut owner_refs = Vec::new();
        for i in 0..owners {
            let o = s.create(&secrets, json!({"metadata": {"name": format!("owner{i}")}}), &WriteOptions::default()).unwrap().object;
            owner_refs.push(json!({"apiVersion": "v1", "kind": "Secret", "name": object::name(&o), "uid": object::uid(&o)}));
        }
        for (i, (refs, block)) in deps.iter().enumerate() {
            let refs: Vec<Value> = refs.iter().map(|r| match owner_refs.get(*r) {
                Some(o) => { let mut o = o.clone(); o["blockOwnerDeletion"] = json!(block); o }
                // A reference to an owner that never existed.
                None => json!({"apiVersion": "v1", "kind": "Secret", "name": "ghost", "uid": format!("ghost-{r}")}),
            }).collect();
            s.create(&cms, json!({"metadata": {"name": format!("dep{i}"), "ownerReferences": refs}}), &WriteOptions::default()).unwrap();
        }
        for (owner, policy, gc_now) in deletions {
            let propagation = [Propagation::Background, Propagation::Foreground, Propagation::Orphan][policy as usize];
            let _ = s.delete(&named(&secrets, &format!("owner{}", owner % owners)), &DeleteOptions { propagation: Some(propagation), ..Default::default() });
            if gc_now {
                gc_checked(&mut s, &cms, &secrets)?;
            }
        }
        for _ in 0..20 {
            if gc_checked(&mut s, &cms, &secrets)? == 0 { break; }
        }
    }
}

/// One GC pass, checking that every dependent it removed had no live owner.
fn gc_checked(s: &mut ApiServer, cms: &Target, secrets: &Target) -> Result<usize, TestCaseError> {
    let live_owners: BTreeMap<String, bool> = observe(s, secrets).values().map(|o| (object::uid(o).to_string(), object::is_deleting(o))).collect();
    let before = observe(s, cms);
    let writes = s.collect_garbage();
    let after = observe(s, cms);
    for (name, obj) in &before {
        if after.contains_key(name) {
            continue;
        }
        for r in object::owner_references(obj) {
            let alive = live_owners.get(r.uid).is_some_and(|deleting| !deleting);
            prop_assert!(!alive, "{} was collected while its owner {} lives", name, r.name);
        }
    }
    Ok(writes)
}
