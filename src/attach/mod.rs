//! `golive attach`: watch a live run, read-only, from a second terminal on the same host (its run
//! directory) or from anywhere through the registry (`--database-url`). It starts with the
//! run's records so far, follows new ones (every 100 ms from the directory, 200 ms from the
//! registry), rebuilds the engine's events from them (`golive_core::follow`) and shows them in
//! the console in its read-only mode ([`console`]) or prints them (`--headless`, [`headless`]). It says when
//! the run finished or its driver is gone. It holds no channel to the run and can answer nothing.
//!
//! ```text
//! journal.jsonl ─┐                  ┌─► console (observer: no key sends anything)
//!                ├─► Record ─► Replay ─► EngineEvent ─┤
//! golive.events ─┘                  └─► headless (lines, or `run --json`'s JSON)
//! ```

mod console;
mod headless;

use golive_core::follow::{Source, replay};

/// What `golive attach` was asked to follow, and how to show it.
#[derive(Debug, Clone)]
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

/// `golive attach`: the exit code (headless: the run's, or 1 when the driver is gone; the
/// console: 0 when the watcher leaves).
pub async fn attach(args: AttachArgs) -> anyhow::Result<i32> {
    let mut source = Source::open(args.target.as_deref(), args.database_url.as_deref()).await?;
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
