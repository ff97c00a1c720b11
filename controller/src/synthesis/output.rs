//! Strict checks of a synthesizer's output, before anything of it is written.
//!
//! A bad item must fail the whole synthesis here, with a message naming the item, rather than
//! surface later as one resource that never reconciles (or, worse, as an annotation silently
//! read as its default: `disable-updates: "ture"` would let Eno overwrite what the author meant
//! to protect). The previous synthesis's resources stay in place when this fails.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::api::duration::parse_go_duration;
use super::outcome::{InvalidItem, SynthesisError, SynthesisOutput};
use crate::api::krm::json_type;
use crate::api::{KrmError, ResourceList};
use crate::decide::cel::CelError;
use crate::decide::overrides::OverridesError;

use crate::api::annotations::{RECONCILE_INTERVAL, USE_DEFAULT_RECONCILE_INTERVAL, DISABLE_UPDATES, DISABLE_RECONCILIATION, DELETION_STRATEGY, READINESS, READINESS_GROUP, DELETION_GROUP, OVERRIDES, REPLACE, FAIL_OPEN};
use crate::decide::patch;
use crate::decide::resource::DeletionStrategy;

/// Turns a synthesizer's stdout into a validated output.
///
/// An output with `error` results is still checked: nothing of a failed synthesis is written
/// anyway, and a malformed document is a different, louder bug than the one it reports.
pub fn parse(stdout: &[u8]) -> Result<SynthesisOutput, SynthesisError> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(SynthesisError::EmptyOutput);
    }
    match ResourceList::parse(stdout) {
        Ok(list) => {
            validate(&list.items)?;
            Ok(list.into())
        }
        // The envelope parser checks items too; report those like every other item problem.
        Err(KrmError::ItemNotObject { index, found }) => {
            Err(InvalidItem { index, item: String::new(), reason: format!("expected an object, found {found}") }.into())
        }
        Err(KrmError::ItemMissingField { index, .. }) => {
            // Errors are rare: parsing again to name the item is cheaper than keeping a copy.
            let item = serde_json::from_slice::<Value>(stdout)
                .ok()
                .and_then(|mut list| list.get_mut("items")?.get_mut(index).map(Value::take))
                .unwrap_or(Value::Null);
            match validate_item(index, &item) {
                Err(invalid) => Err(invalid.into()),
                Ok(_) => Err(InvalidItem {
                    index,
                    item: identify(&item),
                    reason: "apiVersion, kind and metadata.name must be non-empty strings".to_owned(),
                }
                .into()),
            }
        }
        Err(other) => Err(SynthesisError::NotResourceList(other.to_string())),
    }
}

/// Checks every item; the first problem found is returned.
///
/// Per item: `apiVersion` (`[group/]version`), `kind` and `metadata.name` are non-empty strings;
/// `metadata.namespace`, if set, is a DNS label; labels and annotations are maps of strings; Eno's
/// annotations hold values Eno understands; a Patch names its target's type and lists valid
/// JSON patch ops ([`patch::ops`]). Across items: no two share group, kind, namespace
/// and name (which one would win?).
pub fn validate(items: &[Value]) -> Result<(), InvalidItem> {
    let mut seen: BTreeMap<Key<'_>, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let key = validate_item(index, item)?;
        if let Some(first) = seen.insert(key, index) {
            return Err(InvalidItem {
                index,
                item: identify(item),
                reason: format!("item {first} has the same group, kind, namespace and name"),
            });
        }
    }
    Ok(())
}

/// Identity of an output resource: (group, kind, namespace, name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

fn validate_item(index: usize, item: &Value) -> Result<Key<'_>, InvalidItem> {
    let fail = |reason: String| InvalidItem { index, item: identify(item), reason };
    let Value::Object(object) = item else {
        return Err(InvalidItem { index, item: String::new(), reason: format!("expected an object, found {}", json_type(item)) });
    };
    let api_version = non_empty_string(object.get("apiVersion")).ok_or_else(|| fail("apiVersion must be a non-empty string".into()))?;
    let group = match api_version.split_once('/') {
        None => "",
        Some((group, version)) if !group.is_empty() && !version.is_empty() && !version.contains('/') => group,
        Some(_) => return Err(fail(format!("apiVersion {api_version:?} is not of the form [group/]version"))),
    };
    let kind = non_empty_string(object.get("kind")).ok_or_else(|| fail("kind must be a non-empty string".into()))?;
    let metadata = match object.get("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => return Err(fail("metadata must be an object".into())),
    };
    let name = non_empty_string(metadata.get("name")).ok_or_else(|| fail("metadata.name must be a non-empty string".into()))?;
    let namespace = match metadata.get("namespace") {
        None | Some(Value::Null) => "",
        Some(Value::String(namespace)) => namespace.as_str(),
        Some(other) => return Err(fail(format!("metadata.namespace must be a string, found {}", json_type(other)))),
    };
    if !namespace.is_empty() && !is_dns_label(namespace) {
        return Err(fail(format!(
            "metadata.namespace {namespace:?} is not a valid namespace name (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)"
        )));
    }
    string_map(metadata, "labels").map_err(fail)?;
    if let Some(annotations) = string_map(metadata, "annotations").map_err(fail)? {
        validate_annotations(annotations).map_err(fail)?;
    }
    if patch::is_patch(item) {
        patch::ops(item).map_err(|e| fail(e.to_string()))?;
    }
    Ok(Key { group, kind, namespace, name })
}

/// Eno's annotations, by key. An empty value means unset (as in Eno), so only non-empty values
/// are checked; but overrides and readiness checks are parsed whenever present, as Eno does.
fn validate_annotations(annotations: &Map<String, Value>) -> Result<(), String> {
    for (key, value) in annotations {
        let Some(value) = value.as_str() else { continue };
        let problem = match key.as_str() {
            OVERRIDES => crate::decide::overrides::validate(value).err().map(|e| match e {
                OverridesError::Json(e) => format!("is not a JSON list of overrides ({e})"),
                OverridesError::Invalid { index, reason } => format!("has an invalid override {index}: {reason}"),
            }),
            readiness if readiness.starts_with(READINESS) && readiness != READINESS_GROUP => {
                crate::decide::cel::check(value).err().map(|e| match e {
                    CelError::Compile { message, .. } => format!("is not a valid CEL expression ({message})"),
                    other => other.to_string(),
                })
            }
            _ if value.is_empty() => None,
            RECONCILE_INTERVAL => parse_go_duration(value).err().map(|e| format!("is not a Go duration ({e})")),
            DISABLE_UPDATES | DISABLE_RECONCILIATION | REPLACE | FAIL_OPEN | USE_DEFAULT_RECONCILE_INTERVAL => {
                (!matches!(value, "true" | "false")).then(|| "must be \"true\" or \"false\"".to_owned())
            }
            DELETION_STRATEGY => DeletionStrategy::parse(value)
                .is_none()
                .then(|| "must be \"orphan\", \"background\" or \"foreground\"".to_owned()),
            READINESS_GROUP | DELETION_GROUP => value.parse::<i64>().is_err().then(|| "must be an integer".to_owned()),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(format!("annotation {key}={value:?} {problem}"));
        }
    }
    Ok(())
}

/// `metadata.<field>`: absent, null, or an object of strings.
fn string_map<'a>(metadata: &'a Map<String, Value>, field: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match metadata.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => match map.iter().find(|(_, v)| !v.is_string()) {
            Some((key, v)) => Err(format!("metadata.{field}[{key:?}] must be a string, found {}", json_type(v))),
            None => Ok(Some(map)),
        },
        Some(other) => Err(format!("metadata.{field} must be a map of strings, found {}", json_type(other))),
    }
}

/// A DNS-1123 label: what Kubernetes requires of namespace names.
pub fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|c| alnum(c) || *c == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
}

fn non_empty_string(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `apiVersion/kind namespace/name` for messages, from whatever the item has.
fn identify(item: &Value) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(|s| Shown(s).to_string());
    let api_version = text(item.get("apiVersion"));
    let kind = text(item.get("kind"));
    let metadata = item.get("metadata");
    let name = text(metadata.and_then(|m| m.get("name")));
    let namespace = text(metadata.and_then(|m| m.get("namespace")));
    let mut out = match (api_version, kind) {
        (None, None) => String::new(),
        (api_version, kind) => format!("{}/{}", api_version.as_deref().unwrap_or("?"), kind.as_deref().unwrap_or("?")),
    };
    if let Some(name) = name {
        if !out.is_empty() {
            out.push(' ');
        }
        if let Some(namespace) = namespace {
            out.push_str(&namespace);
            out.push('/');
        }
        out.push_str(&name);
    }
    out
}

/// A string from the output, shortened and stripped of control characters so that a hostile or
/// broken item cannot make the error message unreadable.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 100;
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX {
                return f.write_str("…");
            }
            if c.is_control() {
                f.write_str("?")?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn config_map(namespace: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}})
    }

    fn annotated(key: &str, value: &str) -> Value {
        let mut item = config_map("default", "x");
        item["metadata"]["annotations"] = json!({key: value});
        item
    }

    fn message(items: &[Value]) -> String {
        validate(items).expect_err("expected the items to be rejected").to_string()
    }

    fn list(items: Value) -> Vec<u8> {
        json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items}).to_string().into_bytes()
    }

    #[test]
    fn accepts_realistic_items() {
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "app-1",
                "labels": {"app": "web"},
                "annotations": {
                    RECONCILE_INTERVAL: "15m",
                    DISABLE_UPDATES: "false",
                    DISABLE_RECONCILIATION: "true",
                    DELETION_STRATEGY: "orphan",
                    READINESS_GROUP: "-100",
                    DELETION_GROUP: "+3",
                    OVERRIDES: r#"[{"path": "self.metadata.annotations[\"eno.azure.io/disable-reconciliation\"]", "value": null, "condition": "has(self.metadata)"}]"#,
                    "eno.azure.io/readiness": "self.status.readyReplicas == self.spec.replicas",
                    "example.com/anything": "goes",
                    "eno.azure.io/reconcile-interval-typo": "whatever",
                },
            },
            "spec": {"replicas": 2},
        });
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app-1"}});
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com", "annotations": {RECONCILE_INTERVAL: "0", DELETION_STRATEGY: ""}}});
        // Same name, different kind / group / namespace: distinct resources.
        let items = [
            deployment,
            namespace,
            crd,
            config_map("app-1", "web"),
            config_map("app-2", "web"),
            json!({"apiVersion": "example.com/v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "app-1"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web", "namespace": "app-1", "annotations": null, "labels": {}}}),
        ];
        assert_eq!(validate(&items), Ok(()));
        assert_eq!(validate(&[]), Ok(()));
    }

    #[test]
    fn rejects_missing_identity() {
        let cases = [
            (json!("a string"), "invalid output item 1: expected an object, found a string"),
            (json!({"kind": "ConfigMap", "metadata": {"name": "x"}}), "invalid output item 1 (?/ConfigMap x): apiVersion must be a non-empty string"),
            (json!({"apiVersion": 1, "kind": "ConfigMap", "metadata": {"name": "x"}}), "invalid output item 1 (?/ConfigMap x): apiVersion must be a non-empty string"),
            (json!({"apiVersion": "v1", "metadata": {"name": "x"}}), "invalid output item 1 (v1/? x): kind must be a non-empty string"),
            (json!({"apiVersion": "v1", "kind": "ConfigMap"}), "invalid output item 1 (v1/ConfigMap): metadata must be an object"),
            (json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": []}), "invalid output item 1 (v1/ConfigMap): metadata must be an object"),
            (json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "default"}}), "invalid output item 1 (v1/ConfigMap): metadata.name must be a non-empty string"),
            (json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": ""}}), "invalid output item 1 (v1/ConfigMap): metadata.name must be a non-empty string"),
            (json!({"apiVersion": "apps/v1/x", "kind": "Deployment", "metadata": {"name": "x"}}), "invalid output item 1 (apps/v1/x/Deployment x): apiVersion \"apps/v1/x\" is not of the form [group/]version"),
            (json!({"apiVersion": "/v1", "kind": "Deployment", "metadata": {"name": "x"}}), "invalid output item 1 (/v1/Deployment x): apiVersion \"/v1\" is not of the form [group/]version"),
            (json!({"apiVersion": "apps/", "kind": "Deployment", "metadata": {"name": "x"}}), "invalid output item 1 (apps//Deployment x): apiVersion \"apps/\" is not of the form [group/]version"),
        ];
        for (item, expected) in cases {
            assert_eq!(message(&[config_map("default", "ok"), item]), expected);
        }
    }

    #[test]
    fn rejects_bad_namespaces() {
        for namespace in ["Default", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert_eq!(
                message(&[config_map(namespace, "x")]),
                format!("invalid output item 0 (v1/ConfigMap {namespace}/x): metadata.namespace {namespace:?} is not a valid namespace name (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)")
            );
        }
        assert_eq!(validate(&[config_map(&"a".repeat(63), "x"), config_map("0-a", "x"), config_map("", "y")]), Ok(()));
        let mut item = config_map("default", "x");
        item["metadata"]["namespace"] = json!(3);
        assert_eq!(message(&[item]), "invalid output item 0 (v1/ConfigMap x): metadata.namespace must be a string, found a number");
    }

    #[test]
    fn rejects_non_string_labels_and_annotations() {
        let mut item = config_map("default", "x");
        item["metadata"]["labels"] = json!({"app": true});
        assert_eq!(message(&[item]), "invalid output item 0 (v1/ConfigMap default/x): metadata.labels[\"app\"] must be a string, found a boolean");
        let mut item = config_map("default", "x");
        item["metadata"]["annotations"] = json!(["a"]);
        assert_eq!(message(&[item]), "invalid output item 0 (v1/ConfigMap default/x): metadata.annotations must be a map of strings, found an array");
        let mut item = config_map("default", "x");
        item["metadata"]["annotations"] = json!({DISABLE_UPDATES: true});
        assert_eq!(
            message(&[item]),
            "invalid output item 0 (v1/ConfigMap default/x): metadata.annotations[\"eno.azure.io/disable-updates\"] must be a string, found a boolean"
        );
    }

    #[test]
    fn rejects_duplicates() {
        let items = [config_map("default", "a"), config_map("default", "b"), config_map("default", "a")];
        assert_eq!(message(&items), "invalid output item 2 (v1/ConfigMap default/a): item 0 has the same group, kind, namespace and name");
        // Versions of one group are the same resource.
        let items = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            json!({"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "web"}}),
        ];
        assert_eq!(message(&items), "invalid output item 1 (apps/v1beta1/Deployment web): item 0 has the same group, kind, namespace and name");
        // An explicit empty namespace is no namespace.
        let items = [json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "namespace": ""}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}})];
        assert_eq!(message(&items), "invalid output item 1 (v1/Namespace n): item 0 has the same group, kind, namespace and name");
    }

    #[test]
    fn checks_eno_annotations() {
        let cases = [
            (RECONCILE_INTERVAL, "15", "is not a Go duration (missing unit in duration \"15\")"),
            (RECONCILE_INTERVAL, "1d", "is not a Go duration (unknown unit \"d\" in duration \"1d\")"),
            (RECONCILE_INTERVAL, "-1s", "is not a Go duration (negative duration \"-1s\")"),
            (DISABLE_UPDATES, "yes", "must be \"true\" or \"false\""),
            (DISABLE_UPDATES, "True", "must be \"true\" or \"false\""),
            (DISABLE_RECONCILIATION, "1", "must be \"true\" or \"false\""),
            (DELETION_STRATEGY, "sideways", "must be \"orphan\", \"background\" or \"foreground\""),
            (REPLACE, "yes", "must be \"true\" or \"false\""),
            (FAIL_OPEN, "1", "must be \"true\" or \"false\""),
            (USE_DEFAULT_RECONCILE_INTERVAL, "on", "must be \"true\" or \"false\""),
            (READINESS_GROUP, "1.5", "must be an integer"),
            (DELETION_GROUP, "first", "must be an integer"),
            (READINESS_GROUP, "99999999999999999999", "must be an integer"),
            (OVERRIDES, "{", "is not a JSON list of overrides (EOF while parsing an object at line 1 column 1)"),
            (OVERRIDES, r#"{"path": "self.x"}"#, "is not a JSON list of overrides (found an object)"),
            (OVERRIDES, "3", "is not a JSON list of overrides (found 3)"),
            (OVERRIDES, r#"[{"path": "self.x"}, 3]"#, "has an invalid override 1: expected an override object, found 3"),
            (OVERRIDES, r#"[{"value": 1}]"#, "has an invalid override 0: path \"\": paths must start with `self`"),
            (OVERRIDES, r#"[{"path": 1}]"#, "has an invalid override 0: path must be a string, found 1"),
            (OVERRIDES, r#"[{"path": "self.x", "condition": true}]"#, "has an invalid override 0: condition must be a string, found true"),
            (OVERRIDES, r#"[{"path": "self.x", "valueExpression": 1}]"#, "has an invalid override 0: valueExpression must be a string, found 1"),
            (OVERRIDES, r#"[{"path": "metadata.x", "value": 1}]"#, "has an invalid override 0: path \"metadata.x\": paths must start with `self`"),
            (OVERRIDES, r#"[{"path": "self.x", "value": 1, "valueExpression": "2"}]"#, "has an invalid override 0: value and valueExpression are mutually exclusive"),
            (OVERRIDES, "", "is not a JSON list of overrides (EOF while parsing a value at line 1 column 0)"),
        ];
        for (key, value, problem) in cases {
            assert_eq!(
                message(&[annotated(key, value)]),
                format!("invalid output item 0 (v1/ConfigMap default/x): annotation {key}={value:?} {problem}"),
            );
        }
        // Expressions are compiled, as Eno's synthesis does before accepting its output.
        for (key, value) in [
            (OVERRIDES, r#"[{"path": "self.x", "value": 1, "condition": "self.x == ("}]"#),
            (OVERRIDES, r#"[{"path": "self.x", "valueExpression": "self.("}]"#),
            (READINESS, "self.status.("),
            ("eno.azure.io/readiness-db", ""),
            ("eno.azure.io/readinessX", "self.("),
        ] {
            let message = message(&[annotated(key, value)]);
            let expected = format!("invalid output item 0 (v1/ConfigMap default/x): annotation {key}={value:?} ");
            assert!(message.starts_with(&expected), "{message}");
        }
        for (key, value) in [
            (RECONCILE_INTERVAL, "1h30m"),
            (RECONCILE_INTERVAL, "300ms"),
            (RECONCILE_INTERVAL, "2µs"),
            (DISABLE_UPDATES, "true"),
            (DELETION_STRATEGY, "delete"),
            // Eno compares the strategy without case.
            (DELETION_STRATEGY, "Orphan"),
            (DELETION_STRATEGY, "foreground"),
            (DELETION_STRATEGY, "background"),
            (REPLACE, "true"),
            (FAIL_OPEN, "false"),
            (USE_DEFAULT_RECONCILE_INTERVAL, "true"),
            (DELETION_GROUP, "-1"),
            (OVERRIDES, "[]"),
            (OVERRIDES, r#"[{"path": "self.data.x", "value": "y"}, {"path": "self.data.z", "valueExpression": "'a'", "condition": "true"}]"#),
            (OVERRIDES, "null"),
            (READINESS, "self.status.ready == true"),
            ("eno.azure.io/readiness-db", "self.status.conditions.filter(c, c.type == 'Ready')"),
            (DISABLE_UPDATES, ""),
        ] {
            assert_eq!(validate(&[annotated(key, value)]), Ok(()), "{key}={value}");
        }
    }

    fn eno_patch(patch: Value) -> Value {
        json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "x", "namespace": "default"}, "patch": patch})
    }

    #[test]
    fn checks_patches() {
        let ok = [
            eno_patch(json!({"apiVersion": "v1", "kind": "ConfigMap", "ops": [{"op": "add", "path": "/data/a", "value": "b"}]})),
            // Empty ops: an override fills them in (Eno's conditional patch).
            eno_patch(json!({"apiVersion": "v1", "kind": "ConfigMap", "ops": []})),
            eno_patch(json!({"apiVersion": "apps/v1", "kind": "Deployment", "ops": [{"op": "remove", "path": "/spec/paused"}]})),
        ];
        for item in &ok {
            assert_eq!(validate(std::slice::from_ref(item)), Ok(()), "{item}");
        }
        let cases = [
            (json!({"kind": "ConfigMap", "ops": []}), "a Patch needs patch.apiVersion and patch.kind: the type of the object it patches"),
            (json!({"apiVersion": "v1", "kind": "", "ops": []}), "a Patch needs patch.apiVersion and patch.kind: the type of the object it patches"),
            (json!({"apiVersion": "v1", "kind": "ConfigMap"}), "a Patch needs patch.ops: a list of JSON patch (RFC 6902) operations"),
            (json!({"apiVersion": "v1", "kind": "ConfigMap", "ops": {"op": "add"}}), "a Patch needs patch.ops: a list of JSON patch (RFC 6902) operations"),
        ];
        for (patch, problem) in cases {
            assert_eq!(message(&[eno_patch(patch)]), format!("invalid output item 0 (eno.azure.io/v1/Patch default/x): {problem}"));
        }
        for op in [json!({"op": "add", "path": "data/a", "value": "b"}), json!({"op": "frobnicate", "path": "/a"}), json!({"op": "add", "path": "/a"}), json!("add")] {
            let patch = eno_patch(json!({"apiVersion": "v1", "kind": "ConfigMap", "ops": [{"op": "test", "path": "/a", "value": 1}, op]}));
            let message = message(&[patch]);
            assert!(message.starts_with("invalid output item 0 (eno.azure.io/v1/Patch default/x): patch.ops[1] is not a JSON patch operation: "), "{message}");
        }
        // A Patch and the object it patches are different items.
        assert_eq!(validate(&[ok[0].clone(), config_map("default", "x")]), Ok(()));
    }

    #[test]
    fn parse_maps_every_failure() {
        assert_eq!(parse(b""), Err(SynthesisError::EmptyOutput));
        assert_eq!(parse(b" \n\t"), Err(SynthesisError::EmptyOutput));
        assert_eq!(
            parse(b"hello").unwrap_err().to_string(),
            "synthesizer output is not a KRM ResourceList: not valid JSON: expected value at line 1 column 1"
        );
        assert_eq!(
            parse(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#).unwrap_err().to_string(),
            "synthesizer output is not a KRM ResourceList: expected kind \"ResourceList\", found \"ConfigMap\""
        );
        assert_eq!(
            parse(&list(json!([config_map("default", "a"), 7]))).unwrap_err().to_string(),
            "invalid output item 1: expected an object, found a number"
        );
        assert_eq!(
            parse(&list(json!([config_map("default", "a"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "ns"}}])))
                .unwrap_err()
                .to_string(),
            "invalid output item 1 (v1/ConfigMap): metadata.name must be a non-empty string"
        );
        assert_eq!(
            parse(&list(json!([{"apiVersion": "", "kind": "ConfigMap", "metadata": {"name": "n", "namespace": "ns"}}])))
                .unwrap_err()
                .to_string(),
            "invalid output item 0 (?/ConfigMap ns/n): apiVersion must be a non-empty string"
        );
        assert_eq!(
            parse(&list(json!([annotated(DISABLE_UPDATES, "yes")]))).unwrap_err().to_string(),
            "invalid output item 0 (v1/ConfigMap default/x): annotation eno.azure.io/disable-updates=\"yes\" must be \"true\" or \"false\""
        );
        let ok = parse(&list(json!([config_map("default", "a")]))).unwrap();
        assert_eq!(ok, SynthesisOutput::new(vec![config_map("default", "a")]));
    }

    #[test]
    fn messages_stay_readable_with_hostile_names() {
        let name = format!("a\nb{}", "c".repeat(300));
        let item = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "Bad"}});
        let message = message(&[item]);
        assert!(message.starts_with(&format!("invalid output item 0 (v1/ConfigMap Bad/a?b{}…): ", "c".repeat(97))), "{message}");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("v1".to_owned()),
                Just("apps/v1".to_owned()),
                Just("a/b/c".to_owned()),
                Just("eno.azure.io/overrides".to_owned()),
                Just(RECONCILE_INTERVAL.to_owned()),
                Just(DISABLE_UPDATES.to_owned()),
                Just("[{\"path\":1}]".to_owned()),
                ".{0,8}"
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("apiVersion".to_owned()),
                        Just("kind".to_owned()),
                        Just("metadata".to_owned()),
                        Just("name".to_owned()),
                        Just("namespace".to_owned()),
                        Just("annotations".to_owned()),
                        Just("labels".to_owned()),
                        Just(OVERRIDES.to_owned()),
                        Just(READINESS_GROUP.to_owned()),
                        "[a-z]{1,4}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_items_never_panic(items in prop::collection::vec(arb_json(), 0..4)) {
            let _ = validate(&items);
            let _ = parse(&list(Value::from(items)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn valid_config_maps_pass(names in prop::collection::btree_set("[a-z][a-z0-9-]{0,20}", 0..6), ns in "[a-z]([a-z0-9-]{0,10}[a-z0-9])?") {
            let items: Vec<Value> = names.iter().map(|n| config_map(&ns, n)).collect();
            prop_assert_eq!(validate(&items), Ok(()));
        }
    }
}
