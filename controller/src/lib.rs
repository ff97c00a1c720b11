//! Eno: the API types (`eno.azure.io/v1`), the runtime seam, and the `eno` command's pieces.

pub mod api;
#[cfg(not(madsim))]
pub mod dev;
pub mod runtime;
