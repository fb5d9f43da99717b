//! The notices under the header: what the engine said before (or while) the run went on — the
//! go-live lock and who holds it, a runbook that changed since its rehearsal, a torn journal line.
//! They stay until the operator puts them away, so the first question never hides them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::keymap::{Action, Keymap};
use crate::theme::Theme;
use golive_core::events::NoticeLevel;

/// At most this many lines of notices are shown.
pub const MAX_ROWS: usize = 3;

/// How many lines `count` notices take.
pub fn rows(count: usize) -> u16 {
    u16::try_from(count.min(MAX_ROWS)).unwrap_or_default()
}

fn severity(level: NoticeLevel) -> u8 {
    match level {
        NoticeLevel::Error => 0,
        NoticeLevel::Warn => 1,
        NoticeLevel::Info => 2,
    }
}

/// Draw the notices, most serious first (then oldest first); when they do not all fit, the last
/// line says how many more there are.
///
/// ```text
///  ! the runbook changed since its last rehearsal: what runs now was not rehearsed   x put away
///  i go-live lock taken on golive@127.0.0.1:5432/shop by ops@host pid 4242
///  … 2 more notices
/// ```
pub fn render(
    frame: &mut Frame,
    area: Rect,
    notices: &[(NoticeLevel, String)],
    keymap: &Keymap,
    theme: Theme,
) {
    let mut order: Vec<&(NoticeLevel, String)> = notices.iter().collect();
    order.sort_by_key(|(level, _)| severity(*level));
    let shown = if order.len() > MAX_ROWS {
        MAX_ROWS - 1
    } else {
        order.len()
    };
    let mut lines: Vec<Line> = order
        .iter()
        .take(shown)
        .map(|(level, text)| notice_line(*level, text, theme))
        .collect();
    if order.len() > shown {
        lines.push(Line::from(Span::styled(
            format!(" … {} more notices", order.len() - shown),
            theme.dim(),
        )));
    }
    if let Some(first) = lines.first_mut() {
        first.push_span(Span::styled(
            format!("  {}", keymap.key(Action::DismissNotices)),
            theme.key(),
        ));
        first.push_span(Span::styled(" put away", theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// One notice as a line: its level's mark and style.
pub fn notice_line(level: NoticeLevel, text: &str, theme: Theme) -> Line<'static> {
    let mark = match level {
        NoticeLevel::Info => "i",
        NoticeLevel::Warn => "!",
        NoticeLevel::Error => "✘",
    };
    Line::from(Span::styled(format!(" {mark} {text}"), theme.notice(level)))
}
