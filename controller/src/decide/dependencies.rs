//! Composition `dependsOn` (Eno's `internal/controllers/scheduling/dependency.go` and the
//! composition controller's dependents check):
//!
//! - A composition is synthesized only once every composition it depends on is ready (its
//!   current synthesis has `ready`); until then `status.dependencyStatus` says
//!   `WaitingOnDependencies` with each blocker and why (`DependencyNotFound`,
//!   `DependencyNotReady`).
//! - A composition on a dependency cycle, or depending on one, is never synthesized:
//!   `CircularDependency`, with the cycle named in the status's error.
//! - Deletion runs in reverse: a deleting composition keeps its resources (and its finalizer)
//!   while a composition that depends on it exists: `WaitingOnDependents`
//!   (`DependentNotDeleted`). Not for a deleting symphony's compositions, whose resources stay.
//! - [`topological`] orders any such graph dependencies first (Kahn's algorithm, ties in the
//!   given order), as the symphony creates its variations' compositions.
//!
//! A `dependsOn` entry without a namespace names a composition in the dependent's namespace.

use crate::api::{BlockedBy, Composition, CompositionRef, DependencyStatus};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

pub const WAITING_ON_DEPENDENCIES: &str = "WaitingOnDependencies";
pub const WAITING_ON_DEPENDENTS: &str = "WaitingOnDependents";
pub const CIRCULAR_DEPENDENCY: &str = "CircularDependency";
pub const DEPENDENCY_NOT_FOUND: &str = "DependencyNotFound";
pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
pub const DEPENDENT_NOT_DELETED: &str = "DependentNotDeleted";

/// What holds a composition back, as its status shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Hold {
    /// `status.dependencyStatus`.
    pub status: DependencyStatus,
    /// The words for `status.simplified.error` ([`describe`]).
    pub message: String,
}

/// What holds `comp` back, from the compositions `find` looks up (`namespace/name`): while it is
/// live, its dependencies ([`waiting_on`]); while it is deleting, `dependents` (the compositions
/// naming it in their `dependsOn`; [`waiting_on_dependents`]).
pub fn hold<'a>(comp: &'a Composition, find: &impl Fn(&str) -> Option<&'a Composition>, dependents: &[impl Borrow<Composition>]) -> Option<Hold> {
    let (status, cycle) = if comp.metadata.deletion_timestamp.is_none() {
        match cycle(comp, find) {
            // On or behind a cycle: never synthesized, whatever the dependencies' state.
            Some(cycle) => (DependencyStatus { blocked: true, reason: CIRCULAR_DEPENDENCY.to_string(), blocked_by: Vec::new() }, Some(cycle)),
            None => (waiting_on(comp, find)?, None),
        }
    } else if symphony_deleting(comp) {
        // A deleting symphony leaves its compositions' resources in place: nothing to order.
        return None;
    } else {
        (waiting_on_dependents(comp, dependents)?, None)
    };
    let message = describe(&status, cycle.as_deref());
    Some(Hold { status, message })
}

/// `namespace/name` of a composition.
pub fn key_of(comp: &Composition) -> String {
    format!("{}/{}", comp.metadata.namespace.as_deref().unwrap_or_default(), comp.metadata.name.as_deref().unwrap_or_default())
}

/// `namespace/name` of each composition `comp` depends on (its own namespace when a ref names
/// none), in spec order.
pub fn dependencies_of(comp: &Composition) -> Vec<String> {
    let own = comp.metadata.namespace.as_deref().unwrap_or_default();
    comp.spec.depends_on.iter().map(|d| key(d, own)).collect()
}

/// `namespace/name` of the composition `dep` names from a composition in `own_namespace`.
pub fn key(dep: &CompositionRef, own_namespace: &str) -> String {
    let namespace = if dep.namespace.is_empty() { own_namespace } else { &dep.namespace };
    format!("{namespace}/{}", dep.name)
}

/// Whether a composition counts as ready for its dependents (Eno's ready set).
pub fn is_ready(comp: &Composition) -> bool {
    comp.status.as_ref().and_then(|s| s.current_synthesis.as_ref()).is_some_and(|s| s.ready.is_some())
}

/// The compositions `comp`'s dependencies lead to, transitively, as `lookup` finds them
/// (`namespace/name` → composition); the ones it does not find are left out.
pub fn reach<C: Borrow<Composition>>(comp: &Composition, mut lookup: impl FnMut(&str) -> Option<C>) -> BTreeMap<String, C> {
    let mut reached = BTreeMap::new();
    let mut next = dependencies_of(comp);
    while let Some(at) = next.pop() {
        if reached.contains_key(&at) {
            continue;
        }
        let Some(found) = lookup(&at) else { continue };
        next.extend(dependencies_of(found.borrow()));
        reached.insert(at, found);
    }
    reached
}

/// The dependency cycle `comp` is on or depends on, as the compositions along it (first
/// repeated at the end), looked up with `find` (`namespace/name` → composition).
pub fn cycle<'a>(comp: &'a Composition, find: &impl Fn(&str) -> Option<&'a Composition>) -> Option<Vec<String>> {
    fn walk<'a>(at: &'a Composition, path: &mut Vec<String>, done: &mut BTreeSet<String>, find: &impl Fn(&str) -> Option<&'a Composition>) -> Option<Vec<String>> {
        let here = key_of(at);
        if let Some(start) = path.iter().position(|k| *k == here) {
            let mut cycle = path[start..].to_vec();
            cycle.push(here);
            return Some(cycle);
        }
        if !done.insert(here.clone()) {
            return None;
        }
        path.push(here);
        for dep in dependencies_of(at) {
            if let Some(next) = find(&dep) {
                if let Some(cycle) = walk(next, path, done, find) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        None
    }
    walk(comp, &mut Vec::new(), &mut BTreeSet::new(), find)
}

/// The dependencies holding a live composition's synthesis back: the ones missing or not ready
/// (`None`: none; also for a composition with no `dependsOn`). A cycle is [`hold`]'s to find.
pub fn waiting_on<'a>(comp: &'a Composition, find: &impl Fn(&str) -> Option<&'a Composition>) -> Option<DependencyStatus> {
    if comp.spec.depends_on.is_empty() {
        return None;
    }
    let own = comp.metadata.namespace.as_deref().unwrap_or_default();
    let blocked_by: Vec<BlockedBy> = comp
        .spec
        .depends_on
        .iter()
        .filter_map(|dep| {
            let reason = match find(&key(dep, own)) {
                None => DEPENDENCY_NOT_FOUND,
                Some(found) if !is_ready(found) => DEPENDENCY_NOT_READY,
                Some(_) => return None,
            };
            Some(BlockedBy { name: dep.name.clone(), namespace: if dep.namespace.is_empty() { own.to_string() } else { dep.namespace.clone() }, reason: reason.to_string() })
        })
        .collect();
    (!blocked_by.is_empty()).then(|| DependencyStatus { blocked: true, reason: WAITING_ON_DEPENDENCIES.to_string(), blocked_by })
}

/// What holds a deleting composition back: the compositions that depend on it and still exist
/// (a deleting one counts until it has released its cleanup finalizer, as in Eno).
pub fn waiting_on_dependents(comp: &Composition, dependents: &[impl Borrow<Composition>]) -> Option<DependencyStatus> {
    let me = key_of(comp);
    let mut blocked_by: Vec<BlockedBy> = dependents
        .iter()
        .map(Borrow::borrow)
        .filter(|d: &&Composition| dependencies_of(d).contains(&me))
        .filter(|d| d.metadata.deletion_timestamp.is_none() || d.metadata.finalizers.iter().flatten().any(|f| f == crate::api::CLEANUP_FINALIZER))
        .map(|d| BlockedBy {
            name: d.metadata.name.clone().unwrap_or_default(),
            namespace: d.metadata.namespace.clone().unwrap_or_default(),
            reason: DEPENDENT_NOT_DELETED.to_string(),
        })
        .collect();
    blocked_by.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    (!blocked_by.is_empty()).then(|| DependencyStatus { blocked: true, reason: WAITING_ON_DEPENDENTS.to_string(), blocked_by })
}

fn symphony_deleting(comp: &Composition) -> bool {
    comp.metadata.labels.as_ref().and_then(|l| l.get(crate::api::annotations::SYMPHONY_DELETING)).is_some_and(|v| v == "true")
}

/// The status's words for a hold: the cycle, or each blocker and why.
pub fn describe(status: &DependencyStatus, cycle: Option<&[String]>) -> String {
    if let Some(cycle) = cycle {
        return format!("circular dependency: {}", cycle.join(" -> "));
    }
    let each: Vec<String> = status.blocked_by.iter().map(|b| format!("{}/{} ({})", b.namespace, b.name, b.reason)).collect();
    format!("{}: {}", status.reason, each.join(", "))
}

/// Indexes of `items` with dependencies first (Kahn's algorithm; among items ready at once, the
/// given order), and the keys left on or behind a cycle. Dependencies on keys not among the
/// items are ignored.
pub fn topological<T>(items: &[T], key: impl Fn(&T) -> String, deps: impl Fn(&T) -> Vec<String>) -> (Vec<usize>, BTreeSet<String>) {
    let keys: Vec<String> = items.iter().map(&key).collect();
    let index: BTreeMap<&str, usize> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let mut waiting_for: Vec<usize> = vec![0; items.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (i, item) in items.iter().enumerate() {
        for dep in deps(item) {
            if let Some(&d) = index.get(dep.as_str()) {
                waiting_for[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..items.len()).filter(|i| waiting_for[*i] == 0).collect();
    let mut order = Vec::with_capacity(items.len());
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for &d in &dependents[next] {
            waiting_for[d] -= 1;
            if waiting_for[d] == 0 {
                ready.insert(d);
            }
        }
    }
    let cyclic = (0..items.len()).filter(|i| waiting_for[*i] > 0).map(|i| keys[i].clone()).collect();
    (order, cyclic)
}

#[cfg(test)]
mod tests;
