//! One dashboard refresh with 50 routes: from the source's answer (a `/metrics` body) to a drawn
//! frame: parse, apply, compute every panel over every window, apply to the view state, draw.
//! Then a short watch at a 1 s refresh: CPU share and resident memory with a full 15-minute
//! history. `cargo bench --bench monitor_refresh`.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::time::{Duration, Instant};

use golive::monitor::{Board, MonitorConfig, Sample, promtext};
use golive::runbook::Vars;
use golive::tui::dashboard::state::DashboardState;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ROUTES: usize = 50;
const LE: [&str; 15] = [
    "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0",
    "7.5", "10.0", "+Inf",
];

/// An exposition like prometheus_flask_exporter's after `tick` seconds of traffic.
fn exposition(tick: u64) -> String {
    let mut out = String::new();
    for r in 0..ROUTES {
        let rule = if r == 0 {
            "/api/invoices/<int:invoice_id>/items".to_string()
        } else {
            format!("/api/route{r}/<int:id>")
        };
        for (method, status, per_s) in [
            ("GET", 200, 20),
            ("GET", 304, 5),
            ("GET", 404, 1),
            ("POST", 500, 1),
        ] {
            let n = tick * per_s + r as u64;
            let labels = format!("method=\"{method}\",status=\"{status}\",url_rule=\"{rule}\"");
            for (i, le) in LE.iter().enumerate() {
                let c = n * (i as u64 + 1) / LE.len() as u64;
                writeln!(
                    out,
                    "flask_http_request_duration_seconds_bucket{{le=\"{le}\",{labels}}} {c}.0"
                )
                .unwrap();
            }
            writeln!(
                out,
                "flask_http_request_duration_seconds_count{{{labels}}} {n}.0"
            )
            .unwrap();
            writeln!(
                out,
                "flask_http_request_duration_seconds_sum{{{labels}}} {}",
                n as f64 * 0.02
            )
            .unwrap();
        }
    }
    out
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

struct Pipeline {
    board: Board,
    view: DashboardState,
    terminal: Terminal<TestBackend>,
}

impl Pipeline {
    fn refresh(&mut self, body: &str, at: f64) {
        let series = promtext::parse(body, |n| {
            n.starts_with("flask_http_request_duration_seconds_")
        })
        .unwrap();
        self.board.apply(Sample::Counters {
            source: "scrape",
            at,
            series,
        });
        let snap = self.board.snapshot(at);
        self.view.apply(snap);
        self.terminal
            .draw(|f| golive::tui::dashboard::panels::render(f, f.area(), &self.view))
            .unwrap();
    }
}

fn main() {
    let table: toml::Table = "refresh = \"1s\"\nwindows = [\"1m\", \"5m\", \"15m\"]"
        .parse()
        .unwrap();
    let cfg = MonitorConfig::from_table(Some(&table), &Vars::default(), &|_| None).unwrap();
    let now = golive::monitor::sample::now();
    let history = 15 * 60 + 60;
    let mut p = Pipeline {
        board: Board::new(cfg, now - history as f64),
        view: DashboardState::default(),
        terminal: Terminal::new(TestBackend::new(160, 60)).unwrap(),
    };
    let sample = exposition(1);
    println!(
        "exposition: {} lines, {} KiB",
        sample.lines().count(),
        sample.len() / 1024
    );
    // Fill 16 minutes of history at 1 s.
    let mut times = Vec::new();
    for t in 0..history {
        let body = exposition(t as u64);
        let start = Instant::now();
        p.refresh(&body, now - (history - t) as f64);
        times.push(start.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "one refresh (parse → panels over 3 windows → view state → drawn frame), {ROUTES} routes: \
         mean {:.2} ms, median {:.2} ms, p99 {:.2} ms (target < 5 ms)",
        mean.as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() * 99 / 100].as_secs_f64() * 1e3,
    );
    // A short watch in real time at 1 s, history full.
    let watch = 10;
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    for i in 0..watch {
        p.refresh(&exposition((history + i) as u64), now + i as f64);
        std::thread::sleep(
            Duration::from_secs(1)
                .saturating_sub(wall0.elapsed() - Duration::from_secs(i as u64))
                .min(Duration::from_secs(1)),
        );
    }
    let cpu = cpu_seconds() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    println!(
        "watch of {watch} s at 1 s refresh: CPU {:.2}% of one core (target < 2%), RSS {:.1} MiB (target < 30 MiB)",
        100.0 * cpu / wall,
        rss_mib()
    );
}
