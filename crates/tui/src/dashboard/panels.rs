//! The dashboard view: a pure ratatui render of a [`DashboardState`].
//!
//! ```text
//! ┌ dashboard · window 1m (auto) · 3m12s into the watch ──────────────────────────────────┐
//! │ sources: scrape ok 1s · pg_log ok 0s · canary ok 12s                                 │
//! │ PANEL             STATE    VALUE     BASELINE  WARN / CRIT   REQ/S  TREND       DETAIL │
//! │ 5xx ratio         OK       0.40%     0.10%     1% / 5%       12.3   ▁▁▂▁▁▁▁     …      │
//! │ catalog 304 share NO DATA  —         62.0%     — / —          0.1              too few│
//! ├ 5xx by route, worst first ─────────────────┬ 4xx by route, worst first ───────────────┤
//! │ ROUTE                   RATIO  REQ/S TREND │ ROUTE                   RATIO  REQ/S TREND│
//! │ /api/invoices/<…>/items 1.20%  3.1   ▁▃▇▅  │ /api/admin/…            4.00%  8.2   ▂▂▃▂ │
//! └────────────────────────────────────────────┴───────────────────────────────────────────┘
//! ```
//!
//! States are coloured (ok green, warn yellow, crit red, NO DATA grey); stale sources and
//! panels say how stale in yellow; a breach reported by the engine is a red banner.

use golive_core::monitor::panel_kind::{PanelKind, title_of, unit_of};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::state::DashboardState;
use golive_core::monitor::snapshot::{Panel, State};

/// [`render`], then, when `color` is false (`NO_COLOR`), every colour taken out again: bold and
/// the state words stay, so the states still read.
pub fn render_colored(frame: &mut Frame, area: Rect, state: &DashboardState, color: bool) {
    render(frame, area, state);
    if !color {
        frame
            .buffer_mut()
            .set_style(area, Style::new().fg(Color::Reset).bg(Color::Reset));
    }
}

/// Whether the environment asks for no colour (`NO_COLOR` set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Draw the dashboard into `area`.
pub fn render(frame: &mut Frame, area: Rect, state: &DashboardState) {
    let Some(snap) = &state.snapshot else {
        let p = Paragraph::new("waiting for the first refresh of the dashboard…")
            .block(Block::bordered().title(" dashboard "));
        frame.render_widget(p, area);
        return;
    };
    let window = state.window();
    let phase = state
        .phase
        .clone()
        .unwrap_or_else(|| format!("{} into the watch", fmt_secs(snap.elapsed_seconds)));
    let title = format!(
        " dashboard · window {} ({}) · {phase} · [ ] window, w auto ",
        fmt_secs(window),
        if state.chosen_window.is_some() {
            "chosen"
        } else {
            "auto"
        },
    );
    let panels = state.panels();
    let banner = u16::from(state.breach.is_some());
    let top_height = (panels.len() as u16 + 4 + banner).min(area.height);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Min(0)]).areas(area);
    let block = Block::bordered().title(title);
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let [banner_area, sources_area, table_area] = Layout::vertical([
        Constraint::Length(banner),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    if let Some(b) = &state.breach {
        let style = Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD);
        frame.render_widget(
            Paragraph::new(format!("BREACH: {b}")).style(style),
            banner_area,
        );
    }
    frame.render_widget(Paragraph::new(sources_line(snap)), sources_area);
    frame.render_widget(panel_table(state, panels), table_area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    for (kind, area, title) in [
        (PanelKind::Http5xx, left, " 5xx by route, worst first "),
        (PanelKind::Http4xx, right, " 4xx by route, worst first "),
    ] {
        if let Some(p) = panels.iter().find(|p| p.id == kind.id()) {
            let capacity = area.height.saturating_sub(3) as usize;
            frame.render_widget(
                route_table(state, p, capacity).block(Block::bordered().title(title)),
                area,
            );
        }
    }
}

fn sources_line(snap: &golive_core::monitor::Snapshot) -> Line<'static> {
    let mut spans = Vec::new();
    if let Some(over) = snap.panels.iter().find_map(|p| p.baseline_over.as_deref()) {
        spans.push(Span::styled(
            format!("baseline over {over} · "),
            Style::new().fg(Color::DarkGray),
        ));
    }
    spans.push(Span::raw("sources: "));
    if snap.sources.is_empty() {
        spans.push(Span::styled(
            "none has answered yet",
            Style::new().fg(Color::DarkGray),
        ));
    }
    for (i, s) in snap.sources.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" · "));
        }
        let age = s
            .age_seconds
            .map_or("never".to_string(), |a| format!("{a}s"));
        let (word, style) = if s.ok {
            ("ok", Style::new().fg(Color::Green))
        } else {
            (
                "STALE",
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )
        };
        spans.push(Span::raw(format!("{} ", s.name)));
        spans.push(Span::styled(word, style));
        spans.push(Span::raw(format!(" {age}")));
        if let Some(e) = &s.error {
            spans.push(Span::styled(
                format!(" ({e})"),
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    Line::from(spans)
}

fn state_style(state: State) -> Style {
    match state {
        State::Ok => Style::new().fg(Color::Green),
        State::Warn => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        State::Crit => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        State::Nodata => Style::new().fg(Color::DarkGray),
    }
}

/// A panel state's word on screen.
pub(crate) fn state_word(state: State) -> &'static str {
    match state {
        State::Ok => "OK",
        State::Warn => "WARN",
        State::Crit => "CRIT",
        State::Nodata => "NO DATA",
    }
}

/// The thresholds in force, one panel after another, for people: `5xx ratio warn 1.00% crit
/// 5.00% · …` (what `golive monitor` without a runbook says it uses).
pub fn thresholds_note(cfg: &golive_core::monitor::MonitorConfig) -> String {
    cfg.panels
        .iter()
        .map(|(kind, t)| {
            format!(
                "{} warn {} crit {}",
                kind.title(),
                kind.unit().format(t.warn),
                kind.unit().format(t.crit)
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn panel_table<'a>(state: &'a DashboardState, panels: &'a [Panel]) -> Table<'a> {
    let header = Row::new([
        "PANEL",
        "STATE",
        "VALUE",
        "BASELINE",
        "WARN / CRIT",
        "RATE/S",
        "TREND",
        "DETAIL",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = panels.iter().map(|p| {
        let style = state_style(p.state);
        let mut detail = p.detail.clone().unwrap_or_default();
        if let Some(s) = p.stale_seconds {
            detail = format!("stale {s}s {detail}");
        }
        let trend = state
            .history
            .get(&p.id)
            .map(|h| sparkline(h.iter().copied(), spark_scale(p)))
            .unwrap_or_default();
        Row::new(vec![
            Cell::from(title_of(&p.id).to_string()),
            Cell::from(Span::styled(state_word(p.state), style)),
            Cell::from(Span::styled(unit_of(&p.id).format(p.value), style)),
            Cell::from(unit_of(&p.id).format(p.baseline)),
            Cell::from(format!(
                "{} / {}",
                unit_of(&p.id).format(p.warn),
                unit_of(&p.id).format(p.crit)
            )),
            Cell::from(p.rate.map_or("—".into(), |r| format!("{r:.1}"))),
            Cell::from(trend),
            Cell::from(Span::styled(
                detail,
                if p.stale_seconds.is_some() {
                    Style::new().fg(Color::Yellow)
                } else {
                    Style::new()
                },
            )),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Length(19),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(15),
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Min(10),
        ],
    )
    .header(header)
}

fn route_table<'a>(state: &'a DashboardState, p: &'a Panel, capacity: usize) -> Table<'a> {
    let mut routes: Vec<(&String, Option<f64>)> =
        p.by_route.iter().flatten().map(|(r, v)| (r, *v)).collect();
    routes.sort_by(|a, b| {
        b.1.unwrap_or(-1.0)
            .total_cmp(&a.1.unwrap_or(-1.0))
            .then_with(|| a.0.cmp(b.0))
    });
    let header = Row::new(["ROUTE", "RATIO", "REQ/S", "TREND"])
        .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = routes.into_iter().take(capacity).map(|(route, v)| {
        let th = golive_core::monitor::config::Thresholds {
            warn: p.warn,
            crit: p.crit,
            direction: golive_core::monitor::config::Direction::Above,
            min_requests: 0,
        };
        let style = state_style(golive_core::monitor::board::state_of(&th, v));
        let rps = p.rps_by_route.as_ref().and_then(|m| m.get(route)).copied();
        let trend = state
            .route_history
            .get(&(p.id.clone(), route.clone()))
            .map(|h| sparkline(h.iter().copied(), spark_scale(p)))
            .unwrap_or_default();
        Row::new(vec![
            Cell::from(route_name(route)),
            Cell::from(Span::styled(
                v.map_or("NO DATA".into(), |v| format!("{:.2}%", v * 100.0)),
                style,
            )),
            Cell::from(rps.map_or("—".into(), |r| format!("{r:.1}"))),
            Cell::from(trend),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Min(16),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(12),
        ],
    )
    .header(header)
}

/// The value a full sparkline bar stands for: the panel's highest threshold, so a bar's height
/// reads the same from one refresh to the next and against the thresholds (a healthy value stays
/// low); the largest value shown when the panel has no threshold.
fn spark_scale(p: &Panel) -> Option<f64> {
    [p.warn, p.crit]
        .into_iter()
        .flatten()
        .filter(|t| *t > 0.0)
        .reduce(f64::max)
}

/// Unicode blocks on a fixed scale (`scale` is a full bar; values above it are full too), or
/// scaled to the largest value without one; a gap for no data.
fn sparkline(values: impl Iterator<Item = Option<f64>> + Clone, scale: Option<f64>) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<Option<f64>> = values.collect();
    let tail = &values[values.len().saturating_sub(12)..];
    let max = scale.unwrap_or_else(|| tail.iter().flatten().fold(0.0_f64, |m, v| m.max(*v)));
    tail.iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

/// A route as people read it: the exporter labels requests that matched no route `None`.
fn route_name(route: &str) -> String {
    if route == "None" {
        "(unmatched)".to_string()
    } else {
        route.to_string()
    }
}

fn fmt_secs(s: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(s)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_are_on_the_thresholds_scale_not_their_own() {
        // A steady 3.9 % under a 5 % / 10 % threshold is a low bar, not a full one.
        let steady = sparkline([Some(0.039); 4].into_iter(), Some(0.10));
        assert_eq!(steady, "▄▄▄▄");
        // Above the scale is a full bar; without a scale the largest value is.
        assert_eq!(sparkline([Some(0.5)].into_iter(), Some(0.10)), "█");
        assert_eq!(sparkline([Some(0.039)].into_iter(), None), "█");
    }

    #[test]
    fn the_unmatched_route_has_a_name() {
        assert_eq!(route_name("None"), "(unmatched)");
        assert_eq!(route_name("/api/x"), "/api/x");
    }
}
