//! The validated runbook: what `runbook.toml` says, with every reference checked.
//!
//! Strings that may carry `${VAR}` references are kept as written; [`crate::runbook::Vars`]
//! interpolates them when a step runs or is planned.

use std::path::PathBuf;
use std::time::Duration;

/// A whole runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    /// Where it was read from.
    pub path: PathBuf,
    /// The directory relative paths (`file = …`) are resolved against.
    pub base_dir: PathBuf,
    /// `[runbook] name`.
    pub name: String,
    /// `[runbook] description`.
    pub description: Option<String>,
    /// `[runbook] environment`, e.g. `production`: framed in red and typed into confirmations.
    pub environment: Option<String>,
    /// `[runbook] lock`: the variable naming the database the go-live lock is taken on.
    pub lock: Option<String>,
    /// `[runbook] registry` (default true): record the run in the lock database's `golive`
    /// schema.
    pub registry: bool,
    /// `[notify]`: post to a webhook when a person is needed and when the run ends.
    pub notify: Option<super::Notify>,
    /// `[vars]`, in the order written.
    pub vars: Vec<VarDecl>,
    /// `[flags]`: how feature flags are switched.
    pub flags: Option<FlagsProvider>,
    /// `[[steps]]`, the main sequence.
    pub steps: Vec<Step>,
    /// `[[rollback]]` procedures, run on demand.
    pub rollbacks: Vec<Procedure>,
    /// `[[diagnostics]]` procedures (troubleshooting checks), run on demand.
    pub diagnostics: Vec<Procedure>,
    /// `[monitor]`: the dashboard's sources, panels and thresholds, as written.
    pub monitor: Option<toml::Table>,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
}

/// One `[vars]` entry.
#[derive(Debug, Clone)]
pub struct VarDecl {
    /// The environment variable's name.
    pub name: String,
    /// Must be set (no default).
    pub required: bool,
    /// Used when the environment does not set it; may reference earlier variables.
    pub default: Option<String>,
    /// Never shown: masked everywhere.
    pub secret: bool,
    /// What it is for.
    pub description: Option<String>,
    /// Line of the declaration.
    pub line: usize,
}

/// A procedure run on demand: a rollback or a diagnostic.
#[derive(Debug, Clone)]
pub struct Procedure {
    /// Unique among procedures of its section.
    pub id: String,
    /// What it is.
    pub title: String,
    /// What it will do, in a sentence or two.
    pub description: Option<String>,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// `[a-z0-9-]+`, unique in its sequence.
    pub id: String,
    /// Shown in the checklist.
    pub title: String,
    /// Longer text: why, what to look at.
    pub description: Option<String>,
    /// What it does.
    pub kind: StepKind,
    /// Never runs without a confirmation that names the target.
    pub destructive: bool,
    /// The variable naming the database the step acts on (for the confirmation text), when the
    /// kind does not name one itself.
    pub target: Option<String>,
    /// How long it may run.
    pub timeout: Option<Duration>,
    /// Steps (by id) that must have passed in this run before this one may start.
    pub requires: Vec<String>,
    /// Extra attempts after a failure, before the failure counts.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
    /// Line of the step's table in the file.
    pub line: usize,
}

impl Step {
    /// The kind's name as written in the runbook.
    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// `sh -c run`, variables in the environment.
    Shell(ShellSpec),
    /// SQL over tokio-postgres.
    Sql(SqlSpec),
    /// An HTTP request with expectations.
    Http(HttpSpec),
    /// A manual step: instructions, then the operator confirms.
    Gate(GateSpec),
    /// Feature flags switched through the `[flags]` provider.
    Flags(FlagsSpec),
    /// The tenant-isolation auditor.
    VerifyRls(VerifyRlsSpec),
    /// The Catalog API v2 contract check.
    VerifyApi(VerifyApiSpec),
    /// The post-deploy watch on the dashboard.
    Monitor(MonitorSpec),
}

impl StepKind {
    /// The name used in `kind = "…"`.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Shell(_) => "shell",
            StepKind::Sql(_) => "sql",
            StepKind::Http(_) => "http",
            StepKind::Gate(_) => "gate",
            StepKind::Flags(_) => "flags",
            StepKind::VerifyRls(_) => "verify-rls",
            StepKind::VerifyApi(_) => "verify-api",
            StepKind::Monitor(_) => "monitor",
        }
    }
}

/// Every kind name, for messages.
pub const KIND_NAMES: &[&str] = &[
    "shell",
    "sql",
    "http",
    "gate",
    "flags",
    "verify-rls",
    "verify-api",
    "monitor",
];

/// `kind = "shell"`.
#[derive(Debug, Clone)]
pub struct ShellSpec {
    /// The script, run with `sh -c`.
    pub run: String,
}

/// `kind = "sql"`.
#[derive(Debug, Clone)]
pub struct SqlSpec {
    /// The variable holding the connection string.
    pub database: String,
    /// The SQL text, as written or read from `file`.
    pub sql: String,
    /// `file = …`, when the SQL came from a file (relative to the runbook).
    pub file: Option<PathBuf>,
    /// 1-based (line, column) where the SQL text begins: in the runbook for inline `sql`, in
    /// `file` otherwise (`(1, 1)`). Lint findings are reported from there.
    pub at: (usize, usize),
    /// Run the whole script in one transaction (default true).
    pub transaction: bool,
    /// What the last statement's result must look like.
    pub expect: Option<SqlExpect>,
}

/// Expectations on the rows of a SQL step's last statement.
#[derive(Debug, Clone, Default)]
pub struct SqlExpect {
    /// Exactly this many rows.
    pub rows: Option<u64>,
    /// At least this many rows.
    pub min_rows: Option<u64>,
    /// The first column of the first row, as text (`t`/`f` for booleans).
    pub value: Option<String>,
}

/// `kind = "http"`.
#[derive(Debug, Clone)]
pub struct HttpSpec {
    /// GET, POST, …
    pub method: String,
    /// The URL (may reference variables).
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// What the answer must look like.
    pub expect: HttpExpect,
}

/// Expectations on an HTTP answer.
#[derive(Debug, Clone, Default)]
pub struct HttpExpect {
    /// Accepted statuses (default: any 2xx).
    pub status: Vec<u16>,
    /// The JSON root must be an `array` or an `object`.
    pub json_root: Option<String>,
    /// Keys every item of the root array (or the root object) must carry.
    pub json_keys: Vec<String>,
    /// Headers that must be present.
    pub headers: Vec<String>,
    /// Text the body must contain.
    pub contains: Option<String>,
}

/// `kind = "gate"`.
#[derive(Debug, Clone)]
pub struct GateSpec {
    /// What the operator must do before confirming.
    pub instructions: String,
    /// `rehearse = '…'`: in a rehearsal, the shell command that performs the gate on the sandbox
    /// once it is confirmed (e.g. `echo phase2 > "$SANDBOX_APP_BUILD"` deploys the sandbox app's
    /// Phase 2 build). Run like a shell step; ignored by `golive run`.
    pub rehearse: Option<String>,
}

/// `kind = "flags"`.
#[derive(Debug, Clone)]
pub struct FlagsSpec {
    /// Flag name and the state to set, in the order written.
    pub set: Vec<(String, bool)>,
}

/// `[flags]`: where feature flags live.
#[derive(Debug, Clone)]
pub enum FlagsProvider {
    /// A table `(name text primary key, enabled boolean)` or an `upsert` statement taking
    /// `$1` (name) and `$2` (enabled).
    Sql {
        /// The variable holding the connection string.
        database: String,
        /// The table's name.
        table: String,
        /// Custom statement instead of the default upsert.
        upsert: Option<String>,
    },
    /// One request per flag; `{flag}` and `{enabled}` are replaced in the URL and body.
    Http {
        /// Method (default PUT).
        method: String,
        /// URL template.
        url: String,
        /// Body template.
        body: Option<String>,
        /// Headers.
        headers: Vec<(String, String)>,
    },
    /// One command per flag, with `FLAG` and `ENABLED` (`true`/`false`) in its environment.
    Shell {
        /// The script.
        run: String,
    },
}

/// `kind = "verify-rls"`.
#[derive(Debug, Clone)]
pub struct VerifyRlsSpec {
    /// The variable holding the owner/admin connection string.
    pub database: String,
    /// The variable holding a login as the application role, if any.
    pub app_database: Option<String>,
    /// The application role (default `app_user`).
    pub role: String,
    /// Tenants to probe (may reference variables; empty means: take them from the data).
    pub tenants: Vec<String>,
    /// Extra tenant tables beyond those with the tenant column.
    pub tables: Vec<String>,
    /// The tenant column (default `tenant_id`).
    pub tenant_column: String,
    /// Blocking classes the runbook accepts explicitly (`allow = ["fail-noisy"]`).
    pub allow: Vec<crate::verify::findings::Allowance>,
    /// Catalog checks alone, no probe (`static_only = true`).
    pub static_only: bool,
}

/// `kind = "verify-api"`.
#[derive(Debug, Clone)]
pub struct VerifyApiSpec {
    /// The application's base URL.
    pub app_url: String,
    /// Two tenants to compare (may reference variables).
    pub tenants: Vec<String>,
    /// The tenant header (default `X-Tenant-ID`).
    pub tenant_header: String,
    /// Extra headers on every request (e.g. an opt-in to v2 before the flag flips).
    pub headers: Vec<(String, String)>,
}

/// `kind = "monitor"`.
#[derive(Debug, Clone)]
pub struct MonitorSpec {
    /// How long to watch (may reference a variable, e.g. `${WATCH}`).
    pub duration: String,
    /// `baseline = true`: measure the baseline that later watches of the run compare against
    /// (stored in the run's directory), instead of guarding a change.
    pub baseline: bool,
    /// For a baseline: the id of the step after it in its sequence (the change it is before).
    pub before: Option<String>,
}
