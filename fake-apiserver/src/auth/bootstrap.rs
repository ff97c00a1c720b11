//! The ClusterRoles and ClusterRoleBindings a kube-apiserver creates at start-up
//! (`bootstrappolicy`), limited to those that bind broad groups: what every user, every
//! ServiceAccount and anonymous requests are allowed before anyone writes a binding.

use serde_json::{json, Value};

const GROUP: &str = "rbac.authorization.k8s.io";

fn metadata(name: &str) -> Value {
    json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClusterRole", "metadata": metadata(name), "rules": rules})
}

fn binding(name: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups.iter().map(|g| json!({"kind": "Group", "apiGroup": GROUP, "name": g})).collect();
    json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClusterRoleBinding", "metadata": metadata(name),
           "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name}, "subjects": subjects})
}

fn urls(list: &[&str]) -> Value {
    json!([{"nonResourceURLs": list, "verbs": ["get"]}])
}

/// The objects, ClusterRoles first.
pub fn objects() -> Vec<Value> {
    vec![
        cluster_role("cluster-admin", json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}])),
        cluster_role("system:discovery", urls(&["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"])),
        cluster_role("system:basic-user", json!([
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
        ])),
        cluster_role("system:public-info-viewer", urls(&["/healthz", "/livez", "/readyz", "/version", "/version/"])),
        cluster_role(
            "system:service-account-issuer-discovery",
            urls(&["/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"]),
        ),
        binding("cluster-admin", &[super::MASTERS]),
        binding("system:discovery", &[super::AUTHENTICATED]),
        binding("system:basic-user", &[super::AUTHENTICATED]),
        binding("system:public-info-viewer", &[super::AUTHENTICATED, super::UNAUTHENTICATED]),
        binding("system:service-account-issuer-discovery", &[super::SERVICE_ACCOUNTS]),
    ]
}

/// Writes the bootstrap objects into `server`, as a kube-apiserver does when it starts with RBAC.
/// Objects that already exist are left as they are.
pub fn install(server: &mut crate::ApiServer) -> crate::ApiResult<()> {
    let opts = crate::server::WriteOptions { field_manager: Some("kube-apiserver".into()), ..Default::default() };
    for object in objects() {
        let kind = object["kind"].as_str().unwrap_or_default();
        let target = server.target_for(&format!("{GROUP}/v1"), kind, None, None)?;
        match server.create(&target, object, &opts) {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
