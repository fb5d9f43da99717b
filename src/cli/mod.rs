//! The command line: the public interface scripts and tests rely on (see DESIGN.md). Exit codes:
//! 0 passed, 1 a step or check failed, 2 bad input, 3 refused.

mod dispatch;
mod drive;
mod fleet;
mod input;
mod inspect;
pub mod monitor;
mod rehearse;
pub mod verify;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use dispatch::dispatch;
pub use rehearse::RehearseArgs;

/// A process exit code.
pub type ExitCode = i32;

/// golive: drive a database go-live from a runbook, with confirmations, a crash-safe journal
/// and a post-deploy dashboard.
#[derive(Debug, Parser)]
#[command(name = "golive", version = golive_core::provenance::VERSION, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 all passed, 1 a step or check failed, 2 bad input \
(usage, invalid runbook, missing environment), 3 refused (destructive step not approved, \
go-live lock held by someone else)."
)]
pub struct Cli {
    /// Diagnostics level for the run's golive.log (error, warn, info, debug, trace);
    /// RUST_LOG is used when absent.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a runbook: every problem as file:line:col: message, and missing variables.
    /// With `--targets FILE`, the fleet too: the targets file, each target's variables, the
    /// pause between waves.
    Check {
        /// The runbook.
        #[arg(default_value = "runbook.toml")]
        runbook: PathBuf,
        /// A fleet's targets file (`[[target]]` and `[waves]`), checked against the runbook.
        #[arg(long, value_name = "FILE")]
        targets: Option<PathBuf>,
    },
    /// Dry run: every step in order with its id, kind, destructive mark and exactly what it
    /// would run (secrets masked). Touches nothing. With `--targets FILE`, the fleet's waves and
    /// each target's plan with its own variables.
    Plan {
        /// The runbook.
        #[arg(default_value = "runbook.toml")]
        runbook: PathBuf,
        /// A fleet's targets file: plan every target, wave by wave.
        #[arg(long, value_name = "FILE")]
        targets: Option<PathBuf>,
    },
    /// Drive the runbook: the full-screen console on a terminal, line output otherwise.
    /// With `--targets FILE`, on every target of a fleet, in waves.
    Run(RunCommand),
    /// Rehearse on the built-in sandbox: a throwaway PostgreSQL with the Phase 1 database, the
    /// target app serving its Phase 1 build, and live traffic whose every answer an oracle
    /// judges; the runbook runs as with `golive run` (gates run their `rehearse` command), any
    /// wrong answer fails the rehearsal, then everything is torn down.
    #[command(after_help = golive_sandbox::Scenario::help_text())]
    Rehearse(RehearseArgs),
    /// Start only the sandbox and print its DATABASE_URL, APP_URL and metrics URL (as `export`
    /// lines), until Ctrl-C.
    #[command(after_help = golive_sandbox::Scenario::help_text())]
    Sandbox {
        /// A game-day fault to inject.
        #[arg(long, value_name = "NAME")]
        scenario: Option<String>,
    },
    /// The built-in verifiers: tenant isolation (`rls`) and the Catalog API v2 contract (`api`).
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// The post-deploy dashboard alone, for the on-call: full screen on a terminal;
    /// `--headless --for DURATION --json` prints one JSON snapshot per refresh.
    Monitor(crate::cli::monitor::MonitorArgs),
    /// Report a run's journal as a change record.
    Report {
        /// The run's directory, e.g. .golive/runs/20261126-201500-ab12; with --database-url,
        /// the run's id.
        run_dir: PathBuf,
        /// Markdown for people, JSON for tools.
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// Read the run from the registry in this database instead of a run directory.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// A read-only console on a live run: the checklist, output, questions (shown, not
    /// answerable) and the dashboard, from its run directory on this host or, with
    /// --database-url, from anywhere through the registry. Starts with the run so far, follows
    /// it live, and says when it finished or its driver is gone.
    Attach {
        /// The run's directory (.golive/runs/<run-id>) or a runbook, whose newest live run is
        /// followed (default ./runbook.toml); with --database-url, the run id (default: the
        /// newest unfinished run in that registry).
        #[arg(value_name = "RUN_DIR|RUN_ID")]
        target: Option<String>,
        /// Follow the run through the registry in this database (the runbook's lock database).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Line output, as `golive run --headless` prints it.
        #[arg(long)]
        headless: bool,
        /// One JSON event a line, exactly as `golive run --json` prints them (implies
        /// --headless).
        #[arg(long)]
        json: bool,
    },
    /// Every go-live recorded in a database's registry: run, runbook and sha256, user, host,
    /// mode, start, end, outcome, and who confirmed what.
    History {
        /// The database whose `golive` schema holds the registry (the runbook's lock database).
        #[arg(long, value_name = "URL")]
        database_url: String,
        /// One JSON document (an array of runs).
        #[arg(long)]
        json: bool,
    },
}

/// `golive verify …`.
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Audit tenant isolation (static checks and probes in transactions that are always rolled
    /// back: safe against production). Exit 0 when nothing is fail-open, cross-tenant or broken.
    Rls(crate::cli::verify::RlsArgs),
    /// Check the Catalog API v2 contract for two tenants.
    Api(crate::cli::verify::ApiArgs),
}

/// `golive run`: the flags it shares with `golive rehearse`, and a fleet's targets.
#[derive(Debug, Clone, Args)]
pub struct RunCommand {
    /// Everything `golive rehearse` takes too.
    #[command(flatten)]
    pub run: RunArgs,
    /// Run the runbook on every target of this file, in waves: each `[[target]]` a name and
    /// the variables it sets (`vars = { DATABASE_URL = "…" }`); `[waves] plan = [1, "25%",
    /// "100%"]` (targets live after each wave, counts or shares), `parallel` (targets at once
    /// in a wave), `pause` (the wait between waves). Each target has its own lock and journal
    /// (`.golive/runs/<run-id>/targets/<name>/`); a destructive step is confirmed once per
    /// wave (typed: the wave's name, e.g. `wave-2`; headless: --approve as for one run); the
    /// first target that does not pass halts the fleet before the next wave (exit 1);
    /// `--resume` continues it, skipping the targets that passed.
    /// With --procedure ID: run that rollback on the targets that went live (passed) in the
    /// latest fleet run, all at once, confirmed once for the set.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "only"])]
    pub targets: Option<PathBuf>,
}

/// Flags of `golive run` (and `golive rehearse`).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The runbook.
    #[arg(default_value = "runbook.toml")]
    pub runbook: PathBuf,
    /// Line output even on a terminal.
    #[arg(long)]
    pub headless: bool,
    /// Approve this destructive step or gate to run without a person (repeatable; a
    /// procedure's step as PROCEDURE/STEP). Headless only.
    #[arg(long, value_name = "STEP_ID")]
    pub approve: Vec<String>,
    /// Approve every destructive step and gate. Headless only; read `golive plan` first.
    #[arg(long)]
    pub approve_all: bool,
    /// Start at this step of the main sequence.
    #[arg(long, value_name = "STEP_ID", conflicts_with_all = ["only", "procedure"])]
    pub from: Option<String>,
    /// Run only this step of the main sequence.
    #[arg(long, value_name = "STEP_ID", conflicts_with = "procedure")]
    pub only: Option<String>,
    /// Run a rollback or diagnostic procedure alone.
    #[arg(long, value_name = "ID")]
    pub procedure: Option<String>,
    /// Continue the latest unfinished run of this runbook: finished steps stay finished, an
    /// interrupted step runs again only when confirmed.
    #[arg(long)]
    pub resume: bool,
    /// One JSON event a line (implies --headless).
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    /// Whether the run prints lines instead of the console (`--headless`, `--json`, or no
    /// terminal), and what those lines answer for a person (`--approve`, `--approve-all`).
    pub(crate) fn line_output(&self) -> (bool, crate::headless::HeadlessOptions) {
        use std::io::IsTerminal;
        let headless = self.headless || self.json || !std::io::stdout().is_terminal();
        let options = crate::headless::HeadlessOptions {
            json: self.json,
            approve: self.approve.clone(),
            approve_all: self.approve_all,
        };
        (headless, options)
    }
}

/// How `golive report` renders a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A Markdown change record.
    Md,
    /// The same record as JSON.
    Json,
}
