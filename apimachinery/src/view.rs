//! Read-only access to a JSON tree, so selectors and object accessors work alike over
//! [`serde_json::Value`] and over compact stored forms (the fake API server keeps its objects
//! frozen, not as `Value`s).

use serde_json::Value;

/// A JSON value that can be read in place.
pub trait JsonView: Sized {
    /// The member `key` of an object; `None` for a missing member or a non-object.
    fn field(&self, key: &str) -> Option<&Self>;
    /// The string, if this is one.
    fn text(&self) -> Option<&str>;
    /// The elements, if this is an array (empty otherwise).
    fn elements(&self) -> &[Self];
    /// The boolean, if this is one.
    fn boolean(&self) -> Option<bool>;
    /// Strings as is, numbers and booleans as text; `None` for null, objects and arrays.
    fn scalar_text(&self) -> Option<String>;
    fn is_null(&self) -> bool;

    /// The value at a path of object members.
    fn path<'a>(&self, path: impl IntoIterator<Item = &'a str>) -> Option<&Self> {
        path.into_iter().try_fold(self, |cur, key| cur.field(key))
    }
}

impl JsonView for Value {
    fn field(&self, key: &str) -> Option<&Self> {
        self.as_object()?.get(key)
    }

    fn text(&self) -> Option<&str> {
        self.as_str()
    }

    fn elements(&self) -> &[Self] {
        self.as_array().map(Vec::as_slice).unwrap_or(&[])
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn scalar_text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        Value::is_null(self)
    }
}
