//! CustomResourceDefinitions generated from the API types, and their files in `deploy/crds/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::{Composition, ResourceSlice, Symphony, Synthesizer};

/// Written at the top of every generated file.
pub const HEADER: &str = "# Generated from controller/src/api; do not edit.\n\
                          # Regenerate with: UPDATE_CRDS=1 cargo test -p controller --test crds\n";

/// Suffix of every generated file name, `<plural>.eno.azure.io.yaml`.
const FILE_SUFFIX: &str = ".eno.azure.io.yaml";

#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("no CRD named {name:?} (expected one of: {known})", name = .0, known = names().join(", "))]
    UnknownCrd(String),
    #[error("rendering CRD {name} as YAML: {source}")]
    Yaml { name: String, source: serde_saphyr::SerializeError },
    #[error("{action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

/// Every Eno CRD, in a fixed order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![Synthesizer::crd(), Composition::crd(), Symphony::crd(), ResourceSlice::crd()]
}

/// CRD names, e.g. `compositions.eno.azure.io`.
pub fn names() -> Vec<String> {
    crds().into_iter().filter_map(|crd| crd.metadata.name).collect()
}

/// The file a CRD lives in: `<plural>.eno.azure.io.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or_default())
}

/// The generated file for a CRD name (`compositions.eno.azure.io`).
pub fn crd_yaml(name: &str) -> Result<String, CrdError> {
    let crd = crds()
        .into_iter()
        .find(|crd| crd.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| CrdError::UnknownCrd(name.to_owned()))?;
    render(&crd)
}

fn render(crd: &CustomResourceDefinition) -> Result<String, CrdError> {
    let yaml = serde_saphyr::to_string(crd).map_err(|source| CrdError::Yaml {
        name: crd.metadata.name.clone().unwrap_or_default(),
        source,
    })?;
    Ok(format!("{HEADER}{yaml}"))
}

/// Every generated file: file name to contents.
pub fn rendered() -> Result<BTreeMap<String, String>, CrdError> {
    crds().iter().map(|crd| Ok((file_name(crd), render(crd)?))).collect()
}

/// Writes every CRD into `dir` and removes generated files of CRDs that no longer exist.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, CrdError> {
    std::fs::create_dir_all(dir).map_err(|source| io("creating", dir, source))?;
    let files = rendered()?;
    for stale in generated_files(dir)?.into_iter().filter(|name| !files.contains_key(name)) {
        let path = dir.join(stale);
        std::fs::remove_file(&path).map_err(|source| io("removing", &path, source))?;
    }
    files
        .iter()
        .map(|(name, contents)| {
            let path = dir.join(name);
            std::fs::write(&path, contents).map_err(|source| io("writing", &path, source))?;
            Ok(path)
        })
        .collect()
}

/// Generated files in `dir` that are missing, differ from the types, or belong to no CRD.
pub fn stale_files(dir: &Path) -> Result<Vec<String>, CrdError> {
    let files = rendered()?;
    let mut stale = Vec::new();
    for (name, expected) in &files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(actual) if actual == *expected => {}
            Ok(_) => stale.push(format!("{name} (differs)")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => stale.push(format!("{name} (missing)")),
            Err(source) => return Err(io("reading", &dir.join(name), source)),
        }
    }
    stale.extend(
        generated_files(dir)?
            .into_iter()
            .filter(|name| !files.contains_key(name))
            .map(|name| format!("{name} (no such CRD)")),
    );
    Ok(stale)
}

fn generated_files(dir: &Path) -> Result<Vec<String>, CrdError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io("listing", dir, source)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| io("listing", dir, source))?;
        if let Some(name) = entry.file_name().to_str().filter(|n| n.ends_with(FILE_SUFFIX)) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> CrdError {
    CrdError::Io { action, path: path.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::{documents, seed};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionVersion;
    use serde_json::{json, Value};

    fn crd(name: &str) -> CustomResourceDefinition {
        crds().into_iter().find(|c| c.metadata.name.as_deref() == Some(name)).unwrap()
    }

    fn version(crd: &CustomResourceDefinition) -> &CustomResourceDefinitionVersion {
        assert_eq!(crd.spec.versions.len(), 1);
        &crd.spec.versions[0]
    }

    fn schema(name: &str) -> Value {
        let crd = crd(name);
        serde_json::to_value(version(&crd).schema.as_ref().unwrap().open_api_v3_schema.as_ref().unwrap()).unwrap()
    }

    /// `path` through `properties` (`items` for arrays).
    fn at<'a>(schema: &'a Value, path: &str) -> &'a Value {
        path.split('.').fold(schema, |node, key| match key {
            "[]" => &node["items"],
            _ => &node["properties"][key],
        })
    }

    #[test]
    fn names_scopes_and_files() {
        assert_eq!(
            names(),
            ["synthesizers.eno.azure.io", "compositions.eno.azure.io", "symphonies.eno.azure.io", "resourceslices.eno.azure.io"]
        );
        let scopes: Vec<_> = crds().iter().map(|c| (c.spec.names.kind.clone(), c.spec.scope.clone())).collect();
        assert_eq!(
            scopes,
            [
                ("Synthesizer".into(), "Cluster".into()),
                ("Composition".into(), "Namespaced".into()),
                ("Symphony".into(), "Namespaced".into()),
                ("ResourceSlice".into(), "Namespaced".into()),
            ]
        );
        for crd in crds() {
            assert_eq!(crd.spec.group, "eno.azure.io");
            let v = version(&crd);
            assert_eq!((v.name.as_str(), v.served, v.storage), ("v1", true, true));
            assert!(v.subresources.as_ref().unwrap().status.is_some(), "{:?} has no status subresource", crd.metadata.name);
            // Eno declares no short names or categories.
            assert!(crd.spec.names.short_names.is_none() && crd.spec.names.categories.is_none());
            assert_eq!(file_name(&crd), format!("{}.eno.azure.io.yaml", crd.spec.names.plural));
        }
        assert!(matches!(crd_yaml("nope.eno.azure.io"), Err(CrdError::UnknownCrd(_))));
    }

    #[test]
    fn printer_columns() {
        let columns = |name: &str| -> Vec<(String, String, String)> {
            let crd = crd(name);
            version(&crd)
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| (c.name.clone(), c.type_.clone(), c.json_path.clone()))
                .collect()
        };
        let owned = |cols: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
            cols.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
        };
        assert_eq!(columns("synthesizers.eno.azure.io"), owned(&[("Image", "string", ".spec.image")]));
        // `kubectl get compositions` prints NAME SYNTHESIZER AGE STATUS ERROR.
        assert_eq!(
            columns("compositions.eno.azure.io"),
            owned(&[
                ("Synthesizer", "string", ".spec.synthesizer.name"),
                ("Age", "date", ".status.currentSynthesis.synthesized"),
                ("Status", "string", ".status.simplified.status"),
                ("Error", "string", ".status.simplified.error"),
            ])
        );
        assert!(columns("symphonies.eno.azure.io").is_empty());
        assert!(columns("resourceslices.eno.azure.io").is_empty());
    }

    #[test]
    fn synthesizer_defaults_and_validation() {
        let schema = schema("synthesizers.eno.azure.io");
        assert_eq!(at(&schema, "spec.command")["default"], json!(["synthesize"]));
        assert_eq!(at(&schema, "spec.execTimeout")["default"], json!("10s"));
        assert_eq!(at(&schema, "spec.podTimeout")["default"], json!("2m"));
        assert_eq!(
            at(&schema, "spec")["x-kubernetes-validations"][0]["rule"],
            "duration(self.execTimeout) <= duration(self.podTimeout)"
        );
        assert_eq!(at(&schema, "spec.refs.[]")["required"], json!(["key", "resource"]));
        assert_eq!(at(&schema, "spec.refs.[].resource")["required"], json!(["kind"]));
        let quantity = &at(&schema, "spec.podOverrides.resources.limits")["additionalProperties"];
        assert_eq!(quantity["x-kubernetes-int-or-string"], true);
    }

    #[test]
    fn composition_validation() {
        let schema = schema("compositions.eno.azure.io");
        let env = at(&schema, "spec.synthesisEnv");
        assert_eq!(env["maxItems"], 500);
        assert_eq!(env["items"]["properties"]["name"]["maxLength"], 100);
        assert_eq!(env["items"]["required"], json!(["name"]));
        assert_eq!(at(&schema, "spec.dependsOn")["maxItems"], 50);
        assert_eq!(at(&schema, "spec.bindings.[]")["required"], json!(["key", "resource"]));
        assert_eq!(at(&schema, "spec.bindings.[].resource")["required"], json!(["name"]));
        assert_eq!(
            at(&schema, "spec.synthesizer")["x-kubernetes-validations"][0]["rule"],
            "has(self.name) || has(self.labelSelector)"
        );
        for synthesis in ["inFlightSynthesis", "currentSynthesis", "previousSynthesis"] {
            let synthesis = at(&schema, &format!("status.{synthesis}"));
            assert_eq!(synthesis["properties"]["synthesized"]["format"], "date-time");
            assert_eq!(
                synthesis["properties"]["results"]["items"]["properties"]["severity"]["enum"],
                json!(["error", "warning", "info"])
            );
        }
    }

    #[test]
    fn symphony_validation() {
        let schema = schema("symphonies.eno.azure.io");
        assert_eq!(at(&schema, "spec.synthesisEnv")["maxItems"], 50);
        assert_eq!(at(&schema, "spec.variations.[].synthesisEnv")["maxItems"], 25);
        assert_eq!(at(&schema, "spec.variations.[].dependsOn")["maxItems"], 50);
        assert_eq!(at(&schema, "spec.variations.[].annotations")["additionalProperties"]["type"], "string");
        assert_eq!(at(&schema, "status.ready")["format"], "date-time");
    }

    #[test]
    fn resource_slice_names() {
        let schema = schema("resourceslices.eno.azure.io");
        assert_eq!(at(&schema, "spec.synthesisUUID")["type"], "string");
        assert_eq!(at(&schema, "spec.resources.[].manifest")["type"], "string");
        assert_eq!(at(&schema, "status.resources.[].reconciliationError")["type"], "string");
    }

    /// The apiserver only accepts structural schemas: every node typed, no `$ref`, and
    /// `anyOf`/`allOf`/`oneOf` only as the int-or-string pattern.
    fn assert_structural(path: &str, node: &Value) {
        let obj = node.as_object().unwrap_or_else(|| panic!("{path}: schema is not an object: {node}"));
        for banned in ["$ref", "definitions", "$defs", "oneOf", "allOf", "not"] {
            assert!(!obj.contains_key(banned), "{path}: has {banned}: {node}");
        }
        let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&json!(true));
        let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
        if let Some(any_of) = obj.get("anyOf") {
            assert!(int_or_string, "{path}: anyOf outside int-or-string: {node}");
            assert_eq!(any_of, &json!([{"type": "integer"}, {"type": "string"}]), "{path}");
        }
        assert!(
            obj.get("type").and_then(Value::as_str).is_some_and(|t| !t.is_empty()) || int_or_string || preserve,
            "{path}: no type: {node}"
        );
        assert!(
            !(obj.contains_key("properties") && obj.contains_key("additionalProperties")),
            "{path}: both properties and additionalProperties"
        );
        for (name, child) in obj.get("properties").and_then(Value::as_object).into_iter().flatten() {
            assert_structural(&format!("{path}.{name}"), child);
        }
        if let Some(items) = obj.get("items") {
            assert_structural(&format!("{path}[]"), items);
        }
        if let Some(additional) = obj.get("additionalProperties").filter(|a| a.is_object()) {
            assert_structural(&format!("{path}{{}}"), additional);
        }
    }

    #[test]
    fn schemas_are_structural() {
        for name in names() {
            let schema = schema(&name);
            assert_structural(&name, &schema);
            // Nothing stores raw objects: manifests are strings, so no field needs pruning disabled.
            assert!(!schema.to_string().contains("x-kubernetes-preserve-unknown-fields"), "{name}");
            // The apiserver supplies `metadata` (and `apiVersion`/`kind`) itself and rejects
            // constraints on it beyond `type: object`.
            assert!(matches!(&schema["properties"]["metadata"], Value::Null), "{name}");
        }
    }

    #[test]
    fn generated_yaml_is_deterministic_and_reads_back() {
        for name in names() {
            let yaml = crd_yaml(&name).unwrap();
            assert!(yaml.starts_with(HEADER));
            assert_eq!(crd_yaml(&name).unwrap(), yaml);
            let back: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
            assert_eq!(back, crd(&name), "{name} does not read back unchanged");
        }
    }

    #[test]
    fn write_all_replaces_stale_files() {
        let dir = std::env::temp_dir().join(format!("eno-crds-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("gone.eno.azure.io.yaml"), "old").unwrap();
        std::fs::write(dir.join("README.md"), "kept").unwrap();
        assert_eq!(stale_files(&dir).unwrap().len(), names().len() + 1);
        let written = write_all(&dir).unwrap();
        assert_eq!(written.len(), names().len());
        assert_eq!(stale_files(&dir).unwrap(), Vec::<String>::new());
        assert!(!dir.join("gone.eno.azure.io.yaml").exists() && dir.join("README.md").exists());
        std::fs::write(dir.join("compositions.eno.azure.io.yaml"), "edited").unwrap();
        assert_eq!(stale_files(&dir).unwrap(), ["compositions.eno.azure.io.yaml (differs)"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Seeds must be accepted by the CRDs as well as by the Rust types: every field they set is
    /// declared in the schema (the apiserver would silently prune undeclared ones).
    #[test]
    fn seed_fields_are_declared_in_the_schemas() {
        fn assert_declared(path: &str, value: &Value, schema: &Value) {
            match value {
                Value::Object(fields) if schema.get("properties").is_some() => {
                    for (key, child) in fields {
                        let child_schema = &schema["properties"][key];
                        assert!(child_schema.is_object(), "{path}.{key} is not in the schema");
                        assert_declared(&format!("{path}.{key}"), child, child_schema);
                    }
                }
                Value::Object(fields) => {
                    let additional = &schema["additionalProperties"];
                    assert!(additional.is_object() || fields.is_empty(), "{path}: object not allowed here");
                    for (key, child) in fields {
                        assert_declared(&format!("{path}.{key}"), child, additional);
                    }
                }
                Value::Array(items) => {
                    assert_eq!(schema["type"], "array", "{path}");
                    for (i, item) in items.iter().enumerate() {
                        assert_declared(&format!("{path}[{i}]"), item, &schema["items"]);
                    }
                }
                Value::String(_) => assert_eq!(schema["type"], "string", "{path}"),
                _ => {}
            }
        }
        for file in ["compositions.yaml", "symphony-basic.yaml", "synthesizer-example.yaml", "synthesizer-error-example.yaml"] {
            for doc in documents::<Value>(&seed(file)) {
                let kind = doc["kind"].as_str().unwrap();
                let name = crds().into_iter().find(|c| c.spec.names.kind == kind).unwrap().metadata.name.unwrap();
                let mut body = doc.clone();
                for implicit in ["apiVersion", "kind", "metadata"] {
                    body.as_object_mut().unwrap().remove(implicit);
                }
                assert_declared(file, &body, &schema(&name));
            }
        }
    }
}
