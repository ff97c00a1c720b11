use super::*;
use crate::api::{ResourceBinding, Synthesis, CompositionStatus, SymphonySpec, SynthesizerRef};
use proptest::prelude::*;

/// No compositions (typed, for the functions that take any borrowable form).
const NONE: &[Composition] = &[];

const OWNER: &str = "owner";

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn variation(synth: &str, annotations: &[(&str, &str)]) -> Variation {
    Variation { synthesizer: SynthesizerRef::named(synth), annotations: map(annotations), ..Default::default() }
}

fn symphony(generation: i64, variations: Vec<Variation>) -> Symphony {
    let mut s = Symphony::new("sym", SymphonySpec { variations, ..Default::default() });
    s.metadata.namespace = Some("default".into());
    s.metadata.uid = Some("sym-uid".into());
    s.metadata.generation = Some(generation);
    s.metadata.finalizers = Some(vec![CLEANUP_FINALIZER.into()]);
    s
}

/// The composition the controller would have created for `synth` at `generation`, as stored.
fn owned(sym: &Symphony, synth: &str, generation: i64, annotations: &[(&str, &str)]) -> Composition {
    let variation = Variation { synthesizer: SynthesizerRef::named(synth), ..Default::default() };
    let name = composition_name(sym, synth);
    let mut c = new_composition(sym, &variation, &[], name.clone());
    let mut all = map(annotations);
    all.insert(SYMPHONY_GENERATION.into(), generation.to_string());
    c.metadata.annotations = Some(all);
    c.metadata.uid = Some(format!("uid-{name}"));
    c.metadata.resource_version = Some("7".into());
    c
}

fn annotations_written(next: &Next) -> &BTreeMap<String, String> {
    match next {
        Next::Update { annotations, .. } => annotations,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn finalizer_comes_first() {
    let mut sym = symphony(1, vec![variation("a", &[])]);
    sym.metadata.finalizers = None;
    assert_eq!(next(&sym, NONE), Some(Next::AddFinalizer));
}

#[test]
fn creation_is_deterministic_owned_and_carries_no_annotations_yet() {
    let mut v = variation("synth-2", &[(OWNER, "true")]);
    v.labels = map(&[("team", "x"), ("gone", "")]);
    let sym = symphony(3, vec![v]);
    let Some(Next::Create(comp)) = next(&sym, NONE) else { panic!("expected a creation") };
    let name = comp.metadata.name.clone().unwrap();
    assert!(name.starts_with("synth-2-") && name.len() == "synth-2-".len() + 5, "{name}");
    assert_eq!(name, composition_name(&sym, "synth-2"), "the same variation always gets the same name");
    assert_ne!(name, composition_name(&symphony(3, vec![]), "synth-1"));
    assert_eq!(comp.metadata.generate_name.as_deref(), Some("synth-2-"));
    assert_eq!(comp.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(comp.metadata.labels, Some(map(&[("team", "x")])));
    assert_eq!(comp.metadata.annotations, Some(map(&[(SYMPHONY_GENERATION, "3")])), "annotations wait for a fenced update");
    let owner = &comp.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.uid.as_str(), owner.controller), ("Symphony", "sym-uid", Some(true)));
    assert!(is_owned_by(&comp, &sym));
    // Once it exists (stamped), the next pass adds the annotation.
    let created = owned(&sym, "synth-2", 3, &[]);
    let next = next(&sym, &[Composition { metadata: ObjectMeta { labels: Some(map(&[("team", "x")])), ..created.metadata }, ..created }]).unwrap();
    assert_eq!(annotations_written(&next)[OWNER], "true");
}

#[test]
fn compositions_are_created_dependencies_first_and_never_for_a_cycle() {
    use crate::api::VariationDependency;
    let depends = |synth: &str, on: &[&str]| Variation { depends_on: on.iter().map(|d| VariationDependency { synthesizer: d.to_string() }).collect(), ..variation(synth, &[]) };
    let sym = symphony(1, vec![depends("web", &["db"]), depends("db", &[]), depends("x", &["y"]), depends("y", &["x"])]);
    let mut made: Vec<Composition> = Vec::new();
    while let Some(Next::Create(comp)) = next(&sym, &made) {
        let mut comp = *comp;
        comp.metadata.annotations = Some(map(&[(SYMPHONY_GENERATION, "1")]));
        made.push(comp);
    }
    let synthesizers: Vec<&str> = made.iter().map(|c| c.spec.synthesizer.name.as_str()).collect();
    assert_eq!(synthesizers, ["db", "web"]);
    assert_eq!(made[1].spec.depends_on, [CompositionRef { name: composition_name(&sym, "db"), namespace: "default".into() }]);
}

#[test]
fn variation_values_win_over_symphony_level_ones() {
    let binding = |key: &str, name: &str| Binding { key: key.into(), resource: ResourceBinding { name: name.into(), namespace: "default".into() } };
    let env = |name: &str, value: &str| EnvVar { name: name.into(), value: value.into() };
    let mut v = variation("a", &[]);
    v.bindings = vec![binding("shared", "from-variation")];
    v.synthesis_env = vec![env("X", "variation")];
    let mut sym = symphony(1, vec![v.clone()]);
    sym.spec.bindings = vec![binding("shared", "from-symphony"), binding("only-symphony", "s")];
    sym.spec.synthesis_env = vec![env("X", "symphony"), env("Y", "symphony")];
    let spec = desired_spec(&sym, &v, NONE);
    assert_eq!(spec.bindings, [binding("only-symphony", "s"), binding("shared", "from-variation")]);
    assert_eq!(spec.synthesis_env, [env("X", "variation"), env("Y", "symphony")]);
    // A composition whose spec drifted is updated back.
    let mut comp = owned(&sym, "a", 1, &[]);
    comp.spec.synthesis_env.clear();
    match next(&sym, &[comp]) {
        Some(Next::Update { reason: UpdateReason::Set, spec: Some(s), .. }) => assert_eq!(s, spec),
        other => panic!("expected a spec update, got {other:?}"),
    }
}

#[test]
fn removed_variations_and_duplicates_are_deleted_normally() {
    let sym = symphony(1, vec![variation("a", &[])]);
    let gone = owned(&sym, "b", 1, &[]);
    assert!(matches!(next(&sym, &[owned(&sym, "a", 1, &[]), gone]), Some(Next::Delete { reason: DeleteReason::VariationRemoved, .. })));
    let mut dup = owned(&sym, "a", 1, &[]);
    dup.metadata.name = Some("a-older".into());
    match next(&sym, &[owned(&sym, "a", 1, &[]), dup]) {
        Some(Next::Delete { composition, reason: DeleteReason::Duplicate, .. }) => assert_eq!(composition, "a-older"),
        other => panic!("expected the duplicate deleted, got {other:?}"),
    }
}

#[test]
fn deleting_symphony_labels_then_deletes_then_lets_go() {
    let mut sym = symphony(1, vec![variation("a", &[])]);
    sym.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    let comp = owned(&sym, "a", 1, &[]);
    let Some(Next::Update { reason: UpdateReason::SymphonyDeleting, labels, .. }) = next(&sym, std::slice::from_ref(&comp)) else { panic!("expected the label") };
    assert_eq!(labels[SYMPHONY_DELETING], "true");
    let labelled = Composition { metadata: ObjectMeta { labels: Some(labels), ..comp.metadata.clone() }, ..comp.clone() };
    assert!(matches!(next(&sym, std::slice::from_ref(&labelled)), Some(Next::Delete { reason: DeleteReason::SymphonyDeleting, .. })));
    let mut terminating = labelled;
    terminating.metadata.deletion_timestamp = sym.metadata.deletion_timestamp.clone();
    assert_eq!(next(&sym, &[terminating]), None, "waits for the composition to go");
    assert_eq!(next(&sym, NONE), Some(Next::RemoveFinalizer));
    sym.metadata.finalizers = None;
    assert_eq!(next(&sym, NONE), None);
}

#[test]
fn a_newer_stamp_means_our_view_is_stale_and_nothing_is_written() {
    let sym = symphony(2, vec![variation("a", &[(OWNER, "")])]);
    // Even the composition of a variation this view does not know is left alone.
    let newer = owned(&sym, "c", 3, &[(OWNER, "true")]);
    assert_eq!(next(&sym, &[owned(&sym, "a", 1, &[(OWNER, "true")]), newer.clone()]), Some(Next::Stale { composition: newer.metadata.name.unwrap(), stamp: 3 }));
}

#[test]
fn phase_one_prunes_and_stamps_before_anything_is_set() {
    let sym = symphony(2, vec![variation("a", &[(OWNER, "")]), variation("b", &[(OWNER, "true")])]);
    let a = owned(&sym, "a", 1, &[(OWNER, "true"), ("kept", "1")]);
    let b = owned(&sym, "b", 1, &[]);
    let first = next(&sym, &[a.clone(), b.clone()]).unwrap();
    assert!(matches!(first, Next::Update { reason: UpdateReason::Prune, .. }));
    assert_eq!(annotations_written(&first), &map(&[("kept", "1"), (SYMPHONY_GENERATION, "2")]));
    // b has nothing to prune, but still needs this generation's stamp before phase 2.
    let a = owned(&sym, "a", 2, &[("kept", "1")]);
    let second = next(&sym, &[a.clone(), b]).unwrap();
    assert!(matches!(second, Next::Update { reason: UpdateReason::Prune, .. }));
    assert_eq!(annotations_written(&second), &map(&[(SYMPHONY_GENERATION, "2")]));
    let third = next(&sym, &[a, owned(&sym, "b", 2, &[])]).unwrap();
    assert!(matches!(third, Next::Update { reason: UpdateReason::Set, .. }));
    assert_eq!(annotations_written(&third)[OWNER], "true");
}

#[test]
fn an_exclusive_key_waits_while_a_deleting_composition_holds_it() {
    let sym = symphony(2, vec![variation("b", &[(OWNER, "true")])]);
    let mut old = owned(&sym, "a", 1, &[(OWNER, "true")]);
    old.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    let b = owned(&sym, "b", 2, &[]);
    assert!(matches!(next(&sym, &[old.clone(), b.clone()]), Some(Next::Status(_))), "nothing to do but the status");
    assert_eq!(annotations_written(&next(&sym, &[b]).unwrap())[OWNER], "true");
    // Keys set on several variations are not exclusive: they are set everywhere at once.
    let shared = symphony(2, vec![variation("a", &[("team", "x")]), variation("b", &[("team", "x"), (OWNER, "true")])]);
    assert_eq!(exclusive_annotation_keys(&shared.spec), BTreeSet::from([OWNER.to_string()]));
}

#[test]
fn status_is_the_latest_of_required_compositions_and_unset_while_any_lags() {
    let t = |s: i64| Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap());
    let mut optional = variation("opt", &[]);
    optional.optional = true;
    let sym = symphony(4, vec![variation("a", &[]), variation("b", &[]), optional]);
    let done = |synth: &str, at: i64, ready: Option<i64>| {
        let mut c = owned(&sym, synth, 4, &[]);
        c.metadata.generation = Some(1);
        c.status = Some(CompositionStatus {
            current_synthesis: Some(Synthesis { observed_composition_generation: 1, synthesized: Some(t(at)), reconciled: Some(t(at + 1)), ready: ready.map(t), ..Default::default() }),
            ..Default::default()
        });
        c
    };
    let s = status(&sym, &[done("a", 10, Some(20)), done("b", 30, Some(31)), owned(&sym, "opt", 4, &[])]);
    assert_eq!(s, SymphonyStatus { observed_generation: 4, synthesized: Some(t(30)), reconciled: Some(t(31)), ready: Some(t(31)) });
    let s = status(&sym, &[done("a", 10, Some(20)), done("b", 30, None)]);
    assert_eq!((s.synthesized, s.ready), (Some(t(30)), None), "one not ready: ready unset");
    let mut stale = done("b", 30, Some(31));
    stale.metadata.generation = Some(2);
    assert_eq!(status(&sym, &[done("a", 10, Some(20)), stale]).synthesized, None);
    assert_eq!(status(&sym, &[done("a", 10, Some(20))]).reconciled, None, "a missing composition");
}

#[test]
fn conflicts_are_per_symphony_and_per_key() {
    let sym = symphony(1, vec![]);
    let a = owned(&sym, "a", 1, &[(OWNER, "true"), ("team", "x")]);
    let b = owned(&sym, "b", 1, &[(OWNER, "also"), ("team", "x")]);
    let mut other_symphony = owned(&sym, "c", 1, &[(OWNER, "true")]);
    other_symphony.metadata.owner_references.as_mut().unwrap()[0].uid = "other".into();
    let keys = BTreeSet::from([OWNER.to_string()]);
    let found = annotation_conflicts(&keys, [&a, &b, &other_symphony]);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].symphony.as_str(), found[0].key.as_str(), found[0].compositions.len()), ("sym-uid", OWNER, 2));
    let emptied = owned(&sym, "b", 1, &[(OWNER, "")]);
    assert!(annotation_conflicts(&keys, [&a, &emptied]).is_empty(), "an empty value is not held");
}

/// An API server in miniature: compositions with resourceVersions, conditioned writes.
#[derive(Default)]
struct Store {
    comps: BTreeMap<String, Composition>,
    revision: u64,
}

impl Store {
    fn list(&self) -> Vec<Composition> {
        self.comps.values().cloned().collect()
    }

    fn bump(&mut self) -> String {
        self.revision += 1;
        self.revision.to_string()
    }

    /// Applies a composition write as the API server would; false when it is rejected.
    fn apply(&mut self, next: &Next) -> bool {
        match next {
            Next::Create(comp) => {
                let name = comp.metadata.name.clone().unwrap();
                if self.comps.contains_key(&name) {
                    return false;
                }
                let mut comp = (**comp).clone();
                comp.metadata.uid = Some(format!("uid-{name}-{}", self.revision));
                comp.metadata.resource_version = Some(self.bump());
                self.comps.insert(name, comp);
                true
            }
            Next::Update { composition, resource_version, labels, annotations, spec, .. } => {
                let rv = self.bump();
                let Some(comp) = self.comps.get_mut(composition).filter(|c| c.metadata.resource_version.as_ref() == Some(resource_version)) else { return false };
                comp.metadata.labels = Some(labels.clone());
                comp.metadata.annotations = Some(annotations.clone());
                if let Some(spec) = spec {
                    comp.spec = spec.clone();
                }
                comp.metadata.resource_version = Some(rv);
                true
            }
            Next::Delete { composition, uid, resource_version, .. } => {
                let rv = self.bump();
                let Some(comp) = self.comps.get_mut(composition).filter(|c| c.metadata.uid.as_ref() == Some(uid) && c.metadata.resource_version.as_ref() == Some(resource_version)) else { return false };
                comp.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
                comp.metadata.resource_version = Some(rv);
                true
            }
            _ => true,
        }
    }

    /// A deleting composition finishes its cleanup and goes.
    fn finish_one_deletion(&mut self) {
        if let Some(name) = self.comps.iter().find(|(_, c)| c.metadata.deletion_timestamp.is_some()).map(|(n, _)| n.clone()) {
            self.comps.remove(&name);
        }
    }

    /// One replica with the latest view runs passes until nothing is left to do.
    fn converge(&mut self, sym: &Symphony) {
        for _ in 0..200 {
            while self.comps.values().any(|c| c.metadata.deletion_timestamp.is_some()) {
                self.finish_one_deletion();
            }
            match next(sym, &self.list()) {
                None | Some(Next::Status(_)) => return,
                Some(n) => assert!(self.apply(&n), "a write on a fresh read must commit: {n:?}"),
            }
        }
        panic!("no fixed point after 200 passes");
    }
}

/// Spec versions where the owner key is on at most one variation and `""` on the others.
fn versions() -> impl Strategy<Value = Vec<Symphony>> {
    // Per version: which of a, b, c holds the key (3: none), and whether c exists.
    prop::collection::vec((0usize..4, any::<bool>()), 1..6).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (holder, with_c))| {
                let synths: &[&str] = if with_c { &["a", "b", "c"] } else { &["a", "b"] };
                let variations = synths.iter().enumerate().map(|(j, s)| variation(s, &[(OWNER, if j == holder { "true" } else { "" }), ("team", "x")])).collect();
                symphony(i as i64 + 1, variations)
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Step {
    /// A replica reads (fresh) and decides; it commits later.
    Decide(usize),
    Commit(usize),
    /// A replica's symphony informer catches up with the latest version.
    Refresh(usize),
    /// The user publishes the next version.
    Publish,
    /// A replica crashes: its pending write is lost and its view restarts from the latest.
    Crash(usize),
    FinishDeletion,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        4 => (0usize..2).prop_map(Step::Decide),
        4 => (0usize..2).prop_map(Step::Commit),
        1 => (0usize..2).prop_map(Step::Refresh),
        1 => Just(Step::Publish),
        1 => (0usize..2).prop_map(Step::Crash),
        1 => Just(Step::FinishDeletion),
    ];
    prop::collection::vec(step, 0..120)
}

fn arb_comp_annotations() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(prop::sample::select(vec!["k1", "k2", "k3", OWNER]).prop_map(String::from), prop::sample::select(vec!["", "v", "w"]).prop_map(String::from), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Phase 2 (creation or setting) is never proposed while a live composition still has a
    /// key to prune or lacks this generation's stamp.
    #[test]
    fn phase_two_never_runs_before_phase_one_is_done(
        generation in 1i64..4,
        spec_annotations in prop::collection::vec(arb_comp_annotations(), 1..4),
        comps in prop::collection::vec((0usize..4, 0i64..4, arb_comp_annotations()), 0..4),
    ) {
        let synths = ["a", "b", "c", "d"];
        let variations: Vec<Variation> = spec_annotations.iter().enumerate().map(|(i, a)| Variation { synthesizer: SynthesizerRef::named(synths[i]), annotations: a.clone(), ..Default::default() }).collect();
        let sym = symphony(generation, variations.clone());
        let owned: Vec<Composition> = comps.iter().map(|(s, stamp, a)| {
            let pairs: Vec<(&str, &str)> = a.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            owned(&sym, synths[*s], *stamp, &pairs)
        }).collect();
        let decided = next(&sym, &owned);
        if matches!(decided, Some(Next::Create(_)) | Some(Next::Update { reason: UpdateReason::Set, .. })) {
            for comp in &owned {
                prop_assert_eq!(stamp(comp), generation);
                let v = variations.iter().find(|v| v.synthesizer.name == comp.spec.synthesizer.name).unwrap();
                let held = annotations_of(comp);
                prop_assert!(v.annotations.iter().all(|(k, val)| !val.is_empty() || !held.contains_key(k)), "prune pending on {:?}", comp.metadata.name);
            }
        }
    }

    /// Bindings and env: every variation entry, plus the symphony's entries the variation does
    /// not override; each key once.
    #[test]
    fn variation_entries_override_symphony_entries_on_the_same_key(
        symphony_keys in prop::collection::btree_set(0u8..6, 0..5),
        variation_keys in prop::collection::btree_set(0u8..6, 0..5),
    ) {
        let binding = |k: &u8, from: &str| Binding { key: format!("k{k}"), resource: ResourceBinding { name: from.into(), namespace: String::new() } };
        let env = |k: &u8, from: &str| EnvVar { name: format!("E{k}"), value: from.into() };
        let v = Variation {
            synthesizer: SynthesizerRef::named("a"),
            bindings: variation_keys.iter().map(|k| binding(k, "variation")).collect(),
            synthesis_env: variation_keys.iter().map(|k| env(k, "variation")).collect(),
            ..Default::default()
        };
        let mut sym = symphony(1, vec![v.clone()]);
        sym.spec.bindings = symphony_keys.iter().map(|k| binding(k, "symphony")).collect();
        sym.spec.synthesis_env = symphony_keys.iter().map(|k| env(k, "symphony")).collect();
        let spec = desired_spec(&sym, &v, NONE);
        let all: BTreeSet<u8> = symphony_keys.union(&variation_keys).copied().collect();
        prop_assert_eq!(spec.bindings.len(), all.len());
        prop_assert_eq!(spec.synthesis_env.len(), all.len());
        for k in &all {
            let from = if variation_keys.contains(k) { "variation" } else { "symphony" };
            prop_assert!(spec.bindings.contains(&binding(k, from)));
            prop_assert!(spec.synthesis_env.contains(&env(k, from)));
        }
    }

    /// Converged metadata is the additive merge: `""` keys gone, non-empty variation values
    /// set (over whatever was there), every other key kept.
    #[test]
    fn converged_annotations_are_the_additive_merge(
        existing in arb_comp_annotations(),
        wanted in arb_comp_annotations(),
    ) {
        let sym = symphony(2, vec![Variation { synthesizer: SynthesizerRef::named("a"), annotations: wanted.clone(), labels: wanted.clone(), ..Default::default() }]);
        let pairs: Vec<(&str, &str)> = existing.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut comp = owned(&sym, "a", 1, &pairs);
        comp.metadata.labels = Some(existing.clone());
        let mut store = Store::default();
        store.comps.insert(comp.metadata.name.clone().unwrap(), comp);
        store.converge(&sym);
        let comp = store.list().pop().unwrap();
        let mut expected = existing.clone();
        expected.retain(|k, _| wanted.get(k).is_none_or(|v| !v.is_empty()));
        expected.extend(wanted.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), v.clone())));
        prop_assert_eq!(comp.metadata.labels.clone().unwrap(), expected.clone());
        expected.insert(SYMPHONY_GENERATION.into(), "2".into());
        prop_assert_eq!(comp.metadata.annotations.clone().unwrap(), expected);
    }

    /// Two replicas, each with its own (possibly old) view of the symphony, deciding on fresh
    /// reads and committing later (after the other's writes), crashing and catching up in any
    /// order: no committed state has the owner key on two compositions, and once one replica
    /// runs alone with the latest spec everything converges to it.
    #[test]
    fn two_replicas_never_put_one_annotation_on_two_compositions(versions in versions(), steps in steps()) {
        let keys = BTreeSet::from([OWNER.to_string()]);
        let mut store = Store::default();
        let mut published = 0usize;
        let mut view = [0usize; 2];
        let mut pending: [Option<Next>; 2] = [None, None];
        for step in steps {
            match step {
                Step::Decide(r) => pending[r] = next(&versions[view[r]], &store.list()),
                Step::Commit(r) => {
                    if let Some(n) = pending[r].take() {
                        store.apply(&n);
                    }
                }
                Step::Refresh(r) => view[r] = published,
                Step::Publish => published = (published + 1).min(versions.len() - 1),
                Step::Crash(r) => {
                    pending[r] = None;
                    view[r] = published;
                }
                Step::FinishDeletion => store.finish_one_deletion(),
            }
            let conflicts = annotation_conflicts(&keys, store.comps.values());
            prop_assert!(conflicts.is_empty(), "{:?}", conflicts);
        }
        let latest = &versions[published];
        store.converge(latest);
        for v in &latest.spec.variations {
            let comp = live_for(&borrowed(&store.list()), &v.synthesizer.name).cloned().expect("every variation has a composition");
            prop_assert_eq!(annotations_of(&comp).get(OWNER).cloned(), v.annotations.get(OWNER).filter(|x| !x.is_empty()).cloned());
            prop_assert_eq!(comp.metadata.name.clone().unwrap(), composition_name(latest, &v.synthesizer.name));
        }
        prop_assert_eq!(store.list().len(), latest.spec.variations.len());
    }
}
