//! A label set's digest: a 64-bit Bloom filter of its keys and `key=value` pairs. A store keeps
//! one beside each object, so a selective list rules most objects out without reading them (a
//! store much larger than the cache spends its time on the memory an object's labels sit in).

use super::label::{LabelSelector, Operator};
use crate::hash::{splitmix64, Fnv1a};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelDigest(u64);

impl LabelDigest {
    pub fn of<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        LabelDigest(labels.into_iter().fold(0, |bits, (k, v)| bits | key_bits(k) | pair_bits(k, v)))
    }

    /// False only if the set certainly has no label `key` with value `value`.
    fn may_have(self, key: &str, value: &str) -> bool {
        let bits = pair_bits(key, value);
        self.0 & bits == bits
    }

    /// False only if the set certainly has no label `key`.
    fn may_have_key(self, key: &str) -> bool {
        let bits = key_bits(key);
        self.0 & bits == bits
    }
}

/// Two bits per key and per pair: few enough that a handful of labels leaves most bits clear.
fn bits(mut h: Fnv1a) -> u64 {
    let mut state = h.finish();
    h.write([0]);
    (1 << (splitmix64(&mut state) % 64)) | (1 << (h.finish() % 64))
}

fn key_bits(key: &str) -> u64 {
    let mut h = Fnv1a::new();
    h.write(key.bytes());
    bits(h)
}

fn pair_bits(key: &str, value: &str) -> u64 {
    let mut h = Fnv1a::new();
    // A key cannot hold `=`, so `k=v` names one pair.
    h.write(key.bytes().chain([b'=']).chain(value.bytes()));
    bits(h)
}

impl LabelSelector {
    /// False only if no label set with this digest can match: `matches` implies `may_match`.
    pub fn may_match(&self, digest: LabelDigest) -> bool {
        !self.is_nothing()
            && self.requirements().iter().all(|r| match r.operator {
                Operator::In | Operator::Equals | Operator::DoubleEquals => r.values.iter().any(|v| digest.may_have(&r.key, v)),
                Operator::Exists | Operator::GreaterThan | Operator::LessThan => digest.may_have_key(&r.key),
                Operator::NotIn | Operator::NotEquals | Operator::DoesNotExist => true,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// A digest never rules out a set the selector matches.
        #[test]
        fn a_digest_never_rules_out_a_match(
            labels in prop::collection::btree_map("[a-c]{1,2}", "[0-3]{0,1}", 0..5),
            selector in "[a-c]{1,2}(=|!=| in \\(0,1\\)| notin \\(2\\)|>1|<2)?[0-3]?",
        ) {
            let Ok(selector) = LabelSelector::parse(&selector) else { return Ok(()) };
            let digest = LabelDigest::of(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if selector.matches(&labels) {
                prop_assert!(selector.may_match(digest));
            }
        }
    }

    #[test]
    fn most_non_matching_sets_are_ruled_out() {
        let selector = LabelSelector::parse("shard=3").unwrap();
        let ruled_out = (0..1000)
            .filter(|i| {
                let labels = BTreeMap::from([("app".to_string(), "bench".to_string()), ("shard".to_string(), (i % 10 + 10).to_string())]);
                !selector.may_match(LabelDigest::of(labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
            })
            .count();
        assert!(ruled_out > 900, "{ruled_out} of 1000 ruled out");
    }
}
