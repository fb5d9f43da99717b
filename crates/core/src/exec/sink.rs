//! Where a step's output goes: redacted, appended to the step's own log file, kept as a short
//! tail for error messages, and sent to the front end at once while it keeps up, in batches when
//! it falls behind (a flood of lines costs a few messages, not one per line).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use tokio::sync::mpsc;

use crate::events::{EngineEvent, OutputChunk, StepIdx, Stream};
use crate::redact::Redactor;

const BATCH_LINES: usize = 1024;
const TAIL_LINES: usize = 20;

/// The output of one step attempt.
pub struct OutputSink {
    step: StepIdx,
    events: mpsc::Sender<EngineEvent>,
    redactor: Redactor,
    log: Option<BufWriter<File>>,
    log_error: Option<String>,
    batch: Vec<OutputChunk>,
    batch_lines: usize,
    tail: VecDeque<String>,
    lines: u64,
    copy: Option<mpsc::UnboundedSender<EngineEvent>>,
    /// Output lines still to copy (the copy's reader keeps no more).
    copy_left: usize,
}

impl OutputSink {
    /// A sink for `step`, appending to `log_path` (created if needed).
    pub fn new(
        step: StepIdx,
        events: mpsc::Sender<EngineEvent>,
        redactor: Redactor,
        log_path: Option<&Path>,
    ) -> std::io::Result<Self> {
        let log = match log_path {
            Some(path) => Some(BufWriter::with_capacity(
                256 * 1024,
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
            None => None,
        };
        Ok(OutputSink {
            step,
            events,
            redactor,
            log,
            log_error: None,
            batch: Vec::new(),
            batch_lines: 0,
            tail: VecDeque::with_capacity(TAIL_LINES),
            lines: 0,
            copy: None,
            copy_left: 0,
        })
    }

    /// Also send the events this sink sends to the front end to `copy` (the engine journals
    /// them for `golive attach`): every dashboard snapshot, and output until `max_lines` lines
    /// have been copied (the event that passes it included, so the reader sees it was passed).
    #[must_use]
    pub fn with_copy(mut self, copy: mpsc::UnboundedSender<EngineEvent>, max_lines: usize) -> Self {
        self.copy = Some(copy);
        self.copy_left = max_lines.saturating_add(1);
        self
    }

    fn copy(&mut self, event: &EngineEvent) {
        let Some(copy) = &self.copy else {
            return;
        };
        if let EngineEvent::Output { chunks, .. } = event {
            if self.copy_left == 0 {
                return;
            }
            let lines: usize = chunks.iter().map(|c| c.lines().count()).sum();
            self.copy_left = self.copy_left.saturating_sub(lines);
        }
        let _ = copy.send(event.clone());
    }

    /// One line of output (without its newline).
    pub async fn line(&mut self, stream: Stream, text: &str) {
        self.lines(stream, text).await;
    }

    /// One or more lines, separated by `\n` (no trailing newline). Redaction and the log write
    /// happen once for the whole text: a secret never spans lines.
    pub async fn lines(&mut self, stream: Stream, text: &str) {
        let text = self.redactor.redact(text);
        if let Some(log) = &mut self.log
            && let Err(e) = log
                .write_all(text.as_bytes())
                .and_then(|()| log.write_all(b"\n"))
        {
            self.log_error.get_or_insert_with(|| e.to_string());
        }
        let count = text.bytes().filter(|&b| b == b'\n').count() + 1;
        self.lines += count as u64;
        self.batch_lines += count;
        self.batch.push(OutputChunk {
            stream,
            text: text.into_owned(),
        });
        if self.batch_lines >= BATCH_LINES {
            self.flush().await;
        } else if let Ok(permit) = self.events.clone().try_reserve_owned() {
            // The front end keeps up: send now, so a line is seen as soon as it is printed.
            // When it falls behind, lines gather into bigger batches instead.
            let chunks = self.take_batch();
            let event = EngineEvent::Output {
                step: self.step,
                chunks,
            };
            self.copy(&event);
            permit.send(event);
        }
    }

    /// golive's own commentary on the step.
    pub async fn info(&mut self, text: &str) {
        self.line(Stream::Info, text).await;
    }

    /// Send what is batched to the front end.
    pub async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let chunks = self.take_batch();
        let event = EngineEvent::Output {
            step: self.step,
            chunks,
        };
        self.copy(&event);
        let _ = self.events.send(event).await;
    }

    /// The batched chunks, remembering their last lines for [`OutputSink::tail`].
    fn take_batch(&mut self) -> Vec<OutputChunk> {
        let chunks = std::mem::take(&mut self.batch);
        self.batch_lines = 0;
        self.tail.extend(last_lines(&chunks, TAIL_LINES));
        let excess = self.tail.len().saturating_sub(TAIL_LINES);
        self.tail.drain(..excess);
        chunks
    }

    /// A dashboard snapshot (monitor steps).
    pub async fn monitor(&mut self, snapshot: serde_json::Value) {
        self.flush().await;
        let event = EngineEvent::Monitor {
            step: self.step,
            snapshot,
        };
        self.copy(&event);
        let _ = self.events.send(event).await;
    }

    /// The last lines, for an error message.
    pub fn tail(&self, n: usize) -> Vec<String> {
        self.tail
            .iter()
            .skip(self.tail.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// How many lines the step printed.
    pub fn count(&self) -> u64 {
        self.lines
    }

    /// The redactor (for executors that format their own messages).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Write what the step's log has buffered to its file (no sync): a running step's log is
    /// readable as it goes, and golive killed mid-step loses at most the lines since.
    pub fn flush_log(&mut self) {
        if let Some(log) = &mut self.log
            && let Err(e) = log.flush()
        {
            self.log_error.get_or_insert_with(|| e.to_string());
        }
    }

    /// Flush everything and sync the log to disk; an error if the log could not be written.
    pub async fn finish(&mut self) -> Result<(), String> {
        self.flush().await;
        if let Some(log) = &mut self.log
            && let Err(e) = log.flush().and_then(|()| log.get_ref().sync_data())
        {
            self.log_error.get_or_insert_with(|| e.to_string());
        }
        match self.log_error.take() {
            Some(e) => Err(format!("cannot write the step's log: {e}")),
            None => Ok(()),
        }
    }
}

/// The last `n` lines of a run of chunks, oldest first.
fn last_lines(chunks: &[OutputChunk], n: usize) -> Vec<String> {
    let mut out: Vec<String> = chunks
        .iter()
        .rev()
        .flat_map(|c| c.text.rsplit('\n'))
        .take(n)
        .map(str::to_string)
        .collect();
    out.reverse();
    out
}
