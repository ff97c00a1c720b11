use super::*;
use eno::api::API_VERSION;
use eno::runtime::fake::install_crds;
use fake_apiserver::clock::ManualClock;
use fake_apiserver::server::{Config, DeleteOptions, PatchType, WriteOptions};
use fake_apiserver::shared::AuditEvent;
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::sync::{Arc, Mutex};

struct Fixture {
    server: SharedApiServer,
    checker: Arc<Mutex<Checker>>,
}

impl Fixture {
    fn new(at_most_once: &[&str]) -> Self {
        Fixture::judged_by(Checker::new(at_most_once.iter().map(|s| s.to_string()).collect()))
    }

    fn judged_by(checker: Checker) -> Self {
        let server = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(ManualClock::at(1_700_000_000))));
        install_crds(&server).unwrap();
        let checker = Arc::new(Mutex::new(checker));
        let c = checker.clone();
        server.observe(move |s, e| c.lock().unwrap().observe(s, e, Duration::ZERO));
        Fixture { server, checker }
    }

    fn create(&self, obj: Value) {
        self.server.with(|s| {
            let t = s.target_for(obj["apiVersion"].as_str().unwrap(), obj["kind"].as_str().unwrap(), obj["metadata"]["namespace"].as_str(), None).unwrap();
            s.create(&t, obj, &WriteOptions::default()).unwrap();
        });
    }

    fn patch(&self, api_version: &str, kind: &str, name: &str, subresource: Option<&str>, patch: Value) {
        self.server.with(|s| {
            let mut t = s.target_for(api_version, kind, Some("default"), Some(name)).unwrap();
            t.subresource = subresource.map(String::from);
            s.patch(&t, PatchType::Merge, patch.to_string().as_bytes(), &WriteOptions::default()).unwrap();
        });
    }

    fn delete(&self, api_version: &str, kind: &str, name: &str) {
        self.server.with(|s| {
            let t = s.target_for(api_version, kind, Some("default"), Some(name)).unwrap();
            s.delete(&t, &DeleteOptions::default()).unwrap();
        });
    }

    /// Changes made by the scenario's user rather than by Eno.
    fn as_user(&self, change: impl FnOnce(&Self)) {
        self.checker.lock().unwrap().user_acting = true;
        change(self);
        self.checker.lock().unwrap().user_acting = false;
    }

    fn violations(&self) -> Vec<(Invariant, String)> {
        self.checker.lock().unwrap().violations().iter().map(|v| (v.invariant, v.message.clone())).collect()
    }

    /// A composition whose current synthesis (uuid `u1`) manages ConfigMap `cm` via slice `s1`.
    fn managed_configmap(&self) {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}, "data": {"v": "1"}});
        self.create(json!({"apiVersion": API_VERSION, "kind": "ResourceSlice", "metadata": {"name": "s1", "namespace": "default"},
            "spec": {"synthesisUUID": "u1", "resources": [{"manifest": cm.to_string()}]}}));
        self.create(json!({"apiVersion": API_VERSION, "kind": "Composition", "metadata": {"name": "c", "namespace": "default"}, "spec": {"synthesizer": {"name": "x"}}}));
        self.patch(API_VERSION, "Composition", "c", Some("status"), json!({"status": {"currentSynthesis": synthesis("u1", 1, &[])}}));
        self.create(cm);
    }
}

fn run(uuid: &str, composition_generation: i64) -> SynthesisRun {
    SynthesisRun { uuid: uuid.into(), composition: "default/c".into(), composition_uid: "uid-c".into(), composition_generation, synthesizer_generation: 1, input_revisions: vec![], lockstep_revisions: vec![] }
}

fn synthesis(uuid: &str, comp_generation: i64, errors: &[&str]) -> Value {
    let results: Vec<Value> = errors.iter().map(|e| json!({"message": e, "severity": "error"})).collect();
    json!({"uuid": uuid, "observedCompositionGeneration": comp_generation, "observedSynthesizerGeneration": 1,
        "synthesized": "2024-01-01T00:00:00Z", "resourceSlices": [{"name": "s1"}], "results": results})
}

#[test]
fn a_composition_gone_before_its_resources_breaks_deletion_ordering() {
    let f = Fixture::new(&[]);
    f.managed_configmap();
    f.delete(API_VERSION, "Composition", "c");
    let v = f.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].0, Invariant::DeletionOrdering);
    assert_eq!(v[0].1, "composition default/c is gone while its resource configmaps default/cm still exists");
}

#[test]
fn resources_deleted_first_keep_deletion_ordering() {
    let f = Fixture::new(&[]);
    f.managed_configmap();
    f.patch(API_VERSION, "Composition", "c", None, json!({"metadata": {"finalizers": ["eno.azure.io/cleanup"]}}));
    f.delete(API_VERSION, "Composition", "c");
    f.delete("v1", "ConfigMap", "cm");
    f.patch(API_VERSION, "Composition", "c", None, json!({"metadata": {"finalizers": null}}));
    assert_eq!(f.violations(), vec![]);
}

#[test]
fn deleting_what_a_live_composition_wants_breaks_deletion_ordering_and_its_slice_is_a_loss() {
    let f = Fixture::new(&[]);
    f.managed_configmap();
    f.delete("v1", "ConfigMap", "cm");
    f.delete(API_VERSION, "ResourceSlice", "s1");
    let v = f.violations();
    assert_eq!(v.iter().map(|v| v.0).collect::<Vec<_>>(), vec![Invariant::DeletionOrdering, Invariant::NoLoss], "{v:?}");
    assert_eq!(v[0].1, "configmaps default/cm was deleted although the current synthesis u1 of c wants it");
    assert_eq!(v[1].1, "slice default/s1 of the current synthesis of c was deleted");
}

#[test]
fn a_failed_synthesis_changing_managed_fields_is_a_loss_but_the_user_may_edit() {
    let f = Fixture::new(&[]);
    f.managed_configmap();
    f.patch(API_VERSION, "Composition", "c", Some("status"), json!({"status": {"currentSynthesis": synthesis("u2", 2, &["boom"])}}));
    f.checker.lock().unwrap().user_acting = true;
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "user"}}));
    f.checker.lock().unwrap().user_acting = false;
    assert_eq!(f.violations(), vec![]);
    // Eno restoring the field is fine; Eno moving it away from the last good value is not.
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "1"}}));
    assert_eq!(f.violations(), vec![]);
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "2"}}));
    f.delete("v1", "ConfigMap", "cm");
    let v = f.violations();
    assert_eq!(v.iter().map(|v| v.0).collect::<Vec<_>>(), vec![Invariant::NoLoss, Invariant::NoLoss], "{v:?}");
    assert!(v[0].1.contains("field /data/v"), "{}", v[0].1);
    assert!(v[1].1.contains("was deleted after synthesis u2 failed"), "{}", v[1].1);
}

#[test]
fn restarting_a_failed_synthesis_without_a_change_is_a_retry_storm() {
    let f = Fixture::new(&[]);
    f.managed_configmap();
    f.patch(API_VERSION, "Composition", "c", Some("status"), json!({"status": {"currentSynthesis": synthesis("u2", 2, &["boom"])}}));
    // A new generation may start again; the same generations may not.
    f.patch(API_VERSION, "Composition", "c", Some("status"), json!({"status": {"inFlightSynthesis": {"uuid": "u3", "observedCompositionGeneration": 3, "observedSynthesizerGeneration": 1}}}));
    assert_eq!(f.violations(), vec![]);
    f.patch(API_VERSION, "Composition", "c", Some("status"), json!({"status": {"inFlightSynthesis": {"uuid": "u4", "observedCompositionGeneration": 2, "observedSynthesizerGeneration": 1}}}));
    let v = f.violations();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, Invariant::BoundedSyntheses);
    // Running a finished synthesis again is one too.
    let mut checker = f.checker.lock().unwrap();
    checker.synthesis_started(&run("u3", 3), Duration::ZERO);
    assert_eq!(checker.violations().len(), 1);
    checker.synthesis_started(&run("u2", 2), Duration::ZERO);
    assert_eq!(checker.violations()[1].message, "synthesis u2 of default/c ran again after it had finished");
}

#[test]
fn two_compositions_of_one_symphony_holding_the_key_break_at_most_once() {
    let f = Fixture::new(&["owner"]);
    let owner = json!([{"apiVersion": API_VERSION, "kind": "Symphony", "name": "sym", "uid": "sym-uid", "controller": true}]);
    let comp = |name: &str, value: &str| {
        json!({"apiVersion": API_VERSION, "kind": "Composition", "metadata": {"name": name, "namespace": "default", "ownerReferences": owner,
            "annotations": {"owner": value}}, "spec": {"synthesizer": {"name": name}}})
    };
    f.create(comp("a", "yes"));
    f.create(comp("b", ""));
    assert_eq!(f.violations(), vec![]);
    f.patch(API_VERSION, "Composition", "b", None, json!({"metadata": {"annotations": {"owner": "yes"}}}));
    let v = f.violations();
    assert_eq!(v, vec![(Invariant::AtMostOnceAnnotation, "compositions default/a, default/b of symphony sym all hold annotation owner".to_string())]);
}

#[test]
fn runs_are_bounded_per_input_by_crashes_and_executor_errors_and_never_overlap() {
    let f = Fixture::new(&[]);
    let mut checker = f.checker.lock().unwrap();
    let first = run("u1", 1);
    checker.synthesis_started(&first, Duration::ZERO);
    // A second run of the same synthesis while the first is in progress.
    checker.synthesis_started(&first, Duration::ZERO);
    let messages: Vec<String> = checker.violations().iter().map(|v| v.message.clone()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("started while another run of it was in progress"), "{}", messages[0]);
    assert!(messages[1].contains("ran its synthesizer 2 times for composition generation 1") && messages[1].contains("allowed 1"), "{}", messages[1]);
    drop(checker);

    // An executor error and a crash each allow one more run; a new generation starts afresh.
    let f = Fixture::new(&[]);
    let mut checker = f.checker.lock().unwrap();
    checker.synthesis_started(&first, Duration::ZERO);
    checker.synthesis_ended(&first, true);
    checker.synthesis_started(&first, Duration::ZERO);
    checker.synthesis_ended(&first, false);
    checker.replica_lost();
    checker.synthesis_started(&run("u2", 1), Duration::ZERO);
    checker.synthesis_started(&run("u3", 2), Duration::ZERO);
    assert_eq!(checker.violations(), &[]);
    checker.synthesis_started(&run("u4", 1), Duration::ZERO);
    assert_eq!(checker.violations().len(), 1);
    assert_eq!(checker.violations()[0].invariant, Invariant::BoundedSyntheses);
}

#[test]
fn a_slice_left_after_its_composition_is_gone_is_a_leak() {
    let f = Fixture::new(&[]);
    f.create(json!({"apiVersion": API_VERSION, "kind": "Composition", "metadata": {"name": "c", "namespace": "default"}, "spec": {"synthesizer": {"name": "x"}}}));
    let uid = f.server.with(|s| s.get(&s.target_for(API_VERSION, "Composition", Some("default"), Some("c")).unwrap(), None).unwrap()["metadata"]["uid"].clone());
    let owned = |name: &str| {
        json!({"apiVersion": API_VERSION, "kind": "ResourceSlice", "metadata": {"name": name, "namespace": "default",
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Composition", "name": "c", "uid": uid, "controller": true}]}, "spec": {"synthesisUUID": "u1"}})
    };
    f.create(owned("gone-with-it"));
    f.create(owned("left-behind"));
    f.delete(API_VERSION, "Composition", "c");
    f.delete(API_VERSION, "ResourceSlice", "gone-with-it");
    f.checker.lock().unwrap().finish(Duration::from_secs(60));
    assert_eq!(f.violations(), vec![(Invariant::NoLeaks, "resourceslices default/left-behind outlives its owner composition default/c".to_string())]);
}

#[test]
fn a_deleting_symphonys_resource_deleted_is_flagged_at_once() {
    let f = Fixture::new(&[]);
    f.create(json!({"apiVersion": API_VERSION, "kind": "Symphony", "metadata": {"name": "sym", "namespace": "default", "finalizers": ["eno.azure.io/cleanup"]}, "spec": {"variations": []}}));
    let uid = f.server.with(|s| s.get(&s.target_for(API_VERSION, "Symphony", Some("default"), Some("sym")).unwrap(), None).unwrap()["metadata"]["uid"].clone());
    f.managed_configmap();
    f.patch(API_VERSION, "Composition", "c", None, json!({"metadata": {"ownerReferences": [{"apiVersion": API_VERSION, "kind": "Symphony", "name": "sym", "uid": uid, "controller": true}]}}));
    f.delete(API_VERSION, "Symphony", "sym");
    assert_eq!(f.violations(), vec![]);
    // The composition is still there: the resource may not go, whatever happens to it later.
    f.delete("v1", "ConfigMap", "cm");
    let v = f.violations();
    assert_eq!(v[0], (Invariant::DeletionOrdering, "configmaps default/cm was deleted although its symphony is being deleted (its resources stay)".to_string()), "{v:?}");
}

#[test]
fn a_retry_before_its_backoff_breaks_retry_backoff_and_a_change_need_not_wait() {
    let mut runs = syntheses::Runs::default();
    let comp = |in_flight: Value| json!({"metadata": {"name": "c", "namespace": "default"}, "status": {"inFlightSynthesis": in_flight}});
    let attempt = |uuid: &str, composition_generation: i64, attempts: i64, canceled: bool| {
        let mut s = json!({"uuid": uuid, "observedCompositionGeneration": composition_generation, "observedSynthesizerGeneration": 1, "attempts": attempts});
        if canceled {
            s["canceled"] = json!("2024-01-01T00:00:00Z");
        }
        comp(s)
    };
    let at = Duration::from_secs_f64;
    // The second attempt is canceled at 10 s (seen again at 12 s: the first commit counts).
    assert!(runs.retry_kept_backoff(&attempt("u1", 1, 2, true), at(10.0)).is_empty());
    assert!(runs.retry_kept_backoff(&attempt("u1", 1, 2, true), at(12.0)).is_empty());
    // The third comes 3.9 s later: its backoff is at least 4 s.
    let found = runs.retry_kept_backoff(&attempt("u2", 1, 3, false), at(13.9));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, Invariant::RetryBackoff);
    assert!(found[0].1.contains("retried 3.900s after synthesis u1 (attempt 2)"), "{}", found[0].1);
    // On time, it is fine.
    runs.retry_kept_backoff(&attempt("u3", 1, 2, true), at(20.0));
    assert!(runs.retry_kept_backoff(&attempt("u4", 1, 3, false), at(24.0)).is_empty());
    // A changed composition starts its new synthesis at once.
    runs.retry_kept_backoff(&attempt("u5", 1, 1, true), at(30.0));
    assert!(runs.retry_kept_backoff(&attempt("u6", 2, 1, false), at(30.1)).is_empty());
}

fn create_answered(namespace: &str, name: &str, code: u16) -> AuditEvent {
    AuditEvent { user: "eno".into(), verb: "create".into(), request: fake_apiserver::auth::Request::resource("", "configmaps", namespace, name), code }
}

#[test]
fn a_refused_create_asked_again_past_its_backoff_rate_breaks_refusal_backoff() {
    let mut c = Checker::new(Default::default());
    let secs = Duration::from_secs;
    // The documented schedule, at its shortest (−10%): six in the first minute.
    for at in [0.0, 1.8, 5.4, 12.6, 27.0, 54.0, 81.0, 108.0] {
        c.answered("eno-0", &create_answered("late", "c", 404), Duration::from_secs_f64(at));
    }
    assert_eq!(c.violations(), &[], "the schedule keeps to the rate");
    // Other resources, other replicas, and answers that are not refusals count apart.
    for i in 0..10 {
        c.answered("eno-1", &create_answered("late", "c", 404), secs(200) + Duration::from_millis(i * 10));
        c.answered("eno-0", &create_answered("late", "c", 201), secs(200) + Duration::from_millis(i * 10));
        c.answered("eno-0", &create_answered("late", "c", 503), secs(200) + Duration::from_millis(i * 10));
        if i == 5 {
            c.replica_available("eno-1", true, secs(200));
        }
    }
    assert_eq!(c.violations(), &[], "a restarted replica starts over; successes and server trouble are not refusals");
    for i in 0..10 {
        c.answered("eno-0", &create_answered("late", "d", 403), secs(300) + Duration::from_millis(i * 10));
    }
    let found: Vec<_> = c.violations().iter().map(|v| (v.invariant, v.at)).collect();
    assert_eq!(found, vec![(Invariant::RefusalBackoff, secs(300) + Duration::from_millis(60))], "flagged once, at the seventh");
    assert!(c.violations()[0].message.contains("configmaps late/d 7 times"), "{}", c.violations()[0].message);
}

#[test]
fn creating_what_only_a_patch_names_breaks_patches_never_create() {
    let f = Fixture::new(&[]);
    let patch = |name: &str| {
        json!({"apiVersion": API_VERSION, "kind": "Patch", "metadata": {"name": name, "namespace": "default"},
            "patch": {"apiVersion": "v1", "kind": "ConfigMap", "ops": [{"op": "add", "path": "/data/x", "value": "y"}]}})
    };
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}});
    // "patched" is named only by a Patch; "both" by a Patch and a manifest of another slice.
    f.create(json!({"apiVersion": API_VERSION, "kind": "ResourceSlice", "metadata": {"name": "s1", "namespace": "default"},
        "spec": {"synthesisUUID": "u1", "resources": [{"manifest": patch("patched").to_string()}, {"manifest": patch("both").to_string()}]}}));
    f.create(json!({"apiVersion": API_VERSION, "kind": "ResourceSlice", "metadata": {"name": "s2", "namespace": "default"},
        "spec": {"synthesisUUID": "u2", "resources": [{"manifest": cm("both").to_string()}]}}));
    f.create(cm("both"));
    f.create(cm("unrelated"));
    assert_eq!(f.violations(), vec![]);
    f.create(cm("patched"));
    assert_eq!(f.violations(), vec![(Invariant::PatchesNeverCreate, "configmaps default/patched was created although only a Patch names it".to_string())]);
    // The user may create it (the checker judges only Eno's writes).
    f.delete("v1", "ConfigMap", "patched");
    f.checker.lock().unwrap().user_acting = true;
    f.create(cm("patched"));
    assert_eq!(f.violations().len(), 1);
}

/// A checker for which another client marking an object `owner: ops` takes its `data.v` over
/// and keeps it.
fn handover_fixture() -> Fixture {
    let handover = crate::scenario::Handover { annotation: "owner".into(), value: "ops".into(), fields: vec!["data.v".into()], keep: true };
    let f = Fixture::judged_by(Checker::new(Default::default()).with_handovers(vec![handover]));
    f.managed_configmap();
    f
}

#[test]
fn eno_changing_a_field_taken_over_breaks_handover_but_its_taker_and_other_fields_may_change() {
    let f = handover_fixture();
    // Before the takeover, and afterwards on fields not taken over, Eno may write.
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "2"}}));
    f.as_user(|f| f.patch("v1", "ConfigMap", "cm", None, json!({"metadata": {"annotations": {"owner": "ops"}}, "data": {"v": "ops"}})));
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"w": "eno"}}));
    f.as_user(|f| f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "ops-2"}})));
    assert_eq!(f.violations(), vec![]);
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "1"}}));
    assert_eq!(f.violations(), vec![(Invariant::Handover, r#"configmaps default/cm: field data.v was changed from "ops-2" to "1" although another client took it over (owner=ops)"#.to_string())]);
}

#[test]
fn eno_deleting_an_object_kept_by_another_client_breaks_handover_but_its_composition_may_go_first() {
    let f = handover_fixture();
    f.as_user(|f| f.patch("v1", "ConfigMap", "cm", None, json!({"metadata": {"annotations": {"owner": "ops"}}})));
    // Orphaned: the composition goes while the object stays.
    f.delete(API_VERSION, "Composition", "c");
    assert_eq!(f.violations(), vec![]);
    f.delete("v1", "ConfigMap", "cm");
    assert_eq!(f.violations(), vec![(Invariant::Handover, "configmaps default/cm was deleted although another client took it over (owner=ops: Eno orphans it)".to_string())]);
}

#[test]
fn an_object_handed_back_is_enos_again() {
    let f = handover_fixture();
    f.as_user(|f| f.patch("v1", "ConfigMap", "cm", None, json!({"metadata": {"annotations": {"owner": "ops"}}})));
    f.as_user(|f| f.patch("v1", "ConfigMap", "cm", None, json!({"metadata": {"annotations": {"owner": null}}})));
    f.patch("v1", "ConfigMap", "cm", None, json!({"data": {"v": "2"}}));
    f.delete("v1", "ConfigMap", "cm");
    let v = f.violations();
    // Deleting what the live composition wants is another invariant's business.
    assert_eq!(v.iter().map(|v| v.0).collect::<Vec<_>>(), vec![Invariant::DeletionOrdering], "{v:?}");
}
