//! Following a run from outside it, read-only: its records from the run directory on this host
//! ([`dir`], every 100 ms) or from the registry ([`registry`], every 200 ms), rebuilt into the
//! engine's events ([`replay`]) in the engine's order, until the run finishes or its driver is
//! gone. `golive attach` shows what this yields; it holds no channel to the run.
//!
//! ```text
//! journal.jsonl ─┐                  ┌─► console (observer: no key sends anything)
//!                ├─► Record ─► Replay ─► EngineEvent ─┤
//! golive.events ─┘                  └─► headless (lines, or `run --json`'s JSON)
//! ```

pub mod dir;
pub mod registry;
pub mod replay;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::events::{EngineEvent, Outcome};
use crate::journal::Record;
use replay::Replay;

/// Where records come from.
pub enum Source {
    /// A run directory on this host.
    Dir(dir::DirSource),
    /// The registry.
    Registry(Box<registry::RegistrySource>),
}

impl Source {
    /// Open what is named: with `database_url`, the run `target` (an id; the newest unfinished
    /// run without one) through the registry; else the run directory `target`, or the newest
    /// live run of the runbook `target` (`runbook.toml` without one).
    pub async fn open(target: Option<&str>, database_url: Option<&str>) -> anyhow::Result<Self> {
        if let Some(url) = database_url {
            let source = registry::RegistrySource::open(url, target).await?;
            return Ok(Source::Registry(Box::new(source)));
        }
        let target = PathBuf::from(target.unwrap_or("runbook.toml"));
        let run_dir = if target.is_dir() {
            target
        } else if target.is_file() {
            dir::latest_live(&target)?
        } else {
            anyhow::bail!(
                "{} is neither a run directory nor a runbook; pass .golive/runs/<run-id>, or \
                 --database-url URL to follow a run through the registry",
                target.display()
            );
        };
        Ok(Source::Dir(dir::DirSource::open(&run_dir)?))
    }

    /// How often it is looked at.
    pub fn poll(&self) -> Duration {
        match self {
            Source::Dir(_) => Duration::from_millis(100),
            Source::Registry(_) => Duration::from_millis(200),
        }
    }

    /// The records written since the last call.
    pub async fn fetch(&mut self) -> anyhow::Result<Vec<Record>> {
        match self {
            Source::Dir(d) => d.fetch(),
            Source::Registry(r) => r.fetch().await,
        }
    }

    /// Why the driver is known to be gone, if it is.
    async fn driver_gone(&self, replay: &Replay) -> anyhow::Result<Option<String>> {
        let driver = replay.driver.clone().unwrap_or_default();
        let who = format!(
            "the driver ({}, pid {} on {})",
            driver.user, driver.pid, driver.host
        );
        let why = match self {
            Source::Dir(_) => (replay.driver.is_some() && dir::driver_gone(&driver))
                .then(|| "its process is no longer alive".to_string()),
            Source::Registry(r) => r.driver_gone().await?,
        };
        Ok(why.map(|why| {
            format!(
                "{who} is gone without finishing the run ({why}); `golive run --resume` \
                 continues it"
            )
        }))
    }
}

/// How following ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The run finished.
    Finished(Outcome),
    /// The driver is gone without finishing the run.
    Gone(String),
    /// Nobody listens any more.
    Closed,
}

/// Follow `source` from its first record: every event the records stand for goes to `events`
/// (`first` records, already fetched, go first).
pub async fn follow(
    mut source: Source,
    first: Vec<Record>,
    events: mpsc::Sender<EngineEvent>,
) -> anyhow::Result<End> {
    let mut replay = Replay::default();
    let mut batch = first;
    let mut last_look = false;
    loop {
        let fresh = !batch.is_empty();
        for record in batch.drain(..) {
            for event in replay.apply(&record) {
                if events.send(event).await.is_err() {
                    return Ok(End::Closed);
                }
            }
        }
        if let Some(outcome) = replay.finished {
            return Ok(End::Finished(outcome));
        }
        if !fresh {
            if let Some(text) = source.driver_gone(&replay).await? {
                // One more look: the driver may have written its last record just before it
                // ended.
                if last_look {
                    return Ok(End::Gone(text));
                }
                last_look = true;
                batch = source.fetch().await?;
                continue;
            }
            last_look = false;
            tokio::time::sleep(source.poll()).await;
        }
        batch = source.fetch().await?;
    }
}
