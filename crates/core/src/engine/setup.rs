//! Everything before the first step: the run directory and journal (new or resumed), the go-live
//! lock, the flattened step list with previews and expected durations, and provenance notes.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::runner::{Planned, Runner};
use super::{EngineConfig, EngineError, Selection};
use crate::events::{
    Command, EngineEvent, NoticeLevel, ProcedureInfo, RunInfo, StepInfo, StepState,
};
use crate::events::{ProcedureKind, RunMode};
use crate::journal::{Entry, Journal, JournalRead, RunDirs, new_run_id};
use crate::pg::Dsn;
use crate::runbook::{Runbook, Vars};
use crate::{lock, plan, provenance};

/// Build the runner: nothing has run yet when this returns.
pub(super) async fn prepare(
    config: EngineConfig,
    events: mpsc::Sender<EngineEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
) -> Result<Runner, EngineError> {
    let EngineConfig {
        runbook,
        vars,
        selection,
        resume,
        mode,
        approved_on_command_line,
        pace,
        place,
        halt,
    } = config;
    check_selection(&runbook, &selection)?;
    let dirs = RunDirs::for_runbook(&runbook.path);
    let (run_dir, previous, run_id) = run_place(place.as_ref(), resume, &dirs, &runbook.path)?;

    let lock = match &runbook.lock {
        Some(var) => Some(lock::acquire(vars.get(var).unwrap_or_default(), &run_id).await?),
        None => None,
    };
    let mut journal = open_journal(&run_dir, &runbook, &vars, &run_id, &events)?;
    let mut notices = record_start(
        &mut journal,
        previous.as_ref(),
        &runbook,
        &dirs,
        &run_id,
        mode,
    )?;
    if let Some(guard) = &lock {
        notices.push((
            NoticeLevel::Info,
            format!(
                "go-live lock taken on {} by {}",
                guard.target(),
                guard.holder()
            ),
        ));
    }

    let (expected, main_expected) = expected_durations(&dirs, mode, &runbook.sha256, &mut notices);
    for (_, text) in &notices {
        journal.append(Entry::Note { text: text.clone() })?;
    }

    let prior = previous.as_ref().map(|j| j.steps()).unwrap_or_default();
    let (planned, procedures) = flatten(&runbook, &vars, &prior, &expected);
    let expected_total = main_expected.then(|| {
        planned
            .iter()
            .filter(|p| p.info.procedure.is_none())
            .filter_map(|p| p.info.expected)
            .sum()
    });
    let info = RunInfo {
        run_id,
        run_dir: run_dir.clone(),
        runbook: runbook.name.clone(),
        environment: runbook.environment.clone(),
        targets: targets(&runbook, &vars),
        steps: planned.iter().map(|p| p.info.clone()).collect(),
        procedures,
        resumed: previous.is_some(),
        expected_total,
    };
    Ok(Runner::new(super::runner::Parts {
        runbook,
        vars,
        planned,
        info,
        journal,
        events,
        commands,
        selection,
        lock,
        notices,
        approved_on_command_line,
        rehearsal: mode == RunMode::Rehearse,
        pace,
        halt,
    }))
}

/// Open the run's journal, tapped into the registry when the runbook keeps one, and its
/// `steps/` directory for the step logs.
fn open_journal(
    run_dir: &Path,
    runbook: &Runbook,
    vars: &Vars,
    run_id: &str,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<Journal, EngineError> {
    let mut journal = Journal::open(run_dir)?;
    if let (Some(var), true) = (&runbook.lock, runbook.registry) {
        let url = vars.get(var).unwrap_or_default();
        let redactor = vars.redactor().clone();
        let tap = crate::registry::spawn(url, run_id, journal.path(), redactor, events.downgrade());
        journal.add_tap(tap);
    }
    std::fs::create_dir_all(run_dir.join("steps")).map_err(|source| {
        crate::journal::JournalError {
            path: run_dir.join("steps"),
            source,
        }
    })?;
    Ok(journal)
}

/// Journal how the run begins: started, or resumed after `previous` (with what changed since);
/// the notices to show.
fn record_start(
    journal: &mut Journal,
    previous: Option<&JournalRead>,
    runbook: &Runbook,
    dirs: &RunDirs,
    run_id: &str,
    mode: RunMode,
) -> Result<Vec<(NoticeLevel, String)>, EngineError> {
    let mut notices = Vec::new();
    let Some(prev) = previous else {
        journal.append(Entry::RunStarted {
            run_id: run_id.to_string(),
            runbook: runbook.name.clone(),
            runbook_path: dirs.runbook_path().to_string(),
            runbook_sha256: runbook.sha256.clone(),
            golive_version: provenance::VERSION.to_string(),
            mode,
            user: crate::os::user_name(),
            host: crate::os::host_name(),
            pid: std::process::id(),
            steps: runbook.steps.iter().map(|s| s.id.clone()).collect(),
        })?;
        return Ok(notices);
    };
    if let Some(line) = prev.torn_line {
        notices.push((
            NoticeLevel::Warn,
            format!("the journal's last line ({line}) was torn by a crash; it was ignored"),
        ));
    }
    journal.append(Entry::RunResumed {
        user: crate::os::user_name(),
        host: crate::os::host_name(),
        pid: std::process::id(),
        runbook_sha256: runbook.sha256.clone(),
    })?;
    if prev
        .started()
        .is_some_and(|start| start.runbook_sha256 != runbook.sha256)
    {
        notices.push((
            NoticeLevel::Warn,
            "the runbook changed since this run started; finished steps stay finished".to_string(),
        ));
    }
    Ok(notices)
}

/// Where the run lives and what it resumes: a fleet target's given place, else a new run
/// directory next to the runbook, or (`resume`) its newest unfinished run; and the run's id.
fn run_place(
    place: Option<&super::RunPlace>,
    resume: bool,
    dirs: &RunDirs,
    runbook_path: &std::path::Path,
) -> Result<(std::path::PathBuf, Option<JournalRead>, String), EngineError> {
    let (run_dir, previous) = match (place, resume) {
        (Some(place), true) => {
            let journal = crate::journal::read_journal(&place.dir.join("journal.jsonl"))
                .map_err(|_| EngineError::NothingToResume(place.dir.display().to_string()))?;
            (place.dir.clone(), Some(journal))
        }
        (Some(place), false) => (place.dir.clone(), None),
        (None, true) => {
            let (dir, journal) = dirs
                .latest_unfinished()
                .ok_or_else(|| EngineError::NothingToResume(runbook_path.display().to_string()))?;
            (dir, Some(journal))
        }
        (None, false) => (dirs.dir(&new_run_id()), None),
    };
    let run_id = match place {
        Some(place) => place.id.clone(),
        None => run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    Ok((run_dir, previous, run_id))
}

/// Each step's expected duration from the newest passed rehearsal, then each procedure step's
/// from its drill; whether the main sequence has any; and, for a go-live, a notice when the
/// rehearsal ran another runbook or there was none.
fn expected_durations(
    dirs: &RunDirs,
    mode: RunMode,
    sha256: &str,
    notices: &mut Vec<(NoticeLevel, String)>,
) -> (HashMap<String, Duration>, bool) {
    let rehearsal = dirs.latest_rehearsal();
    let mut expected: HashMap<String, Duration> = rehearsal
        .as_ref()
        .map(|(_, j)| {
            j.steps()
                .into_iter()
                .filter_map(|(id, s)| Some((id, Duration::from_millis(s.duration_ms?))))
                .collect()
        })
        .unwrap_or_default();
    let main_expected = !expected.is_empty();
    for (id, took) in dirs.drilled() {
        expected.entry(id).or_insert(took);
    }
    if mode == RunMode::Run {
        match &rehearsal {
            Some((_, j))
                if j.started()
                    .is_some_and(|start| start.runbook_sha256 != sha256) =>
            {
                notices.push((
                    NoticeLevel::Warn,
                    "the runbook changed since its last rehearsal: what runs now was not rehearsed"
                        .into(),
                ))
            }
            None => notices.push((
                NoticeLevel::Info,
                "no passed rehearsal of this runbook on record (`golive rehearse` first)".into(),
            )),
            _ => {}
        }
    }
    (expected, main_expected)
}

/// The main sequence, the rollbacks and the diagnostics as one list of planned steps (a resumed
/// run's finished main steps keep their state; a step that was running is interrupted), and the
/// procedures over it.
fn flatten(
    runbook: &crate::runbook::Runbook,
    vars: &crate::runbook::Vars,
    prior: &HashMap<String, crate::journal::StepRecord>,
    expected: &HashMap<String, Duration>,
) -> (Vec<Planned>, Vec<ProcedureInfo>) {
    let mut planned = Vec::new();
    let mut procedures = Vec::new();
    let sequences = std::iter::once((None, &runbook.steps)).chain(
        runbook
            .rollbacks
            .iter()
            .map(|p| (Some((p, ProcedureKind::Rollback)), &p.steps))
            .chain(
                runbook
                    .diagnostics
                    .iter()
                    .map(|p| (Some((p, ProcedureKind::Diagnostic)), &p.steps)),
            ),
    );
    for (procedure, steps) in sequences {
        let first = planned.len();
        for step in steps {
            let qualified =
                crate::runbook::qualified_id(procedure.map(|(p, _)| p.id.as_str()), &step.id);
            let state = match prior.get(&qualified).map(|r| r.state) {
                Some(StepState::Running) => StepState::Interrupted,
                Some(s @ (StepState::Passed | StepState::Skipped)) if procedure.is_none() => s,
                Some(StepState::Interrupted) if procedure.is_none() => StepState::Interrupted,
                _ => StepState::Pending,
            };
            let info = StepInfo {
                id: step.id.clone(),
                title: step.title.clone(),
                kind: step.kind_name().to_string(),
                destructive: step.destructive,
                procedure: procedure.map(|(p, _)| p.id.clone()),
                description: step.description.clone(),
                preview: plan::preview(step, runbook, vars),
                target: plan::target(step, runbook, vars).map(|t| t.shown),
                state,
                expected: watch_length(step, vars).max(expected.get(&qualified).copied()),
            };
            planned.push(Planned {
                step: step.clone(),
                qualified,
                info,
            });
        }
        if let Some((p, section)) = procedure {
            let steps: Vec<usize> = (first..planned.len()).collect();
            let expected = steps
                .iter()
                .map(|&i| planned[i].info.expected)
                .sum::<Option<Duration>>();
            procedures.push(ProcedureInfo {
                id: p.id.clone(),
                title: p.title.clone(),
                section,
                description: p.description.clone(),
                steps,
                expected,
            });
        }
    }
    (planned, procedures)
}

fn check_selection(
    runbook: &crate::runbook::Runbook,
    selection: &Selection,
) -> Result<(), EngineError> {
    let (what, id, known): (&'static str, &str, Vec<&str>) = match selection {
        Selection::All => return Ok(()),
        Selection::From(id) | Selection::Only(id) => (
            "step",
            id,
            runbook.steps.iter().map(|s| s.id.as_str()).collect(),
        ),
        Selection::Procedure(id) => (
            "procedure",
            id,
            runbook
                .rollbacks
                .iter()
                .chain(&runbook.diagnostics)
                .map(|p| p.id.as_str())
                .collect(),
        ),
    };
    if known.contains(&id) {
        return Ok(());
    }
    Err(EngineError::Unknown {
        what,
        id: id.to_string(),
        known: known.join(", "),
    })
}

/// What the header shows: each database variable's target and the app URL, redacted.
fn targets(
    runbook: &crate::runbook::Runbook,
    vars: &crate::runbook::Vars,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for decl in &runbook.vars {
        let Some(value) = vars.get(&decl.name).filter(|v| !v.is_empty()) else {
            continue;
        };
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            if let Ok(dsn) = Dsn::parse(value) {
                out.push((decl.name.clone(), dsn.target()));
            }
        } else if decl.name == "APP_URL" {
            out.push((
                decl.name.clone(),
                vars.redactor().redact(value).into_owned(),
            ));
        }
    }
    out
}

/// A monitor step lasts its `duration` unless it breaches: the time left counts the whole watch,
/// even when a rehearsal watched for less.
fn watch_length(step: &crate::runbook::Step, vars: &crate::runbook::Vars) -> Option<Duration> {
    match &step.kind {
        crate::runbook::StepKind::Monitor(spec) => {
            humantime::parse_duration(vars.interpolate(&spec.duration).trim()).ok()
        }
        _ => None,
    }
}
