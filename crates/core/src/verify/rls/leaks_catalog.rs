//! The catalog behind the hidden leak classes: what the planner trusts (LEAKPROOF functions and
//! their operators), what the policies depend on, triggers and rules that copy rows, inheritance
//! children, column grants and default privileges. One query, as the admin login.

use serde::Deserialize;
use tokio_postgres::Client;

/// A user-defined LEAKPROOF function the application role may execute (not a builtin, not part of
/// an extension).
#[derive(Debug, Clone, Deserialize)]
pub struct Leakproof {
    /// `schema.name(args)`.
    pub name: String,
    /// `"schema"."name"`, to call it.
    pub call: String,
    /// Its owner.
    pub owner: String,
    /// Operators implemented by it (`=(text,text)`).
    pub operators: Vec<String>,
    /// Tenant-table columns of its (single) argument type: `[schema.table, column]`.
    pub columns: Vec<(String, String)>,
}

/// A function or table a tenant table's policy depends on.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyDep {
    /// The tenant table (`schema.name`).
    pub table: String,
    /// The policy.
    pub policy: String,
    /// `function` or `table`.
    pub kind: String,
    /// `schema.name(args)` or `schema.name`.
    pub object: String,
    /// The application role owns it (a function it can replace, a table it can alter).
    pub owned: bool,
    /// The application role may INSERT, UPDATE or DELETE it (tables).
    pub writable: bool,
    /// Tables the function's body names that the role may write (`schema.name`).
    pub reads_writable: Vec<String>,
}

/// A trigger or rule on a tenant table that names tables without row-level security the role
/// can read.
#[derive(Debug, Clone, Deserialize)]
pub struct Copier {
    /// The tenant table.
    pub table: String,
    /// `trigger` or `rule`.
    pub kind: String,
    /// The trigger or rule.
    pub name: String,
    /// The trigger's function, if any.
    pub function: Option<String>,
    /// Readable tables without RLS it writes to (`schema.name`).
    pub targets: Vec<String>,
}

/// An inheritance child or partition of a tenant table.
#[derive(Debug, Clone, Deserialize)]
pub struct Child {
    /// The parent tenant table.
    pub parent: String,
    /// The child (`schema.name`).
    pub child: String,
    /// `"schema"."name"`.
    pub qualified: String,
    /// It has row-level security enabled itself.
    pub rls: bool,
    /// The role may select from it directly.
    pub select: bool,
}

/// Column-level privileges of the role on a tenant table.
#[derive(Debug, Clone, Deserialize)]
pub struct ColumnGrant {
    /// The tenant table.
    pub table: String,
    /// The column.
    pub column: String,
    /// Privileges granted on the column but not on the table (`UPDATE`, `REFERENCES`, …).
    pub privileges: Vec<String>,
}

/// `ALTER DEFAULT PRIVILEGES` that will grant the role on future tables.
#[derive(Debug, Clone, Deserialize)]
pub struct DefaultAcl {
    /// The role whose new tables get the grant.
    pub grantor: String,
    /// The schema, or none for every schema.
    pub schema: Option<String>,
    /// The privileges.
    pub privileges: Vec<String>,
}

/// Everything the hidden leak checks read.
#[derive(Debug, Clone, Deserialize)]
pub struct LeakCatalog {
    /// User-defined LEAKPROOF functions.
    pub leakproof: Vec<Leakproof>,
    /// What the policies depend on.
    pub policy_deps: Vec<PolicyDep>,
    /// Triggers and rules copying rows out.
    pub copiers: Vec<Copier>,
    /// Inheritance children and partitions.
    pub children: Vec<Child>,
    /// Column-level grants.
    pub column_grants: Vec<ColumnGrant>,
    /// Default privileges for future tables.
    pub default_acls: Vec<DefaultAcl>,
}

const LEAKS_SQL: &str = r#"
WITH target AS (SELECT oid FROM pg_roles WHERE rolname = $1),
tenant AS (SELECT x::regclass::oid AS oid FROM unnest($2::text[]) x),
rel AS (SELECT c.oid, c.relname, c.relrowsecurity, c.relkind, n.nspname,
               n.nspname || '.' || c.relname AS display, format('%I.%I', n.nspname, c.relname) AS q
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\_%'),
can AS (SELECT r.*,
               coalesce(has_table_privilege((SELECT oid FROM target), r.oid, 'SELECT'), false) AS sel,
               coalesce(has_table_privilege((SELECT oid FROM target), r.oid, 'INSERT')
                     OR has_table_privilege((SELECT oid FROM target), r.oid, 'UPDATE')
                     OR has_table_privilege((SELECT oid FROM target), r.oid, 'DELETE'), false) AS wr
          FROM rel r),
mentions AS (SELECT p.oid AS fn, c.* FROM pg_proc p JOIN can c
               ON p.prosrc ~* ('(^|[^a-z0-9_])' || c.relname || '($|[^a-z0-9_])')
             WHERE p.oid >= 16384 AND c.oid NOT IN (SELECT oid FROM tenant))
SELECT json_build_object(
  'leakproof', (SELECT coalesce(json_agg(json_build_object(
        'name', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
        'call', format('%I.%I', n.nspname, p.proname),
        'owner', pg_get_userbyid(p.proowner),
        'operators', (SELECT coalesce(json_agg(o.oid::regoperator::text), '[]')
                        FROM pg_operator o WHERE o.oprcode = p.oid),
        'columns', (SELECT coalesce(json_agg(json_build_array(r.display, a.attname)), '[]')
                      FROM pg_attribute a JOIN rel r ON r.oid = a.attrelid
                     WHERE a.attrelid IN (SELECT oid FROM tenant) AND a.attnum > 0
                       AND NOT a.attisdropped AND p.pronargs = 1 AND a.atttypid = p.proargtypes[0]))
        ORDER BY 1), '[]')
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proleakproof AND p.oid >= 16384
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                          AND e.objid = p.oid AND e.deptype = 'e')
       AND coalesce(has_function_privilege((SELECT oid FROM target), p.oid, 'EXECUTE'), false)),
  'policy_deps', (SELECT coalesce(json_agg(json_build_object(
        'table', t.display, 'policy', d.polname, 'kind', d.kind, 'object', d.object,
        'owned', coalesce(pg_has_role((SELECT oid FROM target), d.owner, 'MEMBER'), false),
        'writable', coalesce(d.writable, false),
        'reads_writable', (SELECT coalesce(json_agg(DISTINCT m.display), '[]') FROM mentions m
                            WHERE d.kind = 'function' AND m.fn = d.refobjid AND m.wr))
        ORDER BY t.display, d.polname, d.object), '[]')
      FROM (SELECT DISTINCT pol.polrelid, pol.polname, dep.refobjid,
                   CASE WHEN dep.refclassid = 'pg_proc'::regclass THEN 'function' ELSE 'table' END AS kind,
                   CASE WHEN dep.refclassid = 'pg_proc'::regclass
                        THEN (SELECT format('%I.%I(%s)', pn.nspname, pp.proname,
                                            pg_get_function_identity_arguments(pp.oid))
                                FROM pg_proc pp JOIN pg_namespace pn ON pn.oid = pp.pronamespace
                               WHERE pp.oid = dep.refobjid)
                        ELSE (SELECT r.q FROM rel r WHERE r.oid = dep.refobjid) END AS object,
                   CASE WHEN dep.refclassid = 'pg_proc'::regclass
                        THEN (SELECT proowner FROM pg_proc WHERE oid = dep.refobjid)
                        ELSE (SELECT relowner FROM pg_class WHERE oid = dep.refobjid) END AS owner,
                   (SELECT c.wr FROM can c WHERE c.oid = dep.refobjid) AS writable
              FROM pg_policy pol
              JOIN pg_depend dep ON dep.classid = 'pg_policy'::regclass AND dep.objid = pol.oid
             WHERE pol.polrelid IN (SELECT oid FROM tenant)
               AND ((dep.refclassid = 'pg_proc'::regclass AND dep.refobjid >= 16384)
                    OR (dep.refclassid = 'pg_class'::regclass AND dep.refobjid <> pol.polrelid))) d
      JOIN rel t ON t.oid = d.polrelid),
  'copiers', (SELECT coalesce(json_agg(x ORDER BY x.table, x.name), '[]') FROM (
      SELECT t.display AS table, 'trigger' AS kind, tg.tgname AS name,
             tg.tgfoid::regprocedure::text AS function,
             (SELECT coalesce(json_agg(DISTINCT m.display), '[]') FROM mentions m
               WHERE m.fn = tg.tgfoid AND m.sel AND NOT m.relrowsecurity) AS targets
        FROM pg_trigger tg JOIN rel t ON t.oid = tg.tgrelid
       WHERE NOT tg.tgisinternal AND tg.tgrelid IN (SELECT oid FROM tenant)
      UNION ALL
      SELECT t.display, 'rule', rw.rulename, NULL,
             (SELECT coalesce(json_agg(DISTINCT c.display), '[]') FROM pg_depend d
                JOIN can c ON c.oid = d.refobjid
               WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                 AND d.refclassid = 'pg_class'::regclass AND c.oid <> rw.ev_class
                 AND c.sel AND NOT c.relrowsecurity)
        FROM pg_rewrite rw JOIN rel t ON t.oid = rw.ev_class
       WHERE rw.ev_class IN (SELECT oid FROM tenant) AND rw.ev_type <> '1') x),
  'children', (SELECT coalesce(json_agg(json_build_object('parent', p.display, 'child', c.display,
        'qualified', c.q, 'rls', c.relrowsecurity, 'select', c.sel) ORDER BY c.display), '[]')
      FROM pg_inherits i JOIN rel p ON p.oid = i.inhparent JOIN can c ON c.oid = i.inhrelid
     WHERE i.inhparent IN (SELECT oid FROM tenant)),
  'column_grants', (SELECT coalesce(json_agg(json_build_object('table', g.display, 'column', g.attname,
        'privileges', g.privs) ORDER BY g.display, g.attname), '[]') FROM (
      SELECT r.display, a.attname, json_agg(DISTINCT x.privilege_type) AS privs
        FROM pg_attribute a JOIN rel r ON r.oid = a.attrelid, aclexplode(a.attacl) x
       WHERE a.attrelid IN (SELECT oid FROM tenant) AND a.attnum > 0 AND NOT a.attisdropped
         AND CASE WHEN x.grantee = 0 THEN true
                  ELSE pg_has_role((SELECT oid FROM target), x.grantee, 'MEMBER') END
         AND NOT has_table_privilege((SELECT oid FROM target), r.oid, x.privilege_type)
       GROUP BY r.display, a.attname) g),
  'default_acls', (SELECT coalesce(json_agg(json_build_object('grantor', g.grantor,
        'schema', g.schema, 'privileges', g.privs) ORDER BY g.grantor, g.schema), '[]') FROM (
      SELECT pg_get_userbyid(d.defaclrole) AS grantor, n.nspname AS schema,
             json_agg(DISTINCT x.privilege_type) AS privs
        FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace,
             aclexplode(d.defaclacl) x
       WHERE d.defaclobjtype = 'r'
         AND x.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
         AND CASE WHEN x.grantee = 0 THEN true
                  ELSE pg_has_role((SELECT oid FROM target), x.grantee, 'MEMBER') END
       GROUP BY 1, 2) g)
)::text
"#;

/// Read the hidden-leak catalog for `role` and the tenant tables (`"schema"."name"`).
pub async fn read(client: &Client, role: &str, tables: &[String]) -> Result<LeakCatalog, String> {
    let row = client
        .query_one(LEAKS_SQL, &[&role, &tables])
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    let text: String = row.try_get(0).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("unexpected catalog answer: {e}"))
}
