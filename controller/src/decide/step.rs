//! The vocabulary decisions name their next step in: the one [`Write`] to make (which object,
//! which precondition), and the result of an uncached read a decision asked for ([`Fresh`]).
//!
//! A `Write` is plain data: `controllers::writes` is the one place that turns it into an API
//! call. Every variant carries its optimistic-concurrency guard (a resourceVersion, a uid, a
//! JSON-patch `test`, or the resourceVersion inside the body), so a write decided on a stale
//! view fails with 409 (or 422 for a failed `test`) instead of overwriting newer state.

use crate::api::Synthesis;
use crate::runtime::{Gvk, ObjectRef, Patch};
use serde_json::Value;

/// One write to the API server.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Replace `.status` (status subresource), if the object is still at `resource_version`
    /// (a JSON-patch `test`).
    ReplaceStatus { target: ObjectRef, resource_version: String, status: Value },
    /// Set `metadata.finalizers` (none: removed), if the object is still at `resource_version`.
    SetFinalizers { target: ObjectRef, resource_version: String, finalizers: Vec<String> },
    /// Replace the in-flight synthesis with `claimed`, if it is still `read`: JSON-patch `test`s
    /// on its uuid, claim and synthesized time, not on the whole object, so an unrelated write
    /// (a label, say) does not get in the way.
    ClaimSynthesis { target: ObjectRef, read: Synthesis, claimed: Synthesis },
    /// Create an object (a taken name fails with 409).
    Create { object: Value },
    /// PUT an object, guarded by the resourceVersion it carries.
    Replace { object: Value },
    /// A merge or strategic patch, guarded by the resourceVersion its body carries.
    Patch { target: ObjectRef, patch: Patch },
    /// Delete, if the object still has this uid and resourceVersion (when given). An object
    /// already gone counts as deleted.
    Delete { target: ObjectRef, uid: Option<String>, resource_version: Option<String> },
}

/// An uncached read a decision asked for: not made yet, or what it found (`None`: no such
/// object).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Fresh<T> {
    #[default]
    Unread,
    Read(Option<T>),
}

/// The type of one of Eno's kinds (or any kind with a static type).
pub fn gvk<K: kube::Resource<DynamicType = ()>>() -> Gvk {
    Gvk::new(&K::api_version(&()), &K::kind(&()))
}

/// The address of a typed object.
pub fn address<K: kube::Resource<DynamicType = ()>>(object: &K) -> ObjectRef {
    let meta = object.meta();
    ObjectRef::new(gvk::<K>(), meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default())
}

/// `value` as JSON, for a write's body. Eno's types are plain data (string-keyed maps, derived
/// `Serialize`), so this does not fail.
pub fn json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}
