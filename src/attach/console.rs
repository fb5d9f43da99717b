//! The read-only console: the run's rebuilt events fed to the same console the driver uses, in
//! its observer mode, with a command channel nobody reads. The end of the run shows as the
//! driver's console shows it; a driver that is gone shows as an interrupted run, saying so.

use tokio::sync::mpsc;

use golive_core::events::{EngineEvent, Outcome};
use golive_core::follow::{End, Source, follow};
use golive_core::journal::Record;

/// Show the run followed by `source` until the watcher leaves; exit 0.
pub async fn watch(source: Source, first: Vec<Record>, user: String) -> anyhow::Result<i32> {
    let (tx, events) = mpsc::channel(1024);
    let follower = tokio::spawn(async move {
        let end = follow(source, first, tx.clone()).await;
        let gone = match end {
            Ok(End::Gone(text)) => Some(text),
            Err(e) => Some(format!("stopped following the run: {e:#}")),
            Ok(End::Finished(_) | End::Closed) => None,
        };
        if let Some(message) = gone {
            let _ = tx
                .send(EngineEvent::Finished {
                    outcome: Outcome::Interrupted,
                    message,
                })
                .await;
        }
        // Keep the channel open: a closed one reads as "the engine stopped".
        tx.closed().await;
    });
    // Nothing reads this channel: the console has no way to the run.
    let (commands, _) = mpsc::unbounded_channel();
    let options = golive_tui::TuiOptions {
        observer: Some(user),
        ..golive_tui::TuiOptions::default()
    };
    let result = golive_tui::run(events, commands, options).await;
    follower.abort();
    result.map(|()| 0)
}
