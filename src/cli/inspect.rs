//! The commands that read and touch nothing: `check`, `plan` and `report`.

use std::path::Path;

use super::input::{env_lookup, load};
use super::{ExitCode, ReportFormat};
use golive_core::runbook::{self, Vars};

pub(super) fn check(path: &Path, targets: Option<&Path>) -> ExitCode {
    let runbook = match load(path) {
        Ok(r) => r,
        Err(code) => {
            // The unset variables too, so one `check` lists everything to fix.
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let unset = runbook::unset_required_vars(path, &text, env_lookup());
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
    // A fleet's targets give the variables; else the environment must.
    match targets {
        Some(file) => {
            let code = super::fleet::check_targets(&runbook, file);
            if code != 0 {
                return code;
            }
        }
        None => {
            if let Err(missing) = Vars::resolve(&runbook, env_lookup()) {
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
        }
    }
    let vars = Vars::partial(&runbook, env_lookup());
    let env = |name: &str| std::env::var(name).ok();
    if let Err(e) =
        golive_core::monitor::MonitorConfig::from_table(runbook.monitor.as_ref(), &vars, &env)
    {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[monitor"))
            .map_or(1, |i| i + 1);
        eprintln!("{}:{line}:1: {e}", path.display());
        return 2;
    }
    let findings = golive_core::lint::lint_runbook(&runbook);
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
pub(super) fn lint_errors(findings: &[golive_core::lint::Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.severity == golive_core::lint::Severity::Error)
        .count()
}

pub(super) fn plan(path: &Path, targets: Option<&Path>) -> ExitCode {
    let runbook = match load(path) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Some(file) = targets {
        return super::fleet::plan_targets(&runbook, path, file);
    }
    let vars = Vars::partial(&runbook, env_lookup());
    let missing: Vec<String> = runbook
        .vars
        .iter()
        .filter(|d| vars.get(&d.name).is_none())
        .map(|d| d.name.clone())
        .collect();
    let rehearsed = golive_core::lockprofile::rehearsed(path);
    print!(
        "{}",
        golive_core::plan::render(&runbook, &vars, &missing, rehearsed.as_ref(), None)
    );
    0
}

pub(super) fn report(
    built: Result<golive_core::report::Report, String>,
    format: ReportFormat,
) -> ExitCode {
    match built {
        Ok(report) if format == ReportFormat::Json => match serde_json::to_string_pretty(&report) {
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
            print!("{}", golive_core::report::markdown(&report));
            0
        }
        Err(e) => {
            eprintln!("golive: {e}");
            2
        }
    }
}
