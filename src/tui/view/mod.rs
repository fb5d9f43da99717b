//! Pure views: one `render` per region of the screen, each reading the state and drawing into the
//! frame; no IO, no clock, no locks.

pub mod checklist;
pub mod dialog;
pub mod footer;
pub mod header;
pub mod help;
pub mod layout;
pub mod output;

use ratatui::Frame;
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
/// │ checklist │ output            (or the dashboard) │
/// │ footer                                           │
/// └──────────────────────────────────────────────────┘
///          dialog or help overlay on top
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
    let areas = layout::areas(area, production);
    header::render(frame, areas.header, app);
    match app.ui.view {
        View::Checklist => {
            checklist::render(frame, areas.checklist, app);
            output::render(frame, areas.output, app);
        }
        View::Dashboard => {
            let title = app
                .dashboard
                .latest
                .as_ref()
                .and_then(|(step, _)| app.checklist.steps.get(*step))
                .map_or("monitor", |s| s.info.title.as_str());
            dashboard::render(frame, areas.body, &app.dashboard, title, app.theme);
        }
    }
    footer::render(frame, areas.footer, app);
    if let Some(dialog) = &app.dialog {
        dialog::render(frame, area, dialog, app.theme);
    }
    if app.ui.help {
        help::render(frame, area, &app.keymap, app.theme);
    }
}
