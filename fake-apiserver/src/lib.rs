//! An in-memory Kubernetes API server.
//!
//! One deterministic core ([`server::ApiServer`]: store, global revision, event log, watch
//! cursors, write rules, patches, schema validation, garbage collection, fault hooks) with two
//! fronts: in-process calls through [`shared::SharedApiServer`] (the simulator, tests) and HTTP
//! ([`http`], outside the simulation build) for kubectl and kube-rs. The object semantics it
//! serves (patch formats, field ownership, selectors, Go formatting) are the [`apimachinery`]
//! crate's; [`patch`] is the glue that maps them onto resource types and Status errors.
//!
//! Where to start reading: [`server`] (the verbs: `read`, `write`, `delete`, `gc`, `crd`), then
//! [`store`] (objects, the revision counter, the event log and its compaction floor), then
//! [`http`] for the wire format kubectl and kube-rs see. [`validation`] is the structural-schema
//! pipeline CRDs get (validate, default, prune); [`faults`] the hooks the simulator drives.
//!
//! Design: the core does no I/O and reads time only through [`clock`], so it runs unchanged
//! under madsim; every write goes through one path that bumps the global revision, records an
//! event and notifies observers, which is what makes watches, the simulator's per-commit
//! checks and its traces agree on one order of events.

// `ApiError` is a whole `Status` (160 bytes) returned by value. Boxed, the simulator bench ran
// 2% slower, not faster: failures are common here (reads of absent objects, injected errors),
// and each then costs an allocation.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod clock;
pub mod error;
pub mod faults;
pub mod frozen;
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
