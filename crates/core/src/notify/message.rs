//! Which engine events become notifications, and their text: pure, no IO.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::events::{EngineEvent, RunInfo, StepState};
use crate::monitor::Snapshot;
use crate::monitor::snapshot::State;
use crate::monitor::verdict::VerdictKind;

/// One notification: its kind (a `[notify] events` name), one line for people, and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// `question`, `step_failed`, `breach`, `procedure_started` or `run_finished`.
    pub kind: &'static str,
    /// One line for people.
    pub text: String,
    /// The event, for machines.
    pub event: Value,
}

/// What the run looks like so far: enough to name steps and notice panels turning critical.
#[derive(Debug, Default)]
pub struct Watcher {
    run_id: String,
    runbook: String,
    environment: Option<String>,
    steps: Vec<String>,
    critical: HashMap<String, bool>,
    /// A fleet's target: its posts name it (`golive Phase 2 [eu-1]: …`).
    target: Option<String>,
}

impl Watcher {
    /// A watcher of a run of the fleet target `target` (`None`: a run of its own).
    pub fn of_target(target: Option<String>) -> Self {
        Watcher {
            target,
            ..Watcher::default()
        }
    }

    /// The notifications `event` calls for (most events call for none).
    pub fn observe(&mut self, event: &EngineEvent) -> Vec<Notification> {
        match event {
            EngineEvent::Started { run } => {
                self.start(run);
                Vec::new()
            }
            EngineEvent::Ask { question } => {
                let step = question.step.map(|i| self.step(i));
                vec![self.note(
                    "question",
                    format!("waits for a person: {}", question.prompt),
                    json!({"step": step, "question": question.prompt, "detail": question.detail}),
                )]
            }
            EngineEvent::StepState {
                step,
                state: StepState::Failed,
                detail,
                attempt,
                ..
            } => {
                let name = self.step(*step);
                vec![self.note(
                    "step_failed",
                    format!(
                        "step `{name}` failed: {}",
                        detail.as_deref().unwrap_or("no detail")
                    ),
                    json!({"step": name, "attempt": attempt, "detail": detail}),
                )]
            }
            EngineEvent::StepState {
                step,
                state: StepState::Running,
                attempt: 1,
                ..
            } => {
                let name = self.step(*step);
                match name.split_once('/') {
                    Some((procedure, _)) if self.first_of_procedure(*step) => {
                        vec![self.note(
                            "procedure_started",
                            format!("procedure `{procedure}` started"),
                            json!({"procedure": procedure}),
                        )]
                    }
                    _ => Vec::new(),
                }
            }
            EngineEvent::Monitor { step, snapshot } => self.breaches(*step, snapshot),
            EngineEvent::Finished { outcome, message } => {
                let outcome = serde_json::to_value(outcome).unwrap_or(Value::Null);
                vec![self.note(
                    "run_finished",
                    format!(
                        "finished: {} — {message}",
                        outcome.as_str().unwrap_or("unknown")
                    ),
                    json!({"outcome": outcome, "message": message}),
                )]
            }
            _ => Vec::new(),
        }
    }

    fn start(&mut self, run: &RunInfo) {
        self.run_id = run.run_id.clone();
        self.runbook = run.runbook.clone();
        self.environment = run.environment.clone();
        self.steps = run
            .steps
            .iter()
            .map(|s| crate::runbook::qualified_id(s.procedure.as_deref(), &s.id))
            .collect();
    }

    fn step(&self, idx: usize) -> String {
        self.steps
            .get(idx)
            .cloned()
            .unwrap_or_else(|| format!("#{idx}"))
    }

    /// Whether `idx` is its procedure's first step.
    fn first_of_procedure(&self, idx: usize) -> bool {
        let prefix = |i: usize| {
            self.steps
                .get(i)
                .and_then(|s| s.split_once('/'))
                .map(|p| p.0)
        };
        idx == 0 || prefix(idx - 1) != prefix(idx)
    }

    fn breaches(&mut self, step: usize, snapshot: &Value) -> Vec<Notification> {
        let Ok(snap) = serde_json::from_value::<Snapshot>(snapshot.clone()) else {
            return Vec::new();
        };
        let name = self.step(step);
        let mut out = Vec::new();
        for panel in &snap.panels {
            let crit = panel.state == State::Crit;
            let was = self
                .critical
                .insert(panel.id.clone(), crit)
                .unwrap_or(false);
            if crit && !was {
                out.push(self.note(
                    "breach",
                    format!(
                        "panel `{}` is critical ({}) during `{name}`",
                        panel.id,
                        crate::monitor::verdict::fmt_value(panel.value)
                    ),
                    json!({"step": name, "panel": panel.id, "value": panel.value}),
                ));
            }
        }
        if snap.verdict == Some(VerdictKind::Breached) {
            out.push(self.note(
                "breach",
                format!("watch `{name}` breached: {}", snap.reasons.join("; ")),
                json!({"step": name, "verdict": "breached", "reasons": snap.reasons}),
            ));
        }
        out
    }

    fn note(&self, kind: &'static str, text: String, event: Value) -> Notification {
        let runbook = match &self.target {
            Some(t) => format!("{} [{t}]", self.runbook),
            None => self.runbook.clone(),
        };
        let about = About {
            run_id: &self.run_id,
            runbook: &runbook,
            environment: self.environment.as_deref(),
        };
        about.note(kind, text, event)
    }
}

/// Which run (or fleet run) a notification is about: named in its text and its event.
pub struct About<'a> {
    /// The run's id (a fleet's: the fleet run's).
    pub run_id: &'a str,
    /// `[runbook] name`.
    pub runbook: &'a str,
    /// `[runbook] environment`, if any.
    pub environment: Option<&'a str>,
}

impl About<'_> {
    /// A notification of `kind` saying `text`, `event` tagged with the kind and the run.
    pub fn note(&self, kind: &'static str, text: String, mut event: Value) -> Notification {
        if let Some(map) = event.as_object_mut() {
            map.insert("kind".into(), json!(kind));
            map.insert("run_id".into(), json!(self.run_id));
            map.insert("runbook".into(), json!(self.runbook));
            map.insert("environment".into(), json!(self.environment));
        }
        let env = self
            .environment
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        Notification {
            kind,
            text: format!("golive {}{env}: {text}", self.runbook),
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;

    fn started(watcher: &mut Watcher) {
        watcher.run_id = "r1".into();
        watcher.runbook = "rb".into();
        watcher.environment = Some("production".into());
        watcher.steps = vec!["main".into(), "fast/one".into(), "fast/two".into()];
    }

    fn snapshot(state: &str, verdict: Option<&str>) -> Value {
        let mut s = json!({
            "at": "2026-11-29T20:00:00Z", "window_seconds": 60,
            "panels": [{"id": "http_5xx_ratio", "state": state, "value": 0.2}]
        });
        if let Some(v) = verdict {
            s["verdict"] = json!(v);
            s["reasons"] = json!(["http_5xx_ratio critical for 3 refreshes"]);
        }
        s
    }

    #[test]
    fn a_flapping_panel_notifies_on_each_turn_to_critical_and_a_breached_verdict() {
        let mut w = Watcher::default();
        started(&mut w);
        let mut kinds = Vec::new();
        for (state, verdict) in [
            ("ok", None),
            ("crit", None),
            ("crit", None),
            ("ok", None),
            ("crit", Some("breached")),
        ] {
            let ev = EngineEvent::Monitor {
                step: 0,
                snapshot: snapshot(state, verdict),
            };
            kinds.extend(w.observe(&ev).into_iter().map(|n| (n.kind, n.text)));
        }
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(kinds.iter().all(|(k, _)| *k == "breach"));
        assert!(kinds[2].1.contains("breached"), "{kinds:?}");
        assert!(kinds[0].1.contains("(production)"), "{kinds:?}");
    }

    #[test]
    fn a_procedure_is_announced_once_at_its_first_step_and_the_end_names_the_outcome() {
        let mut w = Watcher::default();
        started(&mut w);
        let running = |step| EngineEvent::StepState {
            step,
            state: StepState::Running,
            attempt: 1,
            elapsed: None,
            detail: None,
        };
        assert!(w.observe(&running(0)).is_empty());
        let first = w.observe(&running(1));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].kind, "procedure_started");
        assert_eq!(first[0].event["procedure"], "fast");
        assert!(w.observe(&running(2)).is_empty());
        let end = w.observe(&EngineEvent::Finished {
            outcome: Outcome::RolledBack,
            message: "done".into(),
        });
        assert_eq!(end[0].event["outcome"], "rolled_back");
        assert_eq!(end[0].event["run_id"], "r1");
    }
}
