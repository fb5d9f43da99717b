//! Keys are data: one [`Action`] enum, and a [`Keymap`] from key names (`"j"`, `"down"`,
//! `"ctrl-c"`) to actions. The help overlay and the footer are drawn from the same table.
//!
//! Dialogs and the search prompt read keys themselves (they take typed text); everything else goes
//! through the keymap.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can do outside a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Select the previous step, or scroll the output up a line.
    Up,
    /// Select the next step, or scroll the output down a line.
    Down,
    /// Scroll the output up a page.
    PageUp,
    /// Scroll the output down a page.
    PageDown,
    /// First step, or the top of the output.
    Top,
    /// Last step, or the tail of the output.
    Bottom,
    /// Follow the running step and the tail of its output.
    Follow,
    /// Move the focus between the checklist and the output.
    SwitchPane,
    /// Answer the pending question, or switch panes when there is none.
    Activate,
    /// Search the output.
    Search,
    /// Next search match.
    NextMatch,
    /// Previous search match.
    PrevMatch,
    /// Rollback and diagnostic procedures.
    Procedures,
    /// Toggle between the checklist and the monitoring dashboard.
    Dashboard,
    /// Dashboard: the next shorter window.
    ShorterWindow,
    /// Dashboard: the next longer window.
    LongerWindow,
    /// Dashboard: follow the watch's own window again.
    AutoWindow,
    /// Put away the notices shown under the header.
    DismissNotices,
    /// Show every key binding.
    Help,
    /// Leave (asks first while the run is live).
    Quit,
}

impl Action {
    /// Every action, in the order the help lists them.
    pub const ALL: [Action; 20] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Follow,
        Action::SwitchPane,
        Action::Activate,
        Action::Search,
        Action::NextMatch,
        Action::PrevMatch,
        Action::Procedures,
        Action::Dashboard,
        Action::ShorterWindow,
        Action::LongerWindow,
        Action::AutoWindow,
        Action::DismissNotices,
        Action::Help,
        Action::Quit,
    ];

    /// What the action does, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "previous step / scroll up",
            Action::Down => "next step / scroll down",
            Action::PageUp => "output: page up",
            Action::PageDown => "output: page down",
            Action::Top => "first step / top of output",
            Action::Bottom => "last step / tail of output",
            Action::Follow => "follow the running step and its tail",
            Action::SwitchPane => "switch pane (checklist / output)",
            Action::Activate => "answer the pending question / switch pane",
            Action::Search => "search the output",
            Action::NextMatch => "next match",
            Action::PrevMatch => "previous match",
            Action::Procedures => "rollback procedures",
            Action::Dashboard => "dashboard / checklist",
            Action::ShorterWindow => "dashboard: shorter window",
            Action::LongerWindow => "dashboard: longer window",
            Action::AutoWindow => "dashboard: the watch's own window",
            Action::DismissNotices => "put away the notices under the header",
            Action::Help => "this help",
            Action::Quit => "quit (asks while the run is live)",
        }
    }
}

/// A key as the keymap knows it: a code and whether Ctrl or Alt is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl Key {
    /// The key of a terminal key event (Shift is part of the character, `G` is `G`).
    pub fn from_event(event: &KeyEvent) -> Self {
        Key {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse a key name: a character (`j`, `G`, `?`), a named key (`up`, `pgdn`, `enter`, `tab`,
    /// `esc`, `home`, `end`, `space`) or either with `ctrl-`/`alt-` before it.
    pub fn parse(name: &str) -> Result<Self, KeymapError> {
        let (ctrl, alt, rest) = match name {
            n if n.len() > 5 && n.starts_with("ctrl-") => (true, false, &n[5..]),
            n if n.len() > 4 && n.starts_with("alt-") => (false, true, &n[4..]),
            n => (false, false, n),
        };
        let code = match rest {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" => KeyCode::PageUp,
            "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "enter" => KeyCode::Enter,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "esc" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            s => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(KeymapError(name.to_string())),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            _ => f.write_str("?"),
        }
    }
}

/// A key name the keymap does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown key `{0}`: use a character or up, down, left, right, pgup, pgdn, home, end, enter, tab, esc, space, with ctrl- or alt- before it"
)]
pub struct KeymapError(String);

/// The default bindings: vim keys and arrows both.
const DEFAULT: &[(&str, Action)] = &[
    ("k", Action::Up),
    ("up", Action::Up),
    ("j", Action::Down),
    ("down", Action::Down),
    ("pgup", Action::PageUp),
    ("ctrl-u", Action::PageUp),
    ("pgdn", Action::PageDown),
    ("ctrl-d", Action::PageDown),
    ("g", Action::Top),
    ("home", Action::Top),
    ("G", Action::Bottom),
    ("end", Action::Bottom),
    ("f", Action::Follow),
    ("tab", Action::SwitchPane),
    ("backtab", Action::SwitchPane),
    ("h", Action::SwitchPane),
    ("l", Action::SwitchPane),
    ("enter", Action::Activate),
    ("/", Action::Search),
    ("n", Action::NextMatch),
    ("N", Action::PrevMatch),
    ("r", Action::Procedures),
    ("d", Action::Dashboard),
    ("[", Action::ShorterWindow),
    ("]", Action::LongerWindow),
    ("a", Action::AutoWindow),
    ("x", Action::DismissNotices),
    ("?", Action::Help),
    ("q", Action::Quit),
    ("ctrl-c", Action::Quit),
];

/// Key bindings, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Key, Action)>,
}

impl Keymap {
    /// A keymap from `(key name, action)` pairs; a later binding of the same key wins.
    pub fn from_bindings<'a>(
        pairs: impl IntoIterator<Item = (&'a str, Action)>,
    ) -> Result<Self, KeymapError> {
        let mut bindings: Vec<(Key, Action)> = Vec::new();
        for (name, action) in pairs {
            let key = Key::parse(name)?;
            bindings.retain(|(k, _)| *k != key);
            bindings.push((key, action));
        }
        Ok(Keymap { bindings })
    }

    /// The default keymap with `overrides` applied on top.
    pub fn with_overrides<'a>(
        overrides: impl IntoIterator<Item = (&'a str, Action)>,
    ) -> Result<Self, KeymapError> {
        Self::from_bindings(DEFAULT.iter().copied().chain(overrides))
    }

    /// The action bound to a key event.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| *a)
    }

    /// The first key bound to `action`, for the footer (`k`).
    pub fn key(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(_, a)| *a == action)
            .map(|(k, _)| k.to_string())
            .unwrap_or_default()
    }

    /// The keys bound to `action`, joined for display (`k/↑`).
    pub fn keys(&self, action: Action) -> String {
        let names: Vec<String> = self
            .bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| k.to_string())
            .collect();
        names.join("/")
    }
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = DEFAULT
            .iter()
            .filter_map(|(name, action)| Key::parse(name).ok().map(|k| (k, *action)))
            .collect();
        Keymap { bindings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_name_parses_and_every_action_is_bound() {
        let map = Keymap::with_overrides([]).expect("default keymap parses");
        assert_eq!(map, Keymap::default());
        for action in Action::ALL {
            assert!(!map.keys(action).is_empty(), "{action:?} has no key");
        }
    }

    #[test]
    fn shifted_characters_and_ctrl_are_distinct() {
        let map = Keymap::default();
        let ev = |code, modifiers| KeyEvent::new(code, modifiers);
        assert_eq!(
            map.action(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            map.action(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(&ev(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.keys(Action::Up), "k/↑");
    }

    #[test]
    fn overrides_replace_a_key_and_bad_names_are_errors() {
        let map = Keymap::with_overrides([("q", Action::Help)]).expect("parses");
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.action(&q), Some(Action::Help));
        assert!(Keymap::with_overrides([("meta-x", Action::Quit)]).is_err());
    }
}
