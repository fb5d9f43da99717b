//! Every operating-system concern in one place: processes (alive, signalled, tied to golive's
//! life), the signals that stop it, the user and the host. Built on `nix`; the one `unsafe` left in golive is here
//! ([`die_with_parent`]), so the rest of the crate denies `unsafe_code`.

mod signals;

pub use signals::Signals;

use nix::errno::Errno;
use nix::sys::signal::{self, Signal};
use nix::unistd::{Pid, Uid, User};

/// A signal golive sends. Only the three it needs, so a caller cannot pass a raw number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// Ask to stop.
    Term,
    /// Stop now.
    Kill,
    /// The terminal went away.
    Hup,
    /// Ctrl-C.
    Int,
}

impl From<Sig> for Signal {
    fn from(sig: Sig) -> Signal {
        match sig {
            Sig::Term => Signal::SIGTERM,
            Sig::Kill => Signal::SIGKILL,
            Sig::Hup => Signal::SIGHUP,
            Sig::Int => Signal::SIGINT,
        }
    }
}

/// Send `sig` to the process `pid`; a process that is gone is not an error.
pub fn signal_process(pid: i32, sig: Sig) {
    let _ = signal::kill(Pid::from_raw(pid), Signal::from(sig));
}

/// Send `sig` to every process of the group `pgid`; a group that is gone is not an error.
pub fn signal_group(pgid: i32, sig: Sig) {
    let _ = signal::killpg(Pid::from_raw(pgid), Signal::from(sig));
}

/// Whether `pid` runs: it exists (possibly as another user's) and is not a zombie waiting for
/// its parent to reap it.
pub fn process_running(pid: i32) -> bool {
    exists(signal::kill(Pid::from_raw(pid), None)) && proc_stat(pid).is_none_or(|s| !s.zombie)
}

/// Whether any process of the group `pgid` still runs. Zombies do not count: an orphan killed
/// after its parent died may wait a while for its reaper, but it runs nothing.
pub fn group_running(pgid: i32) -> bool {
    if !exists(signal::killpg(Pid::from_raw(pgid), None)) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
            .and_then(proc_stat)
            .is_some_and(|stat| stat.pgrp == pgid && !stat.zombie)
    })
}

/// Ask the kernel to SIGTERM the child being set up when golive dies (even by SIGKILL, which
/// leaves golive no chance to stop it). Linux only; elsewhere the command is left as it was.
pub fn die_with_parent(cmd: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the forked child before exec and calls only prctl, which is
    // async-signal-safe and touches nothing shared with the parent.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// The OS user running golive: `$USER`, else the name of the effective uid, else `uid N`.
pub fn user_name() -> String {
    if let Some(name) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return name;
    }
    let uid = Uid::effective();
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

/// Whether golive runs as root.
pub fn is_root() -> bool {
    Uid::effective().is_root()
}

/// The uid and gid of the account `name`, if it exists.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let user = User::from_name(name).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// This machine's host name.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// A `kill(…, 0)` answer: the process exists (EPERM: it does, as someone else's).
fn exists(answer: nix::Result<()>) -> bool {
    matches!(answer, Ok(()) | Err(Errno::EPERM))
}

/// What `/proc/PID/stat` says of a process: its group and whether it is a zombie.
struct ProcStat {
    pgrp: i32,
    zombie: bool,
}

fn proc_stat(pid: i32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
fn parse_stat(stat: &str) -> Option<ProcStat> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some(ProcStat {
        pgrp,
        zombie: state == "Z",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_parentheses_in_the_name_parses() {
        let stat = parse_stat("42 (sh (x) y) Z 1 4242 4242 0").expect("parses");
        assert_eq!(stat.pgrp, 4242);
        assert!(stat.zombie);
        let stat = parse_stat("7 (postgres) S 1 7 7").expect("parses");
        assert!(!stat.zombie);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_runs_and_a_reaped_child_does_not() {
        assert!(process_running(std::process::id() as i32));
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id() as i32;
        child.wait().expect("wait");
        assert!(!process_running(pid));
    }

    #[test]
    fn the_user_and_host_have_names() {
        assert!(!user_name().is_empty());
        assert!(!host_name().is_empty());
        assert_eq!(user_ids("root").map(|(uid, _)| uid), Some(0));
    }
}
