//! `golive verify rls`: an audit of tenant isolation by row-level security, static (the catalog)
//! and empirical (probes as the application role, always rolled back).

pub mod catalog;
pub mod leakproof;
pub mod leaks;
pub mod leaks_catalog;
pub mod locks;
pub mod paths;
pub mod probes;
pub mod queries;
pub mod statics;
pub mod writes;

use std::time::Instant;

use serde::Serialize;
use tokio_postgres::Client;

use crate::pg;
use crate::verify::findings::{Allowance, accept, findings_section};
use crate::verify::policies::{self, PolicyRow};
use crate::verify::{Finding, Severity, Verdict, VerifyError};
use catalog::{Catalog, ident};
use probes::{PROBES, ProbeCheck, ProbePlan};
use statics::Predicate;

/// What to audit and how to log in.
#[derive(Debug, Clone)]
pub struct RlsOptions {
    /// An owner/admin login that reads the catalog and the ground truth (bypasses RLS).
    pub database_url: String,
    /// A login as the application role; without it the probes `SET ROLE` on the admin login.
    pub app_database_url: Option<String>,
    /// The application role.
    pub role: String,
    /// Two tenants to probe; empty means: the two found in the most tenant tables.
    pub tenants: Vec<String>,
    /// Tenant tables beyond those with the tenant column (`schema.table` or `table`).
    pub tables: Vec<String>,
    /// The tenant column.
    pub tenant_column: String,
    /// The setting that carries the tenant.
    pub tenant_setting: String,
    /// Blocking severities the operator accepts (`--allow fail-noisy`).
    pub allow: Vec<Allowance>,
    /// Run the catalog checks alone: no probe, no query on the tenants' rows.
    pub static_only: bool,
}

impl RlsOptions {
    /// Defaults: role `app_user`, column `tenant_id`, setting `app.tenant_id`, tenants from the data.
    pub fn new(database_url: impl Into<String>) -> Self {
        RlsOptions {
            database_url: database_url.into(),
            app_database_url: None,
            role: "app_user".into(),
            tenants: Vec::new(),
            tables: Vec::new(),
            tenant_column: "tenant_id".into(),
            tenant_setting: "app.tenant_id".into(),
            allow: Vec::new(),
            static_only: false,
        }
    }
}

/// The audit's result.
#[derive(Debug, Clone, Serialize)]
pub struct RlsReport {
    /// The admin login (`user@host:port/db`).
    pub target: String,
    /// How the probes logged in.
    pub probes_as: String,
    /// The application role.
    pub role: String,
    /// Tenant A and B.
    pub tenants: Vec<String>,
    /// The tenant tables audited.
    pub tables: Vec<String>,
    /// The policy inspector's rows.
    pub policies: Vec<PolicyRow>,
    /// Every probe's result (none with `--static-only`).
    pub probes: Vec<ProbeCheck>,
    /// The severities the operator accepted (`--allow`).
    pub allowed: Vec<Allowance>,
    /// What is wrong, worst first.
    pub findings: Vec<Finding>,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Always true: nothing was changed (every probe was rolled back).
    pub read_only: bool,
    /// How long the audit took.
    pub elapsed_ms: u128,
}

/// How the report names the probes' login with `--static-only`.
pub const STATIC_ONLY: &str = "none (--static-only: catalog checks alone)";

/// The read-only statement printed with every report.
pub const READ_ONLY: &str =
    "read-only: every probe ran in a transaction that was rolled back; nothing was changed";

impl RlsReport {
    /// The report for people: header, policies, probes, findings, verdict.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("golive verify rls: role {} on {}", self.role, self.target),
            READ_ONLY.to_string(),
            format!("probes as: {}", self.probes_as),
            format!("tenants: A = {}, B = {}", self.tenant(0), self.tenant(1)),
        ];
        if !self.allowed.is_empty() {
            let names: Vec<&str> = self.allowed.iter().map(|a| a.name()).collect();
            out.push(format!(
                "accepted by the operator: {} (reported, not blocking)",
                names.join(", ")
            ));
        }
        out.extend([String::new(), "Policies".to_string()]);
        out.extend(policies::text(&self.policies));
        out.push(String::new());
        out.push("Probes".to_string());
        for table in &self.tables {
            let mine: Vec<&ProbeCheck> = self.probes.iter().filter(|p| &p.table == table).collect();
            let run = mine.iter().filter(|p| p.passed.is_some()).count();
            let ok = mine.iter().filter(|p| p.passed == Some(true)).count();
            let failed: Vec<&str> = mine
                .iter()
                .filter(|p| p.passed == Some(false))
                .map(|p| p.probe)
                .collect();
            let head = if failed.is_empty() {
                "ok  ".to_string()
            } else {
                format!("FAIL {};", failed.join(", "))
            };
            let unsure: Vec<&str> = self
                .findings
                .iter()
                .filter(|f| &f.subject == table && f.severity == Severity::Inconclusive)
                .map(|f| f.check.as_str())
                .collect();
            let unsure = if unsure.is_empty() {
                String::new()
            } else {
                format!("; INCONCLUSIVE {}", unsure.join(", "))
            };
            out.push(format!("  {table:<32} {head} {ok}/{run} passed{unsure}"));
        }
        for (id, what) in PROBES {
            out.push(format!("    {id:<16} {what}"));
        }
        out.push(String::new());
        let mut findings = self.findings.clone();
        out.extend(findings_section(&mut findings, &self.scope()));
        out
    }

    fn tenant(&self, i: usize) -> &str {
        self.tenants.get(i).map(String::as_str).unwrap_or("-")
    }

    fn scope(&self) -> String {
        let run = self.probes.iter().filter(|p| p.passed.is_some()).count();
        format!(
            "{} tables, {} policies, {run} probes, {} ms",
            self.tables.len(),
            self.policies
                .iter()
                .filter(|p| p.policy != "(none)")
                .count(),
            self.elapsed_ms
        )
    }

    /// One line: the verdict and counts (the step's summary).
    pub fn summary(&self) -> String {
        crate::verify::findings::verdict_line(&self.findings, &self.scope())
    }
}

fn query_error(what: &str, target: &str) -> impl Fn(String) -> VerifyError {
    let (what, target) = (what.to_string(), target.to_string());
    move |reason| VerifyError::Query {
        what: what.clone(),
        target: target.clone(),
        reason,
    }
}

/// Audit tenant isolation. Never changes data or schema.
pub async fn audit(options: &RlsOptions) -> Result<RlsReport, VerifyError> {
    let started = Instant::now();
    if !queries::valid_setting(&options.tenant_setting) {
        return Err(VerifyError::Input(format!(
            "tenant setting {:?} is not a custom setting name like app.tenant_id",
            options.tenant_setting
        )));
    }
    let admin = pg::connect(&options.database_url, "golive verify rls")
        .await
        .map_err(|source| VerifyError::Connect {
            what: "the admin login (--database-url)",
            source,
        })?;
    let target = admin.target.clone();
    let catalog = catalog::read(
        &admin.client,
        &options.role,
        &options.tenant_column,
        &options.tables,
    )
    .await
    .map_err(query_error("reading the catalog", &target))?;
    if catalog.role.is_none() {
        return Err(VerifyError::RoleNotFound(options.role.clone()));
    }
    if let Some(missing) = catalog.missing.first() {
        return Err(VerifyError::Input(format!(
            "table {missing:?} (named as a tenant table) does not exist on {target}; fix the name"
        )));
    }
    if catalog.tables.is_empty() {
        return Err(VerifyError::NoTenantTables(options.tenant_column.clone()));
    }
    let pred = Predicate {
        column: &options.tenant_column,
        setting: &options.tenant_setting,
    };
    let mut findings = paths::role_findings(&catalog, &pred);
    for t in &catalog.tables {
        findings.extend(statics::table_findings(t, &options.role, &pred));
    }
    findings.extend(paths::bypass_findings(&catalog, &options.role));
    let qualified: Vec<String> = catalog.tables.iter().map(|t| t.qualified()).collect();
    let hidden = leaks_catalog::read(&admin.client, &options.role, &qualified)
        .await
        .map_err(query_error("reading the catalog", &target))?;
    findings.extend(leaks::findings(
        &hidden,
        &catalog.tables,
        &options.role,
        &pred,
    ));

    let (probes_as, tenants, checks) = if options.static_only {
        (STATIC_ONLY.to_string(), options.tenants.clone(), Vec::new())
    } else {
        let (probes_as, tenants, outcome) =
            probe(options, &admin.client, &target, &catalog, &hidden.leakproof).await?;
        findings.extend(outcome.findings);
        (probes_as, tenants, outcome.checks)
    };
    if options.app_database_url.is_none() && !options.static_only {
        findings.push(Finding::new(
            format!("role {}", options.role),
            Severity::Warning,
            "set-role",
            "the probes used SET ROLE on the admin login: the role's login-time settings were not covered",
            "pass --app-database-url with a login as the application role",
        ));
    }
    findings.sort_by_key(|f| f.severity);
    accept(&mut findings, &options.allow);
    Ok(RlsReport {
        target,
        probes_as,
        role: options.role.clone(),
        tenants,
        tables: catalog.tables.iter().map(|t| t.display()).collect(),
        policies: policies::rows(&catalog.tables),
        probes: checks,
        allowed: options.allow.clone(),
        verdict: Verdict::of(&findings),
        findings,
        read_only: true,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

/// Pick the tenants, read the ground truth, log in as the role and run the probes.
async fn probe(
    options: &RlsOptions,
    admin: &Client,
    target: &str,
    catalog: &Catalog,
    leakproof: &[leaks_catalog::Leakproof],
) -> Result<(String, Vec<String>, probes::ProbeOutcome), VerifyError> {
    let tables: Vec<&catalog::Table> = catalog
        .tables
        .iter()
        .filter(|t| t.has_tenant_column)
        .collect();
    admin
        .batch_execute(&format!(
            "SET row_security = off; {}",
            locks::session_settings()
        ))
        .await
        .map_err(|e| query_error("SET row_security = off", target)(pg::describe(&e)))?;
    let no_bypass = |e: String| {
        let hint = if e.contains("row-level security") {
            "; --database-url must be a login that bypasses row-level security (superuser or BYPASSRLS)"
        } else {
            ""
        };
        query_error("reading the tenants' rows", target)(format!("{e}{hint}"))
    };
    let tenants = if options.tenants.is_empty() {
        queries::pick_tenants(admin, &tables, &options.tenant_column)
            .await
            .map_err(no_bypass)?
    } else {
        options.tenants.clone()
    };
    let [a, b] = tenants.as_slice() else {
        return Err(VerifyError::Tenants(format!(
            "need two tenants for the probes, have {}; pass --tenants A,B",
            tenants.len()
        )));
    };
    let lit =
        |t: &str| queries::uuid_literal(t).ok_or_else(|| VerifyError::BadTenant(t.to_string()));
    let (a, b) = (lit(a)?, lit(b)?);
    let truth = queries::truth(admin, &tables, &options.tenant_column, &a, &b)
        .await
        .map_err(no_bypass)?;
    let (mut app, probes_as) = match &options.app_database_url {
        Some(url) => {
            let s = pg::connect(url, "golive verify rls")
                .await
                .map_err(|source| VerifyError::Connect {
                    what: "the application login (--app-database-url)",
                    source,
                })?;
            let who = format!("{} (its own login)", s.target);
            (s, who)
        }
        None => {
            let s = pg::connect(&options.database_url, "golive verify rls")
                .await
                .map_err(|source| VerifyError::Connect {
                    what: "the admin login (--database-url)",
                    source,
                })?;
            s.client
                .batch_execute(&format!("SET ROLE {}", ident(&options.role)))
                .await
                .map_err(|e| {
                    query_error(&format!("SET ROLE {}", options.role), target)(format!(
                        "{}; pass --app-database-url, or GRANT {} TO the admin login",
                        pg::describe(&e),
                        options.role
                    ))
                })?;
            let who = format!(
                "SET ROLE {} on {} (login-time settings not covered)",
                options.role, s.target
            );
            (s, who)
        }
    };
    let app_pid: i32 = app
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| query_error("SELECT pg_backend_pid()", &app.target)(pg::describe(&e)))?;
    let plan = ProbePlan {
        tables,
        truth,
        column: &options.tenant_column,
        setting: &options.tenant_setting,
        a,
        b,
        admin,
        app_pid,
    };
    let mut outcome = probes::run(&app.client, &plan)
        .await
        .map_err(query_error("probing as the application role", &app.target))?;
    if !leakproof.is_empty() {
        let leak_plan = leakproof::LeakPlan {
            admin,
            tables: &catalog.tables,
            column: &options.tenant_column,
            set_a: format!(
                "SELECT set_config('{}', {}, true)",
                options.tenant_setting, plan.a
            ),
            b: &plan.b,
        };
        let leaks = leakproof::probe(&mut app, &leak_plan, leakproof).await;
        outcome.findings.extend(leaks);
    }
    let login = app.client.query_one("SELECT current_user::text", &[]).await;
    if let Ok(row) = login
        && let Ok(user) = row.try_get::<_, String>(0)
        && user != options.role
    {
        outcome.findings.push(Finding::new(
            format!("role {}", options.role),
            Severity::Warning,
            "app-login",
            format!(
                "the application login is {user}, not {}: the probes tested {user}",
                options.role
            ),
            "pass --role with the role the application logs in as",
        ));
    }
    Ok((probes_as, tenants.clone(), outcome))
}
