//! The baseline a later watch compares against: measured by a `kind = "monitor"` step with
//! `baseline = true` before the change it guards (the shipped runbook's `baseline`, right before
//! `flags-on`), stored as `baseline.json` in the run's directory, and shown beside every panel
//! with the window it was measured over ("0.004, over 1m before flags-on").

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::snapshot::Panel;
use crate::events::RunMode;

/// The file in the run's directory.
pub const FILE: &str = "baseline.json";

/// Each panel's value over the baseline window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// When the measurement ended (RFC 3339).
    pub at: String,
    /// How long it measured.
    pub window_seconds: u64,
    /// The step it was measured before (the next step of the sequence), if any.
    pub before: Option<String>,
    /// Panel id → value (`null`: the panel had no data over the window).
    pub values: BTreeMap<String, Option<f64>>,
}

impl Baseline {
    /// The baseline of `panels`, measured over `window_seconds` ending `at`.
    pub fn of(panels: &[Panel], at: &str, window_seconds: u64, before: Option<String>) -> Self {
        Baseline {
            at: at.to_string(),
            window_seconds,
            before,
            values: panels.iter().map(|p| (p.id.clone(), p.value)).collect(),
        }
    }

    /// A panel's baseline value.
    pub fn value(&self, panel: &str) -> Option<f64> {
        self.values.get(panel).copied().flatten()
    }

    /// Over which window, for people: `1m before flags-on`, or `1m ending 2026-…Z`.
    pub fn over(&self) -> String {
        let window =
            humantime::format_duration(std::time::Duration::from_secs(self.window_seconds));
        match &self.before {
            Some(step) => format!("{window} before {step}"),
            None => format!("{window} ending {}", self.at),
        }
    }

    /// Write it to `run_dir`.
    pub fn save(&self, run_dir: &Path) -> Result<(), String> {
        let path = run_dir.join(FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| {
            format!(
                "cannot write the baseline to {}: {e}; check that the run directory is writable",
                path.display()
            )
        })
    }

    /// The baseline an earlier step of this run stored in `run_dir`, if any.
    pub fn load(run_dir: &Path) -> Result<Option<Self>, String> {
        let path = run_dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            format!(
                "{} is not a baseline ({e}); delete it and run the baseline step again",
                path.display()
            )
        })
    }
}

/// The baseline of the newest real run (not a rehearsal) of the runbook at `runbook` that
/// measured one, with its run directory: what `golive monitor` compares against after a go-live.
pub fn latest_of_runbook(runbook: &Path) -> Option<(std::path::PathBuf, Baseline)> {
    crate::journal::RunDirs::for_runbook(runbook)
        .history()
        .into_iter()
        .filter(|(_, j)| j.started().is_some_and(|start| start.mode == RunMode::Run))
        .find_map(|(dir, _)| Baseline::load(&dir).ok().flatten().map(|b| (dir, b)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_round_trips_and_names_its_window() {
        let dir = std::env::temp_dir().join(format!("golive-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Baseline::load(&dir).unwrap(), None);
        let b = Baseline {
            at: "2026-11-26T18:40:00Z".into(),
            window_seconds: 60,
            before: Some("flags-on".into()),
            values: BTreeMap::from([("http_5xx_ratio".into(), Some(0.004)), ("x".into(), None)]),
        };
        b.save(&dir).unwrap();
        let back = Baseline::load(&dir).unwrap().unwrap();
        assert_eq!(back, b);
        assert_eq!(back.over(), "1m before flags-on");
        assert_eq!(back.value("http_5xx_ratio"), Some(0.004));
        assert_eq!(back.value("x"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
