//! The webhook poster: a task of its own behind a bounded queue. It posts at most once per
//! `min_interval` (what comes meanwhile is merged into the next post, so a flapping panel costs
//! one message per interval, not one per flap), retries a 5xx, a 429, a timeout or a refused
//! connection with backoff, and redacts every body with the run's redactor.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::message::Notification;
use crate::redact::Redactor;

/// Tries per post.
const ATTEMPTS: u32 = 4;
/// First wait between tries; doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// One request's time limit.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// What the poster needs.
pub(super) struct Poster {
    pub client: reqwest::Client,
    pub url: String,
    pub min_interval: Duration,
    pub redactor: Redactor,
}

impl Poster {
    /// Post what arrives on `queue` until it closes; what is pending then is posted at once.
    pub(super) async fn run(self, mut queue: mpsc::Receiver<Notification>) {
        let mut last_post: Option<Instant> = None;
        let mut pending: Vec<Notification> = Vec::new();
        let mut open = true;
        while open || !pending.is_empty() {
            if pending.is_empty() {
                match queue.recv().await {
                    Some(n) => pending.push(n),
                    None => return,
                }
            }
            if let Some(last) = last_post {
                let due = last + self.min_interval;
                while open && Instant::now() < due {
                    tokio::select! {
                        n = queue.recv() => match n {
                            Some(n) => pending.push(n),
                            None => open = false,
                        },
                        () = tokio::time::sleep_until(due) => break,
                    }
                }
            }
            while let Ok(n) = queue.try_recv() {
                pending.push(n);
            }
            let body = body(&pending);
            pending.clear();
            self.post(&body).await;
            last_post = Some(Instant::now());
        }
    }

    async fn post(&self, body: &Value) {
        let text = body.to_string();
        let text = self.redactor.redact(&text).into_owned();
        let mut wait = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let result = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(text.clone())
                .send()
                .await;
            let retry = match result {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => {
                    let status = response.status();
                    tracing::warn!(%status, attempt, "notify: the webhook refused the post");
                    status.is_server_error() || status.as_u16() == 429
                }
                Err(e) => {
                    let reason = crate::httpc::describe(&e);
                    tracing::warn!(%reason, attempt, "notify: the post failed");
                    true
                }
            };
            if !retry || attempt == ATTEMPTS {
                break;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        tracing::warn!("notify: a notification was given up after {ATTEMPTS} tries");
    }
}

/// The body: Slack's `text` (every pending line) and the latest `event`; `events` has them all
/// when several were merged.
pub(super) fn body(pending: &[Notification]) -> Value {
    let text = pending
        .iter()
        .map(|n| n.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let event = pending
        .last()
        .map(|n| n.event.clone())
        .unwrap_or(Value::Null);
    let mut body = json!({"text": text, "event": event});
    if pending.len() > 1 {
        body["events"] = pending.iter().map(|n| n.event.clone()).collect();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(kind: &'static str, text: &str) -> Notification {
        Notification {
            kind,
            text: text.into(),
            event: json!({"kind": kind}),
        }
    }

    #[test]
    fn one_notification_is_text_and_event_and_several_are_merged_into_one_post() {
        let one = body(&[note("question", "waits")]);
        assert_eq!(one, json!({"text": "waits", "event": {"kind": "question"}}));
        let many = body(&[
            note("breach", "panel critical"),
            note("breach", "panel critical again"),
            note("run_finished", "finished"),
        ]);
        assert_eq!(
            many["text"],
            "panel critical\npanel critical again\nfinished"
        );
        assert_eq!(many["event"]["kind"], "run_finished");
        assert_eq!(many["events"].as_array().map(Vec::len), Some(3));
    }
}
