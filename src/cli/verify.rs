//! The command edge: `golive verify rls` and `golive verify api` arguments, text or JSON output,
//! and exit codes (0 passed, 1 a blocking finding or the verifier could not run, 2 bad input).

use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use golive_core::verify::VerifyError;
use golive_core::verify::api::{self, ApiOptions};
use golive_core::verify::findings::Allowance;
use golive_core::verify::rls::{self, RlsOptions};

/// `golive verify rls`.
#[derive(Debug, Clone, clap::Args)]
pub struct RlsArgs {
    /// An owner/admin login that bypasses RLS (reads the catalog and the ground truth).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// A login as the application role (without it the probes use SET ROLE, which misses the
    /// role's login-time settings).
    #[arg(long, env = "APP_DATABASE_URL", hide_env_values = true)]
    pub app_database_url: Option<String>,
    /// The application role.
    #[arg(long, default_value = "app_user")]
    pub role: String,
    /// Two tenant ids to probe, `A,B` (default: two found in the data).
    #[arg(long, value_delimiter = ',')]
    pub tenants: Vec<String>,
    /// Extra tenant tables beyond those with the tenant column (repeatable, or comma-separated).
    #[arg(long = "table", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// The tenant column.
    #[arg(long, default_value = "tenant_id")]
    pub tenant_column: String,
    /// The setting the application sets per transaction.
    #[arg(long, default_value = "app.tenant_id")]
    pub tenant_setting: String,
    /// Accept a blocking class of findings explicitly (reported, not failing the verdict):
    /// `fail-noisy` (policies that raise errors without a tenant) or `inconclusive` (probes cut
    /// short by a lock or a timeout). Repeatable or comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = allowance())]
    pub allow: Vec<Allowance>,
    /// Run the catalog checks alone: no probe as the application role, no read of tenant rows.
    #[arg(long)]
    pub static_only: bool,
    /// Print the report as JSON (findings as a list); the same as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// The report's form: `text`, `json`, or `sarif` (SARIF 2.1.0, for code-scanning tools).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How `golive verify rls` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// The report as one JSON document.
    Json,
    /// The findings as a SARIF 2.1.0 log.
    Sarif,
}

/// `golive verify api`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Base URL of the application.
    #[arg(long, env = "APP_URL")]
    pub app_url: String,
    /// Two tenant ids, `A,B`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub tenants: Vec<String>,
    /// The header carrying the tenant.
    #[arg(long, default_value = "X-Tenant-ID")]
    pub tenant_header: String,
    /// Extra header on every request, `Name: value` (repeatable), e.g. `X-Catalog-Version: 2`.
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// Timeout of each request.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print the report as JSON (findings as a list).
    #[arg(long)]
    pub json: bool,
}

/// Parse `Name: value` (or `Name=value`) headers.
pub fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, VerifyError> {
    raw.iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .or_else(|| h.split_once('='))
                .ok_or_else(|| VerifyError::Input(format!("header {h:?} is not `Name: value`")))?;
            Ok((name.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

fn print(lines: Vec<String>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").context("cannot write to stdout")?;
    }
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot encode the report")?;
    print(vec![text])
}

/// Print a verifier's report, as JSON or as its text `lines`; the exit code of its `verdict`.
fn show(
    report: &impl serde::Serialize,
    json: bool,
    lines: Vec<String>,
    verdict: golive_core::verify::Verdict,
) -> anyhow::Result<i32> {
    if json {
        print_json(report)?;
    } else {
        print(lines)?;
    }
    Ok(verdict.exit_code())
}

fn report_error(e: &VerifyError) -> i32 {
    eprintln!(
        "golive verify: {}",
        golive_core::redact::url_passwords(&e.to_string())
    );
    e.exit_code()
}

/// Run `golive verify rls`; returns the exit code.
pub async fn run_rls_command(args: RlsArgs) -> anyhow::Result<i32> {
    let options = RlsOptions {
        database_url: args.database_url,
        app_database_url: args.app_database_url,
        role: args.role,
        tenants: args.tenants,
        tables: args.tables,
        tenant_column: args.tenant_column,
        tenant_setting: args.tenant_setting,
        allow: args.allow,
        static_only: args.static_only,
    };
    let format = if args.json { Format::Json } else { args.format };
    match rls::audit(&options).await {
        Ok(r) if format == Format::Sarif => {
            print_json(&golive_core::verify::sarif::log(
                "golive verify rls",
                &r.findings,
            ))?;
            Ok(r.verdict.exit_code())
        }
        Ok(r) => show(&r, format == Format::Json, r.text_lines(), r.verdict),
        Err(e) => Ok(report_error(&e)),
    }
}

/// Run `golive verify api`; returns the exit code.
pub async fn run_api_command(args: ApiArgs) -> anyhow::Result<i32> {
    let headers = match parse_headers(&args.headers) {
        Ok(h) => h,
        Err(e) => return Ok(report_error(&e)),
    };
    let options = ApiOptions {
        app_url: args.app_url,
        tenants: args.tenants,
        tenant_header: args.tenant_header,
        headers,
        timeout: args.timeout,
        path: api::CATALOG_PATH.into(),
    };
    match api::verify(&options).await {
        Ok(r) => show(&r, args.json, r.text_lines(), r.verdict),
        Err(e) => Ok(report_error(&e)),
    }
}

/// `--allow`'s parser: the allowances by name, listed in `--help` and in the error for any other.
fn allowance() -> impl clap::builder::TypedValueParser<Value = Allowance> {
    use clap::builder::TypedValueParser;
    let names = Allowance::ALL.map(Allowance::name);
    clap::builder::PossibleValuesParser::new(names).try_map(|name: String| {
        Allowance::parse(&name).ok_or_else(|| format!("unknown allowance `{name}`"))
    })
}
