use super::rbac::{authorize, escalation, Policy, Rule};
use super::*;
use serde_json::json;

fn policy() -> Policy {
    let mut cluster_roles: Vec<Value> = bootstrap::objects().into_iter().filter(|o| o["kind"] == "ClusterRole").collect();
    let mut cluster_bindings: Vec<Value> = bootstrap::objects().into_iter().filter(|o| o["kind"] == "ClusterRoleBinding").collect();
    cluster_roles.push(json!({"metadata": {"name": "pod-logs"}, "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}]}));
    cluster_roles.push(json!({"metadata": {"name": "any-status"}, "rules": [{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]}]}));
    cluster_roles.push(json!({"metadata": {"name": "metrics"}, "rules": [{"nonResourceURLs": ["/metrics", "/debug/*"], "verbs": ["get"]}]}));
    cluster_bindings.push(json!({"metadata": {"name": "jane-logs"}, "roleRef": {"kind": "ClusterRole", "name": "pod-logs"}, "subjects": [{"kind": "User", "name": "jane"}]}));
    cluster_bindings.push(json!({"metadata": {"name": "ops"}, "roleRef": {"kind": "ClusterRole", "name": "any-status"}, "subjects": [{"kind": "Group", "name": "ops"}]}));
    cluster_bindings.push(json!({"metadata": {"name": "scrapers"}, "roleRef": {"kind": "ClusterRole", "name": "metrics"}, "subjects": [{"kind": "ServiceAccount", "name": "prom", "namespace": "mon"}]}));
    let roles = vec![json!({"metadata": {"name": "cm-reader", "namespace": "team"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["public"], "verbs": ["get"]},
    ]})];
    let bindings = vec![
        json!({"metadata": {"name": "readers", "namespace": "team"}, "roleRef": {"kind": "Role", "name": "cm-reader"}, "subjects": [{"kind": "ServiceAccount", "name": "app"}]}),
        json!({"metadata": {"name": "view-logs", "namespace": "team"}, "roleRef": {"kind": "ClusterRole", "name": "pod-logs"}, "subjects": [{"kind": "Group", "name": "devs"}]}),
        json!({"metadata": {"name": "dangling", "namespace": "other"}, "roleRef": {"kind": "Role", "name": "missing"}, "subjects": [{"kind": "Group", "name": "system:authenticated"}]}),
    ];
    Policy::new(&cluster_roles, &roles, &cluster_bindings, &bindings)
}

fn user(name: &str, groups: &[&str]) -> User {
    let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    groups.push(AUTHENTICATED.into());
    User { name: name.into(), groups, ..Default::default() }
}

fn resource(verb: &str, group: &str, resource: &str, sub: &str, ns: &str, name: &str) -> (String, Request) {
    (verb.into(), Request::Resource { api_group: group.into(), resource: resource.into(), subresource: sub.into(), namespace: ns.into(), name: name.into() })
}

fn path(verb: &str, p: &str) -> (String, Request) {
    (verb.into(), Request::NonResource { path: p.into() })
}

#[test]
fn the_authorizer_allows_exactly_what_the_bindings_grant() {
    let p = policy();
    let app = User::service_account("team", "app", "u1");
    let prom = User::service_account("mon", "prom", "u2");
    let jane = user("jane", &[]);
    let dev = user("dan", &["devs"]);
    let op = user("olga", &["ops"]);
    let admin = User { name: "root".into(), groups: vec![MASTERS.into()], ..Default::default() };
    let anonymous = User::anonymous();
    #[rustfmt::skip]
    let table: Vec<(&User, (String, Request), bool, &str)> = vec![
        (&app, resource("get", "", "configmaps", "", "team", "x"), true, "a Role through a RoleBinding whose ServiceAccount subject takes the binding's namespace"),
        (&app, resource("list", "", "configmaps", "", "team", ""), true, "collection verbs"),
        (&app, resource("delete", "", "configmaps", "", "team", "x"), false, "a verb the rule lacks"),
        (&app, resource("get", "", "configmaps", "", "other", "x"), false, "another namespace"),
        (&app, resource("list", "", "configmaps", "", "", ""), false, "all namespaces: only cluster bindings count"),
        (&app, resource("get", "", "secrets", "", "team", "public"), true, "a listed resource name"),
        (&app, resource("get", "", "secrets", "", "team", "private"), false, "an unlisted resource name"),
        (&app, resource("list", "", "secrets", "", "team", ""), false, "a request without a name never matches resourceNames"),
        (&app, resource("get", "apps", "configmaps", "", "team", "x"), false, "another API group"),
        (&app, resource("create", "authorization.k8s.io", "selfsubjectaccessreviews", "", "", ""), true, "system:basic-user through system:authenticated"),
        (&app, path("get", "/api"), true, "system:discovery"),
        (&app, path("get", "/api/v1"), true, "a `*` suffix matches by prefix"),
        (&app, path("get", "/.well-known/openid-configuration"), true, "issuer discovery for every ServiceAccount"),
        (&jane, path("get", "/.well-known/openid-configuration"), false, "... but not for users"),
        (&app, path("post", "/api"), false, "non-resource verbs match exactly"),
        (&app, path("get", "/metrics"), false, "an unbound role"),
        (&prom, path("get", "/metrics"), true, "a ServiceAccount subject in a ClusterRoleBinding"),
        (&prom, path("get", "/debug/pprof"), true, "a URL prefix"),
        (&prom, path("get", "/debug"), false, "`/debug/*` does not match `/debug`"),
        (&jane, resource("get", "", "pods", "", "anywhere", "p"), true, "a User subject, cluster-wide"),
        (&jane, resource("get", "", "pods", "log", "anywhere", "p"), true, "`pods/log` names the subresource"),
        (&jane, resource("get", "", "pods", "exec", "anywhere", "p"), false, "`pods` alone does not match a subresource"),
        (&dev, resource("get", "", "pods", "log", "team", "p"), true, "a ClusterRole through a RoleBinding, in its namespace"),
        (&dev, resource("get", "", "pods", "log", "prod", "p"), false, "... only there"),
        (&op, resource("get", "apps", "deployments", "status", "x", "d"), true, "`*/status` matches any resource's status"),
        (&op, resource("get", "apps", "deployments", "", "x", "d"), false, "... not the resource itself"),
        (&admin, resource("escalate", "rbac.authorization.k8s.io", "clusterroles", "", "", "x"), true, "system:masters"),
        (&anonymous, path("get", "/version"), true, "public info for anonymous"),
        (&anonymous, path("get", "/api"), false, "discovery needs authentication"),
    ];
    for (who, (verb, request), allowed, why) in table {
        let decision = authorize(&Attributes { user: who.clone(), verb: verb.clone(), request: request.clone() }, || p.clone());
        assert_eq!(decision.allowed(), allowed, "{why}: {} {verb} {request:?}: {decision:?}", who.name);
    }
}

#[test]
fn an_allowed_request_names_the_binding_and_a_dangling_one_is_reported() {
    let p = policy();
    let app = User::service_account("team", "app", "u1");
    let attrs = |user: &User, verb: &str, ns: &str| Attributes { user: user.clone(), verb: verb.into(), request: Request::resource("", "configmaps", ns, "x") };
    assert_eq!(
        authorize(&attrs(&app, "get", "team"), || p.clone()).reason(),
        r#"RBAC: allowed by RoleBinding "readers/team" of Role "cm-reader" to ServiceAccount "app/team""#
    );
    assert_eq!(authorize(&attrs(&app, "delete", "team"), || p.clone()), Decision::NoOpinion { reason: String::new() });
    assert_eq!(
        authorize(&attrs(&app, "get", "other"), || p.clone()).reason(),
        r#"RBAC: role.rbac.authorization.k8s.io "missing" not found"#,
        "a binding to a missing role is the reason given"
    );
}

#[test]
fn forbidden_messages_are_worded_like_the_real_servers() {
    let app = User::service_account("team", "app", "u1");
    let msg = |verb: &str, request: Request| forbidden(&Attributes { user: app.clone(), verb: verb.into(), request }, "").message;
    assert_eq!(msg("get", Request::resource("", "configmaps", "team", "x")), r#"configmaps "x" is forbidden: User "system:serviceaccount:team:app" cannot get resource "configmaps" in API group "" in the namespace "team""#);
    assert_eq!(msg("list", Request::resource("apps", "deployments", "", "")), r#"deployments.apps is forbidden: User "system:serviceaccount:team:app" cannot list resource "deployments" in API group "apps" at the cluster scope"#);
    let token = Request::Resource { api_group: "".into(), resource: "serviceaccounts".into(), subresource: "token".into(), namespace: "team".into(), name: "app".into() };
    assert_eq!(msg("create", token), r#"serviceaccounts "app" is forbidden: User "system:serviceaccount:team:app" cannot create resource "serviceaccounts/token" in API group "" in the namespace "team""#);
    let e = forbidden(&Attributes { user: User::anonymous(), verb: "get".into(), request: Request::NonResource { path: "/api".into() } }, "");
    assert_eq!((e.code, e.message.as_str(), e.kind.as_deref()), (403, r#"forbidden: User "system:anonymous" cannot get path "/api""#, None));
}

#[test]
fn granting_rules_one_does_not_hold_is_an_escalation() {
    let p = policy();
    let app = User::service_account("team", "app", "u1");
    let (held, errors) = p.rules_for(&app, "team");
    assert!(errors.is_empty(), "{errors:?}");
    let rule = |v: Value| Rule::from_json(&v);
    assert_eq!(escalation(&app, &held, &[rule(json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}))]), None);
    assert_eq!(escalation(&app, &held, &[rule(json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["public"], "verbs": ["get"]}))]), None);
    let message = escalation(&app, &held, &[
        rule(json!({"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "delete"]})),
        rule(json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]})),
    ]).expect("secrets and deletes are not held");
    assert_eq!(message, "user \"system:serviceaccount:team:app\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:team\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n\
        {APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"delete\"]}\n\
        {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"delete\"]}\n\
        {NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}");
}

#[test]
fn rules_for_lists_cluster_bindings_then_the_namespaces() {
    let p = policy();
    let (rules, _) = p.rules_for(&User::service_account("team", "app", "u1"), "team");
    let resources: Vec<String> = rules.iter().flat_map(|r| r.resources.iter().chain(r.non_resource_urls.iter()).cloned()).collect();
    assert_eq!(resources.last().map(String::as_str), Some("secrets"), "the namespace's Role comes last: {resources:?}");
    assert!(resources.contains(&"selfsubjectrulesreviews".to_string()) && resources.contains(&"/openid/v1/jwks".to_string()));
}
