//! The KRM function `ResourceList` (`config.kubernetes.io/v1`): a synthesizer's stdin and stdout.
//!
//! Output is parsed strictly: a misspelled field or a list of another kind would otherwise read
//! as "no resources", and an empty synthesis deletes everything the composition manages.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

pub const API_VERSION: &str = "config.kubernetes.io/v1";
pub const KIND: &str = "ResourceList";

/// A KRM `ResourceList`. Its `apiVersion` and `kind` are implied: they are checked on input and
/// written on output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceList {
    /// Kubernetes objects; each has at least `apiVersion`, `kind` and `metadata.name`.
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    pub results: Vec<KrmResult>,
}

/// A message from the function about its run. Any `error` result fails the synthesis.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KrmResult {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// May be absent (as some KRM libraries write it); only `error` fails a synthesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "severity_schema")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// `Severity`'s schema without the `null` that `Option` adds to the enum (null is never written).
fn severity_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "enum": ["error", "warning", "info"]})
}

impl KrmResult {
    pub fn error(message: impl Into<String>) -> Self {
        Self { message: message.into(), severity: Some(Severity::Error), tags: BTreeMap::new() }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Some(Severity::Error)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// Why bytes are not a usable `ResourceList`.
#[derive(Debug, thiserror::Error)]
pub enum KrmError {
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("expected a JSON object (a ResourceList), found {0}")]
    NotAnObject(&'static str),
    #[error("expected kind \"ResourceList\", found {}", describe(.0))]
    WrongKind(Option<String>),
    #[error("expected apiVersion \"config.kubernetes.io/v1\", found {}", describe(.0))]
    WrongApiVersion(Option<String>),
    #[error("malformed ResourceList: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("items[{index}] is not an object but {found}")]
    ItemNotObject { index: usize, found: &'static str },
    #[error("items[{index}] has no {field} (it must be a non-empty string)")]
    ItemMissingField { index: usize, field: &'static str },
}

fn describe(found: &Option<String>) -> String {
    match found {
        Some(value) => format!("{value:?}"),
        None => "none".to_owned(),
    }
}

impl ResourceList {
    pub fn new(items: Vec<Value>) -> Self {
        Self { items, ..Self::default() }
    }

    /// Parses a function's output (or input) JSON.
    pub fn parse(bytes: &[u8]) -> Result<Self, KrmError> {
        let value: Value = serde_json::from_slice(bytes).map_err(KrmError::NotJson)?;
        Self::from_value(value)
    }

    /// Checks, in order: that this is a ResourceList at all, its fields, then every item.
    pub fn from_value(value: Value) -> Result<Self, KrmError> {
        let Value::Object(object) = &value else {
            return Err(KrmError::NotAnObject(json_type(&value)));
        };
        check_header(object)?;
        let wire: WireIn = serde_json::from_value(value).map_err(KrmError::Malformed)?;
        Self::try_from(wire)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a ResourceList of JSON values always serializes")
    }

    /// True when any result has severity `error`.
    pub fn has_errors(&self) -> bool {
        self.results.iter().any(KrmResult::is_error)
    }
}

fn check_header(object: &Map<String, Value>) -> Result<(), KrmError> {
    let as_text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match object.get("kind") {
        Some(Value::String(kind)) if kind == KIND => {}
        other => return Err(KrmError::WrongKind(other.map(as_text))),
    }
    match object.get("apiVersion") {
        Some(Value::String(version)) if version == API_VERSION => Ok(()),
        other => Err(KrmError::WrongApiVersion(other.map(as_text))),
    }
}

fn check_item(index: usize, item: &Value) -> Result<(), KrmError> {
    let Value::Object(object) = item else {
        return Err(KrmError::ItemNotObject { index, found: json_type(item) });
    };
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    for field in ["apiVersion", "kind"] {
        if !non_empty(object.get(field)) {
            return Err(KrmError::ItemMissingField { index, field });
        }
    }
    if !non_empty(object.get("metadata").and_then(|m| m.get("name"))) {
        return Err(KrmError::ItemMissingField { index, field: "metadata.name" });
    }
    Ok(())
}

/// How error messages name a JSON value's type.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The document as written: unknown fields are rejected, `null` lists (as Go emits them) are
/// empty.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WireIn {
    #[serde(default)]
    api_version: Option<Value>,
    #[serde(default)]
    kind: Option<Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    items: Vec<Value>,
    #[serde(default)]
    function_config: Option<Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    results: Vec<KrmResult>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl TryFrom<WireIn> for ResourceList {
    type Error = KrmError;

    fn try_from(wire: WireIn) -> Result<Self, KrmError> {
        let mut header = Map::new();
        header.extend(wire.api_version.map(|v| ("apiVersion".to_owned(), v)));
        header.extend(wire.kind.map(|v| ("kind".to_owned(), v)));
        check_header(&header)?;
        for (index, item) in wire.items.iter().enumerate() {
            check_item(index, item)?;
        }
        Ok(Self { items: wire.items, function_config: wire.function_config, results: wire.results })
    }
}

impl<'de> Deserialize<'de> for ResourceList {
    /// Same checks as [`ResourceList::parse`], reported as serde errors.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireIn::deserialize(deserializer)?;
        Self::try_from(wire).map_err(serde::de::Error::custom)
    }
}

impl Serialize for ResourceList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct WireOut<'a> {
            api_version: &'static str,
            kind: &'static str,
            /// Always written, even empty: functions may index it without checking.
            items: &'a [Value],
            #[serde(skip_serializing_if = "Option::is_none")]
            function_config: Option<&'a Value>,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            results: &'a [KrmResult],
        }
        WireOut {
            api_version: API_VERSION,
            kind: KIND,
            items: &self.items,
            function_config: self.function_config.as_ref(),
            results: &self.results,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::{documents, seed};
    use crate::api::Synthesizer;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ResourceList, KrmError> {
        ResourceList::parse(value.to_string().as_bytes())
    }

    fn config_map(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    }

    /// The JSON the seed synthesizers `echo` (between the single quotes of their bash script).
    fn seed_output(file: &str) -> String {
        let synths: Vec<Synthesizer> = documents(&seed(file));
        let script = &synths[0].spec.command[2];
        let (start, end) = (script.find('\'').unwrap(), script.rfind('\'').unwrap());
        script[start + 1..end].to_owned()
    }

    #[test]
    fn seed_synthesizer_outputs_parse() {
        let ok = ResourceList::parse(seed_output("synthesizer-example.yaml").as_bytes()).unwrap();
        assert_eq!(ok.items, [config_map("some-config")]);
        assert!(ok.results.is_empty() && !ok.has_errors());

        let failed = ResourceList::parse(seed_output("synthesizer-error-example.yaml").as_bytes()).unwrap();
        assert!(failed.items.is_empty());
        assert_eq!(failed.results, [KrmResult::error("The system is down, the system is down")]);
        assert!(failed.has_errors());
    }

    #[test]
    fn writes_header_and_items_even_when_empty() {
        assert_eq!(
            serde_json::to_value(ResourceList::default()).unwrap(),
            json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": []})
        );
        let list = ResourceList {
            items: vec![config_map("a")],
            function_config: Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})),
            results: vec![KrmResult {
                message: "m".into(),
                severity: Some(Severity::Warning),
                tags: [("k".to_owned(), "v".to_owned())].into(),
            }],
        };
        let value = serde_json::to_value(&list).unwrap();
        assert_eq!(value["functionConfig"]["metadata"]["name"], "cfg");
        assert_eq!(value["results"][0], json!({"message": "m", "severity": "warning", "tags": {"k": "v"}}));
        assert_eq!(ResourceList::parse(&list.to_json()).unwrap(), list);
    }

    #[test]
    fn go_style_nulls_are_empty_lists() {
        let list = parse(json!({"apiVersion": API_VERSION, "kind": KIND, "items": null, "results": null,
            "functionConfig": null}))
        .unwrap();
        assert_eq!(list, ResourceList::default());
    }

    #[test]
    fn results_with_and_without_severity() {
        let list = parse(json!({"apiVersion": API_VERSION, "kind": KIND, "results": [
            {"message": "note"},
            {"message": "fyi", "severity": "info", "field": {"path": "spec"}},
        ]}))
        .unwrap();
        assert_eq!(list.results[0].severity, None);
        assert_eq!(list.results[1].severity, Some(Severity::Info));
        assert!(!list.has_errors());
    }

    #[test]
    fn serde_deserialize_applies_the_same_checks() {
        let err = serde_json::from_value::<ResourceList>(json!({"apiVersion": API_VERSION, "kind": "List"}))
            .unwrap_err();
        assert!(err.to_string().contains("expected kind \"ResourceList\", found \"List\""), "{err}");
        let ok: ResourceList =
            serde_json::from_value(json!({"apiVersion": API_VERSION, "kind": KIND, "items": [config_map("a")]})).unwrap();
        assert_eq!(ok.items.len(), 1);
    }

    fn assert_error(result: Result<ResourceList, KrmError>, message: &str) -> KrmError {
        let err = result.expect_err("expected a parse error");
        assert!(err.to_string().contains(message), "error {err:?} ({err}) does not mention {message:?}");
        err
    }

    #[test]
    fn error_not_json() {
        let err = assert_error(ResourceList::parse(b"{\"apiVersion\": "), "not valid JSON");
        assert!(matches!(err, KrmError::NotJson(_)));
        assert!(matches!(ResourceList::parse(b""), Err(KrmError::NotJson(_))));
    }

    #[test]
    fn error_not_an_object() {
        let err = assert_error(parse(json!([config_map("a")])), "expected a JSON object (a ResourceList), found an array");
        assert!(matches!(err, KrmError::NotAnObject("an array")));
    }

    #[test]
    fn error_wrong_kind() {
        let err = assert_error(parse(config_map("a")), "expected kind \"ResourceList\", found \"ConfigMap\"");
        assert!(matches!(err, KrmError::WrongKind(Some(ref k)) if k == "ConfigMap"));
        assert_error(parse(json!({"apiVersion": API_VERSION})), "expected kind \"ResourceList\", found none");
        assert_error(parse(json!({"apiVersion": API_VERSION, "kind": 7})), "found \"7\"");
    }

    #[test]
    fn error_wrong_api_version() {
        let err = assert_error(
            parse(json!({"apiVersion": "config.kubernetes.io/v1alpha1", "kind": KIND})),
            "expected apiVersion \"config.kubernetes.io/v1\", found \"config.kubernetes.io/v1alpha1\"",
        );
        assert!(matches!(err, KrmError::WrongApiVersion(Some(_))));
        assert_error(parse(json!({"kind": KIND})), "expected apiVersion \"config.kubernetes.io/v1\", found none");
    }

    #[test]
    fn error_unknown_field() {
        // A typo of `items` must not read as an empty (delete-everything) synthesis.
        let err = assert_error(parse(json!({"apiVersion": API_VERSION, "kind": KIND, "item": []})), "unknown field `item`");
        assert!(matches!(err, KrmError::Malformed(_)));
    }

    #[test]
    fn error_malformed_fields() {
        assert_error(parse(json!({"apiVersion": API_VERSION, "kind": KIND, "items": {}})), "malformed ResourceList");
        assert_error(
            parse(json!({"apiVersion": API_VERSION, "kind": KIND, "results": [{"severity": "fatal"}]})),
            "unknown variant `fatal`",
        );
    }

    #[test]
    fn error_item_not_object() {
        let err = assert_error(
            parse(json!({"apiVersion": API_VERSION, "kind": KIND, "items": [config_map("a"), "b"]})),
            "items[1] is not an object but a string",
        );
        assert!(matches!(err, KrmError::ItemNotObject { index: 1, .. }));
    }

    #[test]
    fn error_item_missing_api_version() {
        let mut item = config_map("a");
        item.as_object_mut().unwrap().remove("apiVersion");
        let err = assert_error(
            parse(json!({"apiVersion": API_VERSION, "kind": KIND, "items": [config_map("x"), config_map("y"), item]})),
            "items[2] has no apiVersion",
        );
        assert!(matches!(err, KrmError::ItemMissingField { index: 2, field: "apiVersion" }));
    }

    #[test]
    fn error_item_missing_kind() {
        let mut item = config_map("a");
        item["kind"] = json!("");
        let err = assert_error(parse(json!({"apiVersion": API_VERSION, "kind": KIND, "items": [item]})), "items[0] has no kind");
        assert!(matches!(err, KrmError::ItemMissingField { index: 0, field: "kind" }));
    }

    #[test]
    fn error_item_missing_name() {
        for item in [
            json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 3}}),
        ] {
            let err = assert_error(
                parse(json!({"apiVersion": API_VERSION, "kind": KIND, "items": [config_map("ok"), item]})),
                "items[1] has no metadata.name",
            );
            assert!(matches!(err, KrmError::ItemMissingField { index: 1, field: "metadata.name" }));
        }
    }

    fn arb_name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,20}"
    }

    fn arb_result() -> impl Strategy<Value = KrmResult> {
        (
            ".{0,30}",
            prop::option::of(prop_oneof![Just(Severity::Error), Just(Severity::Warning), Just(Severity::Info)]),
            prop::collection::btree_map(arb_name(), ".{0,10}", 0..3),
        )
            .prop_map(|(message, severity, tags)| KrmResult { message, severity, tags })
    }

    proptest! {
        #[test]
        fn valid_lists_round_trip(
            names in prop::collection::vec(arb_name(), 0..5),
            data in prop::collection::btree_map(arb_name(), ".{0,20}", 0..4),
            results in prop::collection::vec(arb_result(), 0..4),
            with_config in any::<bool>(),
        ) {
            let items = names.iter().map(|n| {
                let mut item = config_map(n);
                item["data"] = json!(data);
                item
            }).collect();
            let list = ResourceList {
                items,
                function_config: with_config.then(|| json!({"optionalRefs": names})),
                results,
            };
            prop_assert_eq!(ResourceList::parse(&list.to_json()).unwrap(), list);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = ResourceList::parse(&bytes);
        }
    }
}
