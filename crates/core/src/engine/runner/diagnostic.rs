//! Diagnostics are read-only: they run beside the run (during a question, or after the step that
//! was running ends) and never end it; the journal calls them diagnostics.

use super::{Runner, SeqEnd};
use crate::engine::ask::Reply;
use crate::events::{EngineEvent, NoticeLevel, Outcome, ProcedureKind, StepIdx, StepState};
use crate::journal::Entry;

impl Runner {
    /// Whether `id` names a diagnostic (read-only) procedure.
    pub(in crate::engine) fn is_diagnostic(&self, id: &str) -> bool {
        self.runbook.diagnostics.iter().any(|p| p.id == id)
    }

    pub(super) fn procedure_kind(&self, id: &str) -> ProcedureKind {
        if self.is_diagnostic(id) {
            ProcedureKind::Diagnostic
        } else {
            ProcedureKind::Rollback
        }
    }

    /// Run diagnostic `id` beside the run: nothing that runs or waits is stopped, and the run goes
    /// on afterwards. Returns what the operator asked for meanwhile that ends the wait instead
    /// (a stop, or a rollback started from inside the diagnostic).
    pub(in crate::engine) async fn diagnostic(&mut self, id: &str) -> Option<Reply> {
        let title = self.runbook.procedure(id).map(|p| p.title.clone())?;
        let _ = self.record(Entry::ProcedureStarted {
            procedure: id.to_string(),
            by: self.operator.clone(),
            kind: Some(ProcedureKind::Diagnostic),
        });
        self.emit(EngineEvent::Notice {
            level: NoticeLevel::Info,
            text: format!(
                "diagnostic `{id}` runs: {title} (read-only; the run goes on afterwards)"
            ),
        })
        .await;
        let steps: Vec<StepIdx> = (0..self.planned.len())
            .filter(|&i| self.planned[i].info.procedure.as_deref() == Some(id))
            .collect();
        for &i in &steps {
            self.set_state(i, StepState::Pending, 0, None, None).await;
        }
        let (passed, message, reply) = match Box::pin(self.sequence(steps, false)).await {
            SeqEnd::Done => (true, format!("diagnostic `{id}` passed"), None),
            SeqEnd::Stop(Outcome::Interrupted, m) => (false, m, Some(Reply::Interrupt)),
            SeqEnd::Stop(_, m) => (false, format!("diagnostic `{id}`: {m}"), None),
            SeqEnd::Procedure(p) => (
                false,
                format!("diagnostic `{id}` stopped to start `{p}`"),
                Some(Reply::Procedure(p)),
            ),
        };
        let _ = self.record(Entry::ProcedureFinished {
            procedure: id.to_string(),
            kind: ProcedureKind::Diagnostic,
            passed,
            message: message.clone(),
        });
        let level = if passed {
            NoticeLevel::Info
        } else {
            NoticeLevel::Warn
        };
        self.emit(EngineEvent::Notice {
            level,
            text: format!("{message}; back to the run"),
        })
        .await;
        reply
    }

    /// The diagnostics asked for while a step ran, now that it has ended.
    pub(super) async fn queued_diagnostics(&mut self) -> Option<Reply> {
        for id in std::mem::take(&mut self.queued_diagnostics) {
            if let Some(reply) = self.diagnostic(&id).await {
                return Some(reply);
            }
        }
        None
    }
}
