//! `runbook.toml` → [`Runbook`], with every problem reported as `file:line:col: message`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::Digest;
use toml::de::{DeTable, DeValue};

use super::fields::{Problems, Table};
use super::model::{FlagsProvider, Procedure, Runbook, Step, StepKind, VarDecl};
use super::steps::{StepContext, parse_step};
use super::vars::var_refs;
use super::{Diagnostic, LoadError};

/// Read and validate a runbook file.
pub fn load(path: &Path) -> Result<Runbook, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Validate runbook text read from `path` (used for messages and relative files).
pub fn parse(path: &Path, text: &str) -> Result<Runbook, LoadError> {
    let lines = LineIndex::new(text);
    let diag = |(span, message): (std::ops::Range<usize>, String)| {
        let (line, col) = lines.position(span.start);
        Diagnostic {
            file: path.display().to_string(),
            line,
            col,
            message,
        }
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let diags = syntax
            .into_iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                (span, format!("TOML syntax: {}", e.message().trim()))
            })
            .map(diag)
            .collect();
        return Err(LoadError::Invalid(diags));
    }
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let problems = Problems::default();
    let top = Table::new(&problems, root.get_ref(), root.span(), "the runbook".into());
    let runbook = read_runbook(&top, path, &base_dir, &lines);
    top.finish(&[]);
    let mut found = problems.into_inner();
    if found.is_empty()
        && let Some(mut runbook) = runbook
    {
        runbook.sha256 = hex(&sha2::Sha256::digest(text.as_bytes()));
        return Ok(runbook);
    }
    found.sort_by_key(|(span, _)| span.start);
    Err(LoadError::Invalid(found.into_iter().map(diag).collect()))
}

/// The required variables of the runbook text that `lookup` does not set, even when the rest of
/// the runbook is invalid (`golive check` lists both at once). Empty when the TOML itself does
/// not parse.
pub fn unset_required_vars(
    path: &Path,
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let lines = LineIndex::new(text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Vec::new();
    }
    let problems = Problems::default();
    let top = Table::new(&problems, root.get_ref(), root.span(), "the runbook".into());
    read_vars(&top, &lines)
        .iter()
        .filter(|d| d.required && d.default.is_none())
        .filter(|d| lookup(&d.name).is_none_or(|v| v.is_empty()))
        .map(|d| super::vars::unset(path, d))
        .collect()
}

fn read_runbook(
    top: &Table<'_>,
    path: &Path,
    base_dir: &Path,
    lines: &LineIndex,
) -> Option<Runbook> {
    let problems = top.problems();
    let header = top.table("runbook");
    if header.is_none() {
        problems.add(
            0..0,
            "missing [runbook] table; start the file with `[runbook]` and `name = \"…\"`",
        );
    }
    let (name, description, environment, lock_span, registry) = match &header {
        Some(h) => (
            h.req_str("name", "\"Phase 2 go-live\"")
                .map(|s| s.into_inner()),
            h.str("description").map(|s| s.into_inner()),
            h.str("environment").map(|s| s.into_inner()),
            h.str("lock"),
            h.bool("registry").unwrap_or(true),
        ),
        None => (None, None, None, None, true),
    };
    let vars = read_vars(top, lines);
    let declared: HashSet<String> = vars.iter().map(|v| v.name.clone()).collect();
    if let Some(lock) = &lock_span
        && !declared.contains(lock.get_ref())
    {
        problems.add(
            lock.span(),
            format!(
                "lock names `{}`, which is not declared under [vars]; declare it or name the \
                 variable holding the database URL",
                lock.get_ref()
            ),
        );
    }
    if let Some(h) = header {
        h.finish(&[]);
    }
    let flags = top.table("flags").and_then(|t| read_flags(t, &declared));
    let ctx = StepContext {
        declared: &declared,
        base_dir,
        has_flags: flags.is_some(),
        lines,
    };
    let steps = read_sequence(top.tables("steps", "[[steps]]"), &ctx);
    if steps.is_empty() && top.has("steps") {
        // Errors were reported for each table.
    } else if steps.is_empty() {
        problems.add(
            top.span().start..top.span().start,
            "the runbook has no [[steps]]; add at least one",
        );
    }
    let rollbacks = read_procedures(top, "rollback", &ctx);
    let diagnostics = read_procedures(top, "diagnostics", &ctx);
    // Validated by the monitor's own configuration reader (`golive check` runs it).
    let monitor = top.table("monitor").map(|t| to_toml_table(&t));
    let notify = top
        .table("notify")
        .and_then(|t| super::notify::read_notify(t, &declared));
    Some(Runbook {
        path: path.to_path_buf(),
        base_dir: base_dir.to_path_buf(),
        name: name?,
        description,
        environment,
        lock: lock_span.map(|s| s.into_inner()),
        registry,
        notify,
        vars,
        flags,
        steps,
        rollbacks,
        diagnostics,
        monitor,
        sha256: String::new(),
    })
}

fn read_vars(top: &Table<'_>, lines: &LineIndex) -> Vec<VarDecl> {
    let Some(table) = top.table("vars") else {
        return Vec::new();
    };
    let problems = top.problems();
    let mut vars: Vec<VarDecl> = Vec::new();
    for (name, value) in table.entries() {
        let valid = name
            .get_ref()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && name
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            problems.add(
                name.span(),
                format!(
                    "variable `{}` must be an environment variable name: capitals, digits and _ \
                     (e.g. DATABASE_URL)",
                    name.get_ref()
                ),
            );
        }
        let line = lines.position(name.span().start).0;
        let decl = match value.get_ref() {
            DeValue::String(s) => VarDecl {
                name: name.get_ref().clone(),
                required: false,
                default: Some(s.to_string()),
                secret: false,
                description: None,
                line,
            },
            DeValue::Table(t) => {
                let what = format!("variable `{}`", name.get_ref());
                let spec = Table::new(problems, t, value.span(), what);
                let default = spec.str("default").map(|s| s.into_inner());
                let required = spec.bool("required").unwrap_or(false);
                if required && default.is_some() {
                    problems.add(
                        value.span(),
                        format!(
                            "variable `{}` is required and has a default; a default makes it \
                             optional, so drop one of them",
                            name.get_ref()
                        ),
                    );
                }
                let decl = VarDecl {
                    name: name.get_ref().clone(),
                    required,
                    default,
                    secret: spec.bool("secret").unwrap_or(false),
                    description: spec.str("description").map(|s| s.into_inner()),
                    line,
                };
                spec.finish(&[]);
                decl
            }
            _ => {
                problems.add(
                    value.span(),
                    format!(
                        "variable `{}` must be a table like `{{ required = true, secret = true }}` \
                         or a default string",
                        name.get_ref()
                    ),
                );
                continue;
            }
        };
        if let Some(default) = &decl.default {
            for (_, r) in var_refs(default) {
                if !vars.iter().any(|v| v.name == r) {
                    problems.add(
                        value.span(),
                        format!(
                            "the default of `{}` uses ${{{r}}}, which is not declared above it",
                            decl.name
                        ),
                    );
                }
            }
        }
        vars.push(decl);
    }
    vars
}

fn read_flags(table: Table<'_>, declared: &HashSet<String>) -> Option<FlagsProvider> {
    let problems = table.problems();
    let provider = table.req_str("provider", "\"sql\"")?;
    let result = match provider.get_ref().as_str() {
        "sql" => {
            let database = table.req_str("database", "\"DATABASE_URL\"");
            if let Some(db) = &database
                && !declared.contains(db.get_ref())
            {
                problems.add(
                    db.span(),
                    format!("`{}` is not declared under [vars]", db.get_ref()),
                );
            }
            let table_name = table
                .str("table")
                .map(|s| s.into_inner())
                .unwrap_or_else(|| "feature_flags".into());
            if !table_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                problems.add(
                    table.span(),
                    format!("flags table `{table_name}` must be a plain (schema.)name"),
                );
            }
            Some(FlagsProvider::Sql {
                database: database?.into_inner(),
                table: table_name,
                upsert: table.str("upsert").map(|s| s.into_inner()),
            })
        }
        "http" => Some(FlagsProvider::Http {
            method: table
                .str("method")
                .map(|s| s.into_inner())
                .unwrap_or_else(|| "PUT".into()),
            url: table
                .req_str("url", "\"${APP_URL}/admin/flags/{flag}\"")?
                .into_inner(),
            body: table.str("body").map(|s| s.into_inner()),
            headers: table.string_map("headers"),
        }),
        "shell" => Some(FlagsProvider::Shell {
            run: table
                .req_str("run", "\"flagctl set \\\"$FLAG\\\" \\\"$ENABLED\\\"\"")?
                .into_inner(),
        }),
        other => {
            problems.add(
                provider.span(),
                format!("flags provider `{other}` is not one of: sql, http, shell"),
            );
            None
        }
    };
    table.finish(&[]);
    result
}

fn read_sequence(tables: Vec<Table<'_>>, ctx: &StepContext<'_>) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut ids = Vec::new();
    for table in tables {
        if let Some(step) = parse_step(table, ctx, &mut ids) {
            steps.push(step);
        }
    }
    // A baseline names the change it is measured before: the next step.
    let next: Vec<Option<String>> = steps.iter().skip(1).map(|s| Some(s.id.clone())).collect();
    for (step, next) in steps
        .iter_mut()
        .zip(next.into_iter().chain(std::iter::once(None)))
    {
        if let StepKind::Monitor(spec) = &mut step.kind
            && spec.baseline
        {
            spec.before = next;
        }
    }
    steps
}

fn read_procedures(top: &Table<'_>, key: &'static str, ctx: &StepContext<'_>) -> Vec<Procedure> {
    let problems = top.problems();
    let mut out: Vec<Procedure> = Vec::new();
    for mut table in top.tables(key, &format!("[[{key}]]")) {
        let id = table.req_str("id", "\"fast\"");
        if let Some(id) = &id {
            table.rename(format!("[[{key}]] `{}`", id.get_ref()));
            if out.iter().any(|p| &p.id == id.get_ref()) {
                problems.add(
                    id.span(),
                    format!("{key} procedure id `{}` is used twice", id.get_ref()),
                );
            }
        }
        let title = table.req_str("title", "\"Fast rollback: feature flags off\"");
        let description = table.str("description").map(|s| s.into_inner());
        let step_tables = table.tables("steps", &format!("[[{key}.steps]]"));
        if step_tables.is_empty() {
            problems.add(
                table.span(),
                format!("{} has no steps; add [[{key}.steps]] tables", table.what()),
            );
        }
        let steps = read_sequence(step_tables, ctx);
        table.finish(&[]);
        if let (Some(id), Some(title)) = (id, title) {
            out.push(Procedure {
                id: id.into_inner(),
                title: title.into_inner(),
                description,
                steps,
            });
        }
    }
    out
}

fn to_toml_table(table: &Table<'_>) -> toml::Table {
    table
        .entries()
        .into_iter()
        .filter_map(|(k, v)| Some((k.into_inner(), to_toml_value(v.get_ref())?)))
        .collect()
}

fn to_toml_value(value: &DeValue<'_>) -> Option<toml::Value> {
    Some(match value {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            toml::Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).ok()?)
        }
        DeValue::Float(f) => toml::Value::Float(f.as_str().parse().ok()?),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(items) => toml::Value::Array(
            items
                .iter()
                .filter_map(|i| to_toml_value(i.get_ref()))
                .collect(),
        ),
        DeValue::Table(t) => toml::Value::Table(
            t.iter()
                .filter_map(|(k, v)| Some((k.get_ref().to_string(), to_toml_value(v.get_ref())?)))
                .collect(),
        ),
    })
}

/// Byte offset → 1-based line and column.
pub struct LineIndex {
    starts: Vec<usize>,
    text_len: usize,
    text: String,
}

impl LineIndex {
    /// Index the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            text_len: text.len(),
            text: text.to_string(),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text_len);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }

    /// 1-based (line, column) where the content of the string value at `offset` begins: past
    /// its opening quote(s), and past the newline TOML trims right after `'''` or `"""`.
    pub fn string_content_start(&self, offset: usize) -> (usize, usize) {
        let rest = self.text.get(offset..).unwrap_or_default();
        let skip = if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
            let after = &rest[3..];
            3 + if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with('\n'))
            }
        } else {
            usize::from(rest.starts_with(['\'', '"']))
        };
        self.position(offset + skip)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
