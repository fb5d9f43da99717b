//! What each subcommand does; errors become messages that name the fix and an exit code.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use super::{Cli, Command, RunArgs, VerifyCommand};
use crate::engine::events::EngineEvent;
use crate::engine::events::Outcome;
use crate::engine::{self, EngineConfig, RunMode, Selection};
use crate::headless::{self, HeadlessOptions};
use crate::logging::LogSink;
use crate::runbook::{self, LoadError, Runbook, StepKind, Vars};

/// A process exit code.
pub type ExitCode = i32;

/// Run the parsed command line.
pub async fn dispatch(cli: Cli, log: LogSink) -> ExitCode {
    match cli.command {
        Command::Check { runbook } => check(&runbook),
        Command::Plan { runbook } => plan(&runbook),
        Command::Run(args) => run(args, &log).await,
        Command::Rehearse(args) => super::rehearse::rehearse(args, &log).await,
        Command::Sandbox { scenario } => edge(crate::sandbox::run_sandbox_command(scenario).await),
        Command::Verify(VerifyCommand::Rls(args)) => {
            edge(crate::verify::cli::run_rls_command(args).await)
        }
        Command::Verify(VerifyCommand::Api(args)) => {
            edge(crate::verify::cli::run_api_command(args).await)
        }
        Command::Monitor(args) => edge(crate::monitor::run_monitor_command(args).await),
        Command::Report {
            run_dir,
            format,
            database_url: None,
        } => report(
            crate::report::build(&run_dir).map_err(|e| e.to_string()),
            &format,
        ),
        Command::Report {
            run_dir,
            format,
            database_url: Some(url),
        } => report(
            crate::registry::read::report(&url, &run_dir.to_string_lossy()).await,
            &format,
        ),
        Command::Attach {
            target,
            database_url,
            headless,
            json,
        } => edge(
            crate::attach::attach(crate::attach::AttachArgs {
                target,
                database_url,
                headless,
                json,
            })
            .await,
        ),
        Command::History { database_url, json } => {
            edge(crate::registry::read::history_command(&database_url, json).await)
        }
    }
}

/// An error that reached the command edge: print it, exit 2.
fn edge(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("golive: {e:#}");
        2
    })
}

fn load(path: &Path) -> Result<Runbook, ExitCode> {
    runbook::load(path).map_err(|e| {
        match &e {
            LoadError::Invalid(diags) => {
                for d in diags {
                    eprintln!("{d}");
                }
                eprintln!(
                    "{}: {} problem(s); nothing was run",
                    path.display(),
                    diags.len()
                );
            }
            LoadError::Io { .. } => eprintln!("golive: {e}"),
        }
        2
    })
}

fn check(path: &Path) -> ExitCode {
    let runbook = match load(path) {
        Ok(r) => r,
        Err(code) => {
            // The unset variables too, so one `check` lists everything to fix.
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let unset = runbook::unset_required_vars(path, &text, env_lookup(&[]));
            for d in &unset {
                eprintln!("{d}");
            }
            if !unset.is_empty() {
                eprintln!(
                    "{}: and {} required variable(s) are not set",
                    path.display(),
                    unset.len()
                );
            }
            return code;
        }
    };
    if let Err(missing) = Vars::resolve(&runbook, env_lookup(&[])) {
        for d in &missing {
            eprintln!("{d}");
        }
        eprintln!(
            "{}: valid, but {} required variable(s) are not set",
            path.display(),
            missing.len()
        );
        return 2;
    }
    let vars = Vars::partial(&runbook, env_lookup(&[]));
    let env = |name: &str| std::env::var(name).ok();
    if let Err(e) = crate::monitor::MonitorConfig::from_table(runbook.monitor.as_ref(), &vars, &env)
    {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[monitor"))
            .map_or(1, |i| i + 1);
        eprintln!("{}:{line}:1: {e}", path.display());
        return 2;
    }
    let findings = crate::lint::lint_runbook(&runbook);
    for f in &findings {
        eprintln!("{f}");
    }
    let errors = lint_errors(&findings);
    if errors > 0 {
        eprintln!(
            "{}: {errors} SQL statement(s) PostgreSQL would refuse; nothing was run",
            path.display()
        );
        return 2;
    }
    let destructive = runbook.all_steps().filter(|(_, s)| s.destructive).count();
    println!(
        "{}: ok — `{}`: {} steps ({} destructive, all behind a typed confirmation), {} rollback \
         and {} diagnostic procedure(s)",
        path.display(),
        runbook.name,
        runbook.steps.len(),
        destructive,
        runbook.rollbacks.len(),
        runbook.diagnostics.len()
    );
    if !findings.is_empty() {
        println!(
            "{}: {} lock hazard warning(s) above (they do not fail the check)",
            path.display(),
            findings.len()
        );
    }
    0
}

/// How many lint findings are errors (statements PostgreSQL would refuse).
fn lint_errors(findings: &[crate::lint::Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.severity == crate::lint::Severity::Error)
        .count()
}

fn plan(path: &Path) -> ExitCode {
    let runbook = match load(path) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let vars = Vars::partial(&runbook, env_lookup(&[]));
    let missing: Vec<String> = runbook
        .vars
        .iter()
        .filter(|d| vars.get(&d.name).is_none())
        .map(|d| d.name.clone())
        .collect();
    let rehearsed = crate::lockprofile::rehearsed(path);
    print!(
        "{}",
        crate::plan::render(&runbook, &vars, &missing, rehearsed.as_ref())
    );
    0
}

fn report(built: Result<crate::report::Report, String>, format: &str) -> ExitCode {
    match built {
        Ok(report) if format == "json" => match serde_json::to_string_pretty(&report) {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(e) => {
                eprintln!("golive: {e}");
                1
            }
        },
        Ok(report) => {
            print!("{}", crate::report::markdown(&report));
            0
        }
        Err(e) => {
            eprintln!("golive: {e}");
            2
        }
    }
}

/// Values from `overlay` (a rehearsal's sandbox) first, then the environment.
fn env_lookup(overlay: &[(String, String, bool)]) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        overlay
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone())
            .or_else(|| std::env::var(name).ok())
    }
}

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
async fn run(args: RunArgs, log: &LogSink) -> ExitCode {
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
    let findings = crate::lint::lint_runbook(&runbook);
    if lint_errors(&findings) > 0 {
        for f in findings
            .iter()
            .filter(|f| f.severity == crate::lint::Severity::Error)
        {
            eprintln!("{f}");
        }
        eprintln!("golive: PostgreSQL would refuse the statements above; nothing was run");
        return 2.into();
    }
    let mut vars = match Vars::resolve(&runbook, env_lookup(&overlay)) {
        Ok(v) => v,
        Err(missing) => {
            for d in &missing {
                eprintln!("{d}");
            }
            eprintln!("golive: set the variables above, then run again; nothing was run");
            return 2.into();
        }
    };
    for (name, value, secret) in &overlay {
        vars.set(name, value.clone(), *secret);
    }
    let selection = match (&args.from, &args.only, &args.procedure) {
        (Some(id), _, _) => Selection::From(id.clone()),
        (_, Some(id), _) => Selection::Only(id.clone()),
        (_, _, Some(id)) => Selection::Procedure(id.clone()),
        _ => Selection::All,
    };
    let headless = args.headless || args.json || !std::io::stdout().is_terminal();
    let options = HeadlessOptions {
        json: args.json,
        approve: args.approve.clone(),
        approve_all: args.approve_all,
    };
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
            crate::monitor::config::MonitorConfig::from_table(
                runbook.monitor.as_ref(),
                &vars,
                &|k| std::env::var(k).ok(),
            )
            .ok()
        })
        .flatten();
    let config = EngineConfig {
        runbook,
        vars: vars.clone(),
        selection,
        resume: args.resume,
        mode,
        approved_on_command_line: headless,
        pace,
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
    let outcome = if headless {
        headless::run(handle, options).await
    } else {
        let engine::EngineHandle {
            events,
            commands,
            done,
            ..
        } = handle;
        let options = crate::tui::TuiOptions {
            rehearsal: mode == RunMode::Rehearse,
            live,
            ..crate::tui::TuiOptions::default()
        };
        if let Err(e) = crate::tui::run(events, commands, options).await {
            eprintln!("golive: the console stopped: {e:#}");
        }
        done.await
            .unwrap_or(crate::engine::events::Outcome::Interrupted)
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
        code: outcome.exit_code_of(&exit_for),
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
fn unapproved(runbook: &Runbook, selection: &Selection, options: &HeadlessOptions) -> Vec<String> {
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
