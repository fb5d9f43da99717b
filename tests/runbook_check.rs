//! `golive check` and `golive plan`: the shipped runbook passes both; each kind of malformed
//! runbook exits 2 with its line and column, all problems at once.

mod common;

use common::{TempDir, repo, run, text};

const ENV: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "postgres://app_owner:hunter2-secret@db.internal:5432/shop",
    ),
    (
        "APP_DATABASE_URL",
        "postgres://app_user:app-secret-pw@db.internal:5432/shop",
    ),
    ("APP_URL", "https://shop.example.com"),
    ("TENANT_A", "11111111-1111-4111-8111-111111111111"),
    ("TENANT_B", "22222222-2222-4222-8222-222222222222"),
];

#[test]
fn the_shipped_runbook_checks_clean() {
    let rb = repo().join("runbook.toml");
    let out = run(&["check", &rb.display().to_string()], ENV);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("4 rollback"), "{}", text(&out));
}

#[test]
fn the_shipped_runbook_plans_every_step_with_secrets_masked() {
    let rb = repo().join("runbook.toml");
    let out = run(&["plan", &rb.display().to_string()], ENV);
    let plan = text(&out);
    assert_eq!(out.status.code(), Some(0), "{plan}");
    for id in [
        "snapshot",
        "catalog-v2-migrate",
        "rls-deploy",
        "verify-rls",
        "verify-api-preview",
        "flags-on",
        "monitor",
    ] {
        assert!(
            plan.contains(&format!(" {id} [")),
            "{id} missing from the plan"
        );
    }
    assert!(plan.contains("rls-deploy [sql]  DESTRUCTIVE"), "{plan}");
    assert!(plan.contains("confirm by typing `shop`"), "{plan}");
    assert!(
        plan.contains("DROP POLICY IF EXISTS tenant_isolation ON customers"),
        "{plan}"
    );
    assert!(plan.contains("NULLIF(current_setting('app.tenant_id', true), '')::uuid"));
    assert!(
        !plan.contains("hunter2-secret") && !plan.contains("app-secret-pw"),
        "{plan}"
    );
}

#[test]
fn missing_required_variables_are_reported_before_anything_runs() {
    let rb = repo().join("runbook.toml");
    let out = run(&["check", &rb.display().to_string()], &[]);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("required variable DATABASE_URL is not set; export DATABASE_URL="),
        "{msg}"
    );
    assert!(msg.contains("runbook.toml:22:1:"), "{msg}");
}

fn check(body: &str) -> (i32, String) {
    let dir = TempDir::new("malformed");
    let path = dir.write("runbook.toml", body);
    let out = run(&["check", &path.display().to_string()], &[]);
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn a_toml_syntax_error_names_its_line_and_column() {
    let (code, msg) = check("[runbook]\nname = \"x\n");
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("runbook.toml:2:"), "{msg}");
    assert!(msg.contains("TOML syntax"), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once_with_its_position_and_fix() {
    let body = r#"[runbook]
name = "broken"
lock = "NOPE"

[vars]
DATABASE_URL = { required = true }
lower_case = "x"

[[steps]]
id = "one"
title = "First"
kind = "shel"
run = "true"

[[steps]]
id = "one"
title = "Duplicate"
kind = "sql"
database = "MISSING_DB"
file = "no/such/file.sql"

[[steps]]
id = "Bad_Id"
kind = "http"
url = "${UNDECLARED}/x"
timout = "5s"
requires = ["nothing-before"]

[[steps]]
id = "t"
title = "Bad timeout"
kind = "shell"
run = "true"
timeout = "five minutes"
"#;
    let (code, msg) = check(body);
    assert_eq!(code, 2, "{msg}");
    let expected = [
        ("runbook.toml:3:8:", "lock names `NOPE`"),
        (
            "runbook.toml:7:1:",
            "variable `lower_case` must be an environment variable name",
        ),
        (
            "runbook.toml:12:8:",
            "unknown step kind `shel`; did you mean `shell`?",
        ),
        ("runbook.toml:16:6:", "step id `one` is used twice"),
        (
            "runbook.toml:19:12:",
            "names variable `MISSING_DB`, which is not declared",
        ),
        ("runbook.toml:20:8:", "cannot read SQL file"),
        ("runbook.toml:23:6:", "step id `Bad_Id` must be lowercase"),
        ("runbook.toml:", "is missing `title`"),
        (
            "runbook.toml:25:7:",
            "uses ${UNDECLARED}, which is not declared",
        ),
        ("runbook.toml:26:1:", "unknown key `timout`"),
        (
            "runbook.toml:27:13:",
            "requires `nothing-before`, which is not a step before it",
        ),
        ("runbook.toml:34:11:", "is \"five minutes\", not a duration"),
    ];
    for (position, message) in expected {
        assert!(
            msg.lines()
                .any(|l| l.contains(&format!("/{position}")) && l.contains(message)),
            "expected `{position} … {message}` in:\n{msg}"
        );
    }
    assert!(msg.contains("did you mean `timeout`?"), "{msg}");
    assert!(
        !msg.contains("unknown key `run`"),
        "an unknown kind must not drag its keys in: {msg}"
    );
}

#[test]
fn a_runbook_without_a_runbook_table_or_steps_is_refused() {
    let (code, msg) = check("[vars]\nX = \"1\"\n");
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("missing [runbook] table"), "{msg}");
    assert!(msg.contains("has no [[steps]]"), "{msg}");
}

#[test]
fn a_missing_runbook_file_says_how_to_name_one() {
    let out = run(&["check", "/nonexistent/runbook.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot read runbook /nonexistent/runbook.toml"));
}

#[test]
fn a_flags_step_without_a_provider_and_a_bad_flag_value_are_reported() {
    let (code, msg) = check(
        "[runbook]\nname = \"f\"\n\n[[steps]]\nid = \"f\"\ntitle = \"F\"\nkind = \"flags\"\nset = { a = \"yes\" }\n",
    );
    assert_eq!(code, 2, "{msg}");
    assert!(
        msg.contains("runbook.toml:7:8: a flags step needs a [flags] table"),
        "{msg}"
    );
    assert!(
        msg.contains("runbook.toml:8:13: flag `a` must be set to true or false"),
        "{msg}"
    );
}

#[test]
fn destructive_sql_or_shell_not_marked_destructive_is_refused() {
    let dir = TempDir::new("guard");
    dir.write(
        "hidden.sql",
        "SELECT 1;\nDO $$ BEGIN\n  DROP TABLE customers;\nEND $$;\n",
    );
    let body = r#"[runbook]
name = "guard"

[vars]
DATABASE_URL = { required = true }

[[steps]]
id = "cleanup"
title = "Looks harmless"
kind = "sql"
database = "DATABASE_URL"
sql = "DELETE FROM sessions; ALTER TABLE customers DISABLE ROW LEVEL SECURITY"

[[steps]]
id = "hidden"
title = "A DROP inside a DO block"
kind = "sql"
database = "DATABASE_URL"
file = "hidden.sql"

[[steps]]
id = "restore"
title = "Restore"
kind = "shell"
run = 'pg_dump -Fc "$DATABASE_URL" -f x.dump && pg_restore --clean -d "$DATABASE_URL" x.dump'

[[steps]]
id = "marked"
title = "Marked, so allowed"
kind = "sql"
database = "DATABASE_URL"
sql = "DROP POLICY IF EXISTS p ON customers"
destructive = true
"#;
    let path = dir.write("runbook.toml", body);
    let out = run(
        &["check", &path.display().to_string()],
        &[("DATABASE_URL", "postgres://u@h/db")],
    );
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("runbook.toml:7:1: step `cleanup` deletes every row without a WHERE"),
        "{msg}"
    );
    assert!(
        msg.contains("step `cleanup` disables row-level security on customers"),
        "{msg}"
    );
    assert!(
        msg.contains("step `hidden` drops something (`BEGIN DROP TABLE customers"),
        "{msg}"
    );
    assert!(
        msg.contains("step `restore` restores over existing objects with pg_restore --clean"),
        "{msg}"
    );
    assert!(!msg.contains("step `marked`"), "{msg}");
    assert!(msg.contains("add `destructive = true`"), "{msg}");
}

/// A runbook with a structural error and an unset required variable: one `check` lists both.
#[test]
fn check_lists_unset_variables_alongside_structural_errors() {
    let dir = TempDir::new("check-both");
    let path = dir.write(
        "runbook.toml",
        "[runbook]\nname = \"both\"\n\n[vars]\nGOLIVE_TEST_NEVER_SET = { required = true }\n\n\
         [[steps]]\nid = \"x\"\ntitle = \"X\"\nkind = \"no-such-kind\"\n",
    );
    let out = run(&["check", &path.display().to_string()], &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("no-such-kind"),
        "the structural error: {said}"
    );
    assert!(
        said.contains("required variable GOLIVE_TEST_NEVER_SET is not set"),
        "the unset variable too: {said}"
    );
}
