//! Leaks that do not pass through a policy, seen from the catalog: functions the planner trusts
//! (LEAKPROOF), what the tenant predicate depends on that the role can change, rows copied out by
//! triggers and rules, children without row-level security, column grants, default privileges.
//! Pure functions over a [`LeakCatalog`]; the LEAKPROOF probe is in [`super::leakproof`].

use super::catalog::{Policy, Table, ident};
use super::leaks_catalog::LeakCatalog;
use super::statics::Predicate;
use crate::verify::{Finding, Severity};

/// Every hidden-leak finding.
pub fn findings(
    catalog: &LeakCatalog,
    tables: &[Table],
    role: &str,
    pred: &Predicate<'_>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let role_q = ident(role);
    for f in &catalog.leakproof {
        let ops = if f.operators.is_empty() {
            String::new()
        } else {
            format!(" (operators {})", f.operators.join(", "))
        };
        out.push(Finding::new(
            format!("function {}", f.name),
            Severity::Warning,
            "leakproof-function",
            format!(
                "{role} can call user-defined LEAKPROOF function {} owned by {}{ops}: the planner may run \
                 it on other tenants' rows before the policies filter them, and whatever it does with \
                 its argument (a NOTICE, an error, a write) leaks",
                f.name, f.owner
            ),
            format!(
                "ALTER FUNCTION {} NOT LEAKPROOF;  -- or REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC, {role_q}",
                f.name, f.name
            ),
        ));
    }
    for d in &catalog.policy_deps {
        let (severity, seen, fix) = if d.kind == "function" && d.owned {
            (
                Severity::FailOpen,
                format!(
                    "policy {} calls function {}, which {role} owns: it can change it (CREATE OR REPLACE \
                     with CREATE on its schema) to let any tenant through, or drop it with the policy",
                    d.policy, d.object
                ),
                format!("ALTER FUNCTION {} OWNER TO app_owner;", d.object),
            )
        } else if d.kind == "function" && !d.reads_writable.is_empty() {
            (
                Severity::FailOpen,
                format!(
                    "policy {} calls function {}, which reads {} that {role} can write: it can give \
                     itself any tenant",
                    d.policy,
                    d.object,
                    d.reads_writable.join(", ")
                ),
                format!(
                    "REVOKE INSERT, UPDATE, DELETE ON {} FROM {role_q};",
                    d.reads_writable.join(", ")
                ),
            )
        } else if d.kind == "table" && (d.writable || d.owned) {
            (
                Severity::FailOpen,
                format!(
                    "policy {} reads table {}, which {role} can write: it can map itself to any tenant",
                    d.policy, d.object
                ),
                format!(
                    "REVOKE INSERT, UPDATE, DELETE ON {} FROM {role_q};  -- and keep its owner another role",
                    d.object
                ),
            )
        } else {
            continue;
        };
        out.push(Finding::new(
            &d.table,
            severity,
            "policy-dependency",
            seen,
            fix,
        ));
    }
    for t in tables {
        for (policy, setting) in other_settings(&t.policies, pred) {
            out.push(Finding::new(
                t.display(),
                Severity::Warning,
                "policy-setting",
                format!(
                    "policy {policy} reads setting {setting}, which any session can set: `SET {setting} = …` \
                     changes what the policy lets through"
                ),
                format!(
                    "make the policy depend on {} alone, or on a table {role} cannot write",
                    pred.setting
                ),
            ));
        }
    }
    for c in catalog.copiers.iter().filter(|c| !c.targets.is_empty()) {
        let how = match &c.function {
            Some(f) => format!("trigger {} (function {f})", c.name),
            None => format!("rule {}", c.name),
        };
        out.push(Finding::new(
            &c.table,
            Severity::FailOpen,
            "copied-out",
            format!(
                "{how} writes rows into {}, which has no row-level security and {role} can read: every \
                 tenant's rows end up there",
                c.targets.join(", ")
            ),
            format!(
                "ALTER TABLE {t} ENABLE ROW LEVEL SECURITY; ALTER TABLE {t} FORCE ROW LEVEL SECURITY;  \
                 -- with the tenant policy, or REVOKE SELECT ON {t} FROM {role_q}",
                t = c.targets.join(", ")
            ),
        ));
    }
    for c in catalog.children.iter().filter(|c| !c.rls && c.select) {
        out.push(Finding::new(
            &c.child,
            Severity::FailOpen,
            "child-without-rls",
            format!(
                "{} is a partition or inheritance child of {} without row-level security of its own: \
                 SELECT FROM {} directly skips {}'s policies",
                c.child, c.parent, c.child, c.parent
            ),
            format!(
                "ALTER TABLE {q} ENABLE ROW LEVEL SECURITY; ALTER TABLE {q} FORCE ROW LEVEL SECURITY; \
                 CREATE POLICY tenant_isolation ON {q} USING ({e}) WITH CHECK ({e});  -- or REVOKE ALL ON {q} FROM {role_q}",
                q = c.qualified,
                e = pred.recommended()
            ),
        ));
    }
    for g in &catalog.column_grants {
        out.push(Finding::new(
            &g.table,
            Severity::Warning,
            "column-grant",
            format!(
                "{role} has column-level {} on {} without the table-level grant: row-level security still \
                 applies, but checks of table privileges miss it (the audit probes it as granted)",
                g.privileges.join(", "),
                g.column
            ),
            format!(
                "REVOKE {} ({}) ON {} FROM {role_q};  -- or grant it at table level, deliberately",
                g.privileges.join(", "),
                ident(&g.column),
                g.table
            ),
        ));
    }
    for d in &catalog.default_acls {
        let schema = d.schema.as_deref().unwrap_or("every schema");
        let in_schema = d
            .schema
            .as_deref()
            .map(|s| format!(" IN SCHEMA {}", ident(s)))
            .unwrap_or_default();
        out.push(Finding::new(
            format!("role {role}"),
            Severity::Warning,
            "default-privileges",
            format!(
                "ALTER DEFAULT PRIVILEGES grants {} on every new table of {} in {schema} to {role}: the next \
                 tenant table is open to it before it has row-level security",
                d.privileges.join(", "),
                d.grantor
            ),
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {}{in_schema} REVOKE {} ON TABLES FROM {role_q};  \
                 -- grant each new table after its policies are in place",
                ident(&d.grantor),
                d.privileges.join(", ")
            ),
        ));
    }
    out
}

/// `(policy, setting)` for each custom setting other than the tenant setting a policy reads.
fn other_settings<'p>(policies: &'p [Policy], pred: &Predicate<'_>) -> Vec<(&'p str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for p in policies.iter().filter(|p| p.applies) {
        for expr in [p.using.as_deref(), p.with_check.as_deref()]
            .into_iter()
            .flatten()
        {
            for setting in settings_read(expr) {
                if !setting.eq_ignore_ascii_case(pred.setting)
                    && setting.contains('.')
                    && !out.iter().any(|(n, s)| *n == p.name && *s == setting)
                {
                    out.push((&p.name, setting));
                }
            }
        }
    }
    out
}

/// The names in `current_setting('name'…)` calls of an expression.
fn settings_read(expr: &str) -> Vec<String> {
    let needle = "current_setting('";
    let lower = expr.to_lowercase();
    lower
        .match_indices(needle)
        .filter_map(|(i, _)| {
            let rest = &lower[i + needle.len()..];
            rest.find('\'').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::settings_read;

    #[test]
    fn finds_every_setting_a_policy_reads() {
        let e = "((tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid) \
                 OR (current_setting('app.support'::text, true) = 'on'::text))";
        assert_eq!(settings_read(e), vec!["app.tenant_id", "app.support"]);
    }
}
