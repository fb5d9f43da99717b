//! golive: a terminal console for driving a database go-live.
//!
//! The workspace draws the architecture: [`golive_core`] is everything without a screen (the
//! runbook, the engine and its executors, the journal, the verifiers, the monitor's sources, the
//! registry); [`tui`] (the console) and the binary's line output are two consumers of the same
//! [`events::EngineEvent`] stream; [`sandbox`] is the world a rehearsal runs against; the
//! `golive` binary (`src/main.rs`, `src/cli/`) ties them to the command line. This library
//! re-exports the crates so tests and benchmarks name them as `golive::engine`, `golive::tui`,
//! `golive::sandbox`.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub use golive_core::*;
pub use golive_sandbox as sandbox;
pub use golive_tui as tui;
