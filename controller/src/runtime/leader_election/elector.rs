//! The elector: reads the Lease every retry period (a follower also whenever its watch shows the
//! Lease changed, or its holder's lease would run out), acts on [`super::decide::attempt`], and
//! keeps [`Leadership`] up to date.

use super::decide::{self, Attempt, ElectionConfig, JITTER_FACTOR};
use super::gate::Leadership;
use crate::runtime::{CacheEvent, ClientError, Cluster, Gvk, ListParams, Metrics, ObjectRef};
use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// One replica's campaign for the Lease.
pub struct Elector {
    /// The client the Lease is read and written with: not the controllers' [`super::LeaderOnly`]
    /// one, which refuses a follower's writes.
    cluster: Arc<dyn Cluster>,
    config: ElectionConfig,
    leadership: Arc<Leadership>,
    metrics: Arc<Metrics>,
    /// Added to the wall clock for the Lease's timestamps (for people reading it; no decision
    /// compares them), in milliseconds: a replica whose clock is off.
    clock_offset_millis: i64,
    /// The planted defect `ignore-renew-deadline`: a leader that cannot renew keeps writing
    /// until it sees another holder.
    #[cfg(madsim)]
    pub ignore_renew_deadline: bool,
}

/// The Lease's resourceVersion as last read, and when this replica first saw it (monotonic).
/// client-go compares the record itself; the version is stricter (every write changes it, even
/// one whose timestamps repeat a clock reading), so a standby never takes an unexpired lease.
type Observed = Option<(Option<String>, Instant)>;

impl Elector {
    pub fn new(cluster: Arc<dyn Cluster>, config: ElectionConfig, leadership: Arc<Leadership>, metrics: Arc<Metrics>, clock_offset_millis: i64) -> Self {
        Elector {
            cluster,
            config,
            leadership,
            metrics,
            clock_offset_millis,
            #[cfg(madsim)]
            ignore_renew_deadline: false,
        }
    }

    pub fn config(&self) -> &ElectionConfig {
        &self.config
    }

    fn lease_ref(&self) -> ObjectRef {
        ObjectRef::new(Gvk::new("coordination.k8s.io/v1", "Lease"), Some(&self.config.namespace), &self.config.name)
    }

    /// Campaigns, then renews, for as long as it runs.
    pub async fn run(&self) {
        let mut observed: Observed = None;
        let mut leading = false;
        self.metrics.leading(&self.config.name, false);
        // Followers watch the Lease, so they time it from each renewal as it lands rather than
        // from their next look: polling alone (client-go) adds up to two jittered retry periods
        // to a takeover. The looks stay, should the watch lag or drop events.
        let only_the_lease = ListParams { field_selector: Some(format!("metadata.name={}", self.config.name)), ..ListParams::default() };
        let mut changes = self.cluster.watcher(&self.lease_ref().gvk, Some(&self.config.namespace), &only_the_lease);
        for look in 0u64.. {
            let started = Instant::now();
            let expires_in = match self.try_acquire_or_renew(&mut observed).await {
                Ok(Look::Holding) => {
                    let until = if self.renew_deadline_ignored() { started + Duration::from_secs(3600) } else { started + self.config.renew_deadline };
                    if self.leadership.renewed(until) {
                        tracing::info!(lease = %self.lease_ref(), identity = %self.config.identity, "became leader");
                    }
                    None
                }
                Ok(Look::HeldElsewhere { expires_in }) => {
                    self.leadership.step_down();
                    Some(expires_in)
                }
                Err(error) => {
                    tracing::warn!(lease = %self.lease_ref(), %error, "could not read or write the leader election Lease");
                    None
                }
            };
            let now_leading = self.leadership.is_leading();
            if leading && !now_leading {
                tracing::warn!(lease = %self.lease_ref(), identity = %self.config.identity, "lost leadership: no longer writing");
            }
            if leading != now_leading {
                self.metrics.leading(&self.config.name, now_leading);
            }
            leading = now_leading;
            match leading {
                true => wait(Instant::now() + self.config.retry_period, &mut changes, |_| false).await,
                // A follower looks again when the Lease changes, when the holder's lease would
                // run out, or after its jittered retry period, whichever comes first.
                false => {
                    let next_look = expires_in.map_or(self.jittered(look), |left| left.min(self.jittered(look)));
                    wait(Instant::now() + next_look, &mut changes, |event| changed(event, &observed)).await
                }
            }
        }
    }

    fn renew_deadline_ignored(&self) -> bool {
        #[cfg(madsim)]
        return self.ignore_renew_deadline;
        #[cfg(not(madsim))]
        false
    }

    /// One look at the Lease, taking or renewing it if this replica may.
    async fn try_acquire_or_renew(&self, observed: &mut Observed) -> Result<Look, ClientError> {
        let read = self.read().await?;
        let version = read.as_ref().and_then(|l| l.metadata.resource_version.clone());
        let unchanged_for = match observed {
            Some((seen, since)) if *seen == version => since.elapsed(),
            _ => {
                *observed = Some((version, Instant::now()));
                Duration::ZERO
            }
        };
        let written = match decide::attempt(&self.config, read.as_ref(), unchanged_for, self.now()) {
            Attempt::Held { expires_in, .. } => return Ok(Look::HeldElsewhere { expires_in }),
            Attempt::Create(lease) => self.cluster.create(&to_value(&lease)?).await?,
            Attempt::Update(lease) => self.cluster.replace(&to_value(&lease)?, false).await?,
        };
        let written: Lease = serde_json::from_value(written).map_err(|e| ClientError::Decode(e.to_string()))?;
        *observed = Some((written.metadata.resource_version, Instant::now()));
        Ok(Look::Holding)
    }

    async fn read(&self) -> Result<Option<Lease>, ClientError> {
        let raw = self.cluster.get(&self.lease_ref()).await?;
        raw.map(|v| serde_json::from_value(v).map_err(|e| ClientError::Decode(format!("{}: {e}", self.lease_ref())))).transpose()
    }

    /// Lets go of the Lease if this replica holds it, so another takes over at once (on
    /// shutdown, after the controllers stopped). Writing stops first.
    pub async fn release(&self) {
        let was_leading = self.leadership.is_leading();
        self.leadership.step_down();
        self.metrics.leading(&self.config.name, false);
        if !was_leading {
            return;
        }
        let released = async {
            let Some(read) = self.read().await? else { return Ok(false) };
            let Some(lease) = decide::release(&self.config, &read, self.now()) else { return Ok(false) };
            self.cluster.replace(&to_value(&lease)?, false).await.map(|_| true)
        };
        match released.await {
            Ok(true) => tracing::info!(lease = %self.lease_ref(), "released leadership"),
            Ok(false) => {}
            Err(error) => tracing::warn!(lease = %self.lease_ref(), %error, "could not release the leader election Lease; it expires after its duration"),
        }
    }

    /// A follower's wait before its next look: the retry period, plus up to 1.2× more (client-go's
    /// `JitterUntil`), drawn from the identity and the look's number so a run is reproducible
    /// and replicas do not look in step.
    fn jittered(&self, look: u64) -> Duration {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.config.identity.bytes().chain(look.to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let fraction = (hash % 1000) as f64 / 1000.0;
        self.config.retry_period.mul_f64(1.0 + JITTER_FACTOR * fraction)
    }

    fn now(&self) -> MicroTime {
        MicroTime(k8s_openapi::jiff::Timestamp::from_millisecond(crate::runtime::wall_clock_millis(self.clock_offset_millis)).unwrap_or_default())
    }
}

/// What one look found.
enum Look {
    /// This replica holds the Lease, having just taken or renewed it.
    Holding,
    /// Another replica does; unless renewed, its lease runs out `expires_in` from now.
    HeldElsewhere { expires_in: Duration },
}

/// Waits until `until`, or until an event on the Lease's watch that `ends_wait` accepts. The
/// watch is drained either way, so it never backs up while this replica leads.
async fn wait(until: Instant, changes: &mut BoxStream<'static, CacheEvent>, ends_wait: impl Fn(&CacheEvent) -> bool) {
    loop {
        // `biased`: tokio's default random branch order is not seeded by madsim.
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(until) => return,
            event = changes.next() => match event {
                Some(event) if ends_wait(&event) => return,
                Some(_) => {}
                // The stream never ends; should it, the timer alone is left.
                None => return tokio::time::sleep_until(until).await,
            },
        }
    }
}

/// Whether a watch event shows the Lease other than as this replica last read it.
fn changed(event: &CacheEvent, observed: &Observed) -> bool {
    let seen = observed.as_ref().and_then(|(version, _)| version.as_deref());
    match event {
        CacheEvent::Apply(lease) | CacheEvent::InitApply(lease) => lease.pointer("/metadata/resourceVersion").and_then(|v| v.as_str()) != seen,
        CacheEvent::Delete(_) => seen.is_some(),
        CacheEvent::Init | CacheEvent::InitDone => false,
    }
}

/// k8s-openapi writes a Lease's `apiVersion` and `kind` itself.
fn to_value(lease: &Lease) -> Result<serde_json::Value, ClientError> {
    serde_json::to_value(lease).map_err(|e| ClientError::Decode(e.to_string()))
}
