//! What every command reads first: the runbook, and variables from the environment.

use std::path::Path;

use super::ExitCode;
use golive_core::runbook::{self, LoadError, Runbook};

pub(super) fn load(path: &Path) -> Result<Runbook, ExitCode> {
    runbook::load(path).map_err(|e| {
        match &e {
            LoadError::Invalid(diags) => {
                for d in diags {
                    eprintln!("{d}");
                }
                eprintln!(
                    "{}: {} problem(s); nothing was run",
                    path.display(),
                    diags.len()
                );
            }
            LoadError::Io { .. } => eprintln!("golive: {e}"),
        }
        2
    })
}

/// Values from the environment.
pub(super) fn env_lookup() -> impl Fn(&str) -> Option<String> {
    |name| std::env::var(name).ok()
}
