//! The full RLS audit of the five Phase 2 tables, timed against the same checks run as `psql -c`
//! invocations one by one (the seed's way), side by side on one throwaway cluster.
//!
//! Then the same audit with a 200,000-row tenant in one table, and the dead tuples it leaves.
//!
//! `cargo bench --bench verify_rls`. Targets: the audit under 300 ms and at least 5x faster; with
//! the big tenant under 1 s and at most 100 dead tuples per table.

use std::process::Command;
use std::time::{Duration, Instant};

use golive::pg::cluster::{Cluster, ClusterOptions};
use golive::verify::rls::{self, RlsOptions};

const TABLES: [&str; 5] = [
    "customers",
    "vehicles",
    "appointments",
    "services",
    "service_operations",
];
const A: &str = "11111111-1111-4111-8111-111111111111";
const B: &str = "22222222-2222-4222-8222-222222222222";
const RUNS: usize = 7;

fn url(port: u16, user: &str, db: &str) -> String {
    format!("postgres://{user}@127.0.0.1:{port}/{db}")
}

/// The audit's checks as separate psql commands: (login, SQL).
fn psql_checks() -> Vec<(&'static str, String)> {
    let set_a = format!("SELECT set_config('app.tenant_id', '{A}', true)");
    let mut out: Vec<(&str, String)> = vec![
        ("postgres", "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = 'app_user'".into()),
        ("postgres", "WITH RECURSIVE r(oid) AS (SELECT roleid FROM pg_auth_members WHERE member = 'app_user'::regrole UNION SELECT m.roleid FROM pg_auth_members m JOIN r ON m.member = r.oid) SELECT rolname, rolsuper, rolbypassrls FROM r JOIN pg_roles p ON p.oid = r.oid".into()),
        ("postgres", "SELECT setconfig FROM pg_db_role_setting WHERE setrole IN (0, 'app_user'::regrole)".into()),
        ("postgres", "SELECT p.oid::regprocedure, pg_get_userbyid(p.proowner), p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND has_function_privilege('app_user', p.oid, 'EXECUTE')".into()),
        ("postgres", "SELECT c.oid::regclass, c.reloptions FROM pg_class c WHERE c.relkind IN ('v', 'm')".into()),
    ];
    for t in TABLES {
        out.extend([
            ("postgres", format!("SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner), pg_has_role('app_user', relowner, 'MEMBER') FROM pg_class WHERE oid = '{t}'::regclass")),
            ("postgres", format!("SELECT polname, polpermissive, polcmd, polroles, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) FROM pg_policy WHERE polrelid = '{t}'::regclass")),
            ("postgres", format!("SELECT {} FROM (VALUES (1)) v", ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"].map(|p| format!("has_table_privilege('app_user', '{t}', '{p}')")).join(", "))),
            ("postgres", format!("SELECT attname FROM pg_attribute WHERE attrelid = '{t}'::regclass AND attnum > 0 AND NOT attisdropped AND NOT atthasdef")),
            ("postgres", format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE tenant_id = '{A}')")),
            ("postgres", format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE tenant_id = '{B}')")),
            ("postgres", format!("SELECT row_to_json(x) FROM {t} x WHERE tenant_id = '{A}' LIMIT 1")),
            ("app_user", format!("SELECT count(*) FROM {t}")),
            ("app_user", format!("BEGIN; {set_a}; COMMIT; SELECT count(*) FROM {t}")),
            ("app_user", format!("SET app.tenant_id = '{A}'; RESET app.tenant_id; SELECT count(*) FROM {t}")),
            ("app_user", format!("BEGIN; {set_a}; SELECT count(*) FROM {t} WHERE tenant_id <> '{A}'; ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; SELECT count(*) FROM {t} WHERE tenant_id = '{A}'; ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; INSERT INTO {t} SELECT (x).* FROM (SELECT x FROM {t} x WHERE tenant_id = '{A}' LIMIT 1) s; ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; UPDATE {t} SET tenant_id = '{B}' WHERE id = (SELECT min(id) FROM {t}); ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; UPDATE {t} SET tenant_id = tenant_id WHERE tenant_id = '{B}'; ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; DELETE FROM {t} WHERE tenant_id = '{B}'; ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; INSERT INTO {t} SELECT (x).* FROM (SELECT x FROM {t} x WHERE tenant_id = '{A}' LIMIT 1) s; ROLLBACK")),
            ("app_user", format!("BEGIN; {set_a}; UPDATE {t} SET tenant_id = tenant_id WHERE id = (SELECT min(id) FROM {t}); ROLLBACK")),
        ]);
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::start(&ClusterOptions::default())?;
    let port = cluster.port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let admin = golive::pg::connect(&url(port, "postgres", "postgres"), "bench").await?;
        admin.client.batch_execute("CREATE DATABASE shop").await?;
        let db = golive::pg::connect(&url(port, "postgres", "shop"), "bench").await?;
        db.client
            .batch_execute(include_str!("../assets/sandbox/schema.sql"))
            .await?;
        db.client
            .batch_execute(&format!(
                "BEGIN; SET ROLE app_owner; {}\n{}\nCOMMIT;",
                include_str!("../assets/sql/catalog-v2-columns.sql"),
                golive::sandbox::RLS_ON_SQL
            ))
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;

    let mut options = RlsOptions::new(url(port, "postgres", "shop"));
    options.app_database_url = Some(url(port, "app_user", "shop"));
    options.tenants = vec![A.into(), B.into()];
    let mut audits = Vec::new();
    let mut probes = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let report = rt.block_on(rls::audit(&options))?;
        audits.push(started.elapsed());
        probes = report.probes.iter().filter(|p| p.passed.is_some()).count();
        assert!(
            report.findings.iter().all(|f| !f.severity.is_blocking()),
            "{:?}",
            report.findings
        );
    }

    let checks = psql_checks();
    let mut psql_runs = Vec::new();
    let mut refused = 0;
    for _ in 0..3 {
        let started = Instant::now();
        refused = 0;
        for (user, sql) in &checks {
            let out = Command::new("psql")
                .args(["-X", "-q", "-d", &url(port, user, "shop"), "-c", sql])
                .output()?;
            // The denial probes are meant to fail (42501); copies of a row may hit its key.
            refused += usize::from(!out.status.success());
        }
        psql_runs.push(started.elapsed());
    }

    let audit = median(audits.clone());
    let psql = median(psql_runs);
    println!("verify_rls: full audit of 5 tables ({probes} probes + static checks), {RUNS} runs");
    println!(
        "  golive audit       median {:>8.1} ms   (min {:.1} ms)",
        audit.as_secs_f64() * 1e3,
        audits.iter().min().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    println!(
        "  psql -c one by one median {:>8.1} ms   ({} invocations, {refused} refused as the probes expect)",
        psql.as_secs_f64() * 1e3,
        checks.len()
    );
    println!(
        "  ratio              {:.1}x faster",
        psql.as_secs_f64() / audit.as_secs_f64()
    );
    big_tenant(&rt, port, &options)?;
    drop(cluster);
    Ok(())
}

/// The audit with 200,000 rows of tenant A in `service_operations`: time and dead tuples.
fn big_tenant(
    rt: &tokio::runtime::Runtime,
    port: u16,
    options: &RlsOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let dead = |admin: &tokio_postgres::Client| {
        rt.block_on(async {
            // Every audit's connections are closed by now; give their stats a moment to land.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            admin
                .batch_execute("SELECT pg_stat_clear_snapshot()")
                .await?;
            let row = admin
                .query_one(
                    "SELECT coalesce(max(n_dead_tup), 0) FROM pg_stat_user_tables",
                    &[],
                )
                .await?;
            Ok::<i64, tokio_postgres::Error>(row.get(0))
        })
    };
    let admin = rt.block_on(golive::pg::connect(&url(port, "postgres", "shop"), "bench"))?;
    rt.block_on(admin.client.batch_execute(&format!(
        "INSERT INTO service_operations (tenant_id, name, category, duration_minutes, price_cents)
         SELECT '{A}', 'op ' || g, 'bulk', 10, 100 FROM generate_series(1, 200000) g"
    )))?;
    rt.block_on(admin.client.batch_execute("VACUUM ANALYZE"))?;
    let before = dead(&admin.client)?;
    let mut audits = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let report = rt.block_on(rls::audit(options))?;
        audits.push(started.elapsed());
        assert!(
            report.findings.iter().all(|f| !f.blocks()),
            "{:?}",
            report.findings
        );
    }
    let after = dead(&admin.client)?;
    let audit = median(audits.clone());
    println!("verify_rls: the same audit with 200,000 rows of tenant A in service_operations");
    println!(
        "  golive audit       median {:>8.1} ms   (max {:.1} ms)",
        audit.as_secs_f64() * 1e3,
        audits.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    println!(
        "  dead tuples        {} in the worst table after {RUNS} audits ({:.1} per audit)",
        after - before,
        (after - before) as f64 / RUNS as f64
    );
    Ok(())
}
