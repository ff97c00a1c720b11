//! Proptest generators shared by the patch formats' property tests.

use proptest::prelude::*;
use serde_json::Value;

/// Small scalars and short lists over a tiny alphabet, so generated documents overlap a lot.
/// `null_odds`: `Some(n)` makes one leaf in `n + 1` a `null` (a deletion in merge patches).
pub(crate) fn arb_leaf(null_odds: Option<u32>) -> BoxedStrategy<Value> {
    let base = prop_oneof![
        (0i64..3).prop_map(Value::from),
        prop::sample::select(vec!["x", "y"]).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::collection::vec((0i64..3).prop_map(Value::from), 0..3).prop_map(Value::Array),
    ];
    match null_odds {
        Some(odds) => prop_oneof![odds => base, 1 => Just(Value::Null)].boxed(),
        None => base.boxed(),
    }
}
