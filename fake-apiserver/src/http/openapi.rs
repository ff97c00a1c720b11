//! A minimal OpenAPI v3: enough for kubectl to see that every type supports server-side
//! field validation (so `kubectl apply` validates by default), and for `kubectl explain` of
//! custom resources.

use crate::resource::{Registry, ResourceType};
use apimachinery::hash::fnv1a64;
use serde_json::{json, Map, Value};

fn path_key(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `/openapi/v3`: one entry per group-version. The hash (FNV-1a of the document's JSON, stable
/// across runs) changes when the registry does, so kubectl's cache refreshes after a CRD is
/// installed.
pub fn root(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (g, versions) in registry.groups() {
        for v in versions {
            let key = path_key(&g, &v);
            let hash = fnv1a64(document(registry, &g, &v).unwrap_or_default().to_string().bytes());
            paths.insert(key.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash:016X}")}));
        }
    }
    json!({"paths": paths})
}

fn definition_name(t: &ResourceType) -> String {
    // Reverse-domain like the real server: io.azure.eno.v1.Composition.
    let group = if t.group.is_empty() { "io.k8s.api.core".to_string() } else { t.group.split('.').rev().collect::<Vec<_>>().join(".") };
    format!("{group}.{}.{}", t.version, t.kind)
}

/// `/openapi/v3/apis/<g>/<v>`; `None` if nothing is served there.
pub fn document(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types: Vec<&ResourceType> = registry.all().filter(|t| t.group == group && t.version == version).collect();
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in types {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let prefix = format!("/{}", path_key(group, version));
        let item = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{prefix}/{}/{{name}}", t.plural)
        };
        let op = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", t.kind),
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", definition_name(t))}}}}}
            })
        };
        paths.insert(item, json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}));
        let mut schema = t.schema().cloned().unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        schema["x-kubernetes-group-version-kind"] = json!([gvk]);
        if schema.get("description").is_none() {
            schema["description"] = json!(format!("{} is a {} resource.", t.kind, t.api_version()));
        }
        schemas.insert(definition_name(t), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}
