//! The policy inspector: every policy on the tenant tables as rows a console view can render and
//! as a plain-text table (the seed's `show_policies.sql`).

use serde::Serialize;

use super::rls::catalog::Table;
use super::rls::statics::command_name;

/// One row of the inspector: a policy, or a table without any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRow {
    /// `schema.table`.
    pub table: String,
    /// Policy name (`(none)` for a table without policies).
    pub policy: String,
    /// `PERMISSIVE` or `RESTRICTIVE` (empty for a table without policies).
    pub kind: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// Roles the policy is `TO`.
    pub roles: String,
    /// The `USING` expression (`-` when absent).
    pub using: String,
    /// The `WITH CHECK` expression (`-` when absent).
    pub with_check: String,
    /// RLS state of the table: `enabled+forced`, `enabled`, `disabled`.
    pub rls: String,
}

/// The inspector's rows for these tables, in table then policy order.
pub fn rows(tables: &[Table]) -> Vec<PolicyRow> {
    let mut out = Vec::new();
    for t in tables {
        let rls = match (t.rls, t.forced) {
            (true, true) => "enabled+forced",
            (true, false) => "enabled",
            (false, _) => "disabled",
        }
        .to_string();
        if t.policies.is_empty() {
            out.push(PolicyRow {
                table: t.display(),
                policy: "(none)".into(),
                kind: String::new(),
                command: String::new(),
                roles: String::new(),
                using: "-".into(),
                with_check: "-".into(),
                rls,
            });
            continue;
        }
        for p in &t.policies {
            out.push(PolicyRow {
                table: t.display(),
                policy: p.name.clone(),
                kind: if p.permissive {
                    "PERMISSIVE"
                } else {
                    "RESTRICTIVE"
                }
                .into(),
                command: command_name(&p.command).into(),
                roles: p.roles.join(","),
                using: p.using.clone().unwrap_or_else(|| "-".into()),
                with_check: p.with_check.clone().unwrap_or_else(|| "-".into()),
                rls: rls.clone(),
            });
        }
    }
    out
}

/// The rows as an aligned text table with a header.
pub fn text(rows: &[PolicyRow]) -> Vec<String> {
    let header = [
        "table",
        "rls",
        "policy",
        "kind",
        "command",
        "roles",
        "USING",
        "WITH CHECK",
    ];
    let cells: Vec<[&str; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.table.as_str(),
                r.rls.as_str(),
                r.policy.as_str(),
                r.kind.as_str(),
                r.command.as_str(),
                r.roles.as_str(),
                r.using.as_str(),
                r.with_check.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[&str; 8]| {
        let mut s = String::from(" ");
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i == 7 {
                s.push_str(&format!(" {c}"));
            } else {
                s.push_str(&format!(" {c:<w$}"));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = vec![line(&header)];
    out.extend(cells.iter().map(line));
    out
}
