//! The symphony controller's decision: from a symphony and the compositions it owns, the ONE
//! next write (or none).
//!
//! Order of a pass (SPEC §6): finalizer; symphony deleting → label each composition
//! `eno.azure.io/symphony-deleting`, delete it, drop the finalizer once none is left; the fence
//! (below); delete compositions whose variation is gone (or duplicates); **phase 1** prune
//! `""`-valued annotations and labels; **phase 2** create missing compositions, then update
//! specs and merge non-empty labels/annotations additively; finally the status.
//!
//! # At most one composition holds an annotation, under stale caches, crashes and two replicas
//!
//! Eno relies on "phase 1 before phase 2" over cached reads, which a stale replica can break:
//! replica A, still at symphony generation 1 (key K on variation 1), sets K on composition C1
//! after replica B, at generation 2 (K moved to variation 2), pruned C1 and set K on C2. We fence:
//!
//! * **Stamps.** Every composition carries [`SYMPHONY_GENERATION`] `= g`: the generation of the
//!   symphony spec whose phase 1 it has passed. A writer at generation `g` (the generation of the
//!   symphony object it read) writes a composition only through a resourceVersion-conditioned
//!   update of the exact object it decided on, never when its stamp is `> g` ([`Next::Stale`]),
//!   and every phase-1 write sets the stamp to `g`. Stamps therefore never move backwards, and
//!   after a composition is stamped `g` no writer with an older view can write it again.
//! * **Phase 2 is gated on a fresh read.** A writer at `g` adds an annotation to composition C
//!   only when a linearizable (uncached) list of the symphony's compositions shows every live
//!   one stamped exactly `g`, and — for a key `g`'s spec sets non-empty on exactly one variation
//!   — no *other* composition (deleting ones included) holding that key. Deleting compositions
//!   are never given annotations.
//! * **Creation adds no annotations.** A new composition gets only labels and the stamp; its
//!   annotations come with a later, conditioned update. Its name is deterministic
//!   (`<synthesizer>-<hash of symphony uid and synthesizer>`), so two replicas creating the
//!   same variation collide (409 AlreadyExists) instead of making two compositions.
//!
//! Claim: no committed state has K on two compositions C ≠ D when every spec version sets K
//! non-empty on at most one variation (and no other client sets K). Of the controller's writes
//! only a phase-2 update `w` adds K (writer generation `g`, fresh read at revision `r`,
//! committed at `t`, conditioned on C's resourceVersion at `r`).
//! Suppose D holds K at `t`, put there last by `w'` (writer generation `g'`, fresh read `r'`,
//! committed `t' < t`, conditioned on D's version at `r'`).
//! - `r > t'`: the read at `r` saw D holding K, so `w` would not add K. Contradiction.
//! - `r < t'`, `g' = g`: the spec at `g` puts K on one variation only, so C and D are both
//!   live compositions of it at `r`; but a read showing a duplicate yields its deletion, not `w`.
//! - `r < t'`, `g' < g`: D is live at `t'` (`w'` writes it; deletion is final), so live at `r`,
//!   where it was stamped `g`; `w'` needs D at stamp `g'`, so it was conditioned on a version of
//!   D other than the one at `r`, and D was never at stamp `g'` again after `r`: 409.
//! - `r < t'`, `g' > g`: `w'` needs C stamped `g'` at `r'`; C is stamped `g` at every revision
//!   from `r` to `t` (`w` is conditioned on it), `r' < t' < t`, and stamps only grow, so `r' < r`
//!   with C stamped `g' > g` before `r` — impossible.
//!
//! A crash between any two writes only leaves a prefix of the protocol in the API server, and
//! every decision is recomputed from what is there. Writes that were committed but reported as
//! failures are re-decided the same way. The argument needs linearizable quorum reads for the
//! phase-2 list (Kubernetes lists without a resourceVersion are): an API server that serves
//! quorum reads from the past ("time travel") is outside it.
//!
//! [`annotation_conflicts`] states the property for checkers (the simulator's invariant).

use crate::api::annotations::{SYMPHONY_DELETING, SYMPHONY_GENERATION};
use crate::api::{Binding, Composition, CompositionRef, CompositionSpec, EnvVar, Symphony, SymphonyStatus, Variation, CLEANUP_FINALIZER};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use apimachinery::hash::fnv1a64;

/// Why a composition is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    /// Its synthesizer is no longer in a variation: normal cleanup (resources deleted).
    VariationRemoved,
    /// Another composition of the symphony has the same synthesizer.
    Duplicate,
    /// The symphony is being deleted: the composition was labelled, its resources stay.
    SymphonyDeleting,
}

/// Why a composition is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateReason {
    /// The `eno.azure.io/symphony-deleting` label, before the deletion.
    SymphonyDeleting,
    /// Phase 1: `""`-valued keys removed, stamped with the symphony's generation.
    Prune,
    /// Phase 2: spec and non-empty labels/annotations.
    Set,
}

/// The one write a pass makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    AddFinalizer,
    RemoveFinalizer,
    Create(Box<Composition>),
    /// Replace the composition's labels and annotations (and spec, when `Some`), conditioned on
    /// `resource_version`.
    Update {
        composition: String,
        resource_version: String,
        reason: UpdateReason,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        spec: Option<CompositionSpec>,
    },
    /// Delete with uid and resourceVersion preconditions.
    Delete { composition: String, uid: String, resource_version: String, reason: DeleteReason },
    Status(SymphonyStatus),
    /// A composition was stamped by a newer generation than the symphony we read: our view is
    /// stale and we must not write any composition.
    Stale { composition: String, stamp: i64 },
}

fn name(comp: &Composition) -> &str {
    comp.metadata.name.as_deref().unwrap_or_default()
}

fn deleting(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

/// The symphony generation a composition's metadata was last pruned for (0: never).
pub fn stamp(comp: &Composition) -> i64 {
    comp.metadata.annotations.as_ref().and_then(|a| a.get(SYMPHONY_GENERATION)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The symphony (uid) whose controller ownerReference the composition carries.
pub fn owner_symphony(comp: &Composition) -> Option<&OwnerReference> {
    comp.metadata.owner_references.iter().flatten().find(|o| o.controller == Some(true) && o.kind == "Symphony")
}

pub fn is_owned_by(comp: &Composition, symphony: &Symphony) -> bool {
    owner_symphony(comp).is_some_and(|o| Some(&o.uid) == symphony.metadata.uid.as_ref())
}

/// The composition name a variation gets: `<synthesizer>-` plus five characters derived from
/// the symphony's uid and the synthesizer, in the alphabet and length Kubernetes uses for
/// `generateName`. Deterministic, so concurrent creations of one variation collide.
pub fn composition_name(symphony: &Symphony, synthesizer: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let uid = symphony.metadata.uid.as_deref().unwrap_or_default();
    let mut h = fnv1a64(uid.bytes().chain([0]).chain(synthesizer.bytes()));
    let suffix: String = (0..5)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect();
    let prefix: String = synthesizer.chars().take(58).collect();
    format!("{prefix}-{suffix}")
}

/// The spec a variation's composition must have: bindings are the symphony's overridden by the
/// variation's on the same key; env is the variation's plus the symphony's not named by it;
/// dependsOn resolves synthesizer names to the compositions of those variations.
pub fn desired_spec(symphony: &Symphony, variation: &Variation, owned: &[impl Borrow<Composition>]) -> CompositionSpec {
    let owned = borrowed(owned);
    let owned = owned.as_slice();
    let mut bindings: Vec<Binding> = symphony.spec.bindings.iter().filter(|b| !variation.bindings.iter().any(|v| v.key == b.key)).cloned().collect();
    bindings.extend(variation.bindings.iter().cloned());
    let mut env: Vec<EnvVar> = variation.synthesis_env.clone();
    env.extend(symphony.spec.synthesis_env.iter().filter(|e| !variation.synthesis_env.iter().any(|v| v.name == e.name)).cloned());
    let namespace = symphony.metadata.namespace.clone().unwrap_or_default();
    let depends_on = variation
        .depends_on
        .iter()
        .filter(|d| symphony.spec.variations.iter().any(|v| v.synthesizer.name == d.synthesizer))
        .map(|d| CompositionRef {
            name: live_for(owned, &d.synthesizer).map_or_else(|| composition_name(symphony, &d.synthesizer), |c| name(c).to_string()),
            namespace: namespace.clone(),
        })
        .collect();
    CompositionSpec { synthesizer: variation.synthesizer.clone(), bindings, synthesis_env: env, depends_on }
}

/// The live (not deleting) composition of a synthesizer, if any.
/// The compositions as references, so a pass sorts and reads them without copying any.
fn borrowed(owned: &[impl Borrow<Composition>]) -> Vec<&Composition> {
    owned.iter().map(Borrow::borrow).collect()
}

fn live_for<'a>(owned: &[&'a Composition], synthesizer: &str) -> Option<&'a Composition> {
    owned.iter().copied().find(|c| !deleting(&c.metadata) && c.spec.synthesizer.name == synthesizer)
}

fn non_empty(values: &BTreeMap<String, String>) -> impl Iterator<Item = (&String, &String)> {
    values.iter().filter(|(_, v)| !v.is_empty())
}

/// Annotation keys `spec` sets non-empty on exactly one variation: the ones phase 2 keeps on
/// at most one composition even while compositions of removed variations still hold them.
pub fn exclusive_annotation_keys(spec: &crate::api::SymphonySpec) -> BTreeSet<String> {
    let mut count: BTreeMap<&String, usize> = BTreeMap::new();
    for v in &spec.variations {
        for (k, _) in non_empty(&v.annotations) {
            *count.entry(k).or_default() += 1;
        }
    }
    count.into_iter().filter(|(_, n)| *n == 1).map(|(k, _)| k.clone()).collect()
}

/// Two or more compositions of one symphony holding the same annotation key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationConflict {
    /// uid of the owning symphony.
    pub symphony: String,
    pub key: String,
    /// `namespace/name` of the compositions holding it (non-empty value).
    pub compositions: Vec<String>,
}

/// The at-most-once property: for each key in `keys`, the symphony-owned compositions (deleting
/// ones included) that hold it, whenever more than one composition of a symphony does. Callers
/// pass the keys every version of the symphony's spec set non-empty on at most one variation
/// (e.g. the intersection of [`exclusive_annotation_keys`] over those versions).
pub fn annotation_conflicts<'a>(keys: &BTreeSet<String>, compositions: impl IntoIterator<Item = &'a Composition>) -> Vec<AnnotationConflict> {
    let mut holders: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for comp in compositions {
        let Some(owner) = owner_symphony(comp) else { continue };
        for (k, _) in comp.metadata.annotations.as_ref().map(non_empty).into_iter().flatten() {
            if keys.contains(k) {
                let at = format!("{}/{}", comp.metadata.namespace.as_deref().unwrap_or_default(), name(comp));
                holders.entry((owner.uid.clone(), k.clone())).or_default().push(at);
            }
        }
    }
    holders
        .into_iter()
        .filter(|(_, comps)| comps.len() > 1)
        .map(|((symphony, key), mut compositions)| {
            compositions.sort();
            AnnotationConflict { symphony, key, compositions }
        })
        .collect()
}

/// The next write for `symphony`, given every composition it owns (controller ownerReference;
/// see [`is_owned_by`]). For phase 2 to be safe `owned` must come from a fresh (uncached) list.
pub fn next(symphony: &Symphony, owned: &[impl Borrow<Composition>]) -> Option<Next> {
    decide(symphony, owned, Protocol::PruneThenSet)
}

/// The two-phase protocol broken on purpose for the simulator's checker tests: annotations are
/// set wherever their variation wants them before the other compositions are pruned, so a key
/// moving between variations is briefly on both (breaks at-most-once).
#[cfg(madsim)]
pub fn next_setting_before_pruning(symphony: &Symphony, owned: &[impl Borrow<Composition>]) -> Option<Next> {
    decide(symphony, owned, Protocol::SetThenPrune)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    PruneThenSet,
    #[cfg(madsim)]
    SetThenPrune,
}

fn decide(symphony: &Symphony, owned: &[impl Borrow<Composition>], protocol: Protocol) -> Option<Next> {
    let mut owned = borrowed(owned);
    owned.sort_by(|a, b| name(a).cmp(name(b)));
    let has_finalizer = symphony.metadata.finalizers.iter().flatten().any(|f| f == CLEANUP_FINALIZER);
    if deleting(&symphony.metadata) {
        return has_finalizer.then(|| short_circuit(&owned)).flatten();
    }
    if !has_finalizer {
        return Some(Next::AddFinalizer);
    }
    let generation = symphony.metadata.generation.unwrap_or_default();
    // The fence comes first: a stale view must not even delete (the composition may belong to
    // a variation it does not know yet).
    if let Some(newer) = owned.iter().find(|c| !deleting(&c.metadata) && stamp(c) > generation) {
        return Some(Next::Stale { composition: name(newer).to_string(), stamp: stamp(newer) });
    }
    if let Some(next) = superfluous(symphony, &owned) {
        return Some(next);
    }
    let phases = match protocol {
        Protocol::PruneThenSet => prune(symphony, &owned, generation).or_else(|| set(symphony, &owned, true)),
        #[cfg(madsim)]
        Protocol::SetThenPrune => set(symphony, &owned, false).or_else(|| prune(symphony, &owned, generation)),
    };
    phases.or_else(|| {
        let status = status(symphony, &owned);
        (symphony.status.as_ref() != Some(&status)).then_some(Next::Status(status))
    })
}

fn update(comp: &Composition, reason: UpdateReason, labels: BTreeMap<String, String>, annotations: BTreeMap<String, String>, spec: Option<CompositionSpec>) -> Next {
    Next::Update {
        composition: name(comp).to_string(),
        resource_version: comp.metadata.resource_version.clone().unwrap_or_default(),
        reason,
        labels,
        annotations,
        spec,
    }
}

fn delete(comp: &Composition, reason: DeleteReason) -> Next {
    Next::Delete {
        composition: name(comp).to_string(),
        uid: comp.metadata.uid.clone().unwrap_or_default(),
        resource_version: comp.metadata.resource_version.clone().unwrap_or_default(),
        reason,
    }
}

fn labels_of(comp: &Composition) -> BTreeMap<String, String> {
    comp.metadata.labels.clone().unwrap_or_default()
}

fn annotations_of(comp: &Composition) -> BTreeMap<String, String> {
    comp.metadata.annotations.clone().unwrap_or_default()
}

/// Symphony deleting: label each composition, then delete it; finalizer off once none is left.
fn short_circuit(owned: &[&Composition]) -> Option<Next> {
    for comp in owned {
        let mut labels = labels_of(comp);
        if labels.get(SYMPHONY_DELETING).map(String::as_str) != Some("true") {
            labels.insert(SYMPHONY_DELETING.to_string(), "true".to_string());
            return Some(update(comp, UpdateReason::SymphonyDeleting, labels, annotations_of(comp), None));
        }
        if !deleting(&comp.metadata) {
            return Some(delete(comp, DeleteReason::SymphonyDeleting));
        }
    }
    owned.is_empty().then_some(Next::RemoveFinalizer)
}

/// A live composition whose synthesizer left the variations, or a duplicate of another one
/// (the one with the deterministic name, else the newest, is kept).
fn superfluous(symphony: &Symphony, owned: &[&Composition]) -> Option<Next> {
    let mut by_synth: BTreeMap<&str, Vec<&Composition>> = BTreeMap::new();
    for comp in owned.iter().filter(|c| !deleting(&c.metadata)) {
        if !symphony.spec.variations.iter().any(|v| v.synthesizer.name == comp.spec.synthesizer.name) {
            return Some(delete(comp, DeleteReason::VariationRemoved));
        }
        by_synth.entry(&comp.spec.synthesizer.name).or_default().push(comp);
    }
    for (synth, mut comps) in by_synth {
        let preferred = composition_name(symphony, synth);
        comps.sort_by_key(|c| (name(c) == preferred, c.metadata.creation_timestamp.clone(), name(c).to_string()));
        if comps.len() > 1 {
            return Some(delete(comps[0], DeleteReason::Duplicate));
        }
    }
    None
}

fn variation_of<'a>(symphony: &'a Symphony, comp: &Composition) -> Option<&'a Variation> {
    symphony.spec.variations.iter().find(|v| v.synthesizer.name == comp.spec.synthesizer.name)
}

/// Phase 1: a live composition still holding a key its variation sets to `""`, or not yet
/// stamped with this generation.
fn prune(symphony: &Symphony, owned: &[&Composition], generation: i64) -> Option<Next> {
    for comp in owned.iter().filter(|c| !deleting(&c.metadata)) {
        let Some(variation) = variation_of(symphony, comp) else { continue };
        let emptied = |m: &BTreeMap<String, String>| m.iter().filter(|(_, v)| v.is_empty()).map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let mut labels = labels_of(comp);
        let mut annotations = annotations_of(comp);
        let removed_labels = emptied(&variation.labels).iter().filter(|k| labels.remove(*k).is_some()).count();
        let removed_annotations = emptied(&variation.annotations).iter().filter(|k| annotations.remove(*k).is_some()).count();
        let pending = removed_labels + removed_annotations > 0;
        if pending || stamp(comp) != generation {
            annotations.insert(SYMPHONY_GENERATION.to_string(), generation.to_string());
            return Some(update(comp, UpdateReason::Prune, labels, annotations, None));
        }
    }
    None
}

/// Phase 2, run only once every live composition is pruned and stamped at this generation:
/// create missing compositions (dependencies first), then bring specs and labels/annotations up to date. With
/// `exclusive`, an annotation key set on one variation only is not added while another
/// composition still holds it.
fn set(symphony: &Symphony, owned: &[&Composition], exclusive: bool) -> Option<Next> {
    // Created dependencies first, as Eno's topological sort does; a variation on (or behind) a
    // dependsOn cycle is not created at all.
    let variations = &symphony.spec.variations;
    let (order, _cyclic) = crate::decide::dependencies::topological(variations, |v| v.synthesizer.name.clone(), |v| v.depends_on.iter().map(|d| d.synthesizer.clone()).collect());
    for variation in order.into_iter().map(|i| &variations[i]) {
        let synth = &variation.synthesizer.name;
        let name = composition_name(symphony, synth);
        // A composition of a removed-then-restored variation may still be cleaning up under
        // this name: wait for it to go.
        if live_for(owned, synth).is_none() && !owned.iter().any(|c| c.metadata.name.as_deref() == Some(&name)) {
            return Some(Next::Create(Box::new(new_composition(symphony, variation, owned, name))));
        }
    }
    let exclusive_keys = if exclusive { exclusive_annotation_keys(&symphony.spec) } else { BTreeSet::new() };
    for variation in &symphony.spec.variations {
        let Some(comp) = live_for(owned, &variation.synthesizer.name) else { continue };
        let spec = desired_spec(symphony, variation, owned);
        let mut labels = labels_of(comp);
        labels.extend(non_empty(&variation.labels).map(|(k, v)| (k.clone(), v.clone())));
        let mut annotations = annotations_of(comp);
        let held_elsewhere = |key: &String| exclusive_keys.contains(key) && owned.iter().any(|o| name(o) != name(comp) && o.metadata.annotations.as_ref().and_then(|a| a.get(key)).is_some_and(|v| !v.is_empty()));
        annotations.extend(non_empty(&variation.annotations).filter(|(k, _)| !held_elsewhere(k)).map(|(k, v)| (k.clone(), v.clone())));
        let spec = (spec != comp.spec).then_some(spec);
        if spec.is_some() || labels != labels_of(comp) || annotations != annotations_of(comp) {
            return Some(update(comp, UpdateReason::Set, labels, annotations, spec));
        }
    }
    None
}

/// A variation's new composition: labels and the stamp, but no annotations yet (they follow in
/// a fenced update; see the module docs).
fn new_composition(symphony: &Symphony, variation: &Variation, owned: &[&Composition], name: String) -> Composition {
    let generation = symphony.metadata.generation.unwrap_or_default();
    let labels: BTreeMap<String, String> = non_empty(&variation.labels).map(|(k, v)| (k.clone(), v.clone())).collect();
    let owner = OwnerReference {
        api_version: crate::api::API_VERSION.to_string(),
        kind: "Symphony".to_string(),
        name: symphony.metadata.name.clone().unwrap_or_default(),
        uid: symphony.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let mut comp = Composition::new(&name, desired_spec(symphony, variation, owned));
    comp.metadata = ObjectMeta {
        name: Some(name),
        generate_name: Some(format!("{}-", variation.synthesizer.name)),
        namespace: symphony.metadata.namespace.clone(),
        labels: (!labels.is_empty()).then_some(labels),
        annotations: Some(BTreeMap::from([(SYMPHONY_GENERATION.to_string(), generation.to_string())])),
        owner_references: Some(vec![owner]),
        ..Default::default()
    };
    comp
}

/// `synthesized`/`reconciled`/`ready`: the latest of the non-optional compositions' current
/// synthesis, each unset while any of them lacks it, is missing, stale or deleting.
pub fn status(symphony: &Symphony, owned: &[impl Borrow<Composition>]) -> SymphonyStatus {
    let owned = borrowed(owned);
    let owned = owned.as_slice();
    type Field = fn(&crate::api::Synthesis) -> &Option<Time>;
    let fields: [Field; 3] = [|s| &s.synthesized, |s| &s.reconciled, |s| &s.ready];
    let mut latest: [Option<Time>; 3] = Default::default();
    let required: Vec<&Variation> = symphony.spec.variations.iter().filter(|v| !v.optional).collect();
    let mut complete = [!required.is_empty(); 3];
    for variation in required {
        let current = live_for(owned, &variation.synthesizer.name).and_then(|c| c.status.as_ref()?.current_synthesis.as_ref().filter(|s| Some(s.observed_composition_generation) == c.metadata.generation));
        for (i, field) in fields.iter().enumerate() {
            match current.and_then(|s| field(s).as_ref()) {
                Some(t) if latest[i].as_ref().is_none_or(|l| l < t) => latest[i] = Some(t.clone()),
                Some(_) => {}
                None => complete[i] = false,
            }
        }
    }
    let [synthesized, reconciled, ready] = std::array::from_fn(|i| latest[i].take().filter(|_| complete[i]));
    SymphonyStatus { observed_generation: symphony.metadata.generation.unwrap_or_default(), synthesized, reconciled, ready }
}

#[cfg(test)]
mod tests;
