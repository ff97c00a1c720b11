//! The four patch formats the Kubernetes API accepts, as pure functions over JSON values:
//! RFC 6902 JSON patch ([`json`]), RFC 7386 JSON merge patch ([`merge`]), strategic merge
//! patch ([`strategic`], with the built-in kinds' merge keys in [`merge_keys`]) and
//! server-side apply ([`apply`], which keeps `metadata.managedFields` through
//! [`crate::managed_fields`]). [`merge`] and [`strategic`] also create the three-way patches
//! client-side `kubectl apply` sends.

pub mod apply;
pub mod json;
pub mod merge;
pub mod merge_keys;
pub mod strategic;

#[cfg(test)]
mod arbitrary;
