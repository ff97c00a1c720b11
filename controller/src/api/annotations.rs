//! Eno's control annotations and labels: read from synthesized manifests (and compositions),
//! never applied to the cluster.

/// Prefix of Eno's control labels and annotations; none of them reach the cluster.
pub const ENO_PREFIX: &str = "eno.azure.io/";
pub const RECONCILE_INTERVAL: &str = "eno.azure.io/reconcile-interval";
pub const DISABLE_UPDATES: &str = "eno.azure.io/disable-updates";
pub const DISABLE_RECONCILIATION: &str = "eno.azure.io/disable-reconciliation";
pub const DELETION_STRATEGY: &str = "eno.azure.io/deletion-strategy";
pub const READINESS_GROUP: &str = "eno.azure.io/readiness-group";
pub const DELETION_GROUP: &str = "eno.azure.io/deletion-group";
pub const REPLACE: &str = "eno.azure.io/replace";
pub const FAIL_OPEN: &str = "eno.azure.io/fail-open";
pub const OVERRIDES: &str = "eno.azure.io/overrides";
/// `eno.azure.io/readiness`, and `eno.azure.io/readiness-<name>` for named checks.
pub const READINESS: &str = "eno.azure.io/readiness";
/// Composition label set by a deleting symphony: its resources are orphaned.
pub const SYMPHONY_DELETING: &str = "eno.azure.io/symphony-deleting";
/// Composition annotation: the symphony generation whose phase-1 prune this composition has
/// passed. It only moves forward; it fences symphony writers with an older view (see
/// `decide::symphony`).
pub const SYMPHONY_GENERATION: &str = "eno.azure.io/symphony-generation";
