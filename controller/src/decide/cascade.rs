//! Composition annotations that apply to every resource of the composition, as Eno's
//! `cascadeAnnotation`: `eno.azure.io/deletion-strategy: orphan` on a composition orphans all
//! of its resources, `eno.azure.io/reconcile-interval` sets every resource's drift interval, and
//! so on. A key the resource sets itself wins, even with an empty value (which means unset).
//! Eno reads the other keys (`fail-open`, readiness, ordering, overrides) from the resource only.

use serde_json::{Map, Value};

use crate::api::annotations::{
    DELETION_STRATEGY, DISABLE_RECONCILIATION, DISABLE_UPDATES, RECONCILE_INTERVAL, REPLACE,
    USE_DEFAULT_RECONCILE_INTERVAL,
};

/// The keys a composition's value applies to its resources.
pub const CASCADING: &[&str] = &[
    RECONCILE_INTERVAL,
    USE_DEFAULT_RECONCILE_INTERVAL,
    DISABLE_UPDATES,
    REPLACE,
    DISABLE_RECONCILIATION,
    DELETION_STRATEGY,
];

/// Copies into `manifest`'s annotations the cascading keys `composition` (its CEL view,
/// [`super::cel::composition_view`], or the object) sets and `manifest` does not. Runs after the
/// overrides, as Eno reads the cascade from the overridden manifest: an override removing a key
/// lets the composition's value through.
pub fn cascade(manifest: &mut Value, composition: &Value) {
    let Some(inherited) = composition.pointer("/metadata/annotations").and_then(Value::as_object) else { return };
    let inherited: Vec<(&String, &Value)> =
        inherited.iter().filter(|(key, value)| CASCADING.contains(&key.as_str()) && value.is_string()).collect();
    if inherited.is_empty() {
        return;
    }
    let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let annotations = metadata.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    let Value::Object(annotations) = annotations else { return };
    for (key, value) in inherited {
        annotations.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::resource::{DeletionStrategy, ResourceOptions};
    use serde_json::json;
    use std::time::Duration;

    fn comp(annotations: Value) -> Value {
        json!({"metadata": {"name": "c", "namespace": "ns", "annotations": annotations}})
    }

    fn options(manifest: Value, composition: Value) -> ResourceOptions {
        let mut manifest = manifest;
        cascade(&mut manifest, &composition);
        ResourceOptions::from_manifest(&manifest).unwrap()
    }

    fn cm(annotations: Option<Value>) -> Value {
        let mut m = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}});
        if let Some(a) = annotations {
            m["metadata"]["annotations"] = a;
        }
        m
    }

    #[test]
    fn every_cascading_key_reaches_a_resource_without_annotations() {
        let composition = comp(json!({
            RECONCILE_INTERVAL: "30s",
            USE_DEFAULT_RECONCILE_INTERVAL: "true",
            DISABLE_UPDATES: "true",
            REPLACE: "true",
            DISABLE_RECONCILIATION: "true",
            DELETION_STRATEGY: "orphan",
        }));
        let opts = options(cm(None), composition);
        assert_eq!(opts.reconcile_interval, Some(Duration::from_secs(30)));
        assert!(opts.use_default_reconcile_interval && opts.disable_updates && opts.replace && opts.disable_reconciliation);
        assert_eq!(opts.deletion_strategy, DeletionStrategy::Orphan);
    }

    #[test]
    fn the_resources_value_wins_even_empty() {
        let composition = comp(json!({DELETION_STRATEGY: "orphan", REPLACE: "true", DISABLE_UPDATES: "true"}));
        let resource = cm(Some(json!({DELETION_STRATEGY: "foreground", REPLACE: "", "other": "x"})));
        let opts = options(resource, composition);
        assert_eq!(opts.deletion_strategy, DeletionStrategy::Foreground);
        assert!(!opts.replace, "an empty value set on the resource wins and means unset");
        assert!(opts.disable_updates, "keys the resource does not set still cascade");
    }

    #[test]
    fn other_keys_do_not_cascade() {
        let composition = comp(json!({
            "eno.azure.io/fail-open": "true",
            "eno.azure.io/readiness": "false",
            "eno.azure.io/readiness-group": "3",
            "eno.azure.io/overrides": "[]",
            "example.com/team": "blue",
        }));
        let mut manifest = cm(None);
        cascade(&mut manifest, &composition);
        assert_eq!(manifest, cm(None), "nothing to cascade leaves the manifest as it is");
    }

    #[test]
    fn odd_shapes_are_left_alone() {
        // No annotations on the composition, a non-string value, a manifest whose annotations
        // are not a map (validation rejects those; cascading must not panic on them).
        let mut manifest = cm(None);
        cascade(&mut manifest, &json!({"metadata": {}}));
        cascade(&mut manifest, &comp(json!({REPLACE: true})));
        assert_eq!(manifest, cm(None));
        let mut odd = cm(Some(json!("not a map")));
        cascade(&mut odd, &comp(json!({REPLACE: "true"})));
        assert_eq!(odd["metadata"]["annotations"], json!({REPLACE: "true"}));
    }
}
