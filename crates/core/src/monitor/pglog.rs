//! The PostgreSQL log source: tails a log file (jsonlog, csvlog or stderr format) for
//! `42501 … row-level security` errors: write denials, one sample per line.
//!
//! `PG_LOG` may name a file or the logging collector's directory (the newest file in it is
//! followed). A file replaced by another (rotation) is read from its start; a file that shrank
//! (truncation) is read again from the start. Reading starts at the end: only new lines count.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::poller::Source;
use super::sample::{Sample, now};

const MAX_READ: u64 = 8 * 1024 * 1024;

/// Follows one PostgreSQL log.
pub struct PgLog {
    path: PathBuf,
    current: Option<(PathBuf, u64)>,
    offset: u64,
    partial: Vec<u8>,
    csv_record: String,
}

impl PgLog {
    /// Follow `path` (a file or a log directory).
    pub fn new(path: &Path) -> Self {
        PgLog {
            path: path.to_path_buf(),
            current: None,
            offset: 0,
            partial: Vec::new(),
            csv_record: String::new(),
        }
    }

    fn file(&self) -> Result<PathBuf, String> {
        let meta = std::fs::metadata(&self.path).map_err(|e| {
            format!(
                "PG_LOG {}: {e}; set PG_LOG to the server's log file or log directory",
                self.path.display()
            )
        })?;
        if !meta.is_dir() {
            return Ok(self.path.clone());
        }
        std::fs::read_dir(&self.path)
            .map_err(|e| format!("PG_LOG {}: {e}", self.path.display()))?
            .flatten()
            .filter(|e| {
                let p = e.path();
                matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("json" | "csv" | "log")
                ) && p.is_file()
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .max()
            .map(|(_, p)| p)
            .ok_or_else(|| {
                format!(
                    "PG_LOG {} holds no .json, .csv or .log file yet",
                    self.path.display()
                )
            })
    }

    /// Read what was appended since the last call; the denials found.
    pub fn read_new(&mut self) -> Result<Vec<Sample>, String> {
        let path = self.file()?;
        let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let id = (path.clone(), meta.ino());
        match &self.current {
            None => {
                self.offset = meta.len();
                self.current = Some(id);
                return Ok(Vec::new());
            }
            Some(old) if *old != id => self.restart(id),
            Some(_) if meta.len() < self.offset => self.restart(id),
            Some(_) => {}
        }
        let mut file =
            std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut buf = Vec::new();
        let n = file
            .take(MAX_READ)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.offset += n as u64;
        self.partial.extend_from_slice(&buf);
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        let text = String::from_utf8_lossy(&complete);
        let format = Format::of(&path);
        let mut out = Vec::new();
        for line in text.lines() {
            let table = match format {
                Format::Csv => self.csv_line(line),
                Format::Json => json_denial(line),
                Format::Stderr => stderr_denial(line),
            };
            if let Some(table) = table {
                out.push(Sample::Denial { at: now(), table });
            }
        }
        Ok(out)
    }

    fn restart(&mut self, id: (PathBuf, u64)) {
        self.current = Some(id);
        self.offset = 0;
        self.partial.clear();
        self.csv_record.clear();
    }

    /// Collect a CSV record (quoted fields may span lines); a denial when it is complete.
    fn csv_line(&mut self, line: &str) -> Option<Option<String>> {
        if !self.csv_record.is_empty() {
            self.csv_record.push('\n');
        }
        self.csv_record.push_str(line);
        if self.csv_record.matches('"').count() % 2 == 1 {
            return None;
        }
        let record = std::mem::take(&mut self.csv_record);
        let fields = csv_fields(&record);
        let code = fields.get(12).map(String::as_str);
        let message = fields.get(13).map(String::as_str).unwrap_or("");
        denial(code, message)
    }
}

impl Source for PgLog {
    fn name(&self) -> String {
        "pg_log".into()
    }

    async fn poll(&mut self) -> Result<Vec<Sample>, String> {
        self.read_new()
    }
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Csv,
    Stderr,
}

impl Format {
    fn of(path: &Path) -> Format {
        match path.extension().and_then(|x| x.to_str()) {
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            _ => Format::Stderr,
        }
    }
}

/// `Some(table)` when the code and message are a row-level security write denial.
fn denial(code: Option<&str>, message: &str) -> Option<Option<String>> {
    let rls = message.contains("row-level security");
    let matches = match code {
        Some(c) => c == "42501" && rls,
        None => rls && message.contains("violates row-level security policy"),
    };
    matches.then(|| table_of(message))
}

fn table_of(message: &str) -> Option<String> {
    let start = message.find("for table \"")? + "for table \"".len();
    let len = message[start..].find('"')?;
    Some(message[start..start + len].to_string())
}

fn json_denial(line: &str) -> Option<Option<String>> {
    if !line.contains("42501") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    denial(
        v.get("state_code").and_then(|c| c.as_str()),
        v.get("message").and_then(|m| m.as_str()).unwrap_or(""),
    )
}

fn stderr_denial(line: &str) -> Option<Option<String>> {
    if !line.contains("ERROR:") {
        return None;
    }
    denial(None, line)
}

/// The fields of one CSV record (RFC 4180 quoting).
fn csv_fields(record: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = fields.last_mut() {
                    f.push('"');
                }
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_denials_in_every_format() {
        let msg = "new row violates row-level security policy for table \"customers\"";
        let json = format!(
            "{{\"timestamp\":\"2026-01-01 00:00:00.000 UTC\",\"error_severity\":\"ERROR\",\
             \"state_code\":\"42501\",\"message\":\"{}\"}}",
            msg.replace('"', "\\\"")
        );
        assert_eq!(json_denial(&json), Some(Some("customers".into())));
        let stderr = format!("2026-01-01 00:00:00 UTC [7] ERROR:  {msg}");
        assert_eq!(stderr_denial(&stderr), Some(Some("customers".into())));
        assert_eq!(stderr_denial("STATEMENT:  insert into customers"), None);
        let csv = format!(
            "2026-01-01 00:00:00 UTC,\"app\",\"db\",7,\"127.0.0.1:1\",a.b,1,\"INSERT\",\
             2026-01-01 00:00:00 UTC,3/4,0,ERROR,42501,\"{}\",,,,,,\"insert into x\nvalues (1)\",,,\"\",client backend,,0",
            msg.replace('"', "\"\"")
        );
        let mut log = PgLog::new(Path::new("x.csv"));
        let mut found = Vec::new();
        for line in csv.lines() {
            found.extend(log.csv_line(line));
        }
        assert_eq!(found, vec![Some("customers".to_string())]);
    }
}
