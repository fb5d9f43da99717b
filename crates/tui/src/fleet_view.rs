//! The fleet console's screen, pure: the header (runbook, wave, pause or halt), the matrix of
//! targets × steps (each cell the checklist's icon and colour), the selected target's output,
//! the footer's keys, and the wave question over it all.
//!
//! ```text
//! ┌ golive fleet · Phase 2 go-live · wave-2 of 3 ───────────────────────────────┐
//! │ target     wave  1 2 3 4 5 6 7 8   status                                   │
//! │ t1         1     ✔ ✔ ✔ ✔ ✔ ✔ ✔ ✔   passed                                   │
//! │▶t2         2     ✔ ✔ ⠋ · · · · ·   running: verify-rls                      │
//! │ t3         3     · · · · · · · ·   waiting                                  │
//! ├ t2 · output ────────────────────────────────────────────────────────────────┤
//! │ …the selected target's latest lines                                         │
//! └ ↑↓ target  q stop/quit ─────────────────────────────────────────────────────┘
//!             ┌ wave-2: confirm once for t2, t3 ┐
//!             │ DESTRUCTIVE: `rls-deploy` …      │
//!             │ > wave-█                          │
//!             └ Enter confirm · Esc refuse       ┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::fleet_state::{Dialog, FleetState, Pane, TargetRow, TargetStatus};
use super::theme::Theme;
use super::view::checklist::icon;
use golive_core::events::{Outcome, StepState};

/// Width of the target-name column.
const NAME: usize = 12;

/// Draw the whole fleet console.
pub fn draw(frame: &mut Frame, state: &FleetState, theme: Theme) {
    let area = frame.area();
    let rows = u16::try_from(state.targets.len()).unwrap_or(u16::MAX);
    let [header, matrix, output, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(rows.saturating_add(4).min(area.height / 2 + 1)),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header_line(state, theme)), header);
    match state.pane {
        Pane::Matrix => {
            draw_matrix(frame, matrix, state, theme);
            draw_output(frame, output, state, theme);
        }
        Pane::Dashboard => {
            let both = Rect {
                height: matrix.height + output.height,
                ..matrix
            };
            super::fleet_dashboard::draw(frame, both, state, theme);
        }
    }
    frame.render_widget(Paragraph::new(footer_line(state, theme)), footer);
    if let Some(dialog) = &state.dialog {
        draw_dialog(frame, area, dialog, theme);
    }
}

fn header_line(state: &FleetState, theme: Theme) -> Line<'_> {
    let mut spans = vec![
        Span::styled(" golive fleet ", theme.strong()),
        Span::raw(format!("· {} ", state.runbook)),
    ];
    if let Some(w) = state.wave.and_then(|w| state.waves.get(w)) {
        let of = state.waves.len();
        spans.push(Span::raw(format!("· {} of {of} ", w.name)));
    }
    if let Some((outcome, _)) = &state.finished {
        let style = match outcome {
            golive_core::fleet::FleetOutcome::Passed => theme.good(),
            _ => theme.danger(),
        };
        spans.push(Span::styled(format!("· {} ", outcome.label()), style));
    } else if state.halted.is_some() {
        spans.push(Span::styled("· HALTING ", theme.danger()));
    } else if let Some((next, left, watching)) = state.pause {
        let name = state.waves.get(next).map_or("?", |w| w.name.as_str());
        let left = humantime::format_duration(std::time::Duration::from_secs(
            left.as_secs_f64().ceil() as u64,
        ));
        let text = if watching {
            format!("· watching before {name}: {left} left ")
        } else {
            format!("· pause: {name} starts in {left} ")
        };
        spans.push(Span::styled(text, theme.warn()));
    }
    Line::from(spans)
}

/// What the status column says about a target.
fn status(row: &TargetRow, state: &FleetState, theme: Theme) -> Span<'static> {
    match row.status {
        TargetStatus::Waiting => Span::styled("waiting", theme.dim()),
        TargetStatus::Skipped => Span::styled("passed earlier", theme.good()),
        TargetStatus::Running => {
            let now = row
                .steps
                .iter()
                .position(|s| matches!(s, StepState::Running | StepState::AwaitingConfirmation));
            match now.and_then(|i| state.steps.get(i).map(|id| (id, row.steps[i]))) {
                Some((id, StepState::AwaitingConfirmation)) => Span::styled(
                    format!("asks: {id}"),
                    theme.step(StepState::AwaitingConfirmation),
                ),
                Some((id, _)) => {
                    Span::styled(format!("running: {id}"), theme.step(StepState::Running))
                }
                None => Span::styled("running", theme.step(StepState::Running)),
            }
        }
        TargetStatus::Finished(Some(Outcome::Passed)) => Span::styled("passed", theme.good()),
        TargetStatus::Finished(Some(Outcome::Interrupted)) => {
            Span::styled("stopped (halt)", theme.step(StepState::Interrupted))
        }
        TargetStatus::Finished(outcome) => Span::styled(
            format!(
                "{}: {}",
                outcome.map_or("not started".into(), |o| format!("{o:?}").to_lowercase()),
                row.message.clone().unwrap_or_default()
            ),
            theme.danger(),
        ),
    }
}

/// Column labels: 1…9, then a…z, so a long runbook still fits 80 columns.
fn column_label(i: usize) -> char {
    let digits = "123456789abcdefghijklmnopqrstuvwxyz";
    digits.chars().nth(i).unwrap_or('+')
}

fn draw_matrix(frame: &mut Frame, area: Rect, state: &FleetState, theme: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(
            format!(
                " {} targets × {} steps ",
                state.targets.len(),
                state.steps.len()
            ),
            theme.strong(),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cols: String = (0..state.steps.len())
        .map(|i| format!("{} ", column_label(i)))
        .collect();
    let mut lines = vec![Line::from(Span::styled(
        format!(" {:<NAME$} {:<5} {cols}  status", "target", "wave"),
        theme.dim(),
    ))];
    // Keep the selected row in view; the last line names the columns.
    let room = usize::from(inner.height.saturating_sub(2)).max(1);
    let first = state.selected.saturating_sub(room - 1);
    for (t, row) in state.targets.iter().enumerate().skip(first).take(room) {
        let chosen = t == state.selected;
        let mut spans = vec![
            Span::styled(if chosen { "▶" } else { " " }, theme.strong()),
            Span::styled(
                format!("{:<NAME$} ", truncate(&row.name, NAME)),
                if chosen {
                    theme.selected()
                } else {
                    theme.text()
                },
            ),
            Span::styled(format!("{:<5} ", row.wave + 1), theme.dim()),
        ];
        for cell in &row.steps {
            spans.push(Span::styled(icon(*cell, state.spinner), theme.step(*cell)));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw("  "));
        spans.push(status(row, state, theme));
        lines.push(Line::from(spans));
    }
    let legend: Vec<String> = state
        .steps
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{} {id}", column_label(i)))
        .collect();
    lines.push(Line::from(Span::styled(
        format!(" {}", legend.join(" · ")),
        theme.dim(),
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_output(frame: &mut Frame, area: Rect, state: &FleetState, theme: Theme) {
    let row = state.targets.get(state.selected);
    let title = match row {
        Some(row) => format!(" {} · output ", row.name),
        None => " output ".to_string(),
    };
    let (inner, mut lines) = lower_pane(frame, area, title, state, theme);
    if let Some((_, message)) = &state.finished {
        lines.push(Line::from(Span::styled(message.clone(), theme.strong())));
    }
    let room = usize::from(inner.height).saturating_sub(lines.len());
    if let Some(row) = row {
        let skip = row.output.len().saturating_sub(room);
        for line in row.output.iter().skip(skip) {
            let text = crate::ansi::strip(&line.text).into_owned();
            lines.push(Line::from(Span::styled(text, theme.stream(line.stream))));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The bordered lower pane titled `title` (the selected target's output or panels): its
/// inside, and its first lines (why the fleet halted, when it did).
pub(crate) fn lower_pane(
    frame: &mut Frame,
    area: Rect,
    title: String,
    state: &FleetState,
    theme: Theme,
) -> (Rect, Vec<Line<'static>>) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(title, theme.strong()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    if let Some(reason) = &state.halted {
        lines.push(Line::from(Span::styled(
            format!("HALTED: {reason}"),
            theme.danger(),
        )));
    }
    (inner, lines)
}

fn footer_line(state: &FleetState, theme: Theme) -> Line<'static> {
    let quit = if state.finished.is_some() || state.stopping {
        " quit"
    } else {
        " stop every target"
    };
    let other = match state.pane {
        Pane::Matrix => " dashboard  ",
        Pane::Dashboard => " matrix  ",
    };
    Line::from(vec![
        Span::styled(" ↑↓", theme.key()),
        Span::raw(" target  "),
        Span::styled("d", theme.key()),
        Span::raw(other),
        Span::styled("q", theme.key()),
        Span::raw(quit),
        Span::styled(
            format!(
                "   journal: {}",
                state
                    .run_dir
                    .join(golive_core::fleet::journal::FILE)
                    .display()
            ),
            theme.dim(),
        ),
    ])
}

fn draw_dialog(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: Theme) {
    let q = &dialog.question;
    let width = area.width.saturating_sub(4).min(90);
    // The prompt (wrapped, two lines at most), the targets, the preview, the input and keys.
    let body = 4 + q.detail.lines().count();
    let height = area
        .height
        .saturating_sub(2)
        .min(u16::try_from(body + 4).unwrap_or(u16::MAX));
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let danger = q.expect_typed.is_some();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if danger {
            theme.danger()
        } else {
            theme.focused_border()
        })
        .title(Span::styled(
            format!(" {}: once for {} target(s) ", q.wave_name, q.targets.len()),
            theme.strong(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, input, keys] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut text = vec![
        Line::from(Span::styled(
            q.prompt.clone(),
            if danger {
                theme.danger()
            } else {
                theme.strong()
            },
        )),
        Line::from(vec![
            Span::styled("targets: ", theme.dim()),
            Span::raw(q.targets.join(", ")),
        ]),
    ];
    text.extend(
        q.detail
            .lines()
            .map(|l| Line::from(Span::styled(l.to_string(), theme.dim()))),
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), body);
    let input_line = match &q.expect_typed {
        Some(expect) => Line::from(vec![
            Span::raw(format!("> {}█", dialog.typed)),
            Span::styled(
                if dialog.mistyped {
                    format!("   (that was not `{expect}`; nothing ran)")
                } else {
                    String::new()
                },
                theme.warn(),
            ),
        ]),
        None => Line::default(),
    };
    frame.render_widget(Paragraph::new(input_line), input);
    let keys_line = match &q.expect_typed {
        Some(expect) => Line::from(vec![
            Span::styled("type ", theme.dim()),
            Span::styled(expect.clone(), theme.strong()),
            Span::styled(" then ", theme.dim()),
            Span::styled("Enter", theme.key()),
            Span::raw(" run on every target  "),
            Span::styled("Esc", theme.key()),
            Span::raw(" refuse (halts)"),
        ]),
        None => Line::from(vec![
            Span::styled("y", theme.key()),
            Span::raw(" yes, for every target  "),
            Span::styled("n/Esc", theme.key()),
            Span::raw(" no (halts)"),
        ]),
    };
    frame.render_widget(Paragraph::new(keys_line), keys);
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}
