use super::*;
use serde_json::json;

fn codec() -> &'static Codec {
    Codec::get()
}

fn round_trip(obj: &Value) -> Value {
    let bytes = codec().encode(obj).unwrap_or_else(|e| panic!("{} encodes: {e}", obj["kind"]));
    assert!(bytes.starts_with(MAGIC));
    codec().decode(&bytes).unwrap_or_else(|e| panic!("{} decodes: {e}", obj["kind"]))
}

fn meta(name: &str) -> Value {
    json!({
        "name": name, "namespace": "default", "uid": "6d1c5a44-3c1e-4a43-9d43-0f6c0c1d2e3f", "resourceVersion": "42",
        "creationTimestamp": "2026-12-03T10:00:00Z", "labels": {"app": "web", "empty": ""}, "annotations": {"note": "x"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1", "controller": true, "blockOwnerDeletion": false}],
        "finalizers": ["example.com/keep"],
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2026-12-03T10:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}}}]
    })
}

fn pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "args": ["--port", "8080"],
            "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
            "env": [{"name": "A", "value": "1"}, {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token", "optional": false}}}],
            "envFrom": [{"configMapRef": {"name": "settings"}}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
            "readinessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 3},
            "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsUser": 0, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/config", "readOnly": true}]
        }],
        "volumes": [{"name": "config", "configMap": {"name": "settings", "defaultMode": 420, "items": [{"key": "a", "path": "a.txt"}]}},
                    {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
        "automountServiceAccountToken": false,
        "terminationGracePeriodSeconds": 0,
        "restartPolicy": "Always",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}]
    })
}

/// One object of every kind the server serves, each using the parts of its kind that are not a
/// plain field-for-field reading of the messages, with no zero a Go client would leave out.
fn served_objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("settings"), "data": {"a": "1", "b": ""}, "binaryData": {"blob": "AAEC/w=="}, "immutable": false}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta("creds"), "type": "Opaque", "data": {"token": "c2VjcmV0"}, "stringData": {"x": "y"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("robot"), "automountServiceAccountToken": true, "secrets": [{"name": "robot-token"}], "imagePullSecrets": [{"name": "registry"}]}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web"), "spec": {
            "type": "ClusterIP", "selector": {"app": "web"}, "clusterIP": "10.0.0.10", "clusterIPs": ["10.0.0.10"],
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}, {"name": "metrics", "port": 9090, "targetPort": 9090}]},
            "status": {"loadBalancer": {}}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta("web-1"), "spec": pod_spec(), "status": {
            "phase": "Running", "podIP": "10.1.0.5", "startTime": "2026-12-03T10:00:01Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-03T10:00:02Z"}],
            "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2, "image": "nginx:1.27", "imageID": "sha256:abc", "started": true,
                                   "state": {"running": {"startedAt": "2026-12-03T10:00:01Z"}}}]}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": meta("web-1.1"), "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
               "reason": "Started", "message": "started", "type": "Normal", "count": 3, "firstTimestamp": "2026-12-03T10:00:01Z",
               "lastTimestamp": "2026-12-03T10:00:05Z", "eventTime": "2026-12-03T10:00:05.123456Z", "source": {"component": "kubelet"}, "reportingComponent": "kubelet"}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"), "spec": {
            "replicas": 0, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()}},
            "status": {"observedGeneration": 3, "replicas": 2, "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2026-12-03T10:00:00Z", "lastTransitionTime": "2026-12-03T10:00:00Z", "reason": "MinimumReplicasAvailable", "message": "ok"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("web-1"), "spec": {"replicas": 2, "minReadySeconds": 5, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()}}, "status": {"replicas": 2, "readyReplicas": 2}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("migrate"), "spec": {"backoffLimit": 0, "suspend": false, "parallelism": 1, "completions": 1,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox", "command": ["sh", "-c", "true"]}]}}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("nightly"), "spec": {"schedule": "0 3 * * *", "concurrencyPolicy": "Forbid", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "n", "image": "busybox"}]}}}}}}),
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "low"}, "value": 0, "globalDefault": true, "description": "low", "preemptionPolicy": "Never"}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("web"), "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}},
               "status": {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2, "disruptedPods": {"web-1": "2026-12-03T10:00:00Z"}}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("api"), "spec": {"maxUnavailable": 1}}),
        json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("quota"), "spec": {"hard": {"pods": "10", "requests.cpu": "4"}, "scopes": ["NotTerminating"]},
               "status": {"hard": {"pods": "10"}, "used": {"pods": "3"}}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("reader"), "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"], "resourceNames": ["settings"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("reader"), "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}, {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane"}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "aggregate"}, "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}],
               "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate": "true"}}]}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "admins"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:masters"}]}),
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta("eno-controller"), "spec": {
            "holderIdentity": "eno-0", "leaseDurationSeconds": 15, "acquireTime": "2026-12-03T10:00:00.000000Z", "renewTime": "2026-12-03T10:00:12.345678Z", "leaseTransitions": 0}}),
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("web.2"), "eventTime": "2026-12-03T10:00:05.000001Z", "reportingController": "eno",
               "reportingInstance": "eno-0", "action": "Synthesize", "reason": "Synthesized", "regarding": {"kind": "Composition", "name": "web", "apiVersion": "eno.azure.io/v1"},
               "note": "done", "type": "Normal", "series": {"count": 2, "lastObservedTime": "2026-12-03T10:00:06.500000Z"}}),
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 0, "maximum": 10.5, "default": 1},
                        "mode": {"type": "string", "enum": ["a", "b"], "pattern": "^[ab]$"},
                        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "additionalProperties": true},
                        "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}},
                        "x-kubernetes-validations": [{"rule": "self.size <= 10", "message": "too big"}]},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]},
            "status": {"acceptedNames": {"plural": "widgets", "kind": "Widget"}, "storedVersions": ["v1"],
                       "conditions": [{"type": "Established", "status": "True", "lastTransitionTime": "2026-12-03T10:00:00Z", "reason": "InitialNamesAccepted", "message": "ok"}]}}),
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": "robot", "namespace": "default"},
               "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600, "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web-1", "uid": "u-2"}},
               "status": {"token": "eyJ", "expirationTimestamp": "2026-12-03T11:00:00Z"}}),
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {}, "spec": {
            "resourceAttributes": {"namespace": "default", "verb": "get", "resource": "configmaps", "name": "settings"}},
            "status": {"allowed": true, "reason": "RBAC: allowed by RoleBinding"}}),
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "metadata": {}, "spec": {"namespace": "default"},
               "status": {"resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}], "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api"]}]}}),
    ]
}

#[test]
fn every_served_kind_survives_json_to_protobuf_to_json() {
    for obj in served_objects() {
        let back = round_trip(&obj);
        assert_eq!(back, obj, "{} {}", obj["apiVersion"], obj["kind"]);
    }
}

#[test]
fn every_builtin_kind_the_server_serves_has_a_message_and_a_fixture() {
    let fixtures: Vec<(String, String)> = served_objects().iter().map(|o| (o["apiVersion"].as_str().unwrap().into(), o["kind"].as_str().unwrap().into())).collect();
    for t in crate::resource::Registry::with_builtins().all() {
        let api_version = if t.group.is_empty() { t.version.clone() } else { format!("{}/{}", t.group, t.version) };
        assert!(codec().message_for(&api_version, &t.kind).is_some(), "{api_version} {}", t.kind);
        assert!(codec().message_for(&api_version, &t.list_kind()).is_some(), "{api_version} {}", t.list_kind());
        assert!(fixtures.contains(&(api_version.clone(), t.kind.clone())), "no round-trip fixture for {api_version} {}", t.kind);
    }
}

#[test]
fn lists_and_statuses_round_trip() {
    let list = json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": "7", "continue": "abc", "remainingItemCount": 0},
                      "items": [{"metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}}, {"metadata": {"name": "b", "namespace": "default"}}]});
    assert_eq!(round_trip(&list), list, "remainingItemCount is a pointer: its zero stays");
    let status = json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure", "message": "bad", "reason": "Invalid", "code": 422,
                        "details": {"name": "x", "kind": "ConfigMap", "causes": [{"reason": "FieldValueInvalid", "message": "m", "field": "data"}]}});
    assert_eq!(round_trip(&status), status);
}

#[test]
fn custom_groups_have_no_message() {
    assert!(codec().message_for("eno.azure.io/v1", "Composition").is_none());
    assert!(codec().message_for("example.com/v1", "Widget").is_none());
    assert!(matches!(codec().encode(&json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition"})), Err(Error::UnknownKind { .. })));
}

#[test]
fn zeros_a_go_client_always_writes_are_dropped_unless_go_json_would_write_them() {
    // What client-go writes for `kubectl create deployment web --image=nginx --replicas=0`:
    // every non-pointer scalar is on the wire, zero or not.
    let sent = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "", "generateName": "", "uid": "", "resourceVersion": "", "generation": 0, "labels": {"app": "web"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "minReadySeconds": 0, "paused": false,
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "nginx", "image": "nginx", "workingDir": "", "stdin": false, "tty": false, "terminationMessagePath": "", "resources": {}}],
                     "automountServiceAccountToken": false, "hostNetwork": false}}},
        "status": {"replicas": 0}});
    let bytes = codec().encode(&sent).unwrap();
    let stored = codec().decode(&bytes).unwrap();
    assert_eq!(stored, json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}],
                     "automountServiceAccountToken": false}}},
        "status": {}}));
}

#[test]
fn an_empty_time_is_the_zero_time_and_left_out() {
    // gogo writes a non-pointer Time even when zero: an empty message.
    let mut raw = Vec::new();
    let mut meta = Vec::new();
    wire::put_bytes(&mut meta, 1, b"x");
    wire::put_bytes(&mut meta, 8, b"");
    wire::put_bytes(&mut raw, 1, &meta);
    let obj = codec().decode(&wire::envelope("v1", "ConfigMap", &raw)).unwrap();
    assert_eq!(obj, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}));
}

#[test]
fn the_same_object_always_encodes_to_the_same_bytes() {
    // Ascending field numbers and typeMeta in the envelope, with the two empty strings the real
    // server writes after it: a small ConfigMap byte for byte.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
    let expected: &[u8] = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x0d\x0a\x03\x0a\x01a\x12\x06\x0a\x01k\x12\x01v\x1a\x00\x22\x00";
    assert_eq!(codec().encode(&cm).unwrap(), expected);
}

#[test]
fn a_list_captured_from_a_real_kube_apiserver_decodes_and_round_trips() {
    // A PodList (14 pods) that a kube-apiserver wrote, from the crates.io crate k8s-rs-pb 0.5.0's
    // test data (Apache-2.0): our decoder against bytes we did not write.
    let captured = include_bytes!("podlist-from-kube-apiserver.bin");
    let list = codec().decode(captured).expect("the capture decodes");
    assert_eq!(list["kind"], "PodList");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 14);
    assert_eq!(items[0]["metadata"]["name"], "cert-manager-cainjector-686546c9f7-6hr4m");
    assert_eq!(items[0]["metadata"]["creationTimestamp"], "2025-05-10T13:02:22Z");
    assert!(items[0]["metadata"]["managedFields"][0]["fieldsV1"].is_object(), "FieldsV1 reads back as JSON");
    assert!(items.iter().any(|p| p["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"].is_string()), "named probe ports are strings");
    assert!(items.iter().all(|p| p["metadata"].get("selfLink").is_none()), "zero non-pointer strings are left out");
    assert_eq!(round_trip(&list), list);
}

#[test]
fn watch_frames_are_length_prefixed_events_with_an_enveloped_object() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let frame = codec().watch_frame("ADDED", &cm).unwrap();
    let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - 4);
    let event = DynamicMessage::decode(codec().message("apimachinery.pkg.apis.meta.v1.WatchEvent"), &frame[4..]).unwrap();
    assert_eq!(event.get_field_by_name("type").unwrap().as_str(), Some("ADDED"));
    let object = event.get_field_by_name("object").unwrap().as_message().unwrap().get_field_by_name("raw").unwrap().as_bytes().unwrap().clone();
    assert_eq!(codec().decode(&object).unwrap(), cm);
}

#[test]
fn bad_bodies_are_named_errors() {
    let good = codec().encode(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}})).unwrap();
    assert_eq!(codec().decode(b""), Err(Error::Empty));
    assert_eq!(codec().decode(b"{\"kind\":\"ConfigMap\"}"), Err(Error::NotProtobuf));
    assert!(matches!(codec().decode(&good[..good.len() - 9]), Err(Error::Envelope(_))), "truncated");
    assert!(matches!(codec().decode(b"k8s\0\xff\xff\xff"), Err(Error::Envelope(_))), "garbage");
    assert!(matches!(codec().decode(&wire::envelope("v1", "", b"")), Err(Error::Envelope(_))), "no kind");
    assert_eq!(
        codec().decode(&wire::envelope("v1", "Gadget", b"")),
        Err(Error::UnknownKind { api_version: "v1".into(), kind: "Gadget".into() })
    );
    // The object's own bytes malformed inside a sound envelope.
    assert!(matches!(codec().decode(&wire::envelope("v1", "ConfigMap", b"\x0a\x05ab")), Err(Error::Wire { .. })));
    let mut gzip = good.clone();
    gzip.truncate(gzip.len() - 4);
    wire::put_bytes(&mut gzip, 3, b"gzip");
    wire::put_bytes(&mut gzip, 4, b"");
    assert_eq!(codec().decode(&gzip), Err(Error::ContentEncoding("gzip".into())));
    // JSON that does not fit the message is refused, naming where.
    let err = codec().encode(&json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": "three"}})).unwrap_err();
    assert_eq!(err, Error::Json { path: ".spec.replicas".into(), message: "expected an integer".into() });
}

#[test]
fn fields_a_built_in_type_lacks_are_found_and_dropped() {
    let mut deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "colour": "blue"},
        "spec": {"replicaCount": 3, "template": {"spec": {
            "containers": [{"name": "web", "image": "nginx", "imagePolicy": "x", "resources": {"limits": {"cpu": "1"}}}],
            "volumes": [{"name": "v", "configMap": {"name": "c", "mode": 1}}]}}}});
    let unknown = codec().prune_unknown("apps/v1", "Deployment", &mut deployment);
    assert_eq!(unknown, ["metadata.colour", "spec.replicaCount", "spec.template.spec.containers[0].imagePolicy", "spec.template.spec.volumes[0].configMap.mode"]);
    assert_eq!(deployment["spec"]["template"]["spec"]["volumes"][0], json!({"name": "v", "configMap": {"name": "c"}}), "inline fields are known");
    assert!(deployment["spec"].get("replicaCount").is_none());
    for mut obj in served_objects() {
        let (api_version, kind) = (obj["apiVersion"].as_str().unwrap().to_string(), obj["kind"].as_str().unwrap().to_string());
        assert_eq!(codec().prune_unknown(&api_version, &kind, &mut obj), Vec::<String>::new(), "{kind} has only known fields");
    }
    let mut widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "anything": 1});
    assert!(codec().prune_unknown("example.com/v1", "Widget", &mut widget).is_empty(), "custom kinds are the schema's business");
}
