//! Every `kubectl create <kind>` generator against `eno dev`. They use client-go's typed
//! clients, which send protobuf bodies and ask for protobuf answers: each object must be stored
//! as the generator meant it (read back in JSON), pointer zeros such as `replicas: 0` included.

#![cfg(not(madsim))]

mod support;

use serde_json::json;
use support::EnoDev;

/// A throw-away self-signed EC certificate and its key, for `create secret tls` (kubectl checks
/// that they form a pair).
const TLS_CRT: &str = "-----BEGIN CERTIFICATE-----
MIIBfjCCASOgAwIBAgIUaBu1w6OI9gA+DO1gd7A5orNpZt0wCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIZW5vLXRlc3QwIBcNMjYxMjAzMTA1MDU1WhgPMjEyNjExMDkx
MDUwNTVaMBMxETAPBgNVBAMMCGVuby10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAERu1+1ORk/XZSYg562pCdrrbYF+R3jC38EA+5wvs2y0q38j1UhNJ1sqLR
cNUo7DslkWOmBGcLWjY7VbDguFK9uKNTMFEwHQYDVR0OBBYEFAVkC/wRg99q3TUZ
dBh+jj9WT53AMB8GA1UdIwQYMBaAFAVkC/wRg99q3TUZdBh+jj9WT53AMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAKAf80ESCA6xH6+uPz+/Pxn0
D6fN3GqLvymnUbpZ7GFlAiEA9aHYNt1GsqSGzVRfN3UOYfq6OYifzqITmG78L+q8
OXc=
-----END CERTIFICATE-----
";
const TLS_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSVKXHxrXVMlljYeN
MDbrlcu7y17j/r5w6bh6DMR3DKqhRANCAARG7X7U5GT9dlJiDnrakJ2uttgX5HeM
LfwQD7nC+zbLSrfyPVSE0nWyotFw1SjsOyWRY6YEZwtaNjtVsOC4Ur24
-----END PRIVATE KEY-----
";

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn configmaps_secrets_and_namespaces() {
    let dev = EnoDev::start();
    let file = dev.file("app.properties", "color=blue\n");
    let out = dev.ok(&["create", "configmap", "settings", "--from-literal=a=1", "--from-literal=empty=", &format!("--from-file={}", file.display())]);
    assert_eq!(out.trim(), "configmap/settings created");
    let cm = dev.json(&["get", "configmap", "settings", "--show-managed-fields"]);
    assert_eq!(cm["data"], json!({"a": "1", "empty": "", "app.properties": "color=blue\n"}));
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl-create");
    assert!(cm["metadata"].get("selfLink").is_none() && cm["metadata"].get("generateName").is_none(), "{cm}");

    dev.ok(&["create", "secret", "generic", "creds", "--from-literal=token=s3cret"]);
    let secret = dev.json(&["get", "secret", "creds"]);
    assert_eq!((secret["type"].as_str(), secret["data"]["token"].as_str()), (Some("Opaque"), Some("czNjcmV0")), "the server defaults the type");

    let crt = dev.file("tls.crt", TLS_CRT);
    let key = dev.file("tls.key", TLS_KEY);
    dev.ok(&["create", "secret", "tls", "web-tls", &format!("--cert={}", crt.display()), &format!("--key={}", key.display())]);
    let tls = dev.json(&["get", "secret", "web-tls"]);
    assert_eq!(tls["type"], "kubernetes.io/tls");
    assert_eq!(tls["data"]["tls.crt"], base64(TLS_CRT));
    assert_eq!(tls["data"]["tls.key"], base64(TLS_KEY));

    dev.ok(&["create", "secret", "docker-registry", "pull", "--docker-server=registry.example.com", "--docker-username=u", "--docker-password=p"]);
    let pull = dev.json(&["get", "secret", "pull"]);
    assert_eq!(pull["type"], "kubernetes.io/dockerconfigjson");
    assert!(pull["data"][".dockerconfigjson"].is_string(), "{pull}");

    assert_eq!(dev.ok(&["create", "namespace", "team-a"]).trim(), "namespace/team-a created");
    assert_eq!(dev.json(&["get", "namespace", "team-a"])["status"]["phase"], "Active");
    dev.ok(&["create", "serviceaccount", "robot", "-n", "team-a"]);
    assert_eq!(dev.json(&["get", "serviceaccount", "robot", "-n", "team-a"])["metadata"]["namespace"], "team-a");
}

#[test]
fn workloads_and_services() {
    let dev = EnoDev::start();
    dev.ok(&["create", "deployment", "web", "--image=nginx:1.27", "--replicas=0", "--port=8080"]);
    let deploy = dev.json(&["get", "deployment", "web"]);
    assert_eq!(deploy["spec"]["replicas"], 0, "a pointer's zero is kept: {deploy}");
    assert_eq!(deploy["spec"]["selector"]["matchLabels"], json!({"app": "web"}));
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!((container["name"].as_str(), container["image"].as_str()), (Some("nginx"), Some("nginx:1.27")));
    assert_eq!(container["ports"], json!([{"containerPort": 8080}]));
    assert!(container.get("stdin").is_none() && container.get("workingDir").is_none(), "zeros Go's JSON leaves out stay out: {container}");

    dev.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    let svc = dev.json(&["get", "service", "web"]);
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080, "an IntOrString number");
    assert_eq!(svc["spec"]["selector"], json!({"app": "web"}));

    dev.ok(&["create", "job", "migrate", "--image=busybox", "--", "sh", "-c", "true"]);
    let job = dev.json(&["get", "job", "migrate"]);
    assert_eq!(job["spec"]["template"]["spec"]["containers"][0]["command"], json!(["sh", "-c", "true"]));
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");

    dev.ok(&["create", "cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *"]);
    assert_eq!(dev.json(&["get", "cronjob", "nightly"])["spec"]["schedule"], "0 3 * * *");
    // `--from` reads the CronJob through the typed client (a protobuf answer) first.
    dev.ok(&["create", "job", "nightly-now", "--from=cronjob/nightly"]);
    let from = dev.json(&["get", "job", "nightly-now"]);
    assert_eq!(from["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual");
    assert_eq!(from["metadata"]["ownerReferences"][0]["kind"], "CronJob");

    dev.ok(&["create", "poddisruptionbudget", "web", "--selector=app=web", "--min-available=50%"]);
    assert_eq!(dev.json(&["get", "pdb", "web"])["spec"]["minAvailable"], "50%", "an IntOrString string");
    dev.ok(&["create", "priorityclass", "low", "--value=0", "--description=batch"]);
    let pc = dev.json(&["get", "priorityclass", "low"]);
    assert_eq!((pc["value"].as_i64(), pc["description"].as_str()), (Some(0), Some("batch")), "a field without omitempty keeps its zero: {pc}");
    dev.ok(&["create", "quota", "pods", "--hard=pods=10,requests.cpu=2"]);
    assert_eq!(dev.json(&["get", "quota", "pods"])["spec"]["hard"], json!({"pods": "10", "requests.cpu": "2"}));
}

#[test]
fn rbac_objects() {
    let dev = EnoDev::start();
    dev.ok(&["create", "role", "reader", "--verb=get,list", "--resource=configmaps", "--resource-name=settings"]);
    let role = dev.json(&["get", "role", "reader"]);
    assert_eq!(role["rules"], json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["settings"], "verbs": ["get", "list"]}]));
    dev.ok(&["create", "rolebinding", "reader", "--role=reader", "--serviceaccount=default:robot", "--user=jane"]);
    let binding = dev.json(&["get", "rolebinding", "reader"]);
    assert_eq!(binding["roleRef"], json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}));
    assert_eq!(binding["subjects"].as_array().map(Vec::len), Some(2), "{binding}");
    dev.ok(&["create", "clusterrole", "pod-reader", "--verb=get", "--resource=pods", "--non-resource-url=/healthz"]);
    let cr = dev.json(&["get", "clusterrole", "pod-reader"]);
    assert_eq!(cr["rules"][1], json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}), "{cr}");
    dev.ok(&["create", "clusterrolebinding", "pod-readers", "--clusterrole=pod-reader", "--group=devs"]);
    assert_eq!(dev.json(&["get", "clusterrolebinding", "pod-readers"])["subjects"][0]["name"], "devs");
}

const DEPLOYMENT_WITH_TYPOS: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicaCount: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx, imagePolicy: x}]\n";

#[test]
fn fields_a_built_in_kind_lacks_are_refused_warned_about_or_dropped() {
    let dev = EnoDev::start();
    // kubectl's default validation asks the server to be strict.
    let out = dev.with_stdin(&["create", "-f", "-"], DEPLOYMENT_WITH_TYPOS);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicaCount", unknown field "spec.template.spec.containers[0].imagePolicy""#), "{err}");
    assert!(dev.kubectl(&["get", "deployment", "web"]).status.code() != Some(0), "nothing was created");
    let out = dev.with_stdin(&["create", "--validate=warn", "-f", "-"], DEPLOYMENT_WITH_TYPOS);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r#"Warning: unknown field "spec.replicaCount""#) && err.contains(r#"Warning: unknown field "spec.template.spec.containers[0].imagePolicy""#), "{err}");
    let stored = dev.json(&["get", "deployment", "web"]);
    assert!(stored["spec"].get("replicaCount").is_none() && stored["spec"]["template"]["spec"]["containers"][0].get("imagePolicy").is_none(), "{stored}");
}
