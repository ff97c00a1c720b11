//! Kubernetes object semantics without a server.

pub mod gofmt;
pub mod managed_fields;
pub mod patch;
pub mod selector;
