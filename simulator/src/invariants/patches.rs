//! Patches never create: Eno's `Patch` pseudo-kind applies its ops to an object that exists and
//! skips a missing one. An object Eno creates while some slice holds a Patch of it and no slice
//! holds a manifest of it was created for the Patch alone.

use super::{describe, is_eno, Checker, Found, Invariant};
use crate::reading;
use fake_apiserver::store::ObjectKey;
use fake_apiserver::ApiServer;
use serde_json::Value;
use std::sync::Arc;

impl Checker {
    /// Eno created `key`: it must be wanted by some slice's manifest, not only patched.
    pub(super) fn created_for_a_patch(&mut self, server: &ApiServer, key: &ObjectKey) -> Found {
        let slices: Vec<Arc<Value>> = self.state.iter().filter(|(k, _)| is_eno(k, "resourceslices")).map(|(_, v)| v.clone()).collect();
        let (mut patched, mut wanted) = (false, false);
        for manifest in slices.iter().flat_map(|slice| reading::desired_manifests(slice)) {
            if reading::str_at(&manifest, "/metadata/name") != key.name {
                continue;
            }
            let (api_version, kind, is_patch) = match reading::patch_target(&manifest) {
                Some((api_version, kind)) => (api_version, kind, true),
                None => (reading::str_at(&manifest, "/apiVersion"), reading::str_at(&manifest, "/kind"), false),
            };
            let Some((resource, namespaced)) = self.storage(server, api_version, kind) else { continue };
            let namespace = if namespaced { reading::str_at(&manifest, "/metadata/namespace") } else { "" };
            if resource == key.resource && namespace == key.namespace {
                patched |= is_patch;
                wanted |= !is_patch;
            }
        }
        if patched && !wanted {
            return vec![(Invariant::PatchesNeverCreate, format!("{} was created although only a Patch names it", describe(key)))];
        }
        Vec::new()
    }
}
