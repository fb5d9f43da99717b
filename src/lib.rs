//! golive: a terminal console for driving a database go-live.
//!
//! The engine (runbook, executors, journal) never imports the UI; the full-screen console and the
//! headless front end are two consumers of the same [`engine::EngineEvent`] stream.

pub mod engine;
pub mod exec;
pub mod pg;
pub mod redact;
pub mod runbook;
pub mod tui;
