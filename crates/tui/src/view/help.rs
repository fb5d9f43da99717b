//! The help overlay: every key binding, from the keymap itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::dialog::{centered, key_lines};
use crate::keymap::{Action, Context, Keymap};
use crate::theme::Theme;

/// Draw the help overlay.
///
/// ```text
///   ╔ Keys ═══════════════════════════════════════╗
///   ║ k/↑          previous step / scroll up       ║
///   ║ …                                            ║
///   ║ In dialogs                                   ║
///   ║ y / n        confirm / refuse                ║
///   ╚══════════════════════════════════════════════╝
/// ```
pub fn render(frame: &mut Frame, area: Rect, keymap: &Keymap, theme: Theme) {
    let key_width = 14;
    let mut lines: Vec<Line> = Action::ALL
        .iter()
        .map(|&a| {
            Line::from(vec![
                Span::styled(format!(" {:<key_width$}", keymap.keys(a)), theme.key()),
                Span::raw(a.describe()),
            ])
        })
        .collect();
    // The dialogs, one line each, from the same table their handlers and key lines read.
    // Packed narrow enough for one of the two columns at 80x24.
    for context in Context::DIALOGS {
        lines.push(Line::from(Span::styled(
            format!(" {}", context.name()),
            theme.strong(),
        )));
        for mut line in key_lines(&keymap.hints(context), 34, theme) {
            line.spans.insert(0, Span::raw("   "));
            lines.push(line);
        }
    }
    lines.push(Line::from(vec![
        Span::styled(format!(" {:<key_width$}", "ctrl-c"), theme.key()),
        Span::raw("stop & quit, anywhere"),
    ]));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.focused_border())
        .title(" Keys (any key closes) ");
    let needed = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    if needed <= area.height {
        let popup = centered(area, 72, needed);
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(lines).block(block), popup);
        return;
    }
    // A short terminal (80x24): the bindings in two columns, so none is cut off.
    let half = lines.len().div_ceil(2);
    let right = lines.split_off(half);
    let height = u16::try_from(half + 2).unwrap_or(u16::MAX);
    let popup = centered(area, area.width, height);
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), left_area);
    frame.render_widget(Paragraph::new(right), right_area);
}
