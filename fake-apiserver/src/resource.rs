//! The resource types the server serves: built-in kinds compiled in, custom kinds registered
//! live when a CustomResourceDefinition is stored.

use crate::printer::Column;
use apimachinery::managed_fields::{AtomicLists, BuiltinLists, ListSemantics, SchemaLists};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a type's behaviour comes from. Custom resources follow the apiextensions rules
/// (merge/JSON/apply patches only, PUT needs a resourceVersion, structural schema).
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    BuiltIn,
    Custom { crd_name: String, schema: Option<CustomSchema> },
}

/// A CRD version's `openAPIV3Schema` with what every write derives from it (the list
/// semantics of apply and managedFields) prepared once, when the CRD is registered.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSchema {
    pub openapi: Value,
    lists: SchemaLists,
}

impl CustomSchema {
    pub fn new(openapi: Value) -> Self {
        CustomSchema { lists: SchemaLists::new(&openapi), openapi }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    pub origin: Origin,
    /// Server-side printing columns after `Name`.
    pub columns: Vec<Column>,
    /// Field selectors beyond `metadata.name` and `metadata.namespace`.
    pub selectable_fields: Vec<String>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// `Kind.group` as used in validation messages (`Widget.example.com`, `ConfigMap`).
    pub fn kind_group(&self) -> String {
        if self.group.is_empty() { self.kind.clone() } else { format!("{}.{}", self.kind, self.group) }
    }

    pub fn is_custom(&self) -> bool {
        matches!(self.origin, Origin::Custom { .. })
    }

    pub fn schema(&self) -> Option<&Value> {
        match &self.origin {
            Origin::Custom { schema, .. } => schema.as_ref().map(|s| &s.openapi),
            Origin::BuiltIn => None,
        }
    }

    /// How lists of this type merge for apply and field ownership: the CRD schema's
    /// `x-kubernetes-list-type`, built-in merge keys, or (a custom type without a schema)
    /// atomic.
    pub fn list_semantics(&self) -> &dyn ListSemantics {
        match &self.origin {
            Origin::Custom { schema: Some(schema), .. } => &schema.lists,
            Origin::Custom { schema: None, .. } => &AtomicLists,
            Origin::BuiltIn => &BuiltinLists,
        }
    }

    /// Storage is shared by all versions of one group/resource.
    pub fn storage_key(&self) -> StorageKey {
        StorageKey { group: self.group.clone(), plural: self.plural.clone() }
    }

    /// Every field selector this type accepts.
    pub fn field_selectors(&self) -> Vec<String> {
        let mut all = vec!["metadata.name".to_string(), "metadata.namespace".to_string()];
        all.extend(self.selectable_fields.iter().cloned());
        all
    }

    /// The generation bumps on spec changes only when status is a subresource; otherwise any
    /// change outside metadata counts (apiextensions `PrepareForUpdate`).
    pub fn tracks_generation(&self) -> bool {
        self.is_custom() || matches!(self.kind.as_str(), "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "PodDisruptionBudget" | "CustomResourceDefinition")
    }
}

/// Identifies a group/resource's objects independent of the version they are read at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorageKey {
    pub group: String,
    pub plural: String,
}

/// All types the server knows, in a deterministic order. Types are shared (`Arc`): every
/// request's [`crate::server::Target`] holds one, and a custom type carries its whole schema.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: BTreeMap<(String, String, String), Arc<ResourceType>>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        for t in builtins() {
            r.insert(t);
        }
        r
    }

    pub fn insert(&mut self, t: impl Into<Arc<ResourceType>>) {
        let t = t.into();
        self.types.insert((t.group.clone(), t.version.clone(), t.plural.clone()), t);
    }

    /// Drops every version registered by this CRD.
    pub fn remove_crd(&mut self, crd_name: &str) {
        self.types.retain(|_, t| !matches!(&t.origin, Origin::Custom { crd_name: n, .. } if n == crd_name));
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceType>> {
        self.types.get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&Arc<ResourceType>> {
        self.types.values().find(|t| t.group == group && t.version == version && t.kind == kind)
    }

    pub fn by_storage(&self, key: &StorageKey) -> Option<&Arc<ResourceType>> {
        self.types.values().find(|t| t.group == key.group && t.plural == key.plural)
    }

    pub fn all(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.values().map(|t| &**t)
    }

    /// Groups and their versions, core group (`""`) first, as discovery lists them.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values() {
            let versions = groups.entry(t.group.clone()).or_default();
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        groups
    }
}

struct BuiltIn {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    status: bool,
    fields: &'static [&'static str],
}

const BUILTINS: &[BuiltIn] = &[
    BuiltIn { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, short_names: &["ns"], status: true, fields: &["status.phase"] },
    BuiltIn { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, short_names: &["cm"], status: false, fields: &[] },
    BuiltIn { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true, short_names: &[], status: false, fields: &["type"] },
    BuiltIn { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, short_names: &["sa"], status: false, fields: &[] },
    BuiltIn { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true, short_names: &["svc"], status: true, fields: &[] },
    BuiltIn { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true, short_names: &["po"], status: true, fields: &["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"] },
    BuiltIn { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true, short_names: &["ev"], status: false, fields: &["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"] },
    BuiltIn { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true, short_names: &["deploy"], status: true, fields: &[] },
    BuiltIn { group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true, short_names: &["quota"], status: true, fields: &[] },
    BuiltIn { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true, short_names: &[], status: true, fields: &["status.successful"] },
    BuiltIn { group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true, short_names: &["cj"], status: true, fields: &[] },
    BuiltIn { group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true, short_names: &["pdb"], status: true, fields: &[] },
    BuiltIn { group: "scheduling.k8s.io", version: "v1", kind: "PriorityClass", plural: "priorityclasses", namespaced: false, short_names: &["pc"], status: false, fields: &[] },
    BuiltIn { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true, short_names: &["rs"], status: true, fields: &[] },
    BuiltIn { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true, short_names: &[], status: false, fields: &[] },
    BuiltIn { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true, short_names: &[], status: false, fields: &[] },
    BuiltIn { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false, short_names: &[], status: false, fields: &[] },
    BuiltIn { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false, short_names: &[], status: false, fields: &[] },
    BuiltIn { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true, short_names: &[], status: false, fields: &[] },
    BuiltIn { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true, short_names: &["ev"], status: false, fields: &[] },
    BuiltIn { group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false, short_names: &["crd", "crds"], status: true, fields: &[] },
];

fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|b| ResourceType {
            group: b.group.to_string(),
            version: b.version.to_string(),
            kind: b.kind.to_string(),
            plural: b.plural.to_string(),
            singular: b.kind.to_lowercase(),
            namespaced: b.namespaced,
            short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
            categories: if matches!(b.kind, "Pod" | "Service" | "Deployment" | "ReplicaSet" | "Job" | "CronJob") {
                vec!["all".to_string()]
            } else {
                Vec::new()
            },
            status_subresource: b.status,
            origin: Origin::BuiltIn,
            columns: crate::printer::default_columns(),
            selectable_fields: b.fields.iter().map(|s| s.to_string()).collect(),
        })
        .collect()
}

/// The resource types a CustomResourceDefinition object defines (one per served version), or
/// why the definition is unusable. Called after the CRD itself passed validation.
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let crd_name = crate::object::name(crd).to_string();
    let group = spec["group"].as_str().unwrap_or("").to_string();
    let names = &spec["names"];
    let kind = names["kind"].as_str().unwrap_or("").to_string();
    let plural = names["plural"].as_str().unwrap_or("").to_string();
    let singular = names["singular"].as_str().map(str::to_string).unwrap_or_else(|| kind.to_lowercase());
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for version in spec["versions"].as_array().into_iter().flatten() {
        if version["served"].as_bool() == Some(false) {
            continue;
        }
        let columns: Vec<Column> = version["additionalPrinterColumns"]
            .as_array()
            .map(|cols| {
                cols.iter()
                    .map(|c| Column {
                        name: c["name"].as_str().unwrap_or("").to_string(),
                        type_: c["type"].as_str().unwrap_or("string").to_string(),
                        format: c["format"].as_str().unwrap_or("").to_string(),
                        description: c["description"].as_str().unwrap_or("").to_string(),
                        priority: c["priority"].as_i64().unwrap_or(0) as i32,
                        json_path: c["jsonPath"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(ResourceType {
            group: group.clone(),
            version: version["name"].as_str().unwrap_or("").to_string(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status_subresource: version["subresources"]["status"].is_object(),
            origin: Origin::Custom { crd_name: crd_name.clone(), schema: version["schema"]["openAPIV3Schema"].as_object().map(|o| CustomSchema::new(Value::Object(o.clone()))) },
            columns: if columns.is_empty() { crate::printer::default_columns() } else { columns },
            selectable_fields: version["selectableFields"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["jsonPath"].as_str().map(|p| p.trim_start_matches('.').to_string())).collect())
                .unwrap_or_default(),
        });
    }
    out
}
