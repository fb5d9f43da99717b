//! Headless runs of test runbooks through the real binary, against a real PostgreSQL and a real
//! HTTP server: each executor's success and failure paths, stops, refusals, secrets.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Db, HttpServer, TempDir, free_port, latest_run, run, text, value};

const SECRET: &str = "owner-secret-pw";

/// `golive run RUNBOOK --headless` with DATABASE_URL set.
fn headless(runbook: &str, database_url: &str) -> std::process::Output {
    run(
        &["run", runbook, "--headless"],
        &[("DATABASE_URL", database_url)],
    )
}

fn runbook(dir: &TempDir, body: &str) -> String {
    let text = format!(
        "[runbook]\nname = \"test\"\n\n[vars]\nDATABASE_URL = {{ required = true, secret = true }}\n\
         APP_URL = {{ default = \"http://127.0.0.1:9\" }}\n\n{body}"
    );
    dir.write("runbook.toml", &text).display().to_string()
}

#[test]
fn a_run_drives_shell_sql_http_and_flags_steps_and_journals_them() {
    let db = Db::phase1();
    let dir = TempDir::new("happy");
    dir.write(
        "www/catalog.json",
        r#"[{"internal_code": "OP-1", "name": "Oil change"}]"#,
    );
    let server = HttpServer::serve(&dir.join("www"));
    dir.write("migrate.sql", "ALTER TABLE customers ADD COLUMN IF NOT EXISTS vip boolean;\nUPDATE customers SET vip = false WHERE vip IS NULL;");
    let rb = runbook(
        &dir,
        r#"
[flags]
provider = "sql"
database = "DATABASE_URL"
table = "feature_flags"

[[steps]]
id = "hello"
title = "Shell"
kind = "shell"
run = 'echo "out line"; echo "err line" >&2; echo "db is $DATABASE_URL"'

[[steps]]
id = "migrate"
title = "SQL from a file"
kind = "sql"
database = "DATABASE_URL"
file = "migrate.sql"
destructive = true

[[steps]]
id = "count"
title = "SQL with an expectation"
kind = "sql"
database = "DATABASE_URL"
sql = "SELECT count(*) FROM customers WHERE vip = false"
expect = { value = "120" }

[[steps]]
id = "catalog"
title = "HTTP"
kind = "http"
url = "${APP_URL}/catalog.json"
expect = { status = 200, json_root = "array", json_keys = ["internal_code"] }

[[steps]]
id = "flags"
title = "Flags"
kind = "flags"
requires = ["count", "catalog"]
set = { catalog_api_v2 = true }
"#,
    );
    let app_url = format!("http://127.0.0.1:{}", server.port);
    let out = run(
        &["run", &rb, "--headless", "--approve", "migrate"],
        &[("DATABASE_URL", &db.owner_url()), ("APP_URL", &app_url)],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("out line") && log.contains("err line"),
        "{log}"
    );
    assert!(log.contains("hello") && log.contains("passed"), "{log}");
    assert_eq!(
        value(
            &db.admin_url(),
            "SELECT enabled::text FROM feature_flags WHERE name = 'catalog_api_v2'"
        )
        .as_deref(),
        Some("true")
    );
    let run_dir = latest_run(dir.path());
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).expect("journal");
    for step in ["hello", "migrate", "count", "catalog", "flags"] {
        assert!(
            journal.contains(&format!(
                r#""event":"step_finished","step":"{step}","state":"passed""#
            )),
            "{step} not journaled as passed:\n{journal}"
        );
    }
    assert!(
        common::has_record(&journal, r#""event":"confirmed","step":"migrate""#),
        "{journal}"
    );
    assert!(common::has_record(&journal, r#""outcome":"passed""#));
    let step_log = std::fs::read_to_string(run_dir.join("steps/hello.log")).expect("step log");
    assert!(step_log.contains("out line") && step_log.contains("err line"));
    // The password never reaches the screen, the journal, the step logs or golive.log.
    assert!(!log.contains(SECRET), "secret on screen:\n{log}");
    for entry in walk(&run_dir) {
        let content = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(!content.contains(SECRET), "secret in {}", entry.display());
    }
    let report = run(&["report", &run_dir.display().to_string()], &[]);
    let md = text(&report);
    assert_eq!(report.status.code(), Some(0), "{md}");
    assert!(md.contains("| `migrate` | main | passed |"), "{md}");
    assert!(
        md.contains("destructive step `migrate` confirmed by"),
        "{md}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_failed_step_stops_the_run_and_nothing_after_it_runs() {
    let db = Db::phase1();
    let dir = TempDir::new("fail");
    let marker = dir.join("after-ran");
    let rb = runbook(
        &dir,
        &format!(
            r#"
[[steps]]
id = "bad-sql"
title = "Fails"
kind = "sql"
database = "DATABASE_URL"
sql = "INSERT INTO customers (tenant_id, name, email) VALUES ('11111111-1111-4111-8111-111111111111', 'x', 'y'); SELECT * FROM no_such_table"

[[steps]]
id = "after"
title = "Must not run"
kind = "shell"
run = "touch {}"
"#,
            marker.display()
        ),
    );
    let out = headless(&rb, &db.owner_url());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("relation \"no_such_table\" does not exist (42P01)"),
        "{log}"
    );
    assert!(log.contains("rolled back"), "{log}");
    assert!(!marker.exists(), "a step after the failure ran");
    // The transaction was rolled back: the insert before the error is gone.
    assert_eq!(
        value(&db.admin_url(), "SELECT count(*) FROM customers").as_deref(),
        Some("120")
    );
}

#[test]
fn an_unapproved_destructive_step_is_refused_with_exit_3_before_anything_runs() {
    let db = Db::phase1();
    let dir = TempDir::new("refuse");
    let marker = dir.join("first-ran");
    let rb = runbook(
        &dir,
        &format!(
            r#"
[[steps]]
id = "first"
title = "Harmless"
kind = "shell"
run = "touch {}"

[[steps]]
id = "drop"
title = "Destructive"
kind = "sql"
database = "DATABASE_URL"
sql = "TRUNCATE services"
destructive = true
"#,
            marker.display()
        ),
    );
    let out = headless(&rb, &db.owner_url());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("--approve STEP_ID") && log.contains("drop"),
        "{log}"
    );
    assert!(
        !marker.exists(),
        "nothing may run when approvals are missing"
    );
    assert_eq!(
        value(&db.admin_url(), "SELECT count(*) > 0 FROM services").as_deref(),
        Some("t")
    );
}

#[test]
fn a_dead_database_fails_the_step_with_a_clear_error() {
    let dir = TempDir::new("deaddb");
    let port = free_port();
    let rb = runbook(
        &dir,
        r#"
[[steps]]
id = "q"
title = "Query"
kind = "sql"
database = "DATABASE_URL"
sql = "SELECT 1"
"#,
    );
    let url = format!("postgres://app_owner:{SECRET}@127.0.0.1:{port}/shop");
    let out = headless(&rb, &url);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("cannot connect to app_owner@127.0.0.1"),
        "{log}"
    );
    assert!(log.contains("is the server running"), "{log}");
    assert!(!log.contains(SECRET), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_hung_command_times_out_and_its_whole_process_group_is_killed() {
    let db = Db::phase1();
    let dir = TempDir::new("hang");
    let pidfile = dir.join("child.pid");
    let rb = runbook(
        &dir,
        &format!(
            r#"
[[steps]]
id = "hang"
title = "Hangs"
kind = "shell"
timeout = "1s"
run = "sleep 300 & echo $! > {}; wait"
"#,
            pidfile.display()
        ),
    );
    let started = Instant::now();
    let out = headless(&rb, &db.owner_url());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("timed out after 1s"), "{log}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid number");
    assert!(
        !golive::os::process_running(pid),
        "the background child {pid} outlived the step"
    );
}

#[test]
fn a_missing_tool_is_named() {
    let db = Db::phase1();
    let dir = TempDir::new("tool");
    let rb = runbook(
        &dir,
        r#"
[[steps]]
id = "tool"
title = "Missing tool"
kind = "shell"
run = "no-such-tool-xyz --version"
"#,
    );
    let out = headless(&rb, &db.owner_url());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("exit code 127 (command not found"), "{log}");
}

#[test]
fn requires_refuses_a_step_whose_prerequisite_did_not_pass_in_this_run() {
    let db = Db::phase1();
    let dir = TempDir::new("requires");
    let marker = dir.join("gated-ran");
    let rb = runbook(
        &dir,
        &format!(
            r#"
[[steps]]
id = "verify"
title = "A check"
kind = "shell"
run = "true"

[[steps]]
id = "gated"
title = "Needs the check"
kind = "shell"
requires = ["verify"]
run = "touch {}"
"#,
            marker.display()
        ),
    );
    let out = run(
        &["run", &rb, "--headless", "--only", "gated"],
        &[("DATABASE_URL", &db.owner_url())],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("requires `verify` to have passed in this run"),
        "{log}"
    );
    assert!(!marker.exists());
}

#[test]
fn json_output_is_one_event_per_line() {
    let db = Db::phase1();
    let dir = TempDir::new("json");
    let rb = runbook(
        &dir,
        r#"
[[steps]]
id = "a"
title = "A"
kind = "shell"
run = "echo hi"
"#,
    );
    let out = run(
        &["run", &rb, "--json"],
        &[("DATABASE_URL", &db.owner_url())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"started"));
    assert_eq!(kinds.last(), Some(&"finished"));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "output" && e["chunks"][0]["text"] == "hi")
    );
}

#[test]
fn flags_through_the_shell_and_http_providers() {
    let db = Db::phase1();
    let dir = TempDir::new("flags");
    let log = dir.join("flags.log");
    // A real HTTP server that records PUTs.
    let server_py = dir.write(
        "server.py",
        &format!(
            "import http.server, sys\n\
             class H(http.server.BaseHTTPRequestHandler):\n\
             \x20   def do_PUT(self):\n\
             \x20       n = int(self.headers.get('Content-Length', 0))\n\
             \x20       body = self.rfile.read(n).decode()\n\
             \x20       open({log:?}, 'a').write(self.path + ' ' + body + ' ' + self.headers.get('Authorization', '') + '\\n')\n\
             \x20       self.send_response(204); self.end_headers()\n\
             \x20   def log_message(self, *a): pass\n\
             http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n",
            log = log.display().to_string()
        ),
    );
    let port = free_port();
    let mut python = Command::new("python3");
    python.arg(&server_py).arg(port.to_string());
    let server = HttpServer::start(python, port);
    let http_rb = runbook(
        &dir,
        &format!(
            r#"
[flags]
provider = "http"
url = "http://127.0.0.1:{port}/flags/{{flag}}"
body = '{{"enabled": {{enabled}}}}'
headers = {{ Authorization = "Bearer ${{DATABASE_URL}}" }}

[[steps]]
id = "on"
title = "Flags on"
kind = "flags"
set = {{ catalog_api_v2 = true, rls_enabled = false }}
"#
        ),
    );
    let out = headless(&http_rb, &db.owner_url());
    drop(server);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let recorded = std::fs::read_to_string(&log).expect("requests");
    assert!(
        recorded.contains("/flags/catalog_api_v2 {\"enabled\": true}"),
        "{recorded}"
    );
    assert!(
        recorded.contains("/flags/rls_enabled {\"enabled\": false}"),
        "{recorded}"
    );
    assert!(!shown.contains(SECRET), "{shown}");

    let shell_dir = TempDir::new("flags-shell");
    let shell_log = shell_dir.join("flags.log");
    let shell_rb = runbook(
        &shell_dir,
        &format!(
            r#"
[flags]
provider = "shell"
run = 'echo "$FLAG=$ENABLED" >> {}'

[[steps]]
id = "off"
title = "Flags off"
kind = "flags"
set = {{ catalog_api_v2 = false }}
"#,
            shell_log.display()
        ),
    );
    let out = headless(&shell_rb, &db.owner_url());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&shell_log).expect("shell flags"),
        "catalog_api_v2=false\n"
    );
}

#[test]
fn a_password_in_an_http_url_never_reaches_the_screen_or_the_journal() {
    let db = Db::phase1();
    let dir = TempDir::new("httpsecret");
    let rb = runbook(
        &dir,
        r#"
[[steps]]
id = "call"
title = "Call with credentials"
kind = "http"
url = "http://deploy:${DATABASE_URL}@127.0.0.1:9/hook"
"#,
    );
    let out = headless(&rb, "hunter2-http-secret");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(!shown.contains("hunter2-http-secret"), "{shown}");
    let journal =
        std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).expect("journal");
    assert!(!journal.contains("hunter2-http-secret"), "{journal}");
    drop(db);
}

#[test]
fn production_confirmations_include_the_environment_name() {
    let dir = TempDir::new("production");
    let path = dir.write(
        "runbook.toml",
        "[runbook]\nname = \"prod\"\nenvironment = \"production\"\n\n[vars]\nDATABASE_URL = { required = true, secret = true }\n\n\
         [[steps]]\nid = \"drop\"\ntitle = \"Drop\"\nkind = \"sql\"\ndatabase = \"DATABASE_URL\"\nsql = \"DROP TABLE t\"\ndestructive = true\n",
    );
    let out = run(
        &["plan", &path.display().to_string()],
        &[("DATABASE_URL", "postgres://admin:pw@db.prod:5432/shop")],
    );
    let plan = text(&out);
    assert!(plan.contains("Environment: production"), "{plan}");
    assert!(
        plan.contains("confirm by typing `production/shop`"),
        "{plan}"
    );
}

#[test]
fn a_rollback_procedure_run_alone_that_completes_exits_0_and_one_that_fails_exits_1() {
    let dir = TempDir::new("procedure-alone");
    let marker = dir.join("undone");
    let rb = runbook(
        &dir,
        &format!(
            r#"
[[steps]]
id = "change"
title = "The change"
kind = "shell"
run = "true"

[[rollback]]
id = "undo"
title = "Undo the change"
[[rollback.steps]]
id = "undo-it"
title = "Undo it"
kind = "shell"
run = "touch {}"

[[rollback]]
id = "broken"
title = "A rollback that fails"
[[rollback.steps]]
id = "fail"
title = "Fails"
kind = "shell"
run = "exit 4"
"#,
            marker.display()
        ),
    );
    let env = [("DATABASE_URL", "postgres://nobody@127.0.0.1:9/none")];
    let out = run(&["run", &rb, "--headless", "--procedure", "undo"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(marker.exists(), "the rollback ran");
    let journal =
        std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).expect("the journal");
    assert!(
        common::has_record(&journal, r#""outcome":"rolled_back""#),
        "{journal}"
    );

    let out = run(&["run", &rb, "--headless", "--procedure", "broken"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
