//! The operations endpoint `eno run` (and `eno dev`, when asked) serves over plain HTTP:
//!
//! - `GET /metrics`: every metric in the Prometheus text format ([`crate::runtime::Metrics`]);
//! - `GET /healthz`: 200 while the process serves requests (the liveness probe);
//! - `GET /readyz`: 200 once the informer caches have synced and the controllers run, 503
//!   before (the readiness probe).

use crate::runtime::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the endpoint reports.
#[derive(Clone, Default)]
pub struct Ops {
    pub metrics: Arc<Metrics>,
    /// Set once the caches have synced.
    pub ready: Arc<AtomicBool>,
}

/// Serves the endpoint on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, ops: Ops) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let ops = ops.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let ops = ops.clone();
                async move { Ok::<_, Infallible>(ops.handle(&req)) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await {
                tracing::debug!(error = %e, "ops connection ended");
            }
        });
    }
}

impl Ops {
    fn handle<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
        }
        match req.uri().path() {
            "/metrics" => {
                let mut response = text(StatusCode::OK, self.metrics.encode());
                response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"));
                response
            }
            "/healthz" => text(StatusCode::OK, "ok\n".into()),
            "/readyz" if self.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ok\n".into()),
            "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "informer caches have not synced yet\n".into()),
            _ => text(StatusCode::NOT_FOUND, "not found: /metrics, /healthz and /readyz are served\n".into()),
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
