//! The synthesizers' inputs, watched: one informer per input kind, started when a composition
//! pass first needs the kind and stopped once no synthesizer refers to it (Eno's kind watch
//! controllers). An input's change queues the compositions bound to it.

use crate::decide::inputs::{Bound, Found};
use crate::runtime::{Cached, ClientError, Cluster, Gvk, Informer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

type Start = Box<dyn Fn(&Gvk) -> Informer + Send + Sync>;

pub struct InputWatches {
    informers: Mutex<BTreeMap<Gvk, Arc<Informer>>>,
    start: Start,
}

impl InputWatches {
    /// Watches that start each kind's informer with `start`.
    pub fn new(start: impl Fn(&Gvk) -> Informer + Send + Sync + 'static) -> Self {
        InputWatches { informers: Mutex::default(), start: Box::new(start) }
    }

    fn informer(&self, gvk: &Gvk) -> Arc<Informer> {
        let mut informers = self.informers.lock().unwrap_or_else(|p| p.into_inner());
        informers.entry(gvk.clone()).or_insert_with(|| Arc::new((self.start)(gvk))).clone()
    }

    /// Stops the informers of kinds not in `kinds` (dropping an informer stops its watch).
    pub fn retain(&self, kinds: &BTreeSet<Gvk>) {
        self.informers.lock().unwrap_or_else(|p| p.into_inner()).retain(|gvk, _| kinds.contains(gvk));
    }


    /// Each bound input, from its kind's cache once that has synced, otherwise read uncached.
    /// An input the cache lacks is confirmed uncached: a cache that travelled back in time may
    /// not have it yet, and a required input reported missing holds every synthesis.
    pub async fn find(&self, cluster: &dyn Cluster, bound: &[Bound]) -> Result<Vec<Found<Cached>>, ClientError> {
        let mut found = Vec::with_capacity(bound.len());
        for b in bound {
            let informer = self.informer(&b.target.gvk);
            let cached = informer.is_synced().then(|| informer.get(b.target.namespace.as_deref().unwrap_or(""), &b.target.name)).flatten();
            found.push(match cached {
                Some(obj) => Found::Present(obj),
                None => match cluster.get(&b.target).await {
                    Ok(Some(obj)) => Found::Present(Arc::new(obj)),
                    Ok(None) => Found::Absent,
                    Err(ClientError::UnknownKind(_)) => Found::KindNotServed,
                    Err(e) => return Err(e),
                },
            });
        }
        Ok(found)
    }
}
