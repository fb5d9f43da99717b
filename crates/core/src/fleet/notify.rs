//! Which fleet events become notifications (`[notify]`), and their text: a wave question that
//! waits for a person (once for the wave, not once per target), a live target whose watch
//! between waves did not pass, the halt, and the end of the fleet run. Each target's own run
//! still posts its own step failures, breaches and end; its questions are the wave's.

use serde_json::json;

use super::events::{FleetEvent, FleetOutcome};
use crate::monitor::verdict::VerdictKind;
use crate::notify::message::About;
use crate::notify::{Notification, Observe};

/// What the fleet run looks like so far: enough to name targets and waves.
#[derive(Debug, Default)]
pub struct FleetWatcher {
    run_id: String,
    runbook: String,
    environment: Option<String>,
    targets: Vec<String>,
    waves: Vec<String>,
}

impl FleetWatcher {
    /// A watcher for the fleet run of `runbook` (its `[runbook] environment`, if any).
    pub fn new(runbook: &crate::runbook::Runbook) -> Self {
        FleetWatcher {
            runbook: runbook.name.clone(),
            environment: runbook.environment.clone(),
            ..FleetWatcher::default()
        }
    }

    fn name(names: &[String], i: usize) -> &str {
        names.get(i).map_or("?", String::as_str)
    }

    fn note(&self, kind: &'static str, text: String, event: serde_json::Value) -> Notification {
        About {
            run_id: &self.run_id,
            runbook: &self.runbook,
            environment: self.environment.as_deref(),
        }
        .note(kind, format!("fleet: {text}"), event)
    }
}

impl Observe<FleetEvent> for FleetWatcher {
    fn observe(&mut self, event: &FleetEvent) -> Vec<Notification> {
        match event {
            FleetEvent::FleetStarted {
                run_dir,
                targets,
                waves,
                ..
            } => {
                self.run_id = run_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.targets = targets.clone();
                self.waves = waves.iter().map(|w| w.name.clone()).collect();
                Vec::new()
            }
            FleetEvent::Ask { question } => vec![self.note(
                "question",
                format!(
                    "waits for a person, once for {} ({}): {}",
                    question.wave_name,
                    question.targets.join(", "),
                    question.prompt
                ),
                json!({"wave": question.wave_name, "step": question.step,
                       "targets": question.targets, "question": question.prompt}),
            )],
            FleetEvent::Watched {
                next,
                target,
                verdict,
                reasons,
            } if *verdict != VerdictKind::Passed => {
                let (target, before) = (
                    Self::name(&self.targets, *target),
                    Self::name(&self.waves, *next),
                );
                vec![self.note(
                    "breach",
                    format!(
                        "target `{target}` {} in the watch before {before}: {}",
                        verdict.label(),
                        reasons.join("; ")
                    ),
                    json!({"target": target, "before": before, "verdict": verdict,
                           "reasons": reasons}),
                )]
            }
            FleetEvent::FleetFinished { outcome, message } => vec![self.note(
                "run_finished",
                format!("{}: {message}", outcome.label()),
                json!({"outcome": outcome, "message": message,
                       "halted": matches!(outcome, FleetOutcome::Halted | FleetOutcome::Refused)}),
            )],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::events::WaveQuestion;
    use crate::fleet::waves::Wave;

    fn started() -> FleetWatcher {
        let mut w = FleetWatcher {
            runbook: "Phase 2".into(),
            ..FleetWatcher::default()
        };
        w.observe(&FleetEvent::FleetStarted {
            run_dir: "/x/.golive/runs/20261130-0200-ab12".into(),
            runbook: "Phase 2".into(),
            targets: vec!["eu-1".into(), "eu-2".into()],
            waves: vec![
                Wave {
                    name: "wave-1".into(),
                    targets: vec![0],
                },
                Wave {
                    name: "wave-2".into(),
                    targets: vec![1],
                },
            ],
            steps: Vec::new(),
            first_step: 0,
            parallel: 1,
            resumed: false,
        });
        w
    }

    #[test]
    fn a_wave_question_a_failed_watch_and_the_end_are_posted_once_for_the_fleet() {
        let mut w = started();
        let asked = w.observe(&FleetEvent::Ask {
            question: WaveQuestion {
                id: 1,
                wave: 1,
                wave_name: "wave-2".into(),
                step_id: "rls-enable".into(),
                step: "rls-enable".into(),
                kind: crate::events::QuestionKind::Destructive,
                prompt: "DESTRUCTIVE: `rls-enable` on every target of wave-2".into(),
                detail: String::new(),
                targets: vec!["eu-2".into()],
                expect_typed: Some("wave-2".into()),
            },
        });
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].kind, "question");
        assert!(
            asked[0]
                .text
                .starts_with("golive Phase 2: fleet: waits for a person, once for wave-2 (eu-2)"),
            "{}",
            asked[0].text
        );
        assert_eq!(asked[0].event["run_id"], "20261130-0200-ab12");
        let passed = w.observe(&FleetEvent::Watched {
            next: 1,
            target: 0,
            verdict: VerdictKind::Passed,
            reasons: Vec::new(),
        });
        assert!(passed.is_empty());
        let breached = w.observe(&FleetEvent::Watched {
            next: 1,
            target: 0,
            verdict: VerdictKind::Breached,
            reasons: vec!["http_5xx_ratio is critical".into()],
        });
        assert_eq!(breached[0].kind, "breach");
        assert!(
            breached[0]
                .text
                .contains("target `eu-1` breached in the watch before wave-2"),
            "{}",
            breached[0].text
        );
        let end = w.observe(&FleetEvent::FleetFinished {
            outcome: FleetOutcome::Halted,
            message: "halted in wave-1".into(),
        });
        assert_eq!(end[0].kind, "run_finished");
        assert_eq!(end[0].event["halted"], true);
    }
}
