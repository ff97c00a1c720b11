//! Stored objects in a compact, immutable form.
//!
//! A `serde_json::Value` map is a B-tree, and every non-empty one allocates a whole node
//! (~600 bytes) however few its keys: a ConfigMap with one managedFields entry has 13 maps,
//! 6.4 KB stored. A [`Frozen`] value keeps each map as one boxed slice of entries sorted as
//! `Value`'s maps sort their keys, so it serializes to the same bytes, reads a member by binary
//! search, and, behind an `Arc`, is shared by the store, the event log and list results
//! instead of copied into each.

use apimachinery::view::JsonView;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

/// An immutable JSON value. Object entries are sorted by key and keys are unique.
#[derive(Debug, Clone, PartialEq)]
pub enum Frozen {
    Null,
    Bool(bool),
    Number(Number),
    String(Box<str>),
    Array(Box<[Frozen]>),
    Object(Box<[(Box<str>, Frozen)]>),
}

impl Frozen {
    /// The member `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Frozen> {
        let Frozen::Object(entries) = self else { return None };
        entries.binary_search_by(|(k, _)| (**k).cmp(key)).ok().map(|i| &entries[i].1)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Frozen::String(s) => Some(s),
            _ => None,
        }
    }

    /// The thawed copy, for code that edits or hands out a `Value`.
    pub fn to_value(&self) -> Value {
        match self {
            Frozen::Null => Value::Null,
            Frozen::Bool(b) => Value::Bool(*b),
            Frozen::Number(n) => Value::Number(n.clone()),
            Frozen::String(s) => Value::String(s.to_string()),
            Frozen::Array(items) => Value::Array(items.iter().map(Frozen::to_value).collect()),
            Frozen::Object(entries) => Value::Object(entries.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect::<Map<_, _>>()),
        }
    }

    /// Whether this is `value`, frozen (what `Frozen::from(value) == *self` says, without
    /// freezing it).
    pub fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (Frozen::Null, Value::Null) => true,
            (Frozen::Bool(a), Value::Bool(b)) => a == b,
            (Frozen::Number(a), Value::Number(b)) => a == b,
            (Frozen::String(a), Value::String(b)) => **a == **b,
            (Frozen::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y)),
            // Both sorted by key, keys unique.
            (Frozen::Object(a), Value::Object(b)) => a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| **ka == **kb && va.equals(vb)),
            _ => false,
        }
    }

    /// The thawed copy of an object without its `metadata.managedFields`, for readers that
    /// drop them anyway (an informer): they are often most of an object, so most of its thawing.
    pub fn to_value_without_managed_fields(&self) -> Value {
        let Frozen::Object(entries) = self else { return self.to_value() };
        let thaw = |(k, v): &(Box<str>, Frozen)| {
            let v = match (&**k, v) {
                ("metadata", Frozen::Object(meta)) => Value::Object(meta.iter().filter(|(k, _)| &**k != "managedFields").map(|(k, v)| (k.to_string(), v.to_value())).collect()),
                _ => v.to_value(),
            };
            (k.to_string(), v)
        };
        Value::Object(entries.iter().map(thaw).collect())
    }
}

impl From<Value> for Frozen {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Frozen::Null,
            Value::Bool(b) => Frozen::Bool(b),
            Value::Number(n) => Frozen::Number(n),
            Value::String(s) => Frozen::String(s.into_boxed_str()),
            Value::Array(items) => Frozen::Array(items.into_iter().map(Frozen::from).collect()),
            // A `Map` iterates in key order, so the entries come out sorted.
            Value::Object(map) => Frozen::Object(map.into_iter().map(|(k, v)| (k.into_boxed_str(), Frozen::from(v))).collect()),
        }
    }
}

impl From<&Value> for Frozen {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Frozen::Null,
            Value::Bool(b) => Frozen::Bool(*b),
            Value::Number(n) => Frozen::Number(n.clone()),
            Value::String(s) => Frozen::String(s.as_str().into()),
            Value::Array(items) => Frozen::Array(items.iter().map(Frozen::from).collect()),
            Value::Object(map) => Frozen::Object(map.iter().map(|(k, v)| (k.as_str().into(), Frozen::from(v))).collect()),
        }
    }
}

static NULL: Frozen = Frozen::Null;

impl std::ops::Index<&str> for Frozen {
    type Output = Frozen;

    /// As `Value` indexes: a missing member (or a non-object) reads as null.
    fn index(&self, key: &str) -> &Frozen {
        self.get(key).unwrap_or(&NULL)
    }
}

impl JsonView for Frozen {
    fn field(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }

    fn text(&self) -> Option<&str> {
        self.as_str()
    }

    fn elements(&self) -> &[Self] {
        match self {
            Frozen::Array(items) => items,
            _ => &[],
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Frozen::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn scalar_text(&self) -> Option<String> {
        match self {
            Frozen::String(s) => Some(s.to_string()),
            Frozen::Number(n) => Some(n.to_string()),
            Frozen::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Frozen::Null)
    }
}

impl std::fmt::Display for Frozen {
    /// Compact JSON, as `Value` displays.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Frozen {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Frozen::Null => serializer.serialize_unit(),
            Frozen::Bool(b) => serializer.serialize_bool(*b),
            Frozen::Number(n) => n.serialize(serializer),
            Frozen::String(s) => serializer.serialize_str(s),
            Frozen::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Frozen::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(&**k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "[a-z:.]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z:.]{0,6}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Freezing loses nothing, and a frozen value serializes to the bytes its `Value` does.
        #[test]
        fn freezing_round_trips_and_serializes_alike(v in json_value()) {
            let frozen = Frozen::from(&v);
            prop_assert_eq!(&frozen, &Frozen::from(v.clone()));
            prop_assert_eq!(frozen.to_value(), v.clone());
            prop_assert!(frozen.equals(&v));
            prop_assert_eq!(serde_json::to_string(&frozen).unwrap(), serde_json::to_string(&v).unwrap());
            prop_assert_eq!(frozen.to_string(), v.to_string());
        }
    }

    proptest! {
        /// `equals` is equality after freezing.
        #[test]
        fn equals_is_equality_of_frozen_values(a in json_value(), b in json_value()) {
            prop_assert_eq!(Frozen::from(&a).equals(&b), Frozen::from(&a) == Frozen::from(&b));
        }
    }

    #[test]
    fn members_read_like_a_value() {
        let v = json!({"metadata": {"name": "a", "labels": {"app": "x", "b": "y", "z": "1"}}, "spec": [1, true]});
        let f = Frozen::from(&v);
        for key in ["app", "b", "z", "missing", ""] {
            assert_eq!(f["metadata"]["labels"].get(key).map(Frozen::to_value), v["metadata"]["labels"].get(key).cloned(), "{key}");
        }
        assert_eq!(f["metadata"]["name"].as_str(), Some("a"));
        assert!(f["nope"]["deeper"].is_null());
        assert_eq!(f["spec"].elements().len(), 2);
        assert_eq!(f.path(["metadata", "labels", "z"]).and_then(JsonView::scalar_text).as_deref(), Some("1"));
    }

    #[test]
    fn thawing_can_leave_managed_fields_behind() {
        let v = json!({"metadata": {"name": "a", "managedFields": [{"manager": "eno"}]}, "spec": {"managedFields": 1}});
        assert_eq!(Frozen::from(&v).to_value_without_managed_fields(), json!({"metadata": {"name": "a"}, "spec": {"managedFields": 1}}));
        assert_eq!(Frozen::from(&json!([1])).to_value_without_managed_fields(), json!([1]));
    }
}
