//! golive: a terminal console for driving a database go-live.
//!
//! The workspace draws the architecture: [`golive_core`] is everything without a screen (the
//! runbook, the engine and its executors, the journal, the verifiers, the monitor's sources, the
//! registry); [`tui`] (the console) and [`headless`] (line output) are two consumers of the same
//! [`events::EngineEvent`] stream; [`sandbox`] is the world a rehearsal runs against; [`cli`] ties
//! them to the command line. This crate re-exports the others so `golive::engine`,
//! `golive::tui` and `golive::sandbox` name the same things wherever they live.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod attach;
pub mod cli;
pub mod headless;

pub use golive_core::*;
pub use golive_sandbox as sandbox;
pub use golive_tui as tui;
