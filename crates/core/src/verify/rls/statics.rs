//! The static half of the audit for each tenant table: ownership, RLS flags, what its policies'
//! expressions really test, and privileges RLS does not govern. Pure functions.

use super::catalog::{Policy, Table, ident};
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

    pub(super) fn tests_tenant(&self, expr: &str) -> bool {
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
    }
}
