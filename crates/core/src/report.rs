//! `golive report RUN_DIR`: a run's journal as a change record (Markdown) or as JSON: who ran
//! what, when, which golive and runbook, every step with its timing and outcome, every attempt
//! of it with its findings and why it was tried again, every confirmation, typo, refusal and
//! skip, the diagnostics and rollbacks named as what they are, and how the run ended.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::events::{ProcedureKind, RunMode};
use crate::journal::{Entry, JournalRead, read_journal};

/// One attempt of a step.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// Attempt number, from 1.
    pub attempt: u32,
    /// When it started (empty for a skip that ran nothing).
    pub started: String,
    /// passed, failed, skipped, interrupted, or `failed, tried again automatically`.
    pub outcome: String,
    /// How long it ran.
    pub duration_ms: Option<u64>,
    /// The summary, or the error with its findings.
    pub detail: Option<String>,
    /// What the operator decided after it (`retry by alice`), if anything.
    pub then: Option<String>,
}

/// One step's line in the report.
#[derive(Debug, Serialize)]
pub struct StepLine {
    /// Qualified id.
    pub step: String,
    /// `main`, `rollback` or `diagnostic`: which part of the runbook it belongs to.
    pub part: String,
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
    /// Every attempt, oldest first.
    pub history: Vec<Attempt>,
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
    /// Go-live or rehearsal.
    pub mode: RunMode,
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
    /// The locks each step took, when the run was a rehearsal that recorded them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locks: Option<crate::lockprofile::LockProfile>,
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
    let mut report = from_journal(&journal)
        .ok_or_else(|| ReportError::NotAJournal(path.display().to_string()))?;
    report.locks = crate::lockprofile::read(run_dir);
    Ok(report)
}

/// Build the report from records read elsewhere (the registry), in journal order.
pub fn from_records(records: Vec<crate::journal::Record>) -> Option<Report> {
    from_journal(&JournalRead {
        records,
        ..JournalRead::default()
    })
}

fn from_journal(journal: &JournalRead) -> Option<Report> {
    let mut report = header(journal)?;
    // Each procedure run so far and its kind (`rollback`, `diagnostic`), for the steps' part.
    let mut kinds: Vec<(String, String)> = Vec::new();
    for record in &journal.records {
        let at = record.at.clone();
        match &record.entry {
            Entry::StepStarted { step, attempt } => {
                started(step_line(&mut report.steps, step, &kinds), *attempt, at);
            }
            Entry::StepFinished {
                step,
                state,
                duration_ms,
                detail,
            } => {
                let line = step_line(&mut report.steps, step, &kinds);
                finished(line, state.label(), *duration_ms, detail);
            }
            Entry::Confirmed {
                step,
                what,
                by,
                target,
                ..
            } => {
                let text = confirmed(&mut report.steps, &kinds, step.as_deref(), what, by, target);
                report.decisions.push((at, text));
            }
            Entry::ProcedureStarted {
                procedure,
                by,
                kind,
            } => {
                let note = if *kind == Some(ProcedureKind::Diagnostic) {
                    " (read-only, beside the run)"
                } else {
                    ""
                };
                let kind = kind.map_or("procedure", ProcedureKind::name).to_string();
                report
                    .decisions
                    .push((at, format!("{kind} `{procedure}` started by {by}{note}")));
                kinds.push((procedure.clone(), kind));
            }
            Entry::RunFinished { outcome, message } => {
                report.outcome = format!("{outcome:?}").to_lowercase();
                report.message = message.clone();
            }
            other => {
                if let Some(text) = decision(other) {
                    report.decisions.push((at, text));
                }
            }
        }
    }
    Some(report)
}

/// The report's head from the start record, the span of the journal and its problems.
fn header(journal: &JournalRead) -> Option<Report> {
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
            mode: *mode,
            operator: format!("{user}@{host}"),
            started: r.at.clone(),
            ended: String::new(),
            outcome: "unfinished".into(),
            message: String::new(),
            steps: Vec::new(),
            decisions: Vec::new(),
            warnings: Vec::new(),
            locks: None,
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
    Some(report)
}

/// A step's attempt began at `at`: the one before it, left open, was retried automatically.
fn started(line: &mut StepLine, attempt: u32, at: String) {
    line.started = Some(at.clone());
    line.attempts = line.attempts.max(attempt);
    line.state = "running (never finished: interrupted)".into();
    if let Some(last) = line.history.last_mut()
        && last.outcome.is_empty()
    {
        last.outcome = "failed, tried again automatically (`retries`)".into();
    }
    line.history.push(Attempt {
        attempt,
        started: at,
        outcome: String::new(),
        duration_ms: None,
        detail: None,
        then: None,
    });
}

/// A step's attempt ended `state` (a skip that ran nothing is an attempt of its own).
fn finished(line: &mut StepLine, state: &str, duration_ms: u64, detail: &Option<String>) {
    line.state = state.into();
    line.duration_ms = Some(duration_ms);
    line.detail = detail.clone();
    match line.history.last_mut() {
        Some(last) if last.outcome.is_empty() => {
            last.outcome = state.into();
            last.duration_ms = Some(duration_ms);
            last.detail = detail.clone();
        }
        _ => line.history.push(Attempt {
            attempt: line.attempts,
            started: String::new(),
            outcome: state.into(),
            duration_ms: None,
            detail: detail.clone(),
            then: None,
        }),
    }
}

/// A confirmation's decision line; a decision after a failure also goes on the attempt it
/// answered.
fn confirmed(
    steps: &mut Vec<StepLine>,
    kinds: &[(String, String)],
    step: Option<&str>,
    what: &str,
    by: &str,
    target: &Option<String>,
) -> String {
    let after_failure = ["retry", "skip", "abort"].contains(&what) || what.starts_with("rollback ");
    if !after_failure {
        return format!(
            "{what}{} confirmed by {by}{}",
            step.map(|s| format!(" `{s}`")).unwrap_or_default(),
            target
                .as_deref()
                .map(|t| format!(" (target {t})"))
                .unwrap_or_default()
        );
    }
    if let Some(s) = step
        && let Some(last) = step_line(steps, s, kinds).history.last_mut()
    {
        last.then = Some(format!("{what} (decided by {by})"));
    }
    format!(
        "after `{}` failed: {what}, confirmed by {by}",
        step.unwrap_or("?")
    )
}

/// The decision line of a record that is only a decision (a typo, a refusal, a procedure's
/// end, a resume, a note, wrong answers); `None` for the others: what the console showed is in
/// the step logs and the live run, not the change record.
fn decision(entry: &Entry) -> Option<String> {
    Some(match entry {
        Entry::Mistyped { step, by, reason } => mistyped(step, by, reason),
        // Journals from before `mistyped` was recorded wrote a typo as a refusal.
        Entry::Refused {
            step: Some(step),
            by,
            reason,
            ..
        } if reason.starts_with("typed `") => mistyped(step, by, reason),
        Entry::Refused {
            step,
            what,
            by,
            reason,
        } => format!(
            "{what}{} REFUSED ({by}): {reason}",
            step.as_deref()
                .map(|s| format!(" `{s}`"))
                .unwrap_or_default()
        ),
        Entry::ProcedureFinished {
            procedure,
            kind,
            passed,
            message,
        } => {
            let head = format!("{kind} `{procedure}`");
            match (message.starts_with(&head), passed) {
                (true, _) => message.clone(),
                (false, true) => format!("{head} passed: {message}"),
                (false, false) => format!("{head} did not pass: {message}"),
            }
        }
        Entry::RunResumed { user, host, .. } => format!("run resumed by {user}@{host}"),
        Entry::Note { text } => format!("note: {text}"),
        Entry::WrongAnswers {
            step,
            count,
            first_at,
            example,
        } => format!(
            "WRONG ANSWERS: {count} to the rehearsal's traffic {}, the first at {first_at}: {example}",
            step.as_deref().map_or_else(
                || "outside any step".to_string(),
                |s| format!("during `{s}`")
            )
        ),
        Entry::RunStarted { .. }
        | Entry::StepStarted { .. }
        | Entry::StepFinished { .. }
        | Entry::Confirmed { .. }
        | Entry::ProcedureStarted { .. }
        | Entry::RunFinished { .. }
        | Entry::Checklist { .. }
        | Entry::Asked { .. }
        | Entry::Output { .. }
        | Entry::Dashboard { .. } => return None,
    })
}

fn step_line<'a>(
    steps: &'a mut Vec<StepLine>,
    id: &str,
    kinds: &[(String, String)],
) -> &'a mut StepLine {
    let pos = match steps.iter().position(|s| s.step == id) {
        Some(pos) => pos,
        None => {
            let part = id
                .split_once('/')
                .map(|(procedure, _)| {
                    kinds
                        .iter()
                        .rev()
                        .find(|(p, _)| p == procedure)
                        .map_or("procedure", |(_, k)| k.as_str())
                })
                .unwrap_or("main");
            steps.push(StepLine {
                step: id.to_string(),
                part: part.to_string(),
                state: "pending".into(),
                started: None,
                duration_ms: None,
                attempts: 0,
                detail: None,
                history: Vec::new(),
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
        ("Mode", report.mode.name()),
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
        "\n## Steps\n\n| Step | Part | Outcome | Started | Took | Attempts | Detail |\n|---|---|---|---|---|---|---|"
    );
    for s in &report.steps {
        let failed = s
            .history
            .iter()
            .filter(|a| a.outcome.starts_with("failed"))
            .count();
        let attempts = match failed {
            0 => s.attempts.to_string(),
            n => format!("{} ({n} failed)", s.attempts),
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {attempts} | {} |",
            s.step,
            s.part,
            s.state,
            s.started.as_deref().unwrap_or(""),
            seconds(s.duration_ms),
            escape(s.detail.as_deref().unwrap_or(""))
        );
    }
    let troubled: Vec<&StepLine> = report
        .steps
        .iter()
        .filter(|s| s.history.len() > 1 || s.history.iter().any(|a| a.outcome != "passed"))
        .collect();
    if !troubled.is_empty() {
        let _ = writeln!(md, "\n## Attempts\n");
        for s in troubled {
            let _ = writeln!(md, "`{}`:\n", s.step);
            for a in &s.history {
                let _ = writeln!(
                    md,
                    "- attempt {} {}— **{}** {}{}{}",
                    a.attempt,
                    if a.started.is_empty() {
                        String::new()
                    } else {
                        format!("at {} ", a.started)
                    },
                    a.outcome,
                    seconds(a.duration_ms),
                    a.detail
                        .as_deref()
                        .map(|d| format!(": {}", escape(d)))
                        .unwrap_or_default(),
                    a.then
                        .as_deref()
                        .map(|t| format!(" → then {t}"))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(md);
        }
    }
    let _ = writeln!(md, "\n## Confirmations and decisions\n");
    if report.decisions.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for (at, text) in &report.decisions {
        let _ = writeln!(md, "- {at} — {}", escape(text));
    }
    if let Some(locks) = &report.locks {
        locks_section(&mut md, locks);
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(md, "\n## Journal warnings\n");
        for w in &report.warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    md
}

/// "Locks taken (rehearsal)": one line per step, then every table it locked.
fn locks_section(md: &mut String, locks: &crate::lockprofile::LockProfile) {
    let _ = writeln!(
        md,
        "\n## Locks taken (rehearsal)\n\n`pg_locks` read every {} ms ({} reads); durations are \
         known to within that.\n",
        locks.interval_ms, locks.samples
    );
    if locks.steps.is_empty() {
        let _ = writeln!(md, "No step took a table lock that was seen.");
    }
    for step in &locks.steps {
        let _ = writeln!(md, "- `{}`: {}", step.step, step.summary());
        for t in &step.tables {
            let _ = writeln!(
                md,
                "  - {} {} for {} ms, {} waiter(s)",
                t.table, t.mode, t.held_ms, t.waiters
            );
        }
    }
    for (step, ms) in &locks.unseen {
        let _ = writeln!(md, "- `{step}`: {}", locks.unseen_text(*ms));
    }
}

/// A typo in a typed confirmation: not a refusal, the question came back.
fn mistyped(step: &str, by: &str, reason: &str) -> String {
    format!("`{step}`: confirmation mistyped by {by} ({reason}): nothing ran, asked again")
}

fn seconds(ms: Option<u64>) -> String {
    ms.map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
