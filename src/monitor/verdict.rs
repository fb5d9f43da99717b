//! Breaches and the verdict: which panels stayed critical for `breach_count` refreshes in a
//! row (the step fails and the engine offers the rollbacks; nothing rolls back by itself), and at
//! the end of the watch each panel's worst value and how long it was breached.

use std::collections::BTreeMap;

use super::config::{Direction, MonitorConfig};
use super::snapshot::{Snapshot, State};

/// A panel critical for long enough to fail the watch.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// The panel.
    pub panel: String,
    /// Its value now.
    pub value: f64,
    /// The critical threshold.
    pub crit: Option<f64>,
    /// Consecutive critical refreshes.
    pub refreshes: u32,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is {} (crit {}) for {} refreshes in a row; roll back (fast rollback: flags off) or retry the watch",
            self.panel,
            fmt_value(Some(self.value)),
            fmt_value(self.crit),
            self.refreshes
        )
    }
}

#[derive(Debug, Clone, Default)]
struct Record {
    worst: Option<f64>,
    worst_state: Option<State>,
    breached_secs: f64,
    crit_secs: f64,
    streak: u32,
}

/// Follows snapshots for breaches and the verdict.
#[derive(Debug, Clone)]
pub struct Tracker {
    breach_count: u32,
    directions: BTreeMap<String, Direction>,
    records: BTreeMap<String, Record>,
    order: Vec<String>,
    last_elapsed: Option<u64>,
}

impl Tracker {
    /// A tracker for `cfg`'s panels.
    pub fn new(cfg: &MonitorConfig) -> Self {
        let directions: BTreeMap<String, Direction> = cfg
            .panels
            .iter()
            .map(|(id, t)| (id.clone(), t.direction))
            .chain(
                cfg.queries
                    .iter()
                    .map(|q| (q.id.clone(), q.thresholds.direction)),
            )
            .collect();
        let order = cfg
            .panels
            .iter()
            .map(|(id, _)| id.clone())
            .chain(cfg.queries.iter().map(|q| q.id.clone()))
            .collect();
        Tracker {
            breach_count: cfg.breach_count,
            directions,
            records: BTreeMap::new(),
            order,
            last_elapsed: None,
        }
    }

    /// Take one refresh into account; the first panel breached for long enough, if any.
    /// The isolation canary breaches at its first critical refresh.
    pub fn observe(&mut self, snap: &Snapshot) -> Option<Breach> {
        let dt = snap
            .elapsed_seconds
            .saturating_sub(self.last_elapsed.unwrap_or(snap.elapsed_seconds))
            as f64;
        self.last_elapsed = Some(snap.elapsed_seconds);
        let mut breach = None;
        for p in &snap.panels {
            let above = self.directions.get(&p.id) != Some(&Direction::Below);
            let r = self.records.entry(p.id.clone()).or_default();
            if let Some(v) = p.value {
                let worse = r.worst.is_none_or(|w| if above { v > w } else { v < w });
                if worse {
                    r.worst = Some(v);
                }
            }
            r.worst_state = r.worst_state.max(Some(p.state));
            if p.state >= State::Warn {
                r.breached_secs += dt;
            }
            if p.state == State::Crit {
                r.crit_secs += dt;
                r.streak += 1;
            } else {
                r.streak = 0;
            }
            let needed = if p.id == "isolation_canary" {
                1
            } else {
                self.breach_count
            };
            if breach.is_none()
                && r.streak >= needed
                && let Some(value) = p.value
            {
                breach = Some(Breach {
                    panel: p.id.clone(),
                    value,
                    crit: p.crit,
                    refreshes: r.streak,
                });
            }
        }
        breach
    }

    /// The verdict, one line per panel, then the final snapshot as JSON.
    pub fn verdict(&self, last: Option<&Snapshot>) -> Vec<String> {
        let mut lines = vec!["verdict:".to_string()];
        for id in &self.order {
            let r = self.records.get(id).cloned().unwrap_or_default();
            lines.push(format!(
                "  {id}: worst {} ({}), breached {}s (crit {}s)",
                fmt_value(r.worst),
                r.worst_state.unwrap_or(State::Nodata).label(),
                r.breached_secs as u64,
                r.crit_secs as u64
            ));
        }
        if let Some(s) = last {
            // The window being shown only: the others are in the snapshots sent while watching.
            let shown = Snapshot {
                other_windows: Vec::new(),
                ..s.clone()
            };
            if let Ok(json) = serde_json::to_string(&shown) {
                lines.push(format!("final snapshot: {json}"));
            }
        }
        lines
    }

    /// One line: the worst state of each panel.
    pub fn summary(&self) -> String {
        let worst: Vec<String> = self
            .order
            .iter()
            .map(|id| {
                let r = self.records.get(id);
                let state = r.and_then(|r| r.worst_state).unwrap_or(State::Nodata);
                let worst = r
                    .map(|r| fmt_value(r.worst))
                    .unwrap_or_else(|| "n/a".into());
                let breached = r.map_or(0, |r| r.breached_secs as u64);
                format!(
                    "{id} {} (worst {worst}, breached {breached}s)",
                    state.label()
                )
            })
            .collect();
        format!("watch passed: {}", worst.join(", "))
    }
}

/// A value for people: up to 4 significant decimals, `n/a` when absent.
pub fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e12 => format!("{v:.0}"),
        Some(v) if v.abs() >= 100.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.4}"),
    }
}
