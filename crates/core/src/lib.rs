//! golive without a screen: the runbook, the engine and its executors, the journal, the
//! verifiers, the monitor's sources, the registry and notifications.
//!
//! The engine never imports a front end: it reports through [`events::EngineEvent`]s and takes
//! [`events::Command`]s, which the console (`golive-tui`) and the line output (`golive`'s
//! `headless`) consume alike. [`os`] holds the one `unsafe` block of golive.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod engine;
pub mod events;
pub mod exec;
pub mod fleet;
pub mod follow;
pub mod guard;
pub mod httpc;
pub mod journal;
pub mod lint;
pub mod lock;
pub mod lockprofile;
pub mod logging;
pub mod monitor;
pub mod notify;
pub mod os;
pub mod pg;
pub mod plan;
pub mod provenance;
pub mod redact;
pub mod registry;
pub mod report;
pub mod runbook;
pub mod verify;
