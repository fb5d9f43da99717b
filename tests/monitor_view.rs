//! The dashboard view through ratatui's TestBackend, and the `[monitor]` configuration's errors.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use golive::monitor::snapshot::{SourceStatus, WindowPanels};
use golive::monitor::{MonitorConfig, Panel, Snapshot, State};
use golive::runbook::Vars;
use golive::tui::dashboard::state::{DashboardAction, DashboardState};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn panel(id: &str, state: State, value: Option<f64>) -> Panel {
    Panel {
        id: id.into(),
        state,
        value,
        by_route: None,
        rps_by_route: None,
        baseline: Some(0.001),
        baseline_over: None,
        warn: Some(0.01),
        crit: Some(0.05),
        requests: Some(300.0),
        rate: Some(5.0),
        stale_seconds: None,
        detail: None,
        worst_route: None,
    }
}

fn snapshot() -> Snapshot {
    let mut p5 = panel("http_5xx_ratio", State::Crit, Some(0.08));
    p5.by_route = Some(BTreeMap::from([
        ("/api/admin/service-operations".into(), Some(0.0)),
        ("/api/invoices/<int:invoice_id>/items".into(), Some(0.25)),
        ("/api/rare".into(), None),
    ]));
    p5.rps_by_route = Some(BTreeMap::from([
        ("/api/admin/service-operations".into(), 4.0),
        ("/api/invoices/<int:invoice_id>/items".into(), 1.0),
        ("/api/rare".into(), 0.1),
    ]));
    let mut p304 = panel("catalog_304_ratio", State::Nodata, None);
    p304.detail = Some("too few requests: 3 in 60s, need 20".into());
    p304.stale_seconds = Some(42);
    let panels = vec![p5, p304];
    Snapshot {
        at: "2026-11-26T18:40:00Z".into(),
        window_seconds: 60,
        elapsed_seconds: 192,
        other_windows: vec![WindowPanels {
            window_seconds: 300,
            panels: vec![panel("http_5xx_ratio", State::Ok, Some(0.002))],
        }],
        panels,
        sources: vec![SourceStatus {
            name: "scrape".into(),
            ok: false,
            age_seconds: Some(42),
            error: Some("cannot connect".into()),
        }],
        verdict: None,
        reasons: Vec::new(),
    }
}

fn draw(state: &DashboardState) -> String {
    let mut terminal = Terminal::new(TestBackend::new(130, 20)).unwrap();
    terminal
        .draw(|f| golive::tui::dashboard::panels::render(f, f.area(), state))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs of spaces as one, so assertions do not depend on column widths.
fn squash(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_view_shows_states_baselines_staleness_and_routes_worst_first() {
    let mut state = DashboardState::default();
    assert!(draw(&state).contains("waiting for the first refresh"));
    // Through JSON, as the engine sends it.
    assert!(state.apply_json(&serde_json::to_value(snapshot()).unwrap()));
    let screen = squash(&draw(&state));
    assert!(screen.contains("window 1m (auto)"), "{screen}");
    assert!(
        screen.contains("5xx ratio CRIT 8.00% 0.10% 1.00% / 5.00% 5.0"),
        "{screen}"
    );
    assert!(screen.contains("NO DATA"), "{screen}");
    assert!(screen.contains("stale 42s too few requests"), "{screen}");
    assert!(
        screen.contains("scrape STALE 42s (cannot connect)"),
        "{screen}"
    );
    let invoice = screen.find("/api/invoices/").unwrap();
    let catalog = screen.find("/api/admin/service-operations").unwrap();
    let rare = screen.find("/api/rare").unwrap();
    assert!(
        invoice < catalog && catalog < rare,
        "worst first:\n{screen}"
    );
    // The operator picks the longer window, then goes back to auto.
    state.handle(DashboardAction::LongerWindow);
    let screen = squash(&draw(&state));
    assert!(screen.contains("window 5m (chosen)"), "{screen}");
    assert!(screen.contains("5xx ratio OK 0.20%"), "{screen}");
    state.handle(DashboardAction::AutoWindow);
    assert_eq!(state.window(), 60);
    state.breach = Some("http_5xx_ratio is 0.08 (crit 0.05) for 3 refreshes in a row".into());
    assert!(draw(&state).contains("BREACH: http_5xx_ratio is 0.08"));
}

fn config_error(text: &str) -> String {
    let table: toml::Table = text.parse().unwrap();
    MonitorConfig::from_table(Some(&table), &Vars::default(), &|_| None)
        .unwrap_err()
        .to_string()
}

#[test]
fn config_errors_name_the_key() {
    assert!(config_error("refresh = \"soon\"").starts_with("[monitor] refresh: "));
    assert!(
        config_error("[panels.http_5xx]\nwarn = 1")
            .contains("[monitor] panels.http_5xx: unknown panel")
    );
    assert!(
        config_error("[panels.http_5xx_ratio]\nwarn = 0.5\ncrit = 0.1")
            .contains("panels.http_5xx_ratio.warn")
    );
    assert!(config_error("metrics = \"datadog\"").contains("\"flask\" or \"otel\""));
    assert!(config_error("[canary]\ntenants = [\"a\"]").contains("[monitor] canary.tenants"));
    assert!(
        config_error("[[queries]]\nid = \"x\"\nsql = \"select 1\"").contains("queries[0].database")
    );
    assert!(config_error("colour = 1").contains("[monitor] colour: unknown key"));
}

#[test]
fn defaults_follow_the_dashboard_contract() {
    let env = |k: &str| match k {
        "APP_URL" => Some("http://app:8080/".to_string()),
        "PG_LOG" => Some("/var/log/postgresql/postgresql.json".to_string()),
        _ => None,
    };
    let cfg = MonitorConfig::from_table(None, &Vars::default(), &env).unwrap();
    assert_eq!(
        cfg.sources.metrics_url.as_deref(),
        Some("http://app:8080/metrics")
    );
    assert_eq!(cfg.sources.prometheus_url, None);
    assert_eq!(
        cfg.sources.pg_log.as_deref(),
        Some("/var/log/postgresql/postgresql.json")
    );
    let kinds: Vec<_> = cfg.panels.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, golive::monitor::panel_kind::PanelKind::ALL);
    let otel: toml::Table = "metrics = \"otel\"".parse().unwrap();
    let cfg = MonitorConfig::from_table(Some(&otel), &Vars::default(), &|_| None).unwrap();
    assert_eq!(
        cfg.mapping.histogram,
        "http_server_request_duration_seconds"
    );
    assert_eq!(cfg.add_to_invoice_route, "/api/invoices/{invoice_id}/items");
}
