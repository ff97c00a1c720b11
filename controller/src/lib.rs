//! Eno: turns *synthesizers* (KRM functions) into managed Kubernetes resources.
//!
//! # What it is
//! The library behind the `eno` binary: the `eno.azure.io/v1` API types, the reconcilers that
//! synthesize compositions and keep their resources converged, and the runtime seam they run
//! on, which is kube-rs against a real cluster or the in-process fake API server (in `eno dev`
//! and, under `--cfg madsim`, in the deterministic simulator).
//!
//! # Where to start reading
//! 1. [`api`]: the four kinds (Synthesizer, Composition, Symphony, ResourceSlice), every
//!    `eno.azure.io/` annotation ([`api::annotations`]) and Go durations ([`api::duration`]).
//! 2. [`decide`]: each reconciler's decision, a pure function from observed state to the next
//!    step; this is where Eno's behaviour lives and where its unit and property tests are.
//! 3. [`controllers`]: the thin interpreters that gather observed state, call a decision and
//!    carry out its one write.
//! 4. [`runtime`]: the seam (cluster client, informer, work queue) and its two backends.
//! 5. [`synthesis`]: running a synthesizer (local process, pod, simulated) and checking what it
//!    wrote.
//!
//! # Design
//! Reconcilers are level-triggered: each pass reads (possibly stale) cached state, decides, and
//! makes at most one write, fenced by optimistic concurrency (a resourceVersion, a UID or a
//! JSON-patch `test`), so a stale cache, a crash or a second replica can delay a step but never
//! apply a wrong one; decisions that would be unsafe on a stale cache ask for an uncached read
//! first. Object semantics (three-way strategic and JSON merge) come from the `apimachinery`
//! crate, shared with the fake API server. Nothing here reads the wall clock or spawns threads
//! directly: time and tasks go through `tokio`, which the simulation build swaps for madsim's.

pub mod api;
#[cfg(not(madsim))]
pub mod commands;
pub mod controllers;
pub mod decide;
#[cfg(not(madsim))]
pub mod ops;
pub mod runtime;
pub mod synthesis;
