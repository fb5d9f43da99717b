//! Leaks that do not pass through a policy: each class caught, and its fix accepted.

use super::*;

/// A hidden leak class: `breakage` is caught as `check` on `subject` with `severity`; after `fix`
/// the check is silent and the verdict passes.
async fn caught_then_fixed(
    breakage: &str,
    fix: &str,
    subject: &str,
    check: &str,
    severity: Severity,
) -> RlsReport {
    let (port, db) = database(breakage).await;
    let report = audit_as(port, &db, "app_user").await;
    assert!(
        has(&report, subject, check, severity),
        "{subject} {check}: {:#?}",
        report.findings
    );
    if severity.is_blocking() {
        assert_eq!(report.verdict, Verdict::Fail);
    }
    exec(&url(port, "postgres", &db), fix).await;
    let fixed = audit_as(port, &db, "app_user").await;
    assert!(
        !fixed.findings.iter().any(|f| f.check == check),
        "after the fix: {:#?}",
        fixed.findings
    );
    assert_eq!(fixed.verdict, Verdict::Pass, "{:?}", blocking(&fixed));
    report
}

#[tokio::test]
async fn a_user_defined_leakproof_function_leaking_through_notices_is_caught() {
    let report = caught_then_fixed(
        "CREATE FUNCTION public.leaky(text) RETURNS boolean LANGUAGE plpgsql LEAKPROOF
             COST 0.0000001 AS $$BEGIN RAISE NOTICE 'seen %', $1; RETURN true; END$$;",
        "ALTER FUNCTION public.leaky(text) NOT LEAKPROOF;",
        "function public.leaky(text)",
        "leakproof-function",
        Severity::Warning,
    )
    .await;
    // The probe heard tenant B's values: the planner ran it below the policy.
    assert!(
        has(
            &report,
            "public.customers",
            "leakproof-probe",
            Severity::FailOpen
        ),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn a_policy_reading_a_mapping_table_the_role_can_write_is_fail_open() {
    caught_then_fixed(
        &format!(
            "CREATE TABLE public.user_tenants (username text, tenant uuid);
             ALTER TABLE public.user_tenants OWNER TO app_owner;
             INSERT INTO public.user_tenants SELECT 'app_user', t FROM (SELECT DISTINCT tenant_id FROM vehicles) s(t);
             GRANT SELECT, INSERT ON public.user_tenants TO app_user;
             DROP POLICY tenant_isolation ON vehicles;
             CREATE POLICY tenant_isolation ON vehicles
                 USING ({PRED} AND tenant_id IN (SELECT tenant FROM public.user_tenants WHERE username = current_user))
                 WITH CHECK ({PRED});"
        ),
        "REVOKE INSERT ON public.user_tenants FROM app_user;",
        "public.vehicles",
        "policy-dependency",
        Severity::FailOpen,
    )
    .await;
}

#[tokio::test]
async fn a_policy_calling_a_function_the_role_owns_is_fail_open() {
    let (port, db) = database(&format!(
        "CREATE FUNCTION public.is_support() RETURNS boolean LANGUAGE sql STABLE AS 'SELECT false';
         ALTER FUNCTION public.is_support() OWNER TO app_user;
         GRANT CREATE ON SCHEMA public TO app_user;
         DROP POLICY tenant_isolation ON appointments;
         CREATE POLICY tenant_isolation ON appointments USING ({PRED} OR public.is_support())
             WITH CHECK ({PRED});"
    ))
    .await;
    // The hole is real: the role replaces the function and reads every tenant's appointments.
    let app = golive::pg::connect(&url(port, "app_user", &db), "test")
        .await
        .expect("connect");
    app.client
        .batch_execute("BEGIN; CREATE OR REPLACE FUNCTION public.is_support() RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true'")
        .await
        .expect("the owner can replace it");
    let seen: i64 = app
        .client
        .query_one("SELECT count(*) FROM appointments", &[])
        .await
        .expect("query")
        .get(0);
    app.client
        .batch_execute("ROLLBACK")
        .await
        .expect("rollback");
    assert!(
        seen > 0,
        "without a tenant the replaced function opens the table"
    );
    drop(app);
    let report = audit_as(port, &db, "app_user").await;
    assert!(has(
        &report,
        "public.appointments",
        "policy-dependency",
        Severity::FailOpen
    ));
    exec(
        &url(port, "postgres", &db),
        "ALTER FUNCTION public.is_support() OWNER TO app_owner;",
    )
    .await;
    let fixed = audit_as(port, &db, "app_user").await;
    assert_eq!(fixed.verdict, Verdict::Pass, "{:?}", blocking(&fixed));
}

#[tokio::test]
async fn a_policy_reading_another_setting_is_named() {
    caught_then_fixed(
        &format!(
            "DROP POLICY tenant_isolation ON customers;
             CREATE POLICY tenant_isolation ON customers
                 USING ({PRED} AND current_setting('app.region', true) IS DISTINCT FROM 'closed')
                 WITH CHECK ({PRED});"
        ),
        &format!(
            "DROP POLICY tenant_isolation ON customers;
             CREATE POLICY tenant_isolation ON customers USING ({PRED}) WITH CHECK ({PRED});"
        ),
        "public.customers",
        "policy-setting",
        Severity::Warning,
    )
    .await;
}

#[tokio::test]
async fn a_trigger_copying_rows_into_a_readable_table_without_rls_is_fail_open() {
    caught_then_fixed(
        "SET ROLE app_owner;
         CREATE TABLE public.customer_log (name text, email text);
         CREATE FUNCTION public.log_customer() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
             AS $$BEGIN INSERT INTO public.customer_log VALUES (NEW.name, NEW.email); RETURN NEW; END$$;
         CREATE TRIGGER customer_log AFTER INSERT OR UPDATE ON customers
             FOR EACH ROW EXECUTE FUNCTION public.log_customer();
         RESET ROLE;
         GRANT SELECT ON public.customer_log TO app_user;",
        "REVOKE SELECT ON public.customer_log FROM app_user;",
        "public.customers",
        "copied-out",
        Severity::FailOpen,
    )
    .await;
}

#[tokio::test]
async fn a_rule_copying_rows_into_a_readable_table_without_rls_is_fail_open() {
    caught_then_fixed(
        "SET ROLE app_owner;
         CREATE TABLE public.vin_copies (vin text);
         CREATE RULE copy_vin AS ON INSERT TO vehicles DO ALSO
             INSERT INTO public.vin_copies VALUES (NEW.vin);
         RESET ROLE;
         GRANT SELECT ON public.vin_copies TO app_user;",
        "REVOKE SELECT ON public.vin_copies FROM app_user;",
        "public.vehicles",
        "copied-out",
        Severity::FailOpen,
    )
    .await;
}

#[tokio::test]
async fn an_inheritance_child_without_rls_is_fail_open() {
    caught_then_fixed(
        "SET ROLE app_owner;
         CREATE TABLE public.customers_archive () INHERITS (public.customers);
         INSERT INTO public.customers_archive (tenant_id, name, email)
             VALUES ('22222222-2222-4222-8222-222222222222', 'old', 'old@example.com');
         RESET ROLE;
         GRANT SELECT ON public.customers_archive TO app_user;",
        &format!(
            "ALTER TABLE public.customers_archive ENABLE ROW LEVEL SECURITY;
             ALTER TABLE public.customers_archive FORCE ROW LEVEL SECURITY;
             CREATE POLICY tenant_isolation ON public.customers_archive USING ({PRED}) WITH CHECK ({PRED});"
        ),
        "public.customers_archive",
        "child-without-rls",
        Severity::FailOpen,
    )
    .await;
}

#[tokio::test]
async fn a_column_level_update_grant_is_named_and_probed() {
    let report = caught_then_fixed(
        "REVOKE UPDATE ON services FROM app_user;
         GRANT UPDATE (quantity, tenant_id) ON services TO app_user;
         CREATE POLICY support_fix ON services AS PERMISSIVE FOR UPDATE USING (true) WITH CHECK (true);",
        "DROP POLICY support_fix ON services;
         REVOKE UPDATE (quantity, tenant_id) ON services FROM app_user;
         GRANT UPDATE ON services TO app_user;",
        "public.services",
        "column-grant",
        Severity::Warning,
    )
    .await;
    // A column grant is a grant: the probes ran and proved the cross-tenant UPDATE.
    assert!(has(
        &report,
        "public.services",
        "update-unfiltered",
        Severity::CrossTenantWrite
    ));
}

#[tokio::test]
async fn default_privileges_granting_the_role_future_tables_are_named() {
    caught_then_fixed(
        "ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public
             GRANT SELECT, INSERT ON TABLES TO app_user;",
        "ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public
             REVOKE SELECT, INSERT ON TABLES FROM app_user;",
        "role app_user",
        "default-privileges",
        Severity::Warning,
    )
    .await;
}
