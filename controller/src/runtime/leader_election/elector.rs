//! The elector: reads the Lease every retry period, acts on [`super::decide::attempt`], and
//! keeps [`Leadership`] up to date.

use super::decide::{self, Attempt, ElectionConfig, JITTER_FACTOR};
use super::gate::Leadership;
use crate::runtime::{ClientError, Cluster, Gvk, Metrics, ObjectRef};
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
        for look in 0u64.. {
            let started = Instant::now();
            match self.try_acquire_or_renew(&mut observed).await {
                Ok(true) => {
                    let until = if self.renew_deadline_ignored() { started + Duration::from_secs(3600) } else { started + self.config.renew_deadline };
                    if self.leadership.renewed(until) {
                        tracing::info!(lease = %self.lease_ref(), identity = %self.config.identity, "became leader");
                    }
                }
                Ok(false) => self.leadership.step_down(),
                Err(error) => tracing::warn!(lease = %self.lease_ref(), %error, "could not read or write the leader election Lease"),
            }
            let now_leading = self.leadership.is_leading();
            if leading && !now_leading {
                tracing::warn!(lease = %self.lease_ref(), identity = %self.config.identity, "lost leadership: no longer writing");
            }
            if leading != now_leading {
                self.metrics.leading(&self.config.name, now_leading);
            }
            leading = now_leading;
            tokio::time::sleep(if leading { self.config.retry_period } else { self.jittered(look) }).await;
        }
    }

    fn renew_deadline_ignored(&self) -> bool {
        #[cfg(madsim)]
        return self.ignore_renew_deadline;
        #[cfg(not(madsim))]
        false
    }

    /// One look at the Lease: `Ok(true)` when this replica holds it after this look.
    async fn try_acquire_or_renew(&self, observed: &mut Observed) -> Result<bool, ClientError> {
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
            Attempt::Held { .. } => return Ok(false),
            Attempt::Create(lease) => self.cluster.create(&to_value(&lease)?).await?,
            Attempt::Update(lease) => self.cluster.replace(&to_value(&lease)?, false).await?,
        };
        let written: Lease = serde_json::from_value(written).map_err(|e| ClientError::Decode(e.to_string()))?;
        *observed = Some((written.metadata.resource_version, Instant::now()));
        Ok(true)
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

/// k8s-openapi writes a Lease's `apiVersion` and `kind` itself.
fn to_value(lease: &Lease) -> Result<serde_json::Value, ClientError> {
    serde_json::to_value(lease).map_err(|e| ClientError::Decode(e.to_string()))
}
