//! `golive verify rls` and `golive verify api` through the real binary, as the command-line
//! contract in DESIGN.md has them: exit codes, `--json`, and no secret in the output.

mod common;

use golive::sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

use common::{Db, run, sql, text};

#[test]
fn verify_rls_fails_phase1_and_passes_phase2_with_json_findings() {
    let db = Db::phase1();
    let args = |json: bool| {
        let mut a = vec![
            "verify".to_string(),
            "rls".into(),
            "--database-url".into(),
            db.owner_url(),
            "--app-database-url".into(),
            db.app_url(),
            "--role".into(),
            "app_user".into(),
        ];
        if json {
            a.push("--json".into());
        }
        a
    };
    let run_args = |json: bool| {
        let a = args(json);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs, &[])
    };

    // Phase 1: no row-level security at all.
    let out = run_args(true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("--json is one JSON document");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .any(|f| f["severity"] == "fail-open" && f["subject"] == "public.customers"),
        "{report}"
    );
    assert_eq!(report["read_only"], true, "{report}");

    // After the go-live's SQL: nothing blocking.
    sql(
        &db.owner_url(),
        &format!(
            "{}\n{}",
            include_str!("../assets/sql/catalog-v2-columns.sql"),
            golive::sandbox::RLS_ON_SQL
        ),
    );
    let out = run_args(false);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("verdict: PASS"), "{shown}");
    assert!(shown.contains("nothing was changed"), "{shown}");
    assert!(
        !shown.contains("owner-secret-pw") && !shown.contains("user-secret-pw"),
        "{shown}"
    );
}

#[test]
fn verify_rls_exits_1_on_a_fail_noisy_policy_and_0_when_it_is_allowed() {
    let db = Db::phase2();
    let bad = "tenant_id = current_setting('app.tenant_id', true)::uuid";
    sql(
        &db.admin_url(),
        &format!(
            "DROP POLICY tenant_isolation ON services;
             CREATE POLICY tenant_isolation ON services USING ({bad}) WITH CHECK ({bad});"
        ),
    );
    let (owner, app) = (db.owner_url(), db.app_url());
    let base = [
        "verify",
        "rls",
        "--database-url",
        &owner,
        "--app-database-url",
        &app,
    ];
    let out = run(&base, &[]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("verdict: FAIL") && shown.contains("fail-noisy"),
        "{shown}"
    );
    let out = run(&[&base[..], &["--allow", "fail-noisy"]].concat(), &[]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("FAIL-NOISY (accepted)"), "{shown}");

    // The same findings as SARIF 2.1.0, for code-scanning tools; the exit code is the verdict's.
    let out = run(&[&base[..], &["--format", "sarif"]].concat(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log: Value = serde_json::from_slice(&out.stdout).expect("one SARIF document");
    assert_eq!(log["version"], "2.1.0");
    let run0 = &log["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "golive verify rls");
    let results = run0["results"].as_array().expect("results");
    let nullif = results
        .iter()
        .find(|r| r["ruleId"] == "policy-nullif")
        .expect("the fail-noisy policy is a result");
    assert_eq!(nullif["level"], "error");
    let logical = &nullif["locations"][0]["logicalLocations"];
    assert_eq!(
        logical[0]["fullyQualifiedName"], "public.services",
        "{nullif}"
    );
    assert_eq!(logical[1]["name"], "tenant_isolation", "{nullif}");
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(
        rules.iter().any(|r| r["id"] == "policy-nullif"),
        "{rules:?}"
    );
}

#[test]
fn verify_rls_with_a_bad_url_is_bad_input_or_a_clear_failure() {
    let out = run(
        &[
            "verify",
            "rls",
            "--database-url",
            "postgres://u:pw-secret@127.0.0.1:9/db",
        ],
        &[],
    );
    let shown = text(&out);
    assert_ne!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("127.0.0.1:9"), "{shown}");
    assert!(!shown.contains("pw-secret"), "{shown}");
    assert!(!shown.contains("panicked"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_api_passes_v2_and_fails_v1_against_the_sandbox_app() {
    let sandbox = Sandbox::start(&SandboxOptions {
        traffic: false,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let app = sandbox.app_url().to_string();
    let tenants = format!(
        "{},{}",
        golive::sandbox::TENANT_A,
        golive::sandbox::TENANT_B
    );
    let verify = |extra: Vec<String>| {
        let app = app.clone();
        let tenants = tenants.clone();
        tokio::task::spawn_blocking(move || {
            let mut a = vec![
                "verify".to_string(),
                "api".into(),
                "--app-url".into(),
                app,
                "--tenants".into(),
                tenants,
            ];
            a.extend(extra);
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            run(&refs, &[])
        })
    };
    // Phase 1: the legacy v1 wrapper.
    let out = verify(Vec::new()).await.expect("join");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("wrapper"), "{shown}");

    // The catalog v2 columns, previewed with the header: the contract holds.
    let owner = golive::pg::connect(sandbox.database_url(), "test")
        .await
        .expect("owner");
    owner
        .client
        .batch_execute(include_str!("../assets/sql/catalog-v2-columns.sql"))
        .await
        .expect("migration");
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .expect("deploy");
    let out = verify(vec![
        "--header".into(),
        "X-Catalog-Version: 2".into(),
        "--json".into(),
    ])
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(report["findings"].as_array().is_some(), "{report}");
    sandbox.shutdown().await;
}
