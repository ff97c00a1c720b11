//! Requests that ask the server about identity rather than store an object: TokenRequest
//! (`serviceaccounts/<name>/token`, so `kubectl create token` works), SelfSubjectAccessReview and
//! SelfSubjectRulesReview (`kubectl auth can-i [--list]`), SelfSubjectReview
//! (`kubectl auth whoami`). Nothing of them is stored.

use super::identity::Authorization;
use super::negotiate::Output;
use super::query::ResourcePath;
use super::{encoded, parse_object, Body, State};
use crate::auth::{Attributes, Decision, Request, User};
use crate::error::{ApiError, ApiResult, Cause};
use http::{header, Method, Request as HttpRequest, Response};
use hyper::body::Incoming;
use serde_json::{json, Value};

/// The audience a token gets when the request names none: the cluster's own issuer.
const DEFAULT_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
const MIN_TOKEN_SECONDS: i64 = 600;
const MAX_TOKEN_SECONDS: i64 = 1 << 32;

/// Which of these a resource path is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    Token,
    Access,
    Rules,
    Subject,
}

impl Review {
    pub fn of(path: &ResourcePath) -> Option<Review> {
        Some(match (path.group.as_str(), path.plural.as_str(), path.subresource.as_deref()) {
            ("", "serviceaccounts", Some("token")) => Review::Token,
            ("authorization.k8s.io", "selfsubjectaccessreviews", None) => Review::Access,
            ("authorization.k8s.io", "selfsubjectrulesreviews", None) => Review::Rules,
            ("authentication.k8s.io", "selfsubjectreviews", None) => Review::Subject,
            _ => return None,
        })
    }

    fn kind(self) -> &'static str {
        match self {
            Review::Token => "TokenRequest",
            Review::Access => "SelfSubjectAccessReview",
            Review::Rules => "SelfSubjectRulesReview",
            Review::Subject => "SelfSubjectReview",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Review::Token | Review::Subject => "authentication.k8s.io/v1",
            Review::Access | Review::Rules => "authorization.k8s.io/v1",
        }
    }
}

impl State {
    pub(super) async fn review(&self, review: Review, req: HttpRequest<Incoming>, path: ResourcePath, user: &User, output: Output) -> ApiResult<Response<Body>> {
        if req.method() != Method::POST {
            return Err(ApiError::method_not_supported(format!("the server does not allow this method on the requested resource: {}", req.method())));
        }
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = self.read_body(req).await?;
        let version = review.api_version().rsplit('/').next().unwrap_or("v1");
        let body = parse_object(review.kind(), version, false, &content_type, &body)?;
        let mut answer = match review {
            Review::Token => self.token_request(&path, &body)?,
            Review::Access => self.access_review(&body, user)?,
            Review::Rules => self.rules_review(&body, user)?,
            Review::Subject => json!({"metadata": {}, "status": {"userInfo": user.to_json()}}),
        };
        answer["apiVersion"] = json!(review.api_version());
        answer["kind"] = json!(review.kind());
        Ok(encoded(201, output, &answer))
    }

    fn token_request(&self, path: &ResourcePath, body: &Value) -> ApiResult<Value> {
        let namespace = path.namespace.clone().filter(|n| !n.is_empty()).ok_or_else(|| ApiError::bad_request("namespace is required"))?;
        let name = path.name.clone().unwrap_or_default();
        let invalid = |field: &str, message: String| {
            ApiError::invalid("TokenRequest.authentication.k8s.io", "authentication.k8s.io", "TokenRequest", "", vec![Cause::new("FieldValueInvalid", field, message)])
        };
        for (field, wanted) in [("name", &name), ("namespace", &namespace)] {
            if let Some(given) = body["metadata"][field].as_str().filter(|g| !g.is_empty() && g != wanted) {
                return Err(invalid(&format!("metadata.{field}"), format!("Invalid value: {given:?}: must match the service account {field} if specified")));
            }
        }
        // The ServiceAccount first, as the real server looks it up before validating.
        let (account, now) = self.server.with(|s| {
            let target = s.target_for("v1", "ServiceAccount", Some(&namespace), Some(&name))?;
            Ok::<_, ApiError>((s.get(&target, None)?, s.now_time()))
        })?;
        let seconds = body["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
        if seconds < MIN_TOKEN_SECONDS {
            return Err(invalid("spec.expirationSeconds", format!("Invalid value: {seconds}: may not specify a duration less than 10 minutes")));
        }
        if seconds > MAX_TOKEN_SECONDS {
            return Err(invalid("spec.expirationSeconds", format!("Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds")));
        }
        let audiences = match body["spec"]["audiences"].as_array() {
            Some(a) if !a.is_empty() => Value::Array(a.clone()),
            _ => json!([DEFAULT_AUDIENCE]),
        };
        let expires = now + chrono::Duration::seconds(seconds);
        let uid = account["metadata"]["uid"].as_str().unwrap_or("");
        let token = self.tokens.issue(&namespace, &name, uid, expires);
        let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        Ok(json!({
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": time(now)},
            "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": body["spec"]["boundObjectRef"]},
            "status": {"token": token, "expirationTimestamp": time(expires)},
        }))
    }

    fn access_review(&self, body: &Value, user: &User) -> ApiResult<Value> {
        let spec = &body["spec"];
        let text = |v: &Value, key: &str| v[key].as_str().unwrap_or("").to_string();
        let (verb, request) = match (spec["resourceAttributes"].as_object(), spec["nonResourceAttributes"].as_object()) {
            (Some(_), None) => {
                let a = &spec["resourceAttributes"];
                (text(a, "verb"), Request::Resource { api_group: text(a, "group"), resource: text(a, "resource"), subresource: text(a, "subresource"), namespace: text(a, "namespace"), name: text(a, "name") })
            }
            (None, Some(_)) => (text(&spec["nonResourceAttributes"], "verb"), Request::NonResource { path: text(&spec["nonResourceAttributes"], "path") }),
            _ => {
                return Err(ApiError::invalid("SelfSubjectAccessReview.authorization.k8s.io", "authorization.k8s.io", "SelfSubjectAccessReview", "", vec![Cause::new(
                    "FieldValueRequired",
                    "spec.resourceAttributes",
                    "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
                )]))
            }
        };
        let decision = self.decide(&Attributes { user: user.clone(), verb, request });
        let mut status = json!({"allowed": decision.allowed()});
        if !decision.reason().is_empty() {
            status["reason"] = json!(decision.reason());
        }
        Ok(json!({"metadata": {}, "spec": spec, "status": status}))
    }

    fn rules_review(&self, body: &Value, user: &User) -> ApiResult<Value> {
        let namespace = body["spec"]["namespace"].as_str().unwrap_or("");
        if namespace.is_empty() {
            return Err(ApiError::bad_request("no namespace on request"));
        }
        let status = match self.config.authorization {
            Authorization::AlwaysAllow => json!({
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            }),
            Authorization::Rbac => {
                let (rules, errors) = self.policy().rules_for(user, namespace);
                let resource: Vec<Value> = rules.iter().filter(|r| !r.resources.is_empty()).map(|r| r.to_resource_rule()).collect();
                let non_resource: Vec<Value> = rules.iter().filter(|r| !r.non_resource_urls.is_empty()).map(|r| r.to_non_resource_rule()).collect();
                let mut status = json!({"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": false});
                if !errors.is_empty() {
                    status["evaluationError"] = json!(errors.join(", "));
                }
                status
            }
        };
        Ok(json!({"metadata": {}, "spec": {}, "status": status}))
    }

    /// The authorizer's answer under the configured mode.
    pub(super) fn decide(&self, attrs: &Attributes) -> Decision {
        match self.config.authorization {
            Authorization::AlwaysAllow => Decision::Allow { reason: String::new() },
            Authorization::Rbac => crate::auth::rbac::authorize(attrs, || self.policy()),
        }
    }
}
