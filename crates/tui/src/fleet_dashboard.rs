//! The fleet console's dashboard pane, pure: one row per target, worst first (a watch that did
//! not pass, then a critical panel, a warning, no data, all well, then targets not watched yet),
//! each built-in panel's value in its state's style; below, the selected target's panels that
//! are not well and why, and the verdict of its watch between waves.
//!
//! ```text
//! ┌ dashboard · 5 targets, worst first ─────────────────────────────────────────┐
//! │ target       state     5xx     4xx     304     RLS     p95     canary       │
//! │▶eu-2         CRIT      11.20%  3.10%   51.00%  0       210ms   0            │
//! │ eu-1         ok        0.00%   3.00%   49.00%  0       190ms   0            │
//! │ us-1         —         not watched yet (wave 3)                             │
//! ├ eu-2 · before wave-3 ───────────────────────────────────────────────────────┤
//! │ 5xx ratio  CRIT  11.20% (crit 5.00%)  route /api/invoices/…: 30.00% …       │
//! └─────────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::dashboard::panels::state_word;
use super::fleet_state::{FleetState, TargetRow, TargetWatch};
use super::theme::Theme;
use golive_core::monitor::panel_kind::{PanelKind, title_of, unit_of};
use golive_core::monitor::snapshot::{Panel, State};
use golive_core::monitor::verdict::VerdictKind;

/// Width of the target-name column.
const NAME: usize = 12;
/// Width of each panel's column.
const CELL: usize = 8;
/// A snapshot older than this is shown with its age.
const OLD_SECS: u64 = 30;

/// A built-in panel's column heading.
fn heading(kind: PanelKind) -> &'static str {
    match kind {
        PanelKind::Http5xx => "5xx",
        PanelKind::Http4xx => "4xx",
        PanelKind::Catalog304 => "304",
        PanelKind::RlsDenials => "RLS",
        PanelKind::AddToInvoiceP95 => "p95",
        PanelKind::IsolationCanary => "canary",
    }
}

/// Draw the dashboard pane in `area`.
pub fn draw(frame: &mut Frame, area: Rect, state: &FleetState, theme: Theme) {
    let rows = u16::try_from(state.targets.len()).unwrap_or(u16::MAX);
    let [table, detail] = Layout::vertical([
        Constraint::Length(rows.saturating_add(3).min(area.height / 2 + 1)),
        Constraint::Min(3),
    ])
    .areas(area);
    draw_table(frame, table, state, theme);
    draw_detail(frame, detail, state, theme);
}

/// The built-in panels any watched target shows, in display order (all of them before any).
fn columns(state: &FleetState) -> Vec<PanelKind> {
    let shown: Vec<&Panel> = state
        .targets
        .iter()
        .filter_map(|r| r.watch.as_ref())
        .flat_map(|w| &w.snapshot.panels)
        .collect();
    PanelKind::ALL
        .into_iter()
        .filter(|k| shown.is_empty() || shown.iter().any(|p| p.id == k.id()))
        .collect()
}

fn draw_table(frame: &mut Frame, area: Rect, state: &FleetState, theme: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" dashboard · {} targets, worst first ", state.targets.len()),
            theme.strong(),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let kinds = columns(state);
    let mut heading_line = format!(" {:<NAME$} {:<9}", "target", "state");
    for kind in &kinds {
        heading_line.push_str(&format!("{:<CELL$}", heading(*kind)));
    }
    let mut lines = vec![Line::from(Span::styled(heading_line, theme.dim()))];
    let order = state.worst_first();
    // Keep the selected row in view.
    let room = usize::from(inner.height.saturating_sub(1)).max(1);
    let at = order.iter().position(|&t| t == state.selected).unwrap_or(0);
    let first = at.saturating_sub(room - 1);
    for &t in order.iter().skip(first).take(room) {
        lines.push(row_line(
            &state.targets[t],
            t == state.selected,
            &kinds,
            theme,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_line(row: &TargetRow, chosen: bool, kinds: &[PanelKind], theme: Theme) -> Line<'static> {
    let name: String = row.name.chars().take(NAME).collect();
    let mut spans = vec![
        Span::styled(if chosen { "▶" } else { " " }, theme.strong()),
        Span::styled(
            format!("{name:<NAME$} "),
            if chosen {
                theme.selected()
            } else {
                theme.text()
            },
        ),
    ];
    let Some(watch) = &row.watch else {
        spans.push(Span::styled(
            format!("{:<9}not watched yet (wave {})", "—", row.wave + 1),
            theme.dim(),
        ));
        return Line::from(spans);
    };
    let (word, style) = row_state(watch, theme);
    spans.push(Span::styled(format!("{word:<9}"), style));
    for kind in kinds {
        let panel = watch.snapshot.panels.iter().find(|p| p.id == kind.id());
        let (text, style) = match panel {
            Some(p) => (
                kind.unit().format(p.value),
                panel_style(p.state, p.stale_seconds.is_some(), theme),
            ),
            None => ("—".to_string(), theme.dim()),
        };
        spans.push(Span::styled(format!("{text:<CELL$}"), style));
    }
    Line::from(spans)
}

/// The state column: the watch's verdict once it failed, else the worst panel's state.
fn row_state(watch: &TargetWatch, theme: Theme) -> (String, ratatui::style::Style) {
    match &watch.verdict {
        Some((VerdictKind::Breached, _)) => ("BREACHED".into(), theme.danger()),
        Some((VerdictKind::Inconclusive, _)) => ("BLIND".into(), theme.danger()),
        _ => {
            let worst = watch
                .snapshot
                .panels
                .iter()
                .map(|p| p.state)
                .max_by_key(|s| match s {
                    State::Ok => 0,
                    State::Nodata => 1,
                    State::Warn => 2,
                    State::Crit => 3,
                })
                .unwrap_or(State::Nodata);
            let stale = watch
                .snapshot
                .panels
                .iter()
                .any(|p| p.stale_seconds.is_some());
            let word = match (worst, stale) {
                (State::Ok, true) => "STALE",
                (state, _) => state_word(state),
            };
            (word.to_string(), panel_style(worst, stale, theme))
        }
    }
}

fn panel_style(state: State, stale: bool, theme: Theme) -> ratatui::style::Style {
    match state {
        State::Crit => theme.danger(),
        State::Warn => theme.warn(),
        State::Nodata => theme.dim(),
        State::Ok if stale => theme.warn(),
        State::Ok => theme.good(),
    }
}

fn draw_detail(frame: &mut Frame, area: Rect, state: &FleetState, theme: Theme) {
    let row = state.targets.get(state.selected);
    let title = match row.and_then(|r| r.watch.as_ref().map(|w| (r, w))) {
        Some((r, w)) => {
            let age = w.at.elapsed().as_secs();
            let old = if age > OLD_SECS {
                format!(" · last snapshot {age}s ago")
            } else {
                String::new()
            };
            format!(" {} · {}{old} ", r.name, w.from)
        }
        None => row.map_or(" panels ".into(), |r| format!(" {} ", r.name)),
    };
    let (inner, mut lines) = super::fleet_view::lower_pane(frame, area, title, state, theme);
    match row.and_then(|r| r.watch.as_ref()) {
        Some(watch) => lines.extend(detail_lines(watch, theme)),
        None => lines.push(Line::from(Span::styled(
            "No snapshot yet: a target joins the dashboard when its watch begins (its monitor \
             step, or the watch before the next wave).",
            theme.dim(),
        ))),
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The watch's verdict when it did not pass, then each panel that is not well, then the
/// sources that are not answering; or that all is well.
fn detail_lines(watch: &TargetWatch, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some((kind, reasons)) = &watch.verdict {
        let style = if *kind == VerdictKind::Passed {
            theme.good()
        } else {
            theme.danger()
        };
        lines.push(Line::from(Span::styled(
            format!("watch {}", kind.label()),
            style,
        )));
        for r in reasons {
            lines.push(Line::from(Span::styled(format!("  because {r}"), style)));
        }
    }
    let unwell: Vec<&Panel> = watch
        .snapshot
        .panels
        .iter()
        .filter(|p| p.state != State::Ok || p.stale_seconds.is_some())
        .collect();
    for p in &unwell {
        let unit = unit_of(&p.id);
        let limit = match p.state {
            State::Crit => p.crit.map(|c| format!(" (crit {})", unit.format(Some(c)))),
            State::Warn => p.warn.map(|w| format!(" (warn {})", unit.format(Some(w)))),
            _ => None,
        };
        let mut text = format!(
            "{:<18} {:<8} {}{}",
            title_of(&p.id),
            state_word(p.state),
            unit.format(p.value),
            limit.unwrap_or_default()
        );
        if let Some(s) = p.stale_seconds {
            text.push_str(&format!("  stale: no answer for {s}s"));
        }
        if let Some(d) = &p.detail {
            text.push_str(&format!("  {d}"));
        }
        lines.push(Line::from(Span::styled(
            text,
            panel_style(p.state, p.stale_seconds.is_some(), theme),
        )));
    }
    if unwell.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(
                "all {} panels within thresholds ({} s window)",
                watch.snapshot.panels.len(),
                watch.snapshot.window_seconds
            ),
            theme.good(),
        )));
    }
    for s in watch.snapshot.sources.iter().filter(|s| !s.ok) {
        lines.push(Line::from(Span::styled(
            format!(
                "source {}: {}",
                s.name,
                s.error.as_deref().unwrap_or("not answering")
            ),
            theme.warn(),
        )));
    }
    lines
}
