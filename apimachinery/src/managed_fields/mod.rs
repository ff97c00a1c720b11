//! Field ownership (`metadata.managedFields`) the way the Kubernetes apiserver keeps it.
//!
//! Kubernetes tracks, per writer ("manager"), the set of fields that writer last set. The
//! rules follow `sigs.k8s.io/structured-merge-diff` and
//! `k8s.io/apimachinery/pkg/util/managedfields/internal` so that kubectl and kube-rs see the
//! same entries a real server would produce. The parts, bottom up:
//!
//! - [`PathElement`]: one step of a field path (`path`);
//! - [`FieldSet`]: the trie of paths (`field_set`), written and read as FieldsV1
//!   (`{"f:spec":{"f:size":{}}}`) in `fields_v1`;
//! - [`ListSemantics`]: how a list's items are named (`lists`);
//! - [`fields_of`] and [`compare`]: the fields an object sets and what a write changed
//!   (`object_fields`);
//! - [`ManagedEntry`]: one manager's entry, decoded, sorted and written back (`entries`);
//! - [`record_update`]: the bookkeeping for non-apply writes (`update`); server-side apply is
//!   [`crate::patch::apply`].
//!
//! Everything here is a pure function over `serde_json::Value`; nothing panics on odd input.

mod entries;
mod field_set;
mod fields_v1;
mod lists;
mod object_fields;
mod path;
mod update;

pub use entries::{decode_managed_fields, decode_managed_fields_list, describe_manager, is_reset_request, manager_identity, set_managed_fields, set_managed_fields_kept, sort_entries, ManagedEntry, Operation};
pub use field_set::FieldSet;
pub(crate) use lists::{item_pe, item_pe_lenient, list_type_at, map_atomic_at};
pub use lists::{builtin_list_type, builtin_map_is_atomic, AtomicLists, BuiltinLists, FnLists, ListSemantics, ListType, MapKey, SchemaLists};
pub(crate) use object_fields::strip_managed_fields;
pub use object_fields::{compare, fields_of, strip_set, try_fields_of, Comparison};
pub use path::{cmp_values, path_to_string, PathElement};
pub use update::{cap_update_managers, record_update, record_update_from, ANCIENT_CHANGES_MANAGER, MAX_UPDATE_MANAGERS};

/// A malformed FieldsV1 document or managedFields entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsError(pub String);

#[cfg(test)]
mod tests;
