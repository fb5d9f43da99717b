//! The pause before a wave: with a `[monitor]` table, a watch of every target already live
//! ([`super::watch`]) that must pass before the wave starts; without one, a plain wait. Either
//! counts down each second; either is journaled (`pause_started`, each `target_watched`,
//! `pause_finished`), and a pause that did not pass, or never finished, runs again on `--resume`.

use std::time::Duration;

use super::driver::{Driver, WaveEnd};
use super::events::{FleetCommand, FleetEvent};
use super::journal::FleetEntry;
use super::watch::{FleetWatch, Said, TargetVerdict, target_config};
use crate::monitor::verdict::VerdictKind;

impl Driver {
    /// The pause before wave `next`: passed, halted (a live target's watch did not pass) or
    /// interrupted.
    pub(super) async fn pause(&mut self, next: usize) -> WaveEnd {
        let before = self.config.waves[next].name.clone();
        if self.config.pause.is_zero() || self.passed_pauses.contains(&before) {
            return WaveEnd::Passed;
        }
        let live: Vec<usize> = self.config.waves[..next]
            .iter()
            .flat_map(|w| w.targets.iter().copied())
            .collect();
        let watching = self.config.runbook.monitor.is_some();
        let started = self.record(FleetEntry::PauseStarted {
            before: before.clone(),
            watched: if watching {
                self.names(&live)
            } else {
                Vec::new()
            },
            pause_ms: u64::try_from(self.config.pause.as_millis()).unwrap_or(u64::MAX),
        });
        if !started {
            return WaveEnd::Interrupted;
        }
        let end = if watching {
            self.watch(next, &live).await
        } else {
            self.wait(next).await
        };
        let passed = matches!(end, WaveEnd::Passed);
        if !matches!(end, WaveEnd::Interrupted)
            && !self.record(FleetEntry::PauseFinished { before, passed })
        {
            return WaveEnd::Interrupted;
        }
        end
    }

    /// The plain wait before wave `next`.
    async fn wait(&mut self, next: usize) -> WaveEnd {
        let end = tokio::time::Instant::now() + self.config.pause;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return WaveEnd::Passed;
            }
            self.emit(FleetEvent::Pause {
                next,
                left,
                watching: false,
            })
            .await;
            tokio::select! {
                () = tokio::time::sleep(left.min(Duration::from_secs(1))) => {}
                cmd = self.commands.recv(), if self.commands_open => {
                    if self.stop_asked(cmd) {
                        return WaveEnd::Interrupted;
                    }
                }
            }
        }
    }

    /// Whether `cmd` (from the front end) stops the pause: an interrupt, or the front end gone.
    fn stop_asked(&mut self, cmd: Option<FleetCommand>) -> bool {
        match cmd {
            Some(FleetCommand::Answer { .. }) => false,
            Some(FleetCommand::Interrupt) | None => {
                self.commands_open = cmd.is_some();
                self.interrupted = true;
                true
            }
        }
    }

    /// Watch the `live` targets before wave `next` for the pause.
    async fn watch(&mut self, next: usize, live: &[usize]) -> WaveEnd {
        let configs = live
            .iter()
            .map(|&t| {
                let vars = &self.config.targets[t].vars;
                (t, target_config(&self.config.runbook, vars))
            })
            .collect();
        let mut watch = FleetWatch::start(configs, true);
        let deadline = tokio::time::Instant::now() + self.config.pause;
        let mut countdown = tokio::time::interval(Duration::from_secs(1));
        let mut breached = None;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                _ = countdown.tick() => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    self.emit(FleetEvent::Pause { next, left, watching: true }).await;
                }
                said = watch.next() => match said {
                    Some(Said::Refresh { target, snapshot }) => {
                        self.emit(FleetEvent::Watch { target, snapshot }).await;
                    }
                    Some(Said::Breached(verdict)) => {
                        breached = Some(verdict);
                        break;
                    }
                    None => break,
                },
                cmd = self.commands.recv(), if self.commands_open => {
                    if self.stop_asked(cmd) {
                        watch.finish().await;
                        return WaveEnd::Interrupted;
                    }
                }
            }
        }
        let cut_short = breached.as_ref().map(|v| v.target);
        let mut verdicts = watch.finish().await;
        verdicts.extend(breached);
        // The breach first: it is why the fleet halts.
        verdicts.sort_by_key(|v| (Some(v.target) != cut_short, v.target));
        self.judge_watch(next, verdicts, cut_short).await
    }

    /// Journal and send each target's verdict; the first that did not pass halts the fleet.
    async fn judge_watch(
        &mut self,
        next: usize,
        verdicts: Vec<TargetVerdict>,
        cut_short: Option<usize>,
    ) -> WaveEnd {
        let before = self.config.waves[next].name.clone();
        let mut end = WaveEnd::Passed;
        for TargetVerdict { target, verdict } in verdicts {
            let kind = verdict.kind();
            let mut reasons = verdict.reasons();
            if let Some(by) = cut_short.filter(|&b| b != target && kind != VerdictKind::Passed) {
                reasons.push(format!(
                    "the watch was stopped early by `{}`'s breach",
                    self.config.targets[by].name
                ));
            }
            self.record(FleetEntry::TargetWatched {
                before: before.clone(),
                target: self.config.targets[target].name.clone(),
                verdict: kind,
                reasons: reasons.clone(),
            });
            self.emit(FleetEvent::Watched {
                next,
                target,
                verdict: kind,
                reasons: reasons.clone(),
            })
            .await;
            if kind != VerdictKind::Passed && matches!(end, WaveEnd::Passed) {
                end = WaveEnd::Halted {
                    target,
                    reason: format!(
                        "the watch before {before}: {}: {}",
                        kind.label(),
                        reasons.join("; ")
                    ),
                    refused: false,
                };
            }
        }
        end
    }
}
