//! `golive sandbox`: start the sandbox alone, print its variables as `export` lines, and run
//! until Ctrl-C, SIGTERM or SIGHUP.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;

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
    // Listen before starting, so a signal that arrives at any moment tears the sandbox down.
    let mut stop = golive_core::os::Signals::new()?;
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
    // Meant for the user (`eval` them): the connection strings carry their passwords. A reader
    // that stopped reading (`| head`) is no reason to stop the sandbox, nor to panic.
    let mut out = std::io::stdout().lock();
    for (name, value, _secret) in sandbox.vars() {
        if writeln!(out, "export {name}={}", shell_quote(&value))
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    drop(out);
    let with = scenario.map_or(String::new(), |s| format!(" with scenario {s}"));
    eprintln!(
        "# sandbox up in {:.1} s{with}; press Ctrl-C to stop it and remove everything",
        started.elapsed().as_secs_f64()
    );
    stop.next().await;
    sandbox.shutdown().await;
    eprintln!("# sandbox stopped and removed");
    Ok(0)
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
