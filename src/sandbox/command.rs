//! `golive sandbox`: start the sandbox alone, print its variables as `export` lines, and run
//! until Ctrl-C, SIGTERM or SIGHUP.

use std::time::Instant;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};

use super::{Sandbox, SandboxOptions, Scenario};

/// Run `golive sandbox [--scenario NAME]`; the exit code (0, or 2 for bad input or no
/// PostgreSQL).
pub async fn run_sandbox_command(scenario: Option<String>) -> anyhow::Result<i32> {
    let scenario = match scenario.map(|s| s.parse::<Scenario>()).transpose() {
        Ok(scenario) => scenario,
        Err(e) => {
            eprintln!("golive sandbox: {e}");
            return Ok(2);
        }
    };
    let started = Instant::now();
    let options = SandboxOptions {
        scenario,
        ..SandboxOptions::default()
    };
    let sandbox = match Sandbox::start(&options).await {
        Ok(sandbox) => sandbox,
        Err(e) if e.is_missing_environment() => {
            eprintln!("golive sandbox: {e}");
            return Ok(2);
        }
        Err(e) => return Err(e).context("cannot start the sandbox"),
    };
    // Meant for the user (`eval` them): the connection strings carry their passwords.
    for (name, value, _secret) in sandbox.vars() {
        println!("export {name}={}", shell_quote(&value));
    }
    let with = scenario.map_or(String::new(), |s| format!(" with scenario {s}"));
    eprintln!(
        "# sandbox up in {:.1} s{with}; press Ctrl-C to stop it and remove everything",
        started.elapsed().as_secs_f64()
    );
    let waited = wait_for_stop().await;
    sandbox.shutdown().await;
    waited?;
    eprintln!("# sandbox stopped and removed");
    Ok(0)
}

/// Wait for Ctrl-C, SIGTERM or SIGHUP.
async fn wait_for_stop() -> anyhow::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
        _ = hangup.recv() => {}
    }
    Ok(())
}

/// `value` quoted for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
