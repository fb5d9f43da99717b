//! The sandbox's life: its variables, live traffic, a shutdown that leaves nothing behind, and a
//! sandbox whose owner was killed with SIGKILL being reaped by the next start.
#![allow(clippy::unwrap_used)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use golive::sandbox::{Sandbox, SandboxOptions, Scenario};

/// Set in the child process that starts a sandbox and waits to be killed.
const CHILD_ENV: &str = "GOLIVE_SANDBOX_TEST_CHILD";

fn postmaster_pid(root: &Path) -> i32 {
    let text = std::fs::read_to_string(root.join("data/postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

/// Wait up to 5 s for `pid` to be gone (an immediate stop's last moments, or a zombie's reaping).
fn gone_soon(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while golive::os::process_running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn port_of(url: &str) -> u16 {
    let after_host = url.split("127.0.0.1:").nth(1).unwrap();
    after_host
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300))
        .is_ok()
}

fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vars_point_at_the_sandbox_and_traffic_flows() {
    let sandbox = Sandbox::start(&SandboxOptions {
        scenario: Some(Scenario::SlowSnapshot),
        slow_snapshot_hold: Duration::from_millis(10),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let vars = sandbox.vars();
    let get = |name: &str| {
        vars.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, secret)| (v.clone(), *secret))
            .unwrap()
    };
    assert_eq!(
        get("DATABASE_URL"),
        (sandbox.database_url().to_string(), true)
    );
    assert!(sandbox.database_url().starts_with("postgres://app_owner:"));
    assert!(
        get("APP_DATABASE_URL")
            .0
            .starts_with("postgres://app_user:")
    );
    assert!(get("APP_DATABASE_URL").1);
    assert_eq!(get("APP_URL").0, sandbox.app_url());
    assert_eq!(
        get("APP_METRICS_URL").0,
        format!("{}/metrics", sandbox.app_url())
    );
    assert!(Path::new(&get("PG_LOG").0).is_file());
    assert_eq!(get("TENANT_A").0, golive::sandbox::TENANT_A);
    assert_eq!(get("TENANT_B").0, golive::sandbox::TENANT_B);
    assert_eq!(get("SNAPSHOT_LOCK_WAIT").0, "3s");

    // The passwords are real: the owner logs in and sees every row (BYPASSRLS owner).
    let owner = golive::pg::connect(sandbox.database_url(), "golive-test")
        .await
        .unwrap();
    let row = owner
        .client
        .query_one("SELECT current_user::text, count(*) FROM customers", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "app_owner");
    assert_eq!(row.get::<_, i64>(1), 120);

    // Traffic: within a few seconds, catalog 200s and 304s, add-to-invoice 201s and some 404s.
    let http = golive::httpc::client(Duration::from_secs(10)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = http
            .get(sandbox.metrics_url())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let has = |series: &str| metric_sum(&text, series) > 0.0;
        let done = has(
            "flask_http_request_duration_seconds_count{method=\"GET\",status=\"200\",url_rule=\"/api/admin/service-operations\"}",
        ) && has(
            "flask_http_request_duration_seconds_count{method=\"GET\",status=\"304\",url_rule=\"/api/admin/service-operations\"}",
        ) && has(
            "flask_http_request_duration_seconds_count{method=\"POST\",status=\"201\",url_rule=\"/api/invoices/<int:invoice_id>/items\"}",
        ) && has(
            "flask_http_request_duration_seconds_count{method=\"POST\",status=\"404\"",
        ) && metric_sum(&text, "flask_http_request_total") >= 50.0;
        if done {
            assert_eq!(
                metric_sum(
                    &text,
                    "flask_http_request_total{method=\"POST\",status=\"500\"}"
                ),
                0.0
            );
            break;
        }
        assert!(Instant::now() < deadline, "traffic too thin:\n{text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_no_process_port_or_directory() {
    let sandbox = Sandbox::start(&SandboxOptions::default()).await.unwrap();
    let root = sandbox.root().to_path_buf();
    let pid = postmaster_pid(&root);
    let app_port = port_of(&sandbox.app_url());
    let db_port = port_of(sandbox.database_url());
    assert!(golive::os::process_running(pid) && listening(app_port) && listening(db_port));
    sandbox.shutdown().await;
    assert!(!root.exists(), "{} left behind", root.display());
    assert!(
        !golive::os::process_running(pid),
        "postmaster {pid} still running"
    );
    assert!(!listening(app_port), "app port {app_port} still open");
    assert!(!listening(db_port), "database port {db_port} still open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_sandbox_also_tears_it_down() {
    let sandbox = Sandbox::start(&SandboxOptions::default()).await.unwrap();
    let root = sandbox.root().to_path_buf();
    let pid = postmaster_pid(&root);
    drop(sandbox);
    assert!(!root.exists(), "{} left behind", root.display());
    assert!(gone_soon(pid), "postmaster {pid} still running");
}

/// Not a test on its own: the child side of `a_sandbox_whose_owner_was_killed_is_reaped`.
#[test]
#[ignore = "the child process of a_sandbox_whose_owner_was_killed_is_reaped_by_the_next_start"]
fn child_holding_a_sandbox() {
    common::assert_child_of(
        CHILD_ENV,
        "a_sandbox_whose_owner_was_killed_is_reaped_by_the_next_start",
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sandbox = Sandbox::start(&SandboxOptions::default()).await.unwrap();
        println!("SANDBOX_ROOT={}", sandbox.root().display());
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_whose_owner_was_killed_is_reaped_by_the_next_start() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_holding_a_sandbox",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let root: PathBuf = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("SANDBOX_ROOT=").map(|(_, p)| PathBuf::from(p)))
        .expect("the child printed its sandbox");
    let pid = postmaster_pid(&root);
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(
        root.exists() && golive::os::process_running(pid),
        "the killed owner's cluster should be left running"
    );

    let next = Sandbox::start(&SandboxOptions {
        traffic: false,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    assert!(!root.exists(), "{} was not reaped", root.display());
    assert!(
        !golive::os::process_running(pid),
        "postmaster {pid} of the killed owner still running"
    );
    next.shutdown().await;
}

/// Set in the child process that runs `golive sandbox` until a signal.
const COMMAND_CHILD_ENV: &str = "GOLIVE_SANDBOX_TEST_COMMAND";

/// Not a test on its own: the child side of `the_sandbox_command_prints_exports_and_cleans_up_on_sigterm`.
#[test]
#[ignore = "the child process of the_sandbox_command_prints_exports_and_cleans_up_on_sigterm"]
fn child_running_the_sandbox_command() {
    common::assert_child_of(
        COMMAND_CHILD_ENV,
        "the_sandbox_command_prints_exports_and_cleans_up_on_sigterm",
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let code = runtime
        .block_on(golive::sandbox::run_sandbox_command(Some(
            "legacy-wrapper".into(),
        )))
        .unwrap();
    std::process::exit(code);
}

#[test]
fn the_sandbox_command_prints_exports_and_cleans_up_on_sigterm() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_running_the_sandbox_command",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(COMMAND_CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut exports = std::collections::BTreeMap::new();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines().map_while(Result::ok) {
        let Some((_, export)) = line.split_once("export ") else {
            continue;
        };
        let (name, value) = export.split_once('=').unwrap();
        exports.insert(name.to_string(), value.trim_matches('\'').to_string());
        if name == "TENANT_B" {
            break;
        }
    }
    for name in [
        "DATABASE_URL",
        "APP_DATABASE_URL",
        "APP_URL",
        "APP_METRICS_URL",
        "PG_LOG",
        "TENANT_A",
    ] {
        assert!(
            exports.contains_key(name),
            "{name} not printed: {exports:?}"
        );
    }
    assert!(
        exports["DATABASE_URL"].starts_with("postgres://app_owner:"),
        "the password is printed for the user"
    );
    let root = Path::new(&exports["PG_LOG"])
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf();
    let pid = postmaster_pid(&root);
    let app_port = port_of(&exports["APP_URL"]);
    assert!(listening(app_port));

    golive::os::signal_process(child.id() as i32, golive::os::Sig::Term);
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!root.exists(), "{} left behind", root.display());
    assert!(gone_soon(pid), "postmaster {pid} still running");
    assert!(!listening(app_port));
}
