//! One question per wave: the first target of a wave to ask about a step (a destructive step,
//! a gate, re-running an interrupted step, accepting an inconclusive watch) raises one wave
//! question naming the wave and all its targets; the answer, journaled in `fleet.jsonl`,
//! answers every target that asked and every target that asks the same later in the wave.

use std::collections::HashMap;

use tokio::sync::mpsc;

use super::driver::Driver;
use super::events::{FleetEvent, WaveQuestion};
use super::journal::FleetEntry;
use crate::events::{Answer, Command, Question, QuestionKind};

/// A question waiting for the wave's answer: (target, the engine's question id, what it expects typed).
pub(super) type Waiting = Vec<(usize, u64, Option<String>)>;

/// A wave's confirmations.
#[derive(Default)]
pub(super) struct Asked {
    /// Answered for the whole wave: key → confirmed.
    pub(super) decided: HashMap<String, bool>,
    /// Targets waiting, by key.
    pub(super) waiting: HashMap<String, Waiting>,
    /// Open wave questions: id → (key, the question).
    pub(super) open: HashMap<u64, (String, WaveQuestion)>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn on_ask(
        &mut self,
        w: usize,
        asked: &mut Asked,
        engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
        target: usize,
        step: String,
        step_id: String,
        question: Question,
    ) {
        if self.halt.is_cancelled() {
            // Halting: a target that asks now is at a step boundary; it stops there.
            if let Some(commands) = engines.get(&target) {
                let _ = commands.send(Command::Interrupt);
            }
            return;
        }
        let key = format!("{}:{step}", kind_name(&question.kind));
        if let Some(&yes) = asked.decided.get(&key) {
            answer_engine(engines, target, question.id, yes, question.expect_typed);
            return;
        }
        let first = !asked.waiting.contains_key(&key);
        asked.waiting.entry(key.clone()).or_default().push((
            target,
            question.id,
            question.expect_typed.clone(),
        ));
        if !first {
            return;
        }
        let wave = &self.config.waves[w];
        let targets = self.names(&wave.targets);
        let expect_typed = (question.kind == QuestionKind::Destructive).then(|| wave.name.clone());
        let prompt = match &question.kind {
            QuestionKind::Destructive => format!(
                "DESTRUCTIVE: `{step}` will run on every target of {}: {}. Type `{}` to confirm.",
                wave.name,
                targets.join(", "),
                wave.name
            ),
            QuestionKind::Gate => format!(
                "Manual step `{step}` for every target of {} ({}). Done?",
                wave.name,
                targets.join(", ")
            ),
            _ => format!(
                "{} — for every target of {} ({})",
                question.prompt,
                wave.name,
                targets.join(", ")
            ),
        };
        let id = self.next_question;
        self.next_question += 1;
        let wave_question = WaveQuestion {
            id,
            wave: w,
            wave_name: wave.name.clone(),
            step_id,
            step,
            kind: question.kind.clone(),
            prompt,
            detail: question.detail.clone(),
            targets,
            expect_typed,
        };
        asked.open.insert(id, (key, wave_question.clone()));
        self.emit(FleetEvent::Ask {
            question: wave_question,
        })
        .await;
    }

    pub(super) async fn on_answer(
        &mut self,
        w: usize,
        asked: &mut Asked,
        engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
        id: u64,
        answer: Answer,
    ) {
        let Some((key, question)) = asked.open.remove(&id) else {
            return;
        };
        let yes = match &answer {
            Answer::Confirm { typed } => {
                if question.expect_typed.as_ref().is_some_and(|e| e != typed) {
                    // Mistyped: nothing runs, the same question comes back.
                    let again = WaveQuestion {
                        id: self.next_question,
                        ..question
                    };
                    self.next_question += 1;
                    asked.open.insert(again.id, (key, again.clone()));
                    self.emit(FleetEvent::Ask { question: again }).await;
                    return;
                }
                true
            }
            _ => false,
        };
        let operator = crate::os::user_name();
        let by = match (self.config.approved_on_command_line, &question.expect_typed) {
            (true, _) => format!("{operator} (approved on the command line)"),
            (false, Some(typed)) => format!("{operator} (typed `{typed}`)"),
            (false, None) => operator.clone(),
        };
        let wave = self.config.waves[w].name.clone();
        let entry = if yes {
            FleetEntry::WaveConfirmed {
                wave,
                step: question.step.clone(),
                targets: question.targets.clone(),
                by,
            }
        } else {
            FleetEntry::WaveRefused {
                wave,
                step: question.step.clone(),
                by: operator,
            }
        };
        // Nothing runs that the fleet journal could not record.
        let yes = self.record(entry) && yes;
        asked.decided.insert(key.clone(), yes);
        for (target, engine_id, expect) in asked.waiting.remove(&key).unwrap_or_default() {
            answer_engine(engines, target, engine_id, yes, expect);
        }
    }
}

/// `destructive`, `gate`, … : a wave's answer covers one kind of question about one step.
fn kind_name(kind: &QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Destructive => "destructive",
        QuestionKind::Gate => "gate",
        QuestionKind::RerunInterrupted => "rerun",
        QuestionKind::Inconclusive { .. } => "inconclusive",
        QuestionKind::Failure { .. } => "failure",
    }
}

fn answer_engine(
    engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
    target: usize,
    id: u64,
    yes: bool,
    expect: Option<String>,
) {
    let answer = if yes {
        Answer::Confirm {
            typed: expect.unwrap_or_default(),
        }
    } else {
        Answer::Refuse
    };
    if let Some(commands) = engines.get(&target) {
        let _ = commands.send(Command::Answer { id, answer });
    }
}
