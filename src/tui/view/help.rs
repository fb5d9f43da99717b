//! The help overlay: every key binding, from the keymap itself.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::dialog::centered;
use crate::tui::keymap::{Action, Keymap};
use crate::tui::theme::Theme;

const DIALOG_KEYS: [(&str, &str); 6] = [
    (
        "text + Enter",
        "destructive step: type the target's name to run it",
    ),
    (
        "ctrl-n",
        "destructive step: refuse it (asks y/n; ends the run)",
    ),
    (
        "y / n",
        "confirm / refuse (gates, skip, retry, abort, rollback)",
    ),
    (
        "r s a 1-9",
        "after a failure: retry, skip, abort, roll back",
    ),
    ("Esc", "put a question away (Enter brings it back)"),
    ("ctrl-c", "stop the run and quit, from anywhere"),
];

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
    lines.push(Line::from(Span::styled(" In dialogs", theme.strong())));
    lines.extend(DIALOG_KEYS.iter().map(|(k, what)| {
        Line::from(vec![
            Span::styled(format!(" {k:<key_width$}"), theme.key()),
            Span::raw(*what),
        ])
    }));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, 72, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.focused_border())
        .title(" Keys (any key closes) ");
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
