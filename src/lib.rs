//! golive: a terminal console for driving a database go-live.
//!
//! The engine (runbook, executors, journal) never imports the UI; the full-screen console and the
//! headless front end are two consumers of the same [`engine::EngineEvent`] stream.

pub mod attach;
pub mod cli;
pub mod engine;
pub mod exec;
pub mod fleet;
pub mod guard;
pub mod headless;
pub mod httpc;
pub mod journal;
pub mod lint;
pub mod lock;
pub mod lockprofile;
pub mod logging;
pub mod monitor;
pub mod notify;
pub mod pg;
pub mod plan;
pub mod provenance;
pub mod redact;
pub mod registry;
pub mod report;
pub mod runbook;
pub mod sandbox;
pub mod signals;
pub mod tui;
pub mod verify;
