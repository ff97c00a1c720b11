//! API errors as `metav1.Status` bodies: the code, reason and message a real server returns.

use serde_json::{json, Value};

/// One entry of `details.causes`: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// e.g. `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldManagerConflict`.
    pub reason: String,
    pub message: String,
    /// Dotted field path, e.g. `spec.replicas`.
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Cause { reason: reason.to_string(), field: field.into(), message: message.into() }
    }
}

/// A failed API call. Converts to the exact `Status` object clients parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, `Expired`, ...
    pub reason: String,
    pub message: String,
    /// `details.name`, `details.group`, `details.kind` (the plural resource, as the real server sends).
    pub name: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds` for 429/5xx.
    pub retry_after_seconds: Option<u32>,
}

/// `group/resource` as the real server names things in messages: `widgets.example.com`, `configmaps`.
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") }
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason.to_string(),
            message: message.into(),
            name: None,
            group: None,
            kind: None,
            causes: Vec::new(),
            retry_after_seconds: None,
        }
    }

    fn with_details(mut self, group: &str, plural: &str, name: &str) -> Self {
        self.group = Some(group.to_string());
        self.kind = Some(plural.to_string());
        self.name = Some(name.to_string());
        self
    }

    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{} \"{name}\" not found", qualified(group, plural)))
            .with_details(group, plural, name)
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", qualified(group, plural)))
            .with_details(group, plural, name)
    }

    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict_because(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict_because(group: &str, plural: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} \"{name}\": {why}", qualified(group, plural)),
        )
        .with_details(group, plural, name)
    }

    /// 422 with causes; `kind_group` is `Kind.group` (e.g. `Widget.example.com`, `ConfigMap`).
    pub fn invalid(kind_group: &str, group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let list: Vec<String> = causes
            .iter()
            .map(|c| if c.field.is_empty() { c.message.clone() } else { format!("{}: {}", c.field, c.message) })
            .collect();
        let summary = match list.len() {
            0 => String::new(),
            1 => list[0].clone(),
            _ => format!("[{}]", list.join(", ")),
        };
        let mut e = Self::new(422, "Invalid", format!("{kind_group} \"{name}\" is invalid: {summary}"));
        e.group = Some(group.to_string());
        e.kind = Some(kind.to_string());
        e.name = Some(name.to_string());
        e.causes = causes;
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Gone", message)
    }

    pub fn method_not_supported(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    pub fn request_entity_too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLarge", message)
    }

    pub fn too_many_requests() -> Self {
        let mut e = Self::new(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later");
        e.retry_after_seconds = Some(1);
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", format!("Internal error occurred: {}", message.into()))
    }

    pub fn service_unavailable() -> Self {
        let mut e = Self::new(503, "ServiceUnavailable", "the server is currently unable to handle the request");
        e.retry_after_seconds = Some(1);
        e
    }

    pub fn timeout() -> Self {
        let mut e = Self::new(504, "Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request");
        e.retry_after_seconds = Some(1);
        e
    }

    /// The `metav1.Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        let mut details = serde_json::Map::new();
        if let Some(n) = &self.name {
            details.insert("name".into(), json!(n));
        }
        if let Some(g) = &self.group {
            details.insert("group".into(), json!(g));
        }
        if let Some(k) = &self.kind {
            details.insert("kind".into(), json!(k));
        }
        if !self.causes.is_empty() {
            let causes: Vec<Value> = self
                .causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect();
            details.insert("causes".into(), Value::Array(causes));
        }
        if let Some(s) = self.retry_after_seconds {
            details.insert("retryAfterSeconds".into(), json!(s));
        }
        if !details.is_empty() {
            status["details"] = Value::Object(details);
        }
        status
    }

    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }
    pub fn is_conflict(&self) -> bool {
        self.code == 409 && self.reason == "Conflict"
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
