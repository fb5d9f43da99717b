//! Following a run through its directory on this host: the journal's new lines, polled; the
//! driver's liveness from its pid (`/proc`), which only this host can look at.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::replay::Driver;
use crate::journal::{Record, RunDirs};

/// A run directory's journal, read from where the last read stopped.
#[derive(Debug)]
pub struct DirSource {
    path: PathBuf,
    offset: u64,
    pending: String,
}

impl DirSource {
    /// Follow the run in `run_dir`.
    pub fn open(run_dir: &Path) -> anyhow::Result<Self> {
        let path = run_dir.join("journal.jsonl");
        if !path.is_file() {
            anyhow::bail!(
                "no journal at {}; pass a run directory such as .golive/runs/<run-id>",
                path.display()
            );
        }
        Ok(DirSource {
            path,
            offset: 0,
            pending: String::new(),
        })
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        self.path.parent().unwrap_or(&self.path)
    }

    /// The whole records appended since the last call (a line still being written waits).
    pub fn fetch(&mut self) -> anyhow::Result<Vec<Record>> {
        let mut file = std::fs::File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        self.pending.push_str(&String::from_utf8_lossy(&bytes));
        let mut records = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            if let Ok(record) = serde_json::from_str::<Record>(line.trim_end()) {
                records.push(record);
            }
        }
        Ok(records)
    }
}

/// Whether the driver's process is known to have ended (on this host only: another host's
/// process cannot be looked at, so it counts as alive).
pub fn driver_gone(driver: &Driver) -> bool {
    if driver.host != crate::os::host_name() {
        return false;
    }
    !crate::os::process_running(i32::try_from(driver.pid).unwrap_or(i32::MAX))
}

/// The newest run of the runbook at `runbook` that has not finished and whose driver is alive.
pub fn latest_live(runbook: &Path) -> anyhow::Result<PathBuf> {
    let dirs = RunDirs::for_runbook(runbook);
    dirs.history()
        .into_iter()
        .find(|(_, journal)| {
            journal.outcome().is_none()
                && journal
                    .records
                    .iter()
                    .rev()
                    .find_map(|r| super::replay::driver_of(&r.entry))
                    .is_some_and(|d| !driver_gone(&d))
        })
        .map(|(dir, _)| dir)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no live run of {} in {}: pass its run directory (.golive/runs/<run-id>), or \
                 --database-url URL to follow one through the registry",
                runbook.display(),
                dirs.dir("").display()
            )
        })
}
