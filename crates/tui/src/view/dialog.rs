//! Dialogs drawn over the screen: the engine's questions, confirmations, the procedure picker.
//!
//! Every dialog has a body that scrolls (PgUp/PgDn) and a fixed part under it that is always on
//! screen, from 80x24 up: the typed-input line, a failure's choices, and the key line, which is
//! drawn from the same keymap the dialog's handler reads. Long lines wrap; nothing is typed blind.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::keymap::{Action, Context, Keymap};
use crate::state::dialog::{ConfirmDialog, Dialog, ProcedurePicker, QuestionDialog};
use crate::theme::Theme;
use golive_core::events::QuestionKind;

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

/// `text` wrapped to `width`, every line in `style`, with `indent` before each.
fn para(text: &str, width: usize, indent: &str, style: Style) -> Vec<Line<'static>> {
    wrap(text, width.saturating_sub(indent.len()).max(1))
        .into_iter()
        .map(|l| Line::from(Span::styled(format!("{indent}{l}"), style)))
        .collect()
}

/// Key hints packed into as many lines of `width` as they need (never cut).
pub fn key_lines(hints: &[(String, &str)], width: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0;
    for (key, what) in hints {
        let len = key.chars().count() + what.chars().count() + 3;
        if used > 0 && used + len > width {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        spans.push(Span::styled(key.clone(), theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.dim()));
        used += len;
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

/// A dialog's content: a body that scrolls and a part under it that always shows.
struct Content {
    title: String,
    border: Style,
    body: Vec<Line<'static>>,
    fixed: Vec<Line<'static>>,
    scroll: usize,
}

/// Draw `content` centred in `area`. When the body does not fit, its last row says which lines
/// show and how to scroll.
fn boxed(frame: &mut Frame, area: Rect, content: Content, keymap: &Keymap, theme: Theme) {
    let width = dialog_width(area);
    let max_height = usize::from(area.height);
    let wanted = content.body.len() + content.fixed.len() + 2;
    let height = wanted.min(max_height);
    let rows = height.saturating_sub(2 + content.fixed.len());
    let total = content.body.len();
    let mut lines: Vec<Line> = if total <= rows {
        content.body
    } else {
        let shown = rows.saturating_sub(1);
        let top = content.scroll.min(total - shown);
        let mut lines: Vec<Line> = content.body.into_iter().skip(top).take(shown).collect();
        if rows > 0 {
            let more = format!(
                "  lines {}–{} of {total} · {} scrolls",
                top + 1,
                top + shown,
                keymap.hint(Context::Confirm, Action::PageUp).0
            );
            lines.push(Line::from(Span::styled(more, theme.dim())));
        }
        lines
    };
    lines.extend(content.fixed);
    let popup = centered(area, width, u16::try_from(height).unwrap_or(u16::MAX));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(content.border)
        .title(Line::from(content.title));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

fn question(
    q: &QuestionDialog,
    width: usize,
    keymap: &Keymap,
    hints: &[(String, &str)],
    theme: Theme,
) -> Content {
    let subject = q.step_title.as_deref().unwrap_or("the run");
    let mut body = para(&q.question.prompt, width, "", theme.strong());
    if let Some(target) = &q.target {
        body.extend(para(
            &format!("target: {target}"),
            width,
            "",
            theme.danger(),
        ));
    }
    let mut fixed = Vec::new();
    let (title, border) = match &q.question.kind {
        QuestionKind::Destructive => {
            body.push(Line::from(Span::styled("what will run:", theme.dim())));
            body.extend(para(&q.question.detail, width, "  ", theme.text()));
            if let Some(expect) = &q.question.expect_typed {
                fixed.push(Line::from(vec![
                    Span::raw("Type "),
                    Span::styled(format!("“{expect}”"), theme.strong()),
                    Span::raw(" to run it (refusing is journaled)"),
                ]));
                fixed.extend(para(&format!("> {}█", q.typed), width, "", theme.strong()));
            }
            (format!(" DESTRUCTIVE: {subject} "), theme.danger())
        }
        QuestionKind::Gate | QuestionKind::RerunInterrupted => {
            body.extend(para(&q.question.detail, width, "  ", theme.text()));
            let title = if q.question.kind == QuestionKind::Gate {
                format!(" Gate: {subject} ")
            } else {
                format!(" Interrupted earlier: {subject} ")
            };
            (title, theme.warn())
        }
        QuestionKind::Inconclusive { .. } => {
            body.extend(para(&q.question.detail, width, "  ", theme.text()));
            body.extend(para(
                "y: accept as passed (journaled) · n: decline: the step fails, then retry, skip or roll back",
                width,
                "",
                theme.dim(),
            ));
            (format!(" Watch inconclusive: {subject} "), theme.warn())
        }
        QuestionKind::Failure { error, .. } => {
            body.extend(para(&format!("error: {error}"), width, "", theme.danger()));
            if q.question.detail != *error {
                body.extend(para(&q.question.detail, width, "  ", theme.text()));
            }
            for (i, (_, what, action)) in q.choices().into_iter().enumerate() {
                let key = keymap.key_in(Context::Failure, action);
                let style = if i == q.choice {
                    theme.selected()
                } else {
                    theme.text()
                };
                let mut lines = para(&what, width.saturating_sub(5), "", style);
                for (n, line) in lines.iter_mut().enumerate() {
                    // The highlighted choice is marked in words too (NO_COLOR, screen readers).
                    let mark = if i == q.choice { '▸' } else { ' ' };
                    let lead = if n == 0 {
                        format!("{mark}{key:<3}")
                    } else {
                        "    ".to_string()
                    };
                    line.spans.insert(0, Span::styled(lead, theme.key()));
                }
                fixed.extend(lines);
            }
            (format!(" Failed: {subject} "), theme.danger())
        }
    };
    fixed.extend(key_lines(hints, width, theme));
    Content {
        title,
        border,
        body,
        fixed,
        scroll: q.scroll,
    }
}

fn confirm(c: &ConfirmDialog, width: usize, hints: &[(String, &str)], theme: Theme) -> Content {
    let body = c
        .lines
        .iter()
        .flat_map(|l| para(l, width, "", theme.text()))
        .collect();
    let border = if c.danger {
        theme.danger()
    } else {
        theme.warn()
    };
    Content {
        title: format!(" {} ", c.title),
        border,
        body,
        fixed: key_lines(hints, width, theme),
        scroll: c.scroll,
    }
}

fn picker(p: &ProcedurePicker, width: usize, hints: &[(String, &str)], theme: Theme) -> Content {
    let mut body = Vec::new();
    for (i, e) in p.entries.iter().enumerate() {
        let style = if i == p.selected {
            theme.selected()
        } else {
            theme.text()
        };
        body.extend(para(
            &format!(" {} `{}`: {} ", e.section, e.id, e.title),
            width,
            "",
            style,
        ));
    }
    if let Some(e) = p.entries.get(p.selected) {
        body.push(Line::default());
        if let Some(d) = &e.description {
            body.extend(para(d, width, "", theme.text()));
        }
        for (n, (title, preview)) in e.steps.iter().enumerate() {
            body.extend(para(
                &format!("{}. {title}", n + 1),
                width,
                "",
                theme.strong(),
            ));
            body.extend(para(preview, width, "  ", theme.text()));
        }
    }
    Content {
        title: " Procedures ".to_string(),
        border: theme.warn(),
        body,
        fixed: key_lines(hints, width, theme),
        scroll: p.scroll,
    }
}

/// Draw the open dialog over `area`.
///
/// ```text
///        ╔ DESTRUCTIVE: Deploy RLS policies ══════════════╗
///        ║ Run the SQL file on the database?               ║   body: scrolls
///        ║ target: app@db:5432/shop                        ║
///        ║ what will run:                                  ║
///        ║   BEGIN; DROP POLICY IF EXISTS …                ║
///        ║   lines 1–9 of 40 · PgUp/PgDn scrolls           ║
///        ║ Type “shop” to run it (refusing is journaled)   ║   fixed: always shows
///        ║ > sho█                                          ║
///        ║ Enter run it  ctrl-n refuse…  Esc put away      ║
///        ╚═════════════════════════════════════════════════╝
/// ```
pub fn render(frame: &mut Frame, area: Rect, dialog: &Dialog, keymap: &Keymap, theme: Theme) {
    let width = text_width(area);
    let hints = dialog.hints(keymap);
    let content = match dialog {
        Dialog::Question(q) => question(q, width, keymap, &hints, theme),
        Dialog::Confirm(c) => confirm(c, width, &hints, theme),
        Dialog::Procedures(p) => picker(p, width, &hints, theme),
    };
    boxed(frame, area, content, keymap, theme);
}

/// A read-only console's question (`golive attach`): what the driver is asked, and that it waits
/// for them; no input line, no keys to answer.
///
/// ```text
///        ╔ Destructive step: waiting for alice ════════════╗
///        ║ Run `rls-deploy` on shop@db:5432/shop?          ║
///        ║   BEGIN; CREATE POLICY …                        ║
///        ║ waiting for alice's confirmation                ║
///        ╚═════════════════════════════════════════════════╝
/// ```
pub fn waiting(
    frame: &mut Frame,
    area: Rect,
    q: &golive_core::events::Question,
    user: &str,
    theme: Theme,
) {
    let width = text_width(area);
    let kind = match &q.kind {
        QuestionKind::Destructive => "Destructive step",
        QuestionKind::Gate => "Manual step",
        QuestionKind::RerunInterrupted => "Interrupted step",
        QuestionKind::Inconclusive { .. } => "Inconclusive watch",
        QuestionKind::Failure { .. } => "Step failed",
    };
    let mut body = para(&q.prompt, width, "", theme.strong());
    body.extend(para(&q.detail, width, "  ", theme.dim()));
    let content = Content {
        title: format!(" {kind}: waiting for {user} "),
        border: theme.warn(),
        body,
        fixed: vec![Line::from(Span::styled(
            crate::app::waiting_for(user),
            theme.warn(),
        ))],
        scroll: 0,
    };
    boxed(frame, area, content, &Keymap::default(), theme);
}
