//! The rollout cooldown end to end through `eno dev` and the real kubectl: a new synthesizer
//! version reaches compositions one at a time, at most one per `--rollout-cooldown` (judged
//! from the API's watch events as they arrive, not from logs), and a version that fails stops
//! the rollout at the first composition it broke until a fixed version replaces it.

#![cfg(not(madsim))]

mod support;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{eventually, EnoDev};

/// A synthesizer writing ConfigMap `<composition>-out` (the name from the composition's
/// `ENO_COMPOSITION` env) with `version`; version `fail` reports an error result instead (a
/// verdict).
fn synthesizer(version: &str) -> String {
    let body = if version == "fail" {
        r#"echo '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[],"results":[{"message":"version fail is broken","severity":"error"}]}'"#.to_string()
    } else {
        format!(r#"echo "{{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"items\":[{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"$ENO_COMPOSITION-out\",\"namespace\":\"default\"}},\"data\":{{\"version\":\"{version}\"}}}}]}}""#)
    };
    format!("apiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: versioned\nspec:\n  image: example\n  command:\n  - /bin/bash\n  - -c\n  - |\n    {body}\n")
}

fn composition(name: &str) -> String {
    format!("apiVersion: eno.azure.io/v1\nkind: Composition\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  synthesizer:\n    name: versioned\n  synthesisEnv:\n  - name: ENO_COMPOSITION\n    value: {name}\n")
}

fn version_of(dev: &EnoDev, name: &str) -> Option<String> {
    let out = dev.kubectl(&["get", "configmap", &format!("{name}-out"), "-o", "jsonpath={.data.version}"]);
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn all_at(dev: &EnoDev, names: &[String], version: &str) -> bool {
    names.iter().all(|n| version_of(dev, n).as_deref() == Some(version))
}

/// Each watch event on compositions as it arrives, with the time it arrived.
fn watch_compositions(dev: &EnoDev) -> (std::process::Child, mpsc::Receiver<(Instant, serde_json::Value)>) {
    dev.watch(&["compositions"])
}

/// `eno dev` with a 2 s cooldown, and `count` compositions named `<prefix><n>`, all at v1.
fn compositions_at_v1(prefix: &str, count: usize) -> (EnoDev, Vec<String>) {
    let dev = EnoDev::start_with(&["--rollout-cooldown", "2s"]);
    dev.apply(&synthesizer("v1"));
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}{i:02}")).collect();
    for name in &names {
        dev.apply(&composition(name));
    }
    eventually(Duration::from_secs(60), "every composition at v1", || all_at(&dev, &names, "v1").then_some(()));
    (dev, names)
}

#[test]
fn a_new_synthesizer_version_rolls_out_one_composition_per_cooldown() {
    let (dev, names) = compositions_at_v1("c", 20);

    let (mut watch, events) = watch_compositions(&dev);
    std::thread::sleep(Duration::from_secs(1));
    let began = Instant::now();
    dev.apply(&synthesizer("v2"));
    // When each composition's deferred synthesis first appeared, as the watch delivered it.
    let mut started: BTreeMap<String, Instant> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while started.len() < names.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((at, event)) = events.recv_timeout(left) else { panic!("only {} of 20 compositions started a deferred synthesis within 120 s", started.len()) };
        let object = &event["object"];
        let in_flight = &object["status"]["inFlightSynthesis"];
        if in_flight["deferred"] == true && in_flight["observedSynthesizerGeneration"] == 2 {
            started.entry(object["metadata"]["name"].as_str().unwrap_or_default().to_string()).or_insert(at);
        }
    }
    let _ = watch.kill();
    let mut times: Vec<Instant> = started.values().copied().collect();
    times.sort();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let closest = gaps.iter().min().copied().unwrap_or_default();
    let total = times[times.len() - 1] - times[0];
    eprintln!("rollout of 20 compositions: {total:?} from first to last start, closest starts {closest:?} apart, {:?} after the change", times[times.len() - 1] - began);
    assert!(closest >= Duration::from_secs(2), "two deferred syntheses started {closest:?} apart: {gaps:?}");
    assert!(total >= Duration::from_secs(38), "the rollout took {total:?}");
    eventually(Duration::from_secs(30), "every composition at v2", || all_at(&dev, &names, "v2").then_some(()));
}

#[test]
fn a_failing_version_stops_the_rollout_at_the_first_composition_it_broke() {
    let (dev, names) = compositions_at_v1("h", 4);

    dev.apply(&synthesizer("fail"));
    let error = |name: &str| dev.json(&["get", "composition", name, "-o", "json"])["status"]["simplified"]["error"].as_str().unwrap_or_default().to_string();
    let broken = eventually(Duration::from_secs(30), "a composition failing with the new version", || names.iter().find(|n| error(n) == "version fail is broken").cloned());
    // The others wait, say why, and keep what v1 made, well past several cooldowns.
    let others: Vec<&String> = names.iter().filter(|n| **n != broken).collect();
    for name in &others {
        let message = eventually(Duration::from_secs(30), "the halt shown", || Some(error(name)).filter(|e| e.contains("halted")));
        assert!(message.contains(&format!("default/{broken}")), "{message}");
    }
    std::thread::sleep(Duration::from_secs(8));
    for name in &others {
        assert_eq!(version_of(&dev, name).as_deref(), Some("v1"), "{name} kept v1");
        let failed = dev.json(&["get", "composition", name, "-o", "json"])["status"]["currentSynthesis"]["results"].clone();
        assert!(failed.is_null() || failed.as_array().is_some_and(|r| r.is_empty()), "{name} never ran the broken version: {failed}");
    }

    // A fixed version rolls out again, to every composition.
    dev.apply(&synthesizer("v3"));
    eventually(Duration::from_secs(60), "every composition at v3", || all_at(&dev, &names, "v3").then_some(()));
    for name in &names {
        assert_eq!(error(name), "", "{name} has no error left");
    }
}
