//! Keys under a flood: while a step prints as fast as it can (a task sends the console `Output`
//! events of 1024 lines each through a channel as deep as the engine's, as the engine would) and
//! the dashboard refreshes ten times a second (a second task sends `Monitor` snapshots), how
//! long a key takes to show in a drawn frame (target: one frame, about 16 ms), and how much CPU
//! the process uses meanwhile (target: at most one core). Run with
//! `cargo bench --bench tui_keys`.
//!
//! The console runs its real event loop ([`golive::tui::event_loop::drive`]) on a `TestBackend`
//! wrapped in a probe that timestamps the frame in which the help overlay (opened and closed by
//! alternate `?` keys) appears or goes away.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use golive::events::{EngineEvent, OutputChunk, RunInfo, StepInfo, StepState, Stream};
use golive::tui::event_loop::drive;
use golive::tui::{App, TuiOptions};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::mpsc;

const W: u16 = 200;
const H: u16 = 60;
/// Lines per `Output` event (the engine's batch).
const LINES_PER_EVENT: usize = 1024;
/// The engine's event channel depth.
const CHANNEL: usize = 256;
const PRESSES: usize = 200;

/// Whether the help overlay is on screen, with when the frame showing that was flushed.
type Seen = (bool, Instant);

/// A `TestBackend` that reports the frames in which the help overlay's corner appears or goes.
struct Probe {
    inner: TestBackend,
    corner: Option<(u16, u16)>,
    seen: std_mpsc::Sender<Seen>,
    pending: Option<bool>,
}

impl Backend for Probe {
    type Error = <TestBackend as Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let cells: Vec<(u16, u16, &Cell)> = content.collect();
        for &(x, y, cell) in &cells {
            let corner = cell.symbol() == "╔";
            if corner && self.corner.is_none() {
                self.corner = Some((x, y));
                self.pending = Some(true);
            } else if !corner && self.corner == Some((x, y)) {
                self.corner = None;
                self.pending = Some(false);
            }
        }
        self.inner.draw(cells.into_iter())
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        if let Some(shown) = self.pending.take() {
            let _ = self.seen.send((shown, Instant::now()));
        }
        self.inner.flush()
    }
}

fn run_info() -> RunInfo {
    RunInfo {
        run_id: "bench".to_string(),
        run_dir: PathBuf::from(".golive/runs/bench"),
        runbook: "Bench".to_string(),
        environment: None,
        targets: Vec::new(),
        steps: vec![StepInfo {
            id: "flood".to_string(),
            title: "Print as fast as it can".to_string(),
            kind: "shell".to_string(),
            destructive: false,
            procedure: None,
            description: None,
            preview: "yes".to_string(),
            target: None,
            state: StepState::Pending,
            expected: None,
        }],
        procedures: Vec::new(),
        resumed: false,
        expected_total: None,
    }
}

fn chunk(from: u64) -> OutputChunk {
    let text = (from..from + LINES_PER_EVENT as u64)
        .map(|i| format!("row {i}: COPY 1200 appointments for tenant 7f1c9e2a-4b1d-4f7e-9a51"))
        .collect::<Vec<_>>()
        .join("\n");
    OutputChunk {
        stream: Stream::Stdout,
        text,
    }
}

/// A dashboard refresh: three panels, two routes, two windows.
fn snapshot(elapsed: u64) -> serde_json::Value {
    let v = (elapsed % 40) as f64 / 1000.0;
    let panel = |id: &str, value: f64| {
        serde_json::json!({
            "id": id, "state": "ok", "value": value, "baseline": 0.001,
            "warn": 0.01, "crit": 0.05, "requests": 300.0, "rate": 5.0,
            "by_route": {"/api/admin/service-operations": value, "/api/invoices/<int:invoice_id>/items": value * 2.0},
            "rps_by_route": {"/api/admin/service-operations": 4.0, "/api/invoices/<int:invoice_id>/items": 1.0}
        })
    };
    serde_json::json!({
        "at": "2026-11-26T18:40:00Z",
        "window_seconds": 60,
        "elapsed_seconds": elapsed,
        "panels": [panel("http_5xx_ratio", v), panel("http_4xx_ratio", v), panel("rls_denials", 0.0)],
        "sources": [{"name": "scrape", "ok": true, "age_seconds": 1}],
        "other_windows": [{"window_seconds": 300, "panels": [panel("http_5xx_ratio", v)]}]
    })
}

/// CPU time (user + system) of the whole process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or_default())
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or_default())
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let (seen_tx, seen) = std_mpsc::channel::<Seen>();
    let backend = Probe {
        inner: TestBackend::new(W, H),
        corner: None,
        seen: seen_tx,
        pending: None,
    };
    let mut terminal = Terminal::new(backend)?;
    let options = TuiOptions::default();
    let tick_rate = options.tick_rate;
    let mut app = App::new(&options, W, H);
    let (engine, mut events) = mpsc::channel::<EngineEvent>(CHANNEL);
    let (commands, _sent) = mpsc::unbounded_channel();
    let (keys, mut key_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    let input = Box::pin(futures_util::stream::poll_fn(move |cx| {
        key_rx.poll_recv(cx)
    }));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stop_rx.await;
        "bench over"
    };

    engine
        .send(EngineEvent::Started {
            run: Box::new(run_info()),
        })
        .await?;
    engine
        .send(EngineEvent::StepState {
            step: 0,
            state: StepState::Running,
            attempt: 1,
            elapsed: None,
            detail: None,
        })
        .await?;
    let monitor = engine.clone();
    let sent_lines = Arc::new(AtomicU64::new(0));
    let counter = sent_lines.clone();
    let flood = tokio::spawn(async move {
        let mut next = 0u64;
        loop {
            let event = EngineEvent::Output {
                step: 0,
                chunks: vec![chunk(next)],
            };
            if engine.send(event).await.is_err() {
                return;
            }
            next += LINES_PER_EVENT as u64;
            counter.store(next, Ordering::Relaxed);
        }
    });
    let refresher = tokio::spawn(async move {
        let mut elapsed = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            elapsed += 1;
            let event = EngineEvent::Monitor {
                step: 0,
                snapshot: snapshot(elapsed),
            };
            if monitor.send(event).await.is_err() {
                return;
            }
        }
    });
    let console = tokio::spawn(async move {
        drive(
            &mut terminal,
            &mut app,
            input,
            &mut events,
            &commands,
            shutdown,
            tick_rate,
        )
        .await
    });

    // Let the flood fill the channel first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let wall = Instant::now();
    let cpu = cpu_time();
    let lines_before = sent_lines.load(Ordering::Relaxed);
    let mut latencies = Vec::with_capacity(PRESSES);
    let mut missed = 0;
    for i in 0..PRESSES {
        tokio::time::sleep(Duration::from_millis(20 + (i as u64 * 7) % 23)).await;
        while seen.try_recv().is_ok() {}
        let pressed = Instant::now();
        let key = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE);
        keys.send(Ok(Event::Key(key)))?;
        let want = i % 2 == 0;
        let deadline = pressed + Duration::from_secs(2);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = tokio::task::block_in_place(|| seen.recv_timeout(left));
            match answer {
                Ok((shown, at)) if shown == want => {
                    latencies.push(at.saturating_duration_since(pressed));
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    missed += 1;
                    break;
                }
            }
        }
    }
    let elapsed = wall.elapsed();
    let used = cpu_time().saturating_sub(cpu);
    let lines = sent_lines.load(Ordering::Relaxed) - lines_before;
    let _ = stop_tx.send(());
    console.await??;
    flood.abort();
    refresher.abort();

    latencies.sort_unstable();
    let mean = latencies.iter().sum::<Duration>() / u32::try_from(latencies.len().max(1))?;
    println!(
        "tui_keys: {} keys while a step printed {:.0} lines/s ({} lines in {:.1?}) and the dashboard refreshed 10/s, {W}x{H}",
        latencies.len(),
        lines as f64 / elapsed.as_secs_f64(),
        lines,
        elapsed
    );
    println!(
        "  key → drawn frame: mean {:.2?}  p50 {:.2?}  p95 {:.2?}  p99 {:.2?}  max {:.2?}  (target ≤ 16 ms){}",
        mean,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        if missed > 0 {
            format!("  MISSED {missed}")
        } else {
            String::new()
        }
    );
    println!(
        "  CPU: {:.2} cores ({:.2?} of CPU in {:.2?} of wall time; console and flood together; target ≤ 1)",
        used.as_secs_f64() / elapsed.as_secs_f64(),
        used,
        elapsed
    );
    Ok(())
}
