//! The whole shipped runbook, rehearsed in the console as a person would: the real `golive
//! rehearse` on a pseudo-terminal against its sandbox, every destructive step confirmed by typing
//! the database's name, every gate confirmed, the dashboard watched during the monitor step, the
//! end reached, the console left, the terminal given back; and no password on the screen, in the
//! bytes written to the terminal, in the journal or in the step logs.

mod common;
mod tui_support;

use std::path::Path;
use std::time::Duration;

use common::{TempDir, latest_run, repo};
use tui_support::{Pty, assert_restored};

const WAIT: Duration = Duration::from_secs(40);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Where `text` has a URL with a password that is not `***`: every `scheme://user:secret@`
/// must read `scheme://user:***@` (a `host:port` after `://` is not a password).
fn unredacted_password(text: &[u8]) -> Option<String> {
    let userinfo = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b);
    let mut from = 0;
    while let Some(at) = text[from..].windows(3).position(|w| w == b"://") {
        let start = from + at + 3;
        from = start;
        let user_end = start + text[start..].iter().take_while(|&&b| userinfo(b)).count();
        if text.get(user_end) != Some(&b':') {
            continue;
        }
        let secret_end = user_end
            + 1
            + text[user_end + 1..]
                .iter()
                .take_while(|&&b| userinfo(b))
                .count();
        if text.get(secret_end) == Some(&b'@') && &text[user_end + 1..secret_end] != b"***" {
            let shown = &text[start.saturating_sub(12)..(secret_end + 1).min(text.len())];
            return Some(String::from_utf8_lossy(shown).into_owned());
        }
    }
    None
}

#[test]
fn the_scan_tells_a_password_from_a_port() {
    assert_eq!(
        unredacted_password(
            b"db postgres://app_owner:***@127.0.0.1:5432/shop app http://127.0.0.1:8080"
        ),
        None
    );
    assert!(unredacted_password(b"x postgres://app_owner:9f0e1d@127.0.0.1:5432/shop").is_some());
}

fn assert_no_password(what: &str, text: &[u8]) {
    if let Some(found) = unredacted_password(text) {
        panic!("{what} holds a password: {found}");
    }
}

/// Answer the dialog whose title reads `title` with `keys`.
fn answer(pty: &mut Pty, title: &str, keys: &str) {
    pty.wait_for(title, WAIT);
    pty.send(keys);
}

/// `golive rehearse ARGS` in the console at 120x40, in `dir` holding a copy of the shipped
/// runbook, with no variable of a real target in its environment.
fn rehearse_in_console(dir: &TempDir, args: &[&str]) -> Pty {
    std::fs::copy(repo().join("runbook.toml"), dir.join("runbook.toml")).expect("runbook");
    copy_dir(&repo().join("assets"), &dir.join("assets"));
    let mut cmd = tui_support::golive(dir.path(), &[&["rehearse"], args].concat());
    for var in ["DATABASE_URL", "APP_DATABASE_URL", "APP_URL", "NO_COLOR"] {
        cmd.env_remove(var);
    }
    Pty::spawn(cmd, 120, 40)
}

/// After the first confirmation: the backfill, the dormant policies, the deploy gate, RLS on and
/// the flags, each typed or confirmed as a person would.
fn confirm_up_to_the_flags(pty: &mut Pty) {
    answer(pty, "DESTRUCTIVE: Catalog v2 backfill", "shop\r");
    answer(pty, "DESTRUCTIVE: Define the fail-closed RLS", "shop\r");
    answer(pty, "Gate: Deploy the Phase 2 application build", "y");
    answer(pty, "DESTRUCTIVE: Enable and force RLS", "shop\r");
    // The baseline before the flags lasts a third of the watch (at most a minute).
    pty.wait_for("DESTRUCTIVE: Feature flags on", WAIT * 3);
    pty.send("shop\r");
}

#[test]
fn a_person_rehearses_the_shipped_runbook_in_the_console() {
    let dir = TempDir::new("tui-rehearse");
    // Two refreshes of the shipped runbook's 5 s at least: a shorter watch cannot see a rate,
    // so it would be inconclusive (and ask whether to accept it).
    let mut pty = rehearse_in_console(&dir, &["--watch", "10s"]);

    // The question's last line is drawn after its title: the whole dialog is on screen.
    pty.wait_for_all(&["DESTRUCTIVE: Catalog v2 columns", "Enter run it"], WAIT);
    pty.send("shop\r");
    confirm_up_to_the_flags(&mut pty);
    // The route tables are drawn below the panels: every panel row is on screen.
    let dashboard = pty.wait_for_all(
        &[
            "dashboard · window",
            "5xx by route, worst first",
            "WARN / CRIT",
        ],
        WAIT,
    );
    assert!(dashboard.contains("isolation canary"), "{dashboard}");
    answer(&mut pty, "Gate: Success criteria met", "y");
    let end = pty.wait_for("every step passed", WAIT);
    assert_no_password("the last screen", end.as_bytes());
    assert_no_password("the dashboard", dashboard.as_bytes());
    pty.send("q");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 0, "the rehearsal passed:\n{}", pty.screen());
    let raw = pty.raw();
    assert_restored(&raw);
    assert!(
        tui_support::find(&raw, b"://app_owner:***@", 0).is_some(),
        "the scan met the sandbox's redacted DATABASE_URL"
    );
    assert_no_password("the bytes written to the terminal", &raw);

    let run = latest_run(dir.path());
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).expect("journal");
    assert!(journal.contains("\"passed\""), "{journal}");
    assert_no_password("the journal", journal.as_bytes());
    for log in std::fs::read_dir(run.join("steps"))
        .expect("step logs")
        .flatten()
    {
        let text = std::fs::read(log.path()).expect("step log");
        assert_no_password(&log.path().display().to_string(), &text);
    }
}

/// The 5xx scenario at 2 a.m.: the watch breaches, `r` in the failure dialog leads to the fast
/// rollback (never a retry of the watch with the flags on), and afterwards the dashboard keeps
/// refreshing and says what changed, its 5xx numbers moving.
#[test]
fn a_breach_then_r_rolls_back_and_the_dashboard_stays_live() {
    let dir = TempDir::new("tui-breach");
    let mut pty = rehearse_in_console(&dir, &["--scenario", "5xx-spike", "--watch", "5m"]);
    answer(&mut pty, "DESTRUCTIVE: Catalog v2 columns", "shop\r");
    confirm_up_to_the_flags(&mut pty);
    let failed = pty.wait_for_all(&["Failed: ", "(recommended after a breach)"], WAIT * 3);
    assert!(
        failed.contains("▸r"),
        "the rollback is highlighted:\n{failed}"
    );
    pty.send("r");
    let really = pty.wait_for("Really roll back", WAIT);
    assert!(!really.contains("Really retry"), "{really}");
    pty.send("y");
    let live = pty.wait_for("LIVE · rollback `fast` completed", WAIT);
    assert!(live.contains("WATCH VERDICT"), "the verdict apart:\n{live}");
    assert!(live.contains("rolled back"), "the header agrees:\n{live}");
    // The numbers move: the breaching panel's trend is computed from the live refreshes.
    let moving = pty.wait_for("and falling", WAIT * 3);
    assert!(moving.contains("5xx ratio"), "{moving}");
    pty.send("q");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 1, "rolled back:\n{}", pty.screen());
    assert_restored(&pty.raw());
    let run = latest_run(dir.path());
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).expect("journal");
    assert!(
        common::has_record(&journal, r#""outcome":"rolled_back""#),
        "{journal}"
    );
    assert!(
        !common::has_record(&journal, r#""what":"retry""#),
        "{journal}"
    );
}
