//! The console's state, split by concern: each part owns its data and the logic that changes it;
//! [`crate::App`] composes them and routes events and keys.

pub mod checklist;
pub mod dialog;
pub mod output;
pub mod run;
pub mod search;
