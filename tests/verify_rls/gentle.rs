//! Safe on production: a big tenant, a row held by another session, a busy application, a
//! locked table, and the catalog checks alone.

use super::*;

const A: &str = "11111111-1111-4111-8111-111111111111";

/// 200,000 rows of tenant A in `service_operations`, as the admin.
async fn big_tenant(port: u16, db: &str) {
    exec(
        &url(port, "postgres", db),
        &format!(
            "INSERT INTO service_operations (tenant_id, name, category, duration_minutes, price_cents)
             SELECT '{A}', 'op ' || g, 'bulk', 10, 100 FROM generate_series(1, 200000) g;
             ANALYZE service_operations;"
        ),
    )
    .await;
}

/// Dead tuples in `service_operations` once every other session of the database has gone.
async fn dead_tuples(admin: &tokio_postgres::Client) -> i64 {
    for _ in 0..100 {
        let others: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("activity")
            .get(0);
        if others == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    admin
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .expect("clear");
    admin
        .query_one(
            "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'service_operations'",
            &[],
        )
        .await
        .expect("stats")
        .get(0)
}

/// The application updating A's rows (those the probes are likeliest to touch) in a loop, with a
/// 500 ms lock_timeout, until told to stop: (updates committed, lock timeouts).
async fn application(
    app_url: String,
    ids: Vec<i64>,
    stop: tokio_util::sync::CancellationToken,
) -> (i64, Vec<String>) {
    let app = golive::pg::connect(&app_url, "test")
        .await
        .expect("connect");
    app.client
        .batch_execute("SET lock_timeout = '500ms'")
        .await
        .expect("set");
    let (mut done, mut errors) = (0, Vec::new());
    let update = "UPDATE service_operations SET price_cents = price_cents + 1 WHERE id = $1";
    while !stop.is_cancelled() {
        for id in &ids {
            let tx = app
                .client
                .batch_execute(&format!(
                    "BEGIN; SELECT set_config('app.tenant_id', '{A}', true)"
                ))
                .await;
            let result = match tx {
                Ok(()) => app.client.execute(update, &[id]).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(n) => {
                    app.client.batch_execute("COMMIT").await.expect("commit");
                    done += i64::try_from(n).expect("count");
                }
                Err(e) => {
                    errors.push(golive::pg::describe(&e));
                    app.client
                        .batch_execute("ROLLBACK")
                        .await
                        .expect("rollback");
                }
            }
        }
    }
    (done, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_tenant_with_a_held_row_and_a_busy_application_is_audited_gently() {
    let (port, db) = database("").await;
    big_tenant(port, &db).await;
    let admin = golive::pg::connect(&url(port, "postgres", &db), "test")
        .await
        .expect("connect");
    let before = dead_tuples(&admin.client).await;
    let first_ids: Vec<i64> = admin
        .client
        .query(
            &format!(
                "SELECT id FROM service_operations WHERE tenant_id = '{A}' ORDER BY ctid LIMIT 20"
            ),
            &[],
        )
        .await
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Another session holds A's first row (in the order a scan meets it) as an UPDATE would.
    let holder = golive::pg::connect(&url(port, "app_user", &db), "test")
        .await
        .expect("connect");
    holder
        .client
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.tenant_id', '{A}', true);
             SELECT 1 FROM service_operations WHERE id = {} FOR NO KEY UPDATE",
            first_ids[0]
        ))
        .await
        .expect("hold a row");
    let stop = tokio_util::sync::CancellationToken::new();
    let busy = tokio::spawn(application(
        url(port, "app_user", &db),
        first_ids[1..].to_vec(),
        stop.clone(),
    ));
    let mut report = None;
    for _ in 0..3 {
        report = Some(audit_as(port, &db, "app_user").await);
    }
    let report = report.expect("audited");
    stop.cancel();
    let (updates, errors) = busy.await.expect("application");
    holder
        .client
        .batch_execute("ROLLBACK")
        .await
        .expect("release");
    drop(holder);

    assert!(
        errors.is_empty(),
        "the application timed out behind the audit: {errors:?}"
    );
    assert!(updates > 0, "the application never ran");
    // No false "broken" and nothing to be unsure about: no probe needed the held row.
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity >= Severity::Warning),
        "{:?}",
        report.findings
    );
    let table = |probe: &str| {
        report
            .probes
            .iter()
            .find(|p| p.table == "public.service_operations" && p.probe == probe)
            .and_then(|p| p.passed)
    };
    for probe in [
        "update-unfiltered",
        "delete-unfiltered",
        "update-own",
        "delete-own",
        "move-a-to-b",
    ] {
        assert_eq!(table(probe), Some(true), "{probe}");
    }
    // Three audits; each leaves a handful of dead tuples, not 200,000.
    let audit_dead = dead_tuples(&admin.client).await - before - updates;
    assert!(
        audit_dead <= 100,
        "three audits left {audit_dead} dead tuples in the big table"
    );
}

#[tokio::test]
async fn a_table_locked_by_another_session_is_inconclusive_naming_its_pid() {
    use golive::verify::findings::Allowance;
    let (port, db) = database("").await;
    let locker = golive::pg::connect(&url(port, "postgres", &db), "test")
        .await
        .expect("connect");
    let pid: i32 = locker
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    // A migration holding a lock that lets reads through and stops writes.
    locker
        .client
        .batch_execute("BEGIN; LOCK TABLE vehicles IN EXCLUSIVE MODE")
        .await
        .expect("lock");
    let report = audit_as(port, &db, "app_user").await;
    let unsure: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Inconclusive)
        .collect();
    // vehicles, and the tables whose foreign keys lock vehicles' rows (appointments' INSERT,
    // customers' DELETE): each gives way once, then its remaining write probes stop.
    assert!(
        unsure.iter().any(|f| f.subject == "public.vehicles"),
        "{unsure:?}"
    );
    for f in &unsure {
        assert!(
            f.seen
                .contains(&format!("locked by pid {pid} (ExclusiveLock on vehicles)")),
            "{}",
            f.seen
        );
        let per_table = unsure.iter().filter(|g| g.subject == f.subject).count();
        assert_eq!(per_table, 1, "one wait per table: {unsure:?}");
    }
    assert!(!has(
        &report,
        "public.vehicles",
        "insert-own",
        Severity::Broken
    ));
    assert_eq!(report.verdict, Verdict::Fail, "inconclusive is not a pass");
    let text = report.text_lines().join("\n");
    assert!(text.contains("INCONCLUSIVE"), "{text}");

    let mut options = RlsOptions::new(url(port, "postgres", &db));
    options.app_database_url = Some(url(port, "app_user", &db));
    options.allow = vec![Allowance::Inconclusive];
    let accepted = rls::audit(&options).await.expect("audit");
    assert_eq!(accepted.verdict, Verdict::Pass, "{:?}", accepted.findings);
    locker
        .client
        .batch_execute("ROLLBACK")
        .await
        .expect("unlock");
}

#[tokio::test]
async fn static_only_runs_no_probe_and_still_finds_the_catalog_holes() {
    let (port, db) = database("ALTER TABLE customers DISABLE ROW LEVEL SECURITY;").await;
    let mut options = RlsOptions::new(url(port, "postgres", &db));
    options.static_only = true;
    let report = rls::audit(&options).await.expect("audit");
    assert!(report.probes.is_empty(), "{:?}", report.probes);
    assert_eq!(report.probes_as, rls::STATIC_ONLY);
    assert!(has(
        &report,
        "public.customers",
        "rls-enabled",
        Severity::FailOpen
    ));
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.check == "no-tenant" || f.check == "set-role")
    );
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn rows_held_by_another_session_are_inconclusive_naming_its_pid_never_broken() {
    let (port, db) = database("").await;
    let holder = golive::pg::connect(&url(port, "postgres", &db), "test")
        .await
        .expect("connect");
    let pid: i32 = holder
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    // Every catalog entry of A held FOR UPDATE: A's own UPDATE must wait, and so must an INSERT
    // into services, whose foreign key locks the catalog entry it names.
    holder
        .client
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM service_operations WHERE tenant_id = '{A}' FOR UPDATE"
        ))
        .await
        .expect("hold");
    let report = audit_as(port, &db, "app_user").await;
    holder
        .client
        .batch_execute("ROLLBACK")
        .await
        .expect("release");
    let found = |subject: &str| {
        report
            .findings
            .iter()
            .find(|f| f.subject == subject && f.severity == Severity::Inconclusive)
            .unwrap_or_else(|| panic!("{subject}: {:#?}", report.findings))
    };
    let own = found("public.service_operations");
    assert_eq!(own.check, "update-own");
    let services = found("public.services");
    for f in [own, services] {
        assert!(
            f.seen.contains(&format!("locked by pid {pid} (the row)")),
            "{}",
            f.seen
        );
    }
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity != Severity::Broken),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Fail);
}
