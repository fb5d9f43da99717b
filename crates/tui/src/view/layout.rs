//! Where each region goes, computed from the screen's size alone (the app uses the same function to
//! know how many output lines a page holds).

use ratatui::layout::{Constraint, Layout, Margin, Rect};

/// The regions of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Runbook, environment, targets, clock.
    pub header: Rect,
    /// The engine's notices (empty when there are none).
    pub notices: Rect,
    /// Checklist and output (or the dashboard).
    pub body: Rect,
    /// The checklist pane.
    pub checklist: Rect,
    /// The output pane.
    pub output: Rect,
    /// Message and keys.
    pub footer: Rect,
}

impl Areas {
    /// How many lines of output the output pane shows (inside its border, above its status line).
    pub fn output_rows(&self) -> usize {
        usize::from(self.output.height.saturating_sub(3))
    }
}

/// Split `area`, with `notice_rows` lines of notices under the header; in production a one-cell
/// frame surrounds everything.
///
/// ```text
/// ┌ PRODUCTION ────────────────────────────────┐   (production only)
/// │ header (2 lines)                           │
/// │ notices (0 to 3 lines)                     │
/// │ ┌ checklist ─┐┌ output ──────────────────┐ │
/// │ │            ││                          │ │
/// │ └────────────┘└──────────────────────────┘ │
/// │ footer (2 lines)                           │
/// └────────────────────────────────────────────┘
/// ```
pub fn areas(area: Rect, production: bool, notice_rows: u16) -> Areas {
    let inner = if production {
        area.inner(Margin::new(1, 1))
    } else {
        area
    };
    let [header, notices, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(notice_rows),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let list_width = (body.width * 2 / 5).clamp(28.min(body.width), 48);
    let [checklist, output] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Fill(1)]).areas(body);
    Areas {
        header,
        notices,
        body,
        checklist,
        output,
        footer,
    }
}
