//! What each step will do, exactly, with secrets masked: the plan (`golive plan`), the previews
//! the console shows, and the target a destructive step's confirmation names.

use std::fmt::Write;

use crate::lockprofile::LockProfile;
use crate::pg::Dsn;
use crate::runbook::{FlagsProvider, Runbook, Step, StepKind, Vars};

/// The database or host a step acts on: what is shown and what must be typed to confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `user@host:port/db` or a URL, redacted.
    pub shown: String,
    /// What the operator types: the database's name (with the environment in production).
    pub typed: String,
}

/// The target of `step`, if it names one (directly, through `target`, or the runbook's lock).
pub fn target(step: &Step, runbook: &Runbook, vars: &Vars) -> Option<Target> {
    let var = match &step.kind {
        StepKind::Sql(s) => Some(s.database.as_str()),
        StepKind::VerifyRls(s) => Some(s.database.as_str()),
        StepKind::Flags(_) => match &runbook.flags {
            Some(FlagsProvider::Sql { database, .. }) => Some(database.as_str()),
            _ => None,
        },
        _ => None,
    }
    .or(step.target.as_deref())
    .or(runbook.lock.as_deref())?;
    let value = vars.get(var).filter(|v| !v.is_empty())?;
    let (shown, name) = match Dsn::parse(value) {
        Ok(dsn) => (dsn.target(), dsn.dbname()),
        Err(_) => {
            let shown = vars.redactor().redact(value).into_owned();
            let host = shown
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split(['/', '?']).next())
                .map(|h| h.rsplit('@').next().unwrap_or(h).to_string())
                .unwrap_or_else(|| shown.clone());
            (shown, host)
        }
    };
    let typed = match &runbook.environment {
        Some(env) => format!("{env}/{name}"),
        None => name,
    };
    Some(Target { shown, typed })
}

/// Exactly what `step` will run, secrets masked.
pub fn preview(step: &Step, runbook: &Runbook, vars: &Vars) -> String {
    let r = vars.redactor();
    let db = |var: &str| {
        let shown = vars
            .get(var)
            .and_then(|v| Dsn::parse(v).ok())
            .map(|d| d.target())
            .unwrap_or_else(|| format!("${{{var}}}"));
        format!("{shown} ({var})")
    };
    let text = match &step.kind {
        StepKind::Shell(s) => format!("$ {}", s.run.trim()),
        StepKind::Sql(s) => {
            let mut out = format!(
                "-- on {}, {}{}\n",
                db(&s.database),
                if s.transaction {
                    "in one transaction"
                } else {
                    "without a transaction"
                },
                s.file
                    .as_ref()
                    .map(|f| format!(", file {}", f.display()))
                    .unwrap_or_default()
            );
            out.push_str(vars.interpolate(&s.sql).trim());
            if let Some(e) = &s.expect {
                let mut want = Vec::new();
                if let Some(n) = e.rows {
                    want.push(format!("{n} row(s)"));
                }
                if let Some(n) = e.min_rows {
                    want.push(format!("at least {n} row(s)"));
                }
                if let Some(v) = &e.value {
                    want.push(format!("value `{v}`"));
                }
                let _ = write!(out, "\n-- expect: {}", want.join(", "));
            }
            out
        }
        StepKind::Http(h) => {
            let mut out = format!("{} {}", h.method, vars.interpolate(&h.url));
            for (k, v) in &h.headers {
                let _ = write!(out, "\n{k}: {}", vars.interpolate(v));
            }
            if let Some(b) = &h.body {
                let _ = write!(out, "\n\n{}", vars.interpolate(b));
            }
            let e = &h.expect;
            let mut want = vec![if e.status.is_empty() {
                "2xx".to_string()
            } else {
                format!("status {:?}", e.status)
            }];
            if let Some(root) = &e.json_root {
                want.push(format!("JSON root {root}"));
            }
            if !e.json_keys.is_empty() {
                want.push(format!("keys {}", e.json_keys.join(", ")));
            }
            if !e.headers.is_empty() {
                want.push(format!("headers {}", e.headers.join(", ")));
            }
            let _ = write!(out, "\n# expect: {}", want.join("; "));
            out
        }
        StepKind::Gate(g) => match &g.rehearse {
            Some(run) => format!(
                "{}\nin a rehearsal, once confirmed, the sandbox runs: {run}",
                g.instructions.trim()
            ),
            None => g.instructions.trim().to_string(),
        },
        StepKind::Flags(f) => {
            let flags: Vec<String> = f
                .set
                .iter()
                .map(|(n, on)| format!("{n} = {}", if *on { "on" } else { "off" }))
                .collect();
            let via = match &runbook.flags {
                Some(FlagsProvider::Sql {
                    database, table, ..
                }) => {
                    format!("table {table} on {}, in one transaction", db(database))
                }
                Some(FlagsProvider::Http { method, url, .. }) => {
                    format!("{method} {}", vars.interpolate(url))
                }
                Some(FlagsProvider::Shell { run }) => format!("$ {run}"),
                None => "no [flags] provider".to_string(),
            };
            format!("set {} via {via}", flags.join(", "))
        }
        StepKind::VerifyRls(v) => format!(
            "audit tenant isolation on {} for role {}{} ({}){}",
            db(&v.database),
            v.role,
            v.app_database
                .as_deref()
                .map(|a| format!(", logging in as it via {}", db(a)))
                .unwrap_or_default(),
            if v.static_only {
                "catalog checks only, no probe"
            } else {
                "read-only: probes run in transactions that are rolled back"
            },
            if v.allow.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = v.allow.iter().map(|a| a.name()).collect();
                format!("; accepting {} findings", names.join(", "))
            }
        ),
        StepKind::VerifyApi(v) => format!(
            "check the Catalog API v2 contract at {} for tenants {}",
            vars.interpolate(&v.app_url),
            v.tenants
                .iter()
                .map(|t| vars.interpolate(t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StepKind::Monitor(m) if m.baseline => format!(
            "measure the baseline for {}{}, for the later watches to compare against; a watch \
             that sees nothing (a source that never answers, a panel with no data) asks a person",
            vars.interpolate(&m.duration),
            m.before
                .as_deref()
                .map(|b| format!(" before {b}"))
                .unwrap_or_default()
        ),
        StepKind::Monitor(m) => format!(
            "watch the dashboard for {}; a threshold breached for several refreshes fails the \
             step, a watch that sees nothing (a source that never answers, a panel with no data) \
             asks a person",
            vars.interpolate(&m.duration)
        ),
    };
    r.redact(&text).into_owned()
}

/// The whole plan as text: every step in order with id, kind, destructive mark and preview;
/// under each SQL step its lock-hazard lint findings, and under each step the locks it took in
/// `rehearsed`, the last passed rehearsal's lock profile. `wave`: the fleet wave a target runs
/// in, whose name confirms its destructive steps (once for the wave) instead of the target's.
pub fn render(
    runbook: &Runbook,
    vars: &Vars,
    missing: &[String],
    rehearsed: Option<&LockProfile>,
    wave: Option<&str>,
) -> String {
    let findings = crate::lint::lint_runbook(runbook);
    let mut out = String::new();
    let _ = writeln!(out, "Plan: {}", runbook.name);
    if let Some(env) = &runbook.environment {
        let _ = writeln!(out, "Environment: {env}");
    }
    if let Some(lock) = &runbook.lock {
        let _ = writeln!(out, "Go-live lock: on the database in {lock}");
    }
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "Not set in this environment (shown as ${{NAME}}): {}",
            missing.join(", ")
        );
    }
    let sections = std::iter::once(("Steps".to_string(), None, &runbook.steps)).chain(
        runbook
            .rollbacks
            .iter()
            .map(|p| {
                (
                    format!("Rollback `{}`: {}", p.id, p.title),
                    Some(p.id.as_str()),
                    &p.steps,
                )
            })
            .chain(runbook.diagnostics.iter().map(|p| {
                (
                    format!("Diagnostic `{}`: {}", p.id, p.title),
                    Some(p.id.as_str()),
                    &p.steps,
                )
            })),
    );
    for (title, procedure, steps) in sections {
        let _ = writeln!(out, "\n== {title}");
        for (i, step) in steps.iter().enumerate() {
            let mark = if step.destructive {
                "  DESTRUCTIVE"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "\n{:>2}. {} [{}]{mark}",
                i + 1,
                step.id,
                step.kind_name()
            );
            let _ = writeln!(out, "    {}", step.title);
            if let Some(t) = target(step, runbook, vars).filter(|_| step.destructive) {
                let how = match wave {
                    Some(w) => format!("confirmed once for {w} by typing `{w}`"),
                    None => format!("confirm by typing `{}`", t.typed),
                };
                let _ = writeln!(out, "    target: {} ({how})", t.shown);
            }
            if !step.requires.is_empty() {
                let _ = writeln!(out, "    requires: {}", step.requires.join(", "));
            }
            for line in preview(step, runbook, vars).lines() {
                let _ = writeln!(out, "    │ {line}");
            }
            let qualified = crate::runbook::qualified_id(procedure, &step.id);
            for f in findings.iter().filter(|f| f.step == qualified) {
                let _ = writeln!(out, "    lint: {}", f.short());
            }
            if let Some(rehearsed) = rehearsed {
                if let Some(locks) = rehearsed.step(&qualified) {
                    let _ = writeln!(out, "    rehearsal locks: {}", locks.summary());
                } else if let Some((_, ms)) = rehearsed.unseen.iter().find(|(s, _)| *s == qualified)
                {
                    let _ = writeln!(out, "    rehearsal locks: {}", rehearsed.unseen_text(*ms));
                }
            }
        }
    }
    out
}
