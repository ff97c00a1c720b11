//! Sharding: which compositions, symphonies and resources this controller handles, as Eno's
//! reconciler flags say (`cmd/eno-reconciler/main.go`: `--composition-namespace`,
//! `--composition-label-selector`, `--resource-filter`). The flags stack: the filter is only
//! ever evaluated on resources of compositions the selector matches, in the namespace.
//!
//! - The namespace and the label selector choose compositions where they are listed and
//!   watched (as Eno's `internal/manager/manager.go` configures its cache), so a shard caches,
//!   and is sent, only its own: [`Shard::namespace`] and [`Shard::label_selector`] are what the
//!   informers ask the API server for. Slices are watched in the namespace; symphonies in the
//!   namespace and by the same selector on their own labels. A composition whose labels stop
//!   matching leaves the cache (the watch reports it deleted), and the shard then leaves it
//!   alone: it is not deleted, its resources and slices stay. Where a composition is read
//!   uncached (the synthesis runner), [`Shard::owns_composition`] says the same.
//! - The resource filter is CEL over `self` (the resource's manifest as synthesized) and
//!   `composition` (its metadata), as Eno's `internal/resource/cache.go`: a resource for which it
//!   is false is not reconciled here, nor is one it fails on (not a boolean, or an evaluation
//!   error: Eno logs it, counts it in `eno_resource_filter_eval_errors_total` and skips the
//!   resource). Eno evaluates it once per synthesis; here it is evaluated on every pass, so a
//!   change to the composition's metadata is followed too.

use apimachinery::selector::{LabelSelector, SelectorError};
use serde_json::Value;

use super::cel::{self, CelError, Vars};
use crate::api::Composition;

/// A flag that does not parse: `eno run` refuses to start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("invalid composition label selector {selector:?}: {reason}")]
    Selector { selector: String, reason: SelectorError },
    #[error("invalid resource filter: {0}")]
    Filter(CelError),
}

/// Why the resource filter decided nothing: the resource is then not this shard's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(transparent)]
    Eval(#[from] CelError),
    #[error("the resource filter must return a boolean, got {0}")]
    NotBoolean(Value),
}

/// What this controller handles. The default handles everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shard {
    namespace: Option<String>,
    selector: LabelSelector,
    resource_filter: Option<String>,
}

impl Shard {
    /// From the flags as Eno takes them: `""` means every namespace, every composition, every
    /// resource. The selector is Kubernetes' label selector syntax; the filter must compile.
    pub fn new(namespace: &str, label_selector: &str, resource_filter: &str) -> Result<Shard, ShardError> {
        let selector = LabelSelector::parse(label_selector).map_err(|reason| ShardError::Selector { selector: label_selector.to_owned(), reason })?;
        let resource_filter = match resource_filter.trim() {
            "" => None,
            filter => {
                cel::check(filter).map_err(ShardError::Filter)?;
                Some(filter.to_owned())
            }
        };
        Ok(Shard { namespace: Some(namespace.to_owned()).filter(|n| !n.is_empty()), selector, resource_filter })
    }

    /// The namespace compositions, slices and symphonies are watched in (`None`: all).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The selector compositions and symphonies are listed and watched with (`None`: all).
    pub fn label_selector(&self) -> Option<String> {
        (!self.selector.is_empty()).then(|| self.selector.to_string())
    }

    /// Whether the composition is this shard's: in its namespace, its labels matching.
    pub fn owns_composition(&self, comp: &Composition) -> bool {
        let in_namespace = self.namespace.as_deref().is_none_or(|ns| comp.metadata.namespace.as_deref() == Some(ns));
        in_namespace && self.selector.matches(comp.metadata.labels.as_ref().unwrap_or(&Default::default()))
    }

    /// Whether a resource of one of this shard's compositions is reconciled here: the filter
    /// over `manifest` (as synthesized) and `composition` ([`cel::composition_view`]); true
    /// without one.
    pub fn owns_resource(&self, manifest: &Value, composition: &Value) -> Result<bool, FilterError> {
        let Some(filter) = &self.resource_filter else { return Ok(true) };
        match cel::eval(filter, &Vars { live: Some(manifest), composition })? {
            Value::Bool(owned) => Ok(owned),
            other => Err(FilterError::NotBoolean(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CompositionSpec, SynthesizerRef};
    use crate::decide::cel::composition_view;
    use serde_json::json;

    fn comp(namespace: &str, labels: &[(&str, &str)]) -> Composition {
        let mut c = Composition::new("app", CompositionSpec { synthesizer: SynthesizerRef::named("s"), ..Default::default() });
        c.metadata.namespace = Some(namespace.into());
        if !labels.is_empty() {
            c.metadata.labels = Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        }
        c
    }

    fn shard(namespace: &str, selector: &str, filter: &str) -> Shard {
        Shard::new(namespace, selector, filter).unwrap()
    }

    #[test]
    fn the_default_shard_owns_everything() {
        let all = Shard::default();
        assert_eq!(all, shard("", "", ""));
        assert_eq!((all.namespace(), all.label_selector()), (None, None));
        assert!(all.owns_composition(&comp("a", &[])) && all.owns_composition(&comp("b", &[("team", "x")])));
        assert_eq!(all.owns_resource(&json!({"kind": "ConfigMap"}), &composition_view(&comp("a", &[]))), Ok(true));
    }

    #[test]
    fn a_namespace_shard_owns_its_namespace_only() {
        let team_a = shard("team-a", "", "");
        assert_eq!(team_a.namespace(), Some("team-a"));
        assert!(team_a.owns_composition(&comp("team-a", &[])));
        assert!(!team_a.owns_composition(&comp("team-b", &[])));
    }

    #[test]
    fn a_label_shard_owns_what_its_selector_matches() {
        let s = shard("", "tier in (web,db),!legacy", "");
        assert_eq!(s.label_selector().as_deref(), Some("!legacy,tier in (db,web)"));
        assert!(s.owns_composition(&comp("a", &[("tier", "web")])));
        assert!(!s.owns_composition(&comp("a", &[("tier", "web"), ("legacy", "yes")])), "labels that stop matching: no longer owned");
        assert!(!s.owns_composition(&comp("a", &[])));
        // The flags stack: both must hold.
        let both = shard("team-a", "tier=web", "");
        assert!(both.owns_composition(&comp("team-a", &[("tier", "web")])));
        assert!(!both.owns_composition(&comp("team-b", &[("tier", "web")])));
    }

    #[test]
    fn a_bad_selector_or_filter_is_refused_at_start() {
        let e = Shard::new("", "tier in (web", "").unwrap_err();
        assert!(matches!(e, ShardError::Selector { .. }) && e.to_string().contains("tier in (web"), "{e}");
        let e = Shard::new("", "", "self.kind ==").unwrap_err();
        assert!(matches!(e, ShardError::Filter(CelError::Compile { .. })), "{e}");
        assert!(e.to_string().starts_with("invalid resource filter: invalid CEL expression"), "{e}");
    }

    #[test]
    fn the_filter_sees_the_manifest_and_the_composition() {
        let s = shard("", "", "composition.metadata.labels.team == 'platform' && self.kind == 'ConfigMap'");
        let platform = composition_view(&comp("a", &[("team", "platform")]));
        let other = composition_view(&comp("a", &[("team", "apps")]));
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}});
        assert_eq!(s.owns_resource(&cm, &platform), Ok(true));
        assert_eq!(s.owns_resource(&secret, &platform), Ok(false));
        assert_eq!(s.owns_resource(&cm, &other), Ok(false));
    }

    #[test]
    fn a_filter_that_fails_on_a_resource_is_an_error_not_a_match() {
        // Eno skips such a resource (and counts the error): the caller treats it as not owned.
        let missing_key = shard("", "", "self.metadata.labels.env == 'prod'");
        let unlabelled = json!({"kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(matches!(missing_key.owns_resource(&unlabelled, &composition_view(&comp("a", &[]))), Err(FilterError::Eval(CelError::Eval { .. }))));
        let not_boolean = shard("", "", "self.kind");
        assert_eq!(not_boolean.owns_resource(&unlabelled, &composition_view(&comp("a", &[]))), Err(FilterError::NotBoolean(json!("ConfigMap"))));
    }
}
