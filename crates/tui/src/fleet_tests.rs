//! The fleet console: the matrix of targets × steps with the checklist's icons, the selected
//! target's output, and the wave confirmation naming the wave and every target in it, at 80x24
//! and 200x60; and its keys (typing the wave's name confirms it for the whole wave).

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::fleet_state::{FleetState, KeyOutcome, Pane, TargetStatus};
use super::test_fixtures::{run_info, text_of};
use super::theme::Theme;
use golive_core::events::{
    Answer, EngineEvent, Outcome, OutputChunk, QuestionKind, StepState, Stream,
};
use golive_core::fleet::{FleetCommand, FleetEvent, Wave, WaveQuestion};
use golive_core::monitor::verdict::VerdictKind;
use serde_json::json;

const STEPS: [&str; 5] = ["preflight", "snapshot", "rls-deploy", "smoke", "watch"];

fn target(t: usize, engine: EngineEvent) -> FleetEvent {
    FleetEvent::Target { target: t, engine }
}

fn step(t: usize, step: usize, state: StepState) -> FleetEvent {
    target(
        t,
        EngineEvent::StepState {
            step,
            state,
            attempt: 1,
            elapsed: None,
            detail: None,
        },
    )
}

/// Five targets in three waves: eu-1 passed (wave 1), wave 2 (eu-2, eu-3) at `rls-deploy`,
/// asking once for both.
fn mid_wave_two() -> FleetState {
    let mut state = FleetState::default();
    let mut events = vec![
        FleetEvent::FleetStarted {
            run_dir: PathBuf::from(".golive/runs/20261129-221500-ab12"),
            runbook: "Phase 2 go-live".into(),
            targets: ["eu-1", "eu-2", "eu-3", "us-1", "us-2"]
                .map(String::from)
                .to_vec(),
            waves: vec![
                Wave {
                    name: "wave-1".into(),
                    targets: vec![0],
                },
                Wave {
                    name: "wave-2".into(),
                    targets: vec![1, 2],
                },
                Wave {
                    name: "wave-3".into(),
                    targets: vec![3, 4],
                },
            ],
            steps: STEPS.map(String::from).to_vec(),
            first_step: 0,
            parallel: 2,
            resumed: false,
        },
        FleetEvent::WaveStarted { wave: 0 },
    ];
    for t in 0..3 {
        events.push(target(
            t,
            EngineEvent::Started {
                run: Box::new(run_info(None)),
            },
        ));
    }
    for s in 0..5 {
        events.push(step(0, s, StepState::Passed));
    }
    events.push(FleetEvent::TargetFinished {
        target: 0,
        outcome: Some(Outcome::Passed),
        message: "every step passed".into(),
    });
    events.push(FleetEvent::WaveStarted { wave: 1 });
    for t in [1, 2] {
        events.push(step(t, 0, StepState::Passed));
        events.push(step(t, 1, StepState::Passed));
        events.push(step(t, 2, StepState::AwaitingConfirmation));
    }
    events.push(target(
        2,
        EngineEvent::Output {
            step: 1,
            chunks: vec![
                OutputChunk {
                    stream: Stream::Stdout,
                    text: "pg_dump: dumping contents of table \"public.customers\"\npg_dump: \
                           saving encoding = UTF8"
                        .into(),
                },
                OutputChunk {
                    stream: Stream::Info,
                    text: "snapshot written to backups/phase2.dump (12 MB)".into(),
                },
            ],
        },
    ));
    events.push(FleetEvent::Ask {
        question: WaveQuestion {
            id: 1,
            wave: 1,
            wave_name: "wave-2".into(),
            step_id: "rls-deploy".into(),
            step: "rls-deploy".into(),
            kind: QuestionKind::Destructive,
            prompt: "DESTRUCTIVE: `rls-deploy` will run on every target of wave-2: eu-2, eu-3. \
                     Type `wave-2` to confirm."
                .into(),
            detail: "BEGIN;\nDROP POLICY IF EXISTS tenant_isolation ON customers;\nCOMMIT;".into(),
            targets: vec!["eu-2".into(), "eu-3".into()],
            expect_typed: Some("wave-2".into()),
        },
    });
    for e in events {
        state.apply(e);
    }
    state
}

fn draw(state: &FleetState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| super::fleet_view::draw(f, state, Theme::new(true)))
        .expect("draws");
    terminal
}

fn key(state: &mut FleetState, code: KeyCode) -> KeyOutcome {
    state.key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn the_matrix_and_the_wave_confirmation_at_80x24_and_200x60() {
    let mut state = mid_wave_two();
    for c in "wave-".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    for (w, h) in [(80, 24), (200, 60)] {
        let terminal = draw(&state, w, h);
        let text = text_of(&terminal);
        assert!(text.contains("wave-2: once for 2 target(s)"), "{text}");
        assert!(text.contains("targets: eu-2, eu-3"), "{text}");
        assert!(text.contains("> wave-█"), "{text}");
        assert!(text.contains("Enter"), "{text}");
        assert_snapshot!(format!("fleet_confirm_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn the_matrix_shows_each_targets_steps_and_the_selected_targets_output() {
    let mut state = mid_wave_two();
    key(&mut state, KeyCode::Esc);
    // The refusal halts the fleet: the wave's targets stop, wave 3 never starts.
    state.apply(FleetEvent::Halted {
        wave: 1,
        target: 1,
        reason: "`rls-deploy` was not confirmed".into(),
    });
    state.selected = 2;
    for (w, h) in [(80, 24), (200, 60)] {
        let terminal = draw(&state, w, h);
        let text = text_of(&terminal);
        let eu1 = text.lines().find(|l| l.contains("eu-1")).expect("eu-1 row");
        assert!(eu1.contains("✔ ✔ ✔ ✔ ✔"), "{eu1}");
        let eu3 = text
            .lines()
            .find(|l| l.contains("eu-3 "))
            .expect("eu-3 row");
        assert!(
            eu3.contains("✔ ✔ ? · ·") && eu3.contains("asks: rls-deploy"),
            "{eu3}"
        );
        let us2 = text.lines().find(|l| l.contains("us-2")).expect("us-2 row");
        assert!(us2.contains("waiting"), "{us2}");
        assert!(text.contains("eu-3 · output"), "{text}");
        assert!(
            text.contains("snapshot written to backups/phase2.dump"),
            "{text}"
        );
        assert!(text.contains("HALTED: target `eu-2`"), "{text}");
        assert_snapshot!(format!("fleet_halted_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn typing_the_wave_name_confirms_for_the_whole_wave_and_a_mistype_is_said() {
    let mut state = mid_wave_two();
    for c in "wave-3".chars() {
        assert_eq!(key(&mut state, KeyCode::Char(c)), KeyOutcome::None);
    }
    assert_eq!(
        key(&mut state, KeyCode::Enter),
        KeyOutcome::Send(FleetCommand::Answer {
            id: 1,
            answer: Answer::Confirm {
                typed: "wave-3".into()
            }
        })
    );
    assert!(state.dialog.is_none());
    // The driver asks again: the console says it was mistyped.
    let mut again = mid_wave_two().dialog.expect("dialog").question;
    again.id = 2;
    state.apply(FleetEvent::Ask { question: again });
    assert!(state.dialog.as_ref().expect("asked again").mistyped);
    for c in "wave-2".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    assert_eq!(
        key(&mut state, KeyCode::Enter),
        KeyOutcome::Send(FleetCommand::Answer {
            id: 2,
            answer: Answer::Confirm {
                typed: "wave-2".into()
            }
        })
    );
    // Without a dialog, q stops every target first, and quits the second time.
    assert_eq!(
        key(&mut state, KeyCode::Char('q')),
        KeyOutcome::Send(FleetCommand::Interrupt)
    );
    assert_eq!(key(&mut state, KeyCode::Char('q')), KeyOutcome::Quit);
}

#[test]
fn the_pause_between_waves_counts_down_in_the_header() {
    let mut state = mid_wave_two();
    state.dialog = None;
    state.apply(FleetEvent::Pause {
        next: 2,
        left: Duration::from_millis(59_400),
        watching: false,
    });
    let text = text_of(&draw(&state, 80, 24));
    assert!(text.contains("pause: wave-3 starts in 1m"), "{text}");
    assert_eq!(
        state.pane,
        Pane::Matrix,
        "a plain wait has nothing to watch"
    );
}

/// A snapshot in the `golive monitor --json` shape: the 5xx ratio `five`, the rest well.
fn snapshot(five: Option<f64>) -> serde_json::Value {
    let state = match five {
        None => "nodata",
        Some(v) if v >= 0.05 => "crit",
        Some(v) if v >= 0.01 => "warn",
        Some(_) => "ok",
    };
    let panel = |id: &str, state: &str, value: Option<f64>| json!({"id": id, "state": state, "value": value, "warn": 0.01, "crit": 0.05});
    json!({
        "at": "2026-11-30T02:00:00Z",
        "window_seconds": 60,
        "panels": [
            {"id": "http_5xx_ratio", "state": state, "value": five, "warn": 0.01, "crit": 0.05,
             "detail": five.filter(|v| *v >= 0.05).map(|_| "route /api/invoices/<int:invoice_id>/items: 0.30")},
            panel("http_4xx_ratio", "ok", Some(0.031)),
            panel("catalog_304_ratio", "ok", Some(0.51)),
            panel("rls_denials", "ok", Some(0.0)),
            {"id": "add_to_invoice_p95_seconds", "state": "ok", "value": 0.21, "warn": 0.5, "crit": 1.0},
            panel("isolation_canary", "ok", Some(0.0)),
        ],
        "sources": [{"name": "scrape", "ok": true, "age_seconds": 1}],
    })
}

/// Wave 2 done (eu-1, eu-2, eu-3 live); the watch before wave-3 sees eu-3 critical, eu-2
/// without data, eu-1 well; us-1 and us-2 not watched yet.
fn watching_before_wave_three() -> FleetState {
    let mut state = mid_wave_two();
    state.dialog = None;
    state.apply(FleetEvent::Pause {
        next: 2,
        left: Duration::from_secs(240),
        watching: true,
    });
    for (t, five) in [(0, Some(0.0)), (1, None), (2, Some(0.112))] {
        state.apply(FleetEvent::Watch {
            target: t,
            snapshot: snapshot(five),
        });
    }
    state.selected = 0;
    state
}

#[test]
fn the_dashboard_has_a_row_per_target_worst_first_at_80x24_and_200x60() {
    let state = watching_before_wave_three();
    assert_eq!(
        state.pane,
        Pane::Dashboard,
        "the watch brings up the dashboard"
    );
    assert_eq!(state.worst_first(), vec![2, 1, 0, 3, 4]);
    for (w, h) in [(80, 24), (200, 60)] {
        let terminal = draw(&state, w, h);
        let text = text_of(&terminal);
        let rows: Vec<&str> = ["eu-1 ", "eu-2 ", "eu-3 ", "us-1 ", "us-2 "]
            .iter()
            .map(|name| {
                text.lines()
                    .find(|l| l.contains(name))
                    .expect("a row per target")
            })
            .collect();
        let line_of = |row: &str| text.lines().position(|l| l == row);
        // Worst first: eu-3 (critical), eu-2 (no data), eu-1 (well), then the unwatched.
        assert!(line_of(rows[2]) < line_of(rows[1]), "{text}");
        assert!(line_of(rows[1]) < line_of(rows[0]), "{text}");
        assert!(line_of(rows[0]) < line_of(rows[3]), "{text}");
        assert!(
            rows[2].contains("CRIT") && rows[2].contains("11.20%"),
            "{}",
            rows[2]
        );
        assert!(rows[1].contains("NO DATA"), "{}", rows[1]);
        assert!(
            rows[0].contains("OK") && rows[0].contains("210ms"),
            "{}",
            rows[0]
        );
        assert!(rows[3].contains("not watched yet (wave 3)"), "{}", rows[3]);
        assert!(text.contains("watching before wave-3: 4m left"), "{text}");
        assert!(text.contains("eu-1 · before wave-3"), "{text}");
        assert!(text.contains("d matrix"), "{text}");
        assert_snapshot!(format!("fleet_dashboard_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn the_dashboard_follows_its_order_and_shows_why_a_watch_failed() {
    let mut state = watching_before_wave_three();
    // Down from the worst row goes to the next worst, whatever the targets' order.
    state.selected = 2;
    key(&mut state, KeyCode::Down);
    assert_eq!(state.selected, 1);
    key(&mut state, KeyCode::Down);
    assert_eq!(state.selected, 0);
    state.apply(FleetEvent::Watched {
        next: 2,
        target: 2,
        verdict: VerdictKind::Breached,
        reasons: vec!["http_5xx_ratio is critical for 3 refreshes in a row".into()],
    });
    state.selected = 2;
    let text = text_of(&draw(&state, 80, 24));
    let row = text
        .lines()
        .find(|l| l.contains("eu-3 "))
        .expect("eu-3 row");
    assert!(row.contains("BREACHED"), "{row}");
    assert!(text.contains("watch breached"), "{text}");
    assert!(
        text.contains("because http_5xx_ratio is critical"),
        "{text}"
    );
    assert!(
        text.contains("/api/invoices/<int:invoice_id>/items: 0.30"),
        "{text}"
    );
    // d goes back to the matrix, and stays there while the same watch goes on.
    key(&mut state, KeyCode::Char('d'));
    assert_eq!(state.pane, Pane::Matrix);
    state.apply(FleetEvent::Pause {
        next: 2,
        left: Duration::from_secs(200),
        watching: true,
    });
    assert_eq!(state.pane, Pane::Matrix);
    // A target's own monitor step feeds its row too.
    state.apply(target(
        3,
        EngineEvent::Monitor {
            step: 4,
            snapshot: snapshot(Some(0.02)),
        },
    ));
    let watch = state.targets[3].watch.as_ref().expect("us-1 watched");
    assert_eq!(watch.from, "step watch");
    assert_eq!(state.worst_first()[..2], [2, 3]);
    // After the fleet run, eu-1 (passed) is live and polled; eu-3's row keeps its verdict.
    state.targets[2].status = TargetStatus::Finished(Some(Outcome::Passed));
    assert_eq!(state.live_targets(), vec![0, 2]);
    state.live_snapshot(2, snapshot(Some(0.0)));
    let eu3 = state.targets[2].watch.as_ref().expect("eu-3 watched");
    assert_eq!(eu3.from, super::fleet_state::LIVE);
    assert_eq!(eu3.snapshot.panels[0].value, Some(0.0));
    assert!(matches!(eu3.verdict, Some((VerdictKind::Breached, _))));
}
