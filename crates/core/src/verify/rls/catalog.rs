//! One catalog query that reads everything the static audit needs, for every tenant table at
//! once: the role and what it can become, the tables, their policies and privileges, and the
//! SECURITY DEFINER functions and views that could reach tenant rows around the policies.

use serde::Deserialize;
use tokio_postgres::Client;

/// The application role and what it can become.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleInfo {
    /// Role name.
    pub name: String,
    /// `SUPERUSER`.
    pub superuser: bool,
    /// `BYPASSRLS`.
    pub bypassrls: bool,
    /// `CREATEROLE`.
    pub createrole: bool,
    /// `LOGIN`.
    pub can_login: bool,
}

/// A role the application role is a member of, directly or through other roles.
#[derive(Debug, Clone, Deserialize)]
pub struct Membership {
    /// The role reached.
    pub role: String,
    /// It is a superuser.
    pub superuser: bool,
    /// It has `BYPASSRLS`.
    pub bypassrls: bool,
    /// The chain from the application role to it.
    pub via: Vec<String>,
    /// Whether `SET ROLE` to it is allowed (always before PostgreSQL 16).
    pub can_set: bool,
}

/// Login-time settings (`ALTER ROLE … SET`, `ALTER DATABASE … SET`) that apply to the role.
#[derive(Debug, Clone, Deserialize)]
pub struct Setting {
    /// Where it is set: `role`, `database` or `role in database`.
    pub scope: String,
    /// `name=value` entries.
    pub config: Vec<String>,
}

/// What the role may do to a table outside of the policies (a column-level grant counts).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Privileges {
    /// `SELECT`.
    pub select: bool,
    /// `INSERT`.
    pub insert: bool,
    /// `UPDATE`.
    pub update: bool,
    /// `DELETE`.
    pub delete: bool,
    /// `TRUNCATE` (RLS does not apply).
    pub truncate: bool,
    /// `REFERENCES` (foreign keys probe other tenants' keys).
    pub references: bool,
    /// `TRIGGER` (a trigger runs in other tenants' sessions).
    pub trigger: bool,
}

/// One policy as the catalog holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct Policy {
    /// Policy name.
    pub name: String,
    /// Permissive (ORed) or restrictive (ANDed).
    pub permissive: bool,
    /// `r` select, `a` insert, `w` update, `d` delete, `*` all.
    pub command: String,
    /// Roles it is `TO` (`public` for everyone).
    pub roles: Vec<String>,
    /// Whether it applies to the application role (directly, through membership or PUBLIC).
    pub applies: bool,
    /// The `USING` expression.
    pub using: Option<String>,
    /// The `WITH CHECK` expression.
    pub with_check: Option<String>,
}

/// A tenant table.
#[derive(Debug, Clone, Deserialize)]
pub struct Table {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// The owner is a superuser or has BYPASSRLS.
    pub owner_bypasses: bool,
    /// The application role is the owner or a member of it.
    pub role_is_owner: bool,
    /// `ENABLE ROW LEVEL SECURITY`.
    pub rls: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    pub forced: bool,
    /// It has the tenant column.
    pub has_tenant_column: bool,
    /// The application role's privileges.
    pub privileges: Privileges,
    /// Columns an INSERT must name (no default, not generated, not identity), plus the tenant column.
    pub insert_columns: Vec<String>,
    /// Its policies.
    pub policies: Vec<Policy>,
}

impl Table {
    /// `schema.name`, quoted where needed, for SQL and messages.
    pub fn qualified(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.name))
    }

    /// `schema.name` for display.
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A SECURITY DEFINER function the application role may execute.
#[derive(Debug, Clone, Deserialize)]
pub struct Definer {
    /// `schema.name(args)`.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// The owner is a superuser or has BYPASSRLS.
    pub owner_bypasses: bool,
    /// The function's source text.
    pub source: String,
}

/// A view or materialized view over tenant tables.
#[derive(Debug, Clone, Deserialize)]
pub struct View {
    /// `schema.name`.
    pub name: String,
    /// `v` view, `m` materialized view.
    pub kind: String,
    /// Owner role.
    pub owner: String,
    /// The owner is a superuser or has BYPASSRLS.
    pub owner_bypasses: bool,
    /// `security_invoker` is on.
    pub security_invoker: bool,
    /// The application role may select from it.
    pub can_select: bool,
    /// The tenant tables it reads (`schema.name`).
    pub tables: Vec<String>,
}

/// Everything the static audit reads, from one query.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    /// `server_version_num`.
    pub server_version: i64,
    /// The admin login's role name.
    pub admin: String,
    /// The admin login bypasses RLS (superuser or BYPASSRLS).
    pub admin_bypasses: bool,
    /// The application role (absent when it does not exist).
    pub role: Option<RoleInfo>,
    /// Roles it is a member of.
    pub memberships: Vec<Membership>,
    /// Login-time settings.
    pub settings: Vec<Setting>,
    /// Tenant tables, by schema and name.
    pub tables: Vec<Table>,
    /// Extra tables named by the caller that do not exist.
    pub missing: Vec<String>,
    /// SECURITY DEFINER functions the role can execute.
    pub definers: Vec<Definer>,
    /// Views over tenant tables.
    pub views: Vec<View>,
}

/// Quote an identifier for SQL.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

const CATALOG_SQL: &str = r#"
WITH RECURSIVE
target AS (SELECT oid FROM pg_roles WHERE rolname = $1),
reach(oid, path, set_ok) AS (
    SELECT m.roleid, ARRAY[m.member, m.roleid],
           coalesce((to_jsonb(m) ->> 'set_option')::boolean, true)
      FROM pg_auth_members m WHERE m.member = (SELECT oid FROM target)
    UNION ALL
    SELECT m.roleid, r.path || m.roleid,
           r.set_ok AND coalesce((to_jsonb(m) ->> 'set_option')::boolean, true)
      FROM pg_auth_members m JOIN reach r ON m.member = r.oid
     WHERE NOT m.roleid = ANY (r.path)
),
tables AS (
    SELECT c.oid, n.nspname, c.relname, c.relowner, c.relrowsecurity, c.relforcerowsecurity
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
       AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = $2
                       AND a.attnum > 0 AND NOT a.attisdropped)
            OR c.oid IN (SELECT to_regclass(x) FROM unnest($3::text[]) x))
)
SELECT json_build_object(
  'server_version', current_setting('server_version_num')::int,
  'admin', current_user,
  'admin_bypasses', (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
  'role', (SELECT json_build_object('name', r.rolname, 'superuser', r.rolsuper,
                  'bypassrls', r.rolbypassrls, 'createrole', r.rolcreaterole,
                  'can_login', r.rolcanlogin)
             FROM pg_roles r WHERE r.oid = (SELECT oid FROM target)),
  'memberships', (SELECT coalesce(json_agg(json_build_object('role', r.rolname,
                  'superuser', r.rolsuper, 'bypassrls', r.rolbypassrls,
                  'via', (SELECT json_agg(pg_get_userbyid(x) ORDER BY i)
                            FROM unnest(m.path) WITH ORDINALITY u(x, i)),
                  'can_set', m.set_ok) ORDER BY r.rolname), '[]')
             FROM (SELECT DISTINCT ON (oid) * FROM reach ORDER BY oid, set_ok DESC,
                          array_length(path, 1)) m
             JOIN pg_roles r ON r.oid = m.oid),
  'settings', (SELECT coalesce(json_agg(json_build_object(
                  'scope', CASE WHEN s.setdatabase = 0 THEN 'role'
                                WHEN s.setrole = 0 THEN 'database' ELSE 'role in database' END,
                  'config', s.setconfig)), '[]')
             FROM pg_db_role_setting s
            WHERE (s.setdatabase = 0 AND s.setrole = (SELECT oid FROM target))
               OR (s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND s.setrole IN (0, (SELECT oid FROM target)))),
  'tables', (SELECT coalesce(json_agg(json_build_object(
                  'schema', t.nspname, 'name', t.relname, 'owner', o.rolname,
                  'owner_bypasses', o.rolsuper OR o.rolbypassrls,
                  'role_is_owner', coalesce(pg_has_role((SELECT oid FROM target), t.relowner, 'MEMBER'), false),
                  'rls', t.relrowsecurity, 'forced', t.relforcerowsecurity,
                  'has_tenant_column', EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                                         AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped),
                  'privileges', json_build_object(
                      'select', coalesce(has_any_column_privilege((SELECT oid FROM target), t.oid, 'SELECT'), false),
                      'insert', coalesce(has_any_column_privilege((SELECT oid FROM target), t.oid, 'INSERT'), false),
                      'update', coalesce(has_any_column_privilege((SELECT oid FROM target), t.oid, 'UPDATE'), false),
                      'delete', coalesce(has_table_privilege((SELECT oid FROM target), t.oid, 'DELETE'), false),
                      'truncate', coalesce(has_table_privilege((SELECT oid FROM target), t.oid, 'TRUNCATE'), false),
                      'references', coalesce(has_any_column_privilege((SELECT oid FROM target), t.oid, 'REFERENCES'), false),
                      'trigger', coalesce(has_table_privilege((SELECT oid FROM target), t.oid, 'TRIGGER'), false)),
                  'insert_columns', (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]')
                       FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum > 0
                        AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity = ''
                        AND (NOT a.atthasdef OR a.attname = $2)),
                  'policies', (SELECT coalesce(json_agg(json_build_object(
                       'name', p.polname, 'permissive', p.polpermissive, 'command', p.polcmd::text,
                       'roles', (SELECT json_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END)
                                   FROM unnest(p.polroles) r),
                       'applies', 0 = ANY (p.polroles) OR EXISTS (SELECT 1 FROM unnest(p.polroles) r
                                   WHERE r <> 0 AND pg_has_role((SELECT oid FROM target), r, 'MEMBER')),
                       'using', pg_get_expr(p.polqual, p.polrelid),
                       'with_check', pg_get_expr(p.polwithcheck, p.polrelid)) ORDER BY p.polname), '[]')
                       FROM pg_policy p WHERE p.polrelid = t.oid)
             ) ORDER BY t.nspname, t.relname), '[]')
             FROM tables t JOIN pg_roles o ON o.oid = t.relowner),
  'missing', (SELECT coalesce(json_agg(x), '[]') FROM unnest($3::text[]) x WHERE to_regclass(x) IS NULL),
  'definers', (SELECT coalesce(json_agg(json_build_object('name', p.oid::regprocedure::text,
                  'owner', o.rolname, 'owner_bypasses', o.rolsuper OR o.rolbypassrls,
                  'source', p.prosrc) ORDER BY 1), '[]')
             FROM pg_proc p JOIN pg_roles o ON o.oid = p.proowner
             JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND coalesce(has_function_privilege((SELECT oid FROM target), p.oid, 'EXECUTE'), false)),
  'views', (SELECT coalesce(json_agg(json_build_object('name', v.oid::regclass::text,
                  'kind', v.relkind::text, 'owner', o.rolname,
                  'owner_bypasses', o.rolsuper OR o.rolbypassrls,
                  'security_invoker', coalesce(v.reloptions && ARRAY['security_invoker=true',
                       'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'], false),
                  'can_select', coalesce(has_table_privilege((SELECT oid FROM target), v.oid, 'SELECT'), false),
                  'tables', deps.names) ORDER BY 1), '[]')
             FROM pg_class v JOIN pg_roles o ON o.oid = v.relowner
             JOIN LATERAL (SELECT json_agg(DISTINCT t.nspname || '.' || t.relname) AS names
                             FROM pg_rewrite rw
                             JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                             AND d.refclassid = 'pg_class'::regclass
                             JOIN tables t ON t.oid = d.refobjid
                            WHERE rw.ev_class = v.oid AND d.refobjid <> v.oid) deps ON deps.names IS NOT NULL
            WHERE v.relkind IN ('v', 'm'))
)::text
"#;

/// Read the catalog as the admin login: one round trip for every tenant table.
pub async fn read(
    client: &Client,
    role: &str,
    tenant_column: &str,
    extra_tables: &[String],
) -> Result<Catalog, String> {
    let row = client
        .query_one(CATALOG_SQL, &[&role, &tenant_column, &extra_tables])
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    let text: String = row.try_get(0).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("unexpected catalog answer: {e}"))
}
