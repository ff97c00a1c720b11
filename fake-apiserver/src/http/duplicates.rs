//! Keys given twice in one JSON object. serde_json keeps the last silently; the real server
//! keeps the last too, but says so: a `Warning` under `fieldValidation=Warn`, a 400 under `Strict`.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The paths (`spec.replicas`, `spec.containers[0].name`) of keys a JSON document repeats, in
/// document order. A document that does not parse has none (the parse error is reported elsewhere).
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(json);
    let walk = Walk { path: String::new(), found: &mut found };
    if walk.deserialize(&mut de).is_err() {
        return Vec::new();
    }
    found
}

struct Walk<'a> {
    path: String,
    found: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if seen.contains(&key) {
                self.found.push(path.clone());
            } else {
                seen.push(key);
            }
            map.next_value_seed(Walk { path, found: &mut *self.found })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq.next_element_seed(Walk { path: format!("{}[{i}]", self.path), found: &mut *self.found })?.is_some() {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_found_with_their_paths() {
        let doc = br#"{"metadata":{"name":"a","name":"b"},"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"x","image":"i","image":"j"}]}},"replicas":2},"data":{"k":"v"}}"#;
        assert_eq!(duplicate_fields(doc), ["metadata.name", "spec.template.spec.containers[0].image", "spec.replicas"]);
        assert!(duplicate_fields(br#"{"a":{"x":1},"b":{"x":1}}"#).is_empty(), "the same key in two objects is fine");
        assert!(duplicate_fields(b"{not json").is_empty());
    }
}
