//! The monitoring view inside the console: the dashboard's own state
//! ([`tui::dashboard::state::DashboardState`]) fed by the engine's `Monitor` snapshots during a watch, and
//! after the watch by the console's own live poller (see [`crate::event_loop`]), drawn by
//! the dashboard's pure render ([`tui::dashboard::panels::render`]).
//!
//! The console adds what only it knows: which step sends the snapshots, that step's verdict (a
//! breach ends the monitor step; the verdict stays on screen as it was, apart from the live
//! numbers), what happened since (a rollback and how long ago), and `NO_COLOR`.

pub mod panels;
pub mod state;

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use serde_json::Value;

use crate::keymap::Action;
use crate::theme::Theme;
use crate::view::dialog::wrap;
use golive_core::events::StepIdx;
use golive_core::monitor::panel_kind::{title_of, unit_of};
use golive_core::monitor::snapshot::{Snapshot, State};
use state::{DashboardAction, DashboardState};

/// The watch's verdict, frozen when the monitor step ended.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Passed, or the breach.
    pub text: String,
    /// Whether the watch failed.
    pub failed: bool,
    /// The panel that was worst when the watch ended, to follow in the live view.
    pub panel: Option<String>,
    /// How far into the watch it ended.
    pub at_seconds: u64,
}

/// The dashboard as the console holds it.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    /// The monitor step whose snapshots are shown; `None` before the first snapshot.
    pub step: Option<StepIdx>,
    /// The dashboard's state: latest snapshot, history, chosen window.
    pub state: DashboardState,
    /// The watch's verdict, once its step has ended.
    pub verdict: Option<Verdict>,
    /// The live view after the watch: since when it refreshes (the console polls on its own).
    pub live_since: Option<Instant>,
    /// A rollback that completed, and when.
    pub rollback: Option<(String, Instant)>,
    /// The console's clock, as of the last tick (render reads no clock).
    pub now: Option<Instant>,
    /// `golive monitor`: there is no watch step, the console watches from the start.
    pub alone: bool,
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

    /// A snapshot from the console's live poller, after the watch.
    pub fn live_snapshot(&mut self, snapshot: Snapshot) {
        if self.live_since.is_some() {
            self.state.apply(snapshot);
        }
    }

    /// Whether there is anything to show.
    pub fn has_snapshot(&self) -> bool {
        self.state.snapshot.is_some()
    }

    /// Whether the console should poll on its own: the watch has ended and the dashboard is
    /// still open.
    pub fn wants_live(&self) -> bool {
        self.live_since.is_some()
    }

    /// A step started running: when it is the watch again (a retry), its own snapshots take over.
    pub fn step_running(&mut self, step: StepIdx) {
        if self.step == Some(step) {
            self.verdict = None;
            self.live_since = None;
            self.state.phase = None;
        }
    }

    /// The monitor step ended (`detail` is the breach when it failed): its verdict is frozen and
    /// the live view begins.
    pub fn step_ended(&mut self, step: StepIdx, failed: bool, detail: Option<&str>, now: Instant) {
        if self.step != Some(step) {
            return;
        }
        let worst = self.state.snapshot.as_ref().and_then(|s| {
            s.panels
                .iter()
                .filter(|p| p.value.is_some())
                .max_by_key(|p| severity(p.state))
                .map(|p| p.id.clone())
        });
        let text = match (failed, detail) {
            (true, Some(d)) => d.to_string(),
            (true, None) => "the monitor step failed".to_string(),
            (false, d) => d
                .unwrap_or("every panel stayed within its thresholds")
                .to_string(),
        };
        self.verdict = Some(Verdict {
            text,
            failed,
            panel: worst,
            at_seconds: self
                .state
                .snapshot
                .as_ref()
                .map_or(0, |s| s.elapsed_seconds),
        });
        self.live_since = Some(now);
        self.state.phase = Some("live, after the watch".to_string());
    }

    /// `golive monitor`: live from `now`, with no watch step before.
    pub fn watch_alone(&mut self, now: Instant) {
        self.alone = true;
        self.live_since = Some(now);
        self.state.phase = Some("watching".to_string());
    }

    /// `golive monitor`: a breach, as the verdict (the first one stays).
    pub fn breached(&mut self, text: &str, snapshot: &Snapshot) {
        let worst = snapshot
            .panels
            .iter()
            .filter(|p| p.value.is_some())
            .max_by_key(|p| severity(p.state))
            .map(|p| p.id.clone());
        self.verdict = Some(Verdict {
            text: text.to_string(),
            failed: true,
            panel: worst,
            at_seconds: snapshot.elapsed_seconds,
        });
    }

    /// A rollback completed (`what` says which).
    pub fn rolled_back(&mut self, what: &str, now: Instant) {
        self.rollback = Some((what.to_string(), now));
    }

    /// Bring the clock up to `now`; returns whether a shown second changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        let before = self.now.replace(now);
        let Some(since) = self.live_since else {
            return false;
        };
        let second = |t: Instant| t.saturating_duration_since(since).as_secs();
        before.map(second) != Some(second(now))
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

    /// The live line: what changed since the watch ended, and where the worst panel is going.
    ///
    /// `LIVE · fast rollback completed 0:42 ago · 5xx ratio 0.20% and falling`
    pub fn live_line(&self) -> Option<String> {
        let since = self.live_since?;
        let now = self.now.unwrap_or(since);
        let ago = |t: Instant| clock(now.saturating_duration_since(t));
        let mut parts = vec!["LIVE".to_string()];
        match &self.rollback {
            Some((what, at)) => parts.push(format!("{what} {} ago", ago(*at))),
            None if self.alone => parts.push(format!("watching for {}", ago(since))),
            None => parts.push(format!(
                "refreshing since the watch ended {} ago",
                ago(since)
            )),
        }
        if let Some(trend) = self.trend() {
            parts.push(trend);
        }
        Some(parts.join(" · "))
    }

    /// `5xx ratio 0.20% and falling`, for the panel the verdict was about.
    fn trend(&self) -> Option<String> {
        let id = self.verdict.as_ref()?.panel.as_ref()?;
        let values: Vec<f64> = self
            .state
            .history
            .get(id)?
            .iter()
            .flatten()
            .copied()
            .collect();
        let last = *values.last()?;
        let earlier = values.len().checked_sub(4).and_then(|i| values.get(i));
        let direction = match earlier {
            Some(e) if last < e * 0.9 => " and falling",
            Some(e) if last > e * 1.1 && last > 0.0 => " and rising",
            Some(_) => ", steady",
            None => "",
        };
        Some(format!(
            "{} {}{direction}",
            title_of(id),
            unit_of(id).format(Some(last))
        ))
    }

    /// The verdict line: what the watch decided when it ended (frozen, not live).
    pub fn verdict_line(&self) -> Option<String> {
        let v = self.verdict.as_ref()?;
        let word = if v.failed { "FAILED" } else { "passed" };
        let (kind, at) = if self.alone {
            ("BREACH", "watching")
        } else {
            ("WATCH VERDICT", "into the watch, frozen")
        };
        Some(format!(
            "{kind} (at {} {at}): {word}: {}",
            clock(Duration::from_secs(v.at_seconds)),
            v.text
        ))
    }
}

fn severity(state: State) -> u8 {
    match state {
        State::Crit => 3,
        State::Warn => 2,
        State::Ok => 1,
        _ => 0,
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

/// Draw the dashboard into `area` (the console's body): after a watch, its frozen verdict and
/// the live line on top, then [`tui::dashboard::panels::render`], with every colour taken out again under
/// `NO_COLOR` (bold and the words stay, so states still read).
///
/// ```text
///  WATCH VERDICT (at 0:20 into the watch, frozen): FAILED: 5xx ratio is 10.70% …
///  LIVE · fast rollback completed 0:42 ago · 5xx ratio 0.20% and falling
/// ┌ dashboard · window 1m (auto) · live, after the watch ─────────────────────┐
/// ```
pub fn render(frame: &mut Frame, area: Rect, dashboard: &Dashboard, theme: Theme) {
    let width = usize::from(area.width.saturating_sub(1)).max(10);
    let mut lines = Vec::new();
    let mut add = |text: String, style| {
        for l in wrap(&text, width) {
            lines.push(Line::from(Span::styled(format!(" {l}"), style)));
        }
    };
    if let (Some(text), Some(v)) = (dashboard.verdict_line(), &dashboard.verdict) {
        add(
            text,
            if v.failed {
                theme.danger()
            } else {
                theme.good()
            },
        );
    }
    if let Some(text) = dashboard.live_line() {
        add(text, theme.strong());
    }
    let rows = u16::try_from(lines.len()).unwrap_or(0);
    let [top, board] =
        Layout::vertical([Constraint::Length(rows), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(lines), top);
    panels::render_colored(frame, board, &dashboard.state, theme.color);
}
