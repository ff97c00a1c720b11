//! Time as the server sees it. The core never reads the wall clock itself, so a simulation
//! (or a test) decides what `creationTimestamp` and `deletionTimestamp` say.

use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Reads `std::time::SystemTime` (which madsim virtualises in the simulation build).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for unit tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(unix_seconds: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(unix_seconds)))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.load(Ordering::SeqCst), 0).unwrap_or_default()
    }
}

/// RFC 3339 with whole seconds, as `metav1.Time` serialises.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
