//! The HTTP front: kubectl and kube-rs talk to the core over this, as to a real apiserver.
//! Compiled only outside the simulation build (the simulator calls the core in-process).

mod discovery;
mod duplicates;
pub mod identity;
mod negotiate;
mod openapi;
pub mod protobuf;
mod query;
mod reviews;
pub mod tls;

use crate::auth::{self, rbac::Policy, Attributes, User};
use crate::error::{ApiError, ApiResult};
use crate::server::{DeleteOptions, Deleted, FieldValidation, List, ListOptions, PatchType, Propagation, ResourceVersionMatch, Target, WriteOptions, Written};
use crate::shared::{AuditEvent, SharedApiServer};
use bytes::Bytes;
use futures::StreamExt;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use identity::{Authorization, Tokens};
use negotiate::{Input, Output};
use protobuf::Codec;
use query::{Query, ResourcePath, Route};
use reviews::Review;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

const JSON: &str = "application/json";
const TABLE_CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Quiet time after which a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
    /// Larger request bodies get 413 (the real server's limit is 3 MiB).
    pub max_body_bytes: usize,
    /// Watches without `timeoutSeconds` end after this long.
    pub default_watch_timeout: Duration,
    pub authorization: Authorization,
    /// Bearer tokens accepted as these users (besides the ServiceAccount tokens TokenRequest
    /// issues); a request without a token is `system:anonymous`.
    pub tokens: Vec<(String, User)>,
    /// HTTPS with this certificate; plain HTTP without.
    pub tls: Option<tls::Tls>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bookmark_interval: Duration::from_secs(5),
            max_body_bytes: 3 * 1024 * 1024,
            default_watch_timeout: Duration::from_secs(1800),
            authorization: Authorization::default(),
            tokens: Vec::new(),
            tls: None,
        }
    }
}

/// Serves until `shutdown` resolves. Each connection is HTTP/1.1 with keep-alive.
pub async fn serve(server: SharedApiServer, listener: TcpListener, config: HttpConfig, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let address = listener.local_addr()?.to_string();
    let tokens = Tokens::new(&config.tokens);
    let acceptor = config.tls.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(t.config.clone()));
    let state = Arc::new(State { server, config, address, tokens });
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut shutdown => return Ok(()),
        };
        let state = state.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => serve_connection(stream, state).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(stream, state).await,
                    Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                },
            }
        });
    }
}

/// One HTTP/1.1 connection with keep-alive, over TCP or TLS.
async fn serve_connection(io: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static, state: Arc<State>) {
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(state.handle(req).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(io), service).await {
        tracing::debug!(error = %e, "connection ended");
    }
}

struct State {
    server: SharedApiServer,
    config: HttpConfig,
    address: String,
    tokens: Tokens,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

fn respond(code: u16, content_type: &str, body: &impl serde::Serialize) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .body(full(serde_json::to_vec(body).unwrap_or_default()))
        .expect("static response parts are valid")
}

fn error_response(e: &ApiError) -> Response<Body> {
    error_response_as(e, Output::Json)
}

fn error_response_as(e: &ApiError, output: Output) -> Response<Body> {
    let output = if output == Output::Table { Output::Json } else { output };
    let mut r = encoded(e.code, output, &e.to_status());
    if let Some(s) = e.retry_after_seconds {
        r.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    r
}

fn header_str(req: &Request<Incoming>, name: header::HeaderName) -> &str {
    req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

impl State {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        // Filled in as the request is understood (who, what); a request refused before that is
        // logged by its method and path.
        let mut audit = AuditEvent { user: String::new(), verb: method.as_str().to_ascii_lowercase(), request: auth::Request::NonResource { path: path.clone() }, code: 0 };
        let response = match self.dispatch(req, &mut audit).await {
            Ok(r) => r,
            Err(e) => error_response(&e),
        };
        audit.code = response.status().as_u16();
        tracing::debug!(%method, %path, status = audit.code, "request");
        self.server.audit(&audit);
        response
    }

    async fn dispatch(&self, req: Request<Incoming>, audit: &mut AuditEvent) -> ApiResult<Response<Body>> {
        let now = self.server.with(|s| s.now_time());
        let user = self.tokens.authenticate(req.headers(), now, &|namespace, name| self.service_account_uid(namespace, name))?;
        let user = identity::impersonate(user, req.headers(), &req.uri().to_string(), |attrs| self.authorize(attrs))?;
        audit.user = user.name.clone();
        let route = query::route(req.uri().path())?;
        let watch = Query::parse(req.uri().query())?.flag("watch")?.unwrap_or(false);
        let (verb, request) = identity::request_of(&route, req.method(), req.uri().path(), watch);
        (audit.verb, audit.request) = (verb.clone(), request.clone());
        self.authorize(&Attributes { user: user.clone(), verb, request })?;
        let accept = header_str(&req, header::ACCEPT).to_string();
        let aggregated = accept.contains("as=APIGroupDiscoveryList");
        let registry = || self.server.with(|s| s.registry().clone());
        let get_only = |req: &Request<Incoming>| {
            if req.method() == Method::GET { Ok(()) } else { Err(ApiError::method_not_supported(format!("{} is not supported here", req.method()))) }
        };
        match route {
            Route::Version => {
                get_only(&req)?;
                Ok(respond(200, JSON, &discovery::version()))
            }
            Route::Health => Ok(Response::builder().status(200).header(header::CONTENT_TYPE, "text/plain").body(full("ok")).expect("valid")),
            Route::CoreVersions if aggregated => Ok(respond(200, discovery::AGGREGATED_CONTENT_TYPE, &discovery::aggregated(&registry(), true))),
            Route::CoreVersions => Ok(respond(200, JSON, &discovery::core_versions(&self.address))),
            Route::Groups if aggregated => Ok(respond(200, discovery::AGGREGATED_CONTENT_TYPE, &discovery::aggregated(&registry(), false))),
            Route::Groups => Ok(respond(200, JSON, &discovery::groups(&registry()))),
            Route::GroupVersion { group, version } => discovery::resource_list(&registry(), &group, &version)
                .map(|doc| respond(200, JSON, &doc))
                .ok_or_else(|| ApiError::new(404, "NotFound", "the server could not find the requested resource")),
            Route::OpenApiV3Root => Ok(respond(200, JSON, &openapi::root(&registry()))),
            Route::OpenApiV3 { group, version } => openapi::document(&registry(), &group, &version)
                .map(|doc| respond(200, JSON, &doc))
                .ok_or_else(|| ApiError::new(404, "NotFound", "the server could not find the requested resource")),
            // An empty protobuf document: kubectl treats it as "no client-side schema".
            Route::OpenApiV2 => Ok(Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
                .body(full(Bytes::new()))
                .expect("valid")),
            Route::Resource(path) => self.resource(req, path, &user, audit).await,
        }
    }

    /// A 403 unless the configured authorizer allows `attrs`.
    fn authorize(&self, attrs: &Attributes) -> ApiResult<()> {
        let decision = self.decide(attrs);
        if decision.allowed() {
            Ok(())
        } else {
            Err(auth::forbidden(attrs, decision.reason()))
        }
    }

    /// Every Role, ClusterRole and binding in the store now.
    fn policy(&self) -> Policy {
        self.server.with(|s| {
            let mut items = |kind: &str| -> Vec<Value> {
                s.target_for("rbac.authorization.k8s.io/v1", kind, None, None)
                    .and_then(|t| s.list(&t, &ListOptions::default()))
                    .map(|list| list.item_values().collect())
                    .unwrap_or_default()
            };
            Policy::new(&items("ClusterRole"), &items("Role"), &items("ClusterRoleBinding"), &items("RoleBinding"))
        })
    }

    fn service_account_uid(&self, namespace: &str, name: &str) -> Option<String> {
        self.server.with(|s| {
            let target = s.target_for("v1", "ServiceAccount", Some(namespace), Some(name)).ok()?;
            s.get(&target, None).ok()?["metadata"]["uid"].as_str().map(str::to_string)
        })
    }

    /// Role and binding writes may only grant what the writer holds (or may `escalate` / `bind`).
    fn check_rbac_write(&self, user: &User, target: &Target, object: &Value) -> ApiResult<()> {
        if self.config.authorization != Authorization::Rbac || user.is_master() || target.resource.group != "rbac.authorization.k8s.io" {
            return Ok(());
        }
        let rt = &target.resource;
        let namespace = target.namespace.clone().unwrap_or_default();
        let name = crate::object::name(object).to_string();
        // One read of the policy serves every decision below (the writer is not a master here).
        let policy = self.policy();
        let check = |verb: &str, resource: &str, name: &str| policy.authorize(&Attributes { user: user.clone(), verb: verb.into(), request: auth::Request::resource("rbac.authorization.k8s.io", resource, &namespace, name) }).allowed();
        let granted = match rt.kind.as_str() {
            "Role" | "ClusterRole" => {
                if check("escalate", &rt.plural, target.name.as_deref().unwrap_or("")) {
                    return Ok(());
                }
                auth::rbac::Rule::of_role(object)
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                let role_kind = object["roleRef"]["kind"].as_str().unwrap_or("");
                let role_name = object["roleRef"]["name"].as_str().unwrap_or("");
                if check("bind", if role_kind == "ClusterRole" { "clusterroles" } else { "roles" }, role_name) {
                    return Ok(());
                }
                policy.role_rules(role_kind, role_name, &namespace).map_err(|e| ApiError::new(404, "NotFound", e))?
            }
            _ => return Ok(()),
        };
        let (held, _) = policy.rules_for(user, &namespace);
        match auth::rbac::escalation(user, &held, &granted) {
            None => Ok(()),
            Some(why) => Err(auth::forbidden_error(&rt.group, &rt.plural, &name, &why)),
        }
    }

    fn target(&self, path: &ResourcePath) -> ApiResult<Target> {
        let resource = self.server.with(|s| s.resolve(&path.group, &path.version, &path.plural))?;
        if !resource.namespaced && path.namespace.is_some() {
            return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
        }
        if resource.namespaced && path.namespace.is_none() && path.name.is_some() {
            return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
        }
        if let Some(sub) = &path.subresource {
            if sub != "status" || !resource.status_subresource {
                return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
            }
        }
        Ok(Target { resource, namespace: path.namespace.clone(), name: path.name.clone(), subresource: path.subresource.clone() })
    }

    async fn resource(&self, req: Request<Incoming>, path: ResourcePath, user: &User, audit: &mut AuditEvent) -> ApiResult<Response<Body>> {
        if let Some(review) = Review::of(&path) {
            let output = negotiate::output(header_str(&req, header::ACCEPT), true, false)?;
            return self.review(review, req, path, user, output).await;
        }
        let target = self.target(&path)?;
        let q = Query::parse(req.uri().query())?;
        let watching = req.method() == Method::GET && target.name.is_none() && q.flag("watch")?.unwrap_or(false);
        let protobuf_capable = !target.resource.is_custom() && Codec::get().message_for(&target.resource.api_version(), &target.resource.kind).is_some();
        let output = negotiate::output(header_str(&req, header::ACCEPT), protobuf_capable, watching)?;
        let content_type = header_str(&req, header::CONTENT_TYPE).to_string();
        let user_agent = header_str(&req, header::USER_AGENT).to_string();
        let method = req.method().clone();
        let write_opts = || -> ApiResult<WriteOptions> {
            let field_manager = q.get("fieldManager").map(str::to_string).or_else(|| {
                // The real server derives a manager from the user agent's program name.
                user_agent.split('/').next().filter(|s| !s.is_empty()).map(str::to_string)
            });
            Ok(WriteOptions {
                field_manager,
                dry_run: dry_run(&q, &method)?,
                field_validation: FieldValidation::parse(q.get("fieldValidation").unwrap_or(""))?,
                force: q.flag("force")?,
            })
        };
        // Past negotiation, errors too are written the way the client asked (a protobuf Status).
        let result: ApiResult<Response<Body>> = async {
            match (method.clone(), target.name.is_some()) {
                (Method::GET, false) if watching => self.watch(&target, list_options(&q)?, output),
                (Method::GET, false) => {
                    let list = self.server.with(|s| s.list(&target, &list_options(&q)?))?;
                    Ok(self.render_list(&target, list, output))
                }
                (Method::GET, true) => {
                    let obj = self.server.with(|s| s.get(&target, q.get("resourceVersion")))?;
                    Ok(self.render(&target, obj, output))
                }
                // Create (POST to the collection) and replace (PUT to the object) take a whole object.
                (Method::POST, false) | (Method::PUT, true) => {
                    let raw = self.read_body(req).await?;
                    let mut body = parse_target_object(&target, &content_type, &raw)?;
                    // The audit log names the object a create makes.
                    if let auth::Request::Resource { name, .. } = &mut audit.request {
                        if name.is_empty() {
                            *name = crate::object::name(&body).to_string();
                        }
                    }
                    let opts = write_opts()?;
                    let warnings = field_problems(&target, &content_type, &raw, &mut body, opts.field_validation)?;
                    self.check_rbac_write(user, &target, &body)?;
                    let result = self.server.with(|s| if method == Method::POST { s.create(&target, body, &opts) } else { s.update(&target, body, &opts) })?;
                    Ok(written(result.warned(warnings), output))
                }
                (Method::PATCH, true) => {
                    let patch_type = PatchType::from_content_type(&content_type).ok_or_else(|| {
                        ApiError::unsupported_media_type(format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{}",
                            if target.resource.is_custom() { "" } else { ", application/strategic-merge-patch+json" }
                        ))
                    })?;
                    let body = self.read_body(req).await?;
                    let opts = write_opts()?;
                    if target.resource.group == "rbac.authorization.k8s.io" {
                        // The patched object decides what is granted: work it out without writing.
                        let trial = WriteOptions { dry_run: true, ..opts.clone() };
                        let patched = self.server.with(|s| s.patch(&target, patch_type, &body, &trial))?;
                        self.check_rbac_write(user, &target, &patched.object)?;
                    }
                    Ok(written(self.server.with(|s| s.patch(&target, patch_type, &body, &opts))?, output))
                }
                (Method::DELETE, true) => {
                    let body = self.read_body(req).await?;
                    let opts = delete_options(&q, &content_type, &body)?;
                    Ok(match self.server.with(|s| s.delete(&target, &opts))? {
                        Deleted::Pending(obj) => encoded(200, output, &obj),
                        Deleted::Gone(status) => encoded(200, output, &status),
                    })
                }
                (Method::DELETE, false) => {
                    let body = self.read_body(req).await?;
                    let opts = delete_options(&q, &content_type, &body)?;
                    let list = self.server.with(|s| s.delete_collection(&target, &list_options(&q)?, &opts))?;
                    Ok(encoded(200, output, &list))
                }
                (m, _) => Err(ApiError::method_not_supported(format!("the server does not allow this method on the requested resource: {m}"))),
            }
        }
        .await;
        Ok(result.unwrap_or_else(|e| error_response_as(&e, output)))
    }

    async fn read_body(&self, req: Request<Incoming>) -> ApiResult<Bytes> {
        let limit = self.config.max_body_bytes;
        match Limited::new(req.into_body(), limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                Err(ApiError::request_entity_too_large(format!("the request body is larger than the limit of {limit} bytes")))
            }
            Err(e) => Err(ApiError::bad_request(format!("error reading the request body: {e}"))),
        }
    }

    /// One object in JSON or protobuf, or a server-side printed Table when the client asked for one.
    fn render(&self, target: &Target, value: Value, output: Output) -> Response<Body> {
        match output {
            Output::Table => self.table(target, &[value], &Value::Null),
            _ => encoded(200, output, &value),
        }
    }

    /// A list: JSON is written straight from the shared stored items.
    fn render_list(&self, target: &Target, list: List, output: Output) -> Response<Body> {
        match output {
            Output::Json => respond(200, JSON, &list),
            Output::Protobuf => encoded(200, output, &list.into_value()),
            Output::Table => self.table(target, &list.item_values().collect::<Vec<_>>(), &list.metadata),
        }
    }

    /// A Table of `rows`; `metadata` is the list's (resourceVersion, continue), null for one object.
    fn table(&self, target: &Target, rows: &[Value], metadata: &Value) -> Response<Body> {
        let now = self.server.with(|s| s.now_time());
        let rv = metadata["resourceVersion"].as_str().unwrap_or("");
        let t = crate::printer::table(&target.resource.columns, rows, rv, metadata["continue"].as_str(), now);
        respond(200, TABLE_CONTENT_TYPE, &t)
    }

    fn watch(&self, target: &Target, opts: ListOptions, output: Output) -> ApiResult<Response<Body>> {
        let timeout = opts.timeout_seconds.map(Duration::from_secs).unwrap_or(self.config.default_watch_timeout);
        let opened = self.server.with(|s| s.watch(target, &opts))?;
        let stream = self.server.stream(opened, self.config.bookmark_interval);
        let deadline = tokio::time::Instant::now() + timeout;
        let server = self.server.clone();
        let columns = target.resource.columns.clone();
        // The state carries whether the stream must end: a watch never skips an event, so one that
        // cannot be written ends the stream (after what came before it) and the client relists.
        let lines = futures::stream::unfold((stream, false), move |(mut stream, ended)| {
            let server = server.clone();
            let columns = columns.clone();
            async move {
                if ended {
                    return None;
                }
                let mut ended = false;
                let batch = tokio::select! {
                    b = stream.next_batch() => b?,
                    _ = tokio::time::sleep_until(deadline) => return None,
                };
                let mut out = Vec::new();
                for event in batch {
                    if output == Output::Protobuf {
                        match Codec::get().watch_frame(event.event_type, &event.object) {
                            Ok(frame) => out.extend_from_slice(&frame),
                            Err(e) => {
                                tracing::error!(error = %e, "a watch event does not encode as protobuf; ending the watch");
                                ended = true;
                                break;
                            }
                        }
                        continue;
                    }
                    let mut line = event.to_json();
                    if output == Output::Table && matches!(event.event_type, "ADDED" | "MODIFIED" | "DELETED") {
                        let now = server.with(|s| s.now_time());
                        line["object"] = crate::printer::table(&columns, std::slice::from_ref(&event.object), "", None, now);
                    }
                    out.extend_from_slice(&serde_json::to_vec(&line).unwrap_or_default());
                    out.push(b'\n');
                }
                Some((Ok::<_, Infallible>(Frame::data(Bytes::from(out))), (stream, ended)))
            }
        });
        Ok(Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, match output {
                Output::Table => TABLE_CONTENT_TYPE,
                Output::Protobuf => protobuf::PROTOBUF_WATCH,
                Output::Json => JSON,
            })
            .header(header::CACHE_CONTROL, "no-cache, private")
            .body(StreamBody::new(lines.boxed()).boxed_unsync())
            .expect("valid"))
    }
}

/// `value` in the negotiated encoding. A value without a message (which would be a bug in the
/// server's bookkeeping) is answered in JSON, which every client that asks for protobuf accepts too.
fn encoded(code: u16, output: Output, value: &Value) -> Response<Body> {
    if output == Output::Protobuf {
        match Codec::get().encode(value) {
            Ok(bytes) => {
                return Response::builder()
                    .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                    .header(header::CONTENT_TYPE, protobuf::PROTOBUF)
                    .body(full(bytes))
                    .expect("static response parts are valid")
            }
            Err(e) => tracing::error!(error = %e, kind = %value["kind"], "a response does not encode as protobuf; answering in JSON"),
        }
    }
    respond(code, JSON, value)
}

fn written(w: Written, output: Output) -> Response<Body> {
    let mut r = encoded(if w.created { 201 } else { 200 }, output, &w.object);
    for warning in &w.warnings {
        if let Ok(v) = http::HeaderValue::from_str(&format!("299 - {:?}", warning)) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

/// What decoding a body into its Go type notices: a built-in kind keeps only its type's fields
/// (custom resources are pruned by their schema in the core), and a JSON key given twice keeps
/// its last value. Each is a warning (`Warn`, the default), nothing (`Ignore`), or refuses the
/// request (`Strict`).
fn field_problems(target: &Target, content_type: &str, raw: &[u8], body: &mut Value, validation: FieldValidation) -> ApiResult<Vec<String>> {
    let rt = &target.resource;
    let unknown = if rt.is_custom() { Vec::new() } else { Codec::get().prune_unknown(&rt.api_version(), &rt.kind, body) };
    let mut messages: Vec<String> = unknown.iter().map(|path| crate::validation::unknown_field_message(path)).collect();
    if negotiate::input(content_type)? == Input::Json {
        messages.extend(duplicates::duplicate_fields(raw).iter().map(|path| format!("duplicate field {}", apimachinery::gofmt::go_quote(path))));
    }
    match validation {
        _ if messages.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            messages.join(", "),
            kind = rt.kind,
            version = rt.version
        ))),
        FieldValidation::Warn => Ok(messages),
        FieldValidation::Ignore => Ok(Vec::new()),
    }
}

fn parse_target_object(target: &Target, content_type: &str, body: &[u8]) -> ApiResult<Value> {
    parse_object(&target.resource.kind, &target.resource.version, target.resource.is_custom(), content_type, body)
}

/// Create and update bodies: JSON, YAML, or protobuf for the built-in kinds. A protobuf body for
/// a custom resource is the real server's 400: its decoder finds no kind in it.
fn parse_object(kind: &str, version: &str, custom: bool, content_type: &str, body: &[u8]) -> ApiResult<Value> {
    let cannot_handle = |why: String| ApiError::bad_request(format!("{kind} in version {version:?} cannot be handled as a {kind}: {why}"));
    let value: Value = match negotiate::input(content_type)? {
        Input::Json => serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))?,
        Input::Yaml => {
            let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("error decoding YAML: invalid UTF-8"))?;
            serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
        }
        Input::Protobuf if custom => return Err(cannot_handle("Object 'Kind' is missing in 'object has no kind field '".into())),
        Input::Protobuf => Codec::get().decode(body).map_err(|e| cannot_handle(e.to_string()))?,
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the body of the request must be an object"));
    }
    Ok(value)
}

/// `dryRun`: absent, or `All` (the one value the real server knows); anything else is its 422.
fn dry_run(q: &Query, method: &Method) -> ApiResult<bool> {
    match q.get("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => {
            let options = match *method {
                Method::POST => "CreateOptions",
                Method::PUT => "UpdateOptions",
                Method::PATCH => "PatchOptions",
                _ => "DeleteOptions",
            };
            Err(ApiError::invalid(&format!("{options}.meta.k8s.io"), "meta.k8s.io", options, "", vec![crate::error::Cause::new(
                "FieldValueNotSupported",
                "dryRun",
                format!("Unsupported value: []string{{{other:?}}}: supported values: \"All\""),
            )]))
        }
    }
}

fn list_options(q: &Query) -> ApiResult<ListOptions> {
    Ok(ListOptions {
        label_selector: q.get("labelSelector").map(str::to_string),
        field_selector: q.get("fieldSelector").map(str::to_string),
        limit: q.number("limit")?,
        continue_token: q.get("continue").map(str::to_string),
        resource_version: q.get("resourceVersion").map(str::to_string),
        resource_version_match: match q.get("resourceVersionMatch") {
            None | Some("") => None,
            Some("NotOlderThan") => Some(ResourceVersionMatch::NotOlderThan),
            Some("Exact") => Some(ResourceVersionMatch::Exact),
            Some(other) => return Err(ApiError::bad_request(format!("unsupported resourceVersionMatch {other:?}: supported values: \"Exact\", \"NotOlderThan\""))),
        },
        allow_watch_bookmarks: q.flag("allowWatchBookmarks")?.unwrap_or(false),
        send_initial_events: q.flag("sendInitialEvents")?,
        timeout_seconds: q.number("timeoutSeconds")?,
        without_managed_fields: false,
    })
}

/// DeleteOptions from the body (JSON from kubectl and kube-rs, protobuf from client-go's typed
/// clients) and the query string.
fn delete_options(q: &Query, content_type: &str, body: &[u8]) -> ApiResult<DeleteOptions> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else if negotiate::input(content_type)? == Input::Protobuf {
        let options = Codec::get().decode(body).map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
        if options["kind"] != "DeleteOptions" {
            return Err(ApiError::bad_request(format!("error decoding DeleteOptions: the body is a {}", options["kind"])));
        }
        options
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let policy = b["propagationPolicy"].as_str().or_else(|| q.get("propagationPolicy"));
    let mut propagation = match policy {
        None | Some("") => None,
        Some("Orphan") => Some(Propagation::Orphan),
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some(other) => {
            return Err(ApiError::invalid("DeleteOptions.meta.k8s.io", "meta.k8s.io", "DeleteOptions", "", vec![crate::error::Cause::new(
                "FieldValueNotSupported",
                "propagationPolicy",
                format!("Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""),
            )]))
        }
    };
    let orphan = b["orphanDependents"].as_bool().or(q.flag("orphanDependents")?);
    match (orphan, propagation) {
        (Some(true), Some(p)) if p != Propagation::Orphan => {
            return Err(ApiError::invalid("DeleteOptions.meta.k8s.io", "meta.k8s.io", "DeleteOptions", "", vec![crate::error::Cause::new(
                "FieldValueInvalid",
                "propagationPolicy",
                "Invalid value: orphanDependents and propagationPolicy cannot both be set",
            )]))
        }
        (Some(true), None) => propagation = Some(Propagation::Orphan),
        _ => {}
    }
    let dry_run = b["dryRun"].as_array().is_some_and(|a| a.iter().any(|v| v == "All")) || dry_run(q, &Method::DELETE)?;
    Ok(DeleteOptions {
        propagation,
        precondition_uid: b["preconditions"]["uid"].as_str().map(str::to_string),
        precondition_resource_version: b["preconditions"]["resourceVersion"].as_str().map(str::to_string),
        dry_run,
    })
}
