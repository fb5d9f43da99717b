//! The static half of the audit: what the catalog says about the role, the tables, their
//! policies and the ways around them. Pure functions over a [`Catalog`].

use super::catalog::{Catalog, Policy, Table, ident};
use crate::verify::{Finding, Severity};

/// What the tenant predicate looks like: the column and the setting it compares with.
#[derive(Debug, Clone)]
pub struct Predicate<'a> {
    /// The tenant column (`tenant_id`).
    pub column: &'a str,
    /// The setting carrying the tenant (`app.tenant_id`).
    pub setting: &'a str,
}

impl Predicate<'_> {
    /// The policy expression golive recommends.
    pub fn recommended(&self) -> String {
        format!(
            "{} = NULLIF(current_setting('{}', true), '')::uuid",
            ident(self.column),
            self.setting
        )
    }

    fn tests_tenant(&self, expr: &str) -> bool {
        let e = expr.to_lowercase();
        let column = self.column.to_lowercase();
        e.contains(&format!(
            "current_setting('{}'",
            self.setting.to_lowercase()
        )) && (e.contains(&format!("{column} =")) || e.contains(&format!("= {column}")))
    }

    fn allows_null(&self, expr: &str) -> bool {
        let e = expr.to_lowercase();
        e.contains(" is null") || e.contains("coalesce(") && e.contains(" or ")
    }

    /// Whether an expression restricts rows to the current tenant and stays closed without one.
    fn isolates(&self, expr: &str) -> bool {
        self.tests_tenant(expr) && !self.allows_null(expr)
    }
}

/// The four commands a policy can govern, with their `polcmd` letter.
const COMMANDS: [(&str, char); 4] = [
    ("SELECT", 'r'),
    ("INSERT", 'a'),
    ("UPDATE", 'w'),
    ("DELETE", 'd'),
];

fn covers(policy: &Policy, letter: char) -> bool {
    policy.command == "*" || policy.command.starts_with(letter)
}

/// The command name of a policy (`ALL`, `SELECT`, …).
pub fn command_name(code: &str) -> &'static str {
    match code {
        "r" => "SELECT",
        "a" => "INSERT",
        "w" => "UPDATE",
        "d" => "DELETE",
        _ => "ALL",
    }
}

/// The expression new rows are checked against: `WITH CHECK`, else `USING` for ALL and UPDATE,
/// else nothing (an INSERT policy without `WITH CHECK` accepts every row).
fn effective_check(policy: &Policy) -> Option<&str> {
    policy.with_check.as_deref().or(if policy.command == "a" {
        None
    } else {
        policy.using.as_deref()
    })
}

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

/// Findings about one tenant table: ownership, RLS flags, policies, privileges.
pub fn table_findings(table: &Table, role: &str, pred: &Predicate<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = table.display();
    let q = table.qualified();
    if table.role_is_owner {
        out.push(Finding::new(
            &subject,
            Severity::FailOpen,
            "table-owner",
            format!(
                "{role} owns the table (owner {}): it can DISABLE ROW LEVEL SECURITY or DROP POLICY, \
                 and without FORCE the policies do not apply to it",
                table.owner
            ),
            format!(
                "ALTER TABLE {q} OWNER TO app_owner;  -- a role {role} is not a member of; and FORCE ROW LEVEL SECURITY"
            ),
        ));
    }
    if !table.rls {
        out.push(Finding::new(
            &subject,
            Severity::FailOpen,
            "rls-enabled",
            "row-level security is not enabled: every tenant's rows are visible",
            format!(
                "ALTER TABLE {q} ENABLE ROW LEVEL SECURITY; ALTER TABLE {q} FORCE ROW LEVEL SECURITY;"
            ),
        ));
        return out;
    }
    if !table.forced {
        out.push(Finding::new(
            &subject,
            Severity::Warning,
            "rls-forced",
            format!(
                "row-level security is enabled but not forced: the owner {} is not subject to the policies",
                table.owner
            ),
            format!("ALTER TABLE {q} FORCE ROW LEVEL SECURITY;"),
        ));
    }
    let privileges = table.privileges;
    let granted = [
        privileges.select,
        privileges.insert,
        privileges.update,
        privileges.delete,
    ];
    let applying: Vec<&Policy> = table.policies.iter().filter(|p| p.applies).collect();
    let create = format!(
        "CREATE POLICY tenant_isolation ON {q} AS PERMISSIVE FOR ALL TO PUBLIC USING ({e}) WITH CHECK ({e});",
        e = pred.recommended()
    );
    for ((command, letter), granted) in COMMANDS.into_iter().zip(granted) {
        let has_permissive = applying.iter().any(|p| p.permissive && covers(p, letter));
        if granted && !has_permissive {
            out.push(Finding::new(
                &subject,
                Severity::Broken,
                "policy-missing",
                format!(
                    "no permissive policy for {command} applies to {role}: it is granted {command} \
                     but every row is refused"
                ),
                create.clone(),
            ));
        }
    }
    for p in &applying {
        out.extend(policy_findings(table, p, &applying, pred));
    }
    if privileges.truncate {
        out.push(Finding::new(
            &subject,
            Severity::CrossTenantWrite,
            "privilege-truncate",
            format!(
                "{role} may TRUNCATE: row-level security does not apply, every tenant's rows go"
            ),
            format!("REVOKE TRUNCATE ON {q} FROM {};", ident(role)),
        ));
    }
    if privileges.trigger {
        out.push(Finding::new(
            &subject,
            Severity::Warning,
            "privilege-trigger",
            format!(
                "{role} may CREATE TRIGGER: a trigger runs in other tenants' sessions and can copy their rows"
            ),
            format!("REVOKE TRIGGER ON {q} FROM {};", ident(role)),
        ));
    }
    if privileges.references {
        out.push(Finding::new(
            &subject,
            Severity::Warning,
            "privilege-references",
            format!("{role} may REFERENCE the table: a foreign key reveals other tenants' keys"),
            format!("REVOKE REFERENCES ON {q} FROM {};", ident(role)),
        ));
    }
    out
}

/// Findings about one policy that applies to the role.
fn policy_findings(
    table: &Table,
    p: &Policy,
    applying: &[&Policy],
    pred: &Predicate<'_>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = table.display();
    let fix = format!(
        "DROP POLICY {} ON {q}; or make its expressions `{}`",
        ident(&p.name),
        pred.recommended(),
        q = table.qualified()
    );
    // A restrictive policy that isolates a command closes it whatever the permissive ones say.
    let guarded = |letter: char, check: bool| {
        applying.iter().any(|r| {
            !r.permissive
                && covers(r, letter)
                && (if check {
                    effective_check(r)
                } else {
                    r.using.as_deref()
                })
                .is_some_and(|e| pred.isolates(e))
        })
    };
    if p.permissive {
        let using_open: Vec<&str> = [('r', "SELECT"), ('w', "UPDATE"), ('d', "DELETE")]
            .into_iter()
            .filter(|(l, _)| covers(p, *l) && !guarded(*l, false))
            .filter(|_| !p.using.as_deref().is_some_and(|e| pred.isolates(e)))
            .map(|(_, c)| c)
            .collect();
        if !using_open.is_empty() {
            let using = p.using.as_deref().unwrap_or("true");
            let severity = if using_open.contains(&"SELECT") {
                Severity::FailOpen
            } else {
                Severity::CrossTenantWrite
            };
            let why = if pred.tests_tenant(using) {
                "it is true when the tenant setting is NULL (no tenant context)"
            } else {
                "it does not test the tenant, and permissive policies are ORed: the tenant predicate is void"
            };
            out.push(Finding::new(
                &subject,
                severity,
                "policy-using",
                format!(
                    "permissive policy {} USING ({using}) for {}: {why}",
                    p.name,
                    using_open.join(", ")
                ),
                fix.clone(),
            ));
        }
        let check_open: Vec<&str> = [('a', "INSERT"), ('w', "UPDATE")]
            .into_iter()
            .filter(|(l, _)| covers(p, *l) && !guarded(*l, true))
            .filter(|_| !effective_check(p).is_some_and(|e| pred.isolates(e)))
            .map(|(_, c)| c)
            .collect();
        if !check_open.is_empty() {
            let check = effective_check(p).unwrap_or("true (no WITH CHECK)");
            out.push(Finding::new(
                &subject,
                Severity::CrossTenantWrite,
                "policy-with-check",
                format!(
                    "permissive policy {} WITH CHECK ({check}) for {}: a tenant can write rows of another tenant",
                    p.name,
                    check_open.join(", ")
                ),
                fix.clone(),
            ));
        }
    }
    for expr in [p.using.as_deref(), p.with_check.as_deref()]
        .into_iter()
        .flatten()
    {
        let e = expr.to_lowercase();
        let setting = format!("current_setting('{}'", pred.setting.to_lowercase());
        if !e.contains(&setting) {
            continue;
        }
        if e.contains(&format!("{setting}::text)")) {
            out.push(Finding::new(
                &subject,
                Severity::FailNoisy,
                "policy-missing-ok",
                format!(
                    "policy {} calls current_setting('{}') without missing_ok: a session without a tenant gets \
                     an error (42704) instead of zero rows",
                    p.name, pred.setting
                ),
                fix.clone(),
            ));
        } else if e.contains("::uuid") && !e.contains("nullif(") {
            out.push(Finding::new(
                &subject,
                Severity::FailNoisy,
                "policy-nullif",
                format!(
                    "policy {} casts current_setting('{}', true) to uuid without NULLIF: on a pooled \
                     connection after SET LOCAL or RESET the setting is '' and ''::uuid fails (22P02)",
                    p.name, pred.setting
                ),
                fix.clone(),
            ));
        }
        break;
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
    use super::*;

    const PRED: Predicate<'static> = Predicate {
        column: "tenant_id",
        setting: "app.tenant_id",
    };

    #[test]
    fn recognises_the_shapes_pg_get_expr_prints() {
        let good =
            "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)";
        assert!(PRED.isolates(good));
        assert!(!PRED.isolates("true"));
        let null_ok = "((tenant_id = (current_setting('app.tenant_id'::text, true))::uuid) OR \
                       (current_setting('app.tenant_id'::text, true) IS NULL))";
        assert!(PRED.tests_tenant(null_ok) && !PRED.isolates(null_ok));
        assert!(mentions("select * from public.customers;", "customers"));
        assert!(!mentions("select * from customers_archive", "customers"));
    }
}
