//! The runbook: its model, the parser that validates it, variables, and the plan.

mod fields;
mod lines;
pub mod model;
mod notify;
mod parse;
mod steps;
pub mod vars;

use std::fmt;
use std::path::PathBuf;

pub use lines::LineIndex;
pub use model::*;
pub use notify::{NOTIFY_EVENTS, Notify};
pub use parse::{load, parse, unset_required_vars};
pub use vars::Vars;

/// One problem in a runbook, printed as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The runbook's path as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Why a runbook could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error(
        "cannot read runbook {path}: {source}; pass its path, e.g. `golive check path/to/runbook.toml`"
    )]
    Io {
        /// The path given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file has problems, all of them listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

/// A step's qualified id, as the journal and the engine name it: `snapshot` in the main
/// sequence, `fast/flags-off` in procedure `fast`.
pub fn qualified_id(procedure: Option<&str>, step: &str) -> String {
    match procedure {
        Some(p) => format!("{p}/{step}"),
        None => step.to_string(),
    }
}

impl Runbook {
    /// Every step of the main sequence and of all procedures, with the procedure's id
    /// (`None` for the main sequence).
    pub fn all_steps(&self) -> impl Iterator<Item = (Option<&str>, &Step)> {
        self.steps.iter().map(|s| (None, s)).chain(
            self.rollbacks
                .iter()
                .chain(&self.diagnostics)
                .flat_map(|p| p.steps.iter().map(move |s| (Some(p.id.as_str()), s))),
        )
    }

    /// A rollback or diagnostic procedure by id.
    pub fn procedure(&self, id: &str) -> Option<&Procedure> {
        self.rollbacks
            .iter()
            .chain(&self.diagnostics)
            .find(|p| p.id == id)
    }
}
