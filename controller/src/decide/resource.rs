//! What to do with one managed resource, given what Eno wants, what it applied last time and
//! what is live.
//!
//! Updates are client-side three-way merges (the seeds' "strategic three-way merge when possible,
//! falling back to non-strategic three-way merge"): fields in the desired state converge, fields
//! Eno applied before and dropped are removed, and fields only other clients set are left alone.
//! A patch that would not change the live object is not sent, so a resource in sync costs a read
//! and nothing else.

use std::collections::BTreeMap;
use std::time::Duration;

use apimachinery::patch::strategic::StrategicError;
use apimachinery::patch::{merge, merge_keys, strategic};
use serde_json::{Map, Value};

use super::cel::Vars;
use super::overrides::{self, OverridesError};
use super::patch::{self, PatchError};
use super::readiness::{self, ReadinessError};
use super::{cascade, group_of};
use crate::api::Composition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use crate::api::duration::parse_go_duration;

use crate::api::annotations::{ENO_PREFIX, RECONCILE_INTERVAL, USE_DEFAULT_RECONCILE_INTERVAL, DISABLE_UPDATES, DISABLE_RECONCILIATION, DELETION_STRATEGY, READINESS_GROUP, DELETION_GROUP, REPLACE, FAIL_OPEN, READINESS, SYMPHONY_DELETING};
use apimachinery::hash::splitmix64;

/// Drift polling never runs more often than this, whatever the annotation says (Eno's
/// `--min-reconcile-interval`), so `1ns` cannot turn into a hot loop against the API server.
pub const MIN_RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

/// How often a resource that is not ready yet is looked at again (Eno's
/// `--readiness-poll-interval`): readiness is read from the live object, which Eno does not watch.
pub const READINESS_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The drift interval of a resource with `use-default-reconcile-interval` and no
/// `reconcile-interval` (Eno's `--default-reconcile-interval`).
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Kinds Eno creates first (readiness group -100, deletion group +100) because other resources
/// usually need them: Eno's `kind_ordering.go`, after Helm's install order. Keyed by kind alone,
/// whatever the API group, as in Eno.
pub const INFRASTRUCTURE_KINDS: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "EtcdCluster",
];
const INFRASTRUCTURE_READINESS_GROUP: i64 = -100;

/// What happens to the resource when it should be deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionStrategy {
    /// Delete it, and count it deleted once its deletion is accepted (`background`, the
    /// default; also `delete`).
    #[default]
    Delete,
    /// Delete it, and count it deleted only once it is gone: other controllers' finalizers
    /// hold the composition's deletion back (`foreground`). As in Eno, the delete request is
    /// the same as for `background`; only the waiting differs.
    Foreground,
    /// Leave it in the cluster (`orphan`).
    Orphan,
}

impl DeletionStrategy {
    /// A `deletion-strategy` value, compared without case as Eno does; `None` when unknown.
    pub fn parse(value: &str) -> Option<Self> {
        let is = |name: &str| value.eq_ignore_ascii_case(name);
        if is("background") || is("delete") {
            Some(Self::Delete)
        } else if is("foreground") {
            Some(Self::Foreground)
        } else if is("orphan") {
            Some(Self::Orphan)
        } else {
            None
        }
    }
}

/// The `eno.azure.io/*` annotations of a desired manifest that steer its reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceOptions {
    /// `reconcile-interval`: re-check and fix drift this often. `None`: only on changes.
    pub reconcile_interval: Option<Duration>,
    /// `use-default-reconcile-interval`: without a `reconcile-interval`, re-check every
    /// [`DEFAULT_RECONCILE_INTERVAL`].
    pub use_default_reconcile_interval: bool,
    /// `disable-updates`: create if missing, never patch.
    pub disable_updates: bool,
    /// `disable-reconciliation`: leave the resource entirely alone.
    pub disable_reconciliation: bool,
    pub deletion_strategy: DeletionStrategy,
    /// `readiness-group`: creation order, ascending; infrastructure kinds default to -100.
    pub readiness_group: i64,
    /// `deletion-group`: deletion order during composition deletion, when set (else
    /// [`Self::deletion_order`] negates the readiness group).
    pub deletion_group: Option<i64>,
    /// `replace`: a resource that needs a write is PUT whole (other clients' fields go) instead
    /// of patched.
    pub replace: bool,
    /// `fail-open`: reconciliation errors leave the resource reconciled (see
    /// [`super::fail_open`]).
    pub fail_open: bool,
    /// `readiness` / `readiness-<name>` CEL checks, by annotation key.
    pub readiness_checks: BTreeMap<String, String>,
}

/// An `eno.azure.io/*` annotation with a value Eno does not accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("annotation {annotation}={value:?}: {reason}")]
pub struct OptionsError {
    pub annotation: String,
    pub value: String,
    pub reason: String,
}

impl ResourceOptions {
    /// Reads the options from a manifest's annotations. Unknown `eno.azure.io/*` keys are
    /// ignored (newer Eno versions add keys), malformed values are errors, empty ones unset (as
    /// in Eno).
    pub fn from_manifest(manifest: &Value) -> Result<Self, OptionsError> {
        let annotations = manifest.pointer("/metadata/annotations").and_then(Value::as_object);
        let get = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str).filter(|v| !v.is_empty());
        let error = |annotation: &str, value: &str, reason: String| OptionsError {
            annotation: annotation.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let flag = |key: &str| -> Result<bool, OptionsError> {
            get(key)
                .map_or(Ok(false), |v| parse_go_bool(v).ok_or_else(|| error(key, v, "not a boolean".into())))
        };
        let int = |key: &str| -> Result<Option<i64>, OptionsError> {
            get(key).map(|v| v.trim().parse::<i64>().map_err(|e| error(key, v, e.to_string()))).transpose()
        };

        let reconcile_interval = get(RECONCILE_INTERVAL)
            .map(|v| parse_go_duration(v).map_err(|e| error(RECONCILE_INTERVAL, v, e)))
            .transpose()?;
        let deletion_strategy = match get(DELETION_STRATEGY) {
            None => DeletionStrategy::Delete,
            Some(value) => DeletionStrategy::parse(value).ok_or_else(|| {
                error(DELETION_STRATEGY, value, "expected orphan, background or foreground".into())
            })?,
        };
        let defaults = Self::defaults_for(manifest);
        // As in Eno, every key starting with `readiness` is a check (`readiness-group` is
        // ordering); `readinessX` and `readiness-` too.
        let readiness_checks: BTreeMap<String, String> = annotations
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.starts_with(READINESS) && *key != READINESS_GROUP)
            .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
            .collect();
        Ok(Self {
            reconcile_interval,
            use_default_reconcile_interval: flag(USE_DEFAULT_RECONCILE_INTERVAL)?,
            disable_updates: flag(DISABLE_UPDATES)?,
            disable_reconciliation: flag(DISABLE_RECONCILIATION)?,
            deletion_strategy,
            readiness_group: int(READINESS_GROUP)?.unwrap_or(defaults.readiness_group),
            deletion_group: int(DELETION_GROUP)?,
            replace: flag(REPLACE)?,
            fail_open: flag(FAIL_OPEN)?,
            readiness_checks: if readiness_checks.is_empty() { defaults.readiness_checks } else { readiness_checks },
        })
    }

    /// The options of a manifest without `eno.azure.io/*` annotations: an infrastructure kind
    /// comes first ([`INFRASTRUCTURE_KINDS`]; a Patch is ordered as the kind it patches); a
    /// CustomResourceDefinition is ready once `Established` (so its custom resources are
    /// created once the server serves them).
    pub fn defaults_for(manifest: &Value) -> Self {
        let (api_version, kind) = patch::target_of(manifest).unwrap_or_default();
        let readiness_group = if INFRASTRUCTURE_KINDS.contains(&kind) { INFRASTRUCTURE_READINESS_GROUP } else { 0 };
        let mut readiness_checks = BTreeMap::new();
        if kind == "CustomResourceDefinition" && group_of(api_version) == "apiextensions.k8s.io" && !patch::is_patch(manifest) {
            readiness_checks.insert(READINESS.to_owned(), CRD_ESTABLISHED.to_owned());
        }
        Self { readiness_group, readiness_checks, ..Self::default() }
    }

    /// The deletion group that orders it while its composition is being deleted: its
    /// `deletion-group`, else its readiness group negated (deletion runs creation backwards).
    pub fn deletion_order(&self) -> i64 {
        self.deletion_group.unwrap_or(-self.readiness_group)
    }
}

/// A CustomResourceDefinition's implicit readiness check: its `Established` condition.
const CRD_ESTABLISHED: &str = "self.status.conditions.filter(c, c.type == 'Established')";

/// Go's `strconv.ParseBool`, so annotation values Eno accepts are accepted here.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Removes every `eno.azure.io/*` label and annotation; a map left empty is removed too, so the
/// applied object never carries Eno's control metadata (or a stray `labels: {}`).
pub fn strip_control_metadata(manifest: &Value) -> Value {
    let mut out = manifest.clone();
    if let Some(metadata) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["labels", "annotations"] {
            let now_empty = match metadata.get_mut(field) {
                Some(Value::Object(map)) => {
                    map.retain(|key, _| !key.starts_with(ENO_PREFIX));
                    map.is_empty()
                }
                _ => false,
            };
            if now_empty {
                metadata.remove(field);
            }
        }
    }
    out
}

/// Fields the server owns. Sending them would fail a create (`resourceVersion`), make every
/// patch look out of sync (`status` through the main resource is ignored), or fight the server.
const SERVER_METADATA: &[&str] = &[
    "creationTimestamp",
    "resourceVersion",
    "uid",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The object Eno applies for a manifest: control metadata stripped, `status` and server-owned
/// metadata pruned, and a Secret's write-only `stringData` written into `data` as the server
/// stores it (else every pass would see it missing and patch again). Both sides of the three-way
/// merge (new and last-applied) go through this.
pub fn prepare(manifest: &Value) -> Value {
    let mut out = strip_control_metadata(manifest);
    if apimachinery::conversion::is_secret(&out) {
        apimachinery::conversion::secret_string_data_into_data(&mut out);
    }
    if let Value::Object(object) = &mut out {
        object.remove("status");
        if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
            for field in SERVER_METADATA {
                metadata.remove(*field);
            }
        }
    }
    out
}

/// Facts about the owning composition that change what happens to every resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceContext {
    /// The composition has a deletion timestamp: every resource is deleted (or orphaned).
    pub composition_deleting: bool,
    /// The composition carries `eno.azure.io/symphony-deleting=true`: its symphony is being
    /// deleted, which leaves the resources in place.
    pub symphony_deleting: bool,
}

impl ResourceContext {
    pub fn for_composition(comp: &Composition) -> Self {
        Self {
            composition_deleting: comp.metadata.deletion_timestamp.is_some(),
            symphony_deleting: comp
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SYMPHONY_DELETING))
                .is_some_and(|v| v == "true"),
        }
    }
}

/// Which patch format a [`ResourceAction::Patch`] body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/strategic-merge-patch+json` (built-in kinds).
    Strategic,
    /// `application/merge-patch+json` (custom resources: the server rejects strategic ones).
    Merge,
    /// `application/json-patch+json`: a [`patch`] Patch's ops.
    Json,
}

/// The one write (or none) to make for a resource.
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceAction {
    /// In sync, disabled, or waiting for the live object's deletion to finish.
    Nothing,
    /// Create this object (control metadata already stripped).
    Create(Value),
    /// Patch the live object. The body carries the live `metadata.resourceVersion`, so it fails
    /// with a conflict instead of overwriting a change Eno has not seen.
    Patch { patch_type: PatchType, patch: Value },
    /// PUT this object (`replace`): the desired object, control metadata stripped, carrying the
    /// live `metadata.resourceVersion`, so it fails with a conflict like a patch.
    Replace(Value),
    /// Delete the live object with these preconditions, so a re-created object (new UID) or one
    /// changed since it was read is never deleted by mistake.
    Delete { uid: Option<String>, resource_version: Option<String> },
    /// It should be deleted, but the deletion strategy (or a deleting symphony) leaves it.
    Orphan,
    /// It should be deleted and does not exist.
    AlreadyGone,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error(transparent)]
    Options(#[from] OptionsError),
    #[error("strategic merge: {0}")]
    Strategic(#[from] StrategicError),
    #[error("the desired manifest has no {0}")]
    InvalidManifest(&'static str),
    #[error(transparent)]
    Overrides(#[from] OverridesError),
    #[error(transparent)]
    Patch(#[from] PatchError),
}

/// True when the resource should no longer exist: a tombstone (`desired` is `None`) or a
/// resource of a composition being deleted.
pub fn wants_deletion(desired: Option<&Value>, ctx: &ResourceContext) -> bool {
    desired.is_none() || ctx.composition_deleting
}

pub(super) fn is_deleting(live: &Value) -> bool {
    live.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

pub(super) fn meta_str(live: &Value, field: &str) -> Option<String> {
    live.get("metadata")?.get(field)?.as_str().map(str::to_owned)
}

/// Options come from the manifest being reconciled; for a tombstone that is the last applied
/// manifest (a tombstone carries it), so `deletion-strategy: orphan` survives removal from the
/// synthesizer's output.
fn options(
    desired: Option<&Value>,
    previous_desired: Option<&Value>,
) -> Result<ResourceOptions, OptionsError> {
    desired
        .or(previous_desired)
        .map_or_else(|| Ok(ResourceOptions::default()), ResourceOptions::from_manifest)
}

/// Decides the action for one resource.
///
/// - `desired`: the manifest from the current synthesis; `None` for a tombstone.
/// - `previous_desired`: what Eno applied last time (the previous synthesis's manifest, or the
///   tombstone's manifest); the "original" of the three-way merge.
/// - `live`: the object in the cluster, `None` if absent.
///
/// Rules, first match wins: `disable-reconciliation` → nothing; a Patch → [`patch::decide`];
/// deletion wanted (tombstone or composition deleting) → already gone / wait for a running
/// deletion / orphan (strategy or deleting symphony) / delete; absent → create; being deleted →
/// wait; `disable-updates` → nothing; otherwise the three-way patch (a PUT with `replace`), or
/// nothing when it would not change the live object.
pub fn decide(
    desired: Option<&Value>,
    previous_desired: Option<&Value>,
    live: Option<&Value>,
    ctx: &ResourceContext,
) -> Result<ResourceAction, DecideError> {
    let opts = options(desired, previous_desired)?;
    if opts.disable_reconciliation {
        return Ok(ResourceAction::Nothing);
    }
    if desired.or(previous_desired).is_some_and(patch::is_patch) {
        return Ok(patch::decide(desired, live, ctx, &opts)?);
    }
    let desired = match desired {
        Some(desired) if !ctx.composition_deleting => desired,
        _ => return Ok(deletion(live, opts.deletion_strategy == DeletionStrategy::Orphan || ctx.symphony_deleting)),
    };
    let desired = prepare(desired);
    let Some(live) = live else {
        if desired.pointer("/metadata/name").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(DecideError::InvalidManifest("metadata.name"));
        }
        return Ok(ResourceAction::Create(desired));
    };
    if is_deleting(live) || opts.disable_updates {
        return Ok(ResourceAction::Nothing);
    }
    let previous = previous_desired.map(prepare);
    let (patch_type, patch) = three_way_patch(previous.as_ref(), &desired, live)?;
    Ok(match patch {
        None => ResourceAction::Nothing,
        Some(_) if opts.replace => {
            let mut object = desired;
            if let Some(rv) = meta_str(live, "resourceVersion") {
                set_resource_version(&mut object, rv);
            }
            ResourceAction::Replace(object)
        }
        Some(mut patch) => {
            if let Some(rv) = meta_str(live, "resourceVersion") {
                set_resource_version(&mut patch, rv);
            }
            ResourceAction::Patch { patch_type, patch }
        }
    })
}

/// The action for an object that should go: already gone, its deletion already running, left
/// in place (`leave`: orphaned), or deleted with preconditions on the `live` object read.
pub(super) fn deletion(live: Option<&Value>, leave: bool) -> ResourceAction {
    match live {
        None => ResourceAction::AlreadyGone,
        Some(live) if is_deleting(live) => ResourceAction::Nothing,
        Some(_) if leave => ResourceAction::Orphan,
        Some(live) => ResourceAction::Delete { uid: meta_str(live, "uid"), resource_version: meta_str(live, "resourceVersion") },
    }
}

/// Whether an object that should go needs nothing more: gone, its deletion running (with
/// `foreground`: over), reconciliation disabled (which must not block the composition's
/// deletion forever), its symphony being deleted, or orphaned (`orphans`: whether the orphan
/// strategy applies, as it does not to a Patch).
pub(super) fn deletion_over(live: Option<&Value>, opts: &ResourceOptions, ctx: &ResourceContext, orphans: bool) -> bool {
    match live {
        None => true,
        Some(live) => {
            (is_deleting(live) && opts.deletion_strategy != DeletionStrategy::Foreground)
                || opts.disable_reconciliation
                || ctx.symphony_deleting
                || (orphans && opts.deletion_strategy == DeletionStrategy::Orphan)
        }
    }
}

/// When the resource became ready: never while it should be deleted; the latched time once it
/// was; else what its checks say of `live` now.
pub(super) fn readiness(options: &ResourceOptions, deletion_wanted: bool, observed: &Observed<'_>) -> Result<Option<Time>, ReadinessError> {
    match (deletion_wanted, observed.ready) {
        (true, _) => Ok(None),
        (false, Some(latched)) => Ok(Some(latched.clone())),
        (false, None) => readiness::evaluate(&options.readiness_checks, observed.live, observed.now),
    }
}

/// What one reconciler pass observed about a resource.
#[derive(Clone, Debug)]
pub struct Observed<'a> {
    /// The manifest from the current synthesis; `None` for a tombstone.
    pub desired: Option<&'a Value>,
    /// What Eno applied last time (see [`decide`]).
    pub previous_desired: Option<&'a Value>,
    pub live: Option<&'a Value>,
    pub ctx: &'a ResourceContext,
    /// The composition as CEL sees it ([`super::cel::composition_view`]).
    pub composition: &'a Value,
    /// The `ready` time already recorded for this synthesis: readiness latches.
    pub ready: Option<&'a Time>,
    pub now: &'a Time,
}

/// The outcome of one pass: a write, or (nothing to change) the state to record.
#[derive(Clone, Debug, PartialEq)]
pub enum Pass {
    /// Make this write (create, patch or delete), then look again.
    Write(ResourceAction),
    Settled(Settled),
}

/// A resource Eno has nothing more to do to for now.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// It should be gone and nothing more will happen to it (see [`deletion_settled`]).
    pub deleted: bool,
    /// When it became ready; `None` while not ready (or deleted).
    pub ready: Option<Time>,
    /// A readiness check that could not be evaluated: the resource stays not ready.
    pub readiness_error: Option<ReadinessError>,
    /// The effective options (after overrides), for the drift interval.
    pub options: ResourceOptions,
}

impl Settled {
    /// When to look again: soon while waiting to become ready, else at the drift interval.
    pub fn recheck_after(&self, jitter_seed: u64) -> Option<Duration> {
        if self.deleted {
            return None;
        }
        if self.ready.is_none() {
            return Some(jitter(READINESS_POLL_INTERVAL, jitter_seed));
        }
        requeue_after(&self.options, jitter_seed)
    }
}

/// The manifests of a pass with their overrides applied, against the live object and the
/// composition. The last applied manifest goes through the same overrides, so the three-way
/// merge compares like with like: a field an override removes is not mistaken for one Eno
/// dropped (which would delete another client's value).
pub fn with_overrides(
    desired: Option<&Value>,
    previous_desired: Option<&Value>,
    vars: &Vars<'_>,
) -> Result<(Option<Value>, Option<Value>), OverridesError> {
    let apply = |m: Option<&Value>| m.map(|m| overrides::apply(m, vars)).transpose();
    Ok((apply(desired)?, apply(previous_desired)?))
}

/// One pass over a resource: overrides, then the composition's cascading annotations, then
/// [`decide`]; when there is nothing to write, the state to record, readiness included
/// (evaluated only until it first passes, and not while the resource should be deleted).
pub fn decide_pass(observed: &Observed<'_>) -> Result<Pass, DecideError> {
    let vars = Vars { live: observed.live, composition: observed.composition };
    let (mut desired, mut previous_desired) = with_overrides(observed.desired, observed.previous_desired, &vars)?;
    for manifest in [&mut desired, &mut previous_desired].into_iter().flatten() {
        cascade::cascade(manifest, observed.composition);
    }
    let (desired, previous_desired) = (desired.as_ref(), previous_desired.as_ref());
    let action = decide(desired, previous_desired, observed.live, observed.ctx)?;
    if matches!(
        action,
        ResourceAction::Create(_) | ResourceAction::Patch { .. } | ResourceAction::Replace(_) | ResourceAction::Delete { .. }
    ) {
        return Ok(Pass::Write(action));
    }
    let options = options(desired, previous_desired)?;
    let deleted = deletion_settled(desired, previous_desired, observed.live, observed.ctx)?;
    // Not `deleted`: a Patch deleting its target is ready once it did.
    let (ready, readiness_error) = match readiness(&options, wants_deletion(desired, observed.ctx), observed) {
        Ok(ready) => (ready, None),
        Err(e) => (None, Some(e)),
    };
    Ok(Pass::Settled(Settled { deleted, ready, readiness_error, options }))
}

/// The three-way patch from `live` to `desired` (deleting what `previous` had and `desired`
/// dropped), or `None` when applying it would leave `live` unchanged. Built-in kinds use
/// strategic merge with their merge keys; everything else JSON merge.
pub fn three_way_patch(
    previous: Option<&Value>,
    desired: &Value,
    live: &Value,
) -> Result<(PatchType, Option<Value>), DecideError> {
    let api_version = desired
        .get("apiVersion")
        .and_then(Value::as_str)
        .ok_or(DecideError::InvalidManifest("apiVersion"))?;
    let kind = desired.get("kind").and_then(Value::as_str).ok_or(DecideError::InvalidManifest("kind"))?;
    match merge_keys::builtin(group_of(api_version), kind) {
        Some(meta) => {
            let patch = strategic::three_way(previous, desired, live, meta)?;
            let changes = strategic::apply(live, &patch, meta)? != *live;
            Ok((PatchType::Strategic, changes.then_some(patch)))
        }
        None => {
            let patch = merge::three_way(previous, desired, live);
            let changes = merge::apply(live, &patch) != *live;
            Ok((PatchType::Merge, changes.then_some(patch)))
        }
    }
}

fn set_resource_version(patch: &mut Value, rv: String) {
    let Value::Object(patch) = patch else { return };
    let metadata = patch.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert("resourceVersion".to_owned(), Value::String(rv));
    }
}

/// Whether the slice status should record the resource as `deleted`: it should be deleted and
/// nothing more will happen to it (gone, its deletion is running (with `foreground`: over),
/// orphaned, or reconciliation is disabled, which must not block the composition's deletion
/// forever). A Patch: [`patch::deletion_settled`].
pub fn deletion_settled(
    desired: Option<&Value>,
    previous_desired: Option<&Value>,
    live: Option<&Value>,
    ctx: &ResourceContext,
) -> Result<bool, DecideError> {
    let opts = options(desired, previous_desired)?;
    if desired.or(previous_desired).is_some_and(patch::is_patch) {
        return Ok(patch::deletion_settled(desired, live, ctx, &opts));
    }
    if !wants_deletion(desired, ctx) {
        return Ok(false);
    }
    Ok(deletion_over(live, &opts, ctx, true))
}

/// When to look at the resource again to fix drift: its `reconcile-interval`, else with
/// `use-default-reconcile-interval` [`DEFAULT_RECONCILE_INTERVAL`] (at least
/// [`MIN_RECONCILE_INTERVAL`]) ±10%, the jitter derived from `jitter_seed` so many resources with
/// the same interval spread out while a replayed run stays identical. `None` without an interval.
pub fn requeue_after(opts: &ResourceOptions, jitter_seed: u64) -> Option<Duration> {
    let interval = opts
        .reconcile_interval
        .or(opts.use_default_reconcile_interval.then_some(DEFAULT_RECONCILE_INTERVAL));
    let base = interval?.max(MIN_RECONCILE_INTERVAL);
    Some(jitter(base, jitter_seed))
}

/// `base` scaled by a factor in [0.9, 1.1], chosen by `seed`.
pub fn jitter(base: Duration, seed: u64) -> Duration {
    let nanos = base.as_nanos();
    let spread = nanos / 10;
    let offset = u128::from(splitmix64(&mut { seed })) % (2 * spread + 1);
    let total = nanos - spread + offset;
    let secs = u64::try_from(total / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (total % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests;
