//! Deterministic simulation of Eno: the real controllers, run as replicas in a madsim world
//! against the in-process fake API server, under a fault plan drawn from a seed, with invariants
//! checked on every committed write. One seed replays one run exactly.
//!
//! Where to start reading: `world` (`run` and `check_seed`; simulation build only), then the
//! scenario format in [`scenario`], the fault kinds in [`plan`] and the properties in
//! [`invariants`]. The `simulate` CLI (`src/bin/simulate.rs`) and the CI tests
//! (`tests/simulation.rs`) are thin drivers of `world`.
//!
//! Design: a **seed** decides everything. It draws a swarm **plan** of faults
//! ([`plan::FaultPlan::swarm`]), and seeds madsim (which orders every task, sleep and random
//! draw) and the fake API server's fault RNG. The **world** builds the server and the controller
//! replicas; its fault driver acts the plan out over virtual time while the scenario's user plays
//! its steps. The server reports every **committed write** to the checker
//! ([`invariants::Checker`], an independent judge with its own reading of the spec in
//! [`reading`]), which checks the invariants on the state it makes, and to the
//! **trace** ([`trace`]), whose fault-free form is each scenario's insta **snapshot**
//! (`snapshots/simulator/`); at the deadline the scenario's expectations must hold. A run that
//! breaks an invariant is **shrunk** ([`shrink`]: ddmin over the plan's faults, then each
//! fault's rates, times and counts reduced, same seed) to a minimal plan that still breaks it,
//! which the CLI saves for `--plan`. A run can be drawn as an HTML [`timeline`] (who wrote
//! what when, the faults, where the invariant broke).
//!
//! The pure parts (scenarios, plans, the checker, shrinking, traces) build everywhere; running a
//! world needs the simulation build (`RUSTFLAGS="--cfg madsim"`).

// A world allocates and frees millions of small JSON nodes per second; glibc's malloc was a
// third of the run time (BENCHMARKS.md). The allocator decides nothing a run observes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod invariants;
pub mod plan;
pub mod reading;
pub mod scenario;
pub mod shrink;
pub mod timeline;
pub mod trace;
#[cfg(madsim)]
pub mod world;
