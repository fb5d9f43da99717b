//! `golive report RUN_DIR`: a run's journal as a change record (Markdown) or as JSON: who ran
//! what, when, which golive and runbook, every step with its timing and outcome, every
//! confirmation, refusal and skip, and how the run ended.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::journal::{Entry, JournalRead, read_journal};

/// One step's line in the report.
#[derive(Debug, Serialize)]
pub struct StepLine {
    /// Qualified id.
    pub step: String,
    /// Final state.
    pub state: String,
    /// When it (last) started.
    pub started: Option<String>,
    /// How long it ran.
    pub duration_ms: Option<u64>,
    /// Attempts.
    pub attempts: u32,
    /// The summary or error.
    pub detail: Option<String>,
}

/// The report's data.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Run id.
    pub run_id: String,
    /// Runbook name.
    pub runbook: String,
    /// Runbook file and sha256.
    pub runbook_path: String,
    /// sha256 of the runbook.
    pub runbook_sha256: String,
    /// golive version.
    pub golive_version: String,
    /// run or rehearse.
    pub mode: String,
    /// Who and where.
    pub operator: String,
    /// First and last record.
    pub started: String,
    /// Last record.
    pub ended: String,
    /// How it ended (`unfinished` when no process finished it).
    pub outcome: String,
    /// Closing message.
    pub message: String,
    /// Steps in the order they first started.
    pub steps: Vec<StepLine>,
    /// Confirmations, refusals, procedures and notes, in order: (time, text).
    pub decisions: Vec<(String, String)>,
    /// Journal problems (a torn last line).
    pub warnings: Vec<String>,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No journal there.
    #[error("cannot read {path}: {source}; pass a run directory such as .golive/runs/<run-id>")]
    Read {
        /// The journal path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The journal has no start record.
    #[error("{0} holds no run_started record: not a golive journal")]
    NotAJournal(String),
}

/// Build the report of the run in `run_dir`.
pub fn build(run_dir: &Path) -> Result<Report, ReportError> {
    let path = run_dir.join("journal.jsonl");
    let journal = read_journal(&path).map_err(|source| ReportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    from_journal(&journal).ok_or_else(|| ReportError::NotAJournal(path.display().to_string()))
}

/// Build the report from records read elsewhere (the registry), in journal order.
pub fn from_records(records: Vec<crate::journal::Record>) -> Option<Report> {
    from_journal(&JournalRead {
        records,
        ..JournalRead::default()
    })
}

fn from_journal(journal: &JournalRead) -> Option<Report> {
    let mut report = journal.records.iter().find_map(|r| match &r.entry {
        Entry::RunStarted {
            run_id,
            runbook,
            runbook_path,
            runbook_sha256,
            golive_version,
            mode,
            user,
            host,
            ..
        } => Some(Report {
            run_id: run_id.clone(),
            runbook: runbook.clone(),
            runbook_path: runbook_path.clone(),
            runbook_sha256: runbook_sha256.clone(),
            golive_version: golive_version.clone(),
            mode: mode.clone(),
            operator: format!("{user}@{host}"),
            started: r.at.clone(),
            ended: String::new(),
            outcome: "unfinished".into(),
            message: String::new(),
            steps: Vec::new(),
            decisions: Vec::new(),
            warnings: Vec::new(),
        }),
        _ => None,
    })?;
    if let Some((_, last)) = journal.span() {
        report.ended = last.to_string();
    }
    if let Some(line) = journal.torn_line {
        report.warnings.push(format!(
            "journal line {line} was torn by a crash and is not included"
        ));
    }
    for line in &journal.unreadable {
        report
            .warnings
            .push(format!("journal line {line} is unreadable and was skipped"));
    }
    for record in &journal.records {
        let at = record.at.clone();
        match &record.entry {
            Entry::StepStarted { step, attempt } => {
                let line = step_line(&mut report.steps, step);
                line.started = Some(at);
                line.attempts = line.attempts.max(*attempt);
                line.state = "running (never finished: interrupted)".into();
            }
            Entry::StepFinished {
                step,
                state,
                duration_ms,
                detail,
            } => {
                let line = step_line(&mut report.steps, step);
                line.state = state.label().into();
                line.duration_ms = Some(*duration_ms);
                line.detail = detail.clone();
            }
            Entry::Confirmed {
                step,
                what,
                by,
                target,
            } => report.decisions.push((
                at,
                format!(
                    "{what}{} confirmed by {by}{}",
                    step.as_deref()
                        .map(|s| format!(" `{s}`"))
                        .unwrap_or_default(),
                    target
                        .as_deref()
                        .map(|t| format!(" (target {t})"))
                        .unwrap_or_default()
                ),
            )),
            Entry::Refused {
                step,
                what,
                by,
                reason,
            } => report.decisions.push((
                at,
                format!(
                    "{what}{} REFUSED ({by}): {reason}",
                    step.as_deref()
                        .map(|s| format!(" `{s}`"))
                        .unwrap_or_default()
                ),
            )),
            Entry::ProcedureStarted { procedure, by } => report
                .decisions
                .push((at, format!("procedure `{procedure}` started by {by}"))),
            Entry::RunResumed { user, host, .. } => report
                .decisions
                .push((at, format!("run resumed by {user}@{host}"))),
            Entry::Note { text } => report.decisions.push((at, format!("note: {text}"))),
            Entry::WrongAnswers {
                step,
                count,
                first_at,
                example,
            } => report.decisions.push((
                at,
                format!(
                    "WRONG ANSWERS: {count} to the rehearsal's traffic {}, the first at {first_at}: {example}",
                    step.as_deref()
                        .map_or_else(|| "outside any step".to_string(), |s| format!("during `{s}`"))
                ),
            )),
            Entry::RunFinished { outcome, message } => {
                report.outcome = format!("{outcome:?}").to_lowercase();
                report.message = message.clone();
            }
            Entry::RunStarted { .. } => {}
        }
    }
    Some(report)
}

fn step_line<'a>(steps: &'a mut Vec<StepLine>, id: &str) -> &'a mut StepLine {
    let pos = match steps.iter().position(|s| s.step == id) {
        Some(pos) => pos,
        None => {
            steps.push(StepLine {
                step: id.to_string(),
                state: "pending".into(),
                started: None,
                duration_ms: None,
                attempts: 0,
                detail: None,
            });
            steps.len() - 1
        }
    };
    &mut steps[pos]
}

/// The report as a Markdown change record.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Change record: {}\n", report.runbook);
    let _ = writeln!(md, "| | |\n|---|---|");
    for (k, v) in [
        ("Run", report.run_id.as_str()),
        ("Mode", report.mode.as_str()),
        ("Outcome", report.outcome.as_str()),
        ("Operator", report.operator.as_str()),
        ("Started", report.started.as_str()),
        ("Last record", report.ended.as_str()),
        ("Runbook", report.runbook_path.as_str()),
        ("Runbook sha256", report.runbook_sha256.as_str()),
        ("golive", report.golive_version.as_str()),
    ] {
        let _ = writeln!(md, "| {k} | {} |", escape(v));
    }
    if !report.message.is_empty() {
        let _ = writeln!(md, "\n**{}**", escape(&report.message));
    }
    let _ = writeln!(
        md,
        "\n## Steps\n\n| Step | Outcome | Started | Took | Attempts | Detail |\n|---|---|---|---|---|---|"
    );
    for s in &report.steps {
        let took = s
            .duration_ms
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {took} | {} | {} |",
            s.step,
            s.state,
            s.started.as_deref().unwrap_or(""),
            s.attempts,
            escape(s.detail.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(md, "\n## Confirmations and decisions\n");
    if report.decisions.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for (at, text) in &report.decisions {
        let _ = writeln!(md, "- {at} — {}", escape(text));
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(md, "\n## Journal warnings\n");
        for w in &report.warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    md
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
