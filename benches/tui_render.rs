//! Drawing cost of the console: one frame at 200x60 with a step of 1,000,000 lines against one of
//! 100 lines (drawing must cost the viewport, not the history), and applying a batch of 1024
//! output lines then drawing. Run with `cargo bench --bench tui_render`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use golive::events::{EngineEvent, OutputChunk, RunInfo, StepInfo, StepState, Stream};
use golive::tui::{App, TuiOptions, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 200;
const H: u16 = 60;

fn run_info() -> RunInfo {
    let steps = (0..12)
        .map(|i| StepInfo {
            id: format!("step-{i}"),
            title: format!("Step number {i}"),
            kind: "shell".to_string(),
            destructive: i == 3,
            procedure: None,
            description: None,
            preview: "echo hi".to_string(),
            target: None,
            state: StepState::Pending,
            expected: Some(Duration::from_secs(20)),
        })
        .collect();
    RunInfo {
        run_id: "bench".to_string(),
        run_dir: PathBuf::from(".golive/runs/bench"),
        runbook: "Bench".to_string(),
        environment: Some("staging".to_string()),
        targets: vec![("db".to_string(), "u@h:5432/db".to_string())],
        steps,
        procedures: Vec::new(),
        resumed: false,
        expected_total: None,
    }
}

fn lines(from: usize, n: usize) -> Vec<OutputChunk> {
    (from..from + n)
        .map(|i| OutputChunk {
            stream: if i % 7 == 0 { Stream::Stderr } else { Stream::Stdout },
            text: if i % 3 == 0 {
                format!("\x1b[32mok\x1b[0m row {i}: \x1b[1mINSERT 0 1\x1b[0m into customers, tenant 7f1c…")
            } else {
                format!("row {i}: COPY 1200 appointments for tenant 7f1c9e2a-4b1d-4f7e-9a51-0d6c2f3e8b10")
            },
        })
        .collect()
}

fn app_with(total: usize) -> App {
    let options = TuiOptions {
        no_color: false,
        output_cap: 1_000_000,
        ..TuiOptions::default()
    };
    let mut app = App::new(&options, W, H);
    let now = Instant::now();
    app.apply(
        EngineEvent::Started {
            run: Box::new(run_info()),
        },
        now,
    );
    app.apply(
        EngineEvent::StepState {
            step: 0,
            state: StepState::Running,
            attempt: 1,
            elapsed: None,
            detail: None,
        },
        now,
    );
    let mut done = 0;
    while done < total {
        let n = (total - done).min(65_536);
        app.apply(
            EngineEvent::Output {
                step: 0,
                chunks: lines(done, n),
            },
            now,
        );
        done += n;
    }
    app
}

struct Stats {
    median: Duration,
    mean: Duration,
    max: Duration,
}

fn measure(iterations: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..20 {
        f();
    }
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let total: Duration = times.iter().sum();
    Stats {
        median: times[times.len() / 2],
        mean: total / u32::try_from(times.len()).unwrap_or(u32::MAX),
        max: times[times.len() - 1],
    }
}

fn report(name: &str, s: &Stats) {
    println!(
        "{name:<48} median {:>8.3} ms  mean {:>8.3} ms  max {:>8.3} ms",
        s.median.as_secs_f64() * 1e3,
        s.mean.as_secs_f64() * 1e3,
        s.max.as_secs_f64() * 1e3
    );
}

fn frame(total: usize) -> Stats {
    let app = app_with(total);
    let mut terminal = Terminal::new(TestBackend::new(W, H)).expect("backend");
    measure(500, || {
        terminal
            .draw(|f| view::draw(f, black_box(&app)))
            .expect("draw");
    })
}

fn main() {
    let small = frame(100);
    report("frame 200x60, step of 100 lines", &small);
    let big = frame(1_000_000);
    report("frame 200x60, step of 1,000,000 lines", &big);
    println!(
        "ratio (1M / 100, medians): {:.2}",
        big.median.as_secs_f64() / small.median.as_secs_f64()
    );

    let mut app = app_with(100_000);
    let mut terminal = Terminal::new(TestBackend::new(W, H)).expect("backend");
    let mut batches: Vec<Vec<OutputChunk>> =
        (0..320).map(|b| lines(100_000 + b * 1024, 1024)).collect();
    let batch = measure(300, || {
        let now = Instant::now();
        let chunks = batches.pop().unwrap_or_default();
        app.apply(EngineEvent::Output { step: 0, chunks }, now);
        terminal.draw(|f| view::draw(f, &app)).expect("draw");
    });
    report("apply 1024 lines, then draw one frame", &batch);
}
