//! One `[[steps]]` table → [`Step`], kind by kind.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::fields::{Table, suggestion};
use super::lines::LineIndex;
use super::model::*;
use super::vars::var_refs;
use crate::verify::findings::Allowance;

/// What step parsing needs to know about the rest of the runbook.
pub struct StepContext<'a> {
    /// Names declared under `[vars]`.
    pub declared: &'a HashSet<String>,
    /// Where relative files are resolved.
    pub base_dir: &'a Path,
    /// Whether `[flags]` is configured.
    pub has_flags: bool,
    /// For line numbers.
    pub lines: &'a LineIndex,
}

const COMMON: &[&str] = &[
    "id",
    "title",
    "kind",
    "description",
    "destructive",
    "target",
    "timeout",
    "requires",
    "retries",
    "retry_delay",
];

/// Parse one step; `earlier` are the steps before it in the same sequence.
pub fn parse_step(
    mut table: Table<'_>,
    ctx: &StepContext<'_>,
    earlier: &mut Vec<String>,
) -> Option<Step> {
    let problems = table.problems();
    let id = table.req_str("id", "\"snapshot\"");
    if let Some(id) = &id {
        table.rename(format!("step `{}`", id.get_ref()));
        let valid = !id.get_ref().is_empty()
            && id
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            problems.add(
                id.span(),
                format!(
                    "step id `{}` must be lowercase letters, digits and dashes, e.g. `rls-deploy`",
                    id.get_ref()
                ),
            );
        }
        if earlier.contains(id.get_ref()) {
            problems.add(
                id.span(),
                format!(
                    "step id `{}` is used twice; ids must be unique",
                    id.get_ref()
                ),
            );
        }
    }
    let title = table.req_str("title", "\"Database snapshot\"");
    let kind_name = table.req_str("kind", "\"shell\"");
    let target = table.str("target");
    if let Some(t) = &target {
        check_declared(&table, ctx, t);
    }
    let requires = table.str_list("requires");
    for r in &requires {
        if !earlier.contains(r.get_ref()) {
            let ids: Vec<&str> = earlier.iter().map(String::as_str).collect();
            let hint = suggestion(r.get_ref(), &ids)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.add(
                r.span(),
                format!(
                    "{} requires `{}`, which is not a step before it{hint}",
                    table.what(),
                    r.get_ref()
                ),
            );
        }
    }
    let common = (
        table.str("description").map(|s| s.into_inner()),
        table.bool("destructive").unwrap_or(false),
        table.duration("timeout"),
        table.uint("retries").unwrap_or(0),
        table
            .duration("retry_delay")
            .unwrap_or(Duration::from_secs(2)),
    );
    let kind = kind_name.and_then(|k| parse_kind(&table, ctx, &k));
    let line = ctx.lines.position(table.span().start).0;
    if let Some(id) = &id {
        earlier.push(id.get_ref().clone());
    }
    if let (Some(kind), false) = (&kind, common.1) {
        let hazards = match kind {
            StepKind::Sql(spec) => crate::guard::sql_hazards(&spec.sql),
            StepKind::Shell(spec) => crate::guard::shell_hazards(&spec.run),
            _ => Vec::new(),
        };
        for hazard in hazards {
            problems.add(
                table.span(),
                format!(
                    "{} {hazard} but is not marked destructive; add `destructive = true` so it \
                     runs only after a typed confirmation",
                    table.what()
                ),
            );
        }
    }
    // With an unknown kind, which keys belong is unknowable: report the kind alone.
    if kind.is_some() {
        table.finish(COMMON);
    }
    let (description, destructive, timeout, retries, retry_delay) = common;
    Some(Step {
        id: id?.into_inner(),
        title: title?.into_inner(),
        description,
        kind: kind?,
        destructive,
        target: target.map(|t| t.into_inner()),
        timeout,
        requires: requires.into_iter().map(|r| r.into_inner()).collect(),
        retries: u32::try_from(retries).unwrap_or(u32::MAX),
        retry_delay,
        line,
    })
}

fn parse_kind(
    table: &Table<'_>,
    ctx: &StepContext<'_>,
    kind: &Spanned<String>,
) -> Option<StepKind> {
    let problems = table.problems();
    Some(match kind.get_ref().as_str() {
        "shell" => StepKind::Shell(ShellSpec {
            run: table
                .req_str("run", "'pg_dump -Fc \"$DATABASE_URL\" -f backup.dump'")?
                .into_inner(),
        }),
        "sql" => StepKind::Sql(parse_sql(table, ctx)?),
        "http" => StepKind::Http(parse_http(table, ctx)?),
        "gate" => StepKind::Gate(GateSpec {
            instructions: table
                .req_str("instructions", "\"Deploy the build, then confirm\"")?
                .into_inner(),
            rehearse: table.str("rehearse").map(Spanned::into_inner),
        }),
        "flags" => {
            if !ctx.has_flags {
                problems.add(
                    kind.span(),
                    "a flags step needs a [flags] table saying where the flags live \
                     (provider = \"sql\" | \"http\" | \"shell\")",
                );
            }
            let Some(set) = table.table("set") else {
                table.missing("set", "{ catalog_api_v2 = true }");
                return None;
            };
            let mut flags = Vec::new();
            for (name, value) in set.entries() {
                match value.get_ref().as_bool() {
                    Some(b) => flags.push((name.into_inner(), b)),
                    None => problems.add(
                        value.span(),
                        format!("flag `{}` must be set to true or false", name.get_ref()),
                    ),
                }
            }
            StepKind::Flags(FlagsSpec { set: flags })
        }
        "verify-rls" => {
            let database = table.req_str("database", "\"DATABASE_URL\"")?;
            check_declared(table, ctx, &database);
            let app_database = table.str("app_database");
            if let Some(a) = &app_database {
                check_declared(table, ctx, a);
            }
            StepKind::VerifyRls(VerifyRlsSpec {
                database: database.into_inner(),
                app_database: app_database.map(|a| a.into_inner()),
                role: table
                    .str("role")
                    .map(|s| s.into_inner())
                    .unwrap_or_else(|| "app_user".into()),
                tenants: interpolated_list(table, ctx, "tenants"),
                tables: table
                    .str_list("tables")
                    .into_iter()
                    .map(|s| s.into_inner())
                    .collect(),
                tenant_column: table
                    .str("tenant_column")
                    .map(|s| s.into_inner())
                    .unwrap_or_else(|| "tenant_id".into()),
                allow: allowances(table),
                static_only: table.bool("static_only").unwrap_or(false),
            })
        }
        "verify-api" => StepKind::VerifyApi(VerifyApiSpec {
            app_url: interpolated(table, ctx, table.req_str("app_url", "\"${APP_URL}\"")?),
            tenants: interpolated_list(table, ctx, "tenants"),
            tenant_header: table
                .str("tenant_header")
                .map(|s| s.into_inner())
                .unwrap_or_else(|| "X-Tenant-ID".into()),
            headers: interpolated_map(table, ctx, "headers"),
        }),
        "monitor" => StepKind::Monitor(MonitorSpec {
            duration: interpolated(table, ctx, table.req_str("duration", "\"10m\"")?),
            baseline: table.bool("baseline").unwrap_or(false),
            before: None,
        }),
        other => {
            let hint = suggestion(other, KIND_NAMES)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            problems.add(
                kind.span(),
                format!(
                    "unknown step kind `{other}`; {hint}expected one of: {}",
                    KIND_NAMES.join(", ")
                ),
            );
            return None;
        }
    })
}

fn parse_sql(table: &Table<'_>, ctx: &StepContext<'_>) -> Option<SqlSpec> {
    let problems = table.problems();
    let database = table.req_str("database", "\"DATABASE_URL\"");
    if let Some(db) = &database {
        check_declared(table, ctx, db);
    }
    let file = table.str("file");
    let inline = table.str("sql");
    let (sql, file, at) = match (file, inline) {
        (Some(_), Some(inline)) => {
            problems.add(
                inline.span(),
                format!("{} has both `file` and `sql`; keep one", table.what()),
            );
            return None;
        }
        (Some(file), None) => {
            let path = ctx.base_dir.join(file.get_ref());
            match std::fs::read_to_string(&path) {
                Ok(text) => (
                    Spanned::new(file.span(), text),
                    Some(file.into_inner().into()),
                    (1, 1),
                ),
                Err(e) => {
                    problems.add(
                        file.span(),
                        format!(
                            "cannot read SQL file {}: {e}; paths are relative to the runbook's folder",
                            path.display()
                        ),
                    );
                    return None;
                }
            }
        }
        (None, Some(inline)) => {
            let at = ctx.lines.string_content_start(inline.span().start);
            (inline, None, at)
        }
        (None, None) => {
            table.missing("sql", "\"SELECT 1\"` or `file = \"assets/sql/x.sql\"");
            return None;
        }
    };
    let sql = interpolated(table, ctx, sql);
    let expect = table.table("expect").map(|e| {
        let spec = SqlExpect {
            rows: e.uint("rows"),
            min_rows: e.uint("min_rows"),
            value: e.str("value").map(|s| s.into_inner()),
        };
        e.finish(&[]);
        spec
    });
    Some(SqlSpec {
        database: database?.into_inner(),
        sql,
        file,
        at,
        transaction: table.bool("transaction").unwrap_or(true),
        expect,
    })
}

fn parse_http(table: &Table<'_>, ctx: &StepContext<'_>) -> Option<HttpSpec> {
    let problems = table.problems();
    let url = interpolated(table, ctx, table.req_str("url", "\"${APP_URL}/healthz\"")?);
    let method = table
        .str("method")
        .map(|s| s.into_inner().to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(&method.as_str()) {
        problems.add(table.span(), format!("unknown HTTP method `{method}`"));
    }
    let body = table.str("body").map(|b| interpolated(table, ctx, b));
    let headers = interpolated_map(table, ctx, "headers");
    let expect = match table.table("expect") {
        Some(e) => {
            let status = match e.uint("status") {
                Some(s) => vec![u16::try_from(s).unwrap_or(0)],
                None => Vec::new(),
            };
            let json_root = e.str("json_root");
            if let Some(root) = &json_root
                && !["array", "object"].contains(&root.get_ref().as_str())
            {
                problems.add(root.span(), "json_root must be \"array\" or \"object\"");
            }
            let spec = HttpExpect {
                status,
                json_root: json_root.map(|s| s.into_inner()),
                json_keys: e
                    .str_list("json_keys")
                    .into_iter()
                    .map(|s| s.into_inner())
                    .collect(),
                headers: e
                    .str_list("headers")
                    .into_iter()
                    .map(|s| s.into_inner())
                    .collect(),
                contains: e.str("contains").map(|s| s.into_inner()),
            };
            e.finish(&[]);
            spec
        }
        None => HttpExpect::default(),
    };
    Some(HttpSpec {
        method,
        url,
        headers,
        body,
        expect,
    })
}

/// `allow = ["fail-noisy"]` on a verify step: each entry must name an [`Allowance`].
fn allowances(table: &Table<'_>) -> Vec<Allowance> {
    let mut out = Vec::new();
    for name in table.str_list("allow") {
        match Allowance::parse(name.get_ref()) {
            Some(a) => out.push(a),
            None => {
                let known: Vec<&str> = Allowance::ALL.iter().map(|a| a.name()).collect();
                table.problems().add(
                    name.span(),
                    format!(
                        "{}: `allow` entry \"{}\" is not a class that can be accepted; expected one of: {}",
                        table.what(),
                        name.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
    }
    out
}

fn check_declared(table: &Table<'_>, ctx: &StepContext<'_>, name: &Spanned<String>) {
    if !ctx.declared.contains(name.get_ref()) {
        table.problems().add(
            name.span(),
            format!(
                "{} names variable `{}`, which is not declared under [vars]; add \
                 `{} = {{ required = true }}` there",
                table.what(),
                name.get_ref(),
                name.get_ref()
            ),
        );
    }
}

/// Check every `${VAR}` in a string that will be interpolated.
fn interpolated(table: &Table<'_>, ctx: &StepContext<'_>, value: Spanned<String>) -> String {
    for (_, name) in var_refs(value.get_ref()) {
        if !ctx.declared.contains(&name) {
            table.problems().add(
                value.span(),
                format!(
                    "{} uses ${{{name}}}, which is not declared under [vars]",
                    table.what()
                ),
            );
        }
    }
    value.into_inner()
}

fn interpolated_list(table: &Table<'_>, ctx: &StepContext<'_>, key: &'static str) -> Vec<String> {
    table
        .str_list(key)
        .into_iter()
        .map(|s| interpolated(table, ctx, s))
        .collect()
}

fn interpolated_map(
    table: &Table<'_>,
    ctx: &StepContext<'_>,
    key: &'static str,
) -> Vec<(String, String)> {
    let span = table.span();
    table
        .string_map(key)
        .into_iter()
        .map(|(k, v)| (k, interpolated(table, ctx, Spanned::new(span.clone(), v))))
        .collect()
}
