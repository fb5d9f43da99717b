//! Dialogs drawn over the screen: the engine's questions, confirmations, the procedure picker.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::engine::events::QuestionKind;
use crate::tui::state::dialog::{ConfirmDialog, Dialog, ProcedurePicker, QuestionDialog};
use crate::tui::theme::Theme;

/// A rectangle `width` x `height` centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// The width of a dialog over `area`.
fn dialog_width(area: Rect) -> u16 {
    area.width.saturating_sub(4).min(96)
}

/// Room for text inside a dialog over `area`.
fn text_width(area: Rect) -> usize {
    usize::from(dialog_width(area).saturating_sub(2)).max(10)
}

/// `text` broken into lines of at most `width` characters, at a space where there is one.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest: Vec<char> = line.chars().collect();
        while rest.len() > width {
            let cut = rest[..=width]
                .iter()
                .rposition(|c| *c == ' ')
                .filter(|&i| i > width / 2)
                .unwrap_or(width);
            out.push(rest[..cut].iter().collect());
            let skip = usize::from(rest.get(cut) == Some(&' '));
            rest.drain(..cut + skip);
        }
        out.push(rest.into_iter().collect());
    }
    out
}

fn boxed(frame: &mut Frame, area: Rect, title: Line<'_>, border: Style, lines: Vec<Line<'_>>) {
    let width = dialog_width(area);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, width, height.min(area.height.saturating_sub(2)));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(border)
        .title(title);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// Lines of `text`, indented and wrapped to `width`, at most `max` of them (then a count of the
/// rest).
fn excerpt(text: &str, width: usize, max: usize, theme: Theme) -> Vec<Line<'static>> {
    let all = wrap(text, width.saturating_sub(2));
    let mut lines: Vec<Line> = all
        .iter()
        .take(max)
        .map(|l| Line::from(format!("  {l}")))
        .collect();
    if all.len() > max {
        lines.push(Line::from(Span::styled(
            format!("  … {} more lines (see `golive plan`)", all.len() - max),
            theme.dim(),
        )));
    }
    lines
}

fn question(frame: &mut Frame, area: Rect, q: &QuestionDialog, theme: Theme) {
    let room = usize::from(area.height.saturating_sub(12)).max(3);
    let subject = q.step_title.as_deref().unwrap_or("the run");
    let width = text_width(area);
    let mut lines: Vec<Line> = wrap(&q.question.prompt, width)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, theme.strong())))
        .collect();
    if let Some(target) = &q.target {
        lines.push(Line::from(vec![
            Span::styled("target: ", theme.dim()),
            Span::styled(target.as_str(), theme.danger()),
        ]));
    }
    let (title, border) = match &q.question.kind {
        QuestionKind::Destructive => {
            lines.push(Line::from(Span::styled("what will run:", theme.dim())));
            lines.extend(excerpt(&q.question.detail, width, room, theme));
            lines.push(Line::default());
            if let Some(expect) = &q.question.expect_typed {
                lines.push(Line::from(vec![
                    Span::raw("Type "),
                    Span::styled(format!("“{expect}”"), theme.strong()),
                    Span::raw(" and Enter to run it · "),
                    Span::styled("ctrl-n", theme.key()),
                    Span::raw(" refuses (journaled)"),
                ]));
                lines.push(Line::from(vec![
                    Span::styled("> ", theme.key()),
                    Span::styled(q.typed.as_str(), theme.strong()),
                    Span::styled("█", theme.key()),
                ]));
            } else {
                lines.push(Line::from("y runs it · n refuses (journaled)"));
            }
            (format!(" DESTRUCTIVE: {subject} "), theme.danger())
        }
        QuestionKind::Gate | QuestionKind::RerunInterrupted => {
            lines.extend(excerpt(&q.question.detail, width, room, theme));
            lines.push(Line::default());
            lines.push(Line::from(vec![
                Span::styled("y", theme.key()),
                Span::raw(" confirm · "),
                Span::styled("n", theme.key()),
                Span::raw(" refuse (stops the run) · "),
                Span::styled("Esc", theme.key()),
                Span::raw(" put away"),
            ]));
            let title = if q.question.kind == QuestionKind::Gate {
                format!(" Gate: {subject} ")
            } else {
                format!(" Interrupted earlier: {subject} ")
            };
            (title, theme.warn())
        }
        QuestionKind::Inconclusive { .. } => {
            lines.extend(excerpt(&q.question.detail, width, room, theme));
            lines.push(Line::default());
            lines.push(Line::from(vec![
                Span::styled("y", theme.key()),
                Span::raw(" accept as passed (journaled) · "),
                Span::styled("n", theme.key()),
                Span::raw(" decline: retry, skip or roll back · "),
                Span::styled("Esc", theme.key()),
                Span::raw(" put away"),
            ]));
            (format!(" Watch inconclusive: {subject} "), theme.warn())
        }
        QuestionKind::Failure { error, .. } => {
            lines.push(Line::from(Span::styled(
                format!("error: {error}"),
                theme.danger(),
            )));
            lines.extend(excerpt(
                &q.question.detail,
                width,
                room.saturating_sub(4),
                theme,
            ));
            lines.push(Line::default());
            for (i, (_, what)) in q.choices().into_iter().enumerate() {
                let key = match i {
                    0 => "r".to_string(),
                    1 => "s".to_string(),
                    2 => "a".to_string(),
                    n => (n - 2).to_string(),
                };
                let style = if i == q.choice {
                    theme.selected()
                } else {
                    theme.text()
                };
                lines.push(Line::from(vec![
                    Span::styled(format!(" {key} "), theme.key()),
                    Span::styled(what, style),
                ]));
            }
            (format!(" Failed: {subject} "), theme.danger())
        }
    };
    boxed(frame, area, Line::from(title), border, lines);
}

fn confirm(frame: &mut Frame, area: Rect, c: &ConfirmDialog, theme: Theme) {
    let room = usize::from(area.height.saturating_sub(8)).max(3);
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .take(room)
        .map(|l| Line::from(l.as_str()))
        .collect();
    if c.lines.len() > room {
        lines.push(Line::from(Span::styled(
            format!("… {} more lines", c.lines.len() - room),
            theme.dim(),
        )));
    }
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" yes · "),
        Span::styled("n", theme.key()),
        Span::raw(" no"),
    ]));
    let border = if c.danger {
        theme.danger()
    } else {
        theme.warn()
    };
    boxed(
        frame,
        area,
        Line::from(format!(" {} ", c.title)),
        border,
        lines,
    );
}

fn picker(frame: &mut Frame, area: Rect, p: &ProcedurePicker, theme: Theme) {
    let mut lines = Vec::new();
    for (i, e) in p.entries.iter().enumerate() {
        let style = if i == p.selected {
            theme.selected()
        } else {
            theme.text()
        };
        lines.push(Line::from(Span::styled(
            format!(" {} `{}`: {} ", e.section, e.id, e.title),
            style,
        )));
    }
    if let Some(e) = p.entries.get(p.selected) {
        lines.push(Line::default());
        if let Some(d) = &e.description {
            lines.push(Line::from(Span::styled(d.as_str(), theme.text())));
        }
        for (n, (title, preview)) in e.steps.iter().enumerate() {
            lines.push(Line::from(Span::styled(
                format!("{}. {title}", n + 1),
                theme.strong(),
            )));
            lines.extend(excerpt(preview, text_width(area), 3, theme));
        }
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "Enter starts the highlighted one (after a confirmation) · Esc closes",
        theme.dim(),
    )));
    boxed(frame, area, Line::from(" Procedures "), theme.warn(), lines);
}

/// Draw the open dialog over `area`.
///
/// ```text
///        ╔ DESTRUCTIVE: Deploy RLS policies ══════════════╗
///        ║ Run the SQL file on the database?               ║
///        ║ target: app@db:5432/shop                        ║
///        ║ what will run:                                  ║
///        ║   BEGIN; DROP POLICY IF EXISTS …                ║
///        ║ Type “shop” and Enter to run it; …              ║
///        ║ > sho█                                          ║
///        ╚═════════════════════════════════════════════════╝
/// ```
pub fn render(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: Theme) {
    match dialog {
        Dialog::Question(q) => question(frame, area, q, theme),
        Dialog::Confirm(c) => confirm(frame, area, c, theme),
        Dialog::Procedures(p) => picker(frame, area, p, theme),
    }
}
