//! Questions to the operator: a destructive step's typed confirmation, a gate, re-running an
//! interrupted step, and the wait for an answer (during which a procedure may be started or the
//! run interrupted). Every answer is journaled, refusals included.

use super::runner::{Runner, SeqEnd};
use crate::events::{
    Answer, Command, EngineEvent, Outcome, Question, QuestionKind, StepIdx, StepState,
};
use crate::exec::StepError;
use crate::journal::Entry;
use crate::plan;
use crate::runbook::StepKind;

/// What came back while waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// The answer to the question.
    Answer(Answer),
    /// The operator started a procedure instead.
    Procedure(String),
    /// The run is to stop (or the front end went away).
    Interrupt,
}

/// A yes to a question, as the journal records it.
struct Yes {
    /// What was typed (checked against the text the question expects).
    typed: String,
    /// Who confirmed, and how.
    by: String,
    /// The fleet wave it was confirmed for, if any.
    for_wave: Option<String>,
}

impl Runner {
    /// Ask, and wait for the answer or a command that overrides it.
    pub(super) async fn ask(
        &mut self,
        step: Option<StepIdx>,
        kind: QuestionKind,
        prompt: String,
        detail: String,
        expect_typed: Option<String>,
    ) -> Reply {
        let id = self.next_question;
        self.next_question += 1;
        let question = Question {
            id,
            step,
            kind,
            prompt,
            detail,
            expect_typed,
        };
        let _ = self.record(Entry::Asked {
            question: question.clone(),
        });
        self.emit(EngineEvent::Ask {
            question: question.clone(),
        })
        .await;
        loop {
            match self.commands.recv().await {
                Some(Command::Answer { id: got, answer }) if got == id => {
                    return Reply::Answer(answer);
                }
                Some(Command::Answer { .. }) => {}
                // A diagnostic is read-only: it runs now, beside whatever is asked, and the same
                // question comes back afterwards (a failed step can still be retried, skipped or
                // rolled back).
                Some(Command::StartProcedure(p)) if self.is_diagnostic(&p) => {
                    Box::pin(self.diagnostic(&p)).await;
                    let _ = self.record(Entry::Asked {
                        question: question.clone(),
                    });
                    self.emit(EngineEvent::Ask {
                        question: question.clone(),
                    })
                    .await;
                }
                Some(Command::StartProcedure(p)) => return Reply::Procedure(p),
                Some(Command::Interrupt) | None => return Reply::Interrupt,
            }
        }
    }

    /// Before a destructive step or a gate: the confirmation, journaled either way.
    pub(super) async fn confirm_before(&mut self, idx: StepIdx) -> Result<(), SeqEnd> {
        let planned = &self.planned[idx];
        let qualified = planned.qualified.clone();
        let (kind, prompt, expect, what, target) = match &planned.step.kind {
            StepKind::Gate(_) => (
                QuestionKind::Gate,
                format!("Manual step `{qualified}`: {}. Done?", planned.step.title),
                None,
                "gate",
                None,
            ),
            _ if planned.step.destructive => {
                let target = plan::target(&planned.step, &self.runbook, &self.vars);
                let (shown, typed) = match &target {
                    Some(t) => (t.shown.clone(), t.typed.clone()),
                    None => ("this environment".to_string(), planned.step.id.clone()),
                };
                (
                    QuestionKind::Destructive,
                    format!(
                        "DESTRUCTIVE: `{qualified}` ({}) will run on {shown}. Type `{typed}` to confirm.",
                        planned.step.title
                    ),
                    Some(typed),
                    "destructive step",
                    Some(shown),
                )
            }
            _ => return Ok(()),
        };
        let detail = planned.info.preview.clone();
        self.set_state(idx, StepState::AwaitingConfirmation, 0, None, None)
            .await;
        loop {
            let reply = self
                .ask(
                    Some(idx),
                    kind.clone(),
                    prompt.clone(),
                    detail.clone(),
                    expect.clone(),
                )
                .await;
            let yes = self.yes(&reply, expect.is_some());
            match (reply, yes) {
                (_, Some(yes)) if expect.as_ref().is_none_or(|e| e == &yes.typed) => {
                    self.record(Entry::Confirmed {
                        step: Some(qualified),
                        what: what.to_string(),
                        by: yes.by,
                        target,
                        for_wave: yes.for_wave,
                    })
                    .map_err(|e| SeqEnd::Stop(Outcome::Failed, e))?;
                    return Ok(());
                }
                (_, Some(yes)) => {
                    let reason = format!(
                        "typed `{}`, which is not `{}`",
                        yes.typed,
                        expect.clone().unwrap_or_default()
                    );
                    self.record(Entry::Mistyped {
                        step: qualified.clone(),
                        by: self.operator.clone(),
                        reason: reason.clone(),
                    })
                    .map_err(|e| SeqEnd::Stop(Outcome::Failed, e))?;
                    // No notice: it would stay under the header for the rest of the run. The
                    // console says it in its footer, and the question comes back at once.
                }
                (Reply::Answer(_), None) => {
                    self.refuse(&qualified, what, "refused by the operator")?;
                    self.set_state(idx, StepState::Pending, 0, None, None).await;
                    return Err(SeqEnd::Stop(
                        Outcome::Refused,
                        format!("`{qualified}` was not confirmed, so it did not run"),
                    ));
                }
                (Reply::Procedure(p), None) => {
                    self.set_state(idx, StepState::Pending, 0, None, None).await;
                    return Err(SeqEnd::Procedure(p));
                }
                (Reply::Interrupt, None) => {
                    self.set_state(idx, StepState::Pending, 0, None, None).await;
                    return Err(SeqEnd::Stop(
                        Outcome::Interrupted,
                        format!(
                            "stopped before `{qualified}`; continue with `golive run --resume`"
                        ),
                    ));
                }
            }
        }
    }

    /// A step interrupted in an earlier process runs again only when asked.
    pub(super) async fn confirm_rerun(&mut self, idx: StepIdx) -> Result<(), SeqEnd> {
        let qualified = self.planned[idx].qualified.clone();
        if let Some(pgid) = crate::exec::shell::leftover_group(&self.step_file(idx, "pid")) {
            let reason = format!(
                "processes of the interrupted `{qualified}` are still running (process group \
                 {pgid}); wait for them to finish or stop them (`kill -TERM -{pgid}`), then resume"
            );
            self.refuse(&qualified, "re-run interrupted step", &reason)?;
            return Err(SeqEnd::Stop(Outcome::Refused, reason));
        }
        let reply = self
            .ask(
                Some(idx),
                QuestionKind::RerunInterrupted,
                format!(
                    "`{qualified}` was interrupted in an earlier run and may have partly run. \
                     Run it again?"
                ),
                self.planned[idx].info.preview.clone(),
                None,
            )
            .await;
        let yes = self.yes(&reply, false);
        if let Some(yes) = yes {
            self.record(Entry::Confirmed {
                step: Some(qualified),
                what: "re-run interrupted step".into(),
                by: yes.by,
                target: None,
                for_wave: yes.for_wave,
            })
            .map_err(|e| SeqEnd::Stop(Outcome::Failed, e))?;
            return Ok(());
        }
        match reply {
            Reply::Procedure(p) => Err(SeqEnd::Procedure(p)),
            Reply::Interrupt => Err(SeqEnd::Stop(
                Outcome::Interrupted,
                format!("stopped before re-running `{qualified}`"),
            )),
            Reply::Answer(_) => {
                self.refuse(
                    &qualified,
                    "re-run interrupted step",
                    "refused by the operator",
                )?;
                Err(SeqEnd::Stop(
                    Outcome::Refused,
                    format!(
                        "`{qualified}` was interrupted earlier and not confirmed to run again; \
                         check what it did, then resume and confirm (headless: --approve {})",
                        self.planned[idx].step.id
                    ),
                ))
            }
        }
    }

    /// After a watch that did not see: ask whether to accept it as passed. Accepted: the step
    /// passes and the acceptance is journaled; declined: it fails (the failure question
    /// follows). A procedure or an interruption asked for meanwhile comes back with it.
    pub(super) async fn accept_inconclusive(
        &mut self,
        idx: StepIdx,
        attempt: u32,
        reason: String,
    ) -> (Result<String, StepError>, Option<Reply>) {
        let qualified = self.planned[idx].qualified.clone();
        let declined = StepError::Failed(format!("the watch was inconclusive: {reason}"));
        self.set_state(idx, StepState::AwaitingConfirmation, attempt, None, None)
            .await;
        let reply = self
            .ask(
                Some(idx),
                QuestionKind::Inconclusive {
                    reason: reason.clone(),
                },
                format!("The watch `{qualified}` was inconclusive: {reason}. Accept it as passed?"),
                "A watch passes only when every source answered and every panel had data.                  Accept only if you have seen by other means that the system is healthy;                  decline to retry the watch, skip it or roll back."
                    .into(),
                None,
            )
            .await;
        let yes = self.yes(&reply, false);
        if let Some(yes) = yes {
            let by = yes.by.clone();
            let entry = Entry::Confirmed {
                step: Some(qualified),
                what: "accept inconclusive watch".into(),
                by: yes.by,
                target: None,
                for_wave: yes.for_wave,
            };
            return match self.record(entry) {
                Ok(()) => (
                    Ok(format!(
                        "inconclusive watch accepted as passed by {by}: {reason}"
                    )),
                    None,
                ),
                Err(e) => (Err(StepError::Failed(e)), None),
            };
        }
        match reply {
            Reply::Answer(_) => {
                let journaled = self.refuse(
                    &qualified,
                    "accept inconclusive watch",
                    "declined by the operator",
                );
                match journaled {
                    Ok(()) => (Err(declined), None),
                    Err(_) => (
                        Err(StepError::Failed(format!(
                            "{declined}; the journal could not record the refusal"
                        ))),
                        None,
                    ),
                }
            }
            other => (Err(declined), Some(other)),
        }
    }

    /// A yes (`None` for any other answer): what was typed, who confirmed and how, and the fleet
    /// wave it was given for. `typed_target`: the question asked to type the target's name.
    fn yes(&self, reply: &Reply, typed_target: bool) -> Option<Yes> {
        let Reply::Answer(answer) = reply else {
            return None;
        };
        match answer {
            Answer::Confirm { typed } => Some(Yes {
                typed: typed.clone(),
                by: self.confirmed_by(typed_target),
                for_wave: None,
            }),
            // Confirmed once for the whole wave: the journal says so, not that this target's
            // name was typed.
            Answer::ConfirmForWave { typed, wave, by } => Some(Yes {
                typed: typed.clone(),
                by: format!("{by}, once for fleet wave `{wave}`"),
                for_wave: Some(wave.clone()),
            }),
            Answer::Refuse | Answer::Decide(_) => None,
        }
    }

    /// Who confirmed, and how: typed by a person, or approved on the command line.
    fn confirmed_by(&self, typed_target: bool) -> String {
        match (self.approved_on_command_line, typed_target) {
            (true, _) => format!("{} (approved on the command line)", self.operator),
            (false, true) => format!("{} (typed the target's name)", self.operator),
            (false, false) => self.operator.clone(),
        }
    }

    fn refuse(&mut self, qualified: &str, what: &str, reason: &str) -> Result<(), SeqEnd> {
        self.record(Entry::Refused {
            step: Some(qualified.to_string()),
            what: what.to_string(),
            by: self.operator.clone(),
            reason: reason.to_string(),
        })
        .map_err(|e| SeqEnd::Stop(Outcome::Failed, e))
    }
}
