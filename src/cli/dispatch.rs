//! From the parsed command line to the command that runs it, and its exit code.

use super::drive::run;
use super::inspect::{check, plan, report};
use super::{Cli, Command, ExitCode, VerifyCommand};
use golive_core::logging::LogSink;

/// Run the parsed command line.
pub async fn dispatch(cli: Cli, log: LogSink) -> ExitCode {
    match cli.command {
        Command::Check { runbook, targets } => check(&runbook, targets.as_deref()),
        Command::Plan { runbook, targets } => plan(&runbook, targets.as_deref()),
        Command::Run(super::RunCommand {
            run: args,
            targets: Some(file),
        }) => super::fleet::run_targets_file(&args, &file, &log).await,
        Command::Run(super::RunCommand { run: args, .. }) => run(args, &log).await,
        Command::Rehearse(args) => super::rehearse::rehearse(args, &log).await,
        Command::Sandbox { scenario } => edge(golive_sandbox::run_sandbox_command(scenario).await),
        Command::Verify(VerifyCommand::Rls(args)) => {
            edge(crate::cli::verify::run_rls_command(args).await)
        }
        Command::Verify(VerifyCommand::Api(args)) => {
            edge(crate::cli::verify::run_api_command(args).await)
        }
        Command::Monitor(args) => edge(crate::cli::monitor::run_monitor_command(args).await),
        Command::Report {
            run_dir,
            format,
            database_url: None,
        } => report(
            golive_core::report::build(&run_dir).map_err(|e| e.to_string()),
            format,
        ),
        Command::Report {
            run_dir,
            format,
            database_url: Some(url),
        } => report(
            golive_core::registry::read::report(&url, &run_dir.to_string_lossy()).await,
            format,
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
            edge(golive_core::registry::read::history_command(&database_url, json).await)
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
