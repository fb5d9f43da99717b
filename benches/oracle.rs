//! The traffic oracle's cost during a rehearsal, side by side with the traffic it judges.
//!
//! The oracle judges every answer (parse the JSON, check each row's tenant, the shape) and the
//! sandbox app reads its build file once a request. At the traffic's ~30 requests a second, the
//! share of one core they take is 30 × (judge + build read). Measured here on a realistic catalog
//! answer (15 operations, v2 shape) and printed with that share; the target is under 2 %.
//!
//! Run with `cargo bench --bench oracle`.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use golive::sandbox::oracle::{Answer, Expect};
use golive::sandbox::{Build, Oracle, ServingBuild};

const ROUNDS: u32 = 200_000;
/// Requests a second of the sandbox's traffic.
const RATE: f64 = 30.0;

fn main() {
    let dir = std::env::temp_dir().join(format!("golive-bench-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let build = ServingBuild::new(dir.join("app-build"), Build::Phase2).expect("build file");
    let oracle = Oracle::new(build.clone());
    let own: HashSet<i64> = (1..=15).collect();
    let body = serde_json::to_vec(
        &(1..=15)
            .map(|id| {
                serde_json::json!({
                    "id": id, "name": format!("Operation {id}"), "category": "maintenance",
                    "duration_minutes": 30, "price_cents": 4900, "internal_code": format!("OP-{id:06}"),
                    "subcategory": null, "display_order": null
                })
            })
            .collect::<Vec<_>>(),
    )
    .expect("body");

    let start = Instant::now();
    for _ in 0..ROUNDS {
        oracle.judge(
            "GET /api/admin/service-operations",
            Expect::Catalog { own: &own },
            Answer::Http {
                status: 200,
                body: black_box(&body),
            },
        );
    }
    let judge = start.elapsed() / ROUNDS;

    let start = Instant::now();
    for _ in 0..ROUNDS {
        black_box(build.get());
    }
    let read = start.elapsed() / ROUNDS;

    let share = RATE * (judge + read).as_secs_f64() * 100.0;
    println!(
        "oracle: judge one catalog answer      {:>8.1} µs",
        judge.as_secs_f64() * 1e6
    );
    println!(
        "app:    read the build file           {:>8.1} µs",
        read.as_secs_f64() * 1e6
    );
    println!("at {RATE} requests/s: {share:.3} % of one core (target < 2 %)");
    assert_eq!(oracle.wrong_total(), 0, "every benchmark answer was right");
    let _ = std::fs::remove_dir_all(&dir);
}
