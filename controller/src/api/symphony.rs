//! `Symphony`: a set of compositions, one per variation, managed as a unit.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Binding, EnvVar, SynthesizerRef};

/// A set of variations on a composition: each variation becomes one composition owned by the
/// symphony, sharing the symphony's bindings and environment.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "eno.azure.io",
    version = "v1",
    kind = "Symphony",
    plural = "symphonies",
    namespaced,
    status = "SymphonyStatus",
    derive = "PartialEq",
    doc = "Symphony is a set of variations on a composition: each variation results in one composition, and the compositions share the symphony's bindings and synthesis environment."
)]
#[serde(rename_all = "camelCase")]
pub struct SymphonySpec {
    /// One composition per variation; synthesizers must be unique across variations. Removing a
    /// variation deletes its composition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variations: Vec<Variation>,

    /// Inherited by every composition; a variation's binding with the same key wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,

    /// Inherited by every composition; a variation's variable with the same name wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub synthesis_env: Vec<EnvVar>,
}

/// The template of one composition of the symphony.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Variation {
    /// Merged into the composition's labels; an empty value removes the label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,

    /// Merged into the composition's annotations; an empty value removes the annotation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,

    /// Becomes the composition's `spec.synthesizer`, and identifies the composition.
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub synthesizer: SynthesizerRef,

    /// Merged over the symphony's bindings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,

    /// Merged over the symphony's synthesis environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25))]
    pub synthesis_env: Vec<EnvVar>,

    /// An optional variation's composition does not hold back the symphony's status.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,

    /// Other variations (by synthesizer name) whose compositions this one's depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub depends_on: Vec<VariationDependency>,
}

/// A dependency on the composition of the variation that uses `synthesizer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct VariationDependency {
    pub synthesizer: String,
}

/// Aggregate of the non-optional compositions: each timestamp is the latest of theirs, or unset
/// while any of them has not got there for its current generation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SymphonyStatus {
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub observed_generation: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesized: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<Time>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::{assert_round_trips, documents, seed};

    #[test]
    fn seed_symphony_deserializes() {
        let symphonies: Vec<Symphony> = documents(&seed("symphony-basic.yaml"));
        assert_eq!(symphonies.len(), 1);
        let symphony = &symphonies[0];
        assert_eq!(symphony.metadata.name.as_deref(), Some("basic-symphony"));
        let [minimal, full] = &symphony.spec.variations[..] else {
            panic!("expected two variations: {:?}", symphony.spec.variations)
        };
        assert_eq!(minimal, &Variation { synthesizer: SynthesizerRef::named("synth-1"), ..Default::default() });
        assert_eq!(full.synthesizer.name, "synth-2");
        assert_eq!(full.synthesis_env, [EnvVar { name: "EXAMPLE_ENVVAR".into(), value: "example-value".into() }]);
        assert_eq!(full.bindings.len(), 1);
        assert_eq!(full.bindings[0].key, "foo");
        assert_eq!(full.bindings[0].resource.name, "test-input");
        assert_eq!(full.bindings[0].resource.namespace, "default");
        assert!(full.labels.is_empty() && full.annotations.is_empty());
        assert_round_trips(symphony);
    }

    #[test]
    fn empty_label_values_survive_round_trips() {
        // "" means "remove this key" to the symphony controller, so it must not be dropped.
        let variation: Variation = serde_json::from_value(serde_json::json!({
            "synthesizer": {"name": "s"},
            "annotations": {"eno.azure.io/owner": "", "keep": "yes"},
            "optional": true,
            "dependsOn": [{"synthesizer": "base"}],
        }))
        .unwrap();
        assert_eq!(variation.annotations["eno.azure.io/owner"], "");
        assert!(variation.optional);
        assert_eq!(variation.depends_on, [VariationDependency { synthesizer: "base".into() }]);
        assert_round_trips(&variation);
    }

    #[test]
    fn status_round_trips() {
        let json = serde_json::json!({
            "observedGeneration": 4,
            "synthesized": "2024-01-01T00:00:01Z",
            "reconciled": "2024-01-01T00:00:02Z",
            "ready": "2024-01-01T00:00:03Z",
        });
        let status: SymphonyStatus = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&status).unwrap(), json);
        assert_eq!(serde_json::to_value(SymphonyStatus::default()).unwrap(), serde_json::json!({}));
    }
}
