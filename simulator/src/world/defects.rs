//! The deliberate controller defects (`eno::controllers::Defects`) a world can run with, each of
//! which the checker must catch.

use crate::invariants::Invariant;
use eno::controllers::Defects;

/// The deliberate defects the checker must catch, by name, with the scenario that exposes each
/// and the invariant it breaks.
pub const DEFECTS: &[(&str, &str, Invariant)] = &[
    ("retry-failed-synthesis", "failed-synthesis", Invariant::BoundedSyntheses),
    ("early-finalizer-removal", "deleted-mid-synthesis", Invariant::DeletionOrdering),
    ("unfenced-synthesis-claim", "deleted-mid-synthesis", Invariant::BoundedSyntheses),
    ("cached-create-check", "deleted-mid-synthesis", Invariant::DeletionOrdering),
    ("set-before-prune", "symphony-migration", Invariant::AtMostOnceAnnotation),
];

/// The controller defects switched on by `name` (see [`DEFECTS`]).
pub fn defects_named(name: &str) -> Option<Defects> {
    let mut d = Defects::default();
    match name {
        "retry-failed-synthesis" => d.retry_failed_synthesis = true,
        "early-finalizer-removal" => d.early_finalizer_removal = true,
        "unfenced-synthesis-claim" => d.unfenced_synthesis_claim = true,
        "cached-create-check" => d.cached_create_check = true,
        "set-before-prune" => d.set_before_prune = true,
        _ => return None,
    }
    Some(d)
}
