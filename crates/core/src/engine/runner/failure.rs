//! The failure decision: retry, skip, abort or roll back, asked of the operator and journaled.

use super::{Runner, SeqEnd};
use crate::engine::ask::Reply;
use crate::events::{Answer, Decision, Outcome, QuestionKind, StepIdx, StepState};
use crate::journal::Entry;

/// What the sequence does after a failure the operator decided on, when it goes on at all.
pub(super) enum AfterFailure {
    /// Run the step again.
    Retry,
    /// The step was skipped: go on with the next.
    Skipped,
}

impl Runner {
    /// After a failure: retry or skip (go on), or `Err` to stop the sequence. `main`: the step is
    /// in the main sequence (only there is a rollback offered).
    pub(super) async fn after_failure(
        &mut self,
        idx: StepIdx,
        error: String,
        main: bool,
    ) -> Result<AfterFailure, SeqEnd> {
        // A rollback undoes a change: none is offered before anything changed the system (a
        // failed snapshot right after the preflight has nothing to restore, and no snapshot to
        // restore from).
        let rollbacks: Vec<String> = if main && self.something_changed(idx) {
            self.runbook
                .rollbacks
                .iter()
                .map(|p| p.id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let qualified = self.planned[idx].qualified.clone();
        let reply = self
            .ask(
                Some(idx),
                QuestionKind::Failure {
                    error: error.clone(),
                    rollbacks,
                },
                format!("`{qualified}` failed: retry, skip, abort or roll back?"),
                error.clone(),
                None,
            )
            .await;
        let decision = match reply {
            Reply::Answer(Answer::Decide(d)) => d,
            Reply::Answer(_) => Decision::Abort,
            Reply::Procedure(p) => Decision::Rollback(p),
            Reply::Interrupt => {
                return Err(SeqEnd::Stop(
                    Outcome::Failed,
                    format!("`{qualified}` failed: {error}"),
                ));
            }
        };
        let what = match &decision {
            Decision::Retry => "retry".to_string(),
            Decision::Skip => "skip".to_string(),
            Decision::Abort => "abort".to_string(),
            Decision::Rollback(p) => format!("rollback {p}"),
        };
        self.record(Entry::Confirmed {
            step: Some(qualified.clone()),
            what,
            by: self.operator.clone(),
            target: None,
            for_wave: None,
        })
        .map_err(|e| SeqEnd::Stop(Outcome::Failed, e))?;
        match decision {
            Decision::Retry => Ok(AfterFailure::Retry),
            Decision::Skip => {
                self.record(Entry::StepFinished {
                    step: qualified,
                    state: StepState::Skipped,
                    duration_ms: 0,
                    detail: Some(format!("skipped by {} after: {error}", self.operator)),
                })
                .map_err(|e| SeqEnd::Stop(Outcome::Failed, e))?;
                self.set_state(idx, StepState::Skipped, 0, None, Some(error))
                    .await;
                Ok(AfterFailure::Skipped)
            }
            Decision::Abort => Err(SeqEnd::Stop(
                Outcome::Failed,
                format!("`{qualified}` failed: {error}"),
            )),
            Decision::Rollback(p) => Err(SeqEnd::Procedure(p)),
        }
    }
}

impl Runner {
    /// Whether a main-sequence step that changes the system (destructive, or feature flags) has
    /// passed in this run, or the failed step `idx` is one and may have partly run.
    fn something_changed(&self, idx: StepIdx) -> bool {
        let changes = |i: usize| {
            let step = &self.planned[i].step;
            step.destructive || matches!(step.kind, crate::runbook::StepKind::Flags(_))
        };
        changes(idx)
            || (0..self.planned.len()).any(|i| {
                self.planned[i].info.procedure.is_none()
                    && self.states[i] == StepState::Passed
                    && changes(i)
            })
    }
}
