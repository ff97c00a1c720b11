//! Eno: the API types (`eno.azure.io/v1`), the runtime seam, the pure decisions, the
//! synthesis executors, the controllers, and the `eno` command's pieces.

pub mod api;
#[cfg(not(madsim))]
pub mod commands;
pub mod controllers;
pub mod decide;
pub mod runtime;
pub mod synthesis;
