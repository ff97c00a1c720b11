//! Synthesis executors: running a synthesizer for a composition and checking what it produced.
//!
//! A synthesizer is a KRM function: it reads a `ResourceList` of the composition's bound inputs
//! on stdin and writes a `ResourceList` of desired resources on stdout; stderr is its log. The
//! synthesis controller builds a [`SynthesisInput`] and calls an [`Executor`]:
//!
//! - [`local::LocalProcessExecutor`] runs the command on this machine (`eno dev`; not in the
//!   simulation build, which has no processes);
//! - [`simulated::SimulatedExecutor`] runs Rust functions in place of synthesizers, in virtual
//!   time (tests, the simulator);
//! - [`pod_executor::PodExecutor`] (production) runs the synthesizer image in a Pod built by
//!   [`pod::synthesis_pod`], whose `eno execute` wrapper hands the output back as Secrets
//!   ([`handback`]).
//!
//! Every executor validates the output with [`output::validate`] before returning it, so a bad
//! output is a failed synthesis with a clear message and nothing of it is ever written. Error
//! messages ([`SynthesisError`], or the first error result, see [`SynthesisOutput::failed`])
//! are made to be shown as they are in the composition's status.

pub mod executor;
pub mod handback;
#[cfg(not(madsim))]
pub mod local;
pub mod outcome;
pub mod output;
pub mod pod;
pub mod pod_executor;
#[cfg(not(madsim))]
pub mod process;
pub mod simulated;

pub use executor::{environment, input_resource_list, Executor, SynthesisInput};
pub use outcome::{InvalidItem, SynthesisError, SynthesisOutput};
#[cfg(not(madsim))]
pub use local::LocalProcessExecutor;
pub use pod::{synthesis_input_secret, synthesis_pod, PodConfig};
pub use pod_executor::PodExecutor;
pub use simulated::SimulatedExecutor;
