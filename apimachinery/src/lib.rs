//! Kubernetes object semantics without a server.
//!
//! The Kubernetes API server does more to an object than store it: it applies JSON, merge,
//! strategic-merge and server-side-apply patches, tracks which client owns which field in
//! `metadata.managedFields`, filters lists with label and field selectors, and words its
//! errors with Go's formatting. Clients depend on the exact results (`kubectl apply` computes
//! a three-way strategic merge patch locally, controllers compare what they applied with what
//! is live). This crate is those semantics as pure functions over [`serde_json::Value`], ported
//! from `k8s.io/apimachinery` and `sigs.k8s.io/structured-merge-diff`, with no I/O, no async
//! runtime and no generated API types, so a controller, a test double of the API server or a
//! CLI can use them alike.
//!
//! # Where to start
//!
//! - [`patch::strategic`]: strategic merge patch, applying one ([`patch::strategic::apply`])
//!   and creating the three-way patch client-side `kubectl apply` sends
//!   ([`patch::strategic::three_way`]); the built-in kinds' merge keys are
//!   [`patch::merge_keys::builtin`].
//! - [`patch::merge`]: JSON merge patch (RFC 7386) and its three-way form, for kinds without
//!   merge keys (custom resources). [`patch::json`] is JSON patch (RFC 6902).
//! - [`patch::apply`] and [`managed_fields`]: server-side apply and field ownership.
//! - [`selector`]: label and field selectors, parsed, validated and matched.
//! - [`gofmt`]: Go's `encoding/json`, `%q` and `%v` output, so texts match a real server's.
//! - [`conversion`]: what the server changes in a built-in object on write (a Secret's
//!   `stringData`), for clients that compare what they sent with what is live.
//! - [`hash`]: FNV-1a and SplitMix64, for output that must not change between runs.
//!
//! # Design
//!
//! Objects are plain JSON: there is no typed model, so any kind works, and what a table does
//! not describe takes Kubernetes' default for untagged fields (maps merge, lists are replaced).
//! Where Go's behaviour is observable to clients (item order after a merge, error texts,
//! number formatting) it is kept, and each module lists the few places it deliberately
//! differs. Every function is deterministic (object keys are visited in sorted order) and
//! returns an error rather than panicking on malformed input; property tests check both.
//!
//! # Example
//!
//! A three-way strategic merge, as `kubectl apply` does it: a client last applied
//! `previous`, now wants `desired`, and the live object has a sidecar container another client
//! added. The patch removes the `debug` label the applier dropped, changes the app's image and
//! leaves the sidecar alone, because containers merge by `name`.
//!
//! ```
//! use apimachinery::patch::{merge_keys, strategic};
//! use serde_json::json;
//!
//! let previous = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "labels": {"app": "web", "debug": "true"}},
//!     "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}}
//! });
//! let desired = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "labels": {"app": "web"}},
//!     "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}
//! });
//! let live = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "labels": {"app": "web", "debug": "true"}},
//!     "spec": {"replicas": 3, "template": {"spec": {"containers": [
//!         {"name": "app", "image": "web:1"},
//!         {"name": "sidecar", "image": "proxy:7"}
//!     ]}}}
//! });
//!
//! let meta = merge_keys::builtin("apps", "Deployment").expect("Deployment has merge keys");
//! let patch = strategic::three_way(Some(&previous), &desired, &live, meta)?;
//! let merged = strategic::apply(&live, &patch, meta)?;
//!
//! assert_eq!(merged, json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "labels": {"app": "web"}},
//!     "spec": {"replicas": 3, "template": {"spec": {"containers": [
//!         {"name": "app", "image": "web:2"},
//!         {"name": "sidecar", "image": "proxy:7"}
//!     ]}}}
//! }));
//! // Applying the same patch again changes nothing: the object has converged.
//! assert_eq!(strategic::apply(&merged, &patch, meta)?, merged);
//! # Ok::<(), strategic::StrategicError>(())
//! ```

pub mod conversion;
pub mod gofmt;
pub mod hash;
pub mod managed_fields;
pub mod patch;
pub mod selector;
pub mod view;
