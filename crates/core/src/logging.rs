//! Diagnostics through `tracing`: into the run's own `golive.log` (never onto the full-screen
//! terminal), level from `--log-level` or `RUST_LOG`, every line passed through the run's
//! redactor. Until a run directory exists, records are dropped.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::redact::Redactor;

/// Where log records go; attach a file once the run directory is known.
#[derive(Clone, Default)]
pub struct LogSink {
    target: Arc<Mutex<Option<(std::fs::File, Redactor)>>>,
}

impl LogSink {
    /// Send records to `path` (appending), masked with `redactor`.
    pub fn attach(&self, path: &Path, redactor: Redactor) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        if let Ok(mut target) = self.target.lock() {
            *target = Some((file, redactor));
        }
        Ok(())
    }
}

/// One record being formatted; written out whole when dropped.
pub struct Record {
    sink: LogSink,
    buf: Vec<u8>,
}

impl Write for Record {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if let Ok(mut target) = self.sink.target.lock()
            && let Some((file, redactor)) = target.as_mut()
        {
            let text = String::from_utf8_lossy(&self.buf);
            let _ = file.write_all(redactor.redact(&text).as_bytes());
        }
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = Record;

    fn make_writer(&'a self) -> Self::Writer {
        Record {
            sink: self.clone(),
            buf: Vec::new(),
        }
    }
}

/// Install the subscriber; `level` (e.g. `debug`) wins over `RUST_LOG`, default `info`.
pub fn init(level: Option<&str>) -> LogSink {
    let sink = LogSink::default();
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(sink.clone())
        .try_init();
    sink
}
