//! Packing a synthesis's output into ResourceSlices.
//!
//! Output manifests come first, in the synthesizer's order; then a tombstone (`deleted: true`)
//! for every resource of the previous synthesis that the new output no longer has, so the
//! reconciler deletes it ("carried as tombstones until deleted"). Tombstones the reconciler has
//! already reported deleted are dropped: carrying them forever would grow the slices without
//! bound. Tombstones are sorted by resource key, so the same inputs always give the same slices.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{patch, ResourceKey};
use crate::api::{Manifest, ResourceSlice, ResourceSliceSpec};

/// Eno's slice budget: manifests per slice stay under ~512 KiB, well below etcd's 1.5 MiB object
/// limit even with status and metadata added.
pub const MAX_SLICE_BYTES: usize = 512 * 1024;

/// Packs `items` (validated synthesizer output) and the tombstones derived from `previous` (the
/// slices of the synthesis being replaced) into slice specs of at most `max_bytes` of manifest
/// JSON each; a manifest larger than that gets a slice of its own. `synthesis_uuid` is left for
/// the caller to fill in, as it names the synthesis writing the slices.
pub fn pack(items: &[Value], previous: &[ResourceSlice], max_bytes: usize) -> Vec<ResourceSliceSpec> {
    let mut manifests: Vec<Manifest> =
        items.iter().map(|item| Manifest { manifest: item.to_string(), deleted: false }).collect();
    manifests.extend(tombstones(items, previous));

    let mut specs = Vec::new();
    let mut current: Vec<Manifest> = Vec::new();
    let mut size = 0usize;
    for manifest in manifests {
        let len = manifest.manifest.len();
        if !current.is_empty() && size.saturating_add(len) > max_bytes {
            specs.push(ResourceSliceSpec {
                synthesis_uuid: String::new(),
                resources: std::mem::take(&mut current),
            });
            size = 0;
        }
        size = size.saturating_add(len);
        current.push(manifest);
    }
    if !current.is_empty() {
        specs.push(ResourceSliceSpec { synthesis_uuid: String::new(), resources: current });
    }
    specs
}

/// Tombstones for `previous` resources missing from `items`, sorted by key. A resource that is
/// both a manifest and a tombstone in `previous` (never written by [`pack`], but slices are
/// plain objects) is carried as its manifest, which holds the annotations the reconciler needs.
/// A Patch in `items` counts as its target (see [`patch::target_key`]).
fn tombstones(items: &[Value], previous: &[ResourceSlice]) -> Vec<Manifest> {
    let present: BTreeSet<ResourceKey> = items.iter().filter_map(patch::target_key).collect();
    let mut gone: BTreeMap<ResourceKey, (bool, &str)> = BTreeMap::new();
    for slice in previous {
        let states = slice.status.as_ref().map(|s| s.resources.as_slice()).unwrap_or_default();
        for (index, resource) in slice.spec.resources.iter().enumerate() {
            if states.get(index).is_some_and(|s| s.deleted) {
                continue;
            }
            let Ok(object) = resource.object() else { continue };
            if patch::is_patch(&object) {
                // Patches modify objects they do not own; there is nothing to delete.
                continue;
            }
            let Some(key) = ResourceKey::of(&object) else { continue };
            if present.contains(&key) {
                continue;
            }
            let entry = gone.entry(key).or_insert((resource.deleted, &resource.manifest));
            if entry.0 && !resource.deleted {
                *entry = (false, &resource.manifest);
            }
        }
    }
    gone.into_values()
        .map(|(_, manifest)| Manifest { manifest: manifest.to_owned(), deleted: true })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ResourceSliceStatus, ResourceState};
    use serde_json::json;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}})
    }

    fn slice(resources: Vec<(Value, bool)>, deleted_states: &[bool]) -> ResourceSlice {
        let mut s = ResourceSlice::new(
            "prev",
            ResourceSliceSpec {
                synthesis_uuid: "old".into(),
                resources: resources
                    .into_iter()
                    .map(|(v, deleted)| Manifest { manifest: v.to_string(), deleted })
                    .collect(),
            },
        );
        if !deleted_states.is_empty() {
            s.status = Some(ResourceSliceStatus {
                resources: deleted_states
                    .iter()
                    .map(|&deleted| ResourceState { reconciled: true, deleted, ..Default::default() })
                    .collect(),
            });
        }
        s
    }

    fn names(specs: &[ResourceSliceSpec]) -> Vec<Vec<(String, bool)>> {
        specs
            .iter()
            .map(|s| {
                s.resources
                    .iter()
                    .map(|m| {
                        (m.object().unwrap()["metadata"]["name"].as_str().unwrap().to_owned(), m.deleted)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn manifests_are_json_strings_in_output_order() {
        let specs = pack(&[cm("b"), cm("a")], &[], MAX_SLICE_BYTES);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].resources[0].manifest, cm("b").to_string());
        assert_eq!(names(&specs), vec![vec![("b".into(), false), ("a".into(), false)]]);
        assert_eq!(specs[0].synthesis_uuid, "");
    }

    #[test]
    fn empty_output_makes_no_slices() {
        assert!(pack(&[], &[], MAX_SLICE_BYTES).is_empty());
    }

    #[test]
    fn vanished_resources_become_sorted_tombstones() {
        let prev = slice(vec![(cm("z"), false), (cm("keep"), false), (cm("m"), false)], &[]);
        let specs = pack(&[cm("keep")], &[prev], MAX_SLICE_BYTES);
        assert_eq!(names(&specs), vec![vec![("keep".into(), false), ("m".into(), true), ("z".into(), true)]]);
        // The tombstone keeps the old manifest text (its annotations drive the deletion).
        assert_eq!(specs[0].resources[1].manifest, cm("m").to_string());
    }

    #[test]
    fn identity_ignores_version_but_not_namespace_or_kind() {
        let old = json!({"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}});
        let new = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}});
        let other_ns =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "other"}});
        let prev = slice(vec![(old, false), (cm("a"), false)], &[]);
        let specs = pack(&[new, other_ns], &[prev], MAX_SLICE_BYTES);
        assert_eq!(names(&specs), vec![vec![("d".into(), false), ("a".into(), false), ("a".into(), true)]]);
        assert_eq!(specs[0].resources[2].object().unwrap()["metadata"]["namespace"], "ns");
    }

    #[test]
    fn tombstones_are_carried_until_reported_deleted() {
        // "t1" is an unreconciled tombstone: carried. "t2" was deleted: dropped. "gone" is a
        // manifest whose state says deleted: nothing left to delete.
        let prev = slice(vec![(cm("t1"), true), (cm("t2"), true), (cm("gone"), false)], &[false, true, true]);
        assert_eq!(names(&pack(&[], &[prev], MAX_SLICE_BYTES)), vec![vec![("t1".into(), true)]]);
    }

    #[test]
    fn a_tombstone_that_comes_back_is_a_manifest_again() {
        let prev = slice(vec![(cm("x"), true)], &[false]);
        assert_eq!(names(&pack(&[cm("x")], &[prev], MAX_SLICE_BYTES)), vec![vec![("x".into(), false)]]);
    }

    #[test]
    fn duplicate_previous_entries_make_one_tombstone_preferring_the_manifest() {
        let annotated = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "x", "namespace": "ns", "annotations": {"eno.azure.io/deletion-strategy": "orphan"}}});
        let a = slice(vec![(cm("x"), true)], &[]);
        let b = slice(vec![(annotated.clone(), false)], &[]);
        let specs = pack(&[], &[a, b], MAX_SLICE_BYTES);
        assert_eq!(specs[0].resources.len(), 1);
        assert_eq!(specs[0].resources[0].manifest, annotated.to_string());
        assert!(specs[0].resources[0].deleted);
    }

    #[test]
    fn patches_and_unparsable_entries_make_no_tombstones() {
        let patch = json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": "p"}});
        let mut prev = slice(vec![(patch, false)], &[]);
        prev.spec.resources.push(Manifest { manifest: "{not json".into(), deleted: false });
        assert!(pack(&[], &[prev], MAX_SLICE_BYTES).is_empty());
    }

    #[test]
    fn a_patch_in_the_output_keeps_its_target_from_being_tombstoned() {
        // As Eno's slicing: the managed ConfigMap "a" handed over to a Patch of it stays; "b",
        // patched in another namespace, does not cover the ConfigMap "b" of namespace "ns".
        let patch = |name: &str, namespace: &str| {
            json!({"apiVersion": "eno.azure.io/v1", "kind": "Patch", "metadata": {"name": name, "namespace": namespace},
                   "patch": {"apiVersion": "v1", "kind": "ConfigMap", "ops": []}})
        };
        let prev = slice(vec![(cm("a"), false), (cm("b"), false)], &[]);
        let specs = pack(&[patch("a", "ns"), patch("b", "other")], &[prev], MAX_SLICE_BYTES);
        assert_eq!(names(&specs), vec![vec![("a".into(), false), ("b".into(), false), ("b".into(), true)]]);
        assert_eq!(specs[0].resources[2].object().unwrap()["kind"], "ConfigMap");
    }

    #[test]
    fn splits_when_the_next_manifest_would_pass_the_budget() {
        let items: Vec<Value> = (0..5).map(|i| cm(&format!("n{i}"))).collect();
        let len = items[0].to_string().len();
        // Two fit exactly; the third would pass the budget.
        let specs = pack(&items, &[], 2 * len);
        assert_eq!(specs.iter().map(|s| s.resources.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        let specs = pack(&items, &[], 2 * len - 1);
        assert_eq!(specs.iter().map(|s| s.resources.len()).collect::<Vec<_>>(), vec![1, 1, 1, 1, 1]);
    }

    #[test]
    fn an_oversized_manifest_gets_its_own_slice() {
        let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "x".repeat(300)}});
        let specs = pack(&[cm("a"), big, cm("b")], &[], 200);
        assert_eq!(
            names(&specs),
            vec![vec![("a".into(), false)], vec![("big".into(), false)], vec![("b".into(), false)]]
        );
    }

    #[test]
    fn tombstones_share_slices_with_manifests() {
        let prev = slice(vec![(cm("old"), false)], &[]);
        let len = cm("new").to_string().len();
        let specs = pack(&[cm("new")], &[prev], 2 * len + 10);
        assert_eq!(names(&specs), vec![vec![("new".into(), false), ("old".into(), true)]]);
    }

    #[test]
    fn packing_is_deterministic() {
        let prev = slice(vec![(cm("q"), false), (cm("p"), false), (cm("r"), true)], &[]);
        let items = [cm("a"), cm("c"), cm("b")];
        assert_eq!(pack(&items, std::slice::from_ref(&prev), 100), pack(&items, &[prev], 100));
    }
}
