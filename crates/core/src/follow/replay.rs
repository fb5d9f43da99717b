//! From journal records back to the engine's events: what `golive attach` feeds the console and
//! prints with `--headless`. The journal holds the checklist, the questions, the output and the
//! dashboard snapshots as the console showed them; step states, procedures, notes, wrong answers
//! and the end are rebuilt from their own records the way the engine sent them.

use std::collections::HashMap;

use crate::events::{
    EngineEvent, NoticeLevel, Outcome, ProcedureInfo, QuestionKind, StepIdx, StepState,
};
use crate::journal::{Entry, Record};

/// The process driving the run, as its last `run_started` / `run_resumed` record says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Driver {
    /// OS user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

/// The state needed to turn records into events.
#[derive(Debug, Default)]
pub struct Replay {
    index: HashMap<String, StepIdx>,
    procedures: Vec<ProcedureInfo>,
    states: Vec<StepState>,
    attempts: Vec<u32>,
    wrong_total: u64,
    /// Notes written before the checklist (the engine shows them after it).
    early: Option<Vec<String>>,
    /// Who drives the run.
    pub driver: Option<Driver>,
    /// How the run ended, once its `run_finished` came (cleared by a later `run_resumed`).
    pub finished: Option<Outcome>,
}

impl Replay {
    /// The events `record` stands for, in the order the engine sent them.
    pub fn apply(&mut self, record: &Record) -> Vec<EngineEvent> {
        match &record.entry {
            Entry::RunStarted { .. } | Entry::RunResumed { .. } => {
                self.driver = driver_of(&record.entry);
                self.finished = None;
                self.early = Some(Vec::new());
                Vec::new()
            }
            Entry::Checklist { run } => {
                self.index = run
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        (
                            crate::runbook::qualified_id(s.procedure.as_deref(), &s.id),
                            i,
                        )
                    })
                    .collect();
                self.states = run.steps.iter().map(|s| s.state).collect();
                self.attempts = vec![0; run.steps.len()];
                self.procedures.clone_from(&run.procedures);
                let notes = self.early.take().unwrap_or_default();
                std::iter::once(EngineEvent::Started { run: run.clone() })
                    .chain(notes.into_iter().map(notice))
                    .collect()
            }
            Entry::Note { text } => match &mut self.early {
                Some(early) => {
                    early.push(text.clone());
                    Vec::new()
                }
                None => vec![notice(text.clone())],
            },
            Entry::StepStarted { step, attempt } => self
                .state(step, StepState::Running, Some(*attempt), None, None)
                .into_iter()
                .collect(),
            Entry::StepFinished {
                step,
                state,
                duration_ms,
                detail,
            } => self
                .state(
                    step,
                    *state,
                    None,
                    Some(std::time::Duration::from_millis(*duration_ms)),
                    detail.clone(),
                )
                .into_iter()
                .collect(),
            Entry::Asked { question } => {
                let mut events = Vec::new();
                if let Some(idx) = question.step
                    && self.states.get(idx) != Some(&StepState::AwaitingConfirmation)
                {
                    let attempt = match question.kind {
                        QuestionKind::Inconclusive { .. } => self.attempts[idx],
                        _ => 0,
                    };
                    if matches!(
                        question.kind,
                        QuestionKind::Destructive
                            | QuestionKind::Gate
                            | QuestionKind::Inconclusive { .. }
                    ) {
                        self.states[idx] = StepState::AwaitingConfirmation;
                        events.push(EngineEvent::StepState {
                            step: idx,
                            state: StepState::AwaitingConfirmation,
                            attempt,
                            elapsed: None,
                            detail: None,
                        });
                    }
                }
                events.push(EngineEvent::Ask {
                    question: question.clone(),
                });
                events
            }
            Entry::Output { step, chunks } => self
                .index
                .get(step)
                .map(|&idx| EngineEvent::Output {
                    step: idx,
                    chunks: chunks.clone(),
                })
                .into_iter()
                .collect(),
            Entry::Dashboard { step, snapshot } => self
                .index
                .get(step)
                .map(|&idx| EngineEvent::Monitor {
                    step: idx,
                    snapshot: snapshot.clone(),
                })
                .into_iter()
                .collect(),
            Entry::ProcedureStarted { procedure, .. } => self.procedure_started(procedure),
            Entry::WrongAnswers { count, example, .. } => {
                self.wrong_total += count;
                vec![EngineEvent::WrongAnswers {
                    new: *count,
                    total: self.wrong_total,
                    example: example.clone(),
                }]
            }
            Entry::RunFinished { outcome, message } => {
                self.finished = Some(*outcome);
                vec![EngineEvent::Finished {
                    outcome: *outcome,
                    message: message.clone(),
                }]
            }
            Entry::Confirmed { .. }
            | Entry::Refused { .. }
            | Entry::Mistyped { .. }
            | Entry::ProcedureFinished { .. } => Vec::new(),
        }
    }

    fn state(
        &mut self,
        step: &str,
        state: StepState,
        attempt: Option<u32>,
        elapsed: Option<std::time::Duration>,
        detail: Option<String>,
    ) -> Option<EngineEvent> {
        let idx = *self.index.get(step)?;
        if let Some(a) = attempt {
            self.attempts[idx] = a;
        }
        self.states[idx] = state;
        Some(EngineEvent::StepState {
            step: idx,
            state,
            attempt: self.attempts[idx],
            elapsed,
            detail,
        })
    }

    /// The engine's notice, then every step of the procedure back to pending.
    fn procedure_started(&mut self, id: &str) -> Vec<EngineEvent> {
        let Some(procedure) = self.procedures.iter().find(|p| p.id == id).cloned() else {
            return Vec::new();
        };
        let mut events = vec![EngineEvent::Notice {
            level: NoticeLevel::Warn,
            text: format!("running procedure `{id}`: {}", procedure.title),
        }];
        for idx in procedure.steps {
            if let Some(state) = self.states.get_mut(idx) {
                *state = StepState::Pending;
                self.attempts[idx] = 0;
                events.push(EngineEvent::StepState {
                    step: idx,
                    state: StepState::Pending,
                    attempt: 0,
                    elapsed: None,
                    detail: None,
                });
            }
        }
        events
    }
}

/// The driver a `run_started` or `run_resumed` record names.
pub fn driver_of(entry: &Entry) -> Option<Driver> {
    match entry {
        Entry::RunStarted {
            user, host, pid, ..
        }
        | Entry::RunResumed {
            user, host, pid, ..
        } => Some(Driver {
            user: user.clone(),
            host: host.clone(),
            pid: *pid,
        }),
        _ => None,
    }
}

/// A journaled note as the engine showed it (its level is not journaled).
fn notice(text: String) -> EngineEvent {
    EngineEvent::Notice {
        level: NoticeLevel::Info,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OutputChunk, ProcedureInfo, Question, RunInfo, StepInfo, Stream};

    fn step(id: &str, procedure: Option<&str>) -> StepInfo {
        StepInfo {
            id: id.into(),
            title: id.into(),
            kind: "shell".into(),
            destructive: false,
            procedure: procedure.map(str::to_string),
            description: None,
            preview: String::new(),
            target: None,
            state: StepState::Pending,
            expected: None,
        }
    }

    fn record(entry: Entry) -> Record {
        Record {
            at: "2026-11-29T22:00:00.000Z".into(),
            entry,
        }
    }

    fn kinds(events: &[EngineEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| serde_json::to_value(e).expect("json")["event"].to_string())
            .collect()
    }

    #[test]
    fn records_become_the_events_the_engine_sent_in_its_order() {
        let run = RunInfo {
            run_id: "r".into(),
            run_dir: "/tmp/r".into(),
            runbook: "rb".into(),
            environment: None,
            targets: Vec::new(),
            steps: vec![step("a", None), step("b", None), step("undo", Some("back"))],
            procedures: vec![ProcedureInfo {
                id: "back".into(),
                title: "Put it back".into(),
                section: crate::events::ProcedureKind::Rollback,
                description: None,
                steps: vec![2],
                expected: None,
            }],
            resumed: false,
            expected_total: None,
        };
        let question = Question {
            id: 1,
            step: Some(1),
            kind: QuestionKind::Destructive,
            prompt: "run b?".into(),
            detail: String::new(),
            expect_typed: Some("db".into()),
        };
        let records = [
            Entry::RunStarted {
                run_id: "r".into(),
                runbook: "rb".into(),
                runbook_path: "/rb".into(),
                runbook_sha256: String::new(),
                golive_version: String::new(),
                mode: crate::events::RunMode::Run,
                user: "alice".into(),
                host: "h".into(),
                pid: 42,
                steps: vec!["a".into(), "b".into()],
            },
            Entry::Note {
                text: "lock taken".into(),
            },
            Entry::Checklist { run: Box::new(run) },
            Entry::StepStarted {
                step: "a".into(),
                attempt: 1,
            },
            Entry::Output {
                step: "a".into(),
                chunks: vec![OutputChunk {
                    stream: Stream::Stdout,
                    text: "hi".into(),
                }],
            },
            Entry::StepFinished {
                step: "a".into(),
                state: StepState::Passed,
                duration_ms: 5,
                detail: None,
            },
            Entry::Asked { question },
            Entry::ProcedureStarted {
                procedure: "back".into(),
                by: "alice".into(),
                kind: Some(crate::events::ProcedureKind::Rollback),
            },
            Entry::RunFinished {
                outcome: Outcome::RolledBack,
                message: "rolled back".into(),
            },
        ];
        let mut replay = Replay::default();
        let events: Vec<EngineEvent> = records
            .into_iter()
            .flat_map(|e| replay.apply(&record(e)))
            .collect();
        assert_eq!(
            kinds(&events),
            [
                "started",
                "notice",
                "step_state",
                "output",
                "step_state",
                "step_state",
                "ask",
                "notice",
                "step_state",
                "finished"
            ]
            .map(|k| format!("\"{k}\""))
        );
        assert!(matches!(
            events[5],
            EngineEvent::StepState {
                step: 1,
                state: StepState::AwaitingConfirmation,
                ..
            }
        ));
        assert!(matches!(
            events[8],
            EngineEvent::StepState {
                step: 2,
                state: StepState::Pending,
                ..
            }
        ));
        assert_eq!(replay.driver.as_ref().map(|d| d.pid), Some(42));
        assert_eq!(replay.finished, Some(Outcome::RolledBack));
    }
}
