//! The oracle's side of a rehearsal: its wrong answers shown live while the run goes on, then,
//! after the run, attributed to the step that was running when each came, written to the run's
//! journal, and failing the rehearsal.
//!
//! ```text
//!   Oracle::drain (every 500 ms) ──► EngineEvent::WrongAnswers ──► console header | headless line
//!   run ends ─► settle (the state it left is judged too) ─► journal: WrongAnswers per step,
//!                                                          RunFinished(failed) when any
//! ```

use std::path::Path;
use std::time::{Duration, SystemTime};

use golive_core::events::{EngineEvent, Outcome};
use golive_core::journal::{Entry, Journal, Record, read_journal};
use golive_sandbox::Oracle;
use golive_sandbox::oracle::WrongAnswer;

use crate::cli::drive::Observe;

/// How often wrong answers are reported while the run goes on.
const REPORT_EVERY: Duration = Duration::from_millis(500);
/// How long the state a run left is judged after it ends.
pub(super) const SETTLE: Duration = Duration::from_secs(2);

/// Report the oracle's new wrong answers to the front end until the run ends.
pub(super) fn live(oracle: Oracle) -> Observe {
    Box::new(move |events| {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REPORT_EVERY);
            loop {
                ticks.tick().await;
                let Some(events) = events.upgrade() else {
                    break;
                };
                let drained = oracle.drain();
                if drained.count == 0 {
                    continue;
                }
                let example = drained
                    .examples
                    .first()
                    .map_or_else(|| "(details not kept)".into(), ToString::to_string);
                let _ = events
                    .send(EngineEvent::WrongAnswers {
                        new: drained.count,
                        total: oracle.wrong_total(),
                        example,
                    })
                    .await;
            }
        })
    })
}

/// Wrong answers that came while one step ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StepWrong {
    /// The step (`None`: outside any step).
    pub step: Option<String>,
    /// How many.
    pub count: u64,
    /// The first.
    pub first: WrongAnswer,
}

/// Attribute every wrong answer the oracle kept since `since` to the step of `run_dir`'s journal
/// that was running when it came, in the order the steps ran; write them to the journal, and when
/// there are any, end the run failed. Returns them.
pub(super) fn judge(oracle: &Oracle, run_dir: &Path, since: SystemTime) -> Vec<StepWrong> {
    let journal = read_journal(&run_dir.join("journal.jsonl")).unwrap_or_default();
    let kept: Vec<WrongAnswer> = oracle
        .wrong_answers()
        .into_iter()
        .filter(|w| w.at >= since)
        .collect();
    let mut groups = attribute(&kept, &journal.records);
    if since == SystemTime::UNIX_EPOCH {
        // Past what the oracle keeps, wrong answers are only counted: add them to the last.
        let unkept = oracle
            .wrong_total()
            .saturating_sub(groups.iter().map(|g| g.count).sum());
        if let Some(last) = groups.last_mut() {
            last.count += unkept;
        }
    }
    if groups.is_empty() {
        return groups;
    }
    let total: u64 = groups.iter().map(|g| g.count).sum();
    let first_step = groups[0].step.as_deref().unwrap_or("outside any step");
    let record = |journal: &mut Journal| -> Result<(), golive_core::journal::JournalError> {
        for g in &groups {
            journal.append(Entry::WrongAnswers {
                step: g.step.clone(),
                count: g.count,
                first_at: humantime::format_rfc3339_millis(g.first.at).to_string(),
                example: g.first.to_string(),
            })?;
        }
        journal.append(Entry::RunFinished {
            outcome: Outcome::Failed,
            message: format!(
                "the rehearsal's traffic got {total} wrong answer(s), beginning during \
                 `{first_step}`: at that moment the serving build gives wrong answers"
            ),
        })
    };
    if let Err(e) = Journal::open(run_dir).and_then(|mut j| record(&mut j)) {
        eprintln!("golive: {e}");
    }
    groups
}

/// Group `wrong` by the step running when each came (the last `step_started` before it).
fn attribute(wrong: &[WrongAnswer], records: &[Record]) -> Vec<StepWrong> {
    let starts: Vec<(SystemTime, &str)> = records
        .iter()
        .filter_map(|r| match &r.entry {
            Entry::StepStarted { step, .. } => {
                Some((humantime::parse_rfc3339(&r.at).ok()?, step.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut groups: Vec<StepWrong> = Vec::new();
    for w in wrong {
        let step = starts
            .iter()
            .rev()
            .find(|(at, _)| *at <= w.at)
            .map(|(_, s)| (*s).to_string());
        match groups.iter_mut().find(|g| g.step == step) {
            Some(g) => g.count += 1,
            None => groups.push(StepWrong {
                step,
                count: 1,
                first: w.clone(),
            }),
        }
    }
    groups
}

/// The oracle's summary for people: how many answers were judged (`checked`), and the wrong
/// ones by step.
pub(super) fn summary(checked: u64, groups: &[StepWrong]) -> String {
    if groups.is_empty() {
        return format!(
            "golive: the traffic oracle judged {checked} answer(s) during the rehearsal: none wrong"
        );
    }
    let total: u64 = groups.iter().map(|g| g.count).sum();
    let mut text = format!(
        "golive: REHEARSAL FAILED: {total} of {checked} answer(s) to the sandbox's traffic were wrong:"
    );
    for g in groups {
        text.push_str(&format!(
            "\n  {:<24} {:>5}  first at {}: {}",
            g.step.as_deref().unwrap_or("(outside any step)"),
            g.count,
            humantime::format_rfc3339_seconds(g.first.at),
            g.first
        ));
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use golive_sandbox::oracle::WrongKind;

    fn record(at: &str, step: &str) -> Record {
        Record {
            at: at.to_string(),
            entry: Entry::StepStarted {
                step: step.to_string(),
                attempt: 1,
            },
        }
    }

    fn wrong(at: &str) -> WrongAnswer {
        WrongAnswer {
            at: humantime::parse_rfc3339(at).unwrap(),
            kind: WrongKind::Empty,
            request: "GET /".into(),
            detail: "200 []".into(),
        }
    }

    #[test]
    fn wrong_answers_belong_to_the_step_running_when_they_came() {
        let records = [
            record("2026-11-29T10:00:00.000Z", "snapshot"),
            record("2026-11-29T10:00:05.000Z", "rls-enable"),
            record("2026-11-29T10:00:09.000Z", "app-deploy"),
        ];
        let groups = attribute(
            &[
                wrong("2026-11-29T09:59:59.000Z"),
                wrong("2026-11-29T10:00:06.000Z"),
                wrong("2026-11-29T10:00:07.000Z"),
                wrong("2026-11-29T10:00:09.500Z"),
            ],
            &records,
        );
        let by_step: Vec<(Option<&str>, u64)> = groups
            .iter()
            .map(|g| (g.step.as_deref(), g.count))
            .collect();
        assert_eq!(
            by_step,
            [(None, 1), (Some("rls-enable"), 2), (Some("app-deploy"), 1)]
        );
    }
}
