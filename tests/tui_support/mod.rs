//! A pseudo-terminal driver for the console's tests: spawn a program on a pty, read its screen
//! back through vt100, type keys, keep the raw bytes, check the terminal was given back, and time
//! a key to the frame that shows it (for the benchmarks, which include this module too).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// Leaving the alternate screen.
pub const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
/// Entering the alternate screen.
pub const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
/// Showing the cursor.
pub const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

/// The real golive run with `args` in `dir`, as a person's terminal starts it (`TERM` set, no
/// `RUST_LOG`); add environment before [`Pty::spawn`].
pub fn golive(dir: &std::path::Path, args: &[&str]) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_golive"));
    cmd.args(args);
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("RUST_LOG");
    cmd
}

/// A program running on a pseudo-terminal.
pub struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    awaited: Arc<(Mutex<Option<Awaited>>, Condvar)>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Pty {
    /// Start `cmd` on a `cols`x`rows` terminal.
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let child = pair.slave.spawn_command(cmd).expect("spawn on the pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let awaited = Arc::new((Mutex::new(None::<Awaited>), Condvar::new()));
        let (p, r, a) = (parser.clone(), raw.clone(), awaited.clone());
        std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let at = Instant::now();
                let mut parser = p.lock().expect("parser");
                parser.process(&buf[..n]);
                r.lock().expect("raw").extend_from_slice(&buf[..n]);
                let (slot, landed) = &*a;
                let mut slot = slot.lock().expect("awaited");
                if let Some(awaited) = slot.as_mut().filter(|w| w.seen.is_none())
                    && parser.screen().contents().contains(&awaited.text)
                {
                    awaited.seen = Some(at);
                    landed.notify_all();
                }
            }
        });
        Pty {
            parser,
            raw,
            awaited,
            writer,
            child,
        }
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// Everything the program wrote.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().expect("raw").clone()
    }

    /// Wait until the screen shows `text`; returns the screen.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> String {
        self.wait_for_all(&[text], timeout)
    }

    /// Wait until the screen shows every one of `texts` at once (a frame can arrive in pieces:
    /// wait for a text drawn below the one that matters); returns the screen.
    pub fn wait_for_all(&self, texts: &[&str], timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                start.elapsed() < timeout,
                "the screen never showed all of {texts:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Type `bytes` (keys as a terminal sends them).
    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
    }

    /// Type `keys` and time them to the frame that shows `text`: from the write to the arrival
    /// of the bytes after which the screen first shows it (checked as each chunk lands, so the
    /// time is not rounded up to a polling interval). `None` if it never showed within
    /// `timeout`. The screen must not show `text` already.
    pub fn time_key(&mut self, keys: &str, text: &str, timeout: Duration) -> Option<Duration> {
        let (slot, landed) = &*self.awaited.clone();
        {
            // Hold the parser while arming, so no chunk lands between the check and the arming.
            let parser = self.parser.lock().expect("parser");
            assert!(
                !parser.screen().contents().contains(text),
                "the screen shows {text:?} before the key"
            );
            *slot.lock().expect("awaited") = Some(Awaited {
                text: text.to_string(),
                seen: None,
            });
        }
        let pressed = Instant::now();
        self.send(keys);
        let mut slot = slot.lock().expect("awaited");
        let deadline = pressed + timeout;
        loop {
            if let Some(seen) = slot.as_ref().and_then(|w| w.seen) {
                *slot = None;
                return Some(seen.saturating_duration_since(pressed));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                *slot = None;
                return None;
            }
            slot = landed.wait_timeout(slot, left).expect("awaited").0;
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.process_id().expect("pid")).expect("pid fits")
    }

    /// Wait for the program to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader take the last bytes.
                std::thread::sleep(Duration::from_millis(150));
                return status.exit_code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("the program did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// A text [`Pty::time_key`] waits for, and when the bytes that first showed it arrived.
struct Awaited {
    text: String,
    seen: Option<Instant>,
}

/// Whether `needle` occurs in `hay` after position `from`; returns its position.
pub fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Assert the terminal was given back: the alternate screen entered, then left, and the cursor
/// shown again after that.
pub fn assert_restored(raw: &[u8]) {
    let text = String::from_utf8_lossy(raw);
    let entered = find(raw, ENTER_ALT_SCREEN, 0)
        .unwrap_or_else(|| panic!("never entered the alternate screen: {text:?}"));
    let left = find(raw, LEAVE_ALT_SCREEN, entered)
        .unwrap_or_else(|| panic!("never left the alternate screen: {text:?}"));
    find(raw, SHOW_CURSOR, left)
        .unwrap_or_else(|| panic!("cursor not shown after leaving: {text:?}"));
}
