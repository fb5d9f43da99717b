//! Snapshot tests of the views through ratatui's `TestBackend`: one per state the operator meets.

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use ratatui::style::Color;

use super::test_fixtures::*;
use crate::App;
use golive_core::events::{EngineEvent, NoticeLevel, Outcome, StepState};

#[test]
fn waiting_for_the_engine() {
    let app = App::new(&options(true), 100, 16);
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn idle_after_start() {
    let app = started(Some("staging"), 120, 24);
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn running_with_output() {
    let mut app = started(Some("staging"), 120, 24);
    running(&mut app);
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn failed_step_with_choices() {
    let mut app = started(Some("staging"), 120, 30);
    running(&mut app);
    apply(
        &mut app,
        vec![
            output(1, &["pg_dump: error: connection refused"]),
            state(1, StepState::Failed, Some(4200), Some("exit 1")),
            failure_question(7),
        ],
    );
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn failed_step_output_after_the_dialog_is_put_away() {
    let mut app = started(Some("staging"), 120, 24);
    running(&mut app);
    apply(
        &mut app,
        vec![
            output(1, &["pg_dump: error: connection refused"]),
            state(1, StepState::Failed, Some(4200), Some("exit 1")),
            failure_question(7),
        ],
    );
    app.on_key(key(KeyCode::Esc));
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn destructive_confirmation() {
    let mut app = started(Some("staging"), 120, 30);
    running(&mut app);
    apply(
        &mut app,
        vec![
            state(1, StepState::Passed, Some(61_000), Some("exit 0")),
            state(2, StepState::AwaitingConfirmation, None, None),
            destructive_question(3),
        ],
    );
    chars(&mut app, "sho");
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn gate() {
    let mut app = started(None, 100, 24);
    apply(
        &mut app,
        vec![
            state(3, StepState::AwaitingConfirmation, None, None),
            gate_question(4),
        ],
    );
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn help_overlay() {
    let mut app = started(Some("staging"), 100, 30);
    app.on_key(key(KeyCode::Char('?')));
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn help_overlay_at_80x24_shows_every_binding() {
    let mut app = started(Some("staging"), 80, 24);
    app.on_key(key(KeyCode::Char('?')));
    let terminal = draw(&app);
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    for binding in [
        "ctrl-c",
        "ctrl-n",
        "Esc",
        "y confirm",
        "r roll back",
        "t retry",
        "a abort",
    ] {
        assert!(
            screen.contains(binding),
            "{binding} is cut off the help at 80x24"
        );
    }
    assert_snapshot!(terminal.backend());
}

#[test]
fn narrow_80x24() {
    let mut app = started(Some("staging"), 80, 24);
    running(&mut app);
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn narrow_80x24_destructive() {
    let mut app = started(Some("staging"), 80, 24);
    apply(
        &mut app,
        vec![
            state(2, StepState::AwaitingConfirmation, None, None),
            destructive_question(1),
        ],
    );
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn no_color_has_no_colour_and_still_shows_state() {
    let mut app = App::new(&options(false), 120, 24);
    apply(
        &mut app,
        vec![EngineEvent::Started {
            run: Box::new(run_info(Some("production"))),
        }],
    );
    running(&mut app);
    let terminal = draw(&app);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    assert_snapshot!(terminal.backend());
}

#[test]
fn production_is_framed_in_red() {
    let mut app = started(Some("production"), 100, 24);
    running(&mut app);
    let terminal = draw(&app);
    let buffer = terminal.backend().buffer();
    for (x, y) in [(0, 0), (99, 0), (0, 12), (99, 23), (50, 23)] {
        assert_eq!(buffer[(x, y)].fg, Color::Red, "frame cell at {x},{y}");
    }
    assert_snapshot!(terminal.backend());
}

#[test]
fn procedure_picker() {
    let mut app = started(Some("staging"), 100, 24);
    running(&mut app);
    app.on_key(key(KeyCode::Char('r')));
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn quit_while_running_asks() {
    let mut app = started(Some("staging"), 100, 24);
    running(&mut app);
    app.on_key(key(KeyCode::Char('q')));
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn dashboard_during_the_watch() {
    let mut app = started(Some("staging"), 100, 24);
    apply(
        &mut app,
        vec![
            state(4, StepState::Running, None, None),
            monitor_snapshot(5),
            monitor_snapshot(10),
        ],
    );
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn dashboard_without_colour_still_reads() {
    let mut app = App::new(&options(false), 100, 24);
    apply(
        &mut app,
        vec![
            EngineEvent::Started {
                run: Box::new(run_info(None)),
            },
            state(4, StepState::Running, None, None),
            monitor_snapshot(5),
            state(
                4,
                StepState::Failed,
                Some(5000),
                Some("http_5xx_ratio breached"),
            ),
        ],
    );
    let terminal = draw(&app);
    for cell in terminal.backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let screen = format!("{}", terminal.backend());
    assert!(
        screen.contains(
            "WATCH VERDICT (at 0:05 into the watch, frozen): FAILED: http_5xx_ratio breached"
        ),
        "{screen}"
    );
    assert!(screen.contains("WARN"), "{screen}");
}

#[test]
fn notices_are_on_screen_when_the_first_question_appears() {
    let mut app = started(None, 80, 24);
    apply(
        &mut app,
        vec![
            notice(
                NoticeLevel::Info,
                "go-live lock taken on golive@127.0.0.1:5432/shop by ops@bastion pid 4242",
            ),
            notice(
                NoticeLevel::Warn,
                "the runbook changed since its last rehearsal: what runs now was not rehearsed",
            ),
            state(2, StepState::AwaitingConfirmation, None, None),
            destructive_question(1),
        ],
    );
    let screen = format!("{}", draw(&app).backend());
    assert!(
        screen.contains("the runbook changed since its last rehearsal"),
        "{screen}"
    );
    assert!(screen.contains("DESTRUCTIVE"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn finished_run() {
    let mut app = started(Some("staging"), 100, 20);
    running(&mut app);
    apply(
        &mut app,
        vec![
            state(1, StepState::Passed, Some(3000), Some("exit 0")),
            EngineEvent::Finished {
                outcome: Outcome::Passed,
                message: "Run passed: 2 steps passed.".to_string(),
            },
        ],
    );
    assert_snapshot!(draw(&app).backend());
}

#[test]
fn search_highlights_and_scrolled_back_output_names_the_log() {
    let mut app = App::new(
        &crate::TuiOptions {
            output_cap: 50,
            ..options(true)
        },
        100,
        20,
    );
    apply(
        &mut app,
        vec![
            EngineEvent::Started {
                run: Box::new(run_info(None)),
            },
            state(0, StepState::Running, None, None),
        ],
    );
    let lines: Vec<String> = (0..200).map(|i| format!("row {i} of the dump")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    apply(&mut app, vec![output(0, &refs)]);
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Char('g')));
    let top = format!("{}", draw(&app).backend());
    assert!(
        top.contains("150 earlier lines are in the step's log"),
        "{top}"
    );
    assert!(
        top.contains("20261126-201500-ab12/steps/preflight.log"),
        "{top}"
    );
    assert!(top.contains("row 150 of"), "{top}");
    app.on_key(key(KeyCode::Char('/')));
    chars(&mut app, "row 16");
    app.on_key(key(KeyCode::Enter));
    assert_snapshot!(draw(&app).backend());
}
