//! The lock profile of a rehearsal: per step, the strongest lock the step's own sessions took on
//! each table, how long they held it, and how many sandbox queries waited on it. Built from the
//! lock sampler's samples ([`sampler`]) and the run's journal (each step's start
//! and end), kept as `locks.json` in the run directory, and shown by `golive report`, by
//! `golive plan` after a passed rehearsal, and at the end of a rehearsal.

pub mod sampler;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::journal::{Entry, JournalRead, RunDirs};
use sampler::{LockSample, unix_ms};

/// The file in the run directory.
pub const FILE: &str = "locks.json";

/// PostgreSQL's table lock modes, weakest first, with the names people use.
const MODES: &[(&str, &str)] = &[
    ("AccessShareLock", "ACCESS SHARE"),
    ("RowShareLock", "ROW SHARE"),
    ("RowExclusiveLock", "ROW EXCLUSIVE"),
    ("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE"),
    ("ShareLock", "SHARE"),
    ("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE"),
    ("ExclusiveLock", "EXCLUSIVE"),
    ("AccessExclusiveLock", "ACCESS EXCLUSIVE"),
];

/// A rehearsal's locks, step by step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockProfile {
    /// How often `pg_locks` was read, in milliseconds (durations are known to within it).
    pub interval_ms: u64,
    /// How many reads were taken.
    pub samples: usize,
    /// Steps whose sessions took a table lock, in the order they ran.
    pub steps: Vec<StepLocks>,
    /// SQL steps that ran entirely between two reads (qualified id, how long they ran in ms):
    /// whatever they locked was not seen.
    #[serde(default)]
    pub unseen: Vec<(String, u64)>,
}

/// What one step locked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLocks {
    /// The step's qualified id.
    pub step: String,
    /// Per table, the strongest mode it took.
    pub tables: Vec<TableLock>,
}

/// The strongest lock one step took on one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableLock {
    /// The table.
    pub table: String,
    /// The mode, e.g. `ACCESS EXCLUSIVE`.
    pub mode: String,
    /// How long it was seen held, in milliseconds (first to last sample, plus one interval).
    pub held_ms: u64,
    /// Distinct sandbox queries that waited on the step's sessions for this table.
    pub waiters: usize,
}

impl StepLocks {
    /// `ACCESS EXCLUSIVE on 5 tables for 40 ms; 3 queries waited`: the strongest mode, on how
    /// many tables, for how long, and the waiters on all of them.
    pub fn summary(&self) -> String {
        let strongest = self
            .tables
            .iter()
            .max_by_key(|t| rank(&t.mode))
            .map(|t| t.mode.as_str())
            .unwrap_or_default();
        let top: Vec<&TableLock> = self.tables.iter().filter(|t| t.mode == strongest).collect();
        let held = top.iter().map(|t| t.held_ms).max().unwrap_or(0);
        let on = match top.as_slice() {
            [one] => one.table.clone(),
            many => format!("{} tables", many.len()),
        };
        let waited: usize = self.tables.iter().map(|t| t.waiters).sum();
        let waited = match waited {
            0 => "no query waited".to_string(),
            1 => "1 query waited".to_string(),
            n => format!("{n} queries waited"),
        };
        format!("{strongest} on {on} for {held} ms; {waited}")
    }
}

impl LockProfile {
    /// The step's locks, if it took any.
    pub fn step(&self, qualified: &str) -> Option<&StepLocks> {
        self.steps.iter().find(|s| s.step == qualified)
    }

    /// One line per step: `rls-deploy: ACCESS EXCLUSIVE on 5 tables for 40 ms; 3 queries waited`,
    /// then the steps that ran between two reads.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("{}: {}", s.step, s.summary()))
            .chain(
                self.unseen
                    .iter()
                    .map(|(step, ms)| format!("{step}: {}", self.unseen_text(*ms))),
            )
            .collect()
    }

    /// What a step that ran `ran_ms` between two reads shows instead of its locks.
    pub fn unseen_text(&self, ran_ms: u64) -> String {
        format!(
            "not seen: it ran {ran_ms} ms, between two reads of pg_locks (every {} ms)",
            self.interval_ms
        )
    }

    /// Keep only the unseen steps `keep` names (the SQL steps: a gate locks nothing).
    pub fn retain_unseen(&mut self, keep: impl Fn(&str) -> bool) {
        self.unseen.retain(|(step, _)| keep(step));
    }
}

/// Per (table) while building: the strongest mode's rank, first and last time it was seen, and
/// the waits seen on it.
#[derive(Default)]
struct Seen {
    rank: usize,
    first: u64,
    last: u64,
    waits: HashSet<(i32, i64)>,
}

/// Attribute `samples` to the steps of `journal` by time and profile each step.
pub fn build(samples: &[LockSample], journal: &JournalRead, interval: Duration) -> LockProfile {
    let spans = step_spans(journal);
    let mut seen: BTreeMap<usize, (String, HashMap<String, Seen>)> = BTreeMap::new();
    for sample in samples {
        let Some((index, (step, _, _))) = spans
            .iter()
            .enumerate()
            .find(|(_, (_, start, end))| (*start..=*end).contains(&sample.at_ms))
        else {
            continue;
        };
        let (_, tables) = seen
            .entry(index)
            .or_insert_with(|| (step.clone(), HashMap::new()));
        let own: HashSet<i32> = sample
            .rows
            .iter()
            .filter(|r| r.own)
            .map(|r| r.pid)
            .collect();
        for row in sample.rows.iter().filter(|r| r.own && r.granted) {
            let rank = rank(&row.mode);
            let t = tables.entry(row.table.clone()).or_default();
            if rank > t.rank || t.first == 0 {
                (t.rank, t.first) = (rank, sample.at_ms);
            }
            if rank == t.rank {
                t.last = sample.at_ms;
            }
        }
        for row in sample.rows.iter().filter(|r| !r.own && !r.granted) {
            if row.blocked_by.iter().any(|p| own.contains(p)) {
                let t = tables.entry(row.table.clone()).or_default();
                t.waits.insert((row.pid, row.query_start_ms));
            }
        }
    }
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    let unseen = spans
        .iter()
        .filter(|(_, start, end)| !samples.iter().any(|s| (*start..=*end).contains(&s.at_ms)))
        .map(|(step, start, end)| (step.clone(), end - start))
        .collect();
    let steps = seen
        .into_values()
        .filter_map(|(step, tables)| {
            let mut tables: Vec<TableLock> = tables
                .into_iter()
                .filter(|(_, t)| t.first > 0)
                .map(|(table, t)| TableLock {
                    table,
                    mode: MODES[t.rank].1.to_string(),
                    held_ms: t.last - t.first + interval_ms,
                    waiters: t.waits.len(),
                })
                .collect();
            tables.sort_by(|a, b| {
                rank(&b.mode)
                    .cmp(&rank(&a.mode))
                    .then(a.table.cmp(&b.table))
            });
            (!tables.is_empty()).then_some(StepLocks { step, tables })
        })
        .collect();
    LockProfile {
        interval_ms,
        samples: samples.len(),
        steps,
        unseen,
    }
}

/// Each attempt of each step: (qualified id, start, end) in Unix milliseconds, in journal order.
fn step_spans(journal: &JournalRead) -> Vec<(String, u64, u64)> {
    let mut open: HashMap<&str, u64> = HashMap::new();
    let mut spans = Vec::new();
    for record in &journal.records {
        let Ok(at) = humantime::parse_rfc3339(&record.at).map(unix_ms) else {
            continue;
        };
        match &record.entry {
            Entry::StepStarted { step, .. } => {
                open.insert(step, at);
            }
            Entry::StepFinished { step, .. } => {
                if let Some(start) = open.remove(step.as_str()) {
                    spans.push((step.clone(), start, at));
                }
            }
            _ => {}
        }
    }
    spans
}

/// A mode's strength: its index in [`MODES`] (PostgreSQL's names or the spaced ones).
fn rank(mode: &str) -> usize {
    MODES
        .iter()
        .position(|(pg, shown)| *pg == mode || *shown == mode)
        .unwrap_or(0)
}

/// Write `profile` to `run_dir/locks.json`.
pub fn write(run_dir: &Path, profile: &LockProfile) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(profile).map_err(std::io::Error::other)?;
    std::fs::write(run_dir.join(FILE), text)
}

/// The profile recorded in `run_dir`, if any.
pub fn read(run_dir: &Path) -> Option<LockProfile> {
    let text = std::fs::read(run_dir.join(FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The profile of the newest passed rehearsal of the runbook at `runbook_path` (the rehearsal
/// that also gives later runs their expected durations).
pub fn rehearsed(runbook_path: &Path) -> Option<LockProfile> {
    let (dir, _) = RunDirs::for_runbook(runbook_path).latest_rehearsal()?;
    read(&dir)
}

/// After a rehearsal of the runbook at `runbook_path`: profile `samples` against the journal of
/// the newest run, if it started at or after `since_ms` (the sampler's start; an older run is
/// another rehearsal's), write it into that run's directory and return the directory and the
/// profile. `Ok(None)`: no run started (the runbook was invalid, say).
pub fn record_rehearsal(
    samples: &[LockSample],
    interval: Duration,
    runbook_path: &Path,
    since_ms: u64,
) -> Result<Option<(PathBuf, LockProfile)>, String> {
    let Some((dir, journal)) = RunDirs::for_runbook(runbook_path)
        .history()
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let started = journal
        .records
        .first()
        .and_then(|r| humantime::parse_rfc3339(&r.at).ok())
        .map(unix_ms);
    if started.is_none_or(|at| at < since_ms) {
        return Ok(None);
    }
    let mut profile = build(samples, &journal, interval);
    if let Ok(runbook) = crate::runbook::load(runbook_path) {
        profile.retain_unseen(|id| is_sql_step(&runbook, id));
    }
    write(&dir, &profile).map_err(|e| format!("cannot write {}: {e}", dir.join(FILE).display()))?;
    Ok(Some((dir, profile)))
}

/// Whether the qualified id names a SQL step of `runbook`.
fn is_sql_step(runbook: &crate::runbook::Runbook, qualified: &str) -> bool {
    runbook.all_steps().any(|(procedure, step)| {
        crate::runbook::qualified_id(procedure, &step.id) == qualified
            && matches!(step.kind, crate::runbook::StepKind::Sql(_))
    })
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::journal::Record;
    use sampler::LockRow;

    fn row(pid: i32, own: bool, table: &str, mode: &str, granted: bool) -> LockRow {
        LockRow {
            pid,
            own,
            table: table.into(),
            mode: mode.into(),
            granted,
            blocked_by: if granted { vec![] } else { vec![1] },
            query_start_ms: 7,
        }
    }

    #[test]
    fn strongest_mode_per_table_duration_and_distinct_waiters() {
        let base = 1_800_000_000_000u64;
        let at = |ms: u64| {
            humantime::format_rfc3339_millis(
                SystemTime::UNIX_EPOCH + Duration::from_millis(base + ms),
            )
            .to_string()
        };
        let journal = JournalRead {
            records: vec![
                Record {
                    at: at(0),
                    entry: Entry::StepStarted {
                        step: "rls-deploy".into(),
                        attempt: 1,
                    },
                },
                Record {
                    at: at(1000),
                    entry: Entry::StepFinished {
                        step: "rls-deploy".into(),
                        state: crate::events::StepState::Passed,
                        duration_ms: 1000,
                        detail: None,
                    },
                },
            ],
            ..JournalRead::default()
        };
        let sample = |ms: u64, rows: Vec<LockRow>| LockSample {
            at_ms: base + ms,
            rows,
        };
        let samples = vec![
            sample(
                100,
                vec![row(1, true, "customers", "RowExclusiveLock", true)],
            ),
            sample(
                150,
                vec![
                    row(1, true, "customers", "AccessExclusiveLock", true),
                    row(9, false, "customers", "AccessShareLock", false),
                ],
            ),
            sample(
                200,
                vec![
                    row(1, true, "customers", "AccessExclusiveLock", true),
                    row(9, false, "customers", "AccessShareLock", false),
                ],
            ),
            // After the step: not attributed.
            sample(
                2000,
                vec![row(1, true, "vehicles", "AccessExclusiveLock", true)],
            ),
        ];
        let profile = build(&samples, &journal, Duration::from_millis(50));
        assert_eq!(profile.steps.len(), 1);
        let step = &profile.steps[0];
        assert_eq!(
            step.tables,
            vec![TableLock {
                table: "customers".into(),
                mode: "ACCESS EXCLUSIVE".into(),
                held_ms: 100,
                waiters: 1,
            }]
        );
        assert_eq!(
            step.summary(),
            "ACCESS EXCLUSIVE on customers for 100 ms; 1 query waited"
        );
    }
}
