//! Deterministic simulation of Eno: a madsim world per seed with the in-process fake API server,
//! controller replicas, the simulated executor and a scenario's user steps; a swarm fault plan
//! from the seed; invariants checked on every committed state; shrinking of failing plans.
//!
//! The pure parts (scenarios, plans, the checker, shrinking, traces) build everywhere; running a
//! world needs the simulation build (`RUSTFLAGS="--cfg madsim"`).

pub mod invariants;
pub mod plan;
pub mod scenario;
pub mod shrink;
pub mod trace;
#[cfg(madsim)]
pub mod world;
