//! App tests: engine events and keys in, commands out.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use super::App;
use super::app::View;
use super::event_loop::drive;
use super::state::dialog::Dialog;
use insta::assert_snapshot;

use super::test_fixtures::*;
use golive_core::events::{
    Answer, Command, Decision, EngineEvent, NoticeLevel, Outcome, StepState,
};

fn answer(id: u64, answer: Answer) -> Command {
    Command::Answer { id, answer }
}

#[test]
fn destructive_runs_only_with_the_exact_typed_name() {
    let mut app = started(None, 100, 30);
    apply(
        &mut app,
        vec![
            state(2, StepState::AwaitingConfirmation, None, None),
            destructive_question(9),
        ],
    );
    // Enter on nothing sends nothing; y is just a typed letter here.
    app.on_key(key(KeyCode::Enter));
    chars(&mut app, "y");
    assert!(app.take_commands().is_empty());
    chars(&mut app, "es");
    app.on_key(key(KeyCode::Enter));
    // The engine re-checks the text, journals the refusal and asks again.
    assert_eq!(
        app.take_commands(),
        vec![answer(
            9,
            Answer::Confirm {
                typed: "yes".into()
            }
        )]
    );
    let (_, message) = app.run.message.clone().expect("a message");
    assert!(message.contains("did not run"), "{message}");
    assert!(app.dialog.is_none());

    apply(&mut app, vec![destructive_question(10)]);
    chars(&mut app, "shopx");
    app.on_key(key(KeyCode::Backspace));
    app.on_key(key(KeyCode::Enter));
    assert_eq!(
        app.take_commands(),
        vec![answer(
            10,
            Answer::Confirm {
                typed: "shop".into()
            }
        )]
    );
    assert!(app.question.is_none());
}

#[test]
fn ctrl_n_refuses_a_destructive_step_after_a_confirmation() {
    let mut app = started(None, 100, 30);
    apply(
        &mut app,
        vec![
            state(2, StepState::AwaitingConfirmation, None, None),
            destructive_question(9),
        ],
    );
    chars(&mut app, "sh");
    let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
    app.on_key(ctrl_n);
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))));
    assert!(
        app.take_commands().is_empty(),
        "refusing is confirmed first"
    );
    app.on_key(key(KeyCode::Char('n')));
    match &app.dialog {
        Some(Dialog::Question(q)) => assert_eq!(q.typed, "sh", "n goes back, text kept"),
        other => panic!("expected the question again, got {other:?}"),
    }
    app.on_key(ctrl_n);
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(9, Answer::Refuse)]);
    assert!(app.question.is_none() && app.dialog.is_none());
    let (_, message) = app.run.message.clone().expect("a message");
    assert!(message.contains("Refused"), "{message}");
}

#[test]
fn a_resumed_run_shows_the_interrupted_step_and_asks_before_running_it_again() {
    let mut info = run_info(None);
    info.resumed = true;
    info.steps[0].state = StepState::Passed;
    info.steps[1].state = StepState::Interrupted;
    let mut app = App::new(&options(true), 100, 30);
    let rerun = |id| {
        EngineEvent::Ask {
        question: golive_core::events::Question {
            id,
            step: Some(1),
            kind: golive_core::events::QuestionKind::RerunInterrupted,
            prompt: "`snapshot` was interrupted in an earlier run and may have partly run. Run it again?"
                .to_string(),
            detail: "pg_dump -Fc \"$DATABASE_URL\" -f backups/phase2.dump".to_string(),
            expect_typed: None,
        },
    }
    };
    apply(
        &mut app,
        vec![
            EngineEvent::Started {
                run: Box::new(info),
            },
            rerun(3),
        ],
    );
    assert_eq!(
        app.checklist.selected, 1,
        "the interrupted step is selected"
    );
    let screen = format!("{}", draw(&app).backend());
    for text in [
        "(resumed)",
        "Interrupted earlier: Database snapshot",
        "may have partly run",
        "pg_dump -Fc",
    ] {
        assert!(screen.contains(text), "{text}:\n{screen}");
    }
    app.on_key(key(KeyCode::Enter));
    assert!(app.take_commands().is_empty(), "Enter never re-runs it");
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(
            3,
            Answer::Confirm {
                typed: String::new()
            }
        )]
    );
    apply(&mut app, vec![rerun(4)]);
    app.on_key(key(KeyCode::Char('n')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(4, Answer::Refuse)]);
}

#[test]
fn a_put_away_question_comes_back_with_enter() {
    let mut app = started(None, 100, 30);
    apply(&mut app, vec![destructive_question(1)]);
    app.on_key(key(KeyCode::Esc));
    assert!(app.dialog.is_none() && app.question.is_some());
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.dialog, Some(Dialog::Question(_))));
    assert!(app.take_commands().is_empty());
}

#[test]
fn gate_confirms_with_y_and_refusal_is_itself_confirmed() {
    let mut app = started(None, 100, 30);
    apply(&mut app, vec![gate_question(4)]);
    app.on_key(key(KeyCode::Enter));
    assert!(app.take_commands().is_empty(), "Enter never confirms");
    app.on_key(key(KeyCode::Char('n')));
    assert!(app.take_commands().is_empty());
    app.on_key(key(KeyCode::Char('n')));
    assert!(
        matches!(app.dialog, Some(Dialog::Question(_))),
        "n goes back"
    );
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(
            4,
            Answer::Confirm {
                typed: String::new()
            }
        )]
    );

    apply(&mut app, vec![gate_question(5)]);
    app.on_key(key(KeyCode::Char('n')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(5, Answer::Refuse)]);
}

#[test]
fn failure_choices_are_confirmed_before_they_are_sent() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    apply(
        &mut app,
        vec![
            state(1, StepState::Failed, Some(10), Some("exit 1")),
            failure_question(7),
        ],
    );
    app.on_key(key(KeyCode::Char('s')));
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))));
    assert!(app.take_commands().is_empty());
    app.on_key(key(KeyCode::Char('n')));
    assert!(matches!(app.dialog, Some(Dialog::Question(_))));
    // The dialog remembers the choice: Enter picks skip again.
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(7, Answer::Decide(Decision::Skip))]
    );

    apply(&mut app, vec![failure_question(8)]);
    app.on_key(key(KeyCode::Char('1')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(8, Answer::Decide(Decision::Rollback("fast".into())))]
    );
}

/// After a breach, `r` and Enter both lead to the recommended rollback, never to a retry of the
/// watch with the flags still on; retry is `t`, as everywhere.
#[test]
fn after_a_breach_r_and_enter_roll_back_and_t_retries() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    let rollback = Answer::Decide(Decision::Rollback("fast".into()));
    apply(&mut app, vec![breach_question(9)]);
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(9, rollback.clone())]);

    apply(&mut app, vec![breach_question(10)]);
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(10, rollback.clone())]);

    // Not a breach (the snapshot failed): `r` is still rollback; Enter defaults to retry.
    apply(&mut app, vec![failure_question(11)]);
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(11, rollback)]);

    apply(&mut app, vec![failure_question(12)]);
    app.on_key(key(KeyCode::Char('t')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(12, Answer::Decide(Decision::Retry))]
    );
}

#[test]
fn rollback_is_one_key_away_and_confirmed() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Enter));
    assert!(app.take_commands().is_empty());
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![Command::StartProcedure("fast".into())]
    );

    // During a failure question the picker answers it instead.
    apply(&mut app, vec![failure_question(3)]);
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(3, Answer::Decide(Decision::Rollback("fast".into())))]
    );
    assert!(app.question.is_none());
}

#[test]
fn quit_while_running_asks_then_interrupts_and_waits_for_the_engine() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    app.on_key(key(KeyCode::Char('q')));
    assert!(!app.should_exit());
    assert!(app.take_commands().is_empty());
    app.on_key(key(KeyCode::Char('n')));
    assert!(app.dialog.is_none() && !app.should_exit());
    app.on_key(key(KeyCode::Char('q')));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![Command::Interrupt]);
    assert!(!app.should_exit(), "waits for the engine to stop");
    apply(
        &mut app,
        vec![
            state(1, StepState::Interrupted, Some(50), None),
            EngineEvent::Finished {
                outcome: Outcome::Interrupted,
                message: "interrupted".into(),
            },
        ],
    );
    assert!(app.should_exit());
}

#[test]
fn quit_after_the_run_leaves_at_once() {
    let mut app = started(None, 100, 30);
    apply(
        &mut app,
        vec![EngineEvent::Finished {
            outcome: Outcome::Passed,
            message: "done".into(),
        }],
    );
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.should_exit());
    assert!(app.take_commands().is_empty());
}

#[test]
fn ctrl_c_asks_even_inside_a_dialog() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    apply(&mut app, vec![destructive_question(2)]);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))));
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![Command::Interrupt]);
}

#[test]
fn a_question_does_not_take_over_an_open_dialog() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    app.on_key(key(KeyCode::Char('r')));
    apply(&mut app, vec![gate_question(6)]);
    assert!(matches!(app.dialog, Some(Dialog::Procedures(_))));
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.dialog, Some(Dialog::Question(_))));
}

#[test]
fn selection_follows_the_running_step_until_the_operator_moves() {
    let mut app = started(None, 100, 30);
    running(&mut app);
    assert_eq!(app.checklist.selected, 1);
    app.on_key(key(KeyCode::Char('k')));
    assert_eq!(app.checklist.selected, 0);
    apply(
        &mut app,
        vec![
            state(1, StepState::Passed, Some(5), None),
            state(2, StepState::Running, None, None),
        ],
    );
    assert_eq!(app.checklist.selected, 0);
    app.on_key(key(KeyCode::Char('f')));
    assert_eq!(app.checklist.selected, 2);
}

#[test]
fn monitor_snapshots_switch_to_the_dashboard_and_d_toggles_back() {
    let mut app = started(None, 100, 30);
    apply(
        &mut app,
        vec![
            state(4, StepState::Running, None, None),
            monitor_snapshot(5),
        ],
    );
    assert_eq!(app.ui.view, View::Dashboard);
    app.on_key(key(KeyCode::Char('d')));
    assert_eq!(app.ui.view, View::Checklist);
    apply(&mut app, vec![monitor_snapshot(10)]);
    assert_eq!(
        app.ui.view,
        View::Checklist,
        "stays where the operator put it"
    );
    app.on_key(key(KeyCode::Char('d')));
    assert_eq!(app.ui.view, View::Dashboard);
    apply(
        &mut app,
        vec![state(4, StepState::Passed, Some(10_000), None)],
    );
    assert_eq!(app.ui.view, View::Checklist, "back when the watch is over");
}

#[test]
fn window_keys_change_the_dashboard_window_and_a_breach_is_its_banner() {
    let mut app = started(None, 100, 30);
    app.on_key(key(KeyCode::Char(']')));
    assert!(app.run.message.is_some(), "says where the window keys work");
    apply(
        &mut app,
        vec![
            state(4, StepState::Running, None, None),
            monitor_snapshot(5),
        ],
    );
    assert_eq!(app.dashboard.state.window(), 60);
    app.on_key(key(KeyCode::Char(']')));
    assert_eq!(app.dashboard.state.window(), 300);
    app.on_key(key(KeyCode::Char('[')));
    assert_eq!(app.dashboard.state.window(), 60);
    app.on_key(key(KeyCode::Char(']')));
    app.on_key(key(KeyCode::Char('w')));
    assert_eq!(app.dashboard.state.chosen_window, None);
    apply(
        &mut app,
        vec![state(
            4,
            StepState::Failed,
            Some(5_000),
            Some("http_5xx_ratio critical for 3 refreshes"),
        )],
    );
    let verdict = app.dashboard.verdict.as_ref().expect("the watch's verdict");
    assert!(verdict.failed);
    assert_eq!(verdict.text, "http_5xx_ratio critical for 3 refreshes");
    assert_eq!(app.ui.view, View::Dashboard, "a breach stays on screen");
}

fn typed_snapshot(five_xx: f64) -> golive_core::monitor::snapshot::Snapshot {
    let EngineEvent::Monitor { mut snapshot, .. } = monitor_snapshot(30) else {
        unreachable!("monitor_snapshot is a snapshot")
    };
    snapshot["panels"][0]["value"] = serde_json::json!(five_xx);
    snapshot["panels"][0]["state"] = serde_json::json!(if five_xx >= 0.05 { "crit" } else { "ok" });
    serde_json::from_value(snapshot).expect("a snapshot")
}

/// After a breach the dashboard stays live: the verdict is frozen as it was, the console's own
/// snapshots keep moving the numbers, and after the rollback it says what changed and where the
/// breaching panel is going; a retry of the watch hands the dashboard back to the watch.
#[test]
fn after_a_breach_the_dashboard_stays_live_and_says_what_changed() {
    let mut app = started(None, 100, 30);
    let t0 = std::time::Instant::now();
    apply(&mut app, vec![state(4, StepState::Running, None, None)]);
    app.apply(
        EngineEvent::Monitor {
            step: 4,
            snapshot: serde_json::to_value(typed_snapshot(0.107)).expect("json"),
        },
        t0,
    );
    assert!(
        !app.dashboard.wants_live(),
        "the watch feeds it while it runs"
    );
    app.apply(
        state(
            4,
            StepState::Failed,
            Some(20_000),
            Some("5xx ratio is 10.70% (crit 5.00%)"),
        ),
        t0,
    );
    assert!(
        app.dashboard.wants_live(),
        "the console polls once the watch ended"
    );
    for v in [0.08, 0.04, 0.01, 0.002] {
        app.live_snapshot(typed_snapshot(v));
    }
    let panel = &app.dashboard.state.panels()[0];
    assert_eq!(panel.value, Some(0.002), "the numbers move after the watch");
    app.apply(
        EngineEvent::Finished {
            outcome: Outcome::RolledBack,
            message: "rollback `fast` completed: Fast rollback: feature flags off".into(),
        },
        t0 + std::time::Duration::from_secs(5),
    );
    app.tick(t0 + std::time::Duration::from_secs(47));
    let live = app.dashboard.live_line().expect("a live line");
    assert!(
        live.contains("rollback `fast` completed 0:42 ago"),
        "{live}"
    );
    assert!(live.contains("5xx ratio 0.20% and falling"), "{live}");
    let verdict = app.dashboard.verdict_line().expect("the verdict");
    assert!(verdict.contains("FAILED: 5xx ratio is 10.70%"), "{verdict}");
    app.ui.view = View::Dashboard;
    assert_snapshot!(draw(&app).backend());

    apply(&mut app, vec![state(4, StepState::Running, None, None)]);
    assert!(!app.dashboard.wants_live() && app.dashboard.verdict.is_none());
}

#[test]
fn notices_stay_until_put_away() {
    let mut app = started(None, 100, 30);
    let rows = app.output_rows();
    apply(
        &mut app,
        vec![
            notice(NoticeLevel::Info, "go-live lock taken"),
            notice(NoticeLevel::Warn, "the runbook changed"),
        ],
    );
    assert_eq!(app.run.notices.len(), 2);
    assert_eq!(app.output_rows(), rows - 2, "the notices take two lines");
    apply(&mut app, vec![destructive_question(1)]);
    chars(&mut app, "shop");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.run.notices.len(), 2, "answering does not hide them");
    app.on_key(key(KeyCode::Char('x')));
    assert!(app.run.notices.is_empty());
    assert_eq!(app.output_rows(), rows);
}

#[test]
fn search_finds_next_and_previous() {
    let mut app = started(None, 100, 20);
    apply(
        &mut app,
        vec![
            state(0, StepState::Running, None, None),
            output(0, &["a", "needle 1", "b", "c", "NEEDLE 2", "d"]),
        ],
    );
    app.on_key(key(KeyCode::Char('/')));
    chars(&mut app, "needle");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.search.current, Some(1));
    app.on_key(key(KeyCode::Char('n')));
    assert_eq!(app.search.current, Some(4));
    app.on_key(key(KeyCode::Char('n')));
    assert_eq!(app.search.current, Some(1));
    app.on_key(key(KeyCode::Char('N')));
    assert_eq!(app.search.current, Some(4));
}

#[tokio::test]
async fn the_loop_drains_events_and_stops_cleanly_on_quit() {
    let (event_tx, mut events) = mpsc::channel(16);
    let (commands, mut command_rx) = mpsc::unbounded_channel();
    let (key_tx, key_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    let keys = tokio_stream_from(key_rx);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("backend");
    let mut app = super::App::new(&options(true), 100, 30);
    let driver = tokio::spawn(async move {
        let result = drive(
            &mut terminal,
            &mut app,
            keys,
            &mut events,
            &commands,
            std::future::pending(),
            Duration::from_millis(5),
        )
        .await;
        (result, app, terminal)
    });
    event_tx
        .send(EngineEvent::Started {
            run: Box::new(run_info(None)),
        })
        .await
        .expect("send");
    event_tx
        .send(state(0, StepState::Running, None, None))
        .await
        .expect("send");
    for i in 0..10 {
        event_tx
            .send(output(0, &[&format!("line {i}")]))
            .await
            .expect("send");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for c in ['q', 'y'] {
        key_tx
            .send(Ok(Event::Key(key(KeyCode::Char(c)))))
            .expect("key");
    }
    assert_eq!(command_rx.recv().await, Some(Command::Interrupt));
    event_tx
        .send(EngineEvent::Finished {
            outcome: Outcome::Interrupted,
            message: "stopped".into(),
        })
        .await
        .expect("send");
    let (result, app, terminal) = driver.await.expect("joins");
    result.expect("loop ends without error");
    assert_eq!(app.outputs.step(0).total(), 10);
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("line 9"), "{screen}");
}

fn tokio_stream_from(
    mut rx: mpsc::UnboundedReceiver<io::Result<Event>>,
) -> impl futures_util::Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))).boxed()
}

#[test]
fn an_inconclusive_watch_asks_to_accept_it_and_y_accepts_n_declines() {
    let ask = |id| EngineEvent::Ask {
        question: golive_core::events::Question {
            id,
            step: Some(1),
            kind: golive_core::events::QuestionKind::Inconclusive {
                reason: "APP_METRICS_URL http://app:9/metrics never answered".into(),
            },
            prompt: "The watch `monitor` was inconclusive: APP_METRICS_URL http://app:9/metrics \
                     never answered. Accept it as passed?"
                .into(),
            detail: "A watch passes only when every source answered and every panel had data."
                .into(),
            expect_typed: None,
        },
    };
    let mut app = started(None, 100, 30);
    apply(&mut app, vec![ask(5)]);
    let screen = format!("{}", draw(&app).backend());
    for text in ["Watch inconclusive", "never answered", "accept as passed"] {
        assert!(screen.contains(text), "{text}:\n{screen}");
    }
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.take_commands(),
        vec![answer(
            5,
            Answer::Confirm {
                typed: String::new()
            }
        )]
    );
    apply(&mut app, vec![ask(6)]);
    app.on_key(key(KeyCode::Char('n')));
    let screen = format!("{}", draw(&app).backend());
    assert!(
        screen.contains("retry, skip, abort or roll back"),
        "{screen}"
    );
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.take_commands(), vec![answer(6, Answer::Refuse)]);
}

/// `golive monitor` full screen: the console's own app, alone: a header saying what it watches,
/// a breach as its line with the way to roll back, `r` saying how, `q` leaving at once.
#[test]
fn the_dashboard_alone_says_what_it_watches_and_a_breach() {
    let mut app = App::new(&options(true), 100, 30);
    let cfg = golive_core::monitor::config::MonitorConfig::from_table(
        None,
        &golive_core::runbook::Vars::default(),
        &|_| None,
    )
    .expect("built-in configuration");
    let watching = super::monitor::Watching {
        source: "runbook.toml".into(),
        notes: vec!["traffic: scraping http://127.0.0.1:8080/metrics".into()],
        rollback: Some("golive run runbook.toml --procedure fast".into()),
    };
    app.watch_alone(cfg, watching, std::time::Instant::now());
    assert!(app.live_watch().is_some(), "it polls from the start");
    for _ in 0..6 {
        app.live_snapshot(typed_snapshot(0.107));
    }
    let verdict = app.dashboard.verdict_line().expect("the breach");
    assert!(verdict.starts_with("BREACH"), "{verdict}");
    assert!(
        verdict.contains("golive run runbook.toml --procedure fast"),
        "{verdict}"
    );
    app.on_key(key(KeyCode::Char('r')));
    let said = app.run.message.clone().expect("how to roll back").1;
    assert!(said.contains("--procedure fast"), "{said}");
    assert_snapshot!(draw(&app).backend());
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.should_exit(), "nothing to stop: q leaves");
}
