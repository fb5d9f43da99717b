//! The fleet console's keys, through the real binary in a pseudo-terminal: `golive run --targets`
//! with 64 targets all running a 15-step shell runbook at once (their first step sleeps while the
//! keys are pressed, quiet in one round, printing 5 lines a second each in another), and each key timed from its write to the pty to the arrival of the frame
//! that shows it (the bytes after which the screen, read back through vt100, first shows the
//! key's mark). The target is one frame: the console's tick (`TuiOptions::tick_rate`).
//!
//! A fleet of 2 targets runs side by side in the same round, a press on one console then a press
//! on the other, so the ratio 64 vs 2 holds on a noisy machine (a fleet of 1 cannot move its
//! selection, so 2 is the smallest fleet a selection key changes). Both sizes, 200x60 and 80x24.
//!
//! The keys measured are the list [`KEYS`]; add one there with the mark its frame shows.
//!
//! Run with `cargo bench --bench fleet_keys`.

#[path = "../tests/tui_support/mod.rs"]
mod tui_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tui_support::Pty;

/// Presses per key and console.
const PRESSES: usize = 200;
/// The big fleet and the small one beside it.
const FLEETS: [usize; 2] = [64, 2];
/// Terminal sizes (columns, rows).
const SIZES: [(u16, u16); 2] = [(200, 60), (80, 24)];
const STEPS: usize = 15;
/// What every target's first step does while the keys are pressed: (name, shell command). It
/// prints `$NAME ready` first.
const SCENARIOS: [(&str, &str); 2] = [
    ("quiet", "sleep 120"),
    (
        "each target printing 5 lines/s",
        "for i in $(seq 600); do echo \\\"$NAME line $i\\\"; sleep 0.2; done",
    ),
];
/// How long a key may take before it counts as missed.
const MISSED: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(60);

/// A key to measure. Cases run in this order on the same console, which starts with the first
/// target selected.
struct KeyCase {
    /// What the report calls it.
    name: &'static str,
    /// Press `i` (from 0) on a fleet of `n` targets: the bytes to type, and a text the frame
    /// that answers it shows and the frame before did not.
    press: fn(i: usize, n: usize) -> (&'static str, String),
}

const KEYS: &[KeyCase] = &[
    KeyCase {
        name: "j/k (select a target)",
        press: select,
    },
    KeyCase {
        name: "d (matrix <-> dashboard)",
        press: toggle,
    },
];

/// `d` to the dashboard (one row per target, worst first), `d` back to the matrix: an even
/// number of presses leaves the matrix on screen.
fn toggle(i: usize, n: usize) -> (&'static str, String) {
    match i % 2 {
        0 => ("d", " targets, worst first ".to_string()),
        _ => ("d", format!(" {n} targets × {STEPS} steps ")),
    }
}

/// `j` down to the last target, then `k` back up to the first, and again: each press moves the
/// selection, and the output pane's title names the target selected.
fn select(i: usize, n: usize) -> (&'static str, String) {
    let lap = 2 * (n - 1);
    let at = i % lap;
    let (key, now) = if at < n - 1 {
        ("j", at + 1)
    } else {
        ("k", lap - at - 1)
    };
    (key, format!(" {} · output ", name(now)))
}

fn name(target: usize) -> String {
    format!("t{:02}", target + 1)
}

/// 15 shell steps; the first says it is ready, then runs `first` through the presses.
fn runbook(first: &str) -> String {
    let mut text =
        String::from("[runbook]\nname = \"fleet keys\"\n\n[vars]\nNAME = { required = true }\n");
    for i in 1..=STEPS {
        let run = if i == 1 {
            format!("echo \\\"$NAME ready\\\"; {first}")
        } else {
            format!("echo \\\"$NAME step {i}\\\"; sleep 30")
        };
        text.push_str(&format!(
            "\n[[steps]]\nid = \"s{i:02}\"\ntitle = \"Step {i}\"\nkind = \"shell\"\nrun = \"{run}\"\n"
        ));
    }
    text
}

/// `n` targets in one wave, all at once.
fn targets(n: usize) -> String {
    let mut text = String::new();
    for t in 0..n {
        let name = name(t);
        text.push_str(&format!(
            "[[target]]\nname = \"{name}\"\nvars = {{ NAME = \"{name}\" }}\n"
        ));
    }
    text.push_str(&format!("[waves]\nplan = [\"100%\"]\nparallel = {n}\n"));
    text
}

/// A fleet console on a pty, in its own directory.
struct Console {
    targets: usize,
    dir: PathBuf,
    pty: Pty,
    times: Vec<Vec<Duration>>,
    missed: Vec<usize>,
}

impl Console {
    fn start(root: &Path, first: &str, targets: usize, (cols, rows): (u16, u16)) -> Console {
        let dir = root.join(format!("{targets}-{cols}x{rows}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench dir");
        std::fs::write(dir.join("runbook.toml"), runbook(first)).expect("runbook");
        std::fs::write(dir.join("TARGETS.toml"), self::targets(targets)).expect("targets");
        let check = std::process::Command::new(env!("CARGO_BIN_EXE_golive"))
            .arg("check")
            .env("NAME", "t01")
            .current_dir(&dir)
            .output()
            .expect("golive check");
        assert!(check.status.success(), "golive check: {check:?}");
        let cmd = tui_support::golive(&dir, &["run", "--targets", "TARGETS.toml"]);
        let pty = Pty::spawn(cmd, cols, rows);
        Console {
            targets,
            dir,
            pty,
            times: vec![Vec::with_capacity(PRESSES); KEYS.len()],
            missed: vec![0; KEYS.len()],
        }
    }

    /// Wait until the matrix is drawn and every target's first step has printed (its journal
    /// has the line).
    fn wait_running(&self) {
        self.pty
            .wait_for(&format!(" {} targets × {STEPS} steps ", self.targets), WAIT);
        let start = Instant::now();
        let ready = |t: usize| {
            let Ok(runs) = std::fs::read_dir(self.dir.join(".golive/runs")) else {
                return false;
            };
            runs.flatten().any(|run| {
                let log = run
                    .path()
                    .join(format!("targets/{}/journal.jsonl", name(t)));
                std::fs::read_to_string(log).is_ok_and(|text| text.contains("ready"))
            })
        };
        while !(0..self.targets).all(ready) {
            assert!(
                start.elapsed() < WAIT,
                "not every target started; the screen:\n{}",
                self.pty.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.pty.wait_for(&name(0), WAIT);
    }

    fn press(&mut self, case: usize, i: usize) {
        let (keys, shows) = (KEYS[case].press)(i, self.targets);
        match self.pty.time_key(keys, &shows, MISSED) {
            Some(took) => self.times[case].push(took),
            None => self.missed[case] += 1,
        }
    }

    /// Stop every target (`q`), then leave (`q` again) and wait for the exit.
    fn stop(mut self) {
        self.pty.send("q");
        self.pty.wait_for("q quit", WAIT);
        self.pty.send("q");
        self.pty.wait_exit(WAIT);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let tick = golive::tui::TuiOptions::default().tick_rate;
    let root = std::env::temp_dir().join(format!("golive-bench-fleet-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    println!(
        "fleet_keys: a key to the frame that shows it, {PRESSES} presses per key, real binary on \
         a pty, {STEPS} steps per target, every target running; the console's tick is {:.0} ms",
        ms(tick)
    );
    for (scenario, first) in SCENARIOS {
        println!("  {scenario}:");
        for size in SIZES {
            round(&root, first, size);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// The big and the small fleet side by side at one size, every key of [`KEYS`].
fn round(root: &Path, first: &str, size: (u16, u16)) {
    let tick = golive::tui::TuiOptions::default().tick_rate;
    let mut consoles: Vec<Console> = FLEETS
        .iter()
        .map(|&n| Console::start(root, first, n, size))
        .collect();
    for console in &consoles {
        console.wait_running();
    }
    for case in 0..KEYS.len() {
        for i in 0..PRESSES {
            for console in &mut consoles {
                // Presses land at every phase of the tick.
                std::thread::sleep(Duration::from_millis(15 + (i as u64 * 7) % 23));
                console.press(case, i);
            }
        }
    }
    for (case, key) in KEYS.iter().enumerate() {
        println!("    {} at {}x{}:", key.name, size.0, size.1);
        let mut ranks = Vec::new();
        for console in &mut consoles {
            let times = &mut console.times[case];
            times.sort_unstable();
            let p50 = percentile(times, 0.50);
            ranks.push((p50, percentile(times, 0.95)));
            let missed = console.missed[case];
            println!(
                "      {:>2} targets: p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms{}",
                console.targets,
                ms(p50),
                ms(percentile(times, 0.95)),
                ms(percentile(times, 1.0)),
                if missed > 0 {
                    format!("  MISSED {missed} (no frame within {MISSED:?})")
                } else {
                    String::new()
                }
            );
        }
        if let [(big50, big95), (small50, small95)] = ranks[..] {
            println!(
                "      ratio {} vs {} targets: p50 {:.2}x  p95 {:.2}x  (target: p95 ≤ one tick, {:.0} ms)",
                FLEETS[0],
                FLEETS[1],
                big50.as_secs_f64() / small50.as_secs_f64().max(1e-9),
                big95.as_secs_f64() / small95.as_secs_f64().max(1e-9),
                ms(tick)
            );
        }
    }
    for console in consoles {
        console.stop();
    }
}
