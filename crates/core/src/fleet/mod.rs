//! Fleets: one runbook on many databases, in waves (`golive run --targets TARGETS.toml`).
//!
//! ```text
//!   TARGETS.toml ──► targets (parse, validate) ──► waves (plan → waves of targets)
//!                                                     │
//!   driver: wave by wave, ≤ parallel target engines at once, each with its vars overlaid,
//!           its own lock and its own journal (.golive/runs/<id>/targets/<name>/)
//!           ──FleetEvent──► front end (headless lines | console matrix)
//!           ──► journal (fleet.jsonl: waves, confirmations, halts, the watches between waves)
//!   pause:  before each later wave, every live target watched (its own sources, its own
//!           verdict), or a plain wait without `[monitor]`
//! ```

mod confirm;
pub mod driver;
pub mod events;
pub mod journal;
pub mod notify;
mod pause;
mod target;
pub mod targets;
pub mod watch;
pub mod waves;

pub use driver::{FleetConfig, FleetHandle, Judge, TargetRun, start};
pub use events::{FleetCommand, FleetEvent, FleetOutcome, WaveQuestion};
pub use targets::{Fleet, FleetError, Target};
pub use waves::{PlanEntry, Wave};
