//! The signals that stop golive: Ctrl-C, SIGTERM and SIGHUP, as one stream of names.

use tokio::signal::unix::{SignalKind, signal};

/// Ctrl-C, SIGTERM and SIGHUP as one stream of names.
#[derive(Debug)]
pub struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Listen for the three signals (each one that cannot be installed is ignored).
    pub fn new() -> Self {
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// The next signal's name.
    pub async fn next(&mut self) -> &'static str {
        async fn wait(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = wait(&mut self.int) => "interrupt (Ctrl-C)",
            () = wait(&mut self.term) => "SIGTERM",
            () = wait(&mut self.hup) => "SIGHUP",
        }
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}
