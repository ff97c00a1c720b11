//! Kubernetes object semantics without a server.

pub mod gofmt;
pub mod hash;
pub mod managed_fields;
pub mod patch;
pub mod selector;
