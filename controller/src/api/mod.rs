//! Eno's API, `eno.azure.io/v1`, with Eno's JSON field names so that manifests written for Eno
//! deserialize unchanged, plus the KRM `ResourceList` that synthesizers read and write.
//!
//! The CRDs in `deploy/crds/` are generated from these types (see [`crds`]); a test fails when
//! they are stale.

pub mod annotations;
mod common;
pub mod composition;
pub mod crds;
pub mod duration;
pub mod krm;
pub mod resource_slice;
pub mod symphony;
pub mod synthesizer;

pub use common::{Binding, CompositionRef, EnvVar, ResourceBinding, SynthesizerRef};
pub use composition::{
    BlockedBy, Composition, CompositionSpec, CompositionStatus, DependencyStatus, InputRevisions,
    ResourceSliceRef, SimplifiedStatus, Synthesis,
};
pub use krm::{KrmError, KrmResult, ResourceList, Severity};
pub use resource_slice::{Manifest, ResourceSlice, ResourceSliceSpec, ResourceSliceStatus, ResourceState};
pub use symphony::{Symphony, SymphonySpec, SymphonyStatus, Variation, VariationDependency};
pub use synthesizer::{PodOverrides, Ref, ResourceRef, Synthesizer, SynthesizerSpec, SynthesizerStatus};

/// API group of every Eno kind.
pub const GROUP: &str = "eno.azure.io";
/// The only served (and storage) version.
pub const VERSION: &str = "v1";
/// `apiVersion` of every Eno object.
pub const API_VERSION: &str = "eno.azure.io/v1";
/// Finalizer Eno holds on compositions, symphonies and resource slices until their cleanup is done.
pub const CLEANUP_FINALIZER: &str = "eno.azure.io/cleanup";

/// `skip_serializing_if` for values equal to their default (zero numbers, empty structs), as Go's
/// `omitempty` does; it also keeps such defaults out of the generated schemas.
pub(crate) fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Shared test helpers: the seed's example manifests, as shipped in `deploy/examples/`.
#[cfg(test)]
pub(crate) mod testing {
    use serde::de::DeserializeOwned;

    /// Reads `deploy/examples/<file>`: the seed's manifests, unchanged.
    pub fn seed(file: &str) -> String {
        let path = format!("{}/../deploy/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }

    /// Every document of a multi-document YAML file.
    pub fn documents<T: DeserializeOwned>(yaml: &str) -> Vec<T> {
        serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("seed does not deserialize: {e}"))
    }

    /// Serializes and deserializes again through both JSON and YAML and checks nothing changed.
    pub fn assert_round_trips<T>(value: &T)
    where
        T: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, value, "JSON round trip changed the value: {json}");
        let yaml = serde_saphyr::to_string(value).unwrap();
        let back: T = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(&back, value, "YAML round trip changed the value:\n{yaml}");
    }
}
