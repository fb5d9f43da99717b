//! One attempt of a step: its log, its timeout, and the operator's commands while it runs.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Runner;
use crate::engine::ask::Reply;
use crate::events::{Command, StepIdx};
use crate::exec::{self, OutputSink, StepCtx, StepError};

impl Runner {
    /// One attempt, watching for commands while it runs.
    pub(super) async fn execute(
        &mut self,
        idx: StepIdx,
    ) -> (Result<String, StepError>, Option<Reply>) {
        let planned = &self.planned[idx];
        let log = self.step_file(idx, "log");
        let pid_file = self.step_file(idx, "pid");
        let (copy, mut shown) = super::shown::Shown::channel(&planned.qualified);
        let mut sink = match OutputSink::new(
            idx,
            self.events.clone(),
            self.vars.redactor().clone(),
            Some(&log),
        ) {
            Ok(sink) => sink.with_copy(copy, super::shown::CAP),
            Err(e) => {
                return (
                    Err(StepError::Failed(format!(
                        "cannot open the step's log: {e}"
                    ))),
                    None,
                );
            }
        };
        let run_dir = self.run_dir();
        let cancel = CancellationToken::new();
        let timeout = planned.step.timeout;
        let (result, interrupt, timed_out) = {
            let mut ctx = StepCtx {
                vars: &self.vars,
                out: &mut sink,
                cancel: cancel.clone(),
                dbs: &mut self.dbs,
                run_dir: &run_dir,
                base_dir: &self.runbook.base_dir,
                runbook: &self.runbook,
                pid_file: Some(&pid_file),
                rehearsal: self.rehearsal,
            };
            let work = exec::dispatch(&planned.step, &mut ctx);
            tokio::pin!(work);
            let deadline =
                tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(u32::MAX.into())));
            tokio::pin!(deadline);
            let mut interrupt = None;
            let mut timed_out = false;
            let result = loop {
                tokio::select! {
                    r = &mut work => break r,
                    event = shown.recv() => {
                        for entry in shown.entries(Some(event)) {
                            let _ = self.journal.append_shown(entry);
                        }
                    }
                    () = &mut deadline, if timeout.is_some() && !timed_out => {
                        timed_out = true;
                        cancel.cancel();
                    }
                    cmd = self.commands.recv(), if interrupt.is_none() => match cmd {
                        Some(Command::Interrupt) | None => {
                            interrupt = Some(Reply::Interrupt);
                            cancel.cancel();
                        }
                        // A diagnostic does not stop the step: it runs when the step ends.
                        Some(Command::StartProcedure(p))
                            if self.runbook.diagnostics.iter().any(|d| d.id == p) =>
                        {
                            let text = format!(
                                "diagnostic `{p}` runs when `{}` ends (it does not stop it)",
                                planned.qualified
                            );
                            self.queued_diagnostics.push(p);
                            let _ = self
                                .events
                                .send(crate::events::EngineEvent::Notice {
                                    level: crate::events::NoticeLevel::Info,
                                    text,
                                })
                                .await;
                        }
                        Some(Command::StartProcedure(p)) => {
                            interrupt = Some(Reply::Procedure(p));
                            cancel.cancel();
                        }
                        Some(Command::Answer { .. }) => {}
                    },
                }
            };
            (result, interrupt, timed_out)
        };
        let result = match result {
            Err(StepError::Cancelled) if timed_out && interrupt.is_none() => {
                Err(StepError::TimedOut(timeout.unwrap_or_default()))
            }
            other => other,
        };
        let result = match (result, sink.finish().await) {
            (Ok(_), Err(log_error)) => Err(StepError::Failed(log_error)),
            (r, _) => r,
        };
        for entry in shown.entries(None) {
            let _ = self.journal.append_shown(entry);
        }
        (result, interrupt)
    }
}
