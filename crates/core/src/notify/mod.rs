//! Notifications: `[notify] url = "${GOLIVE_NOTIFY_URL}"` receives a POST with a JSON body
//! `{"text": "...", "event": {...}}` (a Slack-compatible incoming webhook, or any HTTP endpoint)
//! when a question waits for a person, a step fails, a threshold is breached, a procedure starts,
//! and the run ends.
//!
//! The engine's event stream passes through a forwarder that looks at each event and hands the
//! notifications it calls for to a bounded queue (full: dropped, never waited on); a poster on a
//! task of its own posts them with retries and a rate limit. Nothing here can block or stop the
//! run, and every body goes through the run's redactor.

pub mod message;
mod sender;

use tokio::sync::mpsc;

pub use message::{Notification, Watcher};

use crate::events::EngineEvent;
use crate::runbook::{Notify, Vars};

/// Notifications waiting to be posted, at most.
const QUEUE: usize = 64;
/// How long the end of the run waits for the last posts.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(15);

/// What turns a stream's events into notifications (pure, no IO).
pub trait Observe<E>: Send + 'static {
    /// The notifications `event` calls for (most events call for none).
    fn observe(&mut self, event: &E) -> Vec<Notification>;
}

impl Observe<EngineEvent> for Watcher {
    fn observe(&mut self, event: &EngineEvent) -> Vec<Notification> {
        Watcher::observe(self, event)
    }
}

/// A configured notifier, not yet following a run.
pub struct Notifier {
    config: Notify,
    url: String,
    redactor: crate::redact::Redactor,
    unattended: bool,
    /// A fleet's target (`GOLIVE_TARGET`): named in every post of its run.
    target: Option<String>,
}

impl Notifier {
    /// From `[notify]` with the run's variables; `None` when the URL comes out empty.
    pub fn new(config: &Notify, vars: &Vars) -> Option<Notifier> {
        let url = vars.interpolate(&config.url);
        (!url.trim().is_empty()).then(|| Notifier {
            config: config.clone(),
            url,
            redactor: vars.redactor().clone(),
            unattended: false,
            target: vars
                .get("GOLIVE_TARGET")
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }

    /// The run answers its questions from the command line (headless: `--approve`, or a
    /// refusal): no question waits for a person, so none is posted as one.
    #[must_use]
    pub fn unattended(mut self, unattended: bool) -> Self {
        self.unattended = unattended;
        self
    }

    /// Follow a run's `events`: the returned stream carries the same events, in order, and ends
    /// after the last notification was posted (or given up, after a while).
    pub fn follow(self, events: mpsc::Receiver<EngineEvent>) -> mpsc::Receiver<EngineEvent> {
        let watcher = Watcher::of_target(self.target.clone());
        self.follow_with(events, watcher)
    }

    /// Follow `events` of any front-end stream (a run's, a fleet's), `watcher` saying which
    /// call for a notification; as [`Notifier::follow`].
    pub fn follow_with<E, W>(
        self,
        mut events: mpsc::Receiver<E>,
        mut watcher: W,
    ) -> mpsc::Receiver<E>
    where
        E: Send + 'static,
        W: Observe<E>,
    {
        let (out_tx, out) = mpsc::channel(QUEUE.max(256));
        let (queue_tx, queue) = mpsc::channel(QUEUE);
        let poster = match crate::httpc::client(sender::REQUEST_TIMEOUT) {
            Ok(client) => Some(tokio::spawn(
                sender::Poster {
                    client,
                    url: self.url.clone(),
                    min_interval: self.config.min_interval,
                    redactor: self.redactor.clone(),
                }
                .run(queue),
            )),
            Err(e) => {
                tracing::warn!(error = %e, "notify: no HTTP client; notifications are off");
                None
            }
        };
        let mut filter = self.config.events.clone();
        if self.unattended {
            if filter.is_empty() {
                filter = crate::runbook::NOTIFY_EVENTS
                    .iter()
                    .map(ToString::to_string)
                    .collect();
            }
            filter.retain(|k| k != "question");
        }
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(64);
            while events.recv_many(&mut batch, 64).await > 0 {
                for event in batch.drain(..) {
                    for n in watcher.observe(&event) {
                        let wanted = filter.is_empty() || filter.iter().any(|k| k == n.kind);
                        if wanted && let Err(e) = queue_tx.try_send(n) {
                            tracing::warn!(error = %e, "notify: queue full, dropped");
                        }
                    }
                    if out_tx.send(event).await.is_err() {
                        break;
                    }
                }
            }
            drop(queue_tx);
            if let Some(poster) = poster {
                let _ = tokio::time::timeout(DRAIN, poster).await;
            }
            drop(out_tx);
        });
        out
    }
}
