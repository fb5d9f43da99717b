//! Notifications through the real binary: a real HTTP receiver (hyper) gets a post for every
//! kind of event (a question, a failed step, a procedure, the end of a run), although it answers
//! a 500 and, later, too slowly in between; no body carries a secret. A question answered from
//! the command line (headless) waits for nobody and is not posted; one in the console is.

mod common;
mod tui_support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use common::{TempDir, run, text};

const TOKEN: &str = "tok-n0tify-secret-77";

#[derive(Default)]
struct Seen {
    requests: usize,
    /// Bodies answered 200.
    delivered: Vec<String>,
    /// Every body, answered or not.
    all: Vec<String>,
}

/// A webhook on a free port: the 1st request gets a 500, the 3rd an answer after 5 s (longer
/// than golive waits), the others 200.
async fn receiver(seen: Arc<Mutex<Seen>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                            .unwrap_or_default();
                        let n = {
                            let mut s = seen.lock().expect("lock");
                            s.requests += 1;
                            s.all.push(body.clone());
                            s.requests
                        };
                        let status = match n {
                            1 => StatusCode::INTERNAL_SERVER_ERROR,
                            3 => {
                                tokio::time::sleep(Duration::from_secs(5)).await;
                                StatusCode::OK
                            }
                            _ => StatusCode::OK,
                        };
                        if status == StatusCode::OK && n != 3 {
                            seen.lock().expect("lock").delivered.push(body);
                        }
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from("ok")))
                                .expect("response"),
                        )
                    }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    format!("http://{addr}/hooks/abc")
}

const RUNBOOK: &str = r#"[runbook]
name = "notify test"

[vars]
GOLIVE_NOTIFY_URL = { required = true, secret = true }
TOKEN = { required = true, secret = true }

[notify]
url = "${GOLIVE_NOTIFY_URL}"
min_interval = "1s"

[[steps]]
id = "wipe"
title = "Something destructive"
kind = "shell"
run = "true"
destructive = true

[[steps]]
id = "broken"
title = "Fails, printing the token"
kind = "shell"
run = 'echo "token $TOKEN" >&2; exit 1'

[[rollback]]
id = "back"
title = "Put it back"

[[rollback.steps]]
id = "undo"
title = "Undo"
kind = "shell"
run = "echo undo $TOKEN"
"#;

fn kinds(bodies: &[String]) -> Vec<String> {
    let mut kinds = Vec::new();
    for body in bodies {
        let v: Value = serde_json::from_str(body).expect("a JSON body");
        assert!(v["text"].is_string(), "Slack's text field: {body}");
        let events = match v.get("events") {
            Some(Value::Array(all)) => all.clone(),
            _ => vec![v["event"].clone()],
        };
        for e in events {
            kinds.push(e["kind"].as_str().unwrap_or_default().to_string());
        }
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_kind_reaches_the_webhook_through_a_500_and_a_timeout_without_secrets() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone()).await;
    let dir = TempDir::new("notify");
    let rb = dir.write("runbook.toml", RUNBOOK).display().to_string();
    let env = [("GOLIVE_NOTIFY_URL", url.as_str()), ("TOKEN", TOKEN)];
    let (rb2, env2) = (rb.clone(), env.map(|(k, v)| (k.to_string(), v.to_string())));
    let outputs = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env2.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let failed = run(&["run", &rb2, "--headless", "--approve-all"], &env);
        let rolled = run(
            &[
                "run",
                &rb2,
                "--headless",
                "--approve-all",
                "--procedure",
                "back",
            ],
            &env,
        );
        (failed, rolled)
    })
    .await
    .expect("runs");
    let (failed, rolled) = outputs;
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert_eq!(rolled.status.code(), Some(0), "{}", text(&rolled));

    let seen = seen.lock().expect("lock");
    let delivered = kinds(&seen.delivered);
    assert!(
        !delivered.iter().any(|k| k == "question"),
        "headless with --approve-all, no question waits for a person: {delivered:?}"
    );
    for kind in ["step_failed", "procedure_started", "run_finished"] {
        assert!(
            delivered.iter().any(|k| k == kind),
            "{kind} was not delivered: {delivered:?}"
        );
    }
    assert_eq!(
        delivered.iter().filter(|k| *k == "run_finished").count(),
        2,
        "each run's end, once: {delivered:?}"
    );
    assert!(
        seen.requests >= seen.delivered.len() + 2,
        "the 500 and the timeout were retried: {} requests, {} delivered",
        seen.requests,
        seen.delivered.len()
    );
    for body in &seen.all {
        assert!(!body.contains(TOKEN), "a secret in a notification: {body}");
    }
}

/// In the console a destructive step waits for a person: that is posted, then the person
/// answers and the run ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_in_the_console_is_posted_as_waiting_for_a_person() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone()).await;
    let dir = TempDir::new("notify-console");
    let runbook = RUNBOOK.replace("exit 1", "exit 0");
    let rb = dir.write("runbook.toml", &runbook).display().to_string();
    let waiting = seen.clone();
    let code = tokio::task::spawn_blocking(move || {
        let mut cmd = tui_support::golive(dir.path(), &["run", &rb]);
        cmd.env("GOLIVE_NOTIFY_URL", &url);
        cmd.env("TOKEN", TOKEN);
        let mut pty = tui_support::Pty::spawn(cmd, 110, 32);
        let wait = Duration::from_secs(30);
        pty.wait_for("Something destructive", wait);
        let start = std::time::Instant::now();
        while !waiting
            .lock()
            .expect("lock")
            .all
            .iter()
            .any(|b| b.contains("waits for a person"))
        {
            assert!(
                start.elapsed() < wait,
                "the question was never posted:\n{}",
                pty.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pty.send("wipe\r");
        pty.wait_for("every step passed", wait);
        pty.send("q");
        pty.wait_exit(wait)
    })
    .await
    .expect("the console run");
    assert_eq!(code, 0);
    let seen = seen.lock().expect("lock");
    assert!(kinds(&seen.all).iter().any(|k| k == "question"));
}

/// A monitor step in the real binary whose query panel goes critical: the webhook is told which
/// panel, during which step, then that the step failed; nothing `events` leaves out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_during_a_monitor_step_is_posted() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone()).await;
    let db = common::Db::phase1();
    let dir = TempDir::new("notify-breach");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let runbook = format!(
        r#"[runbook]
name = "breach test"

[vars]
GOLIVE_NOTIFY_URL = {{ required = true, secret = true }}
DATABASE_URL = {{ required = true, secret = true }}

[notify]
url = "${{GOLIVE_NOTIFY_URL}}"
events = ["breach", "step_failed"]
min_interval = "1s"

[[steps]]
id = "watch"
title = "Watch the waiting locks"
kind = "monitor"
duration = "4s"

[monitor]
refresh = "1s"
refresh_later = "1s"
breach_count = 2

[monitor.sources]
metrics_url = "http://127.0.0.1:{closed}/metrics"

[[monitor.queries]]
id = "stuck_orders"
database = "DATABASE_URL"
sql = "SELECT 42"
warn = 1
crit = 10
"#
    );
    let rb = dir.write("runbook.toml", &runbook).display().to_string();
    let env = [
        ("GOLIVE_NOTIFY_URL", url.clone()),
        ("DATABASE_URL", db.owner_url()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(&["run", &rb, "--headless", "--approve-all"], &env)
    })
    .await
    .expect("the run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a breach fails the step: {}",
        text(&out)
    );
    let seen = seen.lock().expect("lock");
    let bodies = seen.all.join("\n");
    let kinds = kinds(&seen.all);
    assert!(
        kinds.iter().all(|k| k == "breach" || k == "step_failed"),
        "only what `events` asks for: {bodies}"
    );
    assert!(
        bodies.contains("panel `stuck_orders` is critical") && bodies.contains("during `watch`"),
        "{bodies}"
    );
    assert!(
        kinds.iter().any(|k| k == "step_failed") && bodies.contains("step `watch` failed"),
        "{bodies}"
    );
}

/// A fleet in the console: the wave's destructive step is posted once for the wave (not once
/// per target), then the blind watch before the next wave and the halt are posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_posts_its_wave_question_once_and_the_watch_that_halts_it() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone()).await;
    let dir = TempDir::new("notify-fleet");
    let runbook = format!(
        "{}\n[monitor]\nrefresh = \"1s\"\nwindows = [\"2s\"]\n",
        RUNBOOK.replace("exit 1", "exit 0")
    );
    dir.write("runbook.toml", &runbook);
    dir.write(
        "TARGETS.toml",
        "[[target]]\nname = \"a\"\n[[target]]\nname = \"b\"\n[[target]]\nname = \"c\"\n\
         [waves]\nplan = [2, \"100%\"]\nparallel = 2\npause = \"2s\"\n",
    );
    let code = tokio::task::spawn_blocking(move || {
        let mut cmd = tui_support::golive(dir.path(), &["run", "--targets", "TARGETS.toml"]);
        cmd.env("GOLIVE_NOTIFY_URL", &url);
        cmd.env("TOKEN", TOKEN);
        for var in ["PROMETHEUS_URL", "APP_METRICS_URL", "APP_URL", "PG_LOG"] {
            cmd.env_remove(var);
        }
        let mut pty = tui_support::Pty::spawn(cmd, 110, 32);
        let wait = Duration::from_secs(30);
        pty.wait_for("wave-1: once for 2 target(s)", wait);
        pty.send("wave-1\r");
        pty.wait_for("HALTED", wait);
        pty.send("q");
        pty.wait_exit(wait)
    })
    .await
    .expect("the console fleet run");
    assert_eq!(code, 1);
    // The posts go on for a moment after the console (the last one waits for min_interval).
    let texts = |seen: &Seen| -> Vec<String> {
        // A post answered 500, or too late, is posted again: count each text once.
        let texts: std::collections::BTreeSet<String> = seen
            .all
            .iter()
            .map(|b| serde_json::from_str::<Value>(b).expect("JSON")["text"].to_string())
            .collect();
        texts.into_iter().collect::<Vec<_>>()
    };
    let start = std::time::Instant::now();
    while !texts(&seen.lock().expect("lock"))
        .iter()
        .any(|t| t.contains("fleet: halted"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no fleet end posted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = texts(&seen.lock().expect("lock")).join("\n");
    assert_eq!(
        all.matches("waits for a person").count(),
        1,
        "one post for the wave's question, none per target:\n{all}"
    );
    assert!(
        all.contains("waits for a person, once for wave-1 (a, b)"),
        "{all}"
    );
    assert!(
        all.contains("target `a` inconclusive in the watch before wave-2"),
        "{all}"
    );
    // Each target's own posts name it.
    assert!(
        all.contains("golive notify test [a]: finished: passed"),
        "{all}"
    );
    assert!(!all.contains(TOKEN), "{all}");
}
