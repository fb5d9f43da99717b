//! The ways around the policies: what the role itself can become (superuser, BYPASSRLS, through
//! membership or SET ROLE; login-time settings), and SECURITY DEFINER functions and views that
//! read tenant tables with their owner's rights. Pure functions over a [`Catalog`].

use super::catalog::{Catalog, Table, ident};
use super::statics::Predicate;
use crate::verify::{Finding, Severity};

/// Findings about the role itself: attributes, memberships, login-time settings.
pub fn role_findings(catalog: &Catalog, pred: &Predicate<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(role) = &catalog.role else {
        return out;
    };
    let subject = format!("role {}", role.name);
    if role.superuser {
        out.push(Finding::new(
            &subject,
            Severity::FailOpen,
            "role-superuser",
            "the application role is a superuser: every policy is bypassed",
            format!("ALTER ROLE {} NOSUPERUSER;", ident(&role.name)),
        ));
    }
    if role.bypassrls {
        out.push(Finding::new(
            &subject,
            Severity::FailOpen,
            "role-bypassrls",
            "the application role has BYPASSRLS: every policy is bypassed",
            format!("ALTER ROLE {} NOBYPASSRLS;", ident(&role.name)),
        ));
    }
    if role.createrole {
        let (severity, seen) = if catalog.server_version < 160000 {
            (
                Severity::FailOpen,
                "the application role has CREATEROLE: before PostgreSQL 16 it can grant itself any \
                 non-superuser role, including a BYPASSRLS one or the tables' owner",
            )
        } else {
            (
                Severity::Warning,
                "the application role has CREATEROLE: it can create roles and manage those it administers",
            )
        };
        out.push(Finding::new(
            &subject,
            severity,
            "role-createrole",
            seen,
            format!("ALTER ROLE {} NOCREATEROLE;", ident(&role.name)),
        ));
    }
    for m in &catalog.memberships {
        let power = match (m.superuser, m.bypassrls) {
            (true, _) => "SUPERUSER",
            (false, true) => "BYPASSRLS",
            _ => continue,
        };
        let path = m.via.join(" → ");
        if m.can_set {
            out.push(Finding::new(
                &subject,
                Severity::FailOpen,
                "role-membership",
                format!(
                    "a member of {power} role {} ({path}): `SET ROLE {}` bypasses every policy",
                    m.role, m.role
                ),
                format!(
                    "REVOKE {} FROM {};  -- or the first grant in the chain",
                    ident(m.via.get(1).map(String::as_str).unwrap_or(&m.role)),
                    ident(&role.name)
                ),
            ));
        } else {
            out.push(Finding::new(
                &subject,
                Severity::Info,
                "role-membership",
                format!(
                    "a member of {power} role {} ({path}) without SET: the attribute is not inherited",
                    m.role
                ),
                "nothing to do; keep SET FALSE on that grant",
            ));
        }
    }
    let setting_prefix = format!("{}=", pred.setting.to_lowercase());
    for s in &catalog.settings {
        for entry in &s.config {
            let lower = entry.to_lowercase();
            let name = entry.split('=').next().unwrap_or(entry);
            if lower.starts_with(&setting_prefix) {
                out.push(Finding::new(
                    &subject,
                    Severity::FailOpen,
                    "login-default-tenant",
                    format!(
                        "a login-time setting ({}) gives every session a tenant: `{entry}`",
                        s.scope
                    ),
                    format!(
                        "ALTER ROLE {} RESET {name};  -- or ALTER DATABASE … RESET",
                        ident(&role.name)
                    ),
                ));
            } else if lower == "row_security=off" {
                out.push(Finding::new(
                    &subject,
                    Severity::FailNoisy,
                    "login-row-security-off",
                    format!("a login-time setting ({}) sets row_security=off: every query on a table with RLS fails", s.scope),
                    format!("ALTER ROLE {} RESET row_security;", ident(&role.name)),
                ));
            }
        }
    }
    out
}

/// Findings about SECURITY DEFINER functions and views that reach tenant rows around the policies.
pub fn bypass_findings(catalog: &Catalog, role: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    // Whether `owner` reads `table` without its policies.
    let bypasses = |owner: &str, owner_bypasses: bool, table: &Table| {
        owner_bypasses || (owner == table.owner && !table.forced) || !table.rls
    };
    for f in &catalog.definers {
        let source = f.source.to_lowercase();
        let leaked: Vec<&Table> = catalog
            .tables
            .iter()
            .filter(|t| bypasses(&f.owner, f.owner_bypasses, t))
            .filter(|t| mentions(&source, &t.name.to_lowercase()))
            .collect();
        let fix = format!(
            "ALTER FUNCTION {} SECURITY INVOKER;  -- or REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC, {}",
            f.name,
            f.name,
            ident(role)
        );
        for t in &leaked {
            out.push(Finding::new(
                t.display(),
                Severity::FailOpen,
                "security-definer",
                format!(
                    "{role} can execute SECURITY DEFINER function {} owned by {}, which reads this table \
                     without its policies",
                    f.name, f.owner
                ),
                fix.clone(),
            ));
        }
        if leaked.is_empty() && f.owner_bypasses {
            out.push(Finding::new(
                format!("function {}", f.name),
                Severity::Warning,
                "security-definer",
                format!(
                    "{role} can execute SECURITY DEFINER function {} owned by {}, which bypasses \
                     row-level security (no tenant table named in its source)",
                    f.name, f.owner
                ),
                fix,
            ));
        }
    }
    for v in catalog.views.iter().filter(|v| v.can_select) {
        for name in &v.tables {
            let Some(t) = catalog.tables.iter().find(|t| &t.display() == name) else {
                continue;
            };
            let (leaks, fix) = if v.kind == "m" {
                (
                    bypasses(&v.owner, v.owner_bypasses, t),
                    format!(
                        "REVOKE SELECT ON {} FROM {};  -- materialized views have no row-level security",
                        v.name,
                        ident(role)
                    ),
                )
            } else {
                (
                    !v.security_invoker && bypasses(&v.owner, v.owner_bypasses, t),
                    format!("ALTER VIEW {} SET (security_invoker = true);", v.name),
                )
            };
            if leaks {
                out.push(Finding::new(
                    t.display(),
                    Severity::FailOpen,
                    "view-bypass",
                    format!(
                        "{role} can select from {} {} owned by {}, which reads this table without its policies",
                        if v.kind == "m" { "materialized view" } else { "view" },
                        v.name,
                        v.owner
                    ),
                    fix,
                ));
            }
        }
    }
    out
}

/// Whether `source` names `table` as a whole word.
fn mentions(source: &str, table: &str) -> bool {
    source.match_indices(table).any(|(i, _)| {
        let before = source[..i].chars().next_back();
        let after = source[i + table.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions("select * from public.customers;", "customers"));
        assert!(!mentions("select * from customers_archive", "customers"));
    }
}
