//! Kubernetes RBAC as its authorizer evaluates it (`plugin/pkg/auth/authorizer/rbac`): the rules
//! of every ClusterRoleBinding whose subjects name the user, then (for a namespaced request) of
//! that namespace's RoleBindings; a rule allows when its verb, API group, resource (with
//! `*/subresource`), resource name and non-resource URL (`*` suffix) all match. Also the
//! escalation check RBAC writes go through: a user may only grant rules they hold.

use super::{Attributes, Decision, Request, User};
use serde_json::Value;
use std::collections::BTreeMap;

/// One PolicyRule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    pub fn from_json(rule: &Value) -> Self {
        let list = |key: &str| -> Vec<String> { rule[key].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default() };
        Rule {
            verbs: list("verbs"),
            api_groups: list("apiGroups"),
            resources: list("resources"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
        }
    }

    /// The rules of a Role or ClusterRole object.
    pub fn of_role(role: &Value) -> Vec<Rule> {
        role["rules"].as_array().map(|rules| rules.iter().map(Rule::from_json).collect()).unwrap_or_default()
    }

    pub fn allows(&self, verb: &str, request: &Request) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        if !any(&self.verbs, verb) {
            return false;
        }
        match request {
            Request::NonResource { path } => self.non_resource_urls.iter().any(|url| url_matches(url, path)),
            Request::Resource { api_group, resource, subresource, name, .. } => {
                any(&self.api_groups, api_group)
                    && self.resources.iter().any(|r| resource_matches(r, resource, subresource))
                    && (self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == name))
            }
        }
    }

    /// `rbacv1helpers.CompactString`, as the escalation error lists missing rules.
    fn compact_string(&self) -> String {
        let quoted = |list: &[String]| format!("[{}]", list.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" "));
        let mut parts = Vec::new();
        for (label, list) in [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label}:{}", quoted(list)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }

    pub fn to_resource_rule(&self) -> Value {
        let mut rule = serde_json::json!({"verbs": self.verbs, "apiGroups": self.api_groups, "resources": self.resources});
        if !self.resource_names.is_empty() {
            rule["resourceNames"] = serde_json::json!(self.resource_names);
        }
        rule
    }

    pub fn to_non_resource_rule(&self) -> Value {
        serde_json::json!({"verbs": self.verbs, "nonResourceURLs": self.non_resource_urls})
    }
}

fn resource_matches(rule: &str, resource: &str, subresource: &str) -> bool {
    if rule == "*" {
        return true;
    }
    if subresource.is_empty() {
        return rule == resource;
    }
    rule == format!("{resource}/{subresource}") || rule.strip_prefix("*/") == Some(subresource)
}

fn url_matches(rule: &str, path: &str) -> bool {
    rule == "*" || rule == path || rule.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix))
}

#[derive(Debug, Clone)]
struct Subject {
    kind: String,
    name: String,
    namespace: String,
}

#[derive(Debug, Clone)]
struct Binding {
    name: String,
    /// `""` for a ClusterRoleBinding.
    namespace: String,
    role_kind: String,
    role_name: String,
    subjects: Vec<Subject>,
}

impl Binding {
    fn from_json(binding: &Value) -> Self {
        let meta = &binding["metadata"];
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        Binding {
            name: text(&meta["name"]),
            namespace: text(&meta["namespace"]),
            role_kind: text(&binding["roleRef"]["kind"]),
            role_name: text(&binding["roleRef"]["name"]),
            subjects: binding["subjects"]
                .as_array()
                .map(|s| s.iter().map(|s| Subject { kind: text(&s["kind"]), name: text(&s["name"]), namespace: text(&s["namespace"]) }).collect())
                .unwrap_or_default(),
        }
    }

    /// The first subject naming `user`, described as the allow reason words it.
    fn subject_for(&self, user: &User) -> Option<String> {
        self.subjects.iter().find_map(|s| match s.kind.as_str() {
            "User" if s.name == user.name => Some(format!("User {:?}", s.name)),
            "Group" if user.groups.contains(&s.name) => Some(format!("Group {:?}", s.name)),
            "ServiceAccount" => {
                // A subject without a namespace is in the binding's.
                let namespace = if s.namespace.is_empty() { &self.namespace } else { &s.namespace };
                let matches = !namespace.is_empty() && user.name == super::service_account_name(namespace, &s.name);
                matches.then(|| format!("ServiceAccount {:?}", format!("{}/{namespace}", s.name)))
            }
            _ => None,
        })
    }
}

/// Every Role, ClusterRole and binding, as read from the store at one revision.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    cluster_roles: BTreeMap<String, Vec<Rule>>,
    roles: BTreeMap<(String, String), Vec<Rule>>,
    cluster_bindings: Vec<Binding>,
    bindings: Vec<Binding>,
}

impl Policy {
    pub fn new(cluster_roles: &[Value], roles: &[Value], cluster_bindings: &[Value], bindings: &[Value]) -> Self {
        let name = |o: &Value| o["metadata"]["name"].as_str().unwrap_or("").to_string();
        let namespace = |o: &Value| o["metadata"]["namespace"].as_str().unwrap_or("").to_string();
        Policy {
            cluster_roles: cluster_roles.iter().map(|r| (name(r), Rule::of_role(r))).collect(),
            roles: roles.iter().map(|r| ((namespace(r), name(r)), Rule::of_role(r))).collect(),
            cluster_bindings: cluster_bindings.iter().map(Binding::from_json).collect(),
            bindings: bindings.iter().map(Binding::from_json).collect(),
        }
    }

    /// Visits the rules that apply to `user` in `namespace` (`""`: cluster bindings only), with the
    /// allow reason each would give, until `visit` returns false. Returns the resolution errors
    /// (a binding to a role that does not exist).
    fn visit(&self, user: &User, namespace: &str, mut visit: impl FnMut(&str, &Rule) -> bool) -> Vec<String> {
        let mut errors = Vec::new();
        let namespaced = self.bindings.iter().filter(|b| !namespace.is_empty() && b.namespace == namespace);
        for binding in self.cluster_bindings.iter().chain(namespaced) {
            let Some(subject) = binding.subject_for(user) else { continue };
            let rules = match binding.role_kind.as_str() {
                "ClusterRole" => self.cluster_roles.get(&binding.role_name).ok_or_else(|| format!("clusterrole.rbac.authorization.k8s.io {:?} not found", binding.role_name)),
                "Role" if !binding.namespace.is_empty() => self
                    .roles
                    .get(&(binding.namespace.clone(), binding.role_name.clone()))
                    .ok_or_else(|| format!("role.rbac.authorization.k8s.io {:?} not found", binding.role_name)),
                other => Err(format!("unsupported role reference kind: {other:?}")),
            };
            let rules = match rules {
                Ok(rules) => rules,
                Err(e) => {
                    if !errors.contains(&e) {
                        errors.push(e);
                    }
                    continue;
                }
            };
            let source = if binding.namespace.is_empty() {
                format!("ClusterRoleBinding {:?} of ClusterRole {:?} to {subject}", binding.name, binding.role_name)
            } else {
                format!("RoleBinding {:?} of {} {:?} to {subject}", format!("{}/{}", binding.name, binding.namespace), binding.role_kind, binding.role_name)
            };
            for rule in rules {
                if !visit(&source, rule) {
                    return errors;
                }
            }
        }
        errors
    }

    /// The RBAC authorizer alone (no `system:masters` shortcut).
    pub fn authorize(&self, attrs: &Attributes) -> Decision {
        let mut allowed_by = None;
        let errors = self.visit(&attrs.user, attrs.request.namespace(), |source, rule| {
            if rule.allows(&attrs.verb, &attrs.request) {
                allowed_by = Some(source.to_string());
                return false;
            }
            true
        });
        match allowed_by {
            Some(source) => Decision::Allow { reason: format!("RBAC: allowed by {source}") },
            None if errors.is_empty() => Decision::NoOpinion { reason: String::new() },
            None if errors.len() == 1 => Decision::NoOpinion { reason: format!("RBAC: {}", errors[0]) },
            None => Decision::NoOpinion { reason: format!("RBAC: [{}]", errors.join(", ")) },
        }
    }

    /// Every rule that applies to `user` in `namespace`, in visit order, and resolution errors.
    pub fn rules_for(&self, user: &User, namespace: &str) -> (Vec<Rule>, Vec<String>) {
        let mut rules = Vec::new();
        let errors = self.visit(user, namespace, |_, rule| {
            rules.push(rule.clone());
            true
        });
        (rules, errors)
    }

    /// The rules of the role a binding refers to, or the store's 404 text for a missing one.
    pub fn role_rules(&self, role_kind: &str, role_name: &str, namespace: &str) -> Result<Vec<Rule>, String> {
        match role_kind {
            "ClusterRole" => self.cluster_roles.get(role_name).cloned().ok_or_else(|| format!("clusterroles.rbac.authorization.k8s.io {role_name:?} not found")),
            _ => self.roles.get(&(namespace.to_string(), role_name.to_string())).cloned().ok_or_else(|| format!("roles.rbac.authorization.k8s.io {role_name:?} not found")),
        }
    }
}

/// The whole authorizer chain of a kube-apiserver with `--authorization-mode=RBAC`:
/// `system:masters` first (the policy is not even read), then RBAC.
pub fn authorize(attrs: &Attributes, policy: impl FnOnce() -> Policy) -> Decision {
    if attrs.user.is_master() {
        return Decision::Allow { reason: String::new() };
    }
    policy().authorize(attrs)
}

/// The escalation check (`ConfirmNoEscalation`): `None` when `owner` covers every one of
/// `granted`, else the real server's message naming what is not held.
pub fn escalation(user: &User, owner: &[Rule], granted: &[Rule]) -> Option<String> {
    let mut missing: Vec<Rule> = Vec::new();
    for rule in granted {
        for atom in breakdown(rule) {
            if !owner.iter().any(|o| covers(o, &atom)) {
                // CompactRules: one rule per (group, resource, name), verbs appended in order.
                match missing.iter_mut().find(|m| m.non_resource_urls.is_empty() && atom.non_resource_urls.is_empty() && m.api_groups == atom.api_groups && m.resources == atom.resources && m.resource_names == atom.resource_names) {
                    Some(m) if !m.verbs.contains(&atom.verbs[0]) => m.verbs.push(atom.verbs[0].clone()),
                    Some(_) => {}
                    None => missing.push(atom),
                }
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = missing.iter().map(Rule::compact_string).collect();
    lines.sort();
    lines.dedup();
    let groups = format!("[{}]", user.groups.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>().join(" "));
    Some(format!("user {:?} (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{}", user.name, lines.join("\n")))
}

/// One rule per (group, resource, verb[, name]) or (url, verb).
fn breakdown(rule: &Rule) -> Vec<Rule> {
    let mut atoms = Vec::new();
    for verb in &rule.verbs {
        for group in &rule.api_groups {
            for resource in &rule.resources {
                let one = |names: Vec<String>| Rule { verbs: vec![verb.clone()], api_groups: vec![group.clone()], resources: vec![resource.clone()], resource_names: names, non_resource_urls: vec![] };
                if rule.resource_names.is_empty() {
                    atoms.push(one(vec![]));
                } else {
                    atoms.extend(rule.resource_names.iter().map(|n| one(vec![n.clone()])));
                }
            }
        }
        for url in &rule.non_resource_urls {
            atoms.push(Rule { verbs: vec![verb.clone()], non_resource_urls: vec![url.clone()], ..Default::default() });
        }
    }
    atoms
}

/// Whether `owner` grants at least the single-verb rule `atom` (`ruleCovers`).
fn covers(owner: &Rule, atom: &Rule) -> bool {
    let has = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
    if !has(&owner.verbs, &atom.verbs[0]) {
        return false;
    }
    if let Some(url) = atom.non_resource_urls.first() {
        return owner.non_resource_urls.iter().any(|o| o == "*" || o == url || o.strip_suffix('*').is_some_and(|p| url.starts_with(p)));
    }
    let resource = &atom.resources[0];
    let resource_covered = owner.resources.iter().any(|o| {
        o == "*" || o == resource || (o.strip_prefix("*/").is_some_and(|sub| resource.split_once('/').is_some_and(|(_, s)| s == sub)))
    });
    has(&owner.api_groups, &atom.api_groups[0])
        && resource_covered
        && (owner.resource_names.is_empty() || atom.resource_names.first().is_some_and(|n| owner.resource_names.contains(n)))
}
