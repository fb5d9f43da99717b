//! `golive attach`: watch a live run, read-only, from a second terminal on the same host (its run
//! directory) or from anywhere through the registry (`--database-url`). It starts with the
//! run's records so far, follows new ones (every 100 ms from the directory, 200 ms from the
//! registry), rebuilds the engine's events from them ([`replay`]) and shows them in the console
//! in its read-only mode ([`console`]) or prints them (`--headless`, [`headless`]). It says when
//! the run finished or its driver is gone. It holds no channel to the run and can answer nothing.
//!
//! ```text
//! journal.jsonl ─┐                  ┌─► console (observer: no key sends anything)
//!                ├─► Record ─► Replay ─► EngineEvent ─┤
//! golive.events ─┘                  └─► headless (lines, or `run --json`'s JSON)
//! ```

pub mod console;
pub mod dir;
pub mod headless;
pub mod registry;
pub mod replay;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::events::{EngineEvent, Outcome};
use crate::journal::Record;
use replay::Replay;

/// What `golive attach` was asked to follow, and how to show it.
#[derive(Debug, Clone, Default)]
pub struct AttachArgs {
    /// A run directory (or a runbook file, whose newest live run is followed); with
    /// `database_url`, a run id.
    pub target: Option<String>,
    /// Follow through the registry in this database.
    pub database_url: Option<String>,
    /// Line output instead of the console.
    pub headless: bool,
    /// `run --json`'s events, one a line (implies headless).
    pub json: bool,
}

/// Where records come from.
pub enum Source {
    /// A run directory on this host.
    Dir(dir::DirSource),
    /// The registry.
    Registry(Box<registry::RegistrySource>),
}

impl Source {
    /// Open what `args` names.
    pub async fn open(args: &AttachArgs) -> anyhow::Result<Self> {
        if let Some(url) = &args.database_url {
            let source = registry::RegistrySource::open(url, args.target.as_deref()).await?;
            return Ok(Source::Registry(Box::new(source)));
        }
        let target = PathBuf::from(args.target.as_deref().unwrap_or("runbook.toml"));
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

/// `golive attach`: the exit code (headless: the run's, or 1 when the driver is gone; the
/// console: 0 when the watcher leaves).
pub async fn attach(args: AttachArgs) -> anyhow::Result<i32> {
    let mut source = Source::open(&args).await?;
    let first = source.fetch().await?;
    let user = first
        .iter()
        .rev()
        .find_map(|r| replay::driver_of(&r.entry))
        .map_or_else(|| "the driver".to_string(), |d| d.user);
    if args.headless || args.json {
        headless::watch(source, first, &user, args.json).await
    } else {
        console::watch(source, first, user).await
    }
}
