//! The monitoring view inside the console: the dashboard's own state
//! ([`monitor::DashboardState`]) fed by the engine's `Monitor` snapshots, drawn by the dashboard's
//! pure render ([`monitor::render`]).
//!
//! The console adds what only it knows: which step sends the snapshots, that step's failure (a
//! breach ends the monitor step, and the dashboard shows it as its red banner), and `NO_COLOR`.

use ratatui::Frame;
use ratatui::layout::Rect;
use serde_json::Value;

use crate::engine::events::StepIdx;
use crate::monitor::{self, DashboardAction, DashboardState};
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

/// The dashboard as the console holds it.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    /// The monitor step whose snapshots are shown; `None` before the first snapshot.
    pub step: Option<StepIdx>,
    /// The dashboard's state: latest snapshot, history, chosen window, breach.
    pub state: DashboardState,
}

impl Dashboard {
    /// Take a snapshot from `step`; returns whether it is the first one from that step (the
    /// console then switches to the dashboard). A value that is not a snapshot changes nothing.
    pub fn update(&mut self, step: StepIdx, snapshot: &Value) -> bool {
        let first = self.step != Some(step);
        if first {
            self.state = DashboardState::default();
        }
        if !self.state.apply_json(snapshot) {
            return false;
        }
        self.step = Some(step);
        first
    }

    /// Whether there is anything to show.
    pub fn has_snapshot(&self) -> bool {
        self.state.snapshot.is_some()
    }

    /// The monitor step failed: a breach (or a lost source) ended it; shown as the banner.
    pub fn step_failed(&mut self, step: StepIdx, detail: Option<&str>) {
        if self.step == Some(step) {
            self.state.breach = Some(detail.unwrap_or("the monitor step failed").to_string());
        }
    }

    /// Change the window shown, for one of the window actions (others do nothing).
    pub fn window_key(&mut self, action: Action) {
        let wanted = match action {
            Action::ShorterWindow => DashboardAction::ShorterWindow,
            Action::LongerWindow => DashboardAction::LongerWindow,
            Action::AutoWindow => DashboardAction::AutoWindow,
            _ => return,
        };
        self.state.handle(wanted);
    }
}

/// Draw the dashboard into `area` (the console's body): [`monitor::render`], with every colour
/// taken out again under `NO_COLOR` (bold and the words stay, so states still read).
pub fn render(frame: &mut Frame, area: Rect, dashboard: &Dashboard, theme: Theme) {
    monitor::view::render_colored(frame, area, &dashboard.state, theme.color);
}
