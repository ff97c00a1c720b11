//! Deterministic simulation of Eno. Filled in by the symphony/simulator issue.
