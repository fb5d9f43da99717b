//! The registry's cost to the driver, side by side with the registry off: the engine appends a
//! journal record (written and synced) and, with the registry on, hands a copy to the registry's
//! task over a channel. Measured here per append, both ways, against a real throwaway cluster
//! (the registry's task writes meanwhile on another thread), plus how long the registry took to
//! have every record once the appends were done. The target is under 1 ms per event.
//!
//! Run with `cargo bench --bench registry`. Needs PostgreSQL installed.

use std::time::{Duration, Instant};

use golive::journal::{Entry, Journal};
use golive::pg::cluster::{Cluster, ClusterOptions};

const EVENTS: u32 = 500;
/// Rounds of each, alternating off and on (the disk's sync time drifts).
const ROUNDS: usize = 4;

fn entry(i: u32) -> Entry {
    Entry::StepStarted {
        step: format!("step-{}", i % 40),
        attempt: 1,
    }
}

fn appends(journal: &mut Journal) -> Duration {
    let start = Instant::now();
    for i in 0..EVENTS {
        journal.append(entry(i)).expect("append");
    }
    start.elapsed()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("golive-bench-registry-{}", std::process::id()));
    let cluster = Cluster::start(&ClusterOptions::default()).expect("a throwaway PostgreSQL");
    let url = cluster.url("postgres");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let (without, with, drained, rows) = runtime.block_on(async {
        let mut off = Journal::open(&dir.join("off")).expect("journal");
        let run_dir = dir.join("on");
        let mut on = Journal::open(&run_dir).expect("journal");
        let (events, _rx) = tokio::sync::mpsc::channel(16);
        let tap = golive::registry::spawn(
            &url,
            "bench-run",
            on.path(),
            golive::redact::Redactor::default(),
            events.downgrade(),
        );
        on.add_tap(tap);
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            without.push(tokio::task::block_in_place(|| appends(&mut off)));
            with.push(tokio::task::block_in_place(|| appends(&mut on)));
        }
        let start = Instant::now();
        on.close_taps(Duration::from_secs(60)).await;
        let drained = start.elapsed();
        let session = golive::pg::connect(&url, "bench").await.expect("connect");
        let rows: i64 = session
            .client
            .query_one(
                "SELECT count(*) FROM golive.events WHERE run_id = 'bench-run'",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        without.sort();
        with.sort();
        (without[ROUNDS / 2], with[ROUNDS / 2], drained, rows)
    });

    // The registry's own work on the driver's thread, apart from the disk: a copy of the
    // record and a send on the tap's channel (a task drains it, as the registry does).
    let send = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let record = golive::journal::Record {
            at: golive::journal::now_rfc3339(),
            entry: entry(1),
        };
        let start = Instant::now();
        for seq in 0..u64::from(EVENTS) * 100 {
            let _ = tx.send(golive::journal::Appended {
                seq,
                record: record.clone(),
            });
        }
        let took = start.elapsed() / 100;
        drop(tx);
        let _ = drain.await;
        took
    });
    let per = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(EVENTS);
    println!(
        "registry: {ROUNDS} rounds of {EVENTS} journal appends (written and synced) each way, \
         median round; {rows} records in the registry"
    );
    println!("  registry off  {:>8.4} ms per event", per(without));
    println!("  registry on   {:>8.4} ms per event", per(with));
    println!(
        "  cost to the driver {:+.4} ms per event (target < 1 ms); registry complete {:.0} ms after the last append",
        per(with) - per(without),
        drained.as_secs_f64() * 1e3
    );
    println!(
        "  the tap alone (copy + channel send) {:.5} ms per event",
        per(send)
    );
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
