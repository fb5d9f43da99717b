//! Line output for a fleet run (`golive run --targets … --headless`, or `--json`): each
//! target's engine events as `golive run` prints them, prefixed with the target's name; waves,
//! wave questions (answered from `--approve` / `--approve-all`, as for one run), halts and the
//! pause between waves (a countdown line) in between. Ctrl-C, SIGTERM and SIGHUP interrupt
//! every running target; a second one stops waiting.

use std::io::Write;

use super::{HeadlessOptions, clock, print_line, qualified_ids, signalled};
use golive_core::events::{Answer, EngineEvent, QuestionKind};
use golive_core::fleet::driver::FleetHandle;
use golive_core::fleet::events::{FleetCommand, FleetEvent, FleetOutcome, WaveQuestion};
use golive_core::os::Signals;

/// What a line front end knows of the fleet.
#[derive(Default)]
struct Known {
    targets: Vec<String>,
    waves: Vec<String>,
    /// Each target's (id, qualified id) of its steps, from its engine's `Started`.
    steps: Vec<Vec<(String, String)>>,
}

/// Drive a started fleet run to its end; returns its outcome.
pub async fn run(
    mut handle: FleetHandle,
    options: HeadlessOptions,
    mut signals: Signals,
) -> FleetOutcome {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut known = Known::default();
    let mut stopping = false;
    let mut batch = Vec::with_capacity(64);
    loop {
        tokio::select! {
            n = handle.events.recv_many(&mut batch, 64) => {
                if n == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    if let FleetEvent::Ask { question } = &event {
                        let answer = answer(question, &options);
                        let _ = handle.commands.send(FleetCommand::Answer { id: question.id, answer });
                    }
                    if options.json {
                        write_json(&mut out, &event, &known);
                    } else {
                        write_line(&mut out, &event, &mut known, &options);
                    }
                    learn(&mut known, &event);
                }
                let _ = out.flush();
            }
            name = signals.next() => {
                let first = "stopping every running target (again to force)";
                if signalled(&mut out, &mut stopping, name, first, options.json) {
                    return FleetOutcome::Interrupted;
                }
                let _ = handle.commands.send(FleetCommand::Interrupt);
            }
        }
    }
    let _ = out.flush();
    handle.done.await.unwrap_or(FleetOutcome::Interrupted)
}

/// The answer `--approve` / `--approve-all` give a wave question.
pub fn answer(question: &WaveQuestion, options: &HeadlessOptions) -> Answer {
    if options.approves(&question.step_id, &question.step) {
        Answer::Confirm {
            typed: question.expect_typed.clone().unwrap_or_default(),
        }
    } else {
        Answer::Refuse
    }
}

fn learn(known: &mut Known, event: &FleetEvent) {
    match event {
        FleetEvent::FleetStarted { targets, waves, .. } => {
            known.targets = targets.clone();
            known.waves = waves.iter().map(|w| w.name.clone()).collect();
            known.steps = vec![Vec::new(); targets.len()];
        }
        FleetEvent::Target {
            target,
            engine: EngineEvent::Started { run },
        } => {
            if let Some(slot) = known.steps.get_mut(*target) {
                *slot = qualified_ids(run);
            }
        }
        _ => {}
    }
}

fn write_json(out: &mut impl Write, event: &FleetEvent, known: &Known) {
    let value = match event {
        // A target's engine event as `golive run --json` prints it, with the target's name.
        FleetEvent::Target { target, engine } => {
            let mut value = serde_json::to_value(engine).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert(
                    "target".into(),
                    known
                        .targets
                        .get(*target)
                        .cloned()
                        .unwrap_or_default()
                        .into(),
                );
            }
            value
        }
        other => serde_json::to_value(other).unwrap_or_default(),
    };
    let _ = serde_json::to_writer(&mut *out, &value);
    let _ = out.write_all(b"\n");
}

fn write_line(
    out: &mut impl Write,
    event: &FleetEvent,
    known: &mut Known,
    options: &HeadlessOptions,
) {
    let t = clock();
    let target = |i: usize| known.targets.get(i).map_or("?", String::as_str);
    let wave = |i: usize| known.waves.get(i).map_or("?", String::as_str);
    let _ = match event {
        FleetEvent::FleetStarted {
            run_dir,
            runbook,
            targets,
            waves,
            parallel,
            resumed,
            ..
        } => writeln!(
            out,
            "{t} golive fleet {} `{runbook}`: {} target(s) in {} wave(s), {parallel} at once, \
             fleet journal in {}",
            if *resumed { "resumes" } else { "runs" },
            targets.len(),
            waves.len(),
            run_dir.join(golive_core::fleet::journal::FILE).display()
        ),
        FleetEvent::WaveStarted { wave: w } => writeln!(out, "{t} ── {} starts", wave(*w)),
        FleetEvent::Target { target: i, engine } => {
            if matches!(engine, EngineEvent::Ask { .. }) {
                // The wave's question stands for it.
                return;
            }
            let mut buf = Vec::new();
            let steps = known.steps.get(*i).map_or(&[][..], Vec::as_slice);
            print_line(&mut buf, engine, steps, options);
            let name = target(*i);
            for line in String::from_utf8_lossy(&buf).lines() {
                // `12:00:01 [eu-1] snapshot …`: the time first, as on every other line.
                let _ = match line.split_once(' ') {
                    Some((time, rest)) => writeln!(out, "{time} [{name}] {rest}"),
                    None => writeln!(out, "[{name}] {line}"),
                };
            }
            Ok(())
        }
        FleetEvent::TargetSkipped { target: i } => writeln!(
            out,
            "{t} [{}] passed in an earlier process of this fleet run: not run again",
            target(*i)
        ),
        FleetEvent::TargetFinished {
            target: i,
            outcome,
            message,
        } => writeln!(
            out,
            "{t} [{}] {}: {message}",
            target(*i),
            outcome.map_or("did not start".to_string(), |o| format!("{o:?}")
                .to_lowercase())
        ),
        FleetEvent::Ask { question } => {
            let approved = options.approves(&question.step_id, &question.step);
            match (&question.kind, approved) {
                (_, true) => writeln!(
                    out,
                    "{t} {} approved on the command line for {}: {}",
                    question.wave_name,
                    question.targets.join(", "),
                    question.prompt
                ),
                (QuestionKind::Inconclusive { .. }, false) => writeln!(
                    out,
                    "{t} {} NOT ACCEPTED: {} — headless, an inconclusive watch fails unless \
                     accepted with --approve {}",
                    question.wave_name, question.prompt, question.step_id
                ),
                (_, false) => writeln!(
                    out,
                    "{t} {} REFUSED: {} — not approved; rerun with --approve {} (or \
                     --approve-all) once you have read `golive plan`",
                    question.wave_name, question.prompt, question.step_id
                ),
            }
        }
        FleetEvent::Withdrawn { .. } => Ok(()),
        FleetEvent::Pause {
            next,
            left,
            watching,
        } => {
            // One line every 10 s (and the last 5 s), not a flood over a long watch.
            let secs = left.as_secs();
            let left = humantime::format_duration(std::time::Duration::from_secs(
                left.as_secs_f64().ceil() as u64,
            ));
            match (secs % 10 == 0 || secs <= 5, watching) {
                (false, _) => Ok(()),
                (true, true) => writeln!(
                    out,
                    "{t} ── watching the live targets: {} starts in {left} if every watch passes",
                    wave(*next)
                ),
                (true, false) => writeln!(out, "{t} ── pause: {} starts in {left}", wave(*next)),
            }
        }
        FleetEvent::Watch {
            target: i,
            snapshot,
        } => writeln!(
            out,
            "{t} [{}] {:<24} ▣ {}",
            target(*i),
            "watch between waves",
            super::dashboard_line(snapshot)
        ),
        FleetEvent::Watched {
            next,
            target: i,
            verdict,
            reasons,
        } => {
            let why = match reasons.is_empty() {
                true => String::new(),
                false => format!(": {}", reasons.join("; ")),
            };
            writeln!(
                out,
                "{t} [{}] the watch before {}: {}{why}",
                target(*i),
                wave(*next),
                verdict.label()
            )
        }
        FleetEvent::WaveFinished { wave: w, passed } => writeln!(
            out,
            "{t} ── {} {}",
            wave(*w),
            if *passed { "passed" } else { "did not pass" }
        ),
        FleetEvent::Halted {
            wave: w,
            target: i,
            reason,
        } => writeln!(
            out,
            "{t} ── HALTED in {}: target `{}` did not pass: {reason}; targets still running \
             stop before their next step, no later wave starts",
            wave(*w),
            target(*i)
        ),
        FleetEvent::FleetFinished { outcome, message } => {
            writeln!(
                out,
                "{t} golive fleet finished: {} — {message}",
                outcome.label()
            )
        }
    };
}
