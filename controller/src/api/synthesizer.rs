//! `Synthesizer`: a container image that turns a composition (and its inputs) into manifests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements};
use kube::core::duration::{Duration, ParseError};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A process, run in a container, that implements the KRM function protocol: it reads a
/// `ResourceList` of inputs on stdin and writes the desired resources as a `ResourceList`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "eno.azure.io",
    version = "v1",
    kind = "Synthesizer",
    status = "SynthesizerStatus",
    derive = "PartialEq",
    doc = "Synthesizers are processes, packaged as container images, that implement the KRM function protocol and generate the desired state of a composition's resources.",
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.image")
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "duration(self.execTimeout) <= duration(self.podTimeout)",
    "message": "podTimeout must be greater than execTimeout",
}]))]
pub struct SynthesizerSpec {
    /// Container image the synthesizer runs in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,

    /// Command (argv) run inside the image.
    #[serde(default = "default_command")]
    pub command: Vec<String>,

    /// Timeout for each execution of the command (Go duration syntax).
    #[serde(default = "default_exec_timeout")]
    pub exec_timeout: String,

    /// How long a synthesis pod may exist before it is replaced (Go duration syntax).
    #[serde(default = "default_pod_timeout")]
    pub pod_timeout: String,

    /// The synthesizer's inputs: resource kinds, bound to objects by compositions' bindings (or
    /// by the ref itself when it names the object).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<Ref>,

    /// Values merged into the pods that run this synthesizer.
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub pod_overrides: PodOverrides,
}

fn default_command() -> Vec<String> {
    vec!["synthesize".to_owned()]
}

fn default_exec_timeout() -> String {
    "10s".to_owned()
}

fn default_pod_timeout() -> String {
    "2m".to_owned()
}

impl Default for SynthesizerSpec {
    /// The spec the apiserver stores for `spec: {}`.
    fn default() -> Self {
        Self {
            image: String::new(),
            command: default_command(),
            exec_timeout: default_exec_timeout(),
            pod_timeout: default_pod_timeout(),
            refs: Vec::new(),
            pod_overrides: PodOverrides::default(),
        }
    }
}

impl SynthesizerSpec {
    /// `execTimeout` parsed as a Go duration.
    pub fn exec_timeout(&self) -> Result<Duration, ParseError> {
        self.exec_timeout.parse()
    }

    /// `podTimeout` parsed as a Go duration.
    pub fn pod_timeout(&self) -> Result<Duration, ParseError> {
        self.pod_timeout.parse()
    }
}

/// A synthesizer input: a kind of resource, identified by `key` in bindings and in the input
/// `ResourceList` (annotation `eno.azure.io/input-key`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ref {
    pub key: String,
    pub resource: ResourceRef,

    /// Changes to a deferred input are rolled out with the cluster-wide cooldown instead of
    /// re-synthesizing at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub defer: bool,

    /// Synthesis may proceed while an optional input does not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// The kind of a ref's resource, and optionally the object itself ("implicit binding").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRef {
    /// Empty for the core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    pub kind: String,
    /// When set, this ref is bound to the named object without a binding on the composition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl ResourceRef {
    /// `group/version`, or `version` alone for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }
}

/// Pod settings for synthesizers that need them (labels for policy, resources, placement).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PodOverrides {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
}

/// Synthesizers have no status; the subresource exists so spec writes never touch it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SynthesizerStatus {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::{assert_round_trips, documents, seed};

    #[test]
    fn seed_synthesizers_deserialize_with_defaults() {
        for (file, name) in [
            ("synthesizer-example.yaml", "example"),
            ("synthesizer-error-example.yaml", "error-example"),
        ] {
            let synths: Vec<Synthesizer> = documents(&seed(file));
            assert_eq!(synths.len(), 1, "{file}");
            let synth = &synths[0];
            assert_eq!(synth.metadata.name.as_deref(), Some(name));
            assert_eq!(synth.spec.image, "docker.io/ubuntu:latest");
            assert_eq!(synth.spec.command[..2], ["/bin/bash", "-c"]);
            assert!(synth.spec.command[2].contains("\"kind\":\"ResourceList\""));
            assert_eq!(synth.spec.exec_timeout, "10s");
            assert_eq!(synth.spec.pod_timeout, "2m");
            assert!(synth.spec.refs.is_empty());
            assert_round_trips(synth);
        }
    }

    #[test]
    fn empty_spec_gets_eno_defaults() {
        let spec: SynthesizerSpec = serde_json::from_str("{}").unwrap();
        assert_eq!(spec, SynthesizerSpec::default());
        assert_eq!(spec.command, ["synthesize"]);
        assert_eq!(spec.exec_timeout().unwrap(), std::time::Duration::from_secs(10));
        assert_eq!(spec.pod_timeout().unwrap(), std::time::Duration::from_secs(120));
        // Unset optional parts are omitted, defaulted ones are written out.
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            serde_json::json!({"command": ["synthesize"], "execTimeout": "10s", "podTimeout": "2m"})
        );
    }

    #[test]
    fn refs_and_pod_overrides_use_eno_names() {
        let json = serde_json::json!({
            "image": "synth:1",
            "refs": [
                {"key": "config", "resource": {"version": "v1", "kind": "ConfigMap"}, "defer": true},
                {"key": "cluster", "resource": {"group": "example.com", "version": "v1", "kind": "Cluster",
                    "name": "main", "namespace": "infra"}, "optional": true},
            ],
            "podOverrides": {
                "labels": {"team": "a"},
                "annotations": {"note": "b"},
                "resources": {"limits": {"memory": "128Mi"}},
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["synth"]}]}]
                }}},
            },
        });
        let spec: SynthesizerSpec = serde_json::from_value(json).unwrap();
        assert_eq!(spec.refs.len(), 2);
        assert!(spec.refs[0].defer && !spec.refs[0].optional);
        assert_eq!(spec.refs[1].resource.name, "main");
        assert!(spec.refs[1].optional);
        assert_eq!(spec.pod_overrides.labels["team"], "a");
        assert!(spec.pod_overrides.affinity.is_some());
        let synth = Synthesizer::new("s", spec);
        assert_round_trips(&synth);
        let value = serde_json::to_value(&synth).unwrap();
        assert_eq!(value["spec"]["refs"][1]["optional"], true);
        assert!(value["spec"]["refs"][0].get("optional").is_none(), "false flags are omitted");
        assert_eq!(value["spec"]["podOverrides"]["resources"]["limits"]["memory"], "128Mi");
    }

    #[test]
    fn bad_duration_is_an_error() {
        let spec = SynthesizerSpec { exec_timeout: "soon".into(), ..Default::default() };
        assert!(spec.exec_timeout().is_err());
    }
}
