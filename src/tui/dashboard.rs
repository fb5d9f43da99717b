//! The monitoring view: the latest snapshot of a monitor step, as a table of its panels.
//!
//! A plain rendering of the `golive monitor --json` shape (id, state, value, by_route); the real
//! dashboard lives in `src/monitor/` and replaces this file's `render` when it is merged.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use serde_json::Value;

use crate::engine::events::StepIdx;
use crate::tui::theme::Theme;

/// The latest snapshot, and which step sent it.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    /// The monitor step and its latest snapshot.
    pub latest: Option<(StepIdx, Value)>,
}

impl Dashboard {
    /// Take a new snapshot; returns whether it is the first one from this step.
    pub fn update(&mut self, step: StepIdx, snapshot: Value) -> bool {
        let first = self.latest.as_ref().is_none_or(|(s, _)| *s != step);
        self.latest = Some((step, snapshot));
        first
    }
}

fn number(v: &Value) -> String {
    match v {
        Value::Null => "—".to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{f:.4}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Draw the dashboard.
///
/// ```text
/// ┌ dashboard: watch (2026-11-26T18:40:00Z, window 60s) ──────────────┐
/// │ panel               state   value    by route                      │
/// │ http_5xx_ratio      ok      0.0040   /api/invoices/…/items=0.0100  │
/// │ isolation_canary    crit    1                                      │
/// └────────────────────────────────────────────────────────────────────┘
/// ```
pub fn render(
    frame: &mut Frame,
    area: Rect,
    dashboard: &Dashboard,
    step_title: &str,
    theme: Theme,
) {
    let Some((_, snap)) = &dashboard.latest else {
        let block = Block::default().borders(Borders::ALL).title(" dashboard ");
        frame.render_widget(
            Paragraph::new("No monitoring snapshot yet.").block(block),
            area,
        );
        return;
    };
    let at = snap.get("at").and_then(Value::as_str).unwrap_or("?");
    let window = snap
        .get("window_seconds")
        .map_or_else(|| "?".into(), number);
    let title = format!(" dashboard: {step_title} ({at}, window {window}s) ");
    let panels = snap
        .get("panels")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let rows = panels.iter().map(|p| {
        let state = p.get("state").and_then(Value::as_str).unwrap_or("nodata");
        let style = match state {
            "ok" => theme.good(),
            "warn" => theme.warn(),
            "crit" => theme.danger(),
            _ => theme.dim(),
        };
        let by_route = p
            .get("by_route")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", number(v)))
                    .collect::<Vec<_>>()
                    .join("  ")
            })
            .unwrap_or_default();
        Row::new(vec![
            Cell::from(
                p.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
            ),
            Cell::from(Span::styled(state.to_string(), style)),
            Cell::from(p.get("value").map_or_else(|| "—".into(), number)),
            Cell::from(by_route),
        ])
    });
    let header = Row::new(["panel", "state", "value", "by route"]).style(theme.strong());
    let table = Table::new(
        rows,
        [
            Constraint::Length(28),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focused_border())
            .title(Line::from(title)),
    );
    frame.render_widget(table, area);
}
