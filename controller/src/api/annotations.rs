//! Every `eno.azure.io/` annotation and label the product reads or writes, in one place.
//!
//! The first group are control annotations read from synthesized manifests (and
//! compositions) and never applied to the cluster; the rest mark objects Eno itself creates:
//! compositions of a symphony, synthesizer inputs, synthesis pods and their output Secrets.

/// Prefix of Eno's control labels and annotations; none of them reach the cluster.
pub const ENO_PREFIX: &str = "eno.azure.io/";
pub const RECONCILE_INTERVAL: &str = "eno.azure.io/reconcile-interval";
pub const USE_DEFAULT_RECONCILE_INTERVAL: &str = "eno.azure.io/use-default-reconcile-interval";
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

/// Composition annotation: set to the latest synthesis's uuid (in flight, else current), it
/// synthesizes the composition once more; the new synthesis has a new uuid, so it fires once.
/// Eno sets it itself when a slice of the current synthesis has gone missing.
pub const FORCE_RESYNTHESIS: &str = "eno.azure.io/force-resynthesis";

/// On an input: the revision it belongs to; inputs that carry one are synthesized together.
pub const REVISION: &str = "eno.azure.io/revision";
/// On an input: the synthesizer generation it was derived from.
pub const SYNTHESIZER_GENERATION: &str = "eno.azure.io/synthesizer-generation";
/// On an input: the composition generation it was derived from.
pub const COMPOSITION_GENERATION: &str = "eno.azure.io/composition-generation";
/// On an input: `"true"`: its changes do not resynthesize; `"false"`: they always do. On a
/// composition, `"true"`: only its own changes synthesize it.
pub const IGNORE_SIDE_EFFECTS: &str = "eno.azure.io/ignore-side-effects";

/// On every object of a synthesizer's input `ResourceList`: the synthesizer ref key it was
/// bound to.
pub const INPUT_KEY_ANNOTATION: &str = "eno.azure.io/input-key";

/// Labels of a synthesis pod (and its input Secret): which synthesis it runs.
pub const COMPOSITION_NAME_LABEL: &str = "eno.azure.io/composition-name";
pub const COMPOSITION_NAMESPACE_LABEL: &str = "eno.azure.io/composition-namespace";
pub const SYNTHESIS_UUID_LABEL: &str = "eno.azure.io/synthesis-uuid";
pub const SYNTHESIZER_NAME_LABEL: &str = "eno.azure.io/synthesizer-name";

/// On each output Secret a synthesis pod hands back: how many chunks there are in all.
pub const CHUNKS_ANNOTATION: &str = "eno.azure.io/output-chunks";
