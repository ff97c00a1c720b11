//! An in-memory Kubernetes API server.
//!
//! One deterministic core ([`server::ApiServer`]: store, global revision, event log, watch
//! cursors, write rules, patches, schema validation, garbage collection, fault hooks) with two
//! fronts: in-process calls through [`shared::SharedApiServer`] (the simulator, tests) and HTTP
//! ([`http`], outside the simulation build) for kubectl and kube-rs. The object semantics it
//! serves (patch formats, field ownership, selectors, Go formatting) are the [`apimachinery`]
//! crate's; [`patch`] is the glue that maps them onto resource types and Status errors.

pub mod clock;
pub mod error;
pub mod faults;
pub mod object;
pub mod patch;
pub mod printer;
pub mod resource;
pub mod rng;
pub mod server;
pub mod shared;
pub mod store;
pub mod validation;

#[cfg(not(madsim))]
pub mod http;

pub use error::{ApiError, ApiResult};
pub use server::ApiServer;
pub use shared::SharedApiServer;
