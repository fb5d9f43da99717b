//! `golive verify rls` against a real PostgreSQL: the correct Phase 2 database passes, and each
//! class of broken setup is caught by the check meant for it.

mod common;
#[path = "verify_rls/gentle.rs"]
mod gentle;
#[path = "verify_rls/leaks.rs"]
mod leaks;

use golive::verify::rls::{self, RlsOptions, RlsReport};
use golive::verify::{Severity, Verdict};

use common::Db;

const PRED: &str = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid";

fn url(port: u16, user: &str, db: &str) -> String {
    format!("postgres://{user}@127.0.0.1:{port}/{db}")
}

async fn exec(url: &str, sql: &str) {
    let s = golive::pg::connect(url, "test").await.expect("connect");
    s.client.batch_execute(sql).await.expect("setup SQL");
}

/// A fresh copy of the Phase 2 database with `breakage` applied as superuser.
async fn database(breakage: &str) -> (u16, String) {
    let db = tokio::task::spawn_blocking(Db::phase2)
        .await
        .expect("database");
    if !breakage.is_empty() {
        exec(&db.admin_url(), breakage).await;
    }
    (db.port(), db.name)
}

async fn audit_as(port: u16, db: &str, role: &str) -> RlsReport {
    let mut options = RlsOptions::new(url(port, "postgres", db));
    options.app_database_url = Some(url(port, role, db));
    options.role = role.to_string();
    let report = rls::audit(&options).await.expect("audit runs");
    for line in report.text_lines() {
        println!("{line}");
    }
    report
}

fn has(report: &RlsReport, subject: &str, check: &str, severity: Severity) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.subject == subject && f.check == check && f.severity == severity)
}

fn blocking(report: &RlsReport) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.severity.is_blocking())
        .map(|f| format!("{} {} {}", f.subject, f.check, f.seen))
        .collect()
}

#[tokio::test]
async fn correct_phase2_passes_with_no_blocking_finding() {
    let (port, db) = database("").await;
    let report = audit_as(port, &db, "app_user").await;
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", blocking(&report));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity >= Severity::Warning),
        "{:?}",
        report.findings
    );
    assert_eq!(report.tables.len(), 5);
    assert_eq!(report.policies.len(), 5);
    assert!(report.probes.iter().all(|p| p.passed != Some(false)));
    assert!(
        report
            .probes
            .iter()
            .filter(|p| p.passed == Some(true))
            .count()
            >= 50
    );
    let text = report.text_lines().join("\n");
    assert!(text.contains(rls::READ_ONLY) && text.contains("verdict: PASS"));
    let json = serde_json::to_value(&report).expect("json");
    assert!(json["findings"].is_array() && json["read_only"] == true);

    // Without an application login: SET ROLE, with a warning that login settings are not covered.
    let report = rls::audit(&RlsOptions::new(url(port, "postgres", &db)))
        .await
        .expect("audit");
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", blocking(&report));
    assert!(has(&report, "role app_user", "set-role", Severity::Warning));
}

#[tokio::test]
async fn rls_not_enabled_is_fail_open() {
    let (port, db) = database("ALTER TABLE customers DISABLE ROW LEVEL SECURITY;").await;
    let report = audit_as(port, &db, "app_user").await;
    assert_eq!(report.verdict, Verdict::Fail);
    assert!(has(
        &report,
        "public.customers",
        "rls-enabled",
        Severity::FailOpen
    ));
    assert!(has(
        &report,
        "public.customers",
        "no-tenant",
        Severity::FailOpen
    ));
}

#[tokio::test]
async fn enabled_but_not_forced_with_the_app_role_as_owner_is_fail_open() {
    let (port, db) = database(
        "ALTER TABLE vehicles NO FORCE ROW LEVEL SECURITY; ALTER TABLE vehicles OWNER TO app_user;",
    )
    .await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.vehicles",
        "table-owner",
        Severity::FailOpen
    ));
    assert!(has(
        &report,
        "public.vehicles",
        "rls-forced",
        Severity::Warning
    ));
    assert!(has(
        &report,
        "public.vehicles",
        "no-tenant",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn second_permissive_policy_using_true_is_fail_open() {
    let (port, db) =
        database("CREATE POLICY reporting ON services AS PERMISSIVE FOR SELECT USING (true);")
            .await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.services",
        "policy-using",
        Severity::FailOpen
    ));
    assert!(has(
        &report,
        "public.services",
        "a-only-a",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

/// A loose single-command policy on `services` is caught by the probe that reads no column
/// (`unfiltered`), and missed by the one with a WHERE (`filtered`): a WHERE reads a column, so the
/// SELECT policy, which hides B's rows, applies too.
async fn caught_only_without_where(policy: &str, unfiltered: &str, filtered: &str) {
    let (port, db) = database(policy).await;
    let report = audit_as(port, &db, "app_user").await;
    let found = |check: &str| {
        report
            .findings
            .iter()
            .any(|f| f.subject == "public.services" && f.check == check)
    };
    assert!(
        has(
            &report,
            "public.services",
            unfiltered,
            Severity::CrossTenantWrite
        ),
        "{:#?}",
        report.findings
    );
    assert!(
        !found(filtered),
        "the WHERE form cannot see it: {:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn a_loose_update_only_policy_is_caught_by_an_update_without_where() {
    caught_only_without_where(
        "CREATE POLICY support_fix ON services AS PERMISSIVE FOR UPDATE USING (true) WITH CHECK (true);",
        "update-unfiltered",
        "update-b",
    )
    .await;
}

#[tokio::test]
async fn a_loose_delete_only_policy_is_caught_by_a_delete_without_where() {
    caught_only_without_where(
        "CREATE POLICY support_purge ON services AS PERMISSIVE FOR DELETE USING (true);",
        "delete-unfiltered",
        "delete-b",
    )
    .await;
}

#[tokio::test]
async fn with_check_true_is_a_cross_tenant_write_and_the_probe_changes_nothing() {
    let (port, db) = database(&format!(
        "DROP POLICY tenant_isolation ON appointments;
             CREATE POLICY tenant_isolation ON appointments USING ({PRED}) WITH CHECK (true);"
    ))
    .await;
    let count = "SELECT count(*)::text || ':' || sum(hashtext(a::text))::text FROM appointments a";
    let admin = golive::pg::connect(&url(port, "postgres", &db), "test")
        .await
        .expect("connect");
    let before: String = admin.client.query_one(count, &[]).await.expect("q").get(0);
    let report = audit_as(port, &db, "app_user").await;
    let after: String = admin.client.query_one(count, &[]).await.expect("q").get(0);
    assert_eq!(before, after, "the audit changed data");
    assert!(has(
        &report,
        "public.appointments",
        "policy-with-check",
        Severity::CrossTenantWrite
    ));
    assert!(has(
        &report,
        "public.appointments",
        "insert-b",
        Severity::CrossTenantWrite
    ));
    assert!(has(
        &report,
        "public.appointments",
        "move-a-to-b",
        Severity::CrossTenantWrite
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn policy_without_nullif_is_fail_noisy_on_a_reused_connection() {
    let bad = "tenant_id = current_setting('app.tenant_id', true)::uuid";
    let (port, db) = database(&format!(
        "DROP POLICY tenant_isolation ON customers;
             CREATE POLICY tenant_isolation ON customers USING ({bad}) WITH CHECK ({bad});"
    ))
    .await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.customers",
        "policy-nullif",
        Severity::FailNoisy
    ));
    let noisy = report
        .findings
        .iter()
        .find(|f| f.check == "after-set-local" && f.subject == "public.customers")
        .expect("the reused-connection probe fails");
    assert_eq!(noisy.severity, Severity::FailNoisy);
    assert!(noisy.seen.contains("22P02"), "{}", noisy.seen);
    assert!(has(
        &report,
        "public.customers",
        "after-reset",
        Severity::FailNoisy
    ));
    // A fresh connection is fine: the setting is NULL there.
    assert!(!has(
        &report,
        "public.customers",
        "no-tenant",
        Severity::FailNoisy
    ));
    // Fail-noisy blocks the go-live: every request without a tenant would be a 500.
    assert_eq!(report.verdict, Verdict::Fail, "{:?}", report.findings);
    assert!(
        blocking(&report)
            .iter()
            .all(|f| f.contains("public.customers"))
    );
    assert!(
        report.summary().contains("fail-noisy"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn fail_noisy_fails_the_gate_unless_accepted_on_the_command_and_the_step() {
    use golive::verify::findings::Allowance;
    // Without missing_ok: 42704 on every connection that never set the tenant.
    let bad = "tenant_id = current_setting('app.tenant_id')::uuid";
    let (port, db) = database(&format!(
        "DROP POLICY tenant_isolation ON vehicles;
             CREATE POLICY tenant_isolation ON vehicles USING ({bad}) WITH CHECK ({bad});"
    ))
    .await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.vehicles",
        "policy-missing-ok",
        Severity::FailNoisy
    ));
    assert!(has(
        &report,
        "public.vehicles",
        "no-tenant",
        Severity::FailNoisy
    ));
    assert_eq!(report.verdict, Verdict::Fail);

    let mut options = RlsOptions::new(url(port, "postgres", &db));
    options.app_database_url = Some(url(port, "app_user", &db));
    options.allow = vec![Allowance::FailNoisy];
    let accepted = rls::audit(&options).await.expect("audit");
    assert_eq!(accepted.verdict, Verdict::Pass, "{:?}", blocking(&accepted));
    let noisy: Vec<_> = accepted
        .findings
        .iter()
        .filter(|f| f.severity == Severity::FailNoisy)
        .collect();
    assert!(!noisy.is_empty() && noisy.iter().all(|f| f.accepted));
    let text = accepted.text_lines().join("\n");
    assert!(text.contains("FAIL-NOISY (accepted)"), "{text}");
    assert!(
        text.contains("accepted by the operator: fail-noisy"),
        "{text}"
    );
    assert!(
        accepted.summary().contains("accepted"),
        "{}",
        accepted.summary()
    );
    // Accepting the other class does not accept this one.
    options.allow = vec![Allowance::Inconclusive];
    let other = rls::audit(&options).await.expect("audit");
    assert_eq!(other.verdict, Verdict::Fail);

    // The runbook step: fails without the key, passes with it, and says so in its output.
    let (result, _) = run_step(STEP_TOML, port, &db).await;
    let Err(golive::exec::StepError::Failed(summary)) = result else {
        panic!("a fail-noisy policy must fail the step: {result:?}");
    };
    assert!(summary.contains("fail-noisy"), "{summary}");
    let allowing = format!("{STEP_TOML}allow = [\"fail-noisy\"]\n");
    let (result, text) = run_step(&allowing, port, &db).await;
    let summary = result.expect("accepted fail-noisy passes the step");
    assert!(
        summary.starts_with("verdict: PASS") && summary.contains("accepted"),
        "{summary}"
    );
    assert!(text.contains("allow = [\"fail-noisy\"]"), "{text}");
    assert!(text.contains("FAIL-NOISY (accepted)"), "{text}");

    // A value that is not a class is a runbook error naming the choices.
    let wrong = format!("{STEP_TOML}allow = [\"fail-open\"]\n");
    let err = golive::runbook::parse(std::path::Path::new("runbook.toml"), &wrong)
        .expect_err("fail-open cannot be accepted");
    let err = format!("{err:?}");
    assert!(err.contains("fail-noisy, inconclusive"), "{err}");
}

#[tokio::test]
async fn policy_true_when_the_setting_is_null_is_fail_open() {
    let open = "tenant_id = current_setting('app.tenant_id', true)::uuid \
                OR current_setting('app.tenant_id', true) IS NULL";
    let (port, db) = database(&format!(
            "DROP POLICY tenant_isolation ON service_operations;
             CREATE POLICY tenant_isolation ON service_operations USING ({open}) WITH CHECK ({PRED});"
        ),
    )
    .await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.service_operations",
        "policy-using",
        Severity::FailOpen
    ));
    assert!(has(
        &report,
        "public.service_operations",
        "no-tenant",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

const APP_GRANTS: &str = "GRANT USAGE ON SCHEMA public TO {r};
    GRANT SELECT, INSERT, UPDATE, DELETE ON customers, vehicles, appointments, services,
          service_operations TO {r};
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {r};";

#[tokio::test]
async fn app_role_with_bypassrls_is_fail_open() {
    let (port, db) = database(&format!(
        "CREATE ROLE t_bypass LOGIN BYPASSRLS; {}",
        APP_GRANTS.replace("{r}", "t_bypass")
    ))
    .await;
    let report = audit_as(port, &db, "t_bypass").await;
    assert!(has(
        &report,
        "role t_bypass",
        "role-bypassrls",
        Severity::FailOpen
    ));
    assert!(has(
        &report,
        "public.customers",
        "no-tenant",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn app_role_member_of_a_bypassrls_role_is_fail_open() {
    let (port, db) = database(&format!(
        "CREATE ROLE t_auditors NOLOGIN BYPASSRLS; CREATE ROLE t_member LOGIN;
             GRANT t_auditors TO t_member; {}",
        APP_GRANTS.replace("{r}", "t_member")
    ))
    .await;
    let report = audit_as(port, &db, "t_member").await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.check == "role-membership")
        .expect("membership finding");
    assert_eq!(finding.severity, Severity::FailOpen);
    assert!(finding.seen.contains("t_auditors"), "{}", finding.seen);
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn app_role_owning_a_table_is_fail_open() {
    let (port, db) = database("ALTER TABLE appointments OWNER TO app_user;").await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.appointments",
        "table-owner",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn security_definer_function_leaking_rows_is_fail_open() {
    let (port, db) = database(
        "SET ROLE app_owner;
         CREATE FUNCTION public.customer_directory() RETURNS SETOF customers
             LANGUAGE sql SECURITY DEFINER AS 'SELECT * FROM public.customers';
         RESET ROLE;",
    )
    .await;
    // The leak is real: without a tenant, the application role reads every tenant's customers.
    let app = golive::pg::connect(&url(port, "app_user", &db), "test")
        .await
        .expect("connect");
    let leaked: i64 = app
        .client
        .query_one("SELECT count(*) FROM customer_directory()", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(leaked, 120);
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.customers",
        "security-definer",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn rls_on_without_a_policy_is_broken() {
    let (port, db) = database("DROP POLICY tenant_isolation ON services;").await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.services",
        "policy-missing",
        Severity::Broken
    ));
    assert!(has(
        &report,
        "public.services",
        "a-reads-own",
        Severity::Broken
    ));
    assert!(
        report
            .policies
            .iter()
            .any(|p| p.table == "public.services" && p.policy == "(none)")
    );
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn canary_db_probes_pass_on_phase2_and_fail_without_rls() {
    use golive::verify::canary::{self, CanaryOptions, CanaryOutcome};
    let (port, good) = database("").await;
    let (_, bad) = database("ALTER TABLE vehicles DISABLE ROW LEVEL SECURITY;").await;
    for (db, expected) in [(good, CanaryOutcome::Pass), (bad, CanaryOutcome::Fail)] {
        let options = CanaryOptions {
            app_database_url: Some(url(port, "app_user", &db)),
            tables: vec!["customers".into(), "public.vehicles".into()],
            tenant_column: "tenant_id".into(),
            tenant_setting: "app.tenant_id".into(),
            tenant: Some("11111111-1111-4111-8111-111111111111".into()),
            api: None,
        };
        let results = canary::canary(&options).await;
        assert_eq!(results.len(), 2);
        assert!(
            results.iter().all(|r| r.outcome == expected),
            "{db}: {results:?}"
        );
    }
}

/// Run the single `verify-rls` step of `toml` against database `db`; its result and its output.
async fn run_step(
    toml: &str,
    port: u16,
    db: &str,
) -> (Result<String, golive::exec::StepError>, String) {
    use golive::exec::{OutputSink, StepCtx};
    use golive::pg::Databases;
    use golive::runbook::{StepKind, Vars};

    let runbook =
        golive::runbook::parse(std::path::Path::new("runbook.toml"), toml).expect("runbook");
    let StepKind::VerifyRls(spec) = &runbook.steps[0].kind else {
        panic!("not a verify-rls step");
    };
    let (admin, app) = (url(port, "postgres", db), url(port, "app_user", db));
    let vars = Vars::partial(&runbook, |name| match name {
        "DATABASE_URL" => Some(admin.clone()),
        "APP_DATABASE_URL" => Some(app.clone()),
        _ => None,
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let mut sink = OutputSink::new(0, tx, vars.redactor().clone(), None).expect("sink");
    let mut dbs = Databases::default();
    let dir = std::env::temp_dir();
    let mut ctx = StepCtx {
        rehearsal: false,
        vars: &vars,
        out: &mut sink,
        cancel: tokio_util::sync::CancellationToken::new(),
        dbs: &mut dbs,
        run_dir: &dir,
        base_dir: &dir,
        runbook: &runbook,
        pid_file: None,
    };
    let result = golive::exec::verify::run_rls_step(spec, &mut ctx).await;
    sink.finish().await.expect("flush");
    drop(sink);
    let mut text = String::new();
    while let Some(event) = rx.recv().await {
        if let golive::events::EngineEvent::Output { chunks, .. } = event {
            chunks
                .iter()
                .for_each(|c| text.push_str(&format!("{}\n", c.text)));
        }
    }
    (result, text)
}

const STEP_TOML: &str = r#"
[runbook]
name = "verify"
[vars]
DATABASE_URL = { required = true, secret = true }
APP_DATABASE_URL = { required = true, secret = true }
TENANTS = { default = "11111111-1111-4111-8111-111111111111,22222222-2222-4222-8222-222222222222" }
[[steps]]
id = "verify-rls"
title = "Verify tenant isolation"
kind = "verify-rls"
database = "DATABASE_URL"
app_database = "APP_DATABASE_URL"
tenants = ["${TENANTS}"]
"#;

#[tokio::test]
async fn verify_rls_step_streams_the_report_and_fails_on_a_blocking_finding() {
    use golive::exec::StepError;

    let (port, good) = database("").await;
    let (_, bad) = database("ALTER TABLE services DISABLE ROW LEVEL SECURITY;").await;
    for (db, passes) in [(good, true), (bad, false)] {
        let (result, text) = run_step(STEP_TOML, port, &db).await;
        assert!(text.contains(rls::READ_ONLY), "{text}");
        assert!(
            text.contains("Policies") && text.contains("verdict:"),
            "{text}"
        );
        match (passes, result) {
            (true, Ok(summary)) => assert!(summary.starts_with("verdict: PASS"), "{summary}"),
            (false, Err(StepError::Failed(summary))) => {
                assert!(summary.contains("fail-open"), "{summary}")
            }
            (_, other) => panic!("{db}: unexpected {other:?}\n{text}"),
        }
    }
}

#[tokio::test]
async fn view_owned_by_the_owner_without_security_invoker_is_fail_open() {
    let (port, db) = database(
        "SET ROLE app_owner;
         CREATE VIEW public.vehicle_list AS SELECT id, tenant_id, vin FROM public.vehicles;
         RESET ROLE;
         GRANT SELECT ON public.vehicle_list TO app_user;",
    )
    .await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.vehicles",
        "view-bypass",
        Severity::FailOpen
    ));
    assert_eq!(report.verdict, Verdict::Fail);
}
