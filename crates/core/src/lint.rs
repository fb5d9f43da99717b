//! The downtime lint: every SQL step's text is read by squawk-linter (its own lossless
//! PostgreSQL parser) for what would block the application during a go-live: locks that block
//! reads or writes, index builds without `CONCURRENTLY`, table rewrites (a volatile `DEFAULT` on
//! `ADD COLUMN`, `ALTER COLUMN … TYPE`), constraints validated under a lock, and timeouts a
//! statement really runs without.
//!
//! What is destroyed (drops, truncates, unbounded deletes) is the destructive-SQL guard's job
//! ([`crate::guard`]), which makes a runbook invalid; the lint only warns, except for what
//! PostgreSQL itself would refuse mid-go-live, which is an error (`golive check` exits 2,
//! `golive run` refuses to start):
//! - `CREATE INDEX CONCURRENTLY` inside a transaction (`25001 … cannot run inside a transaction
//!   block`): a step's whole script is one transaction by default, and a `transaction = false`
//!   step's script is sent as one query, which PostgreSQL also runs as one implicit transaction
//!   when it holds more than one statement.

use std::fmt;
use std::path::{Path, PathBuf};

use squawk_linter::{Linter, Rule, Violation};
use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};

use crate::runbook::{Runbook, SqlSpec, StepKind, qualified_id};

/// The squawk rules golive runs: lock and rewrite hazards, and transaction mistakes.
///
/// Left out on purpose: `require-timeout-settings` (`require-lock-timeout`,
/// `require-statement-timeout`), because golive's SQL executor sets `statement_timeout` (the
/// step's timeout) and `lock_timeout` (10 s) before every SQL step (`src/exec/sql.rs`); they run
/// only on statements that follow a `COMMIT` inside a transactional step, where golive's
/// `SET LOCAL` values are gone (see [`timeouts_lost`]). Also left out: drops, truncates and
/// renames (the destructive guard's job), schema style (`prefer-bigint-over-int`,
/// `prefer-text-field`, `prefer-timestamptz`, `ban-char-field`, `prefer-identity`,
/// `identifier-too-long`), re-runnability (`prefer-robust-stmts`) and
/// `ban-uncommitted-transaction` (golive commits the step itself).
const RULES: &[Rule] = &[
    Rule::RequireConcurrentIndexCreation,
    Rule::RequireConcurrentIndexDeletion,
    Rule::RequireConcurrentReindex,
    Rule::RequireConcurrentPartitionDetach,
    Rule::BanConcurrentIndexCreationInTransaction,
    Rule::AddingFieldWithDefault,
    Rule::AddingNotNullableField,
    Rule::AddingRequiredField,
    Rule::AddingSerialPrimaryKeyField,
    Rule::AddingForeignKeyConstraint,
    Rule::ConstraintMissingNotValid,
    Rule::DisallowedUniqueConstraint,
    Rule::ChangingColumnType,
    Rule::PreferRepack,
    Rule::TransactionNesting,
];

/// Prepended to the text squawk reads when the script runs inside a transaction: squawk's
/// transaction rules then see what PostgreSQL will see.
const IN_TRANSACTION: &str = "BEGIN;\n";

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A downtime hazard: printed, never fails `golive check`.
    Warning,
    /// PostgreSQL will refuse the statement: `golive check` exits 2 and `golive run` refuses.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding in one SQL text, located by byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFinding {
    /// Byte offset in the SQL text.
    pub offset: usize,
    /// Warning or error.
    pub severity: Severity,
    /// squawk's rule name, e.g. `require-concurrent-index-creation`.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// One finding on a runbook's SQL step, located in the file that holds the SQL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The step's qualified id (`rls-deploy`, `database/rls-disable`).
    pub step: String,
    /// The runbook (inline `sql`) or the step's `file`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Warning or error.
    pub severity: Severity,
    /// squawk's rule name.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: [{}] {} — {}",
            self.file, self.line, self.col, self.severity, self.rule, self.message, self.fix
        )
    }
}

impl Finding {
    /// One line for `golive plan`, under the step: `warning [rule] line 16: message`.
    pub fn short(&self) -> String {
        format!(
            "{} [{}] line {}: {}",
            self.severity,
            self.rule,
            self.line,
            first_sentence(&self.message)
        )
    }
}

/// Every finding of every SQL step of `runbook` (main sequence and procedures), in file order.
pub fn lint_runbook(runbook: &Runbook) -> Vec<Finding> {
    let mut out = Vec::new();
    for (procedure, step) in runbook.all_steps() {
        let StepKind::Sql(spec) = &step.kind else {
            continue;
        };
        let qualified = qualified_id(procedure, &step.id);
        let file = sql_file(runbook, spec);
        for found in lint_sql(&spec.sql, spec.transaction) {
            let (line, col) = position(&spec.sql, found.offset, spec.at);
            out.push(Finding {
                step: qualified.clone(),
                file: file.clone(),
                line,
                col,
                severity: found.severity,
                rule: found.rule,
                message: found.message,
                fix: found.fix,
            });
        }
    }
    out
}

/// The findings in one SQL script, run by golive in one transaction (`transaction = true`) or
/// without one.
pub fn lint_sql(sql: &str, transaction: bool) -> Vec<SqlFinding> {
    if !crate::guard::parseable(sql) {
        // squawk's parser recurses: a deep enough statement would overflow the stack.
        return vec![SqlFinding {
            offset: 0,
            severity: Severity::Warning,
            rule: "too-deep-to-lint".into(),
            message: "a statement is nested too deeply for the lint to read; it was not linted \
                      (the destructive-SQL guard still read it word by word)"
                .into(),
            fix: "read its locks by hand, or split the statement".into(),
        }];
    }
    let parse = SourceFile::parse(sql);
    let statements = parse.tree().stmts().count();
    // A `transaction = false` script of several statements is one query: one implicit transaction.
    let implicit = !transaction && statements > 1;
    let prefix = if transaction || implicit {
        IN_TRANSACTION
    } else {
        ""
    };
    let text = format!("{prefix}{sql}");
    let wrapped = SourceFile::parse(&text);
    let mut linter = Linter::from(RULES.iter().copied());
    let mut found: Vec<SqlFinding> = linter
        .lint(&wrapped, &text)
        .into_iter()
        .filter_map(|v| {
            let offset = usize::from(v.text_range.start()).checked_sub(prefix.len())?;
            Some(finding(v, offset, implicit))
        })
        .collect();
    if transaction {
        found.extend(timeouts_lost(sql, &parse.tree()));
    }
    found.sort_by_key(|f| f.offset);
    found
}

/// golive's `SET LOCAL statement_timeout`/`lock_timeout` end with the step's transaction: a
/// `COMMIT` (or `ROLLBACK`) inside a transactional step's script ends it early, and the slow
/// statements after it run with neither timeout. squawk's timeout rules, on that tail only.
fn timeouts_lost(sql: &str, file: &SourceFile) -> Vec<SqlFinding> {
    let Some(end) = file
        .stmts()
        .find(|s| matches!(s, ast::Stmt::Commit(_) | ast::Stmt::Rollback(_)))
        .map(|s| usize::from(s.syntax().text_range().end()))
    else {
        return Vec::new();
    };
    let tail = sql.get(end..).unwrap_or_default();
    let parse = SourceFile::parse(tail);
    let mut linter = Linter::from([Rule::RequireLockTimeout, Rule::RequireStatementTimeout]);
    linter
        .lint(&parse, tail)
        .into_iter()
        .map(|v| {
            let offset = end + usize::from(v.text_range.start());
            let mut f = finding(v, offset, false);
            f.fix = "it runs after the script's own COMMIT, outside golive's transaction and \
                     without the lock_timeout and statement_timeout golive set for the step: \
                     remove the COMMIT (golive commits the step), or SET both again after it"
                .into();
            f
        })
        .collect()
}

fn finding(v: Violation, offset: usize, implicit: bool) -> SqlFinding {
    let rule = v.code.to_string();
    let (severity, message, fix) = match v.code {
        Rule::BanConcurrentIndexCreationInTransaction if implicit => (
            Severity::Error,
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and golive sends a \
             `transaction = false` step's script as one query, which PostgreSQL runs as one \
             implicit transaction when it holds several statements"
                .to_string(),
            "give this statement a `transaction = false` step of its own".to_string(),
        ),
        Rule::BanConcurrentIndexCreationInTransaction => (
            Severity::Error,
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and golive runs \
             this step's script in one transaction; PostgreSQL will refuse it mid-go-live"
                .to_string(),
            "move it to a step of its own with `transaction = false`".to_string(),
        ),
        Rule::AddingFieldWithDefault => (
            Severity::Warning,
            "a volatile DEFAULT is evaluated for every row: the whole table is rewritten under \
             an ACCESS EXCLUSIVE lock, and reads and writes wait until it ends"
                .to_string(),
            v.help.unwrap_or_default(),
        ),
        _ => (
            Severity::Warning,
            v.message,
            v.help
                .or_else(|| v.fix.map(|f| f.title))
                .unwrap_or_else(|| format!("see https://squawkhq.com/docs/{rule}")),
        ),
    };
    SqlFinding {
        offset,
        severity,
        rule,
        message,
        fix,
    }
}

/// The file a SQL step's text comes from, as it should be printed.
fn sql_file(runbook: &Runbook, spec: &SqlSpec) -> String {
    match &spec.file {
        Some(f) if runbook.base_dir == Path::new(".") => f.display().to_string(),
        Some(f) => runbook.base_dir.join(f).display().to_string(),
        None => PathBuf::from(&runbook.path).display().to_string(),
    }
}

/// 1-based (line, column) of `offset` in `sql`, whose first character is at `at` in its file.
fn position(sql: &str, offset: usize, at: (usize, usize)) -> (usize, usize) {
    let before = sql.get(..offset).unwrap_or(sql);
    let line = before.matches('\n').count();
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    if line == 0 {
        (at.0, at.1 + col - 1)
    } else {
        (at.0 + line, col)
    }
}

fn first_sentence(text: &str) -> &str {
    text.split_once(". ").map_or(text, |(first, _)| first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(sql: &str, transaction: bool) -> Vec<(String, Severity)> {
        lint_sql(sql, transaction)
            .into_iter()
            .map(|f| (f.rule, f.severity))
            .collect()
    }

    #[test]
    fn finds_lock_and_rewrite_hazards() {
        let sql = "CREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();\nALTER TABLE t ALTER COLUMN a TYPE bigint;";
        let found = lint_sql(sql, true);
        let names: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            names,
            [
                "require-concurrent-index-creation",
                "adding-field-with-default",
                "changing-column-type"
            ],
            "{found:?}"
        );
        assert!(found.iter().all(|f| f.severity == Severity::Warning));
        assert!(sql[found[1].offset..].starts_with("gen_random_uuid()"));
    }

    #[test]
    fn golive_sets_the_timeouts_itself() {
        assert_eq!(rules("CREATE INDEX CONCURRENTLY i ON t (a)", false), vec![]);
        assert_eq!(
            rules("ALTER TABLE t ADD COLUMN n timestamptz DEFAULT now()", true),
            vec![]
        );
        // After the script's own COMMIT, golive's SET LOCAL timeouts are gone.
        let lost = rules("SELECT 1;\nCOMMIT;\nALTER TABLE t ADD COLUMN b text;", true);
        assert!(
            lost.contains(&("require-lock-timeout".to_string(), Severity::Warning)),
            "{lost:?}"
        );
    }

    #[test]
    fn concurrently_inside_a_transaction_is_an_error() {
        for (sql, transaction) in [
            ("CREATE INDEX CONCURRENTLY i ON t (a)", true),
            ("SELECT 1; CREATE INDEX CONCURRENTLY i ON t (a)", false),
        ] {
            let found = lint_sql(sql, transaction);
            let error = found
                .iter()
                .find(|f| f.severity == Severity::Error)
                .unwrap_or_else(|| panic!("{sql}: {found:?}"));
            assert_eq!(error.rule, "ban-concurrent-index-creation-in-transaction");
            assert!(error.fix.contains("transaction = false"), "{error:?}");
        }
    }

    #[test]
    fn a_statement_too_deep_to_parse_is_reported_not_parsed() {
        let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(
            rules(&deep, true),
            vec![("too-deep-to-lint".to_string(), Severity::Warning)]
        );
        assert!(rules("SELECT (((1)))", true).is_empty());
    }

    #[test]
    fn positions_count_from_where_the_sql_begins() {
        assert_eq!(position("SELECT 1;\n  CREATE", 12, (10, 1)), (11, 3));
        assert_eq!(position("CREATE", 0, (4, 7)), (4, 7));
    }
}
