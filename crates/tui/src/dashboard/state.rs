//! The dashboard view's state on the front end: the latest snapshot, a short history of each
//! value for the sparklines, and the window the operator chose. Updated only by
//! [`DashboardState::apply`] and [`DashboardState::handle`]; [`super::panels::render`] only reads it.

use std::collections::{BTreeMap, VecDeque};

use golive_core::monitor::snapshot::{Panel, Snapshot};

/// How many refreshes a sparkline shows.
pub const SPARK_LEN: usize = 30;

/// What the operator can do in the dashboard (the console maps keys to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardAction {
    /// Show the next longer window (`]`).
    LongerWindow,
    /// Show the next shorter window (`[`).
    ShorterWindow,
    /// Follow the watch's own window again (`w`): fine at first, longer later.
    AutoWindow,
}

impl DashboardAction {
    /// The suggested key for an action, for help lines: `[`, `]`, `w`.
    pub fn from_key(key: char) -> Option<Self> {
        match key {
            ']' => Some(DashboardAction::LongerWindow),
            '[' => Some(DashboardAction::ShorterWindow),
            'w' => Some(DashboardAction::AutoWindow),
            _ => None,
        }
    }
}

/// The dashboard as the front end holds it.
#[derive(Debug, Clone, Default)]
pub struct DashboardState {
    /// The latest snapshot.
    pub snapshot: Option<Snapshot>,
    /// Window chosen by the operator, in seconds; `None` follows the watch.
    pub chosen_window: Option<u64>,
    /// Recent values per panel, oldest first.
    pub history: BTreeMap<String, VecDeque<Option<f64>>>,
    /// Recent values per (panel, route), oldest first.
    pub route_history: BTreeMap<(String, String), VecDeque<Option<f64>>>,
    /// A breach reported by the engine (shown as a banner with the rollback hint).
    pub breach: Option<String>,
    /// What the title says instead of "… into the watch" (the console's live view after a watch).
    pub phase: Option<String>,
}

fn push(q: &mut VecDeque<Option<f64>>, v: Option<f64>) {
    if q.len() == SPARK_LEN {
        q.pop_front();
    }
    q.push_back(v);
}

impl DashboardState {
    /// Take a new snapshot.
    pub fn apply(&mut self, snapshot: Snapshot) {
        for p in &snapshot.panels {
            push(self.history.entry(p.id.clone()).or_default(), p.value);
            for (route, v) in p.by_route.iter().flatten() {
                let key = (p.id.clone(), route.clone());
                push(self.route_history.entry(key).or_default(), *v);
            }
        }
        self.snapshot = Some(snapshot);
    }

    /// Take a snapshot as the engine sends it (`EngineEvent::Monitor`); false when it is not one.
    pub fn apply_json(&mut self, value: &serde_json::Value) -> bool {
        match serde_json::from_value::<Snapshot>(value.clone()) {
            Ok(s) => {
                self.apply(s);
                true
            }
            Err(_) => false,
        }
    }

    /// Do what the operator asked.
    pub fn handle(&mut self, action: DashboardAction) {
        let Some(snap) = &self.snapshot else {
            return;
        };
        let windows = snap.windows();
        let current = self.window();
        let pos = windows.iter().position(|w| *w == current).unwrap_or(0);
        self.chosen_window = match action {
            DashboardAction::AutoWindow => None,
            DashboardAction::LongerWindow => windows.get(pos + 1).or(windows.last()).copied(),
            DashboardAction::ShorterWindow => windows.get(pos.saturating_sub(1)).copied(),
        };
    }

    /// The window shown, in seconds.
    pub fn window(&self) -> u64 {
        let auto = self.snapshot.as_ref().map_or(0, |s| s.window_seconds);
        self.chosen_window
            .filter(|w| {
                self.snapshot
                    .as_ref()
                    .is_some_and(|s| s.windows().contains(w))
            })
            .unwrap_or(auto)
    }

    /// The panels over the window shown.
    pub fn panels(&self) -> &[Panel] {
        match &self.snapshot {
            Some(s) => s.panels_for(self.window()),
            None => &[],
        }
    }
}
