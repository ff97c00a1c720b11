//! `eno.azure.io/readiness` and `eno.azure.io/readiness-<name>`: CEL checks over the live object
//! that decide when a resource counts as ready, judged as Eno's readiness engine does.
//!
//! A check passes when it returns `true` (ready now) or a list holding a condition: an object
//! with `status: "True"` and a non-null `type` and `reason`. The first such condition in the
//! list decides, and its time counts as precise: its `lastTransitionTime` (RFC 3339), or now if
//! it has none. A resource is ready when every check passes: at the latest precise time if any
//! check gave one (a condition's transition is when the resource really became ready, which
//! the clock of this pass is not), else now. Without checks it is ready once reconciled.
//!
//! Checks see the live object as `self`; `composition` is an empty composition (name and
//! namespace `""`, no labels or annotations), as Eno evaluates readiness without one. A check
//! that fails to evaluate (it reads a field the object does not have yet) is simply not
//! passing; one that does not compile is an error naming the resource and the expression. The
//! caller latches the result: once ready, a resource stays ready for that synthesis, so checks
//! run only until they first pass.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::cel::{self, CelError, Vars};
use crate::api::{Composition, CompositionSpec};

/// A check that does not compile; the resource is not ready, and this says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("readiness check {check} of {resource}: {source}")]
pub struct ReadinessError {
    /// The annotation holding the check.
    pub check: String,
    /// The resource, as `Kind namespace/name` (`Kind name` when cluster-scoped).
    pub resource: String,
    pub source: CelError,
}

/// A passing check's time, and whether it came from a condition.
struct Passed {
    at: Time,
    precise: bool,
}

/// When the resource became ready, or `None` if it is not (yet). `checks` map each annotation
/// key to its expression, as in [`super::resource::ResourceOptions::readiness_checks`]; `now`
/// is the time of this pass.
pub fn evaluate(checks: &BTreeMap<String, String>, live: Option<&Value>, now: &Time) -> Result<Option<Time>, ReadinessError> {
    if checks.is_empty() {
        return Ok(Some(now.clone()));
    }
    let Some(live) = live else { return Ok(None) }; // Nothing to check yet.
    let composition = cel::composition_view(&Composition::new("", CompositionSpec::default()));
    let vars = Vars { live: Some(live), composition: &composition };
    // Every check is compiled, so an invalid one is reported even while another is pending.
    let mut passed = Vec::with_capacity(checks.len());
    for (annotation, expression) in checks {
        match cel::eval(expression, &vars) {
            Ok(result) => passed.extend(passed_at(&result, now)),
            Err(source @ CelError::Compile { .. }) => {
                return Err(ReadinessError { check: annotation.clone(), resource: describe(live), source })
            }
            // Reading what is not there yet (`self.status` before the first status) is the
            // usual way of not being ready.
            Err(e) => tracing::debug!(check = %annotation, error = %e, "readiness check not ready"),
        }
    }
    if passed.len() < checks.len() {
        return Ok(None);
    }
    let latest = |precise: bool| passed.iter().filter(|p| p.precise == precise).map(|p| &p.at).max().cloned();
    Ok(latest(true).or_else(|| latest(false)))
}

/// What a check's result says, if it passes.
fn passed_at(result: &Value, now: &Time) -> Option<Passed> {
    if let Value::Array(items) = result {
        let present = |c: &serde_json::Map<String, Value>, key: &str| c.get(key).is_some_and(|v| !v.is_null());
        let condition = items.iter().filter_map(Value::as_object).find(|c| {
            c.get("status").and_then(Value::as_str) == Some("True") && present(c, "type") && present(c, "reason")
        });
        if let Some(condition) = condition {
            let at = condition.get("lastTransitionTime").and_then(Value::as_str).and_then(parse_rfc3339);
            // Precise even without a time of its own, as in Eno.
            return Some(Passed { at: at.unwrap_or_else(|| now.clone()), precise: true });
        }
    }
    (*result == Value::Bool(true)).then(|| Passed { at: now.clone(), precise: false })
}

/// Go's `time.Parse(time.RFC3339, _)`: an upper-case `T` between date and time, and `Z` or a
/// numeric offset.
fn parse_rfc3339(text: &str) -> Option<Time> {
    if text.as_bytes().get(10) != Some(&b'T') || text.ends_with('z') {
        return None;
    }
    serde_json::from_value(Value::String(text.to_owned())).ok()
}

fn describe(object: &Value) -> String {
    let field = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    let (kind, namespace, name) = (field("/kind"), field("/metadata/namespace"), field("/metadata/name"));
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

#[cfg(test)]
mod tests;
