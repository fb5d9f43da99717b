//! The run itself: the selected sequence step by step, confirmations before destructive steps and
//! gates, `requires`, retries and timeouts, the failure decision, and procedures.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

mod attempt;
mod diagnostic;
mod failure;
mod shown;

use super::Selection;
use super::ask::Reply;
use crate::events::{Command, EngineEvent, NoticeLevel, Outcome, RunInfo, StepIdx, StepState};
use crate::exec::StepError;
use crate::journal::{Entry, Journal};
use crate::lock::LockGuard;
use crate::pg::Databases;
use crate::runbook::{Runbook, Step, Vars};
use failure::AfterFailure;

/// A step with its place in the run.
pub(super) struct Planned {
    pub step: Step,
    /// `id`, or `procedure/id`.
    pub qualified: String,
    pub info: crate::events::StepInfo,
}

/// What [`super::setup::prepare`] hands over.
pub(super) struct Parts {
    pub runbook: Runbook,
    pub vars: Vars,
    pub planned: Vec<Planned>,
    pub info: RunInfo,
    pub journal: Journal,
    pub events: mpsc::Sender<EngineEvent>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub selection: Selection,
    pub lock: Option<LockGuard>,
    pub notices: Vec<(NoticeLevel, String)>,
    pub approved_on_command_line: bool,
    pub rehearsal: bool,
    pub pace: Duration,
    pub halt: Option<tokio_util::sync::CancellationToken>,
}

/// How a sequence ended.
pub(super) enum SeqEnd {
    Done,
    Stop(Outcome, String),
    Procedure(String),
}

/// The running engine.
pub(super) struct Runner {
    pub(super) runbook: Runbook,
    pub(super) vars: Vars,
    pub(super) planned: Vec<Planned>,
    pub(super) states: Vec<StepState>,
    info: Option<RunInfo>,
    pub(super) journal: Journal,
    pub(super) events: mpsc::Sender<EngineEvent>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    selection: Selection,
    lock: Option<LockGuard>,
    notices: Vec<(NoticeLevel, String)>,
    pub(super) approved_on_command_line: bool,
    pub(super) rehearsal: bool,
    pace: Duration,
    halt: Option<tokio_util::sync::CancellationToken>,
    dbs: Databases,
    pub(super) operator: String,
    pub(super) next_question: u64,
    /// Diagnostics asked for while a step ran: they run when it ends, without stopping it.
    pub(super) queued_diagnostics: Vec<String>,
}

impl Runner {
    pub(super) fn new(parts: Parts) -> Self {
        Runner {
            states: parts.planned.iter().map(|p| p.info.state).collect(),
            runbook: parts.runbook,
            vars: parts.vars,
            planned: parts.planned,
            info: Some(parts.info),
            journal: parts.journal,
            events: parts.events,
            commands: parts.commands,
            selection: parts.selection,
            lock: parts.lock,
            notices: parts.notices,
            approved_on_command_line: parts.approved_on_command_line,
            rehearsal: parts.rehearsal,
            pace: parts.pace,
            halt: parts.halt,
            dbs: Databases::default(),
            operator: crate::os::user_name(),
            next_question: 1,
            queued_diagnostics: Vec::new(),
        }
    }

    /// The run's directory.
    pub(super) fn run_dir(&self) -> std::path::PathBuf {
        self.journal
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    }

    /// A file of the step's own in `steps/`: its log (`log`), its process group (`pid`).
    pub(super) fn step_file(&self, idx: StepIdx, extension: &str) -> std::path::PathBuf {
        let name = self.planned[idx].qualified.replace('/', "--");
        self.run_dir()
            .join("steps")
            .join(format!("{name}.{extension}"))
    }

    /// Run to the end; the outcome is journaled and sent as `Finished`.
    pub(super) async fn run(mut self) -> Outcome {
        if let Some(info) = self.info.take() {
            let _ = self.record(Entry::Checklist {
                run: Box::new(info.clone()),
            });
            self.emit(EngineEvent::Started {
                run: Box::new(info),
            })
            .await;
        }
        for (level, text) in std::mem::take(&mut self.notices) {
            self.emit(EngineEvent::Notice { level, text }).await;
        }
        let main: Vec<StepIdx> = (0..self.planned.len())
            .filter(|&i| self.planned[i].info.procedure.is_none())
            .collect();
        let alone = matches!(self.selection, Selection::Procedure(_));
        let end = match self.selection.clone() {
            Selection::All => self.sequence(main, true).await,
            Selection::From(id) => {
                let start = main
                    .iter()
                    .position(|&i| self.planned[i].step.id == id)
                    .unwrap_or(0);
                self.sequence(main[start..].to_vec(), true).await
            }
            Selection::Only(id) => {
                let only = main
                    .into_iter()
                    .filter(|&i| self.planned[i].step.id == id)
                    .collect();
                self.sequence(only, true).await
            }
            Selection::Procedure(id) => SeqEnd::Procedure(id),
        };
        // Diagnostics run beside the run (see `diagnostic`); only a rollback, or a procedure
        // run on its own, ends up here.
        let (outcome, message) = match end {
            SeqEnd::Done => (Outcome::Passed, "every step passed".to_string()),
            SeqEnd::Stop(outcome, message) => (outcome, message),
            SeqEnd::Procedure(id) => {
                let (outcome, message) = self.procedure(&id).await;
                if !alone && outcome == Outcome::Passed && self.is_diagnostic(&id) {
                    (
                        Outcome::Interrupted,
                        format!("{message}; continue with `golive run --resume`"),
                    )
                } else {
                    (outcome, message)
                }
            }
        };
        let _ = self.journal.append(Entry::RunFinished {
            outcome,
            message: message.clone(),
        });
        self.journal.close_taps(Duration::from_secs(5)).await;
        self.emit(EngineEvent::Finished { outcome, message }).await;
        drop(self.lock.take());
        outcome
    }

    async fn procedure(&mut self, id: &str) -> (Outcome, String) {
        let Some(proc_info) = self.runbook.procedure(id).map(|p| p.title.clone()) else {
            return (Outcome::Failed, format!("no procedure `{id}`"));
        };
        if let Err(e) = self.journal.append(Entry::ProcedureStarted {
            procedure: id.to_string(),
            by: self.operator.clone(),
            kind: Some(self.procedure_kind(id)),
        }) {
            return (Outcome::Failed, e.to_string());
        }
        self.emit(EngineEvent::Notice {
            level: NoticeLevel::Warn,
            text: format!("running procedure `{id}`: {proc_info}"),
        })
        .await;
        let steps: Vec<StepIdx> = (0..self.planned.len())
            .filter(|&i| self.planned[i].info.procedure.as_deref() == Some(id))
            .collect();
        for &i in &steps {
            self.set_state(i, StepState::Pending, 0, None, None).await;
        }
        let is_rollback = self.runbook.rollbacks.iter().any(|p| p.id == id);
        let (outcome, message) = match self.sequence(steps, false).await {
            SeqEnd::Done if is_rollback => (
                Outcome::RolledBack,
                format!("rollback `{id}` completed: {proc_info}"),
            ),
            SeqEnd::Done => (Outcome::Passed, format!("procedure `{id}` passed")),
            SeqEnd::Stop(outcome, message) => (outcome, format!("procedure `{id}`: {message}")),
            SeqEnd::Procedure(other) => (
                Outcome::Aborted,
                format!("procedure `{id}` stopped to start `{other}`; start it on its own"),
            ),
        };
        let _ = self.record(Entry::ProcedureFinished {
            procedure: id.to_string(),
            kind: self.procedure_kind(id),
            passed: matches!(outcome, Outcome::Passed | Outcome::RolledBack),
            message: message.clone(),
        });
        (outcome, message)
    }

    /// Run `steps` in order. `main` offers the rollbacks on failure.
    async fn sequence(&mut self, steps: Vec<StepIdx>, main: bool) -> SeqEnd {
        for idx in steps {
            if matches!(self.states[idx], StepState::Passed | StepState::Skipped) {
                continue;
            }
            if main && self.halt.as_ref().is_some_and(|h| h.is_cancelled()) {
                return SeqEnd::Stop(
                    Outcome::Interrupted,
                    format!(
                        "halted before `{}`: another target of the fleet did not pass; continue \
                         with `golive run --targets … --resume`",
                        self.planned[idx].qualified
                    ),
                );
            }
            match self.step(idx, main).await {
                SeqEnd::Done => {}
                other => return other,
            }
        }
        SeqEnd::Done
    }

    /// One step: confirm, run (with retries), decide after a failure.
    async fn step(&mut self, idx: StepIdx, main: bool) -> SeqEnd {
        if self.states[idx] == StepState::Interrupted {
            match self.confirm_rerun(idx).await {
                Ok(()) => {}
                Err(end) => return end,
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(unmet) = self.unmet_requirement(idx) {
                self.set_state(idx, StepState::Failed, attempt, None, Some(unmet.clone()))
                    .await;
                match self.after_failure(idx, unmet, main).await {
                    Ok(AfterFailure::Retry) => continue,
                    Ok(AfterFailure::Skipped) => return SeqEnd::Done,
                    Err(end) => return end,
                }
            }
            if let Err(end) = self.confirm_before(idx).await {
                return end;
            }
            if let Some(lock) = &self.lock
                && !lock.is_held()
            {
                let text = format!(
                    "the go-live lock's connection to {} was lost, so the lock may be gone: \
                     stopping before `{}`; check the database, then `golive run --resume`",
                    lock.target(),
                    self.planned[idx].qualified
                );
                return SeqEnd::Stop(Outcome::Interrupted, text);
            }
            let (result, elapsed, interrupt) = match self.attempts(idx, &mut attempt).await {
                Ok(r) => r,
                Err(end) => return end,
            };
            let (result, interrupt) = match (result, interrupt) {
                (Err(StepError::Inconclusive(reason)), None) => {
                    self.accept_inconclusive(idx, attempt, reason).await
                }
                other => other,
            };
            let state = match &result {
                Ok(_) => StepState::Passed,
                Err(StepError::Cancelled) => StepState::Interrupted,
                Err(_) => StepState::Failed,
            };
            let detail = match &result {
                Ok(summary) => summary.clone(),
                Err(e) => e.to_string(),
            };
            if let Err(e) = self.journal.append(Entry::StepFinished {
                step: self.planned[idx].qualified.clone(),
                state,
                duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                detail: Some(detail.clone()),
            }) {
                self.set_state(idx, state, attempt, Some(elapsed), Some(detail))
                    .await;
                return SeqEnd::Stop(Outcome::Failed, e.to_string());
            }
            self.set_state(idx, state, attempt, Some(elapsed), Some(detail.clone()))
                .await;
            let interrupt = match interrupt {
                None => Box::pin(self.queued_diagnostics()).await,
                some => some,
            };
            match (result, interrupt) {
                (_, Some(Reply::Procedure(p))) => return SeqEnd::Procedure(p),
                (_, Some(_)) | (Err(StepError::Cancelled), None) => {
                    return SeqEnd::Stop(
                        Outcome::Interrupted,
                        format!(
                            "interrupted during `{}`; continue with `golive run --resume`",
                            self.planned[idx].qualified
                        ),
                    );
                }
                (Ok(_), None) => {
                    if !self.pace.is_zero() {
                        tokio::time::sleep(self.pace).await;
                    }
                    return SeqEnd::Done;
                }
                (Err(e), None) => match self.after_failure(idx, e.to_string(), main).await {
                    Ok(AfterFailure::Retry) => continue,
                    Ok(AfterFailure::Skipped) => return SeqEnd::Done,
                    Err(end) => return end,
                },
            }
        }
    }

    /// Run the step, retrying up to its `retries`; returns the last result, the time it took and
    /// an interruption that arrived meanwhile.
    async fn attempts(
        &mut self,
        idx: StepIdx,
        attempt: &mut u32,
    ) -> Result<(Result<String, StepError>, Duration, Option<Reply>), SeqEnd> {
        let retries = self.planned[idx].step.retries;
        let delay = self.planned[idx].step.retry_delay;
        let mut tries = 0;
        loop {
            tries += 1;
            if let Err(e) = self.journal.append(Entry::StepStarted {
                step: self.planned[idx].qualified.clone(),
                attempt: *attempt,
            }) {
                return Err(SeqEnd::Stop(
                    Outcome::Failed,
                    format!("{e}; `{}` was not started", self.planned[idx].qualified),
                ));
            }
            self.set_state(idx, StepState::Running, *attempt, None, None)
                .await;
            let started = Instant::now();
            let (result, interrupt) = self.execute(idx).await;
            let elapsed = started.elapsed();
            let retry = matches!(result, Err(StepError::Failed(_) | StepError::TimedOut(_)))
                && interrupt.is_none()
                && tries <= retries;
            if !retry {
                return Ok((result, elapsed, interrupt));
            }
            let note = format!(
                "{}; trying again in {} (retry {tries} of {retries})",
                result
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                humantime::format_duration(delay)
            );
            let chunks = vec![crate::events::OutputChunk {
                stream: crate::events::Stream::Info,
                text: note,
            }];
            let _ = self.journal.append_shown(Entry::Output {
                step: self.planned[idx].qualified.clone(),
                chunks: chunks.clone(),
            });
            self.emit(EngineEvent::Output { step: idx, chunks }).await;
            tokio::time::sleep(delay).await;
            *attempt += 1;
        }
    }

    /// The first `requires` entry that has not passed in this run.
    fn unmet_requirement(&self, idx: StepIdx) -> Option<String> {
        let planned = &self.planned[idx];
        planned.step.requires.iter().find_map(|req| {
            let pos = self
                .planned
                .iter()
                .position(|p| p.step.id == *req && p.info.procedure == planned.info.procedure)?;
            (self.states[pos] != StepState::Passed).then(|| {
                format!(
                    "requires `{req}` to have passed in this run, but it is {}; run it first \
                     (`--from {req}`)",
                    self.states[pos].label()
                )
            })
        })
    }

    pub(super) fn record(&mut self, entry: Entry) -> Result<(), String> {
        tracing::info!(?entry, "journal");
        self.journal.append(entry).map_err(|e| {
            tracing::error!(error = %e, "journal write failed");
            e.to_string()
        })
    }

    pub(super) async fn set_state(
        &mut self,
        idx: StepIdx,
        state: StepState,
        attempt: u32,
        elapsed: Option<Duration>,
        detail: Option<String>,
    ) {
        self.states[idx] = state;
        tracing::info!(
            step = %self.planned[idx].qualified,
            state = state.label(),
            attempt,
            elapsed_ms = elapsed.map(|d| d.as_millis() as u64),
            detail = detail.as_deref().unwrap_or(""),
            "step state"
        );
        self.emit(EngineEvent::StepState {
            step: idx,
            state,
            attempt,
            elapsed,
            detail,
        })
        .await;
    }

    pub(super) async fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event).await;
    }
}
