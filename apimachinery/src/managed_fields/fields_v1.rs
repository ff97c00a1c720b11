//! FieldsV1, the wire form of field sets: `{"f:spec":{".":{},"f:size":{}}}`, with path
//! elements written as Go's `encoding/json` writes them so keys match a real server's byte for
//! byte.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

use super::{FieldSet, FieldsError, PathElement};
use crate::gofmt::{go_json, go_json_string};

impl PathElement {
    /// The FieldsV1 object key (`f:spec`, `k:{"name":"app"}`, `v:"x"`, `i:0`).
    pub fn to_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let body: Vec<String> =
                    fields.iter().map(|(k, v)| format!("{}:{}", go_json_string(k), go_json(v))).collect();
                format!("k:{{{}}}", body.join(","))
            }
            PathElement::Value(v) => format!("v:{}", go_json(v)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key. `Ok(None)` for an unknown element type, which Kubernetes skips
    /// so that newer formats do not break older readers.
    pub fn from_key(s: &str) -> Result<Option<PathElement>, FieldsError> {
        let b = s.as_bytes();
        if b.len() < 2 {
            return Err(FieldsError(format!("key must be 2 characters long: {s:?}")));
        }
        if b[1] != b':' {
            return Err(FieldsError(format!("missing colon: {s:?}")));
        }
        // b[1] is ASCII ':' so b[0] is a single-byte char and index 2 is a char boundary.
        let rest = &s[2..];
        match b[0] {
            b'f' => Ok(Some(PathElement::Field(rest.to_string()))),
            b'v' => serde_json::from_str::<Value>(rest)
                .map(|v| Some(PathElement::Value(v)))
                .map_err(|e| FieldsError(format!("parsing key as path element: {e}"))),
            b'k' => {
                let v: Value =
                    serde_json::from_str(rest).map_err(|e| FieldsError(format!("parsing key as path element: {e}")))?;
                let Value::Object(m) = v else {
                    return Err(FieldsError(format!("parsing key as path element: expected an object in {s:?}")));
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Some(PathElement::Key(fields)))
            }
            b'i' => rest
                .parse::<usize>()
                .map(|i| Some(PathElement::Index(i)))
                .map_err(|e| FieldsError(format!("parsing key as path element: {e}"))),
            _ => Ok(None),
        }
    }
}

impl FieldSet {
    /// The FieldsV1 JSON form.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        let keys: BTreeSet<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            let v = match self.children.get(pe) {
                Some(c) => Value::Object(c.emit(self.members.contains(pe))),
                None => Value::Object(Map::new()),
            };
            out.insert(pe.to_key(), v);
        }
        out
    }

    /// Parses FieldsV1. Unknown element types are skipped, as Kubernetes does.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, FieldsError> {
        let (set, _) = Self::read(v)?;
        Ok(set)
    }

    /// Returns the subtree and whether the node itself is a member (a leaf `{}` or `"."`).
    fn read(v: &Value) -> Result<(FieldSet, bool), FieldsError> {
        let Value::Object(m) = v else {
            return Err(FieldsError(format!("FieldsV1: expected an object, got {}", go_json(v))));
        };
        let mut set = FieldSet::new();
        let mut is_member = false;
        for (k, child) in m {
            if k == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::from_key(k)? else { continue };
            let (grand, child_member) = Self::read(child)?;
            if child_member {
                set.members.insert(pe.clone());
            }
            if !grand.is_empty() {
                set.children.entry(pe).or_default().union_with(&grand);
            }
        }
        if set.is_empty() {
            is_member = true;
        }
        Ok((set, is_member))
    }
}
