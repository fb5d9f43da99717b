//! Breaches and the verdict: which panels stayed critical for `breach_count` refreshes in a
//! row (the step fails and the engine offers the rollbacks; nothing rolls back by itself), and at
//! the end of the watch each panel's worst value and how long it was breached.
//!
//! A watch passes only when it saw: a panel that had no data for the whole watch, or a source
//! that never answered, makes the verdict [`Verdict::Inconclusive`], which is not a pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{Direction, MonitorConfig, SourceInUse};
use super::panel_kind::PanelKind;
use super::snapshot::{Snapshot, State};

/// How a watch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every panel had data and stayed within its thresholds; every source answered.
    Passed,
    /// A panel was critical for `breach_count` refreshes in a row.
    Breached(Breach),
    /// The watch did not see: why, one reason per blind panel or silent source.
    Inconclusive(Vec<String>),
}

/// The verdict's word in JSON (`"passed"`, `"breached"`, `"inconclusive"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// See [`Verdict::Passed`].
    Passed,
    /// See [`Verdict::Breached`].
    Breached,
    /// See [`Verdict::Inconclusive`].
    Inconclusive,
}

impl Verdict {
    /// Its word.
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::Passed => VerdictKind::Passed,
            Verdict::Breached(_) => VerdictKind::Breached,
            Verdict::Inconclusive(_) => VerdictKind::Inconclusive,
        }
    }

    /// Why it did not pass, one line each (empty when it passed).
    pub fn reasons(&self) -> Vec<String> {
        match self {
            Verdict::Passed => Vec::new(),
            Verdict::Breached(b) => vec![b.to_string()],
            Verdict::Inconclusive(r) => r.clone(),
        }
    }

    /// The process exit code of `golive monitor --for`: 0 only for a pass.
    pub fn exit_code(&self) -> i32 {
        i32::from(*self != Verdict::Passed)
    }
}

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
    /// What made the panel critical when it is not the all-routes value (a route).
    pub detail: Option<String>,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(detail) => write!(
                f,
                "{} is critical for {} refreshes in a row: {detail}",
                self.panel, self.refreshes
            )?,
            None => write!(
                f,
                "{} is {} (crit {}) for {} refreshes in a row",
                self.panel,
                fmt_value(Some(self.value)),
                fmt_value(self.crit),
                self.refreshes
            )?,
        }
        write!(
            f,
            "; roll back (fast rollback: flags off) or retry the watch"
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
    /// Why it had no data, the last time it had none.
    nodata_because: Option<String>,
}

#[derive(Debug, Clone)]
struct Heard {
    source: SourceInUse,
    answered: bool,
    error: Option<String>,
}

/// Follows snapshots for breaches and the verdict.
#[derive(Debug, Clone)]
pub struct Tracker {
    breach_count: u32,
    directions: BTreeMap<String, Direction>,
    records: BTreeMap<String, Record>,
    order: Vec<String>,
    last_elapsed: Option<u64>,
    sources: Vec<Heard>,
    breach: Option<Breach>,
    judge_breaches: bool,
}

impl Tracker {
    /// A tracker for `cfg`'s panels.
    pub fn new(cfg: &MonitorConfig) -> Self {
        let directions: BTreeMap<String, Direction> = cfg
            .panels
            .iter()
            .map(|(kind, t)| (kind.id().to_string(), t.direction))
            .chain(
                cfg.queries
                    .iter()
                    .map(|q| (q.id.clone(), q.thresholds.direction)),
            )
            .collect();
        let order = cfg
            .panels
            .iter()
            .map(|(kind, _)| kind.id().to_string())
            .chain(cfg.queries.iter().map(|q| q.id.clone()))
            .collect();
        Tracker {
            breach_count: cfg.breach_count,
            directions,
            records: BTreeMap::new(),
            order,
            last_elapsed: None,
            sources: cfg
                .sources_in_use()
                .into_iter()
                .map(|source| Heard {
                    source,
                    answered: false,
                    error: None,
                })
                .collect(),
            breach: None,
            judge_breaches: true,
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
        for status in &snap.sources {
            if let Some(h) = self
                .sources
                .iter_mut()
                .find(|h| h.source.name == status.name)
            {
                h.answered |= status.age_seconds.is_some();
                if status.error.is_some() {
                    h.error.clone_from(&status.error);
                }
            }
        }
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
            if p.value.is_none() {
                r.nodata_because.clone_from(&p.detail);
            }
            if p.state >= State::Warn {
                r.breached_secs += dt;
            }
            if p.state == State::Crit {
                r.crit_secs += dt;
                r.streak += 1;
            } else {
                r.streak = 0;
            }
            let needed = if p.id == PanelKind::IsolationCanary.id() {
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
                    detail: p.worst_route.as_ref().and(p.detail.clone()),
                });
            }
        }
        if self.breach.is_none() {
            self.breach.clone_from(&breach);
        }
        breach
    }

    /// A tracker that measures (a baseline) rather than guards: a breach is recorded, and
    /// [`Tracker::observe`] still returns it, but the verdict is only about what it saw.
    pub fn measuring(mut self) -> Self {
        self.judge_breaches = false;
        self
    }

    /// Whether a breach decides the verdict (not when [`Tracker::measuring`]).
    pub fn judges_breaches(&self) -> bool {
        self.judge_breaches
    }

    /// The verdict so far: the first breach, else what the watch did not see, else passed.
    pub fn verdict(&self) -> Verdict {
        if let Some(b) = self.breach.as_ref().filter(|_| self.judge_breaches) {
            return Verdict::Breached(b.clone());
        }
        let blind = self.blind();
        if blind.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Inconclusive(blind)
        }
    }

    /// What the watch did not see: each source that never answered, each panel that never had
    /// data, and why (empty: it saw everything).
    pub fn blind(&self) -> Vec<String> {
        let mut blind: Vec<String> = self
            .sources
            .iter()
            .filter(|h| !h.answered)
            .map(|h| {
                let error = h.error.as_deref().unwrap_or("no answer within the watch");
                // The error begins with the URL the label already names.
                let why = h
                    .source
                    .target
                    .as_ref()
                    .and_then(|t| error.strip_prefix(t.as_str()))
                    .and_then(|e| e.strip_prefix(": "))
                    .unwrap_or(error);
                format!("{} never answered: {why}", h.source.label)
            })
            .collect();
        let silent: Vec<&str> = self
            .sources
            .iter()
            .filter(|h| !h.answered)
            .filter_map(|h| h.error.as_deref())
            .collect();
        for id in &self.order {
            let r = self.records.get(id);
            if r.is_none_or(|r| r.worst.is_none()) {
                let why = r
                    .and_then(|r| r.nodata_because.as_deref())
                    .filter(|why| !silent.contains(why))
                    .unwrap_or("its source never answered");
                blind.push(format!("{id} had no data for the whole watch: {why}"));
            }
        }
        blind
    }

    /// The verdict, one line per panel, then the final snapshot (carrying the verdict) as JSON.
    pub fn report(&self, last: Option<&Snapshot>) -> Vec<String> {
        let verdict = self.verdict();
        let mut lines = vec![format!("verdict: {}", verdict.kind().label())];
        lines.extend(verdict.reasons().iter().map(|r| format!("  because {r}")));
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
            }
            .with_verdict(&verdict);
            if let Ok(json) = serde_json::to_string(&shown) {
                lines.push(format!("final snapshot: {json}"));
            }
        }
        lines
    }

    /// One line: the verdict and the worst state of each panel.
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
        format!(
            "watch {}: {}",
            self.verdict().kind().label(),
            worst.join(", ")
        )
    }
}

impl VerdictKind {
    /// The word.
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Passed => "passed",
            VerdictKind::Breached => "breached",
            VerdictKind::Inconclusive => "inconclusive",
        }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "verdict_tests.rs"]
mod tests;
