//! `golive run`, and the run part of `golive rehearse`: the engine started on a runbook and driven
//! to its end by the console or the line output.

use std::path::Path;
use std::time::Duration;

use super::input::load;
use super::inspect::lint_errors;
use super::{ExitCode, RunArgs};
use crate::headless::{self, HeadlessOptions};
use golive_core::engine::{self, EngineConfig, Selection};
use golive_core::events::{EngineEvent, Outcome, RunMode};
use golive_core::logging::LogSink;
use golive_core::os::Signals;
use golive_core::runbook::{self, Runbook, StepKind, Vars};

/// A watcher of a run (a rehearsal's traffic oracle): given a way to add events to the stream the
/// front end reads, it starts a task that ends by itself when the run does.
pub(crate) type Observe = Box<
    dyn FnOnce(tokio::sync::mpsc::WeakSender<EngineEvent>) -> tokio::task::JoinHandle<()> + Send,
>;

/// How a run ended: its exit code, and its directory when it got one.
pub(crate) struct RunEnd {
    /// The exit code.
    pub code: ExitCode,
    /// `.golive/runs/<run-id>`, when the run started.
    pub run_dir: Option<std::path::PathBuf>,
    /// How the engine ended it, when it ran.
    pub outcome: Option<Outcome>,
}

impl From<ExitCode> for RunEnd {
    fn from(code: ExitCode) -> Self {
        RunEnd {
            code,
            run_dir: None,
            outcome: None,
        }
    }
}

/// `golive run`.
pub(super) async fn run(args: RunArgs, log: &LogSink) -> ExitCode {
    run_observed(args, RunMode::Run, Vec::new(), log, None, Duration::ZERO)
        .await
        .code
}

/// `golive run`, and the run part of `golive rehearse` (with the sandbox's variables and its
/// oracle watching).
pub(crate) async fn run_observed(
    args: RunArgs,
    mode: RunMode,
    overlay: Vec<(String, String, bool)>,
    log: &LogSink,
    observe: Option<Observe>,
    pace: Duration,
) -> RunEnd {
    let runbook = match load(&args.runbook) {
        Ok(r) => r,
        Err(code) => return code.into(),
    };
    let findings = golive_core::lint::lint_runbook(&runbook);
    if lint_errors(&findings) > 0 {
        for f in findings
            .iter()
            .filter(|f| f.severity == golive_core::lint::Severity::Error)
        {
            eprintln!("{f}");
        }
        eprintln!("golive: PostgreSQL would refuse the statements above; nothing was run");
        return 2.into();
    }
    let vars = match Vars::resolve_over(&runbook, &overlay) {
        Ok(v) => v,
        Err(missing) => {
            for d in &missing {
                eprintln!("{d}");
            }
            eprintln!("golive: set the variables above, then run again; nothing was run");
            return 2.into();
        }
    };
    let selection = match (&args.from, &args.only, &args.procedure) {
        (Some(id), _, _) => Selection::From(id.clone()),
        (_, Some(id), _) => Selection::Only(id.clone()),
        (_, _, Some(id)) => Selection::Procedure(id.clone()),
        _ => Selection::All,
    };
    let (headless, options) = args.line_output();
    if headless && !args.resume {
        let unapproved = unapproved(&runbook, &selection, &options);
        if !unapproved.is_empty() {
            eprintln!(
                "golive: refused: these steps need a person or an approval, and this run is \
                 headless: {}\nRead `golive plan {}`, then add --approve STEP_ID for each (or \
                 --approve-all), or run on a terminal to confirm them one by one. Nothing was run.",
                unapproved.join(", "),
                args.runbook.display()
            );
            return 3.into();
        }
    }
    let exit_for = selection.clone();
    // The console keeps the dashboard live after a watch with the same configuration.
    let live = runbook
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Monitor(_)))
        .then(|| {
            golive_core::monitor::config::MonitorConfig::from_table(
                runbook.monitor.as_ref(),
                &vars,
                &|k| std::env::var(k).ok(),
            )
            .ok()
        })
        .flatten();
    // Caught from before the first step, so a Ctrl-C is never the default action's kill.
    let signals = match headless.then(Signals::new).transpose() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("golive: {e:#}; nothing was run");
            return 2.into();
        }
    };
    let config = EngineConfig {
        runbook,
        vars: vars.clone(),
        selection,
        resume: args.resume,
        mode,
        approved_on_command_line: headless,
        pace,
        place: None,
        halt: None,
    };
    let handle = match engine::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("golive: {e}");
            return e.exit_code().into();
        }
    };
    let watcher = observe.map(|observe| observe(handle.observer.clone()));
    if let Err(e) = log.attach(&handle.run_dir.join("golive.log"), vars.redactor().clone()) {
        eprintln!(
            "golive: cannot write golive.log in {}: {e}",
            handle.run_dir.display()
        );
    }
    tracing::info!(run_dir = %handle.run_dir.display(), "run started");
    let run_dir = handle.run_dir.clone();
    let json = args.json;
    let outcome = if let Some(signals) = signals {
        headless::run(handle, options, signals).await
    } else {
        let engine::EngineHandle {
            events,
            commands,
            done,
            ..
        } = handle;
        let options = golive_tui::TuiOptions {
            rehearsal: mode == RunMode::Rehearse,
            live,
            ..golive_tui::TuiOptions::default()
        };
        if let Err(e) = golive_tui::run(events, commands, options).await {
            eprintln!("golive: the console stopped: {e:#}");
        }
        done.await
            .unwrap_or(golive_core::events::Outcome::Interrupted)
    };
    tracing::info!(?outcome, "run finished");
    if let Some(watcher) = watcher {
        let _ = watcher.await;
    }
    if mode == RunMode::Run {
        let words = farewell(outcome, &run_dir, mode);
        if json {
            eprint!("{words}");
        } else {
            print!("{words}");
        }
    }
    RunEnd {
        code: exit_for.exit_code(outcome),
        run_dir: Some(run_dir),
        outcome: Some(outcome),
    }
}

/// What golive says once a run is over (after the console gave the terminal back, and headless
/// too): how it ended, the way on, where its journal is and how to read it as a change record.
pub(crate) fn farewell(outcome: Outcome, run_dir: &Path, mode: RunMode) -> String {
    let how = match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Aborted => "was aborted",
        Outcome::Refused => "was refused (a confirmation was not given)",
        Outcome::RolledBack => "was rolled back",
        Outcome::Interrupted => "was interrupted",
    };
    let next = match (outcome, mode) {
        (Outcome::Passed, _) => "",
        (_, RunMode::Rehearse) => "; the sandbox went away with it: `golive rehearse` starts over",
        (Outcome::Interrupted, RunMode::Run) => "; `golive run --resume` continues it",
        _ => "",
    };
    let what = match mode {
        RunMode::Run => "run",
        RunMode::Rehearse => "rehearsal",
    };
    let dir = run_dir.display();
    format!(
        "golive: the {what} {how}{next}.\n  run directory: {dir}\n  change record: golive report {dir}\n"
    )
}

/// Destructive steps and gates of the selection that headless approvals do not cover.
pub(super) fn unapproved(
    runbook: &Runbook,
    selection: &Selection,
    options: &HeadlessOptions,
) -> Vec<String> {
    let steps: Vec<(Option<&str>, &runbook::Step)> = match selection {
        Selection::All => runbook.steps.iter().map(|s| (None, s)).collect(),
        Selection::From(id) => runbook
            .steps
            .iter()
            .skip_while(|s| &s.id != id)
            .map(|s| (None, s))
            .collect(),
        Selection::Only(id) => runbook
            .steps
            .iter()
            .filter(|s| &s.id == id)
            .map(|s| (None, s))
            .collect(),
        Selection::Procedure(id) => runbook
            .procedure(id)
            .map(|p| p.steps.iter().map(|s| (Some(p.id.as_str()), s)).collect())
            .unwrap_or_default(),
    };
    steps
        .into_iter()
        .filter(|(_, s)| s.destructive || matches!(s.kind, StepKind::Gate(_)))
        .map(|(p, s)| runbook::qualified_id(p, &s.id))
        .filter(|q| {
            let id = q.rsplit('/').next().unwrap_or(q);
            !options.approves(id, q)
        })
        .collect()
}
