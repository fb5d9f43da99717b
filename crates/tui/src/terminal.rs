//! Taking over the terminal and always giving it back: raw mode and the alternate screen on
//! [`enter`], and the terminal restored (cooked mode, main screen, cursor shown) when the
//! [`TerminalGuard`] drops — on quit, on an error return, while a panic unwinds — and from a panic
//! hook before the panic message is printed, so the message is readable.

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal while the console owns it; restores it when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal drawing to stdout.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

/// Put the terminal in raw mode on the alternate screen.
pub fn enter() -> io::Result<TerminalGuard> {
    install_panic_hook();
    enable_raw_mode()?;
    let restore_on_error = Restore;
    // Cleared here rather than with `Terminal::clear`, which asks the terminal where its cursor
    // is and fails on terminals that never answer.
    execute!(stdout(), EnterAlternateScreen, Clear(ClearType::All))?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    terminal.hide_cursor()?;
    std::mem::forget(restore_on_error);
    Ok(TerminalGuard { terminal })
}

/// Give the terminal back: leave raw mode and the alternate screen, show the cursor.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    execute!(stdout(), LeaveAlternateScreen, Show)?;
    raw
}

struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        // Nothing more can be done about a failure here: the process is on its way out.
        let _ = restore();
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}
