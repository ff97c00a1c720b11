//! The real helm against `eno dev`: it installs a chart's resources through the JSON dynamic
//! client and keeps each release as a Secret through client-go's typed (protobuf) client, so a
//! release's whole life crosses both wire formats.

#![cfg(not(madsim))]

mod support;

use serde_json::json;
use support::EnoDev;

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1.0\"\n";
const VALUES: &str = "replicas: 1\nmessage: hello\n";
const TEMPLATES: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  message: {{ .Values.message | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-creds
stringData:
  token: s3cret
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"#;

/// `helm history` rows as (revision, status, description).
fn history(dev: &EnoDev) -> Vec<(String, String, String)> {
    let rows: serde_json::Value = serde_json::from_str(&dev.helm_ok(&["history", "demo", "-o", "json"])).expect("helm printed JSON");
    rows.as_array()
        .expect("a list of revisions")
        .iter()
        .map(|r| (r["revision"].to_string(), r["status"].as_str().unwrap_or("").into(), r["description"].as_str().unwrap_or("").into()))
        .collect()
}

fn row(revision: &str, status: &str, description: &str) -> (String, String, String) {
    (revision.into(), status.into(), description.into())
}

#[test]
fn install_upgrade_history_rollback_and_uninstall_a_chart() {
    let dev = EnoDev::start();
    dev.file("web/Chart.yaml", CHART);
    dev.file("web/values.yaml", VALUES);
    let chart = dev.file("web/templates/all.yaml", TEMPLATES).parent().unwrap().parent().unwrap().to_path_buf();
    let chart = chart.to_str().unwrap();

    let out = dev.helm_ok(&["install", "demo", chart]);
    assert!(out.contains("STATUS: deployed") && out.contains("REVISION: 1"), "{out}");
    assert_eq!(dev.json(&["get", "configmap", "demo-settings"])["data"], json!({"message": "hello"}));
    let secret = dev.json(&["get", "secret", "demo-creds"]);
    assert_eq!((secret["type"].as_str(), secret["data"]["token"].as_str()), (Some("Opaque"), Some("czNjcmV0")), "{secret}");
    assert!(secret.get("stringData").is_none(), "stringData is write-only: {secret}");
    let deploy = dev.json(&["get", "deployment", "demo"]);
    assert_eq!(deploy["spec"]["replicas"], 1);
    assert_eq!(deploy["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
    let release = dev.json(&["get", "secret", "-l", "owner=helm,name=demo"]);
    assert_eq!(release["items"][0]["metadata"]["name"], "sh.helm.release.v1.demo.v1");
    assert_eq!(release["items"][0]["type"], "helm.sh/release.v1");

    dev.helm_ok(&["upgrade", "demo", chart, "--set", "message=bye,replicas=0"]);
    assert_eq!(dev.json(&["get", "configmap", "demo-settings"])["data"]["message"], "bye");
    assert_eq!(dev.json(&["get", "deployment", "demo"])["spec"]["replicas"], 0);
    assert_eq!(history(&dev), [row("1", "superseded", "Install complete"), row("2", "deployed", "Upgrade complete")]);

    let out = dev.helm_ok(&["rollback", "demo", "1"]);
    assert!(out.contains("Rollback was a success"), "{out}");
    assert_eq!(dev.json(&["get", "configmap", "demo-settings"])["data"]["message"], "hello");
    assert_eq!(dev.json(&["get", "deployment", "demo"])["spec"]["replicas"], 1);
    assert_eq!(
        history(&dev),
        [row("1", "superseded", "Install complete"), row("2", "superseded", "Upgrade complete"), row("3", "deployed", "Rollback to 1")]
    );
    let listed: serde_json::Value = serde_json::from_str(&dev.helm_ok(&["list", "-o", "json"])).unwrap();
    assert_eq!((listed[0]["name"].as_str(), listed[0]["revision"].as_str(), listed[0]["status"].as_str()), (Some("demo"), Some("3"), Some("deployed")));

    let out = dev.helm_ok(&["uninstall", "demo"]);
    assert!(out.contains("release \"demo\" uninstalled"), "{out}");
    for kind in ["configmaps", "secrets", "deployments"] {
        assert_eq!(dev.json(&["get", kind])["items"], json!([]), "{kind} left behind");
    }
    assert!(dev.helm_ok(&["list", "-q"]).trim().is_empty());
}
