//! Fleet benchmarks, side by side in one run (ratios, not absolute times, are what count on a
//! noisy machine):
//!
//! 1. overhead: 16 targets of a 10-step shell runbook, `parallel = 8`, two waves of 8, run
//!    headless by the real binary, against the slowest single target per wave (one `golive run`
//!    of one target, the best of 3, times the number of waves). Target ≤ 1.2x.
//! 2. memory: golive's peak RSS with 1 target against 64 targets all running at once (sampled
//!    from /proc every 10 ms): the growth per target. Target < 2 MiB.
//! 3. the console: one frame of the fleet matrix with 64 targets × 15 steps at 200x60, drawn
//!    into a test backend. Target: well inside one frame (33 ms) per key.
//!
//! Run with `cargo bench --bench fleet`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: usize = 10;
const STEP_SLEEP: &str = "0.2";

fn main() {
    let dir = std::env::temp_dir().join(format!("golive-bench-fleet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    overhead(&dir);
    memory(&dir);
    console();
    let _ = std::fs::remove_dir_all(&dir);
}

fn golive() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golive"))
}

/// A runbook of `STEPS` shell steps, each sleeping `sleep` seconds.
fn runbook(sleep: &str) -> String {
    let mut text =
        String::from("[runbook]\nname = \"bench\"\n\n[vars]\nNAME = { default = \"x\" }\n");
    for i in 1..=STEPS {
        text.push_str(&format!(
            "\n[[steps]]\nid = \"s{i}\"\ntitle = \"Step {i}\"\nkind = \"shell\"\nrun = \"echo $NAME {i}; sleep {sleep}\"\n"
        ));
    }
    text
}

fn targets(n: usize, plan: &str, parallel: usize) -> String {
    let mut text = String::new();
    for i in 1..=n {
        text.push_str(&format!(
            "[[target]]\nname = \"t{i}\"\nvars = {{ NAME = \"t{i}\" }}\n"
        ));
    }
    text.push_str(&format!("[waves]\nplan = {plan}\nparallel = {parallel}\n"));
    text
}

fn timed(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run golive");
    assert!(status.success(), "{cmd:?} failed: {status}");
    start.elapsed()
}

fn overhead(dir: &Path) {
    let case = dir.join("overhead");
    std::fs::create_dir_all(&case).expect("dir");
    std::fs::write(case.join("runbook.toml"), runbook(STEP_SLEEP)).expect("runbook");
    std::fs::write(case.join("TARGETS.toml"), targets(16, "[8, \"100%\"]", 8)).expect("targets");
    let single = (0..3)
        .map(|_| {
            let mut cmd = golive();
            cmd.current_dir(&case)
                .args(["run", "--headless"])
                .env("NAME", "t1");
            timed(cmd)
        })
        .min()
        .expect("runs");
    let fleet = (0..3)
        .map(|_| {
            let mut cmd = golive();
            cmd.current_dir(&case)
                .args(["run", "--targets", "TARGETS.toml", "--headless"]);
            timed(cmd)
        })
        .min()
        .expect("runs");
    let ideal = single * 2;
    println!(
        "overhead: 16 targets × {STEPS} steps, parallel 8 (2 waves): fleet {:.2}s, slowest \
         single target per wave {:.2}s × 2 = {:.2}s: {:.2}x (target ≤ 1.2x)",
        fleet.as_secs_f64(),
        single.as_secs_f64(),
        ideal.as_secs_f64(),
        fleet.as_secs_f64() / ideal.as_secs_f64()
    );
}

/// Peak RSS (KiB) of a running child, sampled until it exits.
fn sampled_peak(mut cmd: Command) -> u64 {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn golive");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{cmd:?} failed: {status}");
            return peak;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn memory(dir: &Path) {
    let mut peaks = Vec::new();
    for n in [1, 64] {
        let case = dir.join(format!("memory-{n}"));
        std::fs::create_dir_all(&case).expect("dir");
        std::fs::write(case.join("runbook.toml"), runbook("0.5")).expect("runbook");
        std::fs::write(case.join("TARGETS.toml"), targets(n, "[\"100%\"]", n)).expect("targets");
        let mut cmd = golive();
        cmd.current_dir(&case)
            .args(["run", "--targets", "TARGETS.toml", "--headless"]);
        peaks.push(sampled_peak(cmd));
    }
    let per_target = (peaks[1].saturating_sub(peaks[0])) as f64 / 63.0 / 1024.0;
    println!(
        "memory: peak RSS 1 target {:.1} MiB, 64 targets at once {:.1} MiB: {per_target:.2} MiB \
         per target (target < 2 MiB)",
        peaks[0] as f64 / 1024.0,
        peaks[1] as f64 / 1024.0
    );
}

fn console() {
    use golive::events::{EngineEvent, StepState};
    use golive::fleet::{FleetEvent, Wave};
    use golive::tui::fleet_state::FleetState;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let steps: Vec<String> = (1..=15).map(|i| format!("step-{i}")).collect();
    let mut state = FleetState::default();
    state.apply(FleetEvent::FleetStarted {
        run_dir: "bench".into(),
        runbook: "bench".into(),
        targets: (1..=64).map(|i| format!("target-{i}")).collect(),
        waves: vec![Wave {
            name: "wave-1".into(),
            targets: (0..64).collect(),
        }],
        steps,
        first_step: 0,
        parallel: 64,
        resumed: false,
    });
    for t in 0..64 {
        for s in 0..(t % 15) {
            state.apply(FleetEvent::Target {
                target: t,
                engine: EngineEvent::StepState {
                    step: s,
                    state: StepState::Passed,
                    attempt: 1,
                    elapsed: None,
                    detail: None,
                },
            });
        }
    }
    let theme = golive::tui::theme::Theme::new(true);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("backend");
    let frames = 500;
    let start = Instant::now();
    for i in 0..frames {
        state.selected = i % 64;
        terminal
            .draw(|f| golive::tui::fleet_view::draw(f, &state, theme))
            .expect("draw");
    }
    let per = start.elapsed() / frames as u32;
    println!(
        "console: one frame of 64 targets × 15 steps at 200x60: {:.2} ms (a frame is 33 ms)",
        per.as_secs_f64() * 1000.0
    );
}
