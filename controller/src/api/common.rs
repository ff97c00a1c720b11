//! Pieces shared by Composition, Symphony (and its variations).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which synthesizer a composition runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.name) || has(self.labelSelector)",
    "message": "at least one of name or labelSelector must be set",
}]))]
pub struct SynthesizerRef {
    /// Name of the (cluster-scoped) Synthesizer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,

    /// Accepted for compatibility with Eno's API, which declares but never resolves it: a
    /// composition that sets only a selector has no synthesizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
}

impl SynthesizerRef {
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: name.into(), label_selector: None }
    }
}

/// Maps a synthesizer ref (by key) to a specific resource, making it an input of the synthesis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Binding {
    /// The `key` of the synthesizer ref this binding fills. Binding a key the synthesizer does not
    /// (yet) declare is valid.
    pub key: String,
    pub resource: ResourceBinding,
}

/// The resource a binding points at; its kind comes from the synthesizer's ref.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceBinding {
    pub name: String,
    /// Empty for cluster-scoped inputs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// An environment variable given to the synthesizer process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnvVar {
    #[schemars(length(max = 100))]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// Names another composition, for `dependsOn`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct CompositionRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}
