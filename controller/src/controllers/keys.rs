//! What the work queues hold: the address of one thing a reconciler converges. Keys depend on
//! nothing else in `controllers`, so every other module may use them.

use crate::api::{Composition, Symphony};
use crate::decide::step::gvk;
use crate::decide::ResourceKey;
use crate::runtime::ObjectRef;

/// A composition's address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompositionKey {
    pub namespace: String,
    pub name: String,
}

impl CompositionKey {
    pub fn of(comp: &Composition) -> Self {
        CompositionKey { namespace: comp.metadata.namespace.clone().unwrap_or_default(), name: comp.metadata.name.clone().unwrap_or_default() }
    }

    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(gvk::<Composition>(), Some(&self.namespace), &self.name)
    }

    /// The key written `namespace/name` (as [`crate::decide::dependencies`] names compositions).
    pub fn parse(path: &str) -> Option<Self> {
        let (namespace, name) = path.split_once('/')?;
        Some(CompositionKey { namespace: namespace.to_string(), name: name.to_string() })
    }
}

impl std::fmt::Display for CompositionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One managed resource of one composition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceWorkKey {
    pub composition: CompositionKey,
    pub resource: ResourceKey,
}

/// A symphony's address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymphonyKey {
    pub namespace: String,
    pub name: String,
}

impl SymphonyKey {
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(gvk::<Symphony>(), Some(&self.namespace), &self.name)
    }
}
