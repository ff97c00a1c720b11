//! Leader election over a `coordination.k8s.io/v1` Lease, with client-go's semantics, through
//! the runtime seam (so the simulator drives it as it drives everything else).
//!
//! Every replica keeps its informers warm; only the leader's controllers work, and every write
//! they make goes through [`LeaderOnly`], which refuses it unless this replica is leading. The
//! fenced writes (claims, resourceVersion preconditions) stay the second line of defence.
//!
//! # The rules (client-go's `tryAcquireOrRenew`, [`decide::attempt`])
//!
//! - Each replica reads the Lease every retry period (followers jittered up to 2.2×, as
//!   client-go's `JitterFactor` 1.2); a follower also watches it and reads it again as soon as
//!   it changes or its holder's lease would run out, so a takeover comes a lease duration after
//!   the last renewal rather than up to two retry periods later. A follower takes a Lease only once it has watched its
//!   record unchanged (its resourceVersion) for the record's `leaseDurationSeconds` **on its own monotonic clock**,
//!   so clock skew between replicas cannot shorten the wait; the leader renews it. Every write
//!   carries the resourceVersion read, so two replicas cannot both win one term.
//! - **A leader stops writing before its Lease can expire elsewhere.** It counts itself leader
//!   until `renew deadline` after the *start* of its last successful renewal: any other replica
//!   saw that renewal after it committed, which is after the request started, and waits a whole
//!   lease duration (longer than the renew deadline) from then.
//! - A leader that fails to renew keeps trying; once the deadline passes it is a follower again
//!   (its caches warm), and campaigns like any other.
//! - On shutdown the leader **releases** the Lease (empty holder, `leaseDurationSeconds: 1`), so
//!   another replica takes over in about a second instead of a lease duration.

pub mod decide;
mod elector;
mod gate;

pub use decide::{ConfigError, ElectionConfig};
pub use elector::Elector;
pub use gate::{LeaderOnly, Leadership};
