//! The headless front end: the same engine events as the console, printed as readable lines
//! (time, step, status, output) or as one JSON object a line (`--json`). Questions are answered
//! from `--approve ID` / `--approve-all`; anything not approved is refused (exit 3; an
//! inconclusive watch not accepted fails the step instead, exit 1). Ctrl-C,
//! SIGTERM and SIGHUP stop the running step; a second one stops waiting.

pub mod fleet;

use std::io::Write;

use golive_core::engine::EngineHandle;
use golive_core::events::{
    Answer, Command, Decision, EngineEvent, Outcome, Question, QuestionKind, RunInfo, Stream,
};
use golive_core::os::Signals;

/// How to print and what is approved.
#[derive(Debug, Clone, Default)]
pub struct HeadlessOptions {
    /// One JSON event a line instead of readable lines.
    pub json: bool,
    /// Step ids (or `procedure/step`) approved to run without a person.
    pub approve: Vec<String>,
    /// Approve every destructive step and gate.
    pub approve_all: bool,
}

impl HeadlessOptions {
    /// Whether the step `id` (qualified `procedure/id` for procedure steps) is approved.
    pub fn approves(&self, id: &str, qualified: &str) -> bool {
        self.approve_all || self.approve.iter().any(|a| a == id || a == qualified)
    }
}

/// Drive a started run to its end, stopping it at a step boundary on one of `signals`; returns
/// its outcome.
pub async fn run(
    mut handle: EngineHandle,
    options: HeadlessOptions,
    mut signals: Signals,
) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut stopping = false;
    let mut batch = Vec::with_capacity(64);
    loop {
        tokio::select! {
            n = handle.events.recv_many(&mut batch, 64) => {
                if n == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    if let EngineEvent::Started { run } = &event {
                        steps = qualified_ids(run);
                    }
                    if let EngineEvent::Ask { question } = &event {
                        let answer = answer(question, &steps, &options);
                        let _ = handle.commands.send(Command::Answer { id: question.id, answer });
                    }
                    if options.json {
                        let _ = serde_json::to_writer(&mut out, &event);
                        let _ = out.write_all(b"\n");
                    } else {
                        print_line(&mut out, &event, &steps, &options);
                    }
                }
                let _ = out.flush();
            }
            name = signals.next() => {
                let first = "stopping the running step (again to force)";
                if signalled(&mut out, &mut stopping, name, first, options.json) {
                    return Outcome::Interrupted;
                }
                let _ = handle.commands.send(Command::Interrupt);
            }
        }
    }
    let _ = out.flush();
    handle.done.await.unwrap_or(Outcome::Failed)
}

/// A signal came (`name`): the first one stops what runs (`first` says what), the second stops
/// waiting for it. Says which, and whether to leave now (the second).
pub(crate) fn signalled(
    out: &mut impl Write,
    stopping: &mut bool,
    name: &str,
    first: &str,
    json: bool,
) -> bool {
    let action = if *stopping {
        "not waiting any longer"
    } else {
        first
    };
    print_signal(out, name, action, json);
    std::mem::replace(stopping, true)
}

/// What a signal does, as a line (`--json`: a `signal` event), flushed at once.
pub(crate) fn print_signal(out: &mut impl Write, name: &str, action: &str, json: bool) {
    if json {
        let event = serde_json::json!({"event": "signal", "signal": name, "action": action});
        let _ = writeln!(out, "{event}");
    } else {
        let _ = writeln!(out, "{} {name}: {action}", clock());
    }
    let _ = out.flush();
}

/// (id, qualified id) of every step, by index.
pub(crate) fn qualified_ids(run: &RunInfo) -> Vec<(String, String)> {
    run.steps
        .iter()
        .map(|s| {
            let q = golive_core::runbook::qualified_id(s.procedure.as_deref(), &s.id);
            (s.id.clone(), q)
        })
        .collect()
}

/// The (id, qualified id) of the step a question is about.
fn ids_of(question: &Question, steps: &[(String, String)]) -> (String, String) {
    question
        .step
        .and_then(|i| steps.get(i))
        .cloned()
        .unwrap_or_default()
}

fn answer(question: &Question, steps: &[(String, String)], options: &HeadlessOptions) -> Answer {
    let (id, qualified) = ids_of(question, steps);
    match &question.kind {
        QuestionKind::Failure { .. } => Answer::Decide(Decision::Abort),
        _ if options.approves(&id, &qualified) => Answer::Confirm {
            typed: question.expect_typed.clone().unwrap_or_default(),
        },
        _ => Answer::Refuse,
    }
}

pub(crate) fn print_line(
    out: &mut impl Write,
    event: &EngineEvent,
    steps: &[(String, String)],
    options: &HeadlessOptions,
) {
    let name = |i: usize| steps.get(i).map(|(_, q)| q.as_str()).unwrap_or("?");
    let t = clock();
    let _ = match event {
        EngineEvent::Started { run } => writeln!(
            out,
            "{t} golive {} `{}`: {} steps, journal in {}{}",
            if run.resumed { "resumes" } else { "runs" },
            run.runbook,
            run.steps.iter().filter(|s| s.procedure.is_none()).count(),
            run.run_dir.display(),
            run.environment
                .as_deref()
                .map(|e| format!(", environment {e}"))
                .unwrap_or_default()
        ),
        EngineEvent::StepState {
            step,
            state,
            elapsed,
            detail,
            ..
        } => {
            let took = elapsed
                .map(|d| format!(" in {:.1}s", d.as_secs_f64()))
                .unwrap_or_default();
            let detail = detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            writeln!(
                out,
                "{t} {:<24} {}{took}{detail}",
                name(*step),
                state.label()
            )
        }
        EngineEvent::Output { step, chunks } => {
            let prefix = |mark: &str| format!("{t} {:<24} {mark} ", name(*step));
            let prefixes = [prefix("│"), prefix("┆"), prefix("·")];
            for chunk in chunks {
                let prefix = match chunk.stream {
                    Stream::Stdout => &prefixes[0],
                    Stream::Stderr => &prefixes[1],
                    Stream::Info => &prefixes[2],
                };
                for line in chunk.lines() {
                    let _ = out.write_all(prefix.as_bytes());
                    let _ = out.write_all(line.as_bytes());
                    let _ = out.write_all(b"\n");
                }
            }
            Ok(())
        }
        EngineEvent::Ask { question } => {
            let (id, qualified) = ids_of(question, steps);
            match &question.kind {
                QuestionKind::Failure { .. } => Ok(()),
                QuestionKind::Inconclusive { .. } if !options.approves(&id, &qualified) => {
                    writeln!(
                        out,
                        "{t} {qualified:<24} NOT ACCEPTED: {} — headless, an inconclusive watch \
                         fails unless accepted with --approve {id} (or --approve-all); better, fix \
                         what it could not see",
                        question.prompt
                    )
                }
                _ if options.approves(&id, &qualified) => {
                    writeln!(
                        out,
                        "{t} {qualified:<24} approved on the command line: {}",
                        question.prompt
                    )
                }
                _ => writeln!(
                    out,
                    "{t} {qualified:<24} REFUSED: {} — not approved; rerun with --approve {id} \
                     (or --approve-all) once you have read `golive plan`",
                    question.prompt
                ),
            }
        }
        EngineEvent::Notice { level, text } => writeln!(
            out,
            "{t} {:<24} {text}",
            format!("[{level:?}]").to_lowercase()
        ),
        EngineEvent::Monitor { step, snapshot } => {
            writeln!(
                out,
                "{t} {:<24} ▣ {}",
                name(*step),
                dashboard_line(snapshot)
            )
        }
        EngineEvent::WrongAnswers {
            new,
            total,
            example,
        } => writeln!(
            out,
            "{t} {:<24} ✗ {new} wrong answer(s) to the sandbox's traffic ({total} in all), e.g. {example}",
            "rehearsal"
        ),
        EngineEvent::Finished { outcome, message } => writeln!(
            out,
            "{t} golive finished: {} — {message}",
            format!("{outcome:?}").to_lowercase()
        ),
    };
}

/// A dashboard snapshot in one line: each panel's value and state.
fn dashboard_line(snapshot: &serde_json::Value) -> String {
    match serde_json::from_value::<golive_core::monitor::Snapshot>(snapshot.clone()) {
        Ok(snap) => snap
            .panels
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}",
                    p.id,
                    golive_core::monitor::verdict::fmt_value(p.value),
                    p.state.label()
                )
            })
            .collect::<Vec<_>>()
            .join(" · "),
        Err(_) => snapshot.to_string(),
    }
}

pub(crate) fn clock() -> String {
    let now = golive_core::journal::now_rfc3339();
    now.get(11..19).unwrap_or("--:--:--").to_string()
}

#[cfg(test)]
mod tests {
    use super::print_signal;

    #[test]
    fn a_signal_under_json_is_a_json_event_and_otherwise_a_timed_line() {
        let mut out = Vec::new();
        print_signal(&mut out, "SIGTERM", "stopping", true);
        let event: serde_json::Value =
            serde_json::from_slice(&out).expect("one JSON event, as the rest of --json output");
        assert_eq!(event["event"], "signal");
        assert_eq!(event["signal"], "SIGTERM");
        let mut out = Vec::new();
        print_signal(&mut out, "SIGTERM", "stopping", false);
        let line = String::from_utf8(out).expect("utf-8");
        assert!(line.ends_with(" SIGTERM: stopping\n"), "{line}");
    }
}
