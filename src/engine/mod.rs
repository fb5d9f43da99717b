//! The engine: runs the steps in order, asks before anything destructive, journals everything,
//! and reports through [`events::EngineEvent`]s. It never imports the UI.

mod databases;
pub mod events;

pub use databases::Databases;
