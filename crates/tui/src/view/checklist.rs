//! The checklist pane: every step with its state icon, title and duration; procedures below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::App;
use crate::app::Pane;
use crate::state::checklist::{Row, StepRow};
use crate::state::run::short;
use golive_core::events::StepState;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The icon of a step's state (text, so state reads without colour).
pub fn icon(state: StepState, spinner: usize) -> &'static str {
    match state {
        StepState::Pending => "·",
        StepState::AwaitingConfirmation => "?",
        StepState::Running => SPINNER[spinner % SPINNER.len()],
        StepState::Passed => "✔",
        StepState::Failed => "✘",
        StepState::Skipped => "»",
        StepState::Interrupted => "■",
    }
}

fn step_line<'a>(row: &'a StepRow, app: &App, width: usize, indent: usize) -> Line<'a> {
    let theme = app.theme;
    let style = theme.step(row.state);
    let duration = row.elapsed.map(short).unwrap_or_default();
    let mark = if row.info.destructive { "!" } else { " " };
    let fixed = indent + 2 + 2 + duration.len() + 1;
    let room = width.saturating_sub(fixed);
    let title: String = row.info.title.chars().take(room).collect();
    let pad = room.saturating_sub(title.chars().count());
    Line::from(vec![
        Span::raw(" ".repeat(indent)),
        Span::styled(icon(row.state, app.ui.spinner), style),
        Span::raw(" "),
        Span::styled(mark, theme.danger()),
        Span::raw(" "),
        Span::styled(
            title,
            if row.state == StepState::Pending {
                theme.text()
            } else {
                style
            },
        ),
        Span::raw(" ".repeat(pad + 1)),
        Span::styled(duration, theme.dim()),
    ])
}

/// Draw the checklist.
///
/// ```text
/// ┌ steps 2/5 ─────────────────┐
/// │ ✔   Preflight checks   1.2s│
/// │ ⠹ ! Deploy RLS policies 4.0s│   ! marks a destructive step
/// │ ·   Verify isolation        │
/// │ rollback: Fast rollback     │
/// │   ·   Turn the flags off    │
/// └────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let (done, total) = app.checklist.progress();
    let focused = app.ui.focus == Pane::Checklist;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme.border()
        })
        .title(format!(" steps {done}/{total} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    let width = usize::from(inner.width);
    let rows = app.checklist.rows();
    let selected_row = rows
        .iter()
        .position(|r| *r == Row::Step(app.checklist.selected))
        .unwrap_or(0);
    let offset = (selected_row + 1).saturating_sub(height);
    let lines: Vec<Line> = rows
        .iter()
        .skip(offset)
        .take(height)
        .map(|r| match r {
            Row::Procedure(p) => {
                let proc_ = &app.checklist.procedures[*p];
                Line::from(Span::styled(
                    format!(" {}: {}", proc_.section, proc_.title),
                    theme.strong(),
                ))
            }
            Row::Step(i) => {
                let row = &app.checklist.steps[*i];
                let indent = usize::from(row.info.procedure.is_some()) * 2;
                let line = step_line(row, app, width, indent);
                if *i == app.checklist.selected {
                    line.patch_style(if focused {
                        theme.selected()
                    } else {
                        Style::new().add_modifier(ratatui::style::Modifier::BOLD)
                    })
                } else {
                    line
                }
            }
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" no steps yet", theme.dim())),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
