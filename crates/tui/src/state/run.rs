//! The run as the header shows it: runbook, environment, targets, clock, outcome, last message.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use golive_core::events::{NoticeLevel, Outcome, RunInfo};

/// The header's state.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    /// The runbook's name; empty until the engine started.
    pub runbook: String,
    /// The run's id.
    pub run_id: String,
    /// Where the run's journal and logs are.
    pub run_dir: PathBuf,
    /// `[runbook] environment`.
    pub environment: Option<String>,
    /// (label, target) pairs, redacted.
    pub targets: Vec<(String, String)>,
    /// Whether this continues an earlier run.
    pub resumed: bool,
    /// The rehearsal's total duration.
    pub expected_total: Option<Duration>,
    /// When the run started (this process's clock).
    pub started_at: Option<Instant>,
    /// How long the run has been going, as of the last tick.
    pub elapsed: Duration,
    /// How it ended, once it has.
    pub finished: Option<(Outcome, String)>,
    /// The last message for the operator (the footer).
    pub message: Option<(NoticeLevel, String)>,
    /// The engine's notices (lock holder, unrehearsed runbook, torn journal line, …), shown
    /// under the header until the operator puts them away.
    pub notices: Vec<(NoticeLevel, String)>,
    /// In a rehearsal: the step that was running when the traffic's first wrong answer came.
    pub wrong_since: Option<String>,
}

impl RunState {
    /// The header's state for a run that starts `now`.
    pub fn started(info: &RunInfo, now: Instant) -> Self {
        RunState {
            runbook: info.runbook.clone(),
            run_id: info.run_id.clone(),
            run_dir: info.run_dir.clone(),
            environment: info.environment.clone(),
            targets: info.targets.clone(),
            resumed: info.resumed,
            expected_total: info.expected_total,
            started_at: Some(now),
            elapsed: Duration::ZERO,
            finished: None,
            message: None,
            notices: Vec::new(),
            wrong_since: None,
        }
    }

    /// Whether the console is framed as production.
    pub fn is_production(&self) -> bool {
        self.environment
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("production") || e.eq_ignore_ascii_case("prod"))
    }

    /// Whether the run has started and not finished.
    pub fn is_live(&self) -> bool {
        self.started_at.is_some() && self.finished.is_none()
    }

    /// The log file of a step (the engine's path convention).
    pub fn step_log(&self, step_id: &str) -> PathBuf {
        self.run_dir.join("steps").join(format!("{step_id}.log"))
    }

    /// Bring the clock up to `now`; returns whether the shown second changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        match (self.started_at, &self.finished) {
            (Some(start), None) => {
                let before = self.elapsed.as_secs();
                self.elapsed = now.saturating_duration_since(start);
                before != self.elapsed.as_secs()
            }
            _ => false,
        }
    }
}

/// `1:02:03`, `2:03` or `0:05`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `850ms`, `12.3s`, `4m05s`, `1h02m`.
pub fn short(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", d.as_secs_f64()),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}
