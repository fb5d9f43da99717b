//! The event loop: one `tokio::select!` over the terminal's events, the engine's events, a render
//! interval and shutdown (SIGTERM, SIGHUP, cancellation). Engine events are drained and applied
//! up to a bound of work per turn of the loop (so a key never waits behind a whole queue of
//! output), and the screen is drawn once per interval when they changed it; a key is answered
//! with a frame at once.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event, EventStream};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::{MissedTickBehavior, interval};

use super::{App, TuiOptions, terminal, view};
use golive_core::events::{Command, EngineEvent};
use golive_core::monitor::snapshot::Snapshot;
use golive_core::monitor::watch::Watch;

/// How much output (in bytes) one turn of the loop applies at most before it looks at the keys
/// again: about a millisecond of work, so a key waits for that, not for the whole queue.
const TURN_BYTES: usize = 256 * 1024;

/// The work of applying an event, in [`TURN_BYTES`] units.
fn cost(event: &EngineEvent) -> usize {
    match event {
        EngineEvent::Output { chunks, .. } => chunks.iter().map(|c| c.text.len() + 1).sum(),
        _ => 1,
    }
}

/// Apply `first` and what else is queued, up to [`TURN_BYTES`] of work; returns whether the
/// engine's channel is still open.
fn apply_queued(
    app: &mut App,
    events: &mut mpsc::Receiver<EngineEvent>,
    first: Option<EngineEvent>,
) -> bool {
    let now = Instant::now();
    let mut budget = TURN_BYTES;
    let mut next = first;
    loop {
        let Some(event) = next else {
            app.engine_gone();
            return false;
        };
        budget = budget.saturating_sub(cost(&event));
        app.apply(event, now);
        if budget == 0 {
            return true;
        }
        next = match events.try_recv() {
            Ok(event) => Some(event),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Disconnected) => None,
        };
    }
}

/// Run the full-screen console until the run is over and the operator leaves, or until the
/// operator quits (after stopping the run), or until SIGTERM, SIGHUP or `options.cancel` (which
/// interrupt a live run). The terminal is restored in every case, including a panic.
pub async fn run(
    events: mpsc::Receiver<EngineEvent>,
    commands: mpsc::UnboundedSender<Command>,
    options: TuiOptions,
) -> anyhow::Result<()> {
    let make = |w, h| App::new(&options, w, h);
    run_app(make, events, &commands, &options, None).await?;
    Ok(())
}

/// The console's one way to own the terminal, for a run and for `golive monitor` alike: the
/// terminal guard, SIGTERM, SIGHUP, `options.cancel` and an optional deadline, then [`drive`]
/// over the app `make` builds for the terminal's size; returns the app as it ended.
pub(super) async fn run_app(
    make: impl FnOnce(u16, u16) -> App,
    mut events: mpsc::Receiver<EngineEvent>,
    commands: &mpsc::UnboundedSender<Command>,
    options: &TuiOptions,
    deadline: Option<tokio::time::Instant>,
) -> anyhow::Result<App> {
    let mut signals = golive_core::os::Signals::new()?;
    let cancel = options.cancel.clone();
    let shutdown = async move {
        let until = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            name = signals.next() => name,
            () = cancel.cancelled() => "cancelled",
            () = until => "the end of --for",
        }
    };
    let mut guard = terminal::enter()
        .context("cannot take over the terminal for the console (use --headless)")?;
    let size = guard
        .terminal
        .size()
        .context("cannot read the terminal's size")?;
    let mut app = make(size.width, size.height);
    let result = drive(
        &mut guard.terminal,
        &mut app,
        EventStream::new(),
        &mut events,
        commands,
        shutdown,
        options.tick_rate,
    )
    .await;
    drop(guard);
    result.map(|()| app)
}

fn send(app: &mut App, commands: &mpsc::UnboundedSender<Command>) {
    for command in app.take_commands() {
        // A closed channel means the engine is gone; the loop notices on the event side.
        let _ = commands.send(command);
    }
}

/// The loop itself, over any backend and any source of terminal events (tests use `TestBackend`
/// and a channel of keys).
pub async fn drive<B, S, F>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: S,
    events: &mut mpsc::Receiver<EngineEvent>,
    commands: &mpsc::UnboundedSender<Command>,
    shutdown: F,
    tick_rate: Duration,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = &'static str>,
{
    let mut ticker = interval(tick_rate);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::pin!(shutdown);
    let mut engine_open = true;
    let mut draw_now = true;
    let mut changed = false;
    let mut live: Option<Watch> = None;
    loop {
        // After a watch the console polls on its own, so the dashboard stays live through the
        // failure dialog, a rollback and diagnostics, until the operator leaves.
        match (app.live_watch(), live.is_some()) {
            (Some(cfg), false) => match Watch::start(cfg.clone()) {
                Ok(watch) => live = Some(watch),
                Err(e) => tracing::warn!(error = %e, "cannot keep the dashboard live"),
            },
            (None, true) => live = None,
            _ => {}
        }
        if draw_now {
            terminal
                .draw(|frame| view::draw(frame, app))
                .context("cannot draw the console")?;
            draw_now = false;
        }
        send(app, commands);
        if app.should_exit() {
            return Ok(());
        }
        tokio::select! {
            biased;
            reason = &mut shutdown => {
                if app.run.is_live() {
                    let _ = commands.send(Command::Interrupt);
                }
                tracing::info!("console stopped by {reason}");
                return Ok(());
            }
            input = input.next() => match input {
                Some(Ok(Event::Key(key))) => {
                    app.on_key(key);
                    draw_now = true;
                }
                Some(Ok(Event::Resize(width, height))) => {
                    app.resize(width, height);
                    terminal.autoresize().context("cannot resize the console")?;
                    draw_now = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("cannot read the terminal"),
                None => {
                    if app.run.is_live() {
                        let _ = commands.send(Command::Interrupt);
                    }
                    return Ok(());
                }
            },
            _ = ticker.tick() => {
                draw_now = app.tick(Instant::now()) || changed;
                changed = false;
            }
            snapshot = next_live(&mut live), if live.is_some() => {
                app.live_snapshot(snapshot);
                changed = true;
            }
            first = events.recv(), if engine_open => {
                engine_open = apply_queued(app, events, first);
                changed = true;
            }
        }
    }
}

/// The live poller's next snapshot (never, without one).
async fn next_live(live: &mut Option<Watch>) -> Snapshot {
    match live {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}
