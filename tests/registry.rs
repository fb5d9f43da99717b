//! The registry through the real binary against a real PostgreSQL: runs register into the lock
//! database's `golive` schema, `golive history` and `golive report --database-url` read them
//! back, no secret reaches it, and a registry that cannot be written warns, never stops the run,
//! and catches up from the local journal.

mod common;

use common::{Db, TempDir, latest_run, run, text, value};

const TOKEN: &str = "tok-s3cret-value-42";

fn runbook(dir: &TempDir, extra_header: &str, steps: &str) -> String {
    let body = format!(
        "[runbook]\nname = \"registry test\"\nlock = \"DATABASE_URL\"\n{extra_header}\n\
         [vars]\nDATABASE_URL = {{ required = true, secret = true }}\n\
         TOKEN = {{ required = true, secret = true }}\nFAIL = {{ default = \"0\" }}\n\n{steps}"
    );
    dir.write("runbook.toml", &body).display().to_string()
}

const STEPS: &str = r#"
[[steps]]
id = "hello"
title = "Say hello"
kind = "shell"
run = "echo hello"

[[steps]]
id = "wipe"
title = "Something destructive"
kind = "shell"
run = "true"
destructive = true

[[steps]]
id = "maybe"
title = "Fails when asked to, printing the token"
kind = "shell"
run = 'echo "token $TOKEN"; if [ "$FAIL" = 1 ]; then echo "token $TOKEN" >&2; exit 1; fi'

[[rollback]]
id = "back"
title = "Put it back"

[[rollback.steps]]
id = "undo"
title = "Undo"
kind = "shell"
run = "true"
"#;

fn golive(rb: &str, url: &str, fail: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", rb, "--headless", "--approve-all"];
    args.extend_from_slice(extra);
    run(
        &args,
        &[("DATABASE_URL", url), ("TOKEN", TOKEN), ("FAIL", fail)],
    )
}

fn run_id(dir: &TempDir) -> String {
    latest_run(dir.path())
        .file_name()
        .expect("run dir name")
        .to_string_lossy()
        .into_owned()
}

/// Lines of the journal up to and including `run_finished`.
fn journal_lines(dir: &TempDir) -> usize {
    let journal =
        std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).expect("journal");
    journal
        .lines()
        .position(|l| common::has_record(l, r#""event":"run_finished""#))
        .expect("run_finished in the journal")
        + 1
}

fn registered(url: &str, run: &str, up_to: usize) -> usize {
    value(
        url,
        &format!("SELECT count(*) FROM golive.events WHERE run_id = '{run}' AND seq <= {up_to}"),
    )
    .and_then(|v| v.parse().ok())
    .expect("count")
}

#[test]
fn history_lists_a_passed_a_failed_and_a_rolled_back_run_with_confirmations() {
    let db = Db::phase1();
    let url = db.admin_url();
    let dir = TempDir::new("registry-history");
    let rb = runbook(&dir, "", STEPS);

    let passed = golive(&rb, &url, "0", &[]);
    assert_eq!(passed.status.code(), Some(0), "{}", text(&passed));
    let passed_id = run_id(&dir);
    let lines = journal_lines(&dir);
    assert_eq!(
        registered(&url, &passed_id, lines),
        lines,
        "every journal record registered"
    );

    let failed = golive(&rb, &url, "1", &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let failed_id = run_id(&dir);

    let rolled = golive(&rb, &url, "0", &["--procedure", "back"]);
    assert_eq!(rolled.status.code(), Some(0), "{}", text(&rolled));
    let rolled_id = run_id(&dir);

    let out = run(&["history", "--database-url", &url, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("history json");
    let runs = runs.as_array().expect("an array of runs");
    let find = |id: &str| {
        runs.iter()
            .find(|r| r["run_id"] == id)
            .unwrap_or_else(|| panic!("{id} not in history: {runs:?}"))
    };
    assert_eq!(find(&passed_id)["outcome"], "passed");
    assert_eq!(find(&failed_id)["outcome"], "failed");
    assert_eq!(find(&rolled_id)["outcome"], "rolled_back");
    let first = find(&passed_id);
    assert_eq!(first["runbook"], "registry test");
    assert_eq!(first["mode"], "run");
    assert_eq!(first["runbook_sha256"].as_str().map(str::len), Some(64));
    assert!(first["finished_at"].is_string(), "{first}");
    let confirmations = first["confirmations"].as_array().expect("confirmations");
    assert!(
        confirmations.iter().any(|c| c["step"] == "wipe"),
        "the destructive step's confirmation is listed: {first}"
    );

    let secrets = value(
        &url,
        &format!(
            "SELECT count(*) FROM golive.events WHERE record::text LIKE '%{TOKEN}%' \
             OR run_id IN (SELECT run_id FROM golive.runs WHERE message LIKE '%{TOKEN}%')"
        ),
    );
    assert_eq!(
        secrets.as_deref(),
        Some("0"),
        "a secret reached the registry"
    );
    let history_text = run(&["history", "--database-url", &url], &[]);
    let history_text = text(&history_text);
    assert!(
        history_text.contains(&rolled_id) && history_text.contains("rolled_back"),
        "{history_text}"
    );

    let report = run(
        &[
            "report",
            "--database-url",
            &url,
            &failed_id,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("report json");
    assert_eq!(report["run_id"], failed_id.as_str());
    assert_eq!(report["outcome"], "failed");
    assert!(
        report["steps"].as_array().is_some_and(|s| s
            .iter()
            .any(|s| s["step"] == "maybe" && s["state"] == "failed")),
        "{report}"
    );
    let missing = run(&["report", "--database-url", &url, "no-such-run"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing).contains("golive history"),
        "{}",
        text(&missing)
    );
}

#[test]
fn a_registry_made_unwritable_mid_run_warns_and_catches_up() {
    let db = Db::phase1();
    let url = db.admin_url();
    let dir = TempDir::new("registry-unwritable");
    let steps = format!(
        r#"
[[steps]]
id = "one"
title = "One"
kind = "shell"
run = "true"

[[steps]]
id = "break"
title = "Make the registry unwritable"
kind = "shell"
run = '''psql "{url}" -v ON_ERROR_STOP=1 -c "ALTER DATABASE {name} SET default_transaction_read_only = on" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'golive registry'"'''

[[steps]]
id = "two"
title = "Two"
kind = "shell"
run = "true"

[[steps]]
id = "mend"
title = "Make it writable again"
kind = "shell"
run = '''psql "{url}" -v ON_ERROR_STOP=1 -c "SET default_transaction_read_only = off" -c "ALTER DATABASE {name} RESET default_transaction_read_only"'''

[[steps]]
id = "three"
title = "Three"
kind = "shell"
run = "true"
"#,
        name = db.name
    );
    let rb = runbook(&dir, "", &steps);
    let out = run(
        &["run", &rb, "--headless", "--json"],
        &[("DATABASE_URL", &url), ("TOKEN", TOKEN)],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "the run goes on: {log}");
    assert_eq!(
        log.matches("cannot write the registry").count(),
        1,
        "warned once: {log}"
    );
    let journal =
        std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).expect("journal");
    assert!(journal.contains("cannot write the registry"), "{journal}");
    assert!(log.contains("is written again"), "{log}");
    let id = run_id(&dir);
    let lines = journal_lines(&dir);
    assert_eq!(
        registered(&url, &id, lines),
        lines,
        "the registry caught up from the journal"
    );
    assert_eq!(
        value(
            &url,
            &format!("SELECT outcome FROM golive.runs WHERE run_id = '{id}'")
        )
        .as_deref(),
        Some("passed")
    );
}

#[test]
fn a_lock_role_without_create_warns_and_registers_once_a_dba_made_the_schema_for_it() {
    let db = Db::phase1();
    let dir = TempDir::new("registry-denied");
    let rb = runbook(&dir, "", STEPS);
    common::sql(
        &db.admin_url(),
        &format!(
            "REVOKE CREATE ON DATABASE {} FROM PUBLIC, app_owner",
            db.name
        ),
    );
    let owner = db.owner_url();
    let out = golive(&rb, &owner, "0", &[]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("cannot write the registry"), "{log}");
    assert!(!log.contains("owner-secret-pw"), "{log}");
    assert_eq!(
        value(&db.admin_url(), "SELECT to_regnamespace('golive')::text"),
        None,
        "no schema without the privilege"
    );

    // What a DBA does (and the sandbox does for rehearsals): the schema made for the lock's role.
    common::sql(
        &db.admin_url(),
        "CREATE SCHEMA golive AUTHORIZATION app_owner",
    );
    let out = golive(&rb, &owner, "0", &[]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains("cannot write the registry"), "{log}");
    let lines = journal_lines(&dir);
    assert_eq!(registered(&db.admin_url(), &run_id(&dir), lines), lines);
}

#[test]
fn registry_false_registers_nothing() {
    let db = Db::phase1();
    let dir = TempDir::new("registry-off");
    let rb = runbook(&dir, "registry = false", STEPS);
    let out = golive(&rb, &db.admin_url(), "0", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        value(&db.admin_url(), "SELECT to_regnamespace('golive')::text"),
        None
    );
}

#[test]
fn a_resumed_run_after_a_crash_is_one_run_in_the_registry_with_every_record() {
    let db = Db::phase1();
    let url = db.admin_url();
    let dir = TempDir::new("registry-resume");
    let pidfile = dir.join("step.pid");
    let marker = dir.join("marker");
    let steps = format!(
        r#"
[[steps]]
id = "first"
title = "First"
kind = "shell"
run = "true"

[[steps]]
id = "hang"
title = "Hangs the first time"
kind = "shell"
run = "if [ -f {marker} ]; then exit 0; fi; touch {marker}; echo $$ > {pid}; sleep 60"
"#,
        marker = marker.display(),
        pid = pidfile.display()
    );
    let rb = runbook(&dir, "", &steps);
    let mut driver = common::spawn(
        &["run", &rb, "--headless"],
        &[("DATABASE_URL", &url), ("TOKEN", TOKEN)],
    );
    common::wait_for(&pidfile);
    driver.kill().expect("kill the driver");
    let _ = driver.wait();
    common::kill_group_in(&pidfile);

    let out = golive(&rb, &url, "0", &["--resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let id = run_id(&dir);
    let lines = journal_lines(&dir);
    assert_eq!(registered(&url, &id, lines), lines, "the crashed part too");
    assert_eq!(
        value(
            &url,
            &format!(
                "SELECT count(*) FROM golive.events WHERE run_id = '{id}' AND event = 'run_resumed'"
            )
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        value(
            &url,
            "SELECT count(*) || ' ' || min(outcome) FROM golive.runs"
        )
        .as_deref(),
        Some("1 passed")
    );
}
