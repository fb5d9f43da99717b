//! The console watching a run (`golive attach`): every key that would answer, start or stop
//! something sends nothing; the question shows as waiting for the driver; navigation works.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::test_fixtures::*;
use crate::App;
use crate::app::View;
use golive_core::events::{EngineEvent, StepState};

fn watching(w: u16, h: u16) -> App {
    let options = crate::TuiOptions {
        observer: Some("alice".into()),
        ..options(false)
    };
    let mut app = App::new(&options, w, h);
    app.apply(
        EngineEvent::Started {
            run: Box::new(run_info(Some("staging"))),
        },
        Instant::now(),
    );
    running(&mut app);
    app
}

#[test]
fn a_watcher_sees_the_question_as_waiting_and_no_key_answers_it() {
    let mut app = watching(100, 30);
    apply(&mut app, vec![destructive_question(7)]);
    assert!(app.dialog.is_none(), "no dialog to answer in");
    let text = screen(&app);
    assert!(text.contains("waiting for alice's confirmation"), "{text}");
    assert!(
        text.contains("Destructive step: waiting for alice"),
        "{text}"
    );

    for code in [KeyCode::Enter, KeyCode::Char('y'), KeyCode::Char('r')] {
        app.on_key(key(code));
    }
    chars(&mut app, "shop");
    app.on_key(key(KeyCode::Enter));
    chars(&mut app, "1sa");
    assert!(app.take_commands().is_empty(), "a watcher sent a command");
    assert!(app.dialog.is_none(), "no key opened a dialog");
    assert!(app.question.is_some(), "the question stays the driver's");

    // The driver answered: the step runs, the question is gone.
    apply(&mut app, vec![state(2, StepState::Running, None, None)]);
    assert!(app.question.is_none());
    assert!(!screen(&app).contains("waiting for alice"));
}

#[test]
fn a_watcher_moves_around_and_leaves_at_once_while_the_run_goes_on() {
    let mut app = watching(100, 30);
    let before = app.checklist.selected;
    app.on_key(key(KeyCode::Up));
    assert_ne!(app.checklist.selected, before, "navigation works");
    apply(&mut app, vec![monitor_snapshot(10)]);
    assert_eq!(app.ui.view, View::Dashboard, "the dashboard shows");
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.should_exit(), "q leaves without stopping anything");
    assert!(app.take_commands().is_empty());

    let mut app = watching(100, 30);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_exit());
    assert!(app.take_commands().is_empty(), "ctrl-c interrupts nothing");
}
