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

/// Values from `overlay` (a rehearsal's sandbox) first, then the environment.
pub(super) fn env_lookup(
    overlay: &[(String, String, bool)],
) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        overlay
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone())
            .or_else(|| std::env::var(name).ok())
    }
}
