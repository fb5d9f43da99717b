//! The fleet console's event loop: one `tokio::select!` over the terminal's keys, the fleet
//! driver's events (drained, applied, drawn once), a render interval for the spinner, the live
//! targets' own watch once the fleet run is over (the dashboard stays fresh for whoever keeps
//! watching), and SIGTERM/SIGHUP (which interrupt every target). The terminal is given back in
//! every case.

use anyhow::Context;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};

use super::fleet_state::{FleetState, KeyOutcome};
use super::theme::Theme;
use super::{TuiOptions, fleet_view, terminal};
use golive_core::fleet::watch::{FleetWatch, Said};
use golive_core::fleet::{FleetCommand, FleetEvent};
use golive_core::monitor::config::MonitorConfig;

/// Run the fleet console until the fleet run is over and the operator leaves (or quits twice).
/// `live`: each target's `[monitor]` configuration (by index; empty when the runbook has
/// none), to keep the dashboard live once the fleet run is over.
pub async fn run(
    mut events: mpsc::Receiver<FleetEvent>,
    commands: mpsc::UnboundedSender<FleetCommand>,
    options: TuiOptions,
    live: Vec<Option<MonitorConfig>>,
) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot watch for SIGHUP")?;
    let mut guard = terminal::enter()
        .context("cannot take over the terminal for the console (use --headless)")?;
    let theme = Theme::new(!options.no_color);
    let mut state = FleetState::default();
    let mut keys = EventStream::new();
    let mut ticks = interval(options.tick_rate);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(256);
    let mut open = true;
    let mut dirty = true;
    let mut watch: Option<FleetWatch> = None;
    let mut live = Some(live);
    loop {
        if state.finished.is_some()
            && let Some(configs) = live.take()
        {
            let targets: Vec<_> = state
                .live_targets()
                .into_iter()
                .filter_map(|t| Some((t, Ok(configs.get(t)?.clone()?))))
                .collect();
            watch = (!targets.is_empty()).then(|| FleetWatch::start(targets, false));
        }
        if dirty {
            guard
                .terminal
                .draw(|f| fleet_view::draw(f, &state, theme))
                .context("cannot draw")?;
            dirty = false;
        }
        tokio::select! {
            n = events.recv_many(&mut batch, 256), if open => {
                if n == 0 {
                    open = false;
                }
                for event in batch.drain(..) {
                    state.apply(event);
                }
                dirty = true;
            }
            key = keys.next() => match key {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => {
                    match state.key(key) {
                        KeyOutcome::None => {}
                        KeyOutcome::Send(command) => {
                            let _ = commands.send(command);
                        }
                        KeyOutcome::Quit => break,
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("cannot read the terminal"),
                None => break,
            },
            _ = ticks.tick() => dirty |= state.tick(),
            said = next_said(&mut watch), if watch.is_some() => match said {
                Some(Said::Refresh { target, snapshot }) => {
                    state.live_snapshot(target, snapshot);
                    dirty = true;
                }
                Some(Said::Breached(_)) => {}
                None => watch = None,
            },
            _ = term.recv() => {
                let _ = commands.send(FleetCommand::Interrupt);
                break;
            }
            _ = hup.recv() => {
                let _ = commands.send(FleetCommand::Interrupt);
                break;
            }
        }
    }
    drop(guard);
    Ok(())
}

/// What the live targets' watch says next (never, without one).
async fn next_said(watch: &mut Option<FleetWatch>) -> Option<Said> {
    match watch {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}
