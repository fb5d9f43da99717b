//! The verdict rules: blind sources, panels that never had data, a zero count is data, a
//! breach first, a baseline that measures.

use super::*;
use crate::monitor::board::Board;
use crate::monitor::sample::{Sample, Series};

const METRICS: &str = "http://127.0.0.1:9/metrics";

/// Traffic from a scrape of `METRICS`, the canary against an app URL; 1 s refresh.
fn config() -> MonitorConfig {
    let table: toml::Table = format!(
        "refresh = \"1s\"\nrefresh_later = \"1s\"\nbreach_count = 2\nmin_requests = 5\n\
         [sources]\nmetrics_url = \"{METRICS}\"\n[canary]\napp_url = \"http://127.0.0.1:9\"\n"
    )
    .parse()
    .unwrap();
    MonitorConfig::from_table(Some(&table), &crate::runbook::Vars::default(), &|_| None).unwrap()
}

fn count(route: &str, status: &str, v: f64) -> Series {
    Series {
        name: "flask_http_request_duration_seconds_count".into(),
        labels: vec![
            ("method".into(), "POST".into()),
            ("status".into(), status.into()),
            ("url_rule".into(), route.into()),
        ],
        value: v,
    }
}

fn invoice_buckets(v: f64) -> Vec<Series> {
    ["0.1", "+Inf"]
        .iter()
        .map(|le| Series {
            name: "flask_http_request_duration_seconds_bucket".into(),
            labels: vec![
                ("le".into(), (*le).into()),
                (
                    "url_rule".into(),
                    "/api/invoices/<int:invoice_id>/items".into(),
                ),
            ],
            value: v,
        })
        .collect()
}

fn scrape(at: f64, series: Vec<Series>) -> Sample {
    Sample::Counters {
        source: "scrape",
        at,
        series,
    }
}

fn canary(at: f64) -> Sample {
    Sample::Canary {
        at,
        probes: 3,
        failures: Vec::new(),
    }
}

fn health(source: &str, at: f64, error: Option<&str>) -> Sample {
    Sample::Health {
        source: source.into(),
        at,
        error: error.map(String::from),
    }
}

/// Apply each batch of `samples`, observing a snapshot `spacing` seconds after the last.
fn watch_every(spacing: f64, samples: Vec<Vec<Sample>>) -> (Tracker, Snapshot) {
    let cfg = config();
    let t0 = crate::monitor::sample::now();
    let mut tracker = Tracker::new(&cfg);
    let mut board = Board::new(cfg, t0);
    let mut last = board.snapshot(t0);
    for (i, batch) in samples.into_iter().enumerate() {
        for s in batch {
            board.apply(s);
        }
        last = board.snapshot(t0 + spacing * i as f64);
        tracker.observe(&last);
    }
    (tracker, last)
}

fn watch(samples: Vec<Vec<Sample>>) -> Tracker {
    watch_every(1.0, samples).0
}

fn reasons(t: &Tracker) -> Vec<String> {
    match t.verdict() {
        Verdict::Inconclusive(r) => r,
        other => panic!("expected inconclusive, got {other:?}"),
    }
}

#[test]
fn a_blind_watch_is_inconclusive_and_names_each_silent_source() {
    let refused = format!("{METRICS}: connection refused");
    let t = watch(
        (0..5)
            .map(|i| {
                vec![
                    health("scrape", i as f64, Some(&refused)),
                    health(
                        "canary",
                        i as f64,
                        Some("cannot connect to APP_DATABASE_URL"),
                    ),
                ]
            })
            .collect(),
    );
    let r = reasons(&t);
    assert_eq!(
        r[0],
        format!("APP_METRICS_URL {METRICS} never answered: connection refused")
    );
    assert_eq!(
        r[1],
        "the isolation canary never answered: cannot connect to APP_DATABASE_URL"
    );
    // Every panel was blind too, and says so.
    assert!(
        r.iter()
            .any(|l| l.starts_with("http_5xx_ratio had no data")),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|l| l.starts_with("isolation_canary had no data")),
        "{r:?}"
    );
    assert_eq!(t.verdict().exit_code(), 1);
    assert!(
        t.summary().starts_with("watch inconclusive"),
        "{}",
        t.summary()
    );
    // A source that never reported anything at all is named too.
    let silent = watch(vec![vec![]]);
    assert!(
        reasons(&silent)[0].ends_with("never answered: no answer within the watch"),
        "{:?}",
        reasons(&silent)
    );
}

#[test]
fn only_never_having_data_is_inconclusive_and_a_zero_count_is_data() {
    let now = crate::monitor::sample::now();
    // Enough traffic between the first two readings, then the app goes quiet for minutes
    // (readings 70 s apart: later windows hold no request): the ratio panels had data once,
    // which is enough. RLS denials are a count: 0 is data.
    let mut steps = Vec::new();
    for i in 0..6 {
        let n = if i == 0 { 0.0 } else { 50.0 };
        let mut catalog = count("/api/admin/service-operations", "304", n);
        catalog.labels[0].1 = "GET".into();
        let mut series = vec![count("/a", "200", n), catalog];
        series.extend(invoice_buckets(if i == 0 { 0.0 } else { 10.0 }));
        series.push(Series {
            name: "app_rls_denials_total".into(),
            labels: vec![("table".into(), "customers".into())],
            value: 0.0,
        });
        steps.push(vec![
            scrape(now + 70.0 * i as f64, series),
            health("scrape", now + 70.0 * i as f64, None),
            canary(now + 70.0 * i as f64),
            health("canary", now + 70.0 * i as f64, None),
        ]);
    }
    let (t, last) = watch_every(70.0, steps);
    assert_eq!(
        t.records["http_5xx_ratio"].worst_state,
        Some(State::Ok),
        "it had data once"
    );
    let end = last.panel("http_5xx_ratio").unwrap();
    assert_eq!(end.state, State::Nodata, "and none at the end: {end:?}");
    assert_eq!(t.verdict(), Verdict::Passed, "{}", t.summary());
    assert_eq!(t.verdict().exit_code(), 0);

    // The same, but the add-to-invoice route never reached `min_requests`: that panel
    // never had data, and the verdict says why.
    let mut steps = Vec::new();
    for i in 0..4 {
        let mut catalog = count("/api/admin/service-operations", "200", 50.0 * i as f64);
        catalog.labels[0].1 = "GET".into();
        let mut series = vec![count("/a", "200", 50.0 * i as f64), catalog];
        series.extend(invoice_buckets(1.0));
        steps.push(vec![
            scrape(now + i as f64, series),
            health("scrape", now + i as f64, None),
            canary(now + i as f64),
            health("canary", now + i as f64, None),
        ]);
    }
    let r = reasons(&watch(steps));
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("add_to_invoice_p95_seconds had no data for the whole watch: too few add-to-invoice requests"),
        "{r:?}"
    );
}

#[test]
fn a_breach_outranks_blindness_and_is_the_verdict() {
    let now = crate::monitor::sample::now();
    let steps = (0..4)
        .map(|i| {
            let f = i as f64;
            vec![
                scrape(
                    now + f,
                    vec![count("/a", "200", 50.0 * f), count("/a", "500", 50.0 * f)],
                ),
                health("scrape", now + f, None),
            ]
        })
        .collect();
    let t = watch(steps);
    match t.verdict() {
        Verdict::Breached(b) => assert_eq!(b.panel, "http_5xx_ratio"),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.verdict().exit_code(), 1);
    // A baseline measures: the breach is no verdict there, what it did not see (the canary
    // never answered) still is.
    let r = reasons(&t.clone().measuring());
    assert_eq!(
        r[0],
        "the isolation canary never answered: no answer within the watch"
    );
    assert!(r.iter().all(|l| !l.contains("http_5xx_ratio")), "{r:?}");
}
