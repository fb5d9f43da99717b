//! The loop every source runs: poll, send what it read, wait; after a failure report it and
//! retry with a growing pause, so a source that stops answering recovers by itself.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sample::{Sample, now};

/// The longest pause between attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A source of samples.
pub trait Source: Send + 'static {
    /// Its name in source statuses (`scrape`, `prometheus`, …).
    fn name(&self) -> String;
    /// Read once; an error is one line, redacted, saying what to check.
    fn poll(&mut self) -> impl Future<Output = Result<Vec<Sample>, String>> + Send;
}

/// Run `source` every `period` until `cancel`, sending samples and health to `tx`.
pub fn spawn<S: Source>(
    mut source: S,
    period: Duration,
    tx: mpsc::Sender<Sample>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let name = source.name();
        let mut pause = period;
        loop {
            let result = tokio::select! {
                () = cancel.cancelled() => return,
                r = source.poll() => r,
            };
            let (samples, error) = match result {
                Ok(samples) => {
                    pause = period;
                    (samples, None)
                }
                Err(e) => {
                    pause = (pause * 2).min(MAX_BACKOFF.max(period));
                    (Vec::new(), Some(e))
                }
            };
            for s in samples.into_iter().chain(std::iter::once(Sample::Health {
                source: name.clone(),
                at: now(),
                error,
            })) {
                if tx.send(s).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    });
}
