//! Events and keys for the console's tests: a small run of five steps and a rollback procedure.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{App, TuiOptions};
use golive_core::events::{
    EngineEvent, NoticeLevel, OutputChunk, ProcedureInfo, Question, QuestionKind, RunInfo,
    StepInfo, StepState, Stream,
};

pub fn step(id: &str, title: &str, kind: &str, destructive: bool) -> StepInfo {
    StepInfo {
        id: id.to_string(),
        title: title.to_string(),
        kind: kind.to_string(),
        destructive,
        procedure: None,
        description: None,
        preview: format!("echo {id}"),
        target: None,
        state: StepState::Pending,
        expected: Some(Duration::from_secs(30)),
    }
}

pub fn run_info(environment: Option<&str>) -> RunInfo {
    let mut rls = step("rls-deploy", "Deploy RLS policies", "sql", true);
    rls.preview = "BEGIN;\nDROP POLICY IF EXISTS tenant_isolation ON customers;\nCREATE POLICY tenant_isolation ON customers USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);\nCOMMIT;".to_string();
    rls.target = Some("golive@127.0.0.1:5432/shop".to_string());
    rls.description = Some("Row-level security on every tenant table".to_string());
    let mut flags_off = step("flags-off", "Turn the Phase 2 flags off", "shell", false);
    flags_off.procedure = Some("fast".to_string());
    flags_off.preview = "curl -X POST $APP_URL/flags/off".to_string();
    RunInfo {
        run_id: "20261126-201500-ab12".to_string(),
        run_dir: PathBuf::from(".golive/runs/20261126-201500-ab12"),
        runbook: "Phase 2 go-live".to_string(),
        environment: environment.map(str::to_string),
        targets: vec![
            ("db".to_string(), "golive@127.0.0.1:5432/shop".to_string()),
            ("app".to_string(), "http://127.0.0.1:8080".to_string()),
        ],
        steps: vec![
            step("preflight", "Preflight checks", "shell", false),
            step("snapshot", "Database snapshot", "shell", false),
            rls,
            step("smoke", "Smoke test the API", "http", false),
            step("watch", "Watch the dashboard", "monitor", false),
            flags_off,
        ],
        procedures: vec![ProcedureInfo {
            id: "fast".to_string(),
            title: "Fast rollback: feature flags off".to_string(),
            section: golive_core::events::ProcedureKind::Rollback,
            description: Some("Turns catalog_api_v2 and rls_enabled off".to_string()),
            steps: vec![5],
            expected: None,
        }],
        resumed: false,
        expected_total: None,
    }
}

pub fn options(color: bool) -> TuiOptions {
    TuiOptions {
        no_color: !color,
        ..TuiOptions::default()
    }
}

/// An app of `w`x`h` that received `Started`.
pub fn started(environment: Option<&str>, w: u16, h: u16) -> App {
    let mut app = App::new(&options(true), w, h);
    app.apply(
        EngineEvent::Started {
            run: Box::new(run_info(environment)),
        },
        Instant::now(),
    );
    app
}

pub fn state(
    step: usize,
    state: StepState,
    elapsed_ms: Option<u64>,
    detail: Option<&str>,
) -> EngineEvent {
    EngineEvent::StepState {
        step,
        state,
        attempt: 1,
        elapsed: elapsed_ms.map(Duration::from_millis),
        detail: detail.map(str::to_string),
    }
}

pub fn output(step: usize, lines: &[&str]) -> EngineEvent {
    EngineEvent::Output {
        step,
        chunks: lines
            .iter()
            .map(|t| OutputChunk {
                stream: if t.starts_with("ERROR") {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                text: (*t).to_string(),
            })
            .collect(),
    }
}

pub fn apply(app: &mut App, events: Vec<EngineEvent>) {
    let now = Instant::now();
    for e in events {
        app.apply(e, now);
    }
}

/// Preflight passed, snapshot running with some coloured output.
pub fn running(app: &mut App) {
    apply(
        app,
        vec![
            state(0, StepState::Running, None, None),
            output(0, &["checking psql", "ok"]),
            state(0, StepState::Passed, Some(1200), Some("exit 0")),
            state(1, StepState::Running, None, None),
            output(
                1,
                &[
                    "pg_dump: dumping contents of table \"public.customers\"",
                    "\x1b[32mpg_dump: saving 1200 rows\x1b[0m",
                    "ERROR-free so far",
                    "\x1b[1;33mwarning:\x1b[0m large table \"public.appointments\"",
                ],
            ),
        ],
    );
}

pub fn destructive_question(id: u64) -> EngineEvent {
    EngineEvent::Ask {
        question: Question {
            id,
            step: Some(2),
            kind: QuestionKind::Destructive,
            prompt: "DESTRUCTIVE: `rls-deploy` (Deploy RLS policies) will run on golive@127.0.0.1:5432/shop. Type `shop` to confirm.".to_string(),
            detail: run_info(None).steps[2].preview.clone(),
            expect_typed: Some("shop".to_string()),
        },
    }
}

/// The destructive question with a long SQL preview: 60 statements, one line far wider than any
/// terminal.
pub fn long_sql_question(id: u64) -> EngineEvent {
    let mut detail = String::from("BEGIN;\n");
    for n in 0..60 {
        detail.push_str(&format!(
            "ALTER TABLE t{n} ENABLE ROW LEVEL SECURITY; -- table {n} of 60\n"
        ));
    }
    detail.push_str(&format!(
        "-- {}\nCOMMIT;",
        "a very long comment ".repeat(20)
    ));
    let EngineEvent::Ask { mut question } = destructive_question(id) else {
        unreachable!("destructive_question is a question")
    };
    question.detail = detail;
    EngineEvent::Ask { question }
}

pub fn gate_question(id: u64) -> EngineEvent {
    EngineEvent::Ask {
        question: Question {
            id,
            step: Some(3),
            kind: QuestionKind::Gate,
            prompt: "Manual step `smoke`: Smoke test the API. Done?".to_string(),
            detail: "Open the admin page as tenant A and check the catalog shows v2 columns.\nThen do the same as tenant B.".to_string(),
            expect_typed: None,
        },
    }
}

pub fn failure_question(id: u64) -> EngineEvent {
    EngineEvent::Ask {
        question: Question {
            id,
            step: Some(1),
            kind: QuestionKind::Failure {
                error: "exit status 1".to_string(),
                rollbacks: vec!["fast".to_string()],
            },
            prompt: "`snapshot` failed. What now?".to_string(),
            detail: "pg_dump: error: connection refused".to_string(),
            expect_typed: None,
        },
    }
}

/// The watch (step 4) failed on a breach.
pub fn breach_question(id: u64) -> EngineEvent {
    EngineEvent::Ask {
        question: Question {
            id,
            step: Some(4),
            kind: QuestionKind::Failure {
                error: "5xx rate is 10.70 % (crit 5 %) for 3 refreshes in a row".to_string(),
                rollbacks: vec!["fast".to_string()],
            },
            prompt: "`watch` failed: retry, skip, abort or roll back?".to_string(),
            detail: "5xx rate is 10.70 % (crit 5 %) for 3 refreshes in a row".to_string(),
            expect_typed: None,
        },
    }
}

/// A dashboard refresh as a monitor step sends it: a breaching route, a panel without data, a
/// longer window to switch to.
pub fn monitor_snapshot(elapsed_seconds: u64) -> EngineEvent {
    let panel = |id: &str, state: &str, value: serde_json::Value| {
        serde_json::json!({
            "id": id, "state": state, "value": value, "baseline": 0.001,
            "warn": 0.01, "crit": 0.05, "requests": 300.0, "rate": 5.0
        })
    };
    let mut p5 = panel("http_5xx_ratio", "warn", serde_json::json!(0.02));
    p5["by_route"] = serde_json::json!({
        "/api/admin/service-operations": 0.0,
        "/api/invoices/<int:invoice_id>/items": 0.04
    });
    p5["rps_by_route"] = serde_json::json!({
        "/api/admin/service-operations": 4.0,
        "/api/invoices/<int:invoice_id>/items": 1.0
    });
    let mut p304 = panel("catalog_304_ratio", "nodata", serde_json::Value::Null);
    p304["detail"] = serde_json::json!("too few requests: 3 in 60s, need 20");
    EngineEvent::Monitor {
        step: 4,
        snapshot: serde_json::json!({
            "at": "2026-11-26T18:40:00Z",
            "window_seconds": 60,
            "elapsed_seconds": elapsed_seconds,
            "panels": [p5, p304, panel("rls_denials", "ok", serde_json::json!(0.0))],
            "sources": [{"name": "scrape", "ok": true, "age_seconds": 1}],
            "other_windows": [{"window_seconds": 300,
                "panels": [panel("http_5xx_ratio", "ok", serde_json::json!(0.002))]}]
        }),
    }
}

pub fn notice(level: NoticeLevel, text: &str) -> EngineEvent {
    EngineEvent::Notice {
        level,
        text: text.to_string(),
    }
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn chars(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

pub fn draw(app: &App) -> Terminal<TestBackend> {
    let size = app.ui.size;
    let mut terminal =
        Terminal::new(TestBackend::new(size.width, size.height)).expect("test backend");
    terminal.draw(|f| super::view::draw(f, app)).expect("draws");
    terminal
}

/// What `terminal` shows, one line of text per row.
pub fn text_of(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    let cells: Vec<&str> = buffer.content().iter().map(|c| c.symbol()).collect();
    cells
        .chunks(width)
        .map(|row| row.concat())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `app` shows, one line of text per row.
pub fn screen(app: &App) -> String {
    text_of(&draw(app))
}
