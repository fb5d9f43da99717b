//! One target's run inside a fleet: its engine started with the target's variables, its own
//! lock and run directory; its events forwarded tagged with the target; its questions handed to
//! the driver (a failure aborts it: the fleet halts); a passed run judged when a judge is set.

use tokio::sync::mpsc;

use super::driver::Judge;
use super::events::FleetEvent;
use crate::engine::{self, EngineConfig};
use crate::events::{Answer, Command, Decision, EngineEvent, Outcome, Question, QuestionKind};

/// How a target's run ended.
pub(super) struct TargetEnd {
    pub(super) outcome: Option<Outcome>,
    pub(super) message: String,
}

/// From a target's task to the driver.
pub(super) enum Internal {
    /// The target's engine started: where to send it commands.
    Engine {
        target: usize,
        commands: mpsc::UnboundedSender<Command>,
    },
    /// The target's engine asks (not a failure: those abort the target).
    Ask {
        target: usize,
        step: String,
        step_id: String,
        question: Question,
    },
}

/// One target's run: start its engine, forward its events tagged with the target, hand its
/// questions to the driver (a failure aborts it: the fleet halts), and judge it when it passed.
pub(super) async fn run_target(
    t: usize,
    config: EngineConfig,
    internal: mpsc::UnboundedSender<Internal>,
    events: mpsc::Sender<FleetEvent>,
    judge: Option<Judge>,
) -> TargetEnd {
    let mut handle = match engine::start(config).await {
        Ok(h) => h,
        Err(e) => {
            return TargetEnd {
                outcome: if e.exit_code() == 3 {
                    Some(Outcome::Refused)
                } else {
                    None
                },
                message: e.to_string(),
            };
        }
    };
    let _ = internal.send(Internal::Engine {
        target: t,
        commands: handle.commands.clone(),
    });
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut message = String::new();
    while let Some(event) = handle.events.recv().await {
        match &event {
            EngineEvent::Started { run } => {
                steps = run
                    .steps
                    .iter()
                    .map(|s| {
                        let q = crate::runbook::qualified_id(s.procedure.as_deref(), &s.id);
                        (s.id.clone(), q)
                    })
                    .collect();
            }
            EngineEvent::Ask { question }
                if matches!(question.kind, QuestionKind::Failure { .. }) =>
            {
                let _ = handle.commands.send(Command::Answer {
                    id: question.id,
                    answer: Answer::Decide(Decision::Abort),
                });
            }
            EngineEvent::Ask { question } => {
                let (step_id, step) = question
                    .step
                    .and_then(|i| steps.get(i).cloned())
                    .unwrap_or_default();
                let _ = internal.send(Internal::Ask {
                    target: t,
                    step,
                    step_id,
                    question: question.clone(),
                });
            }
            EngineEvent::Finished { message: m, .. } => message = m.clone(),
            _ => {}
        }
        let _ = events
            .send(FleetEvent::Target {
                target: t,
                engine: event,
            })
            .await;
    }
    let outcome = handle.done.await.unwrap_or(Outcome::Failed);
    if outcome == Outcome::Passed
        && let Some(reason) = judge.and_then(|j| j(t, &handle.run_dir))
    {
        return TargetEnd {
            outcome: Some(Outcome::Failed),
            message: reason,
        };
    }
    TargetEnd {
        outcome: Some(outcome),
        message,
    }
}
