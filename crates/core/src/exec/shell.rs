//! `kind = "shell"`: `sh -c` in its own process group, the run's variables in its environment,
//! stdout and stderr streamed line by line, the whole group killed on cancellation (the engine
//! cancels a step that runs past its timeout).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::mpsc;

use super::{StepCtx, StepError, StepResult};
use crate::events::Stream;
use crate::os::{self, Sig};
use crate::runbook::ShellSpec;

/// How much of a pipe is read at once.
const CHUNK: usize = 64 * 1024;
/// A line longer than this is passed on in pieces.
const MAX_LINE: usize = 1024 * 1024;
/// How long a stopped group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(3);
/// How long output is still read after `sh` exited while a background child holds the pipes.
const DRAIN: Duration = Duration::from_secs(1);
/// How often the step's log file gets what it has buffered, while the step runs.
const LOG_FLUSH: Duration = Duration::from_millis(500);

/// Run a shell step.
pub async fn run(spec: &ShellSpec, ctx: &mut StepCtx<'_>) -> StepResult {
    run_script(&spec.run, &[], ctx).await
}

/// Run `script` with `sh -c`, the run's variables plus `extra_env` in its environment.
pub async fn run_script(
    script: &str,
    extra_env: &[(&str, &str)],
    ctx: &mut StepCtx<'_>,
) -> StepResult {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(ctx.base_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (name, value) in ctx.vars.iter() {
        cmd.env(name, value);
    }
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    cmd.env("GOLIVE_RUN_DIR", ctx.run_dir);
    // If golive itself is killed (SIGKILL leaves no chance to stop the group), `sh` goes too.
    crate::os::die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| {
        StepError::Failed(format!(
            "cannot start `sh`: {e}; is /bin/sh installed and on PATH?"
        ))
    })?;
    let group = ProcessGroup(child.id().and_then(|id| i32::try_from(id).ok()));
    if let (Some(path), Some(pgid)) = (ctx.pid_file, group.0) {
        // Best effort: without it, a resume after a crash cannot warn about leftovers.
        let _ = std::fs::write(path, pgid.to_string());
    }

    let (tx, mut rx) = mpsc::channel::<(Stream, Vec<u8>)>(16);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(read_lines(out, Stream::Stdout, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(read_lines(err, Stream::Stderr, tx.clone()));
    }
    drop(tx);

    let mut stop: Option<StepError> = None;
    let mut streams_open = true;
    let mut exit = None;
    // After `sh` exits, a background child may still hold the pipes open: read on for a moment.
    let drain = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(drain);
    let mut log_due = tokio::time::interval(LOG_FLUSH);
    log_due.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while streams_open || exit.is_none() {
        tokio::select! {
            _ = log_due.tick() => ctx.out.flush_log(),
            line = rx.recv(), if streams_open => match line {
                Some((stream, bytes)) => match std::str::from_utf8(&bytes) {
                    Ok(text) => ctx.out.lines(stream, text).await,
                    Err(_) => ctx.out.lines(stream, &String::from_utf8_lossy(&bytes)).await,
                },
                None => streams_open = false,
            },
            status = child.wait(), if exit.is_none() => {
                exit = Some(status);
                drain.as_mut().reset(tokio::time::Instant::now() + DRAIN);
            }
            () = &mut drain, if exit.is_some() => break,
            () = ctx.cancel.cancelled(), if stop.is_none() => {
                stop = Some(StepError::Cancelled);
                group.terminate().await;
            }
        }
    }
    let status = match exit {
        Some(status) => status,
        None => child.wait().await,
    };
    group.kill();
    if let Some(path) = ctx.pid_file {
        let _ = std::fs::remove_file(path);
    }
    if let Some(err) = stop {
        return Err(err);
    }
    let status =
        status.map_err(|e| StepError::Failed(format!("cannot wait for the command: {e}")))?;
    match status.code() {
        Some(0) => Ok(format!("exit code 0, {} lines", ctx.out.count())),
        Some(code) => Err(StepError::Failed(failure(code, ctx))),
        None => Err(StepError::Failed(format!(
            "killed by a signal ({status}){}",
            last_line(ctx)
        ))),
    }
}

fn failure(code: i32, ctx: &StepCtx<'_>) -> String {
    let hint = match code {
        127 => " (command not found: install it or fix PATH)",
        126 => " (not executable: check the file's permissions)",
        _ => "",
    };
    format!("exit code {code}{hint}{}", last_line(ctx))
}

fn last_line(ctx: &StepCtx<'_>) -> String {
    cause(&ctx.out.tail(8))
        .map(|l| format!(": {l}"))
        .unwrap_or_default()
}

/// The line of a failed command's last output that says why: the last one that names an error,
/// else the last that is not a follow-up (`detail: Query was: LOCK TABLE …`, `HINT:`,
/// `CONTEXT:`), else the last line.
fn cause(lines: &[String]) -> Option<&str> {
    let follow_up = |l: &str| {
        let l = l.to_ascii_lowercase();
        ["detail:", "hint:", "context:", "query was:", "line "]
            .iter()
            .any(|w| l.contains(w))
    };
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.to_ascii_lowercase().contains("error") && !follow_up(l))
        .or_else(|| lines.iter().rev().find(|l| !follow_up(l)))
        .or_else(|| lines.last())
        .copied()
}

/// Read a pipe in large chunks and pass on whole lines, many at a time: the cost of a flood of
/// output is per chunk, not per line.
async fn read_lines(
    mut stream: impl AsyncRead + Unpin,
    kind: Stream,
    tx: mpsc::Sender<(Stream, Vec<u8>)>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    loop {
        if buf.capacity() - buf.len() < CHUNK / 4 {
            buf.reserve(CHUNK);
        }
        let n = stream.read_buf(&mut buf).await.unwrap_or_default();
        if n == 0 {
            if !buf.is_empty() {
                let _ = tx.send((kind, std::mem::take(&mut buf))).await;
            }
            return;
        }
        let cut = match buf.iter().rposition(|&b| b == b'\n') {
            Some(pos) => pos + 1,
            // One very long line: pass it on in pieces rather than hold it all.
            None if buf.len() >= MAX_LINE => buf.len(),
            None => continue,
        };
        let rest = buf.split_off(cut);
        let mut lines = std::mem::replace(&mut buf, rest);
        if lines.last() == Some(&b'\n') {
            lines.pop();
        }
        if tx.send((kind, lines)).await.is_err() {
            return;
        }
    }
}

/// The child's process group: everything the step started, killed together.
struct ProcessGroup(Option<i32>);

impl ProcessGroup {
    /// SIGTERM the group, wait up to [`GRACE`] for it to go, then SIGKILL.
    async fn terminate(&self) {
        let Some(pgid) = self.0 else { return };
        os::signal_group(pgid, Sig::Term);
        let start = tokio::time::Instant::now();
        while start.elapsed() < GRACE && os::group_running(pgid) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        os::signal_group(pgid, Sig::Kill);
    }

    /// SIGKILL whatever is left of the group (children that outlived `sh`).
    fn kill(&self) {
        if let Some(pgid) = self.0 {
            os::signal_group(pgid, Sig::Kill);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The process group recorded in `pid_file`, if any process of it still runs: what a step
/// interrupted by a killed golive may have left behind.
pub fn leftover_group(pid_file: &std::path::Path) -> Option<i32> {
    let pgid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    os::group_running(pgid).then_some(pgid)
}

#[cfg(test)]
mod cause_tests {
    use super::cause;

    #[test]
    fn pg_dump_failures_name_the_error_not_the_query() {
        let lines: Vec<String> = [
            "pg_dump: error: query failed: ERROR:  permission denied for table customers",
            "pg_dump: detail: Query was: LOCK TABLE public.customers IN ACCESS SHARE MODE",
        ]
        .map(str::to_string)
        .to_vec();
        assert_eq!(
            cause(&lines),
            Some("pg_dump: error: query failed: ERROR:  permission denied for table customers")
        );
        let plain: Vec<String> = vec!["copied 3 files".into(), "disk full".into(), String::new()];
        assert_eq!(cause(&plain), Some("disk full"));
        assert_eq!(cause(&[]), None);
    }
}
