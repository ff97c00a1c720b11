//! Batched slice status writes, as Eno's `ResourceSliceWriteBuffer`: the resource reconciler
//! records each resource's new state here instead of writing its slice's status itself, and the
//! flusher writes all of a slice's pending states in one status write after a short window.
//! Without it every resource of a slice cost one write (and, with several reconcilers at once,
//! conflicts and retries on the slice's resourceVersion).
//!
//! A flush reads the slice from the API server, applies the pending states, and writes the
//! status guarded by the resourceVersion it read; a conflict or a failed request keeps the
//! states for the next flush. States are only in memory: a replica that dies before flushing
//! loses them, and its successor records them again when it reconciles the resources (every
//! resource is queued at start).

use super::world::{PassError, World};
use crate::api::{ResourceSlice, ResourceState};
use crate::decide::step::{address, gvk, Write};
use crate::runtime::ObjectRef;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long the first pending state of a slice waits for others to join it.
const WINDOW: Duration = Duration::from_millis(50);
/// How soon a flush that failed is tried again.
const RETRY: Duration = Duration::from_millis(200);

/// A slice's states waiting to be written.
#[derive(Debug, Clone, Default, PartialEq)]
struct Pending {
    /// The slice they belong to (a slice replaced under the same name is not theirs).
    uid: String,
    /// Its resources' new states, by index.
    states: BTreeMap<usize, ResourceState>,
}

/// The states recorded and not written yet, by slice (`namespace`, `name`).
#[derive(Default)]
pub struct SliceStatusBuffer {
    pending: Mutex<BTreeMap<(String, String), Pending>>,
    wake: tokio::sync::Notify,
}

impl SliceStatusBuffer {
    /// Resource `index` of `slice` is now in `state`: written with the slice's next flush.
    pub fn record(&self, slice: &ResourceSlice, index: usize, state: ResourceState) {
        let key = (slice.metadata.namespace.clone().unwrap_or_default(), slice.metadata.name.clone().unwrap_or_default());
        let uid = slice.metadata.uid.clone().unwrap_or_default();
        let mut pending = self.lock();
        let entry = pending.entry(key).or_default();
        if entry.uid != uid {
            *entry = Pending { uid, states: BTreeMap::new() };
        }
        entry.states.insert(index, state);
        drop(pending);
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts back states a flush could not write; states recorded since win.
    fn keep(&self, key: (String, String), unwritten: Pending) {
        let mut pending = self.lock();
        match pending.get_mut(&key) {
            Some(newer) if newer.uid == unwritten.uid => {
                for (index, state) in unwritten.states {
                    newer.states.entry(index).or_insert(state);
                }
            }
            Some(_) => {}
            None => {
                pending.insert(key, unwritten);
            }
        }
    }
}

/// Flushes the buffer for as long as the replica runs: a window after the first state
/// arrives, every slice with pending states gets one write.
pub async fn run_flusher(world: &World, leadership: &crate::runtime::leader_election::Leadership) {
    loop {
        world.slice_status.wake.notified().await;
        tokio::time::sleep(WINDOW).await;
        leadership.wait_leading().await;
        let batch = std::mem::take(&mut *world.slice_status.lock());
        let mut failed = false;
        for (key, pending) in batch {
            match flush(world, &key, &pending).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::debug!(slice = %format!("{}/{}", key.0, key.1), %error, "slice status not written yet; trying again");
                    world.slice_status.keep(key, pending);
                    failed = true;
                }
            }
        }
        if failed {
            tokio::time::sleep(RETRY).await;
            world.slice_status.wake.notify_one();
        }
    }
}

/// Writes `pending` into the slice's status, read afresh; nothing when the slice is gone or
/// replaced, or already says so.
async fn flush(world: &World, key: &(String, String), pending: &Pending) -> Result<(), PassError> {
    let r = ObjectRef::new(gvk::<ResourceSlice>(), Some(&key.0), &key.1);
    let Some(slice) = world.get_uncached::<ResourceSlice>(&r).await? else { return Ok(()) };
    if slice.metadata.uid.as_deref().unwrap_or_default() != pending.uid {
        return Ok(());
    }
    let Some(states) = updated(&slice, &pending.states) else { return Ok(()) };
    let write = Write::ReplaceStatus { target: address(&slice), resource_version: slice.metadata.resource_version.clone().unwrap_or_default(), status: serde_json::json!({"resources": states}) };
    world.write(&write).await?;
    Ok(())
}

/// The slice's resource states with `pending` applied, if that changes any.
fn updated(slice: &ResourceSlice, pending: &BTreeMap<usize, ResourceState>) -> Option<Vec<ResourceState>> {
    let mut states = slice.status.as_ref().map(|s| s.resources.clone()).unwrap_or_default();
    states.resize(slice.spec.resources.len(), ResourceState::default());
    let mut changed = false;
    for (index, state) in pending {
        if let Some(current) = states.get_mut(*index).filter(|current| *current != state) {
            *current = state.clone();
            changed = true;
        }
    }
    changed.then_some(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ResourceSliceSpec, ResourceSliceStatus};

    fn slice(resources: usize, states: Vec<ResourceState>) -> ResourceSlice {
        let mut s = ResourceSlice::new("s", ResourceSliceSpec { resources: (0..resources).map(|_| Default::default()).collect(), ..Default::default() });
        s.metadata.uid = Some("u1".into());
        s.metadata.namespace = Some("default".into());
        s.status = Some(ResourceSliceStatus { resources: states, ..Default::default() });
        s
    }

    fn reconciled() -> ResourceState {
        ResourceState { reconciled: true, ..Default::default() }
    }

    #[test]
    fn pending_states_are_applied_together_and_only_when_they_change_something() {
        let s = slice(3, vec![]);
        let pending = BTreeMap::from([(0, reconciled()), (2, reconciled())]);
        assert_eq!(updated(&s, &pending), Some(vec![reconciled(), ResourceState::default(), reconciled()]));
        let done = slice(3, vec![reconciled(), ResourceState::default(), reconciled()]);
        assert_eq!(updated(&done, &pending), None, "already recorded: no write");
        // An index past the slice's resources (a stale record) changes nothing.
        assert_eq!(updated(&s, &BTreeMap::from([(7, reconciled())])), None);
    }

    #[test]
    fn states_recorded_while_a_flush_failed_win_over_the_failed_ones() {
        let buffer = SliceStatusBuffer::default();
        let s = slice(2, vec![]);
        let error = ResourceState { reconciliation_error: Some("boom".into()), ..Default::default() };
        buffer.record(&s, 0, error.clone());
        let key = ("default".to_string(), "s".to_string());
        let taken = std::mem::take(&mut *buffer.lock()).remove(&key).expect("pending");
        buffer.record(&s, 0, reconciled());
        buffer.keep(key.clone(), Pending { uid: taken.uid.clone(), states: BTreeMap::from([(0, error), (1, reconciled())]) });
        let pending = buffer.lock().get(&key).cloned().expect("kept");
        assert_eq!(pending.states, BTreeMap::from([(0, reconciled()), (1, reconciled())]));
    }
}
