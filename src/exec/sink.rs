//! Where a step's output goes: redacted, appended to the step's own log file, kept as a short
//! tail for error messages, and sent to the front end in batches (a flood of lines costs a few
//! messages, not one per line).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::engine::events::{EngineEvent, OutputChunk, StepIdx, Stream};
use crate::redact::Redactor;

const BATCH_LINES: usize = 1024;
const BATCH_AGE: Duration = Duration::from_millis(40);
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
    batch_started: Instant,
    tail: VecDeque<String>,
    lines: u64,
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
            batch_started: Instant::now(),
            tail: VecDeque::with_capacity(TAIL_LINES),
            lines: 0,
        })
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
        if self.batch.is_empty() {
            self.batch_started = Instant::now();
        }
        let count = text.bytes().filter(|&b| b == b'\n').count() + 1;
        self.lines += count as u64;
        self.batch_lines += count;
        self.batch.push(OutputChunk {
            stream,
            text: text.into_owned(),
        });
        if self.batch_lines >= BATCH_LINES || self.batch_started.elapsed() >= BATCH_AGE {
            self.flush().await;
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
        let chunks = std::mem::take(&mut self.batch);
        self.batch_lines = 0;
        let recent = last_lines(&chunks, TAIL_LINES);
        self.tail.extend(recent);
        let excess = self.tail.len().saturating_sub(TAIL_LINES);
        self.tail.drain(..excess);
        let _ = self
            .events
            .send(EngineEvent::Output {
                step: self.step,
                chunks,
            })
            .await;
    }

    /// A dashboard snapshot (monitor steps).
    pub async fn monitor(&mut self, snapshot: serde_json::Value) {
        self.flush().await;
        let _ = self
            .events
            .send(EngineEvent::Monitor {
                step: self.step,
                snapshot,
            })
            .await;
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
