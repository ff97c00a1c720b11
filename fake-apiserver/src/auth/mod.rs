//! Who is asking, and what they may do: users and groups as the real server names them, request
//! attributes, the 403 texts, and Kubernetes RBAC evaluated as its authorizer does ([`rbac`]),
//! over the Role/ClusterRole/binding objects in the store plus the bootstrap policy
//! ([`bootstrap`]). Pure functions: the HTTP front authenticates and calls them.

pub mod bootstrap;
pub mod rbac;

#[cfg(test)]
mod tests;

use crate::error::ApiError;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS: &str = "system:anonymous";
pub const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// An authenticated (or anonymous) user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    pub fn anonymous() -> Self {
        User { name: ANONYMOUS.into(), groups: vec![UNAUTHENTICATED.into()], ..Default::default() }
    }

    /// A ServiceAccount's user, as its token authenticates it.
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> Self {
        User {
            name: service_account_name(namespace, name),
            uid: uid.into(),
            groups: vec![SERVICE_ACCOUNTS.into(), format!("{SERVICE_ACCOUNTS}:{namespace}"), AUTHENTICATED.into()],
            extra: BTreeMap::new(),
        }
    }

    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }

    /// `userInfo` as TokenReview and SelfSubjectReview write it.
    pub fn to_json(&self) -> Value {
        let mut info = json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            info["uid"] = json!(self.uid);
        }
        if !self.extra.is_empty() {
            info["extra"] = json!(self.extra);
        }
        info
    }
}

pub fn service_account_name(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}")
}

/// `system:serviceaccount:<ns>:<name>` split, or `None` for other users.
pub fn split_service_account(user: &str) -> Option<(&str, &str)> {
    let (namespace, name) = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// What a request asks to do, as the authorizer (and the audit log) sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Request {
    #[serde(rename_all = "camelCase")]
    Resource { api_group: String, resource: String, subresource: String, namespace: String, name: String },
    NonResource { path: String },
}

impl Request {
    pub fn resource(api_group: &str, resource: &str, namespace: &str, name: &str) -> Self {
        Request::Resource { api_group: api_group.into(), resource: resource.into(), subresource: String::new(), namespace: namespace.into(), name: name.into() }
    }

    pub fn namespace(&self) -> &str {
        match self {
            Request::Resource { namespace, .. } => namespace,
            Request::NonResource { .. } => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub user: User,
    pub verb: String,
    pub request: Request,
}

/// The authorizer's answer. RBAC never denies outright: it allows or has no opinion (with a
/// reason only when it could not resolve some rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow { reason: String },
    NoOpinion { reason: String },
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    pub fn reason(&self) -> &str {
        match self {
            Decision::Allow { reason } | Decision::NoOpinion { reason } => reason,
        }
    }
}

/// The real server's 403 for a request the authorizer did not allow.
pub fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    let user = &attrs.user.name;
    let verb = &attrs.verb;
    let mut message = match &attrs.request {
        Request::NonResource { path } => format!("User {user:?} cannot {verb} path {path:?}"),
        Request::Resource { api_group, resource, subresource, namespace, .. } => {
            let resource = if subresource.is_empty() { resource.clone() } else { format!("{resource}/{subresource}") };
            let scope = if namespace.is_empty() { "at the cluster scope".to_string() } else { format!("in the namespace {namespace:?}") };
            format!("User {user:?} cannot {verb} resource {resource:?} in API group {api_group:?} {scope}")
        }
    };
    message = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    if !reason.is_empty() {
        message = format!("{message}: {reason}");
    }
    match &attrs.request {
        Request::NonResource { .. } => forbidden_error("", "", "", &message),
        Request::Resource { api_group, resource, name, .. } => forbidden_error(api_group, resource, name, &message),
    }
}

/// `apierrors.NewForbidden`: `<resource[.group]> ["name"] is forbidden: <why>`.
pub fn forbidden_error(api_group: &str, resource: &str, name: &str, why: &str) -> ApiError {
    let qualified = if api_group.is_empty() { resource.to_string() } else { format!("{resource}.{api_group}") };
    let message = match (qualified.is_empty(), name.is_empty()) {
        (true, _) => format!("forbidden: {why}"),
        (false, true) => format!("{qualified} is forbidden: {why}"),
        (false, false) => format!("{qualified} {name:?} is forbidden: {why}"),
    };
    let mut e = ApiError::forbidden(message);
    e.name = (!name.is_empty()).then(|| name.to_string());
    e.group = (!api_group.is_empty()).then(|| api_group.to_string());
    e.kind = (!resource.is_empty()).then(|| resource.to_string());
    e
}
