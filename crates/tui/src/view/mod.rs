//! Pure views: one `render` per region of the screen, each reading the state and drawing into the
//! frame; no IO, no clock, no locks.

pub mod checklist;
pub mod dialog;
pub mod footer;
pub mod header;
pub mod help;
pub mod layout;
pub mod notices;
pub mod output;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders};

use super::App;
use super::app::View;
use super::dashboard;

/// Draw the whole console.
///
/// ```text
/// ┌ PRODUCTION ──────────────────────────────────────┐  (production only)
/// │ header                                           │
/// │ notices                        (when there are)  │
/// │ checklist │ output            (or the dashboard) │
/// │ footer                                           │
/// └──────────────────────────────────────────────────┘
///    dialog (below the header and notices) or help overlay on top
/// ```
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let production = app.run.is_production();
    if production {
        let env = app.run.environment.as_deref().unwrap_or("production");
        let block = Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Thick)
            .border_style(app.theme.production())
            .title(Span::styled(
                format!(" {} ", env.to_uppercase()),
                app.theme.production(),
            ));
        frame.render_widget(block, area);
    }
    let areas = layout::areas(area, production, notices::rows(app.run.notices.len()));
    header::render(frame, areas.header, app);
    notices::render(
        frame,
        areas.notices,
        &app.run.notices,
        &app.keymap,
        app.theme,
    );
    match app.ui.view {
        View::Checklist => {
            checklist::render(frame, areas.checklist, app);
            output::render(frame, areas.output, app);
        }
        View::Dashboard => dashboard::render(frame, areas.body, &app.dashboard, app.theme),
    }
    footer::render(frame, areas.footer, app);
    if let (Some(user), Some(question)) = (&app.ui.observer, &app.question) {
        let below = Rect::new(
            area.x,
            areas.body.y,
            area.width,
            area.bottom().saturating_sub(areas.body.y),
        );
        dialog::waiting(frame, below, question, user, app.theme);
    } else if let Some(dialog) = &app.dialog {
        // Below the header and the notices: the target and what the engine warned about stay
        // in sight while the operator answers.
        let below = Rect::new(
            area.x,
            areas.body.y,
            area.width,
            area.bottom().saturating_sub(areas.body.y),
        );
        dialog::render(frame, below, dialog, &app.keymap, app.theme);
    }
    if app.ui.help {
        help::render(frame, area, &app.keymap, app.theme);
    }
}
