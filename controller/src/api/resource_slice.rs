//! `ResourceSlice`: internal storage of a synthesis's output, and per-resource reconcile status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Part of one synthesis's output (slices are packed up to ~512 KiB of manifests). Owned by its
/// composition and held by the `eno.azure.io/cleanup` finalizer until cleanup is done.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "eno.azure.io",
    version = "v1",
    kind = "ResourceSlice",
    namespaced,
    status = "ResourceSliceStatus",
    derive = "PartialEq",
    doc = "ResourceSlices hold the manifests produced by a synthesis, and the reconciliation status of each."
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSliceSpec {
    /// The synthesis that wrote this slice.
    #[serde(rename = "synthesisUUID", default, skip_serializing_if = "String::is_empty")]
    pub synthesis_uuid: String,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Manifest>,
}

/// One resource, as the synthesizer produced it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Manifest {
    /// The object as a JSON document; a string so the apiserver never prunes or reorders it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,

    /// A tombstone: the resource was in an earlier synthesis and should no longer exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Manifest {
    /// Parses the stored manifest.
    pub fn object(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_str(&self.manifest)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceSliceStatus {
    /// Index-aligned with `spec.resources`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceState>,
}

/// What the reconciler last observed for one resource. `reconciled` and `ready` latch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceState {
    /// The live object has matched the manifest at least once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconciled: bool,

    /// When the resource became ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<Time>,

    /// The resource is gone (or orphaned) after a tombstone or the composition's deletion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,

    /// Why reconciling failed, until it first succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciliation_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::assert_round_trips;

    #[test]
    fn slice_round_trips_with_eno_names() {
        let json = serde_json::json!({
            "apiVersion": "eno.azure.io/v1",
            "kind": "ResourceSlice",
            "metadata": {"name": "comp-abcde", "namespace": "default", "finalizers": ["eno.azure.io/cleanup"]},
            "spec": {
                "synthesisUUID": "u1",
                "resources": [
                    {"manifest": "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"}}"},
                    {"manifest": "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b\"}}", "deleted": true},
                ],
            },
            "status": {"resources": [
                {"reconciled": true, "ready": "2024-01-01T00:00:00Z"},
                {"reconciled": true, "deleted": true},
                {"reconciliationError": "forbidden"},
            ]},
        });
        let slice: ResourceSlice = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(slice.spec.synthesis_uuid, "u1");
        assert!(slice.spec.resources[1].deleted);
        assert_eq!(slice.spec.resources[0].object().unwrap()["metadata"]["name"], "a");
        let states = &slice.status.as_ref().unwrap().resources;
        assert!(states[0].ready.is_some() && !states[0].deleted);
        assert_eq!(states[2].reconciliation_error.as_deref(), Some("forbidden"));
        assert_eq!(serde_json::to_value(&slice).unwrap(), json);
        assert_round_trips(&slice);
    }
}
