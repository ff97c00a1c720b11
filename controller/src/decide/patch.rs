//! Eno's `Patch` pseudo-kind (`eno.azure.io/v1`, kind `Patch`): a manifest that is never sent to
//! the API server. Its `metadata.name` and `metadata.namespace`, with `patch.apiVersion` and
//! `patch.kind`, name an object Eno does not own (its *target*); `patch.ops` is an RFC 6902 JSON
//! patch applied to the target while it exists.
//!
//! As in Eno: a missing target is skipped (never created) and the Patch counts as reconciled
//! and ready; an op setting `/metadata/deletionTimestamp` to a non-empty string deletes the
//! target instead; `deletion-strategy: orphan` does not apply to a Patch; a Patch removed from
//! the output leaves its target as it is (it gets no tombstone). Deleting the composition
//! deletes every Patch's existing target, as Eno's `Snapshot.Deleted()` does (it is true for
//! every resource of a deleting composition, and a Patch is never orphaned).
//!
//! The write is the JSON patch itself, preceded by a `replace` of `/metadata/resourceVersion`
//! with the version the decision read: the server applies the ops to its current object and
//! then refuses the update with 409 Conflict if that version is no longer current (the lock Eno
//! uses for its own JSON patches). A `test` would fail with 422 Invalid instead, which the
//! interpreter could not tell from ops that do not apply: a conflict is retried from fresh state,
//! an invalid patch is the resource's error. The ops are sent as written rather than turned into
//! a merge patch, so arrays and explicit nulls mean what RFC 6902 says.

use apimachinery::patch::json::{self as json_patch, JsonPatchError};
use serde_json::{json, Value};

use super::resource::{deletion, deletion_over, is_deleting, meta_str, PatchType, ResourceAction, ResourceContext, ResourceOptions};
use super::{group_of, ResourceKey};
use crate::runtime::{Gvk, ObjectRef};

pub const KIND: &str = "Patch";

/// An op on this path with a non-empty string value deletes the target.
const DELETION_TIMESTAMP: &str = "/metadata/deletionTimestamp";

/// A Patch manifest that cannot be applied, with what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("a Patch needs patch.apiVersion and patch.kind: the type of the object it patches")]
    NoTarget,
    #[error("a Patch needs patch.ops: a list of JSON patch (RFC 6902) operations")]
    NoOps,
    #[error("patch.ops[{index}] is not a JSON patch operation: {reason}")]
    InvalidOp { index: usize, reason: String },
    #[error("patch.ops do not apply to {target}: {reason}")]
    DoesNotApply { target: String, reason: String },
}

/// Whether a manifest is a Patch rather than an object to manage.
pub fn is_patch(manifest: &Value) -> bool {
    manifest.get("apiVersion").and_then(Value::as_str) == Some(crate::api::API_VERSION)
        && manifest.get("kind").and_then(Value::as_str) == Some(KIND)
}

/// The `(apiVersion, kind)` of the object a manifest addresses: a Patch's target's, any other
/// manifest's own. Ordering (readiness groups, infrastructure kinds) goes by it, as in Eno: a
/// Patch of a ConfigMap is ordered as a ConfigMap. `None` when a field is missing or empty.
pub fn target_of(manifest: &Value) -> Option<(&str, &str)> {
    let (api_version, kind) = if is_patch(manifest) {
        (manifest.pointer("/patch/apiVersion"), manifest.pointer("/patch/kind"))
    } else {
        (manifest.get("apiVersion"), manifest.get("kind"))
    };
    let (api_version, kind) = (api_version?.as_str()?, kind?.as_str()?);
    (!api_version.is_empty() && !kind.is_empty()).then_some((api_version, kind))
}

fn name_and_namespace(manifest: &Value) -> Option<(&str, Option<&str>)> {
    let metadata = manifest.get("metadata")?;
    let name = metadata.get("name")?.as_str().filter(|n| !n.is_empty())?;
    Some((name, metadata.get("namespace").and_then(Value::as_str)))
}

/// The address of the object a manifest addresses (see [`target_of`]): what the reconciler
/// reads and writes.
pub fn target_ref(manifest: &Value) -> Option<ObjectRef> {
    let (api_version, kind) = target_of(manifest)?;
    let (name, namespace) = name_and_namespace(manifest)?;
    Some(ObjectRef::new(Gvk::new(api_version, kind), namespace, name))
}

/// The identity of the object a manifest addresses (see [`target_of`]). A Patch in the output
/// keeps its target from being tombstoned, as Eno's slicing does: replacing a managed object
/// with a Patch of it hands the object over instead of deleting it.
pub fn target_key(manifest: &Value) -> Option<ResourceKey> {
    let (api_version, kind) = target_of(manifest)?;
    let (name, namespace) = name_and_namespace(manifest)?;
    Some(ResourceKey {
        group: group_of(api_version).to_owned(),
        kind: kind.to_owned(),
        namespace: namespace.unwrap_or_default().to_owned(),
        name: name.to_owned(),
    })
}

/// The ops of a Patch manifest, each checked to be a JSON patch operation (a known `op`, a
/// `path` that is a JSON pointer, the fields the op needs). An empty list is valid: it is how a
/// Patch whose ops an override fills in starts (Eno's docs).
pub fn ops(manifest: &Value) -> Result<&[Value], PatchError> {
    target_of(manifest).ok_or(PatchError::NoTarget)?;
    let ops = manifest.pointer("/patch/ops").and_then(Value::as_array).ok_or(PatchError::NoOps)?;
    for (index, op) in ops.iter().enumerate() {
        // Applied alone to an empty object, an op either fails to decode (it is not an op) or
        // fails to apply (fine: the target decides).
        if let Err(JsonPatchError::Decode(reason)) = json_patch::apply(&json!({}), &json!([op])) {
            return Err(PatchError::InvalidOp { index, reason });
        }
    }
    Ok(ops)
}

/// Eno's `patchSetsDeletionTimestamp`: some op sets `/metadata/deletionTimestamp` to a
/// non-empty string (whatever the op and the value).
pub fn deletes_target(manifest: &Value) -> bool {
    manifest.pointer("/patch/ops").and_then(Value::as_array).is_some_and(|ops| {
        ops.iter().any(|op| {
            op.get("path").and_then(Value::as_str) == Some(DELETION_TIMESTAMP)
                && op.get("value").and_then(Value::as_str).is_some_and(|v| !v.is_empty())
        })
    })
}

/// The action for a Patch (overrides applied, composition annotations cascaded): `desired` is
/// `None` once the Patch left the output, `live` is its target.
///
/// Rules, first match wins: left the output → nothing, ever (its target is not touched);
/// invalid ops → error; composition deleting, or ops deleting the target → delete it (unless it
/// is gone or going, or its symphony is being deleted); no target → nothing (never created);
/// target being deleted, or `disable-updates` → nothing; ops already satisfied → nothing;
/// otherwise the ops, guarded by the target's resourceVersion.
pub fn decide(
    desired: Option<&Value>,
    live: Option<&Value>,
    ctx: &ResourceContext,
    opts: &ResourceOptions,
) -> Result<ResourceAction, PatchError> {
    let Some(desired) = desired else { return Ok(ResourceAction::Orphan) };
    let listed = ops(desired)?;
    if ctx.composition_deleting || deletes_target(desired) {
        // Never orphaned by its deletion strategy (Eno: `orphan` is not for a Patch).
        return Ok(deletion(live, ctx.symphony_deleting));
    }
    let Some(live) = live else { return Ok(ResourceAction::Nothing) };
    if is_deleting(live) || opts.disable_updates {
        return Ok(ResourceAction::Nothing);
    }
    let patched = json_patch::apply(live, &Value::Array(listed.to_vec())).map_err(|e| PatchError::DoesNotApply {
        target: target_ref(desired).map(|r| r.to_string()).unwrap_or_default(),
        reason: e.to_string(),
    })?;
    if patched == *live {
        return Ok(ResourceAction::Nothing);
    }
    let mut guarded = Vec::with_capacity(listed.len() + 1);
    if let Some(rv) = meta_str(live, "resourceVersion") {
        guarded.push(json!({"op": "replace", "path": "/metadata/resourceVersion", "value": rv}));
    }
    guarded.extend(listed.iter().cloned());
    Ok(ResourceAction::Patch { patch_type: PatchType::Json, patch: Value::Array(guarded) })
}

/// Whether a Patch's state is `deleted`: it left the output (its target is not Eno's to wait
/// for), or it should delete the target and nothing more will happen to it.
pub fn deletion_settled(desired: Option<&Value>, live: Option<&Value>, ctx: &ResourceContext, opts: &ResourceOptions) -> bool {
    let Some(desired) = desired else { return true };
    if !ctx.composition_deleting && !deletes_target(desired) {
        return false;
    }
    deletion_over(live, opts, ctx, false)
}

#[cfg(test)]
mod tests;
