//! How a synthesis pod hands its output back to the controller: `eno execute` writes the
//! synthesizer's stdout into Secrets `<pod-name>-output-<i>` in the pod's namespace, each at
//! most [`MAX_CHUNK_BYTES`] of data under [`OUTPUT_KEY`], labelled with the pod's identity
//! labels, annotated [`CHUNKS_ANNOTATION`] with their total count and owned by the pod (so
//! garbage collection removes them with it); the pod executor reads them back once the pod
//! has succeeded.
//!
//! Secrets, not the termination message or the log: the output may be megabytes (Secret data is
//! capped near 1 MiB per object, hence the chunks), and inputs and outputs often hold
//! credentials.
//!
//! The pod tells the wrapper who it is through [`POD_NAME_ENV`], [`POD_NAMESPACE_ENV`],
//! [`POD_UID_ENV`] (downward API) and [`OUTPUT_LABELS_ENV`]; the wrapper keeps these from the
//! synthesizer.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::ByteString;
use serde_json::Value;

use super::outcome::SynthesisError;
use crate::api::annotations::CHUNKS_ANNOTATION;

/// Key of a chunk's bytes in an output Secret.
pub const OUTPUT_KEY: &str = "output";
/// Data per output Secret: below the API server's ~1 MiB object limit with room for metadata.
pub const MAX_CHUNK_BYTES: usize = 900 * 1024;

/// The pod's name (downward API `metadata.name`).
pub const POD_NAME_ENV: &str = "ENO_POD_NAME";
/// The pod's namespace (downward API `metadata.namespace`).
pub const POD_NAMESPACE_ENV: &str = "ENO_POD_NAMESPACE";
/// The pod's uid (downward API `metadata.uid`), for the output Secrets' owner reference.
pub const POD_UID_ENV: &str = "ENO_POD_UID";
/// The pod's identity labels, `key=value` joined by commas (a label selector).
pub const OUTPUT_LABELS_ENV: &str = "ENO_OUTPUT_LABELS";
/// The wrapper's own variables: not passed on to the synthesizer.
pub const WRAPPER_ENV: [&str; 4] = [POD_NAME_ENV, POD_NAMESPACE_ENV, POD_UID_ENV, OUTPUT_LABELS_ENV];

/// Who the pod is: where its output goes and what it is labelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodIdentity {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
}

impl PodIdentity {
    /// From the wrapper's environment (`lookup` is `std::env::var` in the pod).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let required = |name: &str| {
            lookup(name).filter(|v| !v.is_empty()).ok_or_else(|| format!("{name} is not set: not running in a synthesis pod"))
        };
        Ok(Self {
            name: required(POD_NAME_ENV)?,
            namespace: required(POD_NAMESPACE_ENV)?,
            uid: required(POD_UID_ENV)?,
            labels: parse_labels(&lookup(OUTPUT_LABELS_ENV).unwrap_or_default())?,
        })
    }
}

/// `a=1,b=2`: the labels of [`OUTPUT_LABELS_ENV`]. Label keys and values hold no `,` or `=`.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("{OUTPUT_LABELS_ENV} holds {pair:?}, not key=value")),
        })
        .collect()
}

pub fn output_secret_name(pod: &str, index: usize) -> String {
    format!("{pod}-output-{index}")
}

/// The Secrets holding `output`, in order; at least one, so that an empty output is told apart
/// from a missing one.
pub fn output_secrets(pod: &PodIdentity, output: &[u8]) -> Vec<Secret> {
    let chunks: Vec<&[u8]> = if output.is_empty() { vec![output] } else { output.chunks(MAX_CHUNK_BYTES).collect() };
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| Secret {
            metadata: ObjectMeta {
                name: Some(output_secret_name(&pod.name, index)),
                namespace: Some(pod.namespace.clone()),
                labels: Some(pod.labels.clone()),
                annotations: Some(BTreeMap::from([(CHUNKS_ANNOTATION.to_owned(), count.to_string())])),
                owner_references: Some(vec![OwnerReference {
                    api_version: "v1".to_owned(),
                    kind: "Pod".to_owned(),
                    name: pod.name.clone(),
                    uid: pod.uid.clone(),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            immutable: Some(true),
            data: Some(BTreeMap::from([(OUTPUT_KEY.to_owned(), ByteString(chunk.to_vec()))])),
            ..Default::default()
        })
        .collect()
}

/// The output of pod `pod`, put back together from `secrets` (a list that may hold other
/// Secrets too: only `<pod>-output-<i>` count). Every chunk must be there, exactly once.
pub fn reassemble(pod: &str, secrets: &[Value]) -> Result<Vec<u8>, SynthesisError> {
    let fail = |reason: String| SynthesisError::OutputHandback(format!("output of pod {pod} {reason}"));
    let prefix = format!("{pod}-output-");
    let mut chunks: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut count: Option<usize> = None;
    for value in secrets {
        let Some(index) = value["metadata"]["name"].as_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Ok(index) = index.parse::<usize>() else { continue };
        let secret: Secret = serde_json::from_value(value.clone()).map_err(|e| fail(format!("chunk {index} is not a Secret: {e}")))?;
        let annotated = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CHUNKS_ANNOTATION))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| fail(format!("chunk {index} has no valid {CHUNKS_ANNOTATION} annotation")))?;
        if count.is_some_and(|c| c != annotated) {
            return Err(fail("has chunks that disagree on their count".to_owned()));
        }
        count = Some(annotated);
        let bytes = secret.data.and_then(|mut d| d.remove(OUTPUT_KEY)).map(|b| b.0).unwrap_or_default();
        chunks.insert(index, bytes);
    }
    let Some(count) = count else { return Err(fail("was not found".to_owned())) };
    if chunks.len() != count || chunks.keys().next_back().is_some_and(|last| *last + 1 != count) {
        return Err(fail(format!("is incomplete: {} of {count} chunks found", chunks.len())));
    }
    Ok(chunks.into_values().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> PodIdentity {
        PodIdentity {
            name: "synthesis-abcde".to_owned(),
            namespace: "eno-system".to_owned(),
            uid: "0f1e2d3c".to_owned(),
            labels: BTreeMap::from([("eno.azure.io/synthesis-uuid".to_owned(), "u-1".to_owned())]),
        }
    }

    fn values(secrets: &[Secret]) -> Vec<Value> {
        secrets.iter().map(|s| serde_json::to_value(s).unwrap()).collect()
    }

    #[test]
    fn output_round_trips_through_chunks() {
        let output: Vec<u8> = (0..(2 * MAX_CHUNK_BYTES + 17)).map(|i| (i % 251) as u8).collect();
        let secrets = output_secrets(&pod(), &output);
        assert_eq!(secrets.len(), 3);
        for (i, secret) in secrets.iter().enumerate() {
            assert_eq!(secret.metadata.name.as_deref(), Some(format!("synthesis-abcde-output-{i}").as_str()));
            assert_eq!(secret.metadata.annotations.as_ref().unwrap()[CHUNKS_ANNOTATION], "3");
            assert_eq!(secret.metadata.labels, Some(pod().labels));
            let owner = &secret.metadata.owner_references.as_ref().unwrap()[0];
            assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Pod", "synthesis-abcde", "0f1e2d3c"));
            assert!(secret.data.as_ref().unwrap()[OUTPUT_KEY].0.len() <= MAX_CHUNK_BYTES);
        }
        // Listed in any order, among other Secrets.
        let mut listed = values(&secrets);
        listed.reverse();
        listed.push(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "synthesis-other-output-0"}}));
        assert_eq!(reassemble("synthesis-abcde", &listed).unwrap(), output);
    }

    #[test]
    fn empty_output_is_one_empty_chunk() {
        let secrets = output_secrets(&pod(), b"");
        assert_eq!(secrets.len(), 1);
        assert_eq!(reassemble("synthesis-abcde", &values(&secrets)).unwrap(), b"");
    }

    #[test]
    fn missing_chunks_fail() {
        let output = vec![b'x'; MAX_CHUNK_BYTES + 1];
        let mut listed = values(&output_secrets(&pod(), &output));
        listed.remove(0);
        assert_eq!(
            reassemble("synthesis-abcde", &listed).unwrap_err().to_string(),
            "synthesis output could not be read back: output of pod synthesis-abcde is incomplete: 1 of 2 chunks found"
        );
        assert_eq!(
            reassemble("synthesis-abcde", &[]).unwrap_err().to_string(),
            "synthesis output could not be read back: output of pod synthesis-abcde was not found"
        );
    }

    #[test]
    fn identity_comes_from_the_environment() {
        let env = BTreeMap::from([
            (POD_NAME_ENV, "synthesis-abcde"),
            (POD_NAMESPACE_ENV, "eno-system"),
            (POD_UID_ENV, "0f1e2d3c"),
            (OUTPUT_LABELS_ENV, "eno.azure.io/synthesis-uuid=u-1"),
        ]);
        let identity = PodIdentity::from_env(|name| env.get(name).map(|v| v.to_string())).unwrap();
        assert_eq!(identity, pod());
        assert_eq!(format_labels(&identity.labels), "eno.azure.io/synthesis-uuid=u-1");
        let error = PodIdentity::from_env(|name| (name != POD_UID_ENV).then(|| env[name].to_string())).unwrap_err();
        assert_eq!(error, "ENO_POD_UID is not set: not running in a synthesis pod");
    }
}
