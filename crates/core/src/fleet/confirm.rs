//! One question per wave: the first target of a wave to ask about a step (a destructive step,
//! a gate, re-running an interrupted step, accepting an inconclusive watch) raises one wave
//! question naming the wave and all its targets; the answer, journaled in `fleet.jsonl`,
//! answers every target that asked and every target that asks the same later in the wave.
//! Each target's engine is told the answer was given for the wave ([`Answer::ConfirmForWave`]),
//! so its own journal records who confirmed the wave and how, not that its name was typed.

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
    /// Answered for the whole wave: key → who confirmed it, and how (`None`: refused).
    pub(super) decided: HashMap<String, Option<String>>,
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
        if let Some(by) = asked.decided.get(&key) {
            let answer = engine_answer(
                &self.config.waves[w].name,
                by.as_deref(),
                question.expect_typed,
            );
            send(engines, target, question.id, answer);
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
                wave: wave.clone(),
                step: question.step.clone(),
                targets: question.targets.clone(),
                by: by.clone(),
            }
        } else {
            FleetEntry::WaveRefused {
                wave: wave.clone(),
                step: question.step.clone(),
                by: operator,
            }
        };
        // Nothing runs that the fleet journal could not record.
        let decided = (self.record(entry) && yes).then_some(by);
        for (target, engine_id, expect) in asked.waiting.remove(&key).unwrap_or_default() {
            send(
                engines,
                target,
                engine_id,
                engine_answer(&wave, decided.as_deref(), expect),
            );
        }
        asked.decided.insert(key, decided);
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

/// What a target's engine is answered once the wave is decided: confirmed by `by` for the
/// wave (the engine still checks the text it `expect`s), or refused.
fn engine_answer(wave: &str, by: Option<&str>, expect: Option<String>) -> Answer {
    match by {
        Some(by) => Answer::ConfirmForWave {
            typed: expect.unwrap_or_default(),
            wave: wave.to_string(),
            by: by.to_string(),
        },
        None => Answer::Refuse,
    }
}

fn send(
    engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
    target: usize,
    id: u64,
    answer: Answer,
) {
    if let Some(commands) = engines.get(&target) {
        let _ = commands.send(Command::Answer { id, answer });
    }
}
