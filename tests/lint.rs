//! The lock-hazard lint through the real binary (`golive check`, `golive plan`, `golive run`),
//! and the PostgreSQL behaviour each finding rests on, checked against a real server: a
//! volatile DEFAULT rewrites the table (a stable one does not), and CONCURRENTLY is refused
//! inside a transaction, explicit or implicit.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, TempDir, repo, run};

const ENV: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "postgres://app_owner:pw@db.internal:5432/shop",
    ),
    (
        "APP_DATABASE_URL",
        "postgres://app_user:pw@db.internal:5432/shop",
    ),
    ("APP_URL", "https://shop.example.com"),
    ("TENANT_A", "11111111-1111-4111-8111-111111111111"),
    ("TENANT_B", "22222222-2222-4222-8222-222222222222"),
];

/// A runbook whose migration builds an index without CONCURRENTLY and adds a column with a
/// volatile default (inline SQL, starting on line 12), and whose second step reads the same
/// hazards from a file.
const HAZARDS: &str = r#"[runbook]
name = "hazards"

[vars]
DATABASE_URL = { required = true }

[[steps]]
id = "migrate"
title = "Migrate"
kind = "sql"
database = "DATABASE_URL"
sql = '''
SELECT 1;
CREATE INDEX customers_name_idx ON customers (name);
ALTER TABLE customers ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE customers ADD COLUMN seen timestamptz DEFAULT now();
'''

[[steps]]
id = "from-file"
title = "Migrate from a file"
kind = "sql"
database = "DATABASE_URL"
file = "sql/migrate.sql"
"#;

const FILE_SQL: &str = "-- a comment\n\nCREATE INDEX vehicles_vin_idx\n    ON vehicles (vin);\n";

fn write(dir: &TempDir, runbook: &str) -> String {
    std::fs::create_dir_all(dir.path().join("sql")).unwrap();
    std::fs::write(dir.path().join("sql/migrate.sql"), FILE_SQL).unwrap();
    let path = dir.path().join("runbook.toml");
    std::fs::write(&path, runbook).unwrap();
    path.display().to_string()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_warns_of_a_blocking_index_and_a_rewriting_default_at_their_lines() {
    let dir = TempDir::new("lint-hazards");
    let path = write(&dir, HAZARDS);
    let out = run(&["check", &path], ENV);
    let msg = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings do not fail check: {msg}"
    );
    assert!(
        msg.contains(&format!(
            "{path}:14:1: warning: [require-concurrent-index-creation]"
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "{path}:15:53: warning: [adding-field-with-default]"
        )),
        "{msg}"
    );
    assert!(msg.contains("ACCESS EXCLUSIVE"), "{msg}");
    // now() is stable: evaluated once, no rewrite, no warning on line 16.
    assert!(!msg.contains(&format!("{path}:16:")), "{msg}");
    // SQL from `file = …` is reported at that file's path and line, with the fix.
    let file = dir.path().join("sql/migrate.sql").display().to_string();
    assert!(
        msg.contains(&format!(
            "{file}:3:1: warning: [require-concurrent-index-creation]"
        )),
        "{msg}"
    );
    assert!(msg.contains("— Use `concurrently`"), "{msg}");
    // golive sets lock_timeout and statement_timeout itself: never reported here.
    assert!(!msg.contains("timeout"), "{msg}");

    let plan = text(&run(&["plan", &path], ENV));
    assert!(
        plan.contains("lint: warning [require-concurrent-index-creation] line 14:"),
        "{plan}"
    );
}

#[test]
fn concurrently_inside_a_transactional_step_is_an_error_that_names_the_fix() {
    let dir = TempDir::new("lint-concurrently");
    let runbook = HAZARDS.replace(
        "CREATE INDEX customers_name_idx",
        "CREATE INDEX CONCURRENTLY customers_name_idx",
    );
    let path = write(&dir, &runbook);
    let out = run(&["check", &path], ENV);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains(&format!(
            "{path}:14:14: error: [ban-concurrent-index-creation-in-transaction]"
        )),
        "{msg}"
    );
    assert!(
        msg.contains("move it to a step of its own with `transaction = false`"),
        "{msg}"
    );
    // `golive run` refuses before touching anything (the database URL is not even reachable).
    let out = run(&["run", "--headless", &path], ENV);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nothing was run"), "{}", text(&out));

    // A `transaction = false` step holding only that statement is fine.
    let alone = runbook.replace(
        "sql = '''\nSELECT 1;\nCREATE INDEX CONCURRENTLY customers_name_idx ON customers (name);\nALTER TABLE customers ADD COLUMN token uuid DEFAULT gen_random_uuid();\nALTER TABLE customers ADD COLUMN seen timestamptz DEFAULT now();\n'''",
        "transaction = false\nsql = \"CREATE INDEX CONCURRENTLY customers_name_idx ON customers (name)\"",
    );
    assert_ne!(alone, runbook);
    std::fs::write(&path, &alone).unwrap();
    let out = run(&["check", &path], ENV);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn the_shipped_runbook_still_checks() {
    let rb = repo().join("runbook.toml").display().to_string();
    let out = run(&["check", &rb], ENV);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(": error:"), "{}", text(&out));
}

/// What the findings rest on, on a real server: a volatile default rewrites the table (its
/// relfilenode changes), a stable one does not; CONCURRENTLY is refused in an explicit
/// transaction and in a multi-statement query (how a `transaction = false` script is sent).
#[test]
fn postgresql_behaves_as_the_lint_says() {
    let db = Db::phase1();
    let url = db.admin_url();
    let node = || common::value(&url, "SELECT pg_relation_filenode('customers')").unwrap();
    let before = node();
    common::sql(
        &url,
        "ALTER TABLE customers ADD COLUMN seen timestamptz DEFAULT now()",
    );
    assert_eq!(node(), before, "a stable default must not rewrite");
    common::sql(
        &url,
        "ALTER TABLE customers ADD COLUMN token uuid DEFAULT gen_random_uuid()",
    );
    assert_ne!(node(), before, "a volatile default rewrites the table");

    for script in [
        "BEGIN; CREATE INDEX CONCURRENTLY c1 ON customers (name); COMMIT;",
        "SELECT 1; CREATE INDEX CONCURRENTLY c2 ON customers (name);",
    ] {
        let err = common::sql_error(&url, script);
        assert!(
            err.contains("cannot run inside a transaction block"),
            "{script}: {err}"
        );
    }
    common::sql(&url, "CREATE INDEX CONCURRENTLY c3 ON customers (name)");
}
