//! The runtime seam: everything reconcilers know about the outside world.
//!
//! Reconcilers see a [`Cluster`] (the API verbs and the errors a real server returns), an
//! [`Informer`] cache fed by the backend's watcher (possibly stale, by design) and a
//! [`WorkQueue`], counted in [`metrics::Metrics`]. Time and tasks go through `tokio`, which is madsim's simulated runtime in the
//! simulation build.
//! Backends: [`fake::FakeCluster`] (the in-process fake API server, both builds) and
//! `kube::KubeCluster` (kube-rs, real builds only).

mod backoff;
mod client;
mod controller;
pub mod fake;
mod informer;
pub mod leader_election;
#[cfg(not(madsim))]
pub mod kube;
pub mod metrics;
mod queue;
mod rate_limit;
mod watcher;

pub use backoff::Backoff;
pub use client::{drop_managed_fields, CacheEvent, ClientError, ClientResult, Cluster, DeleteParams, Gvk, ListParams, ListSemantic, ObjectList, ObjectRef, Patch, PatchKind, Propagation, WatchEvent};
pub use controller::{run_controller, Action};
pub use informer::{Cached, Informer};
pub use metrics::Metrics;
pub use queue::WorkQueue;
pub use rate_limit::TokenBucket;
pub use watcher::list_watch;

/// Milliseconds since the Unix epoch on this replica's wall clock, `offset_millis` off it (the
/// simulator skews replicas' clocks this way). Timestamps Eno writes come from here.
pub(crate) fn wall_clock_millis(offset_millis: i64) -> i64 {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    millis + offset_millis
}
