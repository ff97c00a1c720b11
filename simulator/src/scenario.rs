//! Declarative scenarios (`scenarios/*.yaml`): what the user applies and when, how each
//! simulated synthesizer behaves, how long faults may last, and what must hold at the end.

use eno::api::KrmResult;
use eno::api::duration::parse_go_duration;
use eno::synthesis::{SynthesisError, SynthesisInput, SynthesisOutput};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("scenario {name}: {message}")]
    Invalid { name: String, message: String },
}

/// A Go-style duration (`300ms`, `1m30s`) in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_go_duration(&text).map(Span).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Faults are injected from the start until this virtual time; convergence is judged after.
    pub faults_until: Span,
    /// When the expectations are checked.
    pub deadline: Span,
    /// Simulated synthesizers by name.
    #[serde(default)]
    pub synthesizers: BTreeMap<String, SynthesizerBehaviour>,
    /// Applied by the user at time zero, in order.
    #[serde(default)]
    pub objects: Vec<Value>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub expect: Expectations,
    /// Annotation keys a symphony sets on at most one of its compositions at a time.
    #[serde(default)]
    pub at_most_once: Vec<String>,
    /// Controller replicas running from the start for the whole run (more than one: split
    /// brain throughout, whatever the fault plan). The plan's crashes hit the first.
    #[serde(default = "one_replica")]
    pub replicas: usize,
    /// The controllers' `--rollout-cooldown` (none: no pacing); the checker judges deferred
    /// syntheses against it.
    #[serde(default)]
    pub rollout_cooldown: Option<Span>,
    /// Leader election among the replicas (none: every replica works, fenced); the checker
    /// then judges that only the Lease's holder writes and that failover is bounded.
    #[serde(default)]
    pub leader_election: Option<LeaderElection>,
    /// Objects another client takes over from Eno through the overrides Eno's manifests carry;
    /// the checker judges Eno's writes to them.
    #[serde(default)]
    pub handovers: Vec<Handover>,
}

/// A handover the synthesizer's overrides grant another client: while a managed object
/// carries annotation `annotation` = `value`, Eno leaves `fields` (dotted paths) to that client
/// and, with `keep`, orphans the object instead of deleting it. The scenario states the rule
/// for the checker, which does not evaluate overrides.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Handover {
    pub annotation: String,
    pub value: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub keep: bool,
}

impl Handover {
    /// Whether `obj` carries this handover's marker.
    pub fn marks(&self, obj: &Value) -> bool {
        obj["metadata"]["annotations"][&self.annotation].as_str() == Some(&self.value)
    }
}

/// The replicas' election timings (`eno run --leader-election-lease-duration`, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaderElection {
    pub lease_duration: Span,
    pub renew_deadline: Span,
    pub retry_period: Span,
}

fn one_replica() -> usize {
    1
}

/// What a synthesizer does, by the image its Synthesizer object names (so a user step that
/// changes the image changes the behaviour, as a new synthesizer version would).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SynthesizerBehaviour {
    /// Virtual time each run takes.
    #[serde(default)]
    pub delay: Option<Span>,
    pub images: BTreeMap<String, Behaviour>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Behaviour {
    /// Output items; strings may use `{{composition}}`, `{{namespace}}`, `{{env.NAME}}` (the
    /// composition's `synthesisEnv`) and `{{input.KEY.FIELD}}` (the bound input's `data`).
    #[serde(default)]
    pub items: Vec<Value>,
    /// An error result instead of (in addition to) the items: the synthesis fails.
    #[serde(default)]
    pub error: Option<String>,
    /// The first this many attempts of each synthesis exit non-zero instead: a crash, which is
    /// retried with backoff (not a verdict).
    #[serde(default)]
    pub crash_attempts: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// Not before this virtual time.
    pub at: Span,
    /// And not before this holds (as `kubectl wait` would), so a step that needs an earlier
    /// one's effect still makes sense when faults slow things down.
    #[serde(default)]
    pub wait_for: Option<Expectations>,
    /// Done this many times, this far apart, from `at` on (each time after its `waitFor`):
    /// another client coming back again and again. Other steps' times fall in between.
    #[serde(default)]
    pub repeat: Option<Repeat>,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Repeat {
    pub times: u32,
    pub every: Span,
}

impl Step {
    /// The virtual times this step is done at.
    fn times(&self) -> impl Iterator<Item = Duration> + '_ {
        let (times, every) = self.repeat.map_or((1, Duration::ZERO), |r| (r.times, r.every.0));
        (0..times).map(move |i| self.at.0 + every * i)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Create the object, or merge it onto the existing one.
    Apply(Value),
    /// A JSON merge patch on an existing object.
    Patch { target: Address, merge: Value },
    /// Add a finalizer of the user's own, as a careful client does: a JSON patch conditioned
    /// on the resourceVersion it read (read again and retried when that changed).
    AddFinalizer(FinalizerChange),
    /// Remove one of the user's finalizers, the same way.
    RemoveFinalizer(FinalizerChange),
    Delete(Address),
    /// Lose the current synthesis's slices of composition `namespace/name`: their finalizers
    /// removed and the slices deleted, as a careless user or a restored backup might.
    LoseSlices(String),
}

/// Time for the passes that come due after the longest retry backoff to finish.
const SETTLE_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FinalizerChange {
    pub target: Address,
    pub finalizer: String,
}

/// An object's address, as a user would type it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Address {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectations {
    /// Objects that must exist, with these fields (dotted paths) holding these values.
    #[serde(default)]
    pub present: Vec<Expected>,
    #[serde(default)]
    pub absent: Vec<Address>,
    /// Objects that exist with a deletion requested (held by a finalizer): a condition for a
    /// step playing the controller that owns the finalizer.
    #[serde(default)]
    pub deleting: Vec<Address>,
    /// `namespace/name` → simplified status (`Ready`, `NotReady`, ...).
    #[serde(default)]
    pub compositions: BTreeMap<String, String>,
    /// `namespace/name` of compositions with a synthesis running (a condition for steps that
    /// must happen mid-synthesis).
    #[serde(default)]
    pub synthesizing: Vec<String>,
    /// Synthesizer name → runs, checked in fault-free runs (faults legitimately re-run an
    /// unfinished synthesis).
    #[serde(default)]
    pub invocations: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expected {
    #[serde(flatten)]
    pub address: Address,
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

impl Scenario {
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| ScenarioError::Parse { path: path.to_owned(), message: e.to_string() })?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
        Scenario::parse(&text, path)
    }

    /// Every time a step is done, in time order (a list's order among steps due at once).
    pub fn schedule(&self) -> Vec<(Duration, &Step)> {
        let mut due: Vec<(Duration, &Step)> = self.steps.iter().flat_map(|s| s.times().map(move |at| (at, s))).collect();
        due.sort_by_key(|(at, _)| *at);
        due
    }

    /// Every `*.yaml` in `dir`, by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Read { path: dir.to_owned(), source })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
        paths.sort();
        paths.iter().map(|p| Scenario::load(p)).collect()
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid { name: self.name.clone(), message };
        if self.deadline <= self.faults_until {
            return Err(invalid("deadline must come after faultsUntil, so convergence is judged without faults".into()));
        }
        // A key that kept failing through the fault window waits out the longest retry backoff
        // before its next pass, so convergence is judged only after that (found by the sweep).
        let settle = eno::controllers::Options::default().backoff.1 + SETTLE_MARGIN;
        if self.deadline.0 < self.faults_until.0 + settle {
            return Err(invalid(format!("deadline must be at least {settle:?} after faultsUntil: the longest retry backoff and a margin, so convergence is judged once every retry came due")));
        }
        if let Some(at) = self.steps.iter().flat_map(Step::times).find(|at| *at >= self.deadline.0) {
            return Err(invalid(format!("a step at {at:?} is not before the deadline")));
        }
        // Repeated steps are merged with the others by time, which keeps a list in time order.
        if self.steps.windows(2).any(|w| w[1].at < w[0].at) {
            return Err(invalid("steps must be listed in time order".into()));
        }
        for (i, obj) in self.objects.iter().chain(self.steps.iter().filter_map(|s| match &s.action {
            Action::Apply(obj) => Some(obj),
            _ => None,
        })).enumerate() {
            if address_of(obj).is_none() {
                return Err(invalid(format!("object {i} lacks apiVersion, kind or metadata.name")));
            }
        }
        Ok(())
    }
}

/// The address of a manifest.
pub fn address_of(obj: &Value) -> Option<Address> {
    Some(Address {
        api_version: obj["apiVersion"].as_str()?.to_string(),
        kind: obj["kind"].as_str()?.to_string(),
        namespace: obj["metadata"]["namespace"].as_str().map(String::from),
        name: obj["metadata"]["name"].as_str()?.to_string(),
    })
}

impl SynthesizerBehaviour {
    /// The synthesis this behaviour gives for `input`.
    pub fn synthesize(&self, input: &SynthesisInput) -> Result<SynthesisOutput, SynthesisError> {
        let image = &input.synthesizer.spec.image;
        let Some(behaviour) = self.images.get(image) else {
            return Err(SynthesisError::CommandNotFound(format!("no behaviour for image {image:?}")));
        };
        let comp = &input.composition;
        let attempt = comp.status.as_ref().and_then(|s| s.in_flight_synthesis.as_ref()).map_or(0, |s| s.attempts);
        if attempt.max(1) <= behaviour.crash_attempts {
            return Err(SynthesisError::Exited { code: 1, stderr: Some(format!("crashed on attempt {attempt}")) });
        }
        let mut vars = BTreeMap::from([
            ("composition".to_string(), comp.metadata.name.clone().unwrap_or_default()),
            ("namespace".to_string(), comp.metadata.namespace.clone().unwrap_or_default()),
        ]);
        for env in &comp.spec.synthesis_env {
            vars.insert(format!("env.{}", env.name), env.value.clone());
        }
        // `{{input.KEY.FIELD}}`: a string in the `data` of the input bound to KEY.
        for input in &input.inputs {
            let key = input["metadata"]["annotations"][eno::api::annotations::INPUT_KEY_ANNOTATION].as_str().unwrap_or_default();
            for (field, value) in input["data"].as_object().into_iter().flatten() {
                vars.insert(format!("input.{key}.{field}"), value.as_str().unwrap_or_default().to_string());
            }
        }
        let items = behaviour.items.iter().map(|item| template(item, &vars)).collect();
        let results = behaviour.error.iter().map(|e| KrmResult::error(e.clone())).collect();
        Ok(SynthesisOutput { items, results })
    }
}

/// Replaces `{{var}}` in every string of `value`; unknown variables become empty, as an unset
/// environment variable would.
fn template(value: &Value, vars: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                let Some(len) = rest[start..].find("}}") else { break };
                out.push_str(&rest[..start]);
                let name = rest[start + 2..start + len].trim();
                out.push_str(vars.get(name).map(String::as_str).unwrap_or_default());
                rest = &rest[start + len + 2..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| template(v, vars)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (template(&Value::String(k.clone()), vars).as_str().unwrap_or_default().to_string(), template(v, vars))).collect()),
        other => other.clone(),
    }
}

/// The value at a dotted path (`data.v`, `metadata.labels.team`).
pub fn field<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, part| v.get(part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const YAML: &str = r#"
name: example
faultsUntil: 10s
deadline: 90s
synthesizers:
  web:
    delay: 300ms
    images:
      v1:
        items:
          - apiVersion: v1
            kind: ConfigMap
            metadata: {name: "{{composition}}-cm", namespace: "{{namespace}}"}
            data: {mode: "{{env.MODE}}", missing: "[{{env.NOPE}}]"}
      v2:
        error: the system is down
objects:
  - {apiVersion: eno.azure.io/v1, kind: Synthesizer, metadata: {name: web}, spec: {image: v1}}
steps:
  - at: 5s
    patch:
      target: {apiVersion: eno.azure.io/v1, kind: Synthesizer, name: web}
      merge: {spec: {image: v2}}
  - at: 20s
    delete: {apiVersion: v1, kind: ConfigMap, namespace: default, name: x}
expect:
  present:
    - {apiVersion: v1, kind: ConfigMap, namespace: default, name: c1-cm, fields: {data.mode: prod}}
  compositions: {default/c1: NotReady}
"#;

    fn input(image: &str) -> SynthesisInput {
        let comp = serde_json::from_value(json!({"apiVersion": "eno.azure.io/v1", "kind": "Composition",
            "metadata": {"name": "c1", "namespace": "default"},
            "spec": {"synthesizer": {"name": "web"}, "synthesisEnv": [{"name": "MODE", "value": "prod"}]}}))
        .unwrap();
        let synth = serde_json::from_value(json!({"apiVersion": "eno.azure.io/v1", "kind": "Synthesizer", "metadata": {"name": "web"}, "spec": {"image": image}})).unwrap();
        SynthesisInput::new(comp, synth, "u", vec![])
    }

    #[test]
    fn parses_steps_and_templates_outputs() {
        let s = Scenario::parse(YAML, Path::new("example.yaml")).unwrap();
        assert_eq!((s.faults_until.0, s.deadline.0), (Duration::from_secs(10), Duration::from_secs(90)));
        assert!(matches!(&s.steps[0].action, Action::Patch { target, .. } if target.name == "web"));
        assert!(matches!(&s.steps[1].action, Action::Delete(a) if a.to_string() == "ConfigMap default/x"));
        let web = &s.synthesizers["web"];
        let out = web.synthesize(&input("v1")).unwrap();
        assert_eq!(out.items[0]["metadata"]["name"], "c1-cm");
        assert_eq!(out.items[0]["data"], json!({"mode": "prod", "missing": "[]"}));
        assert_eq!(web.synthesize(&input("v2")).unwrap().failed(), Some("the system is down"));
        assert!(web.synthesize(&input("v3")).is_err());
        assert_eq!(field(&out.items[0], "data.mode"), Some(&json!("prod")));
    }

    #[test]
    fn rejects_a_deadline_inside_the_fault_window() {
        let bad = YAML.replace("deadline: 90s", "deadline: 10s");
        let err = Scenario::parse(&bad, Path::new("bad.yaml")).unwrap_err();
        assert!(err.to_string().contains("deadline must come after faultsUntil"), "{err}");
        // Retries that back off through the fault window must come due before the deadline.
        let tight = YAML.replace("deadline: 90s", "deadline: 60s");
        let err = Scenario::parse(&tight, Path::new("tight.yaml")).unwrap_err();
        assert!(err.to_string().contains("the longest retry backoff"), "{err}");
    }

    #[test]
    fn a_repeated_step_falls_between_the_others_and_steps_must_come_in_time_order() {
        let steps = r#"
steps:
  - {at: 1s, repeat: {times: 3, every: 2s}, delete: {apiVersion: v1, kind: ConfigMap, name: a}}
  - {at: 2s, repeat: {times: 2, every: 2s}, delete: {apiVersion: v1, kind: ConfigMap, name: b}}
  - {at: 4s, delete: {apiVersion: v1, kind: ConfigMap, name: c}}
"#;
        let yaml = |steps: &str| format!("name: r\nfaultsUntil: 10s\ndeadline: 90s\n{steps}");
        let s = Scenario::parse(&yaml(steps), Path::new("r.yaml")).unwrap();
        let done: Vec<(u64, &str)> = s
            .schedule()
            .into_iter()
            .map(|(at, step)| (at.as_secs(), match &step.action {
                Action::Delete(a) => a.name.as_str(),
                other => panic!("{other:?}"),
            }))
            .collect();
        // At 4 s, `b` is listed before `c`: a list's order among steps due at once.
        assert_eq!(done, vec![(1, "a"), (2, "b"), (3, "a"), (4, "b"), (4, "c"), (5, "a")]);
        let unordered = steps.replace("at: 4s", "at: 0s");
        assert!(Scenario::parse(&yaml(&unordered), Path::new("r.yaml")).unwrap_err().to_string().contains("time order"));
        let late = steps.replace("times: 3", "times: 50");
        assert!(Scenario::parse(&yaml(&late), Path::new("r.yaml")).unwrap_err().to_string().contains("not before the deadline"));
    }

    #[test]
    fn every_scenario_file_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let all = Scenario::load_dir(&dir).unwrap();
        assert!(all.len() >= 3, "found {} scenarios", all.len());
    }
}
