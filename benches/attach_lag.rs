//! `golive attach`'s lag: from the driver's journal append (written and synced) to a watcher
//! receiving the event, through the run directory (polled every 100 ms) and through the
//! registry (the driver's registry task writes `golive.events`; the watcher polls it every
//! 200 ms), on a local throwaway PostgreSQL. Both watchers run the real follow loop
//! (`golive::attach::follow`). The target is a p95 under 500 ms through the registry.
//!
//! Run with `cargo bench --bench attach_lag`. Needs PostgreSQL installed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use golive::events::{EngineEvent, RunInfo};
use golive::follow::{Source, follow};
use golive::journal::{Entry, Journal};
use golive::pg::cluster::{Cluster, ClusterOptions};

/// Events appended, one every [`GAP`] (a live run: the watchers are idle between them).
const EVENTS: usize = 200;
const GAP: Duration = Duration::from_millis(37);

type Sent = Arc<Mutex<Vec<Option<Instant>>>>;

fn started(run_id: &str) -> Entry {
    Entry::RunStarted {
        run_id: run_id.to_string(),
        runbook: "attach lag".into(),
        runbook_path: "/dev/null".into(),
        runbook_sha256: String::new(),
        golive_version: golive::provenance::VERSION.into(),
        mode: golive::events::RunMode::Run,
        user: golive::os::user_name(),
        host: golive::os::host_name(),
        pid: std::process::id(),
        steps: Vec::new(),
    }
}

fn checklist(run_id: &str, run_dir: PathBuf) -> Entry {
    Entry::Checklist {
        run: Box::new(RunInfo {
            run_id: run_id.to_string(),
            run_dir,
            runbook: "attach lag".into(),
            environment: None,
            targets: Vec::new(),
            steps: Vec::new(),
            procedures: Vec::new(),
            resumed: false,
            expected_total: None,
        }),
    }
}

/// Follow `args`, noting each event's lag against the time its record was appended.
async fn watch(target: String, database_url: Option<String>, sent: Sent) -> Vec<Duration> {
    let source = Source::open(Some(&target), database_url.as_deref())
        .await
        .expect("open the run");
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let follower = tokio::spawn(follow(source, Vec::new(), tx));
    let mut lags = Vec::new();
    while let Some(event) = rx.recv().await {
        if let EngineEvent::Notice { text, .. } = event
            && let Ok(i) = text.parse::<usize>()
        {
            let at = sent.lock().expect("sent")[i].expect("appended before it was seen");
            lags.push(at.elapsed());
            if lags.len() == EVENTS {
                break;
            }
        }
    }
    follower.abort();
    lags
}

fn line(name: &str, lags: &mut [Duration]) {
    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    println!(
        "  {name:<15} p50 {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms  ({} events)",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(lags[lags.len() - 1]),
        lags.len()
    );
}

fn main() {
    let dir = std::env::temp_dir().join(format!("golive-bench-attach-{}", std::process::id()));
    let cluster = Cluster::start(&ClusterOptions::default()).expect("a throwaway PostgreSQL");
    let url = cluster.url("postgres");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let run_id = "bench-attach";
    let run_dir = dir.join(run_id);

    let (mut by_dir, mut by_registry) = runtime.block_on(async {
        // The driver: the go-live lock (the registry watcher's sign of life), a journal with
        // the registry's tap, the run's first records.
        let _lock = golive::lock::acquire(&url, run_id).await.expect("the lock");
        let mut journal = Journal::open(&run_dir).expect("journal");
        let (events, _rx) = tokio::sync::mpsc::channel(16);
        journal.add_tap(golive::registry::spawn(
            &url,
            run_id,
            journal.path(),
            golive::redact::Redactor::default(),
            events.downgrade(),
        ));
        journal.append(started(run_id)).expect("append");
        journal
            .append(checklist(run_id, run_dir.clone()))
            .expect("append");
        // The registry has the run before its watcher opens it.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let sent: Sent = Arc::new(Mutex::new(vec![None; EVENTS]));
        let by_dir = tokio::spawn(watch(run_dir.display().to_string(), None, sent.clone()));
        let by_registry = tokio::spawn(watch(run_id.to_string(), Some(url.clone()), sent.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        for i in 0..EVENTS {
            // The time is taken before the append: a watcher may see the record before
            // `append` returns.
            sent.lock().expect("sent")[i] = Some(Instant::now());
            journal
                .append(Entry::Note {
                    text: i.to_string(),
                })
                .expect("append");
            tokio::time::sleep(GAP).await;
        }
        let by_dir = by_dir.await.expect("dir watcher");
        let by_registry = by_registry.await.expect("registry watcher");
        journal.close_taps(Duration::from_secs(10)).await;
        (by_dir, by_registry)
    });
    println!(
        "attach lag: {EVENTS} journal appends {} ms apart, append → watcher's event",
        GAP.as_millis()
    );
    line("run directory", &mut by_dir);
    line("registry", &mut by_registry);
    println!("  target: registry p95 < 500 ms");
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
