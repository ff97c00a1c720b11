//! `eno.azure.io/readiness` and `eno.azure.io/readiness-<name>`: CEL checks over the live object
//! that decide when a resource counts as ready.
//!
//! A check passes when it returns `true` (ready now) or a list holding a condition with
//! `status: "True"` (ready at that condition's `lastTransitionTime`, the precise moment, when it
//! has one). A resource is ready when every check passes, at the latest of their times; without
//! checks it is ready once reconciled. A check that fails to evaluate (it reads a field the
//! object does not have yet) is simply not passing; one that does not compile is an error. The caller latches the result: once ready, a resource
//! stays ready for that synthesis, so checks run only until they first pass.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::cel::{self, CelError, Vars};
use crate::api::annotations::READINESS;

/// A check that does not compile; the resource is not ready, and this says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("readiness check {check}: {source}")]
pub struct ReadinessError {
    /// The annotation holding the check.
    pub check: String,
    pub source: CelError,
}

/// When the resource became ready, or `None` if it is not (yet). `checks` are by name, as in
/// [`super::resource::ResourceOptions::readiness_checks`]; `now` is the time of this pass.
pub fn evaluate(checks: &BTreeMap<String, String>, vars: &Vars<'_>, now: &Time) -> Result<Option<Time>, ReadinessError> {
    if checks.is_empty() {
        return Ok(Some(now.clone()));
    }
    if vars.live.is_none() {
        return Ok(None); // Nothing to check yet.
    }
    // Every check is compiled, so an invalid one is reported even while another is pending.
    let mut ready_at = Some(None::<Time>);
    for (name, expression) in checks {
        let passed = match cel::eval(expression, vars) {
            Ok(result) => passed_at(&result, now),
            Err(source @ CelError::Compile { .. }) => return Err(ReadinessError { check: annotation(name), source }),
            // Reading what is not there yet (`self.status` before the first status) is the
            // usual way of not being ready.
            Err(e) => {
                tracing::debug!(check = %annotation(name), error = %e, "readiness check not ready");
                None
            }
        };
        ready_at = match (ready_at, passed) {
            (Some(latest), Some(at)) => Some(latest.max(Some(at))),
            _ => None,
        };
    }
    Ok(ready_at.flatten())
}

fn annotation(name: &str) -> String {
    if name.is_empty() {
        READINESS.to_owned()
    } else {
        format!("{READINESS}-{name}")
    }
}

/// The time a check's result says the resource became ready, if it says so. With several true
/// conditions the latest wins, so the answer does not depend on their order.
fn passed_at(result: &Value, now: &Time) -> Option<Time> {
    match result {
        Value::Bool(true) => Some(now.clone()),
        Value::Array(items) => items
            .iter()
            .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
            .map(|c| {
                c.get("lastTransitionTime")
                    .and_then(|t| serde_json::from_value::<Time>(t.clone()).ok())
                    .unwrap_or_else(|| now.clone())
            })
            .max(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
