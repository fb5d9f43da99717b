//! `golive attach RUN_DIR --headless [--json]`: follow a live run from a second terminal on the
//! same host, read-only. It prints the journal's records so far, then each new one as it is
//! written (polled every 100 ms), and ends with the run (exit 0 when it passed, 1 otherwise), or
//! says the driver is gone when its process died without finishing the run (exit 1). It opens
//! the journal for reading only and holds no channel to the run: it can answer nothing.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use crate::journal::{Entry, Record};

/// How often the journal is looked at.
const POLL: Duration = Duration::from_millis(100);

/// Follow the run in `run_dir` until it ends; returns the exit code.
pub async fn attach(run_dir: &Path, json: bool) -> anyhow::Result<i32> {
    let path = run_dir.join("journal.jsonl");
    if !path.is_file() {
        anyhow::bail!(
            "no journal at {}; pass a run directory such as .golive/runs/<run-id>",
            path.display()
        );
    }
    let mut offset = 0u64;
    let mut pending = String::new();
    let mut driver: Option<(String, u32)> = None;
    let mut out = std::io::stdout();
    let mut last_look = false;
    loop {
        let fresh = read_from(&path, &mut offset)?;
        pending.push_str(&fresh);
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let line = line.trim_end();
            let Ok(record) = serde_json::from_str::<Record>(line) else {
                continue;
            };
            match &record.entry {
                Entry::RunStarted { host, pid, .. } | Entry::RunResumed { host, pid, .. } => {
                    driver = Some((host.clone(), *pid));
                }
                _ => {}
            }
            if json {
                writeln!(out, "{line}")?;
            } else {
                writeln!(out, "{}", line_for_people(&record))?;
            }
            if let Entry::RunFinished { outcome, .. } = &record.entry {
                out.flush()?;
                return Ok(outcome.exit_code());
            }
        }
        out.flush()?;
        if fresh.is_empty() && driver_gone(driver.as_ref()) {
            if last_look {
                let (host, pid) = driver.unwrap_or_default();
                let text = format!(
                    "the driver (pid {pid} on {host}) is gone without finishing the run; \
                     `golive run --resume` continues it"
                );
                if json {
                    let event = serde_json::json!({"event": "driver_gone", "pid": pid, "host": host, "text": text});
                    writeln!(out, "{event}")?;
                } else {
                    writeln!(out, "{text}")?;
                }
                return Ok(1);
            }
            // One more look: the driver may have written its last record just before exiting.
            last_look = true;
            continue;
        }
        last_look = false;
        tokio::time::sleep(POLL).await;
    }
}

/// What was appended after `offset`; moves `offset` past it.
fn read_from(path: &Path, offset: &mut u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(*offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    *offset += bytes.len() as u64;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether the driver's process is known to have ended (on this host only: another host's
/// process cannot be looked at).
fn driver_gone(driver: Option<&(String, u32)>) -> bool {
    let Some((host, pid)) = driver else {
        return false;
    };
    if *host != crate::provenance::host() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z"),
        Err(_) => true,
    }
}

/// One line: the time, the event and its fields.
fn line_for_people(record: &Record) -> String {
    let mut value = serde_json::to_value(&record.entry).unwrap_or_default();
    let event = value
        .get("event")
        .and_then(|e| e.as_str())
        .unwrap_or_default()
        .to_string();
    let fields = value
        .as_object_mut()
        .map(|map| {
            map.remove("event");
            map.iter()
                .filter(|(k, _)| k.as_str() != "steps")
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let time = record.at.get(11..19).unwrap_or(&record.at);
    format!("{time} {event:<16} {fields}")
}
