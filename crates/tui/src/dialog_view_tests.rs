//! Every dialog at 80x24 (the smallest supported terminal) and 200x60: the input line and the key
//! line always show, the body scrolls, long lines wrap.

use crossterm::event::KeyCode;
use insta::assert_snapshot;

use super::test_fixtures::*;
use crate::App;
use golive_core::events::StepState;

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 60)];

/// Draws `setup`'s console at both sizes, snapshots each, and hands each screen to `check`.
fn at_both_sizes(name: &str, setup: impl Fn(&mut App), check: impl Fn(&str, (u16, u16))) {
    for (w, h) in SIZES {
        let mut app = started(Some("staging"), w, h);
        running(&mut app);
        setup(&mut app);
        let text = screen(&app);
        check(&text, (w, h));
        assert_snapshot!(format!("{name}_{w}x{h}"), draw(&app).backend());
    }
}

#[test]
fn typed_confirmation_with_a_long_sql_preview_keeps_the_input_in_sight() {
    at_both_sizes(
        "dialog_typed_long_sql",
        |app| {
            apply(
                app,
                vec![
                    state(2, StepState::AwaitingConfirmation, None, None),
                    long_sql_question(3),
                ],
            );
            chars(app, "sho");
        },
        |text, size| {
            assert!(
                text.contains("> sho█"),
                "typed text hidden at {size:?}:\n{text}"
            );
            assert!(
                text.contains("Enter run it"),
                "key line cut at {size:?}:\n{text}"
            );
            if size.1 == 24 {
                assert!(
                    text.contains("PgUp/PgDn scrolls"),
                    "says it scrolls:\n{text}"
                );
            }
        },
    );
}

#[test]
fn page_down_scrolls_the_sql_and_the_input_stays() {
    let mut app = started(Some("staging"), 80, 24);
    running(&mut app);
    apply(&mut app, vec![long_sql_question(3)]);
    chars(&mut app, "sh");
    let before = screen(&app);
    assert!(before.contains("table 1 of 60"), "{before}");
    for _ in 0..4 {
        app.on_key(key(KeyCode::PageDown));
    }
    chars(&mut app, "o");
    let after = screen(&app);
    assert!(!after.contains("table 1 of 60"), "scrolled:\n{after}");
    assert!(after.contains("table 30 of 60"), "scrolled:\n{after}");
    assert!(after.contains("> sho█"), "{after}");
    assert_snapshot!("dialog_typed_long_sql_scrolled_80x24", draw(&app).backend());
    for _ in 0..20 {
        app.on_key(key(KeyCode::PageDown));
    }
    let end = screen(&app);
    assert!(end.contains("COMMIT;"), "the end is reachable:\n{end}");
}

#[test]
fn breach_failure_dialog() {
    at_both_sizes(
        "dialog_breach",
        |app| {
            apply(
                app,
                vec![
                    state(4, StepState::Failed, Some(20_000), Some("breach")),
                    breach_question(9),
                ],
            );
        },
        |text, size| {
            assert!(
                text.contains("(recommended after a breach)"),
                "{size:?}:\n{text}"
            );
            assert!(
                text.contains("▸r  roll back"),
                "rollback is the default at {size:?}:\n{text}"
            );
            assert!(text.contains(" t  retry"), "{size:?}:\n{text}");
            assert!(
                text.contains("Esc put away"),
                "key line at {size:?}:\n{text}"
            );
        },
    );
}

#[test]
fn failure_choice_confirmation() {
    at_both_sizes(
        "dialog_failure_confirm",
        |app| {
            apply(app, vec![failure_question(7)]);
            app.on_key(key(KeyCode::Char('r')));
        },
        |text, size| assert!(text.contains("y yes"), "{size:?}:\n{text}"),
    );
}

#[test]
fn gate_dialog() {
    at_both_sizes(
        "dialog_gate",
        |app| apply(app, vec![gate_question(4)]),
        |text, size| assert!(text.contains("y confirm"), "{size:?}:\n{text}"),
    );
}

#[test]
fn quit_dialog() {
    at_both_sizes(
        "dialog_quit",
        |app| app.on_key(key(KeyCode::Char('q'))),
        |text, size| assert!(text.contains("n no, go back"), "{size:?}:\n{text}"),
    );
}

#[test]
fn procedure_picker_dialog() {
    at_both_sizes(
        "dialog_procedures",
        |app| app.on_key(key(KeyCode::Char('r'))),
        |text, size| assert!(text.contains("Enter start"), "{size:?}:\n{text}"),
    );
}

#[test]
fn help_overlay_dialog() {
    at_both_sizes(
        "dialog_help",
        |app| app.on_key(key(KeyCode::Char('?'))),
        |text, size| assert!(text.contains("t retry"), "{size:?}:\n{text}"),
    );
}

/// Mid-watch with the flags on: the quit dialog says so, says the watch stops, and gives the way
/// back; its key line is whole at 80x24.
fn mid_watch_with_flags_on(app: &mut App) {
    app.checklist.steps[3].info.kind = "flags".to_string();
    apply(
        app,
        vec![
            state(1, StepState::Passed, Some(4000), None),
            state(2, StepState::Passed, Some(2000), None),
            state(3, StepState::Passed, Some(300), None),
            state(4, StepState::Running, None, None),
        ],
    );
    app.on_key(key(KeyCode::Char('q')));
}

#[test]
fn quit_mid_watch_says_what_is_at_stake() {
    at_both_sizes(
        "dialog_quit_mid_watch",
        mid_watch_with_flags_on,
        |text, size| {
            assert!(text.contains("Feature flags stay ON"), "{size:?}:\n{text}");
            assert!(text.contains("The watch stops"), "{size:?}:\n{text}");
            assert!(text.contains("golive run --resume"), "{size:?}:\n{text}");
            assert!(text.contains("y yes  n no, go back"), "{size:?}:\n{text}");
        },
    );
}

#[test]
fn quitting_a_rehearsal_says_the_sandbox_goes_away() {
    let options = crate::TuiOptions {
        rehearsal: true,
        ..options(true)
    };
    let mut app = App::new(&options, 80, 24);
    apply(
        &mut app,
        vec![golive_core::events::EngineEvent::Started {
            run: Box::new(run_info(None)),
        }],
    );
    running(&mut app);
    mid_watch_with_flags_on(&mut app);
    let text = screen(&app);
    assert!(text.contains("the sandbox goes away"), "{text}");
    assert!(!text.contains("--resume"), "{text}");
}
