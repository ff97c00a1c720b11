use super::*;
use crate::invariants::Invariant;
use fake_apiserver::resource::StorageKey;
use fake_apiserver::shared::ObservedEvent;
use fake_apiserver::store::ObjectKey;
use std::sync::Arc;
use serde_json::json;

fn key(plural: &str, name: &str) -> ObjectKey {
    ObjectKey { resource: StorageKey { group: "".into(), plural: plural.into() }, namespace: "default".into(), name: name.into() }
}

/// A user creates a config map, replica eno-0 labels it while watches lag, eno-0 is down for a
/// second, the API server deletes a pod, and the at-most-once annotation breaks at 2.5s.
fn example() -> (Trace, FaultPlan, Vec<Violation>) {
    let mut t = Trace::new();
    let created = json!({"metadata": {"name": "a<b"}, "data": {"v": "1"}});
    let labelled = json!({"metadata": {"name": "a<b", "labels": {"owner": "eno"}}, "data": {"v": "2"}});
    t.record(&ObservedEvent { revision: 1, event_type: EventType::Added, key: key("configmaps", "a<b"), object: Arc::new(created.clone()), previous: None }, Duration::from_millis(100), "user", 0);
    t.record(&ObservedEvent { revision: 2, event_type: EventType::Modified, key: key("configmaps", "a<b"), object: Arc::new(labelled), previous: Some(Arc::new(created)) }, Duration::from_millis(1200), "eno-0", 3);
    t.down("eno-0", Duration::from_millis(1500));
    t.up("eno-0", Duration::from_millis(2500));
    t.record(&ObservedEvent { revision: 3, event_type: EventType::Deleted, key: key("pods", "p"), object: Arc::new(json!({})), previous: None }, Duration::from_millis(2000), "api-server", 0);
    let plan = FaultPlan { faults: vec![Fault::Crash { at: Duration::from_millis(1500), down: Duration::from_secs(1) }, Fault::PausedGc] };
    let violations = vec![Violation { invariant: Invariant::AtMostOnceAnnotation, at: Duration::from_millis(2500), revision: None, message: "two symphonies claim x".into() }];
    (t, plan, violations)
}

fn picture(trace: &Trace, plan: &FaultPlan, violations: &[Violation]) -> String {
    render(&Run { scenario: "demo", seed: 7, defect: Some("set-before-prune"), plan, fault_window: Duration::from_secs(2), end: Duration::from_secs(3), trace, violations })
}

/// The lane labels, top to bottom.
fn lane_labels(html: &str) -> Vec<&str> {
    html.split("<text class=\"lane\"").skip(1).map(|t| t.split("</title>").nth(1).and_then(|rest| rest.split("</text>").next()).unwrap_or("")).collect()
}

#[test]
fn lanes_are_faults_then_actors_in_order_then_objects_sorted() {
    let (trace, plan, violations) = example();
    let html = picture(&trace, &plan, &violations);
    assert_eq!(
        lane_labels(&html),
        vec!["fault: crash replica 0 at 1.5s, down 1s", "fault: garbage collection paused", "watch lag (at commits)", "user", "eno-0", "api-server", "configmaps default/a&lt;b", "pods default/p"]
    );
}

#[test]
fn each_write_is_a_mark_on_its_actor_and_object_lanes_with_its_diff_on_hover() {
    let (trace, plan, violations) = example();
    let html = picture(&trace, &plan, &violations);
    assert_eq!(html.matches("<g class=\"mark\">").count(), 6, "three writes, each on two lanes");
    assert_eq!(html.matches("<path d=\"M").count(), 2 * 2, "two creates or deletes drawn as paths");
    assert!(html.contains("1.200s rev 2 MODIFIED configmaps default/a&lt;b\nby eno-0 (watch lag 3 revisions)\n~ /data/v: &quot;1&quot; → &quot;2&quot;\n+ /metadata/labels/owner = &quot;eno&quot;"), "{html}");
    assert!(html.contains("eno-0 down 1.500s – 2.500s"));
    assert!(html.contains("watch events delayed 3 revisions, 1.200s – 2.000s"));
}

#[test]
fn the_violation_is_a_red_line_at_its_time_and_heads_the_page() {
    let (trace, plan, violations) = example();
    let html = picture(&trace, &plan, &violations);
    let x = LABEL_WIDTH + PLOT_WIDTH * 2.5 / 3.0;
    let line = html.split("<g class=\"violation\">").nth(1).expect("a violation drawn");
    assert!(line.contains(&format!("<line x1=\"{x:.1}\"")) && line.contains("stroke=\"#d00\""), "a red line at 2.5s of 3s: {line}");
    assert!(html.contains("✖ at-most-once annotation at 2.500s"));
    let banner = "VIOLATED: at-most-once annotation violated at 2.500s: two symphonies claim x";
    assert!(html.find(banner).is_some_and(|at| at < html.find("<svg").unwrap_or(0)), "the violation is above the picture");
    assert!(html.contains("set-before-prune") && html.contains("crash replica 0 at 1.5s, down 1s; garbage collection paused"));
}

#[test]
fn the_page_is_self_contained_and_the_same_run_gives_the_same_bytes() {
    let (trace, plan, violations) = example();
    let html = picture(&trace, &plan, &violations);
    assert_eq!(html, picture(&trace, &plan, &violations));
    assert!(!html.contains("<script"));
    assert_eq!(html.matches("http").count(), 1, "only the SVG namespace names a URL: nothing is fetched");
    let healthy = picture(&trace, &FaultPlan::none(), &[]);
    assert!(healthy.contains("no invariant violated") && !healthy.contains("fault window 0"));
}

#[test]
fn a_burst_of_writes_stands_side_by_side_and_a_violation_sits_on_the_write_that_broke_it() {
    let mut trace = Trace::new();
    let object = json!({"metadata": {"name": "a"}});
    for revision in 1..=3 {
        trace.record(&ObservedEvent { revision, event_type: EventType::Added, key: key("configmaps", &format!("c{revision}")), object: Arc::new(object.clone()), previous: None }, Duration::from_secs(1), "user", 0);
    }
    let violations = [Violation { invariant: Invariant::DeletionOrdering, at: Duration::from_secs(1), revision: Some(3), message: "m".into() }];
    let html = render(&Run { scenario: "demo", seed: 1, defect: None, plan: &FaultPlan::none(), fault_window: Duration::ZERO, end: Duration::from_secs(2), trace: &trace, violations: &violations });
    let x = LABEL_WIDTH + PLOT_WIDTH / 2.0;
    let tips: Vec<String> = (0..3).map(|i| format!("M{:.1},", x + f64::from(i) * BURST_STEP)).collect();
    assert!(tips.iter().all(|tip| html.matches(tip.as_str()).count() == 2), "each of the three creates at 1s stands apart, on two lanes: {tips:?}");
    let line = html.split("<g class=\"violation\">").nth(1).expect("a violation drawn");
    assert!(line.contains(&format!("x1=\"{:.1}\"", x + 2.0 * BURST_STEP)), "the red line is on revision 3's mark: {line}");
}

#[test]
fn a_late_violation_gets_a_close_up_of_what_led_to_it() {
    let mut trace = Trace::new();
    let object = json!({"metadata": {"name": "a"}});
    for (revision, at) in [(1, 1), (2, 29)] {
        trace.record(&ObservedEvent { revision, event_type: EventType::Added, key: key("configmaps", &format!("c{revision}")), object: Arc::new(object.clone()), previous: None }, Duration::from_secs(at), "user", 0);
    }
    let violations = [Violation { invariant: Invariant::NoLoss, at: Duration::from_secs(30), revision: None, message: "m".into() }];
    let html = render(&Run { scenario: "demo", seed: 1, defect: None, plan: &FaultPlan::none(), fault_window: Duration::ZERO, end: Duration::from_secs(60), trace: &trace, violations: &violations });
    let (whole, close_up) = html.split_once("<h2>around the violation: 28.000s – 30.500s</h2>").expect("a close-up of 2s before the violation to 0.5s after");
    assert_eq!((whole.matches("<g class=\"mark\">").count(), close_up.matches("<g class=\"mark\">").count()), (4, 2), "the close-up shows only the write at 29s");
    assert_eq!(close_up.matches("<g class=\"violation\">").count(), 1);
    let early = picture(&example().0, &example().1, &example().2);
    assert!(!early.contains("around the violation"), "no close-up when the whole run is short");
}
