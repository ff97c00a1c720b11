//! Prometheus metrics: controller-runtime's names where one exists (so dashboards and alerts
//! written for controller-runtime operators, Eno's included, work unchanged), and Eno's own.
//!
//! - `controller_runtime_reconcile_total{controller,result}` (`success`, `requeue_after`,
//!   `error`), `controller_runtime_reconcile_errors_total{controller}`,
//!   `controller_runtime_reconcile_time_seconds{controller}`;
//! - `workqueue_depth`, `workqueue_adds_total`, `workqueue_queue_duration_seconds`,
//!   `workqueue_work_duration_seconds`, `workqueue_retries_total`, each by queue `name`;
//! - `eno_synthesis_runs_total{result}` (`succeeded`, `failed`: a verdict, `retried`: a
//!   failure that is retried with backoff), `eno_synthesis_duration_seconds`,
//!   `eno_resources_reconciled_total` (writes that changed a managed resource),
//!   `eno_compositions_stuck` (past the watchdog threshold at its last look),
//!   `eno_resource_filter_eval_errors_total` (resources a shard's `--resource-filter` failed on,
//!   Eno's name);
//! - `leader_election_master_status{name}` (1 while this replica holds the Lease `name`, 0
//!   while it follows; only with leader election).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    pub controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub controller: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub name: String,
}

/// controller-runtime names the Lease in `leader_election_master_status` by `name`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseLabel {
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SynthesisResult {
    pub result: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// controller-runtime's buckets for latencies: 5 ms to about 80 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Every metric of one Eno, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    reconcile_errors: Family<ControllerLabel, Counter>,
    reconcile_time: Histograms<ControllerLabel>,
    queue_depth: Family<QueueLabel, Gauge>,
    queue_adds: Family<QueueLabel, Counter>,
    queue_duration: Histograms<QueueLabel>,
    work_duration: Histograms<QueueLabel>,
    queue_retries: Family<QueueLabel, Counter>,
    synthesis_runs: Family<SynthesisResult, Counter>,
    synthesis_duration: Histogram,
    /// Writes that changed a managed resource.
    pub resources_reconciled: Counter,
    /// Compositions past the watchdog threshold at its last look.
    pub compositions_stuck: Gauge,
    leader: Family<LeaseLabel, Gauge>,
    /// Passes that skipped a resource because the resource filter failed on it.
    pub resource_filter_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics {
            reconciles: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_time: Family::new_with_constructor(latency),
            queue_depth: Family::default(),
            queue_adds: Family::default(),
            queue_duration: Family::new_with_constructor(latency),
            work_duration: Family::new_with_constructor(latency),
            queue_retries: Family::default(),
            synthesis_runs: Family::default(),
            synthesis_duration: latency(),
            resources_reconciled: Counter::default(),
            compositions_stuck: Gauge::default(),
            leader: Family::default(),
            resource_filter_errors: Counter::default(),
            registry: Registry::default(),
        };
        // prometheus-client adds `_total` to counters.
        registry.register("controller_runtime_reconcile", "Reconciliations by controller and result", metrics.reconciles.clone());
        registry.register("controller_runtime_reconcile_errors", "Reconciliations that ended in an error", metrics.reconcile_errors.clone());
        registry.register("controller_runtime_reconcile_time_seconds", "Time a reconciliation took", metrics.reconcile_time.clone());
        registry.register("workqueue_depth", "Keys waiting in the queue", metrics.queue_depth.clone());
        registry.register("workqueue_adds", "Keys added to the queue", metrics.queue_adds.clone());
        registry.register("workqueue_queue_duration_seconds", "Time a key waited in the queue before it was processed", metrics.queue_duration.clone());
        registry.register("workqueue_work_duration_seconds", "Time processing a key took", metrics.work_duration.clone());
        registry.register("workqueue_retries", "Keys queued again after a failure", metrics.queue_retries.clone());
        registry.register("eno_synthesis_runs", "Synthesizer runs by outcome (succeeded, failed, retried)", metrics.synthesis_runs.clone());
        registry.register("eno_synthesis_duration_seconds", "Time a synthesizer run took", metrics.synthesis_duration.clone());
        registry.register("eno_resources_reconciled", "Writes that changed a managed resource", metrics.resources_reconciled.clone());
        registry.register("eno_compositions_stuck", "Compositions stuck mid-transition past the watchdog threshold", metrics.compositions_stuck.clone());
        registry.register("leader_election_master_status", "1 while this replica is the leader of the Lease `name`, 0 while it is a follower", metrics.leader.clone());
        registry.register("eno_resource_filter_eval_errors", "Errors while evaluating resource filter expressions", metrics.resource_filter_errors.clone());
        Metrics { registry, ..metrics }
    }
}

/// How a reconciliation ended, as `controller_runtime_reconcile_total` counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileResult {
    Success,
    RequeueAfter,
    Error,
}

/// How a synthesizer run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthesisOutcome {
    Succeeded,
    /// A verdict: not retried until something changes.
    Failed,
    /// Retried with backoff.
    Retried,
}

impl Metrics {
    /// Whether this replica leads the election of Lease `lease`.
    pub fn leading(&self, lease: &str, leading: bool) {
        self.leader.get_or_create(&LeaseLabel { name: lease.to_string() }).set(i64::from(leading));
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// One reconciliation of `controller` that took `took`.
    pub fn reconciled(&self, controller: &str, result: ReconcileResult, took: Duration) {
        let result_label = match result {
            ReconcileResult::Success => "success",
            ReconcileResult::RequeueAfter => "requeue_after",
            ReconcileResult::Error => "error",
        };
        self.reconciles.get_or_create(&ResultLabels { controller: controller.to_string(), result: result_label.to_string() }).inc();
        let controller = ControllerLabel { controller: controller.to_string() };
        if result == ReconcileResult::Error {
            self.reconcile_errors.get_or_create(&controller).inc();
        }
        self.reconcile_time.get_or_create(&controller).observe(took.as_secs_f64());
    }

    /// One synthesizer run that took `took`.
    pub fn synthesized(&self, outcome: SynthesisOutcome, took: Duration) {
        let result = match outcome {
            SynthesisOutcome::Succeeded => "succeeded",
            SynthesisOutcome::Failed => "failed",
            SynthesisOutcome::Retried => "retried",
        };
        self.synthesis_runs.get_or_create(&SynthesisResult { result: result.to_string() }).inc();
        self.synthesis_duration.observe(took.as_secs_f64());
    }

    /// The metrics of work queue `name`.
    pub fn queue(&self, name: &str) -> QueueMetrics {
        let label = QueueLabel { name: name.to_string() };
        QueueMetrics {
            depth: self.queue_depth.get_or_create(&label).clone(),
            adds: self.queue_adds.get_or_create(&label).clone(),
            queue_duration: self.queue_duration.get_or_create(&label).clone(),
            work_duration: self.work_duration.get_or_create(&label).clone(),
            retries: self.queue_retries.get_or_create(&label).clone(),
        }
    }
}

/// One work queue's metrics (unregistered by default, for queues nobody scrapes).
#[derive(Clone, Debug)]
pub struct QueueMetrics {
    pub depth: Gauge,
    pub adds: Counter,
    pub queue_duration: Histogram,
    pub work_duration: Histogram,
    pub retries: Counter,
}

impl Default for QueueMetrics {
    fn default() -> Self {
        QueueMetrics { depth: Gauge::default(), adds: Counter::default(), queue_duration: latency(), work_duration: latency(), retries: Counter::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_carries_controller_runtimes_names() {
        let metrics = Metrics::default();
        metrics.reconciled("composition", ReconcileResult::Success, Duration::from_millis(3));
        metrics.reconciled("composition", ReconcileResult::Error, Duration::from_millis(3));
        metrics.queue("composition").adds.inc();
        metrics.synthesized(SynthesisOutcome::Retried, Duration::from_secs(1));
        let text = metrics.encode();
        for line in [
            r#"controller_runtime_reconcile_total{controller="composition",result="success"} 1"#,
            r#"controller_runtime_reconcile_total{controller="composition",result="error"} 1"#,
            r#"controller_runtime_reconcile_errors_total{controller="composition"} 1"#,
            r#"controller_runtime_reconcile_time_seconds_count{controller="composition"} 2"#,
            r#"workqueue_adds_total{name="composition"} 1"#,
            r#"workqueue_depth{name="composition"} 0"#,
            r#"eno_synthesis_runs_total{result="retried"} 1"#,
            "eno_compositions_stuck 0",
            "eno_resource_filter_eval_errors_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }
}
