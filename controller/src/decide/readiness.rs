//! `eno.azure.io/readiness` and `eno.azure.io/readiness-<name>`: CEL checks over the live object
//! that decide when a resource counts as ready.
//!
//! A check passes when it returns `true` (ready now) or a list holding a condition with
//! `status: "True"` (ready at that condition's `lastTransitionTime`, the precise moment, when it
//! has one). A resource is ready when every check passes, at the latest of their times; without
//! checks it is ready once reconciled. The caller latches the result: once ready, a resource
//! stays ready for that synthesis, so checks run only until they first pass.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::cel::{self, CelError, Vars};

/// A check that could not be evaluated; the resource is not ready, and this says why.
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
    let mut ready_at: Option<Time> = None;
    for (name, expression) in checks {
        let result = cel::eval(expression, vars).map_err(|source| ReadinessError { check: annotation(name), source })?;
        match passed_at(&result, now) {
            Some(at) => ready_at = ready_at.max(Some(at)),
            None => return Ok(None),
        }
    }
    Ok(ready_at)
}

fn annotation(name: &str) -> String {
    if name.is_empty() {
        super::resource::READINESS.to_owned()
    } else {
        format!("{}-{name}", super::resource::READINESS)
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
