//! Strategic-merge-patch metadata for the built-in kinds the server supports.
//!
//! Kubernetes reads `patchStrategy` / `patchMergeKey` struct tags from the Go
//! types in `k8s.io/api` by reflection. We have no Go types, so the tags that
//! matter for the supported kinds are transcribed here as a small static tree:
//! a [`Schema`] lists only the fields that carry a tag or lead to one, and every
//! other field gets the Kubernetes default for untagged fields (maps merge
//! recursively, lists are replaced atomically).
//!
//! Unlike Kubernetes, a field that the table does not know is never an error:
//! the real types reject unknown fields, but the fake server stores plain JSON,
//! so the defaults are the useful answer.

/// How a field's value is combined with the live value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// No tag: maps merge recursively, lists and scalars are replaced.
    Default,
    /// `patchStrategy:"replace"`: the value is replaced wholesale, maps included.
    Replace,
    /// `patchStrategy:"merge"`: lists of objects merge item by item on `key`;
    /// with `key: None` the list holds primitives and merges as a set.
    Merge { key: Option<&'static str> },
}

/// One tagged (or tag-leading) field of a [`Schema`].
#[derive(Debug)]
pub struct Field {
    /// The JSON field name.
    pub name: &'static str,
    pub strategy: Strategy,
    /// `patchStrategy` also contains `retainKeys`.
    pub retain_keys: bool,
    /// Schema of the value (for an object) or of each item (for a list).
    pub schema: Option<&'static Schema>,
}

/// The tagged fields of one Go struct type.
#[derive(Debug)]
pub struct Schema {
    /// The Go type name, for debugging.
    pub name: &'static str,
    pub fields: &'static [Field],
}

/// A cheap handle on the metadata of one object type (or of "no type").
#[derive(Clone, Copy, Debug)]
pub struct PatchMeta(Option<&'static Schema>);

/// The metadata of one field, as needed while patching.
#[derive(Clone, Copy, Debug)]
pub struct FieldMeta {
    pub strategy: Strategy,
    pub retain_keys: bool,
    /// Metadata of the field's value (object) or items (list).
    pub meta: PatchMeta,
}

impl FieldMeta {
    /// The `patchMergeKey` of a merged list of objects.
    pub fn merge_key(&self) -> Option<&'static str> {
        match self.strategy {
            Strategy::Merge { key } => key,
            _ => None,
        }
    }
}

impl PatchMeta {
    /// No metadata: every field takes the untagged defaults.
    pub const UNTYPED: PatchMeta = PatchMeta(None);

    /// Metadata from a schema table (used by tests and by [`builtin`]).
    pub const fn new(schema: &'static Schema) -> PatchMeta {
        PatchMeta(Some(schema))
    }

    /// Looks up `name`; unknown fields get the defaults.
    pub fn field(self, name: &str) -> FieldMeta {
        let found = self
            .0
            .and_then(|s| s.fields.iter().find(|f| f.name == name));
        match found {
            Some(f) => FieldMeta {
                strategy: f.strategy,
                retain_keys: f.retain_keys,
                meta: PatchMeta(f.schema),
            },
            None => FieldMeta {
                strategy: Strategy::Default,
                retain_keys: false,
                meta: PatchMeta::UNTYPED,
            },
        }
    }

    /// The Go type name, or `None` for untyped metadata.
    pub fn type_name(self) -> Option<&'static str> {
        self.0.map(|s| s.name)
    }
}

/// Patch metadata of a built-in kind; `group` is `""` for the core group.
/// `None` means the kind is not built in (custom resources do not support
/// strategic merge patch; the server answers 415 for them).
pub fn builtin(group: &str, kind: &str) -> Option<PatchMeta> {
    let schema: &'static Schema = match (group, kind) {
        ("", "Namespace") => &NAMESPACE,
        ("", "ConfigMap") => &CONFIG_MAP,
        ("", "Secret") => &SECRET,
        ("", "ServiceAccount") => &SERVICE_ACCOUNT,
        ("", "Service") => &SERVICE,
        ("", "Pod") => &POD,
        ("", "PodTemplate") => &POD_TEMPLATE,
        ("", "Event") => &CORE_EVENT,
        ("apps", "Deployment") => &DEPLOYMENT,
        ("apps", "ReplicaSet") => &REPLICA_SET,
        ("apps", "StatefulSet") => &STATEFUL_SET,
        ("apps", "DaemonSet") => &DAEMON_SET,
        ("batch", "Job") => &JOB,
        ("batch", "CronJob") => &CRON_JOB,
        ("", "ResourceQuota") => &RESOURCE_QUOTA,
        ("policy", "PodDisruptionBudget") => &POD_DISRUPTION_BUDGET,
        ("scheduling.k8s.io", "PriorityClass") => &PRIORITY_CLASS,
        ("rbac.authorization.k8s.io", "Role") => &ROLE,
        ("rbac.authorization.k8s.io", "ClusterRole") => &CLUSTER_ROLE,
        ("rbac.authorization.k8s.io", "RoleBinding") => &ROLE_BINDING,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => &CLUSTER_ROLE_BINDING,
        ("coordination.k8s.io", "Lease") => &LEASE,
        ("events.k8s.io", "Event") => &EVENTS_EVENT,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => &CUSTOM_RESOURCE_DEFINITION,
        _ => return None,
    };
    Some(PatchMeta::new(schema))
}

// Short constructors so the tables below read like the Go tags.

/// An untagged field that leads to tagged ones.
const fn obj(name: &'static str, schema: &'static Schema) -> Field {
    Field {
        name,
        strategy: Strategy::Default,
        retain_keys: false,
        schema: Some(schema),
    }
}

/// `patchStrategy:"merge" patchMergeKey:"<key>"` on a list of objects.
const fn merge(name: &'static str, key: &'static str, schema: Option<&'static Schema>) -> Field {
    Field {
        name,
        strategy: Strategy::Merge { key: Some(key) },
        retain_keys: false,
        schema,
    }
}

/// `patchStrategy:"merge,retainKeys" patchMergeKey:"<key>"`.
const fn merge_retain(name: &'static str, key: &'static str) -> Field {
    Field {
        name,
        strategy: Strategy::Merge { key: Some(key) },
        retain_keys: true,
        schema: None,
    }
}

/// `patchStrategy:"merge"` on a list of primitives (set semantics).
const fn set(name: &'static str) -> Field {
    Field {
        name,
        strategy: Strategy::Merge { key: None },
        retain_keys: false,
        schema: None,
    }
}

/// `patchStrategy:"retainKeys"` on an object.
const fn retain(name: &'static str) -> Field {
    Field {
        name,
        strategy: Strategy::Default,
        retain_keys: true,
        schema: None,
    }
}

/// `patchStrategy:"replace"` on an object.
const fn replace(name: &'static str) -> Field {
    Field {
        name,
        strategy: Strategy::Replace,
        retain_keys: false,
        schema: None,
    }
}

/// `status.conditions` with `patchStrategy:"merge" patchMergeKey:"type"`.
const CONDITIONS: Field = merge("conditions", "type", None);

// meta/v1

/// ObjectMeta: finalizers is a set, ownerReferences merge on uid.
static OBJECT_META: Schema = Schema {
    name: "ObjectMeta",
    fields: &[set("finalizers"), merge("ownerReferences", "uid", None)],
};

const METADATA: Field = obj("metadata", &OBJECT_META);

// core/v1

const CONTAINER_FIELDS: &[Field] = &[
    merge("ports", "containerPort", None),
    merge("env", "name", None),
    merge("volumeMounts", "mountPath", None),
    merge("volumeDevices", "devicePath", None),
];

static CONTAINER: Schema = Schema {
    name: "Container",
    fields: CONTAINER_FIELDS,
};

/// EphemeralContainerCommon carries the same tags as Container.
static EPHEMERAL_CONTAINER: Schema = Schema {
    name: "EphemeralContainer",
    fields: CONTAINER_FIELDS,
};

/// PodSpec; tolerations, readinessGates and the rest are atomic.
static POD_SPEC: Schema = Schema {
    name: "PodSpec",
    fields: &[
        merge_retain("volumes", "name"),
        merge("initContainers", "name", Some(&CONTAINER)),
        merge("containers", "name", Some(&CONTAINER)),
        merge("ephemeralContainers", "name", Some(&EPHEMERAL_CONTAINER)),
        merge("imagePullSecrets", "name", None),
        merge("hostAliases", "ip", None),
        merge("topologySpreadConstraints", "topologyKey", None),
        merge("schedulingGates", "name", None),
        merge_retain("resourceClaims", "name"),
    ],
};

static POD_STATUS: Schema = Schema {
    name: "PodStatus",
    fields: &[
        CONDITIONS,
        merge("podIPs", "ip", None),
        merge("hostIPs", "ip", None),
        merge_retain("resourceClaimStatuses", "name"),
    ],
};

static POD: Schema = Schema {
    name: "Pod",
    fields: &[METADATA, obj("spec", &POD_SPEC), obj("status", &POD_STATUS)],
};

static POD_TEMPLATE_SPEC: Schema = Schema {
    name: "PodTemplateSpec",
    fields: &[METADATA, obj("spec", &POD_SPEC)],
};

static POD_TEMPLATE: Schema = Schema {
    name: "PodTemplate",
    fields: &[METADATA, obj("template", &POD_TEMPLATE_SPEC)],
};

static NAMESPACE_STATUS: Schema = Schema {
    name: "NamespaceStatus",
    fields: &[CONDITIONS],
};

/// Namespace; spec.finalizers has no patch tags (atomic).
static NAMESPACE: Schema = Schema {
    name: "Namespace",
    fields: &[METADATA, obj("status", &NAMESPACE_STATUS)],
};

static CONFIG_MAP: Schema = Schema {
    name: "ConfigMap",
    fields: &[METADATA],
};
static SECRET: Schema = Schema {
    name: "Secret",
    fields: &[METADATA],
};

/// ServiceAccount; imagePullSecrets has no patch tags.
static SERVICE_ACCOUNT: Schema = Schema {
    name: "ServiceAccount",
    fields: &[METADATA, merge("secrets", "name", None)],
};

static SERVICE_SPEC: Schema = Schema {
    name: "ServiceSpec",
    fields: &[merge("ports", "port", None)],
};
static SERVICE_STATUS: Schema = Schema {
    name: "ServiceStatus",
    fields: &[CONDITIONS],
};

static SERVICE: Schema = Schema {
    name: "Service",
    fields: &[
        METADATA,
        obj("spec", &SERVICE_SPEC),
        obj("status", &SERVICE_STATUS),
    ],
};

static CORE_EVENT: Schema = Schema {
    name: "Event",
    fields: &[METADATA],
};

// apps/v1

/// DeploymentSpec: `strategy` is `patchStrategy:"retainKeys"`.
static DEPLOYMENT_SPEC: Schema = Schema {
    name: "DeploymentSpec",
    fields: &[obj("template", &POD_TEMPLATE_SPEC), retain("strategy")],
};

static WORKLOAD_STATUS: Schema = Schema {
    name: "WorkloadStatus",
    fields: &[CONDITIONS],
};

static DEPLOYMENT: Schema = Schema {
    name: "Deployment",
    fields: &[
        METADATA,
        obj("spec", &DEPLOYMENT_SPEC),
        obj("status", &WORKLOAD_STATUS),
    ],
};

/// ReplicaSet, StatefulSet and DaemonSet specs only lead to the pod template
/// (their update strategies and volumeClaimTemplates are untagged).
static TEMPLATED_SPEC: Schema = Schema {
    name: "TemplatedSpec",
    fields: &[obj("template", &POD_TEMPLATE_SPEC)],
};

static REPLICA_SET: Schema = Schema {
    name: "ReplicaSet",
    fields: &[
        METADATA,
        obj("spec", &TEMPLATED_SPEC),
        obj("status", &WORKLOAD_STATUS),
    ],
};

static STATEFUL_SET: Schema = Schema {
    name: "StatefulSet",
    fields: &[
        METADATA,
        obj("spec", &TEMPLATED_SPEC),
        obj("status", &WORKLOAD_STATUS),
    ],
};

static DAEMON_SET: Schema = Schema {
    name: "DaemonSet",
    fields: &[
        METADATA,
        obj("spec", &TEMPLATED_SPEC),
        obj("status", &WORKLOAD_STATUS),
    ],
};

// batch/v1

static JOB_SPEC: Schema = Schema {
    name: "JobSpec",
    fields: &[obj("template", &POD_TEMPLATE_SPEC)],
};

/// JobStatus: conditions merge on type; `active`-style lists are untagged.
static JOB_STATUS: Schema = Schema {
    name: "JobStatus",
    fields: &[CONDITIONS],
};

static JOB: Schema = Schema {
    name: "Job",
    fields: &[METADATA, obj("spec", &JOB_SPEC), obj("status", &JOB_STATUS)],
};

static JOB_TEMPLATE_SPEC: Schema = Schema {
    name: "JobTemplateSpec",
    fields: &[METADATA, obj("spec", &JOB_SPEC)],
};

/// CronJobSpec leads to the job's pod template; `status.active` is untagged.
static CRON_JOB_SPEC: Schema = Schema {
    name: "CronJobSpec",
    fields: &[obj("jobTemplate", &JOB_TEMPLATE_SPEC)],
};

static CRON_JOB: Schema = Schema {
    name: "CronJob",
    fields: &[METADATA, obj("spec", &CRON_JOB_SPEC)],
};

// policy/v1

/// PodDisruptionBudgetSpec: `selector` is `patchStrategy:"replace"`.
static POD_DISRUPTION_BUDGET_SPEC: Schema = Schema {
    name: "PodDisruptionBudgetSpec",
    fields: &[replace("selector")],
};

static POD_DISRUPTION_BUDGET_STATUS: Schema = Schema {
    name: "PodDisruptionBudgetStatus",
    fields: &[CONDITIONS],
};

static POD_DISRUPTION_BUDGET: Schema = Schema {
    name: "PodDisruptionBudget",
    fields: &[
        METADATA,
        obj("spec", &POD_DISRUPTION_BUDGET_SPEC),
        obj("status", &POD_DISRUPTION_BUDGET_STATUS),
    ],
};

// Kinds whose only tagged fields are in ObjectMeta (rules, subjects,
// aggregationRule, lease spec, event fields and the CRD spec/status are all
// untagged in the Go types).

static ROLE: Schema = Schema {
    name: "Role",
    fields: &[METADATA],
};
static CLUSTER_ROLE: Schema = Schema {
    name: "ClusterRole",
    fields: &[METADATA],
};
static ROLE_BINDING: Schema = Schema {
    name: "RoleBinding",
    fields: &[METADATA],
};
static CLUSTER_ROLE_BINDING: Schema = Schema {
    name: "ClusterRoleBinding",
    fields: &[METADATA],
};
static LEASE: Schema = Schema {
    name: "Lease",
    fields: &[METADATA],
};
static EVENTS_EVENT: Schema = Schema {
    name: "Event",
    fields: &[METADATA],
};
static RESOURCE_QUOTA: Schema = Schema {
    name: "ResourceQuota",
    fields: &[METADATA],
};
static PRIORITY_CLASS: Schema = Schema {
    name: "PriorityClass",
    fields: &[METADATA],
};
static CUSTOM_RESOURCE_DEFINITION: Schema = Schema {
    name: "CustomResourceDefinition",
    fields: &[METADATA],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Follows a dotted path of field names from a kind's root.
    fn at(meta: PatchMeta, path: &str) -> FieldMeta {
        let mut names = path.split('.');
        let first = names.next().unwrap_or_default();
        names.fold(meta.field(first), |f, name| f.meta.field(name))
    }

    fn pod() -> PatchMeta {
        builtin("", "Pod").expect("Pod is built in")
    }

    #[test]
    fn object_meta_tags() {
        for (group, kind) in [
            ("", "ConfigMap"),
            ("", "Secret"),
            ("apps", "Deployment"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            ("coordination.k8s.io", "Lease"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ] {
            let meta = builtin(group, kind).expect("built in");
            assert_eq!(
                at(meta, "metadata.finalizers").strategy,
                Strategy::Merge { key: None }
            );
            assert_eq!(
                at(meta, "metadata.ownerReferences").merge_key(),
                Some("uid")
            );
            assert_eq!(at(meta, "metadata.labels").strategy, Strategy::Default);
        }
    }

    #[test]
    fn pod_spec_tags() {
        let p = pod();
        assert_eq!(at(p, "spec.containers").merge_key(), Some("name"));
        assert_eq!(at(p, "spec.initContainers").merge_key(), Some("name"));
        assert_eq!(at(p, "spec.ephemeralContainers").merge_key(), Some("name"));
        assert_eq!(at(p, "spec.imagePullSecrets").merge_key(), Some("name"));
        assert_eq!(at(p, "spec.hostAliases").merge_key(), Some("ip"));
        assert_eq!(
            at(p, "spec.topologySpreadConstraints").merge_key(),
            Some("topologyKey")
        );
        let volumes = at(p, "spec.volumes");
        assert_eq!(volumes.merge_key(), Some("name"));
        assert!(volumes.retain_keys);
        assert_eq!(at(p, "spec.tolerations").strategy, Strategy::Default);
        assert_eq!(
            at(p, "spec.containers.ports").merge_key(),
            Some("containerPort")
        );
        assert_eq!(at(p, "spec.containers.env").merge_key(), Some("name"));
        assert_eq!(
            at(p, "spec.containers.volumeMounts").merge_key(),
            Some("mountPath")
        );
        assert_eq!(
            at(p, "spec.containers.volumeDevices").merge_key(),
            Some("devicePath")
        );
        assert_eq!(
            at(p, "spec.ephemeralContainers.env").merge_key(),
            Some("name")
        );
        assert_eq!(at(p, "spec.containers.envFrom").strategy, Strategy::Default);
        assert_eq!(at(p, "status.conditions").merge_key(), Some("type"));
        assert_eq!(at(p, "status.podIPs").merge_key(), Some("ip"));
    }

    #[test]
    fn workload_tags() {
        for kind in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"] {
            let meta = builtin("apps", kind).expect("built in");
            assert_eq!(
                at(meta, "spec.template.spec.containers").merge_key(),
                Some("name")
            );
            assert_eq!(
                at(meta, "spec.template.metadata.finalizers").strategy,
                Strategy::Merge { key: None }
            );
            assert_eq!(at(meta, "status.conditions").merge_key(), Some("type"));
        }
        let deployment = builtin("apps", "Deployment").expect("built in");
        let strategy = at(deployment, "spec.strategy");
        assert!(strategy.retain_keys);
        assert_eq!(strategy.strategy, Strategy::Default);
        assert!(
            !at(
                builtin("apps", "StatefulSet").expect("built in"),
                "spec.updateStrategy"
            )
            .retain_keys
        );
    }

    #[test]
    fn service_and_service_account_tags() {
        let svc = builtin("", "Service").expect("built in");
        assert_eq!(at(svc, "spec.ports").merge_key(), Some("port"));
        assert_eq!(at(svc, "status.conditions").merge_key(), Some("type"));
        let sa = builtin("", "ServiceAccount").expect("built in");
        assert_eq!(at(sa, "secrets").merge_key(), Some("name"));
        assert_eq!(at(sa, "imagePullSecrets").strategy, Strategy::Default);
        let ns = builtin("", "Namespace").expect("built in");
        assert_eq!(at(ns, "status.conditions").merge_key(), Some("type"));
        assert_eq!(at(ns, "spec.finalizers").strategy, Strategy::Default);
    }

    #[test]
    fn unknown_kinds_and_fields() {
        assert!(builtin("example.com", "Widget").is_none());
        assert!(builtin("apps", "Pod").is_none());
        assert!(builtin("", "Deployment").is_none());
        let f = PatchMeta::UNTYPED.field("anything");
        assert_eq!(f.strategy, Strategy::Default);
        assert!(f.meta.type_name().is_none());
        assert_eq!(pod().type_name(), Some("Pod"));
        assert_eq!(at(pod(), "spec.nope.deeper").strategy, Strategy::Default);
    }
}
