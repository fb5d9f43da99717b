//! The output pane of the selected step: its lines with their colours, following the tail or
//! scrolled back, and a status line with the exit detail, timing and scroll position.
//!
//! Only the visible window is read and parsed, so a frame costs the viewport, not the history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::App;
use crate::ansi;
use crate::app::Pane;
use crate::state::checklist::StepRow;
use crate::state::output::{Scroll, StepOutput};
use crate::state::run::short;
use golive_core::events::StepState;

fn status_line<'a>(app: &App, row: &'a StepRow, out: &StepOutput, top: usize) -> Line<'a> {
    let theme = app.theme;
    let mut spans = Vec::new();
    if let Some(detail) = &row.detail {
        let style = if row.state == StepState::Failed {
            theme.danger()
        } else {
            theme.text()
        };
        spans.push(Span::styled(format!("{detail}  "), style));
    }
    if let Some(e) = row.elapsed {
        spans.push(Span::styled(format!("{}  ", short(e)), theme.dim()));
    }
    spans.push(Span::styled(
        format!("{} lines  ", out.total()),
        theme.dim(),
    ));
    let position = match app.scroll {
        Scroll::Follow => "following".to_string(),
        Scroll::At(_) => format!("line {}", top + 1),
    };
    spans.push(Span::styled(position, theme.dim()));
    Line::from(spans)
}

fn preview_lines<'a>(app: &App, row: &'a StepRow) -> Vec<Line<'a>> {
    let theme = app.theme;
    let mut lines = Vec::new();
    if let Some(d) = &row.info.description {
        lines.push(Line::from(Span::styled(d.as_str(), theme.text())));
    }
    if let Some(t) = &row.info.target {
        lines.push(Line::from(vec![
            Span::styled("target: ", theme.dim()),
            Span::raw(t.as_str()),
        ]));
    }
    let label = if row.info.destructive {
        Span::styled(
            "will run (destructive, needs a typed confirmation):",
            theme.danger(),
        )
    } else {
        Span::styled("will run:", theme.dim())
    };
    lines.push(Line::from(label));
    lines.extend(
        row.info
            .preview
            .lines()
            .map(|l| Line::from(format!("  {l}"))),
    );
    lines
}

/// Draw the output pane.
///
/// ```text
/// ┌ output: rls-deploy · Deploy RLS policies · running ─────────────┐
/// │ BEGIN                                                            │
/// │ DROP POLICY                                                      │
/// │ …                                                                │
/// │ exit 0  4.1s  1234 lines  following                              │  status line
/// └──────────────────────────────────────────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let focused = app.ui.focus == Pane::Output;
    let Some(row) = app.checklist.selected_step() else {
        let block = Block::default().borders(Borders::ALL).title(" output ");
        frame.render_widget(block, area);
        return;
    };
    let mut title = format!(" output: {} · {}", row.info.id, row.state.label());
    if row.attempt > 1 {
        title.push_str(&format!(" · attempt {}", row.attempt));
    }
    title.push(' ');
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme.border()
        })
        .title(Span::styled(title, theme.step(row.state)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let rows = usize::from(inner.height - 1);
    let width = usize::from(inner.width);
    let out = app.outputs.step(app.checklist.selected);
    let text_area = Rect {
        height: inner.height - 1,
        ..inner
    };
    let status_area = Rect {
        y: inner.y + inner.height - 1,
        height: 1,
        ..inner
    };
    let top = app.scroll.top(out, rows);
    if out.total() == 0 {
        frame.render_widget(Paragraph::new(preview_lines(app, row)), text_area);
    } else {
        // At the oldest line kept in memory, the first row names the log with the rest.
        let mut lines: Vec<Line> = Vec::with_capacity(rows);
        let mut shown = rows;
        if out.first() > 0 && top == out.first() {
            let log = app.run.step_log(&row.info.id);
            let note = format!(
                "… {} earlier lines are in the step's log:\n{}",
                out.first(),
                log.display()
            );
            let note = super::dialog::wrap(&note, width.max(1));
            shown = rows.saturating_sub(note.len());
            lines.extend(
                note.into_iter()
                    .map(|l| Line::from(Span::styled(l, theme.warn()))),
            );
        }
        lines.extend(
            (top..out.total().min(top + shown))
                .filter_map(|n| out.get(n).map(|l| (n, l)))
                .map(|(n, l)| {
                    let line = ansi::line(&l.text, theme.stream(l.stream), theme.color, width);
                    if app.search.current == Some(n) {
                        line.patch_style(theme.matched())
                    } else if app.search.matches(&l.text) {
                        line.patch_style(
                            ratatui::style::Style::new().add_modifier(Modifier::UNDERLINED),
                        )
                    } else {
                        line
                    }
                }),
        );
        frame.render_widget(Paragraph::new(lines), text_area);
    }
    frame.render_widget(Paragraph::new(status_line(app, row, out, top)), status_area);
}
