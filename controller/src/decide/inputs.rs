//! A composition's inputs: the synthesizer's refs bound to objects (by the composition's
//! bindings, or by the ref itself), what is recorded of them in `status.inputRevisions`, and
//! what that allows (Eno's `internal/inputs` and watch controllers).
//!
//! - [`bind`]: each ref to the object it names; a ref naming no object is a problem the status
//!   shows.
//! - [`observe`]: the revisions of the inputs that exist, the required ones that do not
//!   (`MissingInputs`: nothing is synthesized until they appear), and annotations that do not
//!   parse.
//! - [`record`]: the `inputRevisions` to write: an input's entry moves forward only (a cache
//!   that travelled back in time must not make a synthesis of an older input look new).
//! - [`out_of_lockstep`]: inputs carrying `eno.azure.io/revision` are synthesized only once
//!   they agree, and inputs derived from a synthesizer or composition generation only once that
//!   generation is reached.
//! - [`changed`]: whether the recorded revisions differ from those a synthesis ran with, and
//!   whether only deferred inputs did.

use crate::api::{Composition, InputRevisions, Synthesizer};
use crate::runtime::{Gvk, ObjectRef};
use serde_json::Value;

pub use crate::api::annotations::{COMPOSITION_GENERATION, IGNORE_SIDE_EFFECTS, REVISION, SYNTHESIZER_GENERATION};

/// A synthesizer ref bound to the object it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub key: String,
    pub target: ObjectRef,
    pub optional: bool,
}

/// Each of the synthesizer's refs, bound: the composition's binding for its key names the
/// object (name, and namespace if given), otherwise the ref itself does. A ref that names no
/// object either way is an error, reported by key.
pub fn bind(comp: &Composition, synth: &Synthesizer) -> Result<Vec<Bound>, String> {
    let non_empty = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
    let mut bound = Vec::new();
    for r in &synth.spec.refs {
        let binding = comp.spec.bindings.iter().find(|b| b.key == r.key);
        let Some(name) = binding.and_then(|b| non_empty(&b.resource.name)).or_else(|| non_empty(&r.resource.name)) else {
            return Err(format!("synthesizer ref {:?} is not bound: the composition has no binding for it and the ref names no object", r.key));
        };
        let namespace = binding.and_then(|b| non_empty(&b.resource.namespace)).or_else(|| non_empty(&r.resource.namespace));
        bound.push(Bound { key: r.key.clone(), target: ObjectRef::new(Gvk::new(&r.resource.api_version(), &r.resource.kind), namespace.as_deref(), &name), optional: r.optional });
    }
    Ok(bound)
}

/// What a lookup found of a bound input (`T`: how the object is held).
#[derive(Clone, Debug, PartialEq)]
pub enum Found<T> {
    Present(T),
    Absent,
    /// The API server does not serve the input's kind.
    KindNotServed,
}

/// What the inputs that exist say, and what keeps a synthesis from starting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The existing inputs' revisions, in the refs' order.
    pub revisions: Vec<InputRevisions>,
    /// Keys of required inputs that do not exist.
    pub missing: Vec<String>,
    /// Inputs that exist but cannot be used, each said in a sentence.
    pub problems: Vec<String>,
}

impl Observed {
    /// Why no synthesis may start, for the status's error; `None` when every required input is
    /// there and usable.
    pub fn blocked(&self) -> Option<String> {
        if let Some(problem) = self.problems.first() {
            return Some(problem.clone());
        }
        (!self.missing.is_empty()).then(|| format!("missing inputs: {}", self.missing.join(", ")))
    }
}

/// What was found of each bound input.
pub fn observe<'a, T: std::ops::Deref<Target = Value> + 'a>(found: impl IntoIterator<Item = (&'a Bound, &'a Found<T>)>) -> Observed {
    let mut observed = Observed::default();
    for (b, found) in found {
        match found {
            Found::Present(obj) => match revisions_of(&b.key, obj) {
                Ok(revisions) => observed.revisions.push(revisions),
                Err(problem) => observed.problems.push(format!("input {:?} ({}): {problem}", b.key, b.target)),
            },
            Found::Absent if b.optional => {}
            Found::Absent => observed.missing.push(b.key.clone()),
            Found::KindNotServed => observed.problems.push(format!("input {:?}: the API server does not serve {} {}", b.key, b.target.gvk.api_version, b.target.gvk.kind)),
        }
    }
    observed
}

/// An input's entry in `inputRevisions` (Eno's `NewInputRevisions`), or why its annotations
/// do not parse.
pub fn revisions_of(key: &str, obj: &Value) -> Result<InputRevisions, String> {
    let annotation = |name: &str| obj["metadata"]["annotations"][name].as_str().filter(|v| !v.is_empty());
    let number = |name: &str| -> Result<Option<i64>, String> {
        annotation(name).map(|v| v.trim().parse::<i64>().map_err(|_| format!("annotation {name} is {v:?}, not an integer"))).transpose()
    };
    let ignore_side_effects = match annotation(IGNORE_SIDE_EFFECTS) {
        None => None,
        Some(v) => Some(v.parse::<bool>().map_err(|_| format!("annotation {IGNORE_SIDE_EFFECTS} is {v:?}, not true or false"))?),
    };
    Ok(InputRevisions {
        key: key.to_string(),
        resource_version: obj["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string(),
        revision: number(REVISION)?,
        synthesizer_generation: number(SYNTHESIZER_GENERATION)?,
        composition_generation: number(COMPOSITION_GENERATION)?,
        ignore_side_effects,
    })
}

/// Whether `a` is a later state of the same input than `b`: by `eno.azure.io/revision` when
/// both carry one, else by resourceVersion (an integer on every API server Eno supports; one
/// that is not compares as different, so it counts as newer).
fn newer(a: &InputRevisions, b: &InputRevisions) -> bool {
    if let (Some(x), Some(y)) = (a.revision, b.revision) {
        return x > y;
    }
    match (a.resource_version.parse::<u64>(), b.resource_version.parse::<u64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a.resource_version != b.resource_version,
    }
}

/// The `inputRevisions` to record: every observed input, each entry only ever replaced by a
/// newer one; inputs no longer observed (deleted, or no longer bound) are dropped. Sorted by
/// key, so the status does not change with the refs' order.
pub fn record(recorded: &[InputRevisions], observed: &[InputRevisions]) -> Vec<InputRevisions> {
    let mut next: Vec<InputRevisions> = observed
        .iter()
        .map(|seen| match recorded.iter().find(|r| r.key == seen.key) {
            Some(kept) if !newer(seen, kept) => kept.clone(),
            _ => seen.clone(),
        })
        .collect();
    next.sort_by(|a, b| a.key.cmp(&b.key));
    next
}

/// Eno's `OutOfLockstep`: inputs that carry a revision disagree, or one was derived from a
/// synthesizer or composition generation older than the current one.
pub fn out_of_lockstep(synth: &Synthesizer, comp: &Composition, revisions: &[InputRevisions]) -> bool {
    let latest = revisions.iter().filter_map(|r| r.revision).max();
    let (synth_gen, comp_gen) = (synth.metadata.generation.unwrap_or(0), comp.metadata.generation.unwrap_or(0));
    revisions.iter().any(|r| {
        r.revision.is_some_and(|rev| Some(rev) != latest)
            || r.synthesizer_generation.is_some_and(|g| g < synth_gen)
            || r.composition_generation.is_some_and(|g| g < comp_gen)
    })
}

/// A change among the inputs that asks for a new synthesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// An input whose ref has `defer: true` changed, and no other: the synthesis waits for the
    /// rollout cooldown ([`crate::decide::rollout`]) and does not supersede a running one.
    Deferred,
    /// Some other input changed: synthesize now.
    Immediate,
}

/// Whether the recorded inputs differ from those a synthesis ran with, in a way that asks for
/// a new synthesis (Eno's input change count): an input that moved on, unless it says
/// `ignore-side-effects: "true"`; a new input only if it says `"false"`. Deferred when every
/// such input's ref (in `synth`) says `defer: true`.
pub fn changed(synth: &Synthesizer, ran_with: &[InputRevisions], recorded: &[InputRevisions]) -> Option<Change> {
    let deferred = |key: &str| synth.spec.refs.iter().any(|r| r.key == key && r.defer);
    let moved = recorded.iter().filter(|now| match ran_with.iter().find(|r| r.key == now.key) {
        Some(then) => newer(now, then) && now.ignore_side_effects != Some(true),
        None => now.ignore_side_effects == Some(false),
    });
    moved.fold(None, |change, now| match (change, deferred(&now.key)) {
        (Some(Change::Immediate), _) | (_, false) => Some(Change::Immediate),
        (_, true) => Some(Change::Deferred),
    })
}

/// Whether a change among the recorded inputs insists on a new synthesis even for a composition
/// that ignores side effects: an input that says `ignore-side-effects: "false"` moved on (or
/// appeared).
pub fn forced_change(ran_with: &[InputRevisions], recorded: &[InputRevisions]) -> bool {
    recorded.iter().any(|now| now.ignore_side_effects == Some(false) && ran_with.iter().find(|r| r.key == now.key).is_none_or(|then| newer(now, then)))
}

#[cfg(test)]
mod tests;
