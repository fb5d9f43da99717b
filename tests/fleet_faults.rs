//! A fleet whose own journal (`fleet.jsonl`) cannot be written mid-run: no target starts that
//! the fleet could not record, the fleet exits non-zero naming the file, without a panic, and
//! every record it did write stays a whole JSON line. The file is made immutable (`chattr +i`,
//! which stops even root's writes through the fleet's open descriptor) by a step of the first
//! target.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{TempDir, golive, latest_run, text};

/// `freeze` makes the fleet's journal immutable on the target whose `FREEZE` is set.
const RUNBOOK: &str = r#"
[runbook]
name = "fleet journal fault"

[vars]
FREEZE = { default = "" }

[[steps]]
id = "one"
title = "One"
kind = "shell"
run = 'echo "one on $GOLIVE_TARGET"'

[[steps]]
id = "freeze"
title = "Make the fleet journal unwritable"
kind = "shell"
run = 'if [ -n "$FREEZE" ]; then chattr +i "$GOLIVE_RUN_DIR/../../fleet.jsonl"; fi'

[[steps]]
id = "three"
title = "Three"
kind = "shell"
run = 'echo three'
"#;

/// `a` freezes the journal; `b` is queued behind it in wave 1 (one at a time), `c` and `d` are
/// wave 2.
const TARGETS: &str = r#"
[[target]]
name = "a"
vars = { FREEZE = "1" }
[[target]]
name = "b"
[[target]]
name = "c"
[[target]]
name = "d"
[waves]
plan = [2, "100%"]
parallel = 1
"#;

/// Takes the immutable attribute off every file it was given on drop, so the directory can be
/// removed whatever the test found.
struct Thaw(Vec<PathBuf>);

impl Drop for Thaw {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(path)
                .status();
        }
    }
}

/// Run the fleet of [`TARGETS`] with `runbook` in `dir`, headless.
fn run_fleet(dir: &TempDir, runbook: &str) -> std::process::Output {
    dir.write("runbook.toml", runbook);
    dir.write("TARGETS.toml", TARGETS);
    golive()
        .current_dir(dir.path())
        .args(["run", "--targets", "TARGETS.toml", "--headless"])
        .output()
        .expect("run golive")
}

/// Whether `chattr +i` stops a write through an already open descriptor here (root on ext4 or
/// xfs does; tmpfs and overlay do not).
fn immutable_stops_writes(dir: &Path) -> bool {
    use std::io::Write;
    let probe = dir.join("probe");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&probe)
        .unwrap();
    let _thaw = Thaw(vec![probe.clone()]);
    let frozen = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    frozen && file.write_all(b"x").is_err()
}

#[test]
fn an_unwritable_fleet_journal_starts_nothing_more_and_exits_naming_the_file() {
    let dir = TempDir::new("fleet-journal-fault");
    assert!(
        immutable_stops_writes(dir.path()),
        "this test needs root and a file system where `chattr +i` stops writes (ext4, xfs) \
         under {}",
        dir.path().display()
    );
    let out = run_fleet(&dir, RUNBOOK);
    let run = latest_run(dir.path());
    let journal = run.join("fleet.jsonl");
    let _thaw = Thaw(vec![journal.clone()]);
    let all = text(&out);

    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    // (The path alone is printed at the start too: the message is the write that failed.)
    assert!(
        all.contains(&format!(
            "golive fleet finished: interrupted — cannot write the journal {}",
            journal.display()
        )) && all.contains("nothing more was started"),
        "the message names the fleet journal: {all}"
    );
    // The target that froze the journal finished its own run, in its own journal; no other
    // target was started once the fleet could not record it.
    let own = std::fs::read_to_string(run.join("targets/a/journal.jsonl")).unwrap();
    assert!(
        common::has_record(&own, r#""event":"run_finished""#),
        "{own}"
    );
    for t in ["b", "c", "d"] {
        assert!(
            !run.join("targets").join(t).exists(),
            "{t} started after the fleet journal failed: {all}"
        );
    }
    // Every record that was written is whole, and the last says `a` started: its end could not
    // be recorded, nor anything after.
    let records: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every fleet journal line is a whole record"))
        .collect();
    let last = records.last().unwrap();
    assert_eq!(last["event"], "target_started", "{records:#?}");
    assert_eq!(last["target"], "a", "{records:#?}");
}

/// Every line of `path` (if it exists) is a whole JSON record.
fn whole_lines(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("{} has a torn line ({e}): {line}", path.display()));
    }
    text.lines().count()
}

#[test]
fn a_full_disk_under_a_fleet_halts_it_and_leaves_every_journal_whole() {
    let dir = TempDir::new("fleet-full-disk");
    let _disk = common::SmallDisk::mount(dir.path(), "512k");
    // `a`'s middle step fills the disk its fleet and every target's journal are on.
    let runbook = RUNBOOK.replace(
        r#"chattr +i "$GOLIVE_RUN_DIR/../../fleet.jsonl""#,
        r#"head -c 2000000 /dev/zero > "$GOLIVE_RUN_DIR/filler" 2>/dev/null || true"#,
    );
    assert_ne!(runbook, RUNBOOK);
    let out = run_fleet(&dir, &runbook);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    // Whichever write meets the full disk first (a step log of `a`, or the journal `b` opens),
    // that target does not pass and the fleet halts in wave 1, saying why.
    assert!(all.contains("No space left on device"), "{all}");
    assert!(
        all.contains("golive fleet finished: halted — halted in wave-1")
            && all.contains("no later wave was started"),
        "{all}"
    );
    let run = latest_run(dir.path());
    let b_logs = std::fs::read_dir(run.join("targets/b/steps")).map_or(0, Iterator::count);
    assert_eq!(b_logs, 0, "b ran nothing: {all}");
    for t in ["c", "d"] {
        assert!(!run.join("targets").join(t).exists(), "{t} started: {all}");
    }
    assert!(whole_lines(&run.join("fleet.jsonl")) > 0);
    assert!(whole_lines(&run.join("targets/a/journal.jsonl")) > 0);
    // (b's journal exists only when the disk filled up after a.)
    whole_lines(&run.join("targets/b/journal.jsonl"));
}
