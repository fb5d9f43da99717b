//! One connection per database variable, reused by every step of a run (a verification query
//! costs a round trip, not a process start), reopened when the server dropped it.

use std::collections::HashMap;

use crate::pg::{self, Session};
use crate::runbook::Vars;

/// The run's connections, keyed by the variable that holds the connection string.
#[derive(Default)]
pub struct Databases {
    sessions: HashMap<String, Session>,
}

impl Databases {
    /// The connection for `var`, opened on first use and reopened if it was closed.
    pub async fn get(&mut self, var: &str, vars: &Vars) -> Result<&mut Session, String> {
        let stale = self.sessions.get(var).is_none_or(|s| s.client.is_closed());
        if stale {
            self.sessions.remove(var);
            let raw = vars
                .get(var)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("variable {var} is empty; export {var}=postgres://…"))?;
            let session = pg::connect(raw, "golive")
                .await
                .map_err(|e| vars.redactor().redact(&e.to_string()).into_owned())?;
            self.sessions.insert(var.to_string(), session);
        }
        self.sessions
            .get_mut(var)
            .ok_or_else(|| format!("no connection for {var}"))
    }

    /// Drop the connection for `var` (after an error that may have left it unusable).
    pub fn forget(&mut self, var: &str) {
        self.sessions.remove(var);
    }
}
