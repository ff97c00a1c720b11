//! The production executor's Pod and input Secret: what runs a synthesizer image in the
//! cluster. This module only builds objects; [`super::pod_executor::PodExecutor`] creates,
//! watches and deletes them.
//!
//! In the pod, the init container copies the `eno` binary (statically linked, so it runs in any
//! image) into the in-memory volume at `/eno`; the `synthesizer` container then runs
//! `/eno/eno execute … -- <command>` in the synthesizer's own image. That wrapper runs the
//! command as [`super::local::LocalProcessExecutor`] does (input on stdin, `execTimeout`,
//! capped stdout), passes its stderr through to the container log, and hands the output back
//! as Secrets ([`super::handback`]) with the pod's service account. When the command fails it
//! writes one line to the termination message and exits non-zero; `FallbackToLogsOnError`
//! covers a wrapper that could not even say why.
//!
//! `restartPolicy: Never`: a failed synthesis is not retried until its composition or
//! synthesizer changes, so a restarting container would only burn resources.

use std::collections::BTreeMap;

/// The exit code of `eno execute` when the synthesis failed with a verdict (invalid output, a
/// synthesizer that cannot run as specified), as opposed to a failure worth retrying.
pub const VERDICT_EXIT_CODE: i32 = 3;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, ObjectFieldSelector, Pod, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, SeccompProfile, Secret, SecretVolumeSource, SecurityContext, Toleration,
    NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::ByteString;

use super::executor::{environment, input_resource_list, SynthesisInput};
use crate::api::SynthesizerSpec;
use crate::api::annotations::{COMPOSITION_NAMESPACE_LABEL, COMPOSITION_NAME_LABEL, SYNTHESIS_UUID_LABEL, SYNTHESIZER_NAME_LABEL};
use super::handback::{format_labels, OUTPUT_LABELS_ENV, POD_NAMESPACE_ENV, POD_NAME_ENV, POD_UID_ENV};

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "eno";

/// Where the `eno` binary is copied to, inside the shared in-memory volume.
pub const EXECUTOR_PATH: &str = "/eno/eno";
/// Mount point of the input Secret.
pub const INPUT_DIR: &str = "/eno/input";
/// Where the wrapper writes why the synthesis failed (the container's `terminationMessagePath`).
pub const TERMINATION_LOG: &str = "/dev/termination-log";
/// Key of the input `ResourceList` (JSON) in the input Secret.
pub const INPUT_SECRET_KEY: &str = "resourcelist.json";
/// The non-root user (and group) every container runs as: distroless' `nonroot`.
pub const RUN_AS: i64 = 65532;
/// `activeDeadlineSeconds` when `podTimeout` cannot be read (the CRD default, 2m).
pub(crate) const DEFAULT_POD_TIMEOUT_SECONDS: u64 = 120;

/// Installation-wide settings of synthesis pods (the controller's flags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodConfig {
    /// Namespace the pods run in (Eno: `--synthesizer-pod-namespace`).
    pub namespace: String,
    /// The eno image, whose binary the init container copies into the pod.
    pub executor_image: String,
    /// Path of the `eno` binary inside `executor_image`.
    pub executor_binary: String,
    /// Service account of the pods: the wrapper uses it to hand the output back.
    pub service_account: Option<String>,
    /// Secret holding this synthesis's input `ResourceList` under [`INPUT_SECRET_KEY`] (set per
    /// synthesis by the executor).
    pub input_secret: String,
    /// Labels for every synthesis pod (network policies, cost allocation); a synthesizer's
    /// `podOverrides.labels` win over these.
    pub labels: BTreeMap<String, String>,
    /// Annotations for every synthesis pod; `podOverrides.annotations` win over these.
    pub annotations: BTreeMap<String, String>,
    /// E.g. to run syntheses on a dedicated, tainted node pool (Eno: `--taint-toleration`).
    pub tolerations: Vec<Toleration>,
    /// Node placement for every pod (Eno: `--node-affinity`); `podOverrides.affinity.nodeAffinity`
    /// replaces it.
    pub node_affinity: Option<NodeAffinity>,
    /// Longest any synthesis pod may run (Eno: `--pod-timeout`, its max TTL for synthesizer
    /// pods): a synthesizer's `podTimeout` only shortens it. `None`: the synthesizer's alone.
    pub pod_timeout: Option<std::time::Duration>,
    /// How long a pod the scheduler has placed may wait for the kubelet to start its containers
    /// before the executor gives up on it and the synthesis is retried (Eno:
    /// `--container-creation-ttl`: a partitioned node must not hold a synthesis for its whole
    /// timeout). `None`: no such limit.
    pub container_creation_ttl: Option<std::time::Duration>,
}

/// How long the synthesis pod may run: the synthesizer's `podTimeout` (the CRD's default when it
/// does not parse), capped by the installation's [`PodConfig::pod_timeout`].
pub fn pod_timeout(spec: &SynthesizerSpec, config: &PodConfig) -> std::time::Duration {
    let own = spec.pod_timeout().ok().filter(|t| !t.is_negative()).map_or(std::time::Duration::from_secs(DEFAULT_POD_TIMEOUT_SECONDS), std::time::Duration::from);
    config.pod_timeout.map_or(own, |cap| own.min(cap))
}

/// The labels the controller finds and garbage-collects pods by; neither the installation nor
/// a synthesizer may change them.
fn identity_labels(input: &SynthesisInput) -> BTreeMap<String, String> {
    let meta = &input.composition.metadata;
    BTreeMap::from([
        (COMPOSITION_NAME_LABEL.to_owned(), meta.name.clone().unwrap_or_default()),
        (COMPOSITION_NAMESPACE_LABEL.to_owned(), meta.namespace.clone().unwrap_or_default()),
        (SYNTHESIS_UUID_LABEL.to_owned(), input.uuid.clone()),
        (SYNTHESIZER_NAME_LABEL.to_owned(), input.synthesizer.metadata.name.clone().unwrap_or_default()),
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned()),
    ])
}

/// The pod that runs one synthesis (see the module docs for what happens around it).
///
/// Precedence: identity labels, then `podOverrides`, then `config`; `podOverrides.resources`
/// apply to the `synthesizer` container; each part of `podOverrides.affinity` that is set
/// replaces the same part of the defaults (node affinity from `config`, a preference for
/// spreading synthesis pods across nodes).
pub fn synthesis_pod(input: &SynthesisInput, config: &PodConfig) -> Pod {
    let overrides = &input.synthesizer.spec.pod_overrides;
    let composition = input.composition_key();

    let identity = identity_labels(input);
    let mut labels = config.labels.clone();
    labels.extend(overrides.labels.clone());
    for (key, value) in &identity {
        if labels.get(key).is_some_and(|v| v != value) {
            tracing::warn!(%composition, label = %key, "pod label override ignored: Eno identifies synthesis pods by it");
        }
        labels.insert(key.clone(), value.clone());
    }
    let mut annotations = config.annotations.clone();
    annotations.extend(overrides.annotations.clone());
    if !matches!(input.synthesizer.spec.pod_timeout(), Ok(t) if !t.is_negative()) {
        tracing::warn!(%composition, pod_timeout = %input.synthesizer.spec.pod_timeout, "invalid podTimeout; using the default");
    }

    let spec = &input.synthesizer.spec;
    let mut args = vec![
        "execute".to_owned(),
        "--input".to_owned(),
        format!("{INPUT_DIR}/{INPUT_SECRET_KEY}"),
        "--timeout".to_owned(),
        spec.exec_timeout.clone(),
        "--termination-log".to_owned(),
        TERMINATION_LOG.to_owned(),
        "--".to_owned(),
    ];
    args.extend(input.command());

    let shared = VolumeMount { name: "eno".to_owned(), mount_path: "/eno".to_owned(), ..Default::default() };
    let synthesizer = Container {
        name: "synthesizer".to_owned(),
        image: Some(spec.image.clone()),
        command: Some(vec![EXECUTOR_PATH.to_owned()]),
        args: Some(args),
        env: Some(container_env(input, &identity)),
        resources: overrides.resources.clone(),
        security_context: Some(container_security()),
        termination_message_path: Some(TERMINATION_LOG.to_owned()),
        // The wrapper writes the message; should it die before that, the log's tail says why.
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        volume_mounts: Some(vec![
            // Not read-only: the runtime creates the mount point of `/eno/input` inside it.
            shared.clone(),
            VolumeMount { name: "input".to_owned(), mount_path: INPUT_DIR.to_owned(), read_only: Some(true), ..Default::default() },
            // Synthesizers are ordinary programs: many need a scratch directory, and the root
            // filesystem is read-only.
            VolumeMount { name: "tmp".to_owned(), mount_path: "/tmp".to_owned(), ..Default::default() },
        ]),
        ..Default::default()
    };
    let installer = Container {
        name: "install-executor".to_owned(),
        image: Some(config.executor_image.clone()),
        command: Some(vec![config.executor_binary.clone(), "install-executor".to_owned(), EXECUTOR_PATH.to_owned()]),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![shared]),
        ..Default::default()
    };

    let defaults = Affinity {
        node_affinity: config.node_affinity.clone(),
        pod_affinity: None,
        pod_anti_affinity: Some(spread_across_nodes()),
    };
    let affinity = match &overrides.affinity {
        None => defaults,
        Some(custom) => Affinity {
            node_affinity: custom.node_affinity.clone().or(defaults.node_affinity),
            pod_affinity: custom.pod_affinity.clone().or(defaults.pod_affinity),
            pod_anti_affinity: custom.pod_anti_affinity.clone().or(defaults.pod_anti_affinity),
        },
    };

    Pod {
        metadata: ObjectMeta {
            generate_name: Some("synthesis-".to_owned()),
            namespace: Some(config.namespace.clone()),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".to_owned()),
            active_deadline_seconds: Some(active_deadline_seconds(pod_timeout(&input.synthesizer.spec, config))),
            service_account_name: config.service_account.clone(),
            // Service links would add variables the synthesizer did not ask for.
            enable_service_links: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(RUN_AS),
                run_as_group: Some(RUN_AS),
                fs_group: Some(RUN_AS),
                seccomp_profile: Some(runtime_default_seccomp()),
                ..Default::default()
            }),
            init_containers: Some(vec![installer]),
            containers: vec![synthesizer],
            volumes: Some(vec![
                Volume {
                    name: "eno".to_owned(),
                    empty_dir: Some(EmptyDirVolumeSource { medium: Some("Memory".to_owned()), size_limit: None }),
                    ..Default::default()
                },
                Volume {
                    name: "input".to_owned(),
                    secret: Some(SecretVolumeSource {
                        secret_name: Some(config.input_secret.clone()),
                        default_mode: Some(0o440),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Volume { name: "tmp".to_owned(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() },
            ]),
            tolerations: (!config.tolerations.is_empty()).then(|| config.tolerations.clone()),
            affinity: Some(affinity),
            ..Default::default()
        }),
        status: None,
    }
}

/// The Secret [`synthesis_pod`] mounts: the input `ResourceList`, immutable, labelled like the
/// pod so both are found and collected together.
pub fn synthesis_input_secret(input: &SynthesisInput, config: &PodConfig) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(config.input_secret.clone()),
            namespace: Some(config.namespace.clone()),
            labels: Some(identity_labels(input)),
            ..Default::default()
        },
        type_: Some("Opaque".to_owned()),
        immutable: Some(true),
        data: Some(BTreeMap::from([(INPUT_SECRET_KEY.to_owned(), ByteString(input_resource_list(input).to_json()))])),
        string_data: None,
    }
}

/// The synthesizer's [`environment`], then the wrapper's own variables (which it keeps from
/// the synthesizer): the pod's name, namespace and uid, and the labels its output gets.
fn container_env(input: &SynthesisInput, identity: &BTreeMap<String, String>) -> Vec<EnvVar> {
    let field = |name: &str, path: &str| EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { api_version: None, field_path: path.to_owned() }),
            ..Default::default()
        }),
    };
    let mut env: Vec<EnvVar> =
        environment(input).into_iter().map(|(name, value)| EnvVar { name, value: Some(value), value_from: None }).collect();
    env.push(field(POD_NAME_ENV, "metadata.name"));
    env.push(field(POD_NAMESPACE_ENV, "metadata.namespace"));
    env.push(field(POD_UID_ENV, "metadata.uid"));
    env.push(EnvVar { name: OUTPUT_LABELS_ENV.to_owned(), value: Some(format_labels(identity)), value_from: None });
    env
}

/// A timeout in whole seconds, rounded up (the API requires at least 1).
fn active_deadline_seconds(timeout: std::time::Duration) -> i64 {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    i64::try_from(seconds).unwrap_or(i64::MAX).max(1)
}

/// Prefer different nodes for concurrent syntheses, so one busy node does not slow them all.
fn spread_across_nodes() -> PodAntiAffinity {
    PodAntiAffinity {
        preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
            weight: 100,
            pod_affinity_term: PodAffinityTerm {
                topology_key: "kubernetes.io/hostname".to_owned(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned())])),
                    match_expressions: None,
                }),
                ..Default::default()
            },
        }]),
        required_during_scheduling_ignored_during_execution: None,
    }
}

/// Synthesizer images are arbitrary user code: no root, no privileges, nothing writable but the
/// volumes.
fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        capabilities: Some(Capabilities { add: None, drop: Some(vec!["ALL".to_owned()]) }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile { type_: "RuntimeDefault".to_owned(), localhost_profile: None }
}

/// Eno's `--taint-toleration`: `key=value` tolerates a NoSchedule taint with that value, `key`
/// alone one with any value.
pub fn parse_toleration(spec: &str) -> Result<Toleration, String> {
    let (key, value) = split_key(spec, "--taint-toleration")?;
    Ok(Toleration {
        key: Some(key),
        operator: Some(if value.is_some() { "Equal" } else { "Exists" }.to_owned()),
        value,
        effect: Some("NoSchedule".to_owned()),
        ..Default::default()
    })
}

/// Eno's `--node-affinity`: `key=value` requires nodes labelled so, `key` alone nodes with that
/// label.
pub fn parse_node_affinity(spec: &str) -> Result<NodeAffinity, String> {
    let (key, value) = split_key(spec, "--node-affinity")?;
    let requirement = NodeSelectorRequirement { key, operator: if value.is_some() { "In" } else { "Exists" }.to_owned(), values: value.map(|v| vec![v]) };
    Ok(NodeAffinity {
        required_during_scheduling_ignored_during_execution: Some(NodeSelector { node_selector_terms: vec![NodeSelectorTerm { match_expressions: Some(vec![requirement]), ..Default::default() }] }),
        ..Default::default()
    })
}

/// Eno's `--synthesizer-pod-labels` and `--synthesizer-pod-annotations`: comma-separated
/// `key=value` pairs (empty: none).
pub fn parse_pairs(spec: &str) -> Result<BTreeMap<String, String>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.trim().to_owned())),
            _ => Err(format!("{pair:?} is not key=value")),
        })
        .collect()
}

fn split_key(spec: &str, flag: &str) -> Result<(String, Option<String>), String> {
    let (key, value) = match spec.split_once('=') {
        Some((key, value)) => (key, Some(value.to_owned())),
        None => (spec, None),
    };
    if key.trim().is_empty() {
        return Err(format!("{flag} {spec:?}: the key is empty (key=value, or key alone)"));
    }
    Ok((key.trim().to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{EnvVar as EnoEnvVar, ResourceList};
    use crate::synthesis::executor::testing::{input, input_object};
    use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn config() -> PodConfig {
        PodConfig {
            namespace: "eno-system".to_owned(),
            executor_image: "ghcr.io/azure/eno:v0.1.0".to_owned(),
            executor_binary: "/usr/local/bin/eno".to_owned(),
            service_account: Some("eno-synthesizer".to_owned()),
            input_secret: "synthesis-8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn enos_placement_and_metadata_flags_parse_as_enos() {
        let by_value = parse_toleration("pool=synth").unwrap();
        assert_eq!((by_value.key.as_deref(), by_value.operator.as_deref(), by_value.value.as_deref(), by_value.effect.as_deref()), (Some("pool"), Some("Equal"), Some("synth"), Some("NoSchedule")));
        let by_presence = parse_toleration("dedicated").unwrap();
        assert_eq!((by_presence.operator.as_deref(), by_presence.value), (Some("Exists"), None));
        assert!(parse_toleration("=x").unwrap_err().contains("--taint-toleration"));
        assert_eq!(parse_node_affinity("agentpool=synth").unwrap(), node_affinity("agentpool", "synth"));
        let exists = parse_node_affinity("gpu").unwrap();
        let term = &exists.required_during_scheduling_ignored_during_execution.unwrap().node_selector_terms[0];
        assert_eq!(term.match_expressions.as_ref().unwrap()[0].operator, "Exists");
        assert_eq!(parse_pairs("team=a, cost-center=42,").unwrap(), BTreeMap::from([("team".into(), "a".into()), ("cost-center".into(), "42".into())]));
        assert_eq!(parse_pairs("").unwrap(), BTreeMap::new());
        assert!(parse_pairs("team").unwrap_err().contains("key=value"));
    }

    fn node_affinity(key: &str, value: &str) -> NodeAffinity {
        NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: key.to_owned(),
                        operator: "In".to_owned(),
                        values: Some(vec![value.to_owned()]),
                    }]),
                    match_fields: None,
                }],
            }),
            preferred_during_scheduling_ignored_during_execution: None,
        }
    }

    /// A production-like synthesis: a web app's synthesizer with env, overrides and inputs.
    fn realistic() -> SynthesisInput {
        let mut synthesis = input(&["/usr/bin/web-synth", "--mode", "render"]);
        synthesis.composition.metadata.name = Some("web-prod".to_owned());
        synthesis.composition.metadata.namespace = Some("team-a".to_owned());
        synthesis.composition.spec.synthesis_env = vec![
            EnoEnvVar { name: "REGION".into(), value: "westus3".into() },
            EnoEnvVar { name: "TIER".into(), value: "prod".into() },
            EnoEnvVar { name: "IMAGE".into(), value: "attacker/image".into() },
        ];
        synthesis.synthesizer.metadata.name = Some("web-app".to_owned());
        let spec = &mut synthesis.synthesizer.spec;
        spec.image = "ghcr.io/example/web-synth:v1.4.2".to_owned();
        spec.exec_timeout = "30s".to_owned();
        spec.pod_timeout = "2m".to_owned();
        spec.pod_overrides.labels = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        spec.pod_overrides.annotations =
            BTreeMap::from([("cluster-autoscaler.kubernetes.io/safe-to-evict".to_owned(), "true".to_owned())]);
        spec.pod_overrides.resources = Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity("100m".to_owned())),
                ("memory".to_owned(), Quantity("128Mi".to_owned())),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), Quantity("512Mi".to_owned()))])),
            ..Default::default()
        });
        spec.pod_overrides.affinity = Some(Affinity { node_affinity: Some(node_affinity("agentpool", "synth")), ..Default::default() });
        synthesis.inputs = vec![input_object("config", "web-config")];
        synthesis
    }

    fn containers(pod: &Pod) -> (&Container, &Container) {
        let spec = pod.spec.as_ref().unwrap();
        (&spec.init_containers.as_ref().unwrap()[0], &spec.containers[0])
    }

    fn env(container: &Container) -> Vec<(&str, &str)> {
        container.env.iter().flatten().map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or(""))).collect()
    }

    #[test]
    fn realistic_pod_snapshot() {
        let mut config = config();
        // A sidecar would keep the pod from ever completing.
        config.labels = BTreeMap::from([("sidecar.istio.io/inject".to_owned(), "false".to_owned())]);
        config.tolerations = vec![Toleration {
            key: Some("eno.azure.io/synthesis".to_owned()),
            operator: Some("Exists".to_owned()),
            effect: Some("NoSchedule".to_owned()),
            ..Default::default()
        }];
        let pod = synthesis_pod(&realistic(), &config);
        insta::with_settings!({
            snapshot_path => "../../../snapshots/executor",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_yaml_snapshot!("synthesis_pod", pod);
        });
    }

    #[test]
    fn runs_the_command_through_the_wrapper() {
        let pod = synthesis_pod(&realistic(), &config());
        let (installer, synthesizer) = containers(&pod);
        assert_eq!(installer.image.as_deref(), Some("ghcr.io/azure/eno:v0.1.0"));
        assert_eq!(installer.command.as_deref().unwrap(), ["/usr/local/bin/eno", "install-executor", "/eno/eno"]);
        assert_eq!(synthesizer.image.as_deref(), Some("ghcr.io/example/web-synth:v1.4.2"));
        assert_eq!(synthesizer.command.as_deref().unwrap(), ["/eno/eno"]);
        assert_eq!(
            synthesizer.args.as_deref().unwrap(),
            [
                "execute", "--input", "/eno/input/resourcelist.json", "--timeout", "30s", "--termination-log",
                "/dev/termination-log", "--", "/usr/bin/web-synth", "--mode", "render"
            ]
        );
        // An empty command runs Eno's default.
        let pod = synthesis_pod(&input(&[]), &config());
        assert_eq!(containers(&pod).1.args.as_deref().unwrap().last().map(String::as_str), Some("synthesize"));
    }

    #[test]
    fn env_comes_from_environment_with_collisions_dropped() {
        let pod = synthesis_pod(&realistic(), &config());
        assert_eq!(
            env(containers(&pod).1),
            [
                ("COMPOSITION_NAME", "web-prod"),
                ("COMPOSITION_NAMESPACE", "team-a"),
                ("SYNTHESIS_UUID", "8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c"),
                ("IMAGE", "ghcr.io/example/web-synth:v1.4.2"),
                ("REGION", "westus3"),
                ("TIER", "prod"),
                ("ENO_POD_NAME", ""),
                ("ENO_POD_NAMESPACE", ""),
                ("ENO_POD_UID", ""),
                (
                    "ENO_OUTPUT_LABELS",
                    "app.kubernetes.io/managed-by=eno,eno.azure.io/composition-name=web-prod,eno.azure.io/composition-namespace=team-a,eno.azure.io/synthesis-uuid=8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c,eno.azure.io/synthesizer-name=web-app"
                ),
            ]
        );
        let downward: Vec<(&str, &str)> = containers(&pod)
            .1
            .env
            .iter()
            .flatten()
            .filter_map(|e| Some((e.name.as_str(), e.value_from.as_ref()?.field_ref.as_ref()?.field_path.as_str())))
            .collect();
        assert_eq!(
            downward,
            [("ENO_POD_NAME", "metadata.name"), ("ENO_POD_NAMESPACE", "metadata.namespace"), ("ENO_POD_UID", "metadata.uid")]
        );
        assert!(env(containers(&pod).0).is_empty());
    }

    #[test]
    fn label_and_annotation_precedence() {
        let mut synthesis = realistic();
        synthesis.synthesizer.spec.pod_overrides.labels = BTreeMap::from([
            ("team".to_owned(), "from-synthesizer".to_owned()),
            (SYNTHESIS_UUID_LABEL.to_owned(), "forged".to_owned()),
            (MANAGED_BY_LABEL.to_owned(), "someone-else".to_owned()),
        ]);
        synthesis.synthesizer.spec.pod_overrides.annotations = BTreeMap::from([("note".to_owned(), "synthesizer".to_owned())]);
        let mut config = config();
        config.labels = BTreeMap::from([
            ("team".to_owned(), "from-config".to_owned()),
            ("cost-center".to_owned(), "42".to_owned()),
            (COMPOSITION_NAME_LABEL.to_owned(), "forged".to_owned()),
        ]);
        config.annotations =
            BTreeMap::from([("note".to_owned(), "config".to_owned()), ("owner".to_owned(), "platform".to_owned())]);
        let pod = synthesis_pod(&synthesis, &config);
        let labels = pod.metadata.labels.unwrap();
        let expected: BTreeMap<String, String> = [
            ("team", "from-synthesizer"),
            ("cost-center", "42"),
            (COMPOSITION_NAME_LABEL, "web-prod"),
            (COMPOSITION_NAMESPACE_LABEL, "team-a"),
            (SYNTHESIS_UUID_LABEL, "8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c"),
            (SYNTHESIZER_NAME_LABEL, "web-app"),
            (MANAGED_BY_LABEL, "eno"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(labels, expected);
        let annotations = pod.metadata.annotations.unwrap();
        assert_eq!(annotations["note"], "synthesizer");
        assert_eq!(annotations["owner"], "platform");
        assert_eq!(annotations.len(), 2);
        // Nothing to annotate: no empty map.
        assert_eq!(synthesis_pod(&input(&[]), &PodConfig::default()).metadata.annotations, None);
    }

    #[test]
    fn affinity_precedence() {
        let mut config = config();
        config.node_affinity = Some(node_affinity("pool", "from-config"));
        // No overrides: config's node affinity, default spreading.
        let pod = synthesis_pod(&input(&[]), &config);
        let affinity = pod.spec.unwrap().affinity.unwrap();
        assert_eq!(affinity.node_affinity, Some(node_affinity("pool", "from-config")));
        assert_eq!(affinity.pod_anti_affinity, Some(spread_across_nodes()));
        assert_eq!(affinity.pod_affinity, None);

        // Overrides replace the parts they set, and only those.
        let mut synthesis = input(&[]);
        synthesis.synthesizer.spec.pod_overrides.affinity =
            Some(Affinity { node_affinity: Some(node_affinity("pool", "from-synthesizer")), ..Default::default() });
        let affinity = synthesis_pod(&synthesis, &config).spec.unwrap().affinity.unwrap();
        assert_eq!(affinity.node_affinity, Some(node_affinity("pool", "from-synthesizer")));
        assert_eq!(affinity.pod_anti_affinity, Some(spread_across_nodes()));

        let custom_spread = PodAntiAffinity { preferred_during_scheduling_ignored_during_execution: Some(vec![]), ..Default::default() };
        synthesis.synthesizer.spec.pod_overrides.affinity =
            Some(Affinity { pod_anti_affinity: Some(custom_spread.clone()), ..Default::default() });
        let affinity = synthesis_pod(&synthesis, &config).spec.unwrap().affinity.unwrap();
        assert_eq!(affinity.node_affinity, Some(node_affinity("pool", "from-config")));
        assert_eq!(affinity.pod_anti_affinity, Some(custom_spread));
    }

    #[test]
    fn resources_apply_to_the_synthesizer_only() {
        let pod = synthesis_pod(&realistic(), &config());
        let (installer, synthesizer) = containers(&pod);
        assert_eq!(synthesizer.resources, realistic().synthesizer.spec.pod_overrides.resources);
        assert_eq!(installer.resources, None);
        assert_eq!(containers(&synthesis_pod(&input(&[]), &config())).1.resources, None);
    }

    #[test]
    fn deadline_follows_pod_timeout() {
        let deadline = |timeout: &str| {
            let mut synthesis = input(&[]);
            synthesis.synthesizer.spec.pod_timeout = timeout.to_owned();
            synthesis_pod(&synthesis, &config()).spec.unwrap().active_deadline_seconds
        };
        assert_eq!(deadline("2m"), Some(120));
        assert_eq!(deadline("1h30m"), Some(5400));
        assert_eq!(deadline("1.5s"), Some(2));
        assert_eq!(deadline("0s"), Some(1));
        assert_eq!(deadline("-5m"), Some(120));
        assert_eq!(deadline("whenever"), Some(120));
    }

    #[test]
    fn the_installations_pod_timeout_caps_the_synthesizers() {
        let capped = PodConfig { pod_timeout: Some(std::time::Duration::from_secs(30)), ..config() };
        let deadline = |timeout: &str, config: &PodConfig| {
            let mut synthesis = input(&[]);
            synthesis.synthesizer.spec.pod_timeout = timeout.to_owned();
            (pod_timeout(&synthesis.synthesizer.spec, config), synthesis_pod(&synthesis, config).spec.unwrap().active_deadline_seconds)
        };
        assert_eq!(deadline("2m", &capped), (std::time::Duration::from_secs(30), Some(30)));
        assert_eq!(deadline("10s", &capped), (std::time::Duration::from_secs(10), Some(10)), "a shorter podTimeout wins");
        assert_eq!(deadline("whenever", &capped), (std::time::Duration::from_secs(30), Some(30)));
        assert_eq!(deadline("2m", &config()), (std::time::Duration::from_secs(120), Some(120)), "no cap: the synthesizer's");
    }

    #[test]
    fn every_container_is_locked_down() {
        let pod = synthesis_pod(&realistic(), &config());
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        for container in spec.init_containers.iter().flatten().chain(&spec.containers) {
            let security = container.security_context.as_ref().unwrap();
            assert_eq!(security.run_as_user, Some(65532), "{}", container.name);
            assert_eq!(security.run_as_non_root, Some(true));
            assert_eq!(security.read_only_root_filesystem, Some(true));
            assert_eq!(security.allow_privilege_escalation, Some(false));
            assert_eq!(security.capabilities.as_ref().unwrap().drop.as_deref().unwrap(), ["ALL"]);
            assert_eq!(security.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
        }
        let eno = spec.volumes.iter().flatten().find(|v| v.name == "eno").unwrap();
        assert_eq!(eno.empty_dir.as_ref().unwrap().medium.as_deref(), Some("Memory"));
    }

    #[test]
    fn input_secret_holds_the_input_list() {
        let synthesis = realistic();
        let secret = synthesis_input_secret(&synthesis, &config());
        assert_eq!(secret.metadata.name.as_deref(), Some("synthesis-8a4f7c1e-5b2d-4e3a-9c6f-0d1e2f3a4b5c"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("eno-system"));
        assert_eq!(secret.immutable, Some(true));
        assert_eq!(secret.metadata.labels.as_ref().unwrap()[SYNTHESIS_UUID_LABEL], synthesis.uuid);
        let bytes = &secret.data.as_ref().unwrap()[INPUT_SECRET_KEY].0;
        assert_eq!(ResourceList::parse(bytes).unwrap().items, synthesis.inputs);
        // The pod mounts exactly this secret.
        let pod = synthesis_pod(&synthesis, &config());
        let volume = pod.spec.unwrap().volumes.unwrap().into_iter().find(|v| v.name == "input").unwrap();
        assert_eq!(volume.secret.unwrap().secret_name, secret.metadata.name);
    }
}
