//! `eno dev --authorization rbac`: identities and Kubernetes RBAC, judged through the real
//! kubectl (ServiceAccount tokens from `kubectl create token`, `--as` impersonation,
//! `kubectl auth can-i [--list]`, the escalation checks on RBAC writes).

#![cfg(not(madsim))]

mod support;

use support::EnoDev;

/// A namespace `team` with a ServiceAccount `app` bound to a Role that reads ConfigMaps there.
fn with_reader() -> EnoDev {
    let dev = EnoDev::start_with(&["--authorization", "rbac"]);
    dev.ok(&["create", "namespace", "team"]);
    dev.ok(&["create", "serviceaccount", "app", "-n", "team"]);
    dev.ok(&["create", "role", "cm-reader", "-n", "team", "--verb=get,list", "--resource=configmaps"]);
    dev.ok(&["create", "rolebinding", "cm-reader", "-n", "team", "--role=cm-reader", "--serviceaccount=team:app"]);
    dev.ok(&["create", "configmap", "settings", "-n", "team", "--from-literal=a=1"]);
    dev
}

/// What a kube-apiserver with only its bootstrap policy answers for that ServiceAccount
/// (`kubectl auth can-i --list`: kubectl sorts and prints the SelfSubjectRulesReview's rules).
const CAN_I_LIST: &str = "\
Resources                                       Non-Resource URLs                      Resource Names   Verbs
selfsubjectreviews.authentication.k8s.io        []                                     []               [create]
selfsubjectaccessreviews.authorization.k8s.io   []                                     []               [create]
selfsubjectrulesreviews.authorization.k8s.io    []                                     []               [create]
configmaps                                      []                                     []               [get list]
                                                [/.well-known/openid-configuration/]   []               [get]
                                                [/.well-known/openid-configuration]    []               [get]
                                                [/api/*]                               []               [get]
                                                [/api]                                 []               [get]
                                                [/apis/*]                              []               [get]
                                                [/apis]                                []               [get]
                                                [/healthz]                             []               [get]
                                                [/healthz]                             []               [get]
                                                [/livez]                               []               [get]
                                                [/livez]                               []               [get]
                                                [/openapi/*]                           []               [get]
                                                [/openapi]                             []               [get]
                                                [/openid/v1/jwks/]                     []               [get]
                                                [/openid/v1/jwks]                      []               [get]
                                                [/readyz]                              []               [get]
                                                [/readyz]                              []               [get]
                                                [/version/]                            []               [get]
                                                [/version/]                            []               [get]
                                                [/version]                             []               [get]
                                                [/version]                             []               [get]
";

#[test]
fn a_service_account_bound_to_a_role_can_do_exactly_that() {
    let dev = with_reader();
    let sa = "system:serviceaccount:team:app";
    assert_eq!(dev.ok(&["auth", "can-i", "--list", "--as", sa, "-n", "team"]), CAN_I_LIST);
    assert_eq!(dev.ok(&["auth", "can-i", "list", "configmaps", "-n", "team", "--as", sa]).trim(), "yes");
    for denied in [&["get", "secrets", "-n", "team"][..], &["get", "configmaps", "-n", "default"], &["delete", "configmaps", "-n", "team"], &["list", "configmaps", "-A"]] {
        let mut args = vec!["auth", "can-i"];
        args.extend_from_slice(denied);
        args.extend(["--as", sa]);
        let out = dev.kubectl(&args);
        assert!(!out.status.success(), "{denied:?} should be denied");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no", "{denied:?}");
    }

    // The ServiceAccount's own token, from `kubectl create token`.
    let token = dev.ok(&["create", "token", "app", "-n", "team"]);
    let as_app = |args: &[&str]| {
        let mut all = vec!["--token", token.trim()];
        all.extend_from_slice(args);
        all.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let args = as_app(&["get", "configmap", "settings", "-n", "team", "-o", "name"]);
    assert_eq!(dev.ok(&args.iter().map(String::as_str).collect::<Vec<_>>()).trim(), "configmap/settings");
    let args = as_app(&["get", "secrets", "-n", "team"]);
    let err = dev.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains(r#"secrets is forbidden: User "system:serviceaccount:team:app" cannot list resource "secrets" in API group "" in the namespace "team""#), "{err}");
    let args = as_app(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert_eq!(dev.ok(&args.iter().map(String::as_str).collect::<Vec<_>>()), sa);

    // A token stops working when its ServiceAccount goes; an unknown one never worked.
    dev.ok(&["delete", "serviceaccount", "app", "-n", "team"]);
    let args = as_app(&["get", "configmaps", "-n", "team"]);
    assert!(dev.fails(&args.iter().map(String::as_str).collect::<Vec<_>>()).contains("Unauthorized"));
    assert!(dev.fails(&["--token", "not-a-token", "get", "configmaps"]).contains("Unauthorized"));
    // A token for a ServiceAccount that does not exist is refused as the real server does.
    let err = dev.fails(&["create", "token", "ghost", "-n", "team"]);
    assert!(err.contains(r#"failed to create token: serviceaccounts "ghost" not found"#), "{err}");
    let err = dev.fails(&["create", "token", "default-sa-missing", "-n", "team", "--duration=5m"]);
    assert!(err.contains("not found"), "the account is looked up before the duration is checked: {err}");
}

#[test]
fn impersonation_needs_the_right_to_impersonate() {
    let dev = with_reader();
    let token = dev.ok(&["create", "token", "app", "-n", "team"]);
    let err = dev.fails(&["--token", token.trim(), "get", "configmaps", "--as", "jane"]);
    assert!(err.contains(r#"users "jane" is forbidden: User "system:serviceaccount:team:app" cannot impersonate resource "users" in API group "" at the cluster scope"#), "{err}");
    // The administrator may act as anyone, groups included.
    assert_eq!(dev.ok(&["auth", "can-i", "get", "pods", "--as", "jane", "--as-group", "system:masters"]).trim(), "yes");
    assert!(!dev.kubectl(&["auth", "can-i", "get", "pods", "--as", "jane"]).status.success());
}

#[test]
fn rbac_writes_cannot_grant_more_than_the_writer_holds() {
    let dev = with_reader();
    // `app` may manage Roles and RoleBindings in its namespace, and read ConfigMaps.
    dev.ok(&["create", "role", "rbac-manager", "-n", "team", "--verb=create,get,update", "--resource=roles,rolebindings"]);
    dev.ok(&["create", "rolebinding", "rbac-manager", "-n", "team", "--role=rbac-manager", "--serviceaccount=team:app"]);
    let token = dev.ok(&["create", "token", "app", "-n", "team"]);
    let token = token.trim();

    dev.ok(&["--token", token, "create", "role", "narrower", "-n", "team", "--verb=get", "--resource=configmaps"]);
    let err = dev.fails(&["--token", token, "create", "role", "wider", "-n", "team", "--verb=get,list", "--resource=secrets"]);
    assert!(
        err.contains("roles.rbac.authorization.k8s.io \"wider\" is forbidden: user \"system:serviceaccount:team:app\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:team\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}"),
        "{err}"
    );
    let err = dev.fails(&["--token", token, "create", "rolebinding", "admins", "-n", "team", "--clusterrole=cluster-admin", "--user=app"]);
    assert!(err.contains(r#"rolebindings.rbac.authorization.k8s.io "admins" is forbidden: user "system:serviceaccount:team:app""#), "{err}");
    let err = dev.fails(&["--token", token, "create", "rolebinding", "nothing", "-n", "team", "--role=missing", "--user=app"]);
    assert!(err.contains(r#"roles.rbac.authorization.k8s.io "missing" not found"#), "{err}");
    // `bind` on a role lets one bind it without holding it.
    dev.ok(&["create", "role", "binder", "-n", "team", "--verb=bind", "--resource=clusterroles", "--resource-name=view-secrets"]);
    dev.ok(&["create", "clusterrole", "view-secrets", "--verb=get", "--resource=secrets"]);
    dev.ok(&["create", "rolebinding", "binder", "-n", "team", "--role=binder", "--serviceaccount=team:app"]);
    dev.ok(&["--token", token, "create", "rolebinding", "secrets", "-n", "team", "--clusterrole=view-secrets", "--serviceaccount=team:app"]);
    assert_eq!(dev.ok(&["--token", token, "auth", "can-i", "get", "secrets", "-n", "team"]).trim(), "yes");
}

#[test]
fn the_default_mode_allows_everyone_and_the_controllers_still_work_under_rbac() {
    let open = EnoDev::start();
    assert_eq!(open.ok(&["auth", "can-i", "--list", "-n", "default"]).lines().nth(1).map(|l| l.split_whitespace().collect::<Vec<_>>()), Some(vec!["*.*", "[]", "[]", "[*]"]));
    assert_eq!(open.ok(&["auth", "can-i", "delete", "nodes", "--as", "nobody"]).trim(), "yes");

    let dev = EnoDev::start_with(&["--authorization", "rbac"]);
    dev.apply(&support::synthesizer("simple", &[r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"out","namespace":"default"},"data":{"k":"v"}}"#]));
    dev.apply("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: c\n  namespace: default\nspec:\n  synthesizer:\n    name: simple\n");
    support::eventually(std::time::Duration::from_secs(30), "the composition's ConfigMap", || {
        let out = dev.kubectl(&["get", "configmap", "out", "-o", "jsonpath={.data.k}"]);
        (out.status.success() && out.stdout == b"v").then_some(())
    });
}
