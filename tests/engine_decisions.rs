//! The engine's contract with a front end, driven through the library as the console drives it:
//! a wrong typed confirmation is refused and journaled and the step does not run; the right one
//! runs it; after a failure, skip, retry and a rollback procedure are journaled decisions; a
//! procedure can be started while a step runs.

mod common;

use std::time::Duration;

use common::{Db, TempDir, value};
use golive::engine::{self, EngineConfig, EngineHandle, Selection};
use golive::events::RunMode;
use golive::events::{Answer, Command, Decision, EngineEvent, Outcome, QuestionKind};
use golive::runbook::{self, Vars};

fn start(rt: &tokio::runtime::Runtime, path: &std::path::Path, db: &Db) -> EngineHandle {
    let runbook = runbook::load(path).expect("runbook");
    let url = db.owner_url();
    let vars = Vars::resolve(&runbook, |name| {
        (name == "DATABASE_URL").then(|| url.clone())
    })
    .expect("vars");
    rt.block_on(engine::start(EngineConfig {
        runbook,
        vars,
        selection: Selection::All,
        resume: false,
        mode: RunMode::Run,
        pace: std::time::Duration::ZERO,
        approved_on_command_line: false,
        place: None,
        halt: None,
    }))
    .expect("engine starts")
}

/// Feed answers from `answer` until the run finishes; return the outcome.
fn drive(
    rt: &tokio::runtime::Runtime,
    mut handle: EngineHandle,
    mut answer: impl FnMut(&EngineEvent) -> Option<Command>,
) -> Outcome {
    rt.block_on(async {
        while let Some(event) = tokio::time::timeout(Duration::from_secs(30), handle.events.recv())
            .await
            .expect("the engine went quiet")
        {
            if let Some(command) = answer(&event) {
                handle.commands.send(command).expect("engine listens");
            }
        }
        handle.done.await.expect("engine task")
    })
}

fn journal(dir: &TempDir) -> String {
    std::fs::read_to_string(common::latest_run(dir.path()).join("journal.jsonl")).expect("journal")
}

const HEADER: &str = "[runbook]\nname = \"decisions\"\n\n[vars]\nDATABASE_URL = { required = true, secret = true }\n\n";

/// A runbook of one destructive step: `DELETE FROM services`.
fn wipe_services(dir: &TempDir) -> std::path::PathBuf {
    dir.write(
        "runbook.toml",
        &format!(
            "{HEADER}[[steps]]\nid = \"wipe\"\ntitle = \"Wipe services\"\nkind = \"sql\"\n\
             database = \"DATABASE_URL\"\nsql = \"DELETE FROM services\"\ndestructive = true\n"
        ),
    )
}

#[test]
fn a_wrong_typed_name_refuses_and_the_right_one_runs_the_destructive_step() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("typed");
    let path = wipe_services(&dir);
    let handle = start(&rt, &path, &db);
    let mut asked = 0;
    let mut prompts = Vec::new();
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Ask { question } if question.kind == QuestionKind::Destructive => {
            asked += 1;
            prompts.push(question.prompt.clone());
            assert_eq!(question.expect_typed.as_deref(), Some(db.name.as_str()));
            assert!(
                question.detail.contains("DELETE FROM services"),
                "{}",
                question.detail
            );
            let typed = if asked == 1 {
                "production".to_string()
            } else {
                db.name.clone()
            };
            if asked == 1 {
                // Nothing may have run yet (checked from another thread: this one drives the
                // engine).
                let url = db.admin_url();
                let left =
                    std::thread::spawn(move || value(&url, "SELECT count(*) > 0 FROM services"))
                        .join()
                        .expect("check");
                assert_eq!(left.as_deref(), Some("t"));
            }
            Some(Command::Answer {
                id: question.id,
                answer: Answer::Confirm { typed },
            })
        }
        _ => None,
    });
    assert_eq!(outcome, Outcome::Passed);
    assert_eq!(asked, 2, "the wrong name must be asked again");
    assert!(prompts[0].contains("app_owner@127.0.0.1"), "{}", prompts[0]);
    assert_eq!(
        value(&db.admin_url(), "SELECT count(*) FROM services").as_deref(),
        Some("0")
    );
    let j = journal(&dir);
    // A typo is not a refusal: it is journaled as mistyped, and the change record says so.
    assert!(
        common::has_record(&j, r#""event":"mistyped","step":"wipe""#),
        "{j}"
    );
    assert!(!common::has_record(&j, r#""event":"refused""#), "{j}");
    assert!(j.contains("typed `production`"), "{j}");
    let record = golive::report::markdown(
        &golive::report::build(&common::latest_run(dir.path())).expect("report"),
    );
    assert!(record.contains("confirmation mistyped"), "{record}");
    assert!(!record.contains("REFUSED"), "{record}");
    assert!(
        common::has_record(&j, r#""event":"confirmed","step":"wipe""#),
        "{j}"
    );
    assert!(j.contains("(typed the target's name)"), "{j}");
}

/// A fleet's answer for a whole wave is checked by the engine as strictly as a typed one (the
/// text the target expects), and journaled as given for the wave, not as a typed name.
#[test]
fn a_wave_confirmation_is_checked_like_a_typed_one_and_journaled_for_the_wave() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("for-wave");
    let path = wipe_services(&dir);
    let handle = start(&rt, &path, &db);
    let mut asked = 0;
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Ask { question } if question.kind == QuestionKind::Destructive => {
            asked += 1;
            let typed = if asked == 1 {
                "wave-2".to_string()
            } else {
                db.name.clone()
            };
            Some(Command::Answer {
                id: question.id,
                answer: Answer::ConfirmForWave {
                    typed,
                    wave: "wave-2".into(),
                    by: "root (typed `wave-2`)".into(),
                },
            })
        }
        _ => None,
    });
    assert_eq!(outcome, Outcome::Passed);
    assert_eq!(
        asked, 2,
        "a wave answer without the target's text is asked again"
    );
    let j = journal(&dir);
    assert!(
        common::has_record(&j, r#""event":"mistyped","step":"wipe""#),
        "{j}"
    );
    let confirmed = j
        .lines()
        .find(|l| l.contains(r#""event":"confirmed""#))
        .unwrap_or_else(|| panic!("no confirmation: {j}"));
    assert!(
        confirmed.contains(r#""by":"root (typed `wave-2`), once for fleet wave `wave-2`""#),
        "{confirmed}"
    );
    assert!(confirmed.contains(r#""for_wave":"wave-2""#), "{confirmed}");
    assert!(!confirmed.contains("target's name"), "{confirmed}");
}

#[test]
fn skip_and_retry_after_a_failure_are_journaled_decisions() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("skip");
    let flag = dir.join("second-try");
    let path = dir.write(
        "runbook.toml",
        &format!(
            "{HEADER}[[steps]]\nid = \"flaky\"\ntitle = \"Fails once\"\nkind = \"shell\"\n\
             run = \"if [ -f {flag} ]; then echo ok; else touch {flag}; exit 4; fi\"\n\n\
             [[steps]]\nid = \"broken\"\ntitle = \"Always fails\"\nkind = \"shell\"\nrun = \"exit 5\"\n\n\
             [[steps]]\nid = \"last\"\ntitle = \"Runs after the skip\"\nkind = \"shell\"\nrun = \"echo last\"\n",
            flag = flag.display()
        ),
    );
    let handle = start(&rt, &path, &db);
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Ask { question } => match &question.kind {
            QuestionKind::Failure { error, .. } if error.contains("exit code 4") => {
                Some(Command::Answer {
                    id: question.id,
                    answer: Answer::Decide(Decision::Retry),
                })
            }
            QuestionKind::Failure { .. } => Some(Command::Answer {
                id: question.id,
                answer: Answer::Decide(Decision::Skip),
            }),
            _ => None,
        },
        _ => None,
    });
    assert_eq!(outcome, Outcome::Passed);
    let j = journal(&dir);
    assert!(
        common::has_record(&j, r#""event":"confirmed","step":"flaky","what":"retry""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""step":"flaky","state":"passed""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""event":"confirmed","step":"broken","what":"skip""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""step":"broken","state":"skipped""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""step":"last","state":"passed""#),
        "{j}"
    );
}

#[test]
fn a_rollback_chosen_after_a_failure_runs_and_ends_the_run_rolled_back() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("rollback");
    let path = dir.write(
        "runbook.toml",
        &format!(
            "{HEADER}[flags]\nprovider = \"sql\"\ndatabase = \"DATABASE_URL\"\ntable = \"feature_flags\"\n\n\
             [[steps]]\nid = \"on\"\ntitle = \"Flags on\"\nkind = \"flags\"\nset = {{ catalog_api_v2 = true }}\n\n\
             [[steps]]\nid = \"check\"\ntitle = \"Fails\"\nkind = \"shell\"\nrun = \"exit 1\"\n\n\
             [[rollback]]\nid = \"fast\"\ntitle = \"Flags off\"\n\
             [[rollback.steps]]\nid = \"off\"\ntitle = \"Flags off\"\nkind = \"flags\"\nset = {{ catalog_api_v2 = false }}\n"
        ),
    );
    let handle = start(&rt, &path, &db);
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Ask { question } => match &question.kind {
            QuestionKind::Failure { rollbacks, .. } => {
                assert_eq!(rollbacks, &vec!["fast".to_string()]);
                Some(Command::Answer {
                    id: question.id,
                    answer: Answer::Decide(Decision::Rollback("fast".into())),
                })
            }
            _ => None,
        },
        _ => None,
    });
    assert_eq!(outcome, Outcome::RolledBack);
    assert_eq!(
        value(
            &db.admin_url(),
            "SELECT enabled::text FROM feature_flags WHERE name = 'catalog_api_v2'"
        )
        .as_deref(),
        Some("false")
    );
    let j = journal(&dir);
    assert!(
        common::has_record(&j, r#""event":"procedure_started","procedure":"fast""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""step":"fast/off","state":"passed""#),
        "{j}"
    );
    assert!(common::has_record(&j, r#""outcome":"rolled_back""#), "{j}");
}

const PROBE: &str = "[[diagnostics]]\nid = \"probe\"\ntitle = \"A check\"\n\
    [[diagnostics.steps]]\nid = \"count\"\ntitle = \"Count\"\nkind = \"sql\"\n\
    database = \"DATABASE_URL\"\nsql = \"SELECT count(*) FROM customers\"\nexpect = { value = \"120\" }\n";

/// A diagnostic is read-only: started while a step runs, it does not stop the step; it runs
/// when the step ends, and the run goes on to pass.
#[test]
fn a_diagnostic_started_mid_step_does_not_stop_it() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("midstep");
    let path = dir.write(
        "runbook.toml",
        &format!(
            "{HEADER}[[steps]]\nid = \"long\"\ntitle = \"Long\"\nkind = \"shell\"\nrun = \"echo started; sleep 1; echo done\"\n\n{PROBE}"
        ),
    );
    let handle = start(&rt, &path, &db);
    let mut sent = false;
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Output { chunks, .. }
            if !sent && chunks.iter().any(|c| c.text.contains("started")) =>
        {
            sent = true;
            Some(Command::StartProcedure("probe".into()))
        }
        _ => None,
    });
    assert_eq!(outcome, Outcome::Passed);
    let j = journal(&dir);
    assert!(
        common::has_record(&j, r#""step":"long","state":"passed""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""step":"probe/count","state":"passed""#),
        "{j}"
    );
    assert!(common::has_record(&j, r#""kind":"diagnostic""#), "{j}");
}

/// The failure dialog's diagnostic runs beside the failed step: the same question comes back
/// afterwards, a retry passes, and the journal and the change record call it a diagnostic and
/// show both attempts with the failure's cause and the retry.
#[test]
fn a_diagnostic_during_a_failure_then_a_retry_that_passes() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("diag-retry");
    let once = dir.path().join("failed-once");
    let path = dir.write(
        "runbook.toml",
        &format!(
            "{HEADER}[[steps]]\nid = \"flaky\"\ntitle = \"Flaky\"\nkind = \"shell\"\n\
             run = \"test -e '{once}' || {{ touch '{once}'; echo 'FAIL-OPEN: customers' >&2; exit 3; }}\"\n\n{PROBE}",
            once = once.display()
        ),
    );
    let handle = start(&rt, &path, &db);
    let mut failure_asks = Vec::new();
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Ask { question } if matches!(question.kind, QuestionKind::Failure { .. }) => {
            failure_asks.push(question.id);
            if failure_asks.len() == 1 {
                Some(Command::StartProcedure("probe".into()))
            } else {
                Some(Command::Answer {
                    id: question.id,
                    answer: Answer::Decide(Decision::Retry),
                })
            }
        }
        _ => None,
    });
    assert_eq!(
        outcome,
        Outcome::Passed,
        "the run goes on after the diagnostic"
    );
    assert_eq!(
        failure_asks.len(),
        2,
        "the same question comes back after the diagnostic"
    );
    assert_eq!(failure_asks[0], failure_asks[1]);
    let j = journal(&dir);
    assert!(common::has_record(&j, r#""procedure":"probe""#), "{j}");
    assert!(common::has_record(&j, r#""kind":"diagnostic""#), "{j}");
    assert!(
        common::has_record(&j, r#""step":"probe/count","state":"passed""#),
        "{j}"
    );
    assert!(
        common::has_record(&j, r#""step":"flaky","state":"passed""#),
        "{j}"
    );

    let record = golive::report::markdown(
        &golive::report::build(&common::latest_run(dir.path())).expect("report"),
    );
    assert!(record.contains("diagnostic `probe` started"), "{record}");
    assert!(!record.contains("rollback `probe`"), "{record}");
    assert!(record.contains("| 2 (1 failed) |"), "{record}");
    assert!(record.contains("## Attempts"), "{record}");
    let attempts = &record[record.find("## Attempts").expect("attempts")..];
    assert!(
        attempts.contains("attempt 1") && attempts.contains("**failed**"),
        "{attempts}"
    );
    assert!(attempts.contains("→ then retry (decided by"), "{attempts}");
    assert!(
        attempts.contains("attempt 2") && attempts.contains("**passed**"),
        "{attempts}"
    );
}

#[test]
fn a_passed_rehearsal_gives_a_later_run_its_expected_durations_and_a_changed_runbook_is_named() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("expected");
    let body = format!(
        "{HEADER}[[steps]]\nid = \"nap\"\ntitle = \"Nap\"\nkind = \"shell\"\nrun = \"sleep 0.3\"\n"
    );
    let path = dir.write("runbook.toml", &body);
    let start_as = |mode: RunMode| {
        let runbook = runbook::load(&path).expect("runbook");
        let url = db.owner_url();
        let vars =
            Vars::resolve(&runbook, |n| (n == "DATABASE_URL").then(|| url.clone())).expect("vars");
        rt.block_on(engine::start(EngineConfig {
            runbook,
            vars,
            selection: Selection::All,
            resume: false,
            mode,
            pace: std::time::Duration::ZERO,
            approved_on_command_line: false,
            place: None,
            halt: None,
        }))
        .expect("engine")
    };
    assert_eq!(
        drive(&rt, start_as(RunMode::Rehearse), |_| None),
        Outcome::Passed
    );

    let mut expected = None;
    let mut notices = Vec::new();
    let outcome = drive(&rt, start_as(RunMode::Run), |event| {
        match event {
            EngineEvent::Started { run } => {
                expected = Some((run.expected_total, run.steps[0].expected))
            }
            EngineEvent::Notice { text, .. } => notices.push(text.clone()),
            _ => {}
        }
        None
    });
    assert_eq!(outcome, Outcome::Passed);
    let (total, step) = expected.expect("started");
    let step = step.expect("the step's expected duration from the rehearsal");
    assert!(step >= Duration::from_millis(300), "{step:?}");
    assert_eq!(total, Some(step));
    assert!(
        !notices
            .iter()
            .any(|n| n.contains("changed since its last rehearsal")),
        "{notices:?}"
    );

    // Edit the runbook: the next run is told it was not rehearsed as it stands.
    std::fs::write(&path, body.replace("sleep 0.3", "sleep 0.1")).expect("edit");
    let mut notices = Vec::new();
    drive(&rt, start_as(RunMode::Run), |event| {
        if let EngineEvent::Notice { text, .. } = event {
            notices.push(text.clone());
        }
        None
    });
    assert!(
        notices
            .iter()
            .any(|n| n.contains("the runbook changed since its last rehearsal")),
        "{notices:?}"
    );
}

/// Before anything changed the system, a failure offers no rollback: after a failed snapshot
/// there is nothing to restore, and no snapshot to restore from.
#[test]
fn no_rollback_is_offered_before_anything_changed() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Db::phase1();
    let dir = TempDir::new("no-restore");
    let path = dir.write(
        "runbook.toml",
        &format!(
            "{HEADER}[[steps]]\nid = \"snapshot\"\ntitle = \"Snapshot\"\nkind = \"shell\"\n\
             run = \"echo 'pg_dump: error: permission denied' >&2; echo 'pg_dump: detail: Query was: LOCK TABLE x' >&2; exit 1\"\n\n\
             [[rollback]]\nid = \"restore\"\ntitle = \"Restore\"\n\
             [[rollback.steps]]\nid = \"r\"\ntitle = \"Restore\"\nkind = \"shell\"\nrun = \"true\"\n"
        ),
    );
    let handle = start(&rt, &path, &db);
    let mut offered = None;
    let mut error = String::new();
    let outcome = drive(&rt, handle, |event| match event {
        EngineEvent::Ask { question } => {
            if let QuestionKind::Failure {
                rollbacks,
                error: e,
            } = &question.kind
            {
                offered = Some(rollbacks.clone());
                error = e.clone();
            }
            Some(Command::Answer {
                id: question.id,
                answer: Answer::Decide(Decision::Abort),
            })
        }
        _ => None,
    });
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(
        offered,
        Some(Vec::new()),
        "no restore after a failed snapshot"
    );
    assert!(
        error.contains("permission denied") && !error.contains("Query was"),
        "the cause, not the query: {error}"
    );
}
