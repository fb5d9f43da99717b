//! What a running step shows, kept in the journal for `golive attach`: its output, one record per
//! output event as the front end got it (the sink already batches a flood into few events), up
//! to [`CAP`] lines an attempt (then one line saying the step's log has the rest: the journal
//! and the registry are not an output archive), and every dashboard snapshot.

use tokio::sync::mpsc;

use crate::events::{EngineEvent, OutputChunk, Stream};
use crate::journal::Entry;

/// Lines of one attempt's output kept in the journal.
pub(super) const CAP: usize = 10_000;

/// The copies of one attempt's events, and how much of its output the journal has.
pub(super) struct Shown {
    rx: mpsc::UnboundedReceiver<EngineEvent>,
    step: String,
    lines: usize,
    capped: bool,
}

impl Shown {
    /// The sender for the step's sink, and the receiving end for step `step` (qualified).
    pub(super) fn channel(step: &str) -> (mpsc::UnboundedSender<EngineEvent>, Shown) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shown = Shown {
            rx,
            step: step.to_string(),
            lines: 0,
            capped: false,
        };
        (tx, shown)
    }

    /// The next event (never, once every sender is gone).
    pub(super) async fn recv(&mut self) -> EngineEvent {
        match self.rx.recv().await {
            Some(event) => event,
            None => std::future::pending().await,
        }
    }

    /// The records for `first` and whatever else is queued now.
    pub(super) fn entries(&mut self, first: Option<EngineEvent>) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut output: Vec<OutputChunk> = Vec::new();
        let queued = std::iter::from_fn(|| self.rx.try_recv().ok());
        let events: Vec<EngineEvent> = first.into_iter().chain(queued).collect();
        for event in events {
            match event {
                EngineEvent::Output { chunks, .. } => {
                    for chunk in chunks {
                        self.keep(chunk, &mut output);
                    }
                    self.flush(&mut output, &mut entries);
                }
                EngineEvent::Monitor { snapshot, .. } => {
                    entries.push(Entry::Dashboard {
                        step: self.step.clone(),
                        snapshot,
                    });
                }
                _ => {}
            }
        }
        entries
    }

    fn keep(&mut self, chunk: OutputChunk, output: &mut Vec<OutputChunk>) {
        if self.capped {
            return;
        }
        let count = chunk.lines().count();
        if self.lines + count <= CAP {
            self.lines += count;
            output.push(chunk);
            return;
        }
        self.capped = true;
        let room = CAP - self.lines;
        if room > 0 {
            let head: Vec<&str> = chunk.lines().take(room).collect();
            output.push(OutputChunk {
                stream: chunk.stream,
                text: head.join("\n"),
            });
            self.lines = CAP;
        }
        output.push(OutputChunk {
            stream: Stream::Info,
            text: format!(
                "… the journal keeps the first {CAP} lines of an attempt's output; the step's \
                 log has them all"
            ),
        });
    }

    fn flush(&self, output: &mut Vec<OutputChunk>, entries: &mut Vec<Entry>) {
        if !output.is_empty() {
            entries.push(Entry::Output {
                step: self.step.clone(),
                chunks: std::mem::take(output),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(text: &str) -> EngineEvent {
        EngineEvent::Output {
            step: 0,
            chunks: vec![OutputChunk {
                stream: Stream::Stdout,
                text: text.to_string(),
            }],
        }
    }

    #[test]
    fn each_output_event_is_one_record_and_a_flood_is_capped() {
        let (tx, mut shown) = Shown::channel("a");
        for i in 0..5 {
            tx.send(output(&i.to_string())).expect("send");
        }
        let entries = shown.entries(None);
        assert_eq!(entries.len(), 5, "one record per event: {entries:?}");
        let flood = vec!["x"; CAP].join("\n");
        tx.send(output(&flood)).expect("send");
        tx.send(output("past the cap")).expect("send");
        let entries = shown.entries(None);
        let Entry::Output { chunks, .. } = &entries[0] else {
            panic!("{entries:?}");
        };
        assert_eq!(chunks.len(), 2, "what fits, then the note");
        assert_eq!(chunks[0].lines().count(), CAP - 5);
        assert!(chunks[1].text.contains("the step's log has them all"));
        tx.send(output("later")).expect("send");
        assert!(shown.entries(None).is_empty(), "nothing more after the cap");
    }
}
