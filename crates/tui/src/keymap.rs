//! Keys are data: one [`Action`] enum, and a [`Keymap`] from key names (`"j"`, `"down"`,
//! `"ctrl-c"`) to actions, per [`Context`] (no dialog, a failure's choices, a typed confirmation,
//! …). The handlers, the footer and the help overlay all read the same table, so a hint cannot
//! drift from what the key does, and a key means one thing everywhere: `r` is always rollback,
//! `t` is always retry, `y`/`n` are always yes/no, `Esc` always puts away or goes back.
//!
//! The typed confirmation and the search prompt take letters as text; only their non-letter keys
//! (Enter, Esc, ctrl-n, PgUp/PgDn) go through the keymap.

use crossterm::event::KeyEvent;

mod key;

pub use key::{Key, KeymapError};

/// Where the operator is, which decides what a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// No dialog open: the checklist, the output or the dashboard.
    Main,
    /// A failed step's choices: roll back, retry, skip, abort.
    Failure,
    /// A destructive step's typed confirmation (letters are typed text).
    Typed,
    /// A gate or a re-run question: yes or no.
    Question,
    /// A yes/no confirmation of an action.
    Confirm,
    /// The rollback and diagnostic procedures.
    Procedures,
}

impl Context {
    /// The dialog contexts, in the order the help lists them.
    pub const DIALOGS: [Context; 5] = [
        Context::Failure,
        Context::Typed,
        Context::Question,
        Context::Confirm,
        Context::Procedures,
    ];

    /// Its name in the help.
    pub fn name(self) -> &'static str {
        match self {
            Context::Main => "Console",
            Context::Failure => "Failed step",
            Context::Typed => "Destructive step",
            Context::Question => "Gate / re-run",
            Context::Confirm => "Are you sure?",
            Context::Procedures => "Procedures",
        }
    }

    /// The actions its footer shows, in order (the main view's footer also depends on state).
    fn hinted(self) -> &'static [Action] {
        match self {
            Context::Main => &[],
            Context::Failure => &[
                Action::Up,
                Action::Activate,
                Action::Rollback,
                Action::Retry,
                Action::Skip,
                Action::Abort,
                Action::Back,
                Action::Help,
            ],
            Context::Typed => &[Action::Activate, Action::No, Action::PageDown, Action::Back],
            Context::Question => &[
                Action::Yes,
                Action::No,
                Action::PageDown,
                Action::Back,
                Action::Help,
            ],
            Context::Confirm => &[Action::Yes, Action::No, Action::PageDown],
            Context::Procedures => &[Action::Up, Action::Activate, Action::Rollback, Action::Back],
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Select the previous step or choice, or scroll the output up a line.
    Up,
    /// Select the next step or choice, or scroll the output down a line.
    Down,
    /// Scroll the output or a dialog's text up a page.
    PageUp,
    /// Scroll the output or a dialog's text down a page.
    PageDown,
    /// First step, or the top of the output.
    Top,
    /// Last step, or the tail of the output.
    Bottom,
    /// Follow the running step and the tail of its output.
    Follow,
    /// Move the focus between the checklist and the output.
    SwitchPane,
    /// Answer the pending question, or switch panes when there is none; in a dialog, do the
    /// highlighted thing.
    Activate,
    /// Search the output.
    Search,
    /// Next search match.
    NextMatch,
    /// Previous search match.
    PrevMatch,
    /// Roll back: the procedures (console), the recommended rollback (failure, procedures).
    Rollback,
    /// After a failure: roll back with the nth offered rollback (0-based).
    Pick(u8),
    /// After a failure: run the failed step again.
    Retry,
    /// After a failure: mark the step skipped and go on.
    Skip,
    /// After a failure: stop the run.
    Abort,
    /// Yes.
    Yes,
    /// No (refuse a question, or go back from a confirmation).
    No,
    /// Put a question away (it stays pending), close a picker.
    Back,
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
    /// The console's actions, in the order the help lists them.
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
        Action::Rollback,
        Action::Dashboard,
        Action::ShorterWindow,
        Action::LongerWindow,
        Action::AutoWindow,
        Action::DismissNotices,
        Action::Help,
        Action::Quit,
    ];

    /// What the action does in the console, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "previous step / line up",
            Action::Down => "next step / scroll down",
            Action::PageUp => "output: page up",
            Action::PageDown => "output: page down",
            Action::Top => "first step / output top",
            Action::Bottom => "last step / output tail",
            Action::Follow => "follow the running step",
            Action::SwitchPane => "checklist / output pane",
            Action::Activate => "answer the question",
            Action::Search => "search the output",
            Action::NextMatch => "next match",
            Action::PrevMatch => "previous match",
            Action::Rollback => "rollback & diagnostics",
            Action::Dashboard => "dashboard / checklist",
            Action::ShorterWindow => "shorter window",
            Action::LongerWindow => "longer window",
            Action::AutoWindow => "the watch's window",
            Action::DismissNotices => "put notices away",
            Action::Help => "this help",
            Action::Quit => "quit (asks if live)",
            other => other.label(Context::Failure),
        }
    }

    /// Its short name in the footer and the dialog's key line, in `context`.
    pub fn label(self, context: Context) -> &'static str {
        use Context as C;
        match (self, context) {
            (Action::Up | Action::Down, C::Main) => "move",
            (Action::Up | Action::Down, _) => "choose",
            (Action::PageUp | Action::PageDown, C::Main) => "page",
            (Action::PageUp | Action::PageDown, _) => "scroll",
            (Action::Top, _) => "top",
            (Action::Bottom, _) => "bottom",
            (Action::Follow, _) => "follow",
            (Action::SwitchPane, _) => "pane",
            (Action::Activate, C::Main) => "answer",
            (Action::Activate, C::Typed) => "run it (checks the name)",
            (Action::Activate, C::Procedures) => "start…",
            (Action::Activate, _) => "the highlighted one…",
            (Action::Search, _) => "search",
            (Action::NextMatch | Action::PrevMatch, _) => "match",
            (Action::Rollback, C::Main) => "rollback…",
            (Action::Rollback, _) => "roll back…",
            (Action::Pick(_), _) => "roll back with the nth procedure…",
            (Action::Retry, _) => "retry…",
            (Action::Skip, _) => "skip…",
            (Action::Abort, _) => "abort…",
            (Action::Yes, C::Confirm) => "yes",
            (Action::Yes, _) => "confirm",
            (Action::No, C::Confirm) => "no, go back",
            (Action::No, _) => "refuse…",
            (Action::Back, C::Procedures) => "close",
            (Action::Back, _) => "put away",
            (Action::Dashboard, _) => "dashboard",
            (Action::ShorterWindow | Action::LongerWindow, _) => "window",
            (Action::AutoWindow, _) => "auto window",
            (Action::DismissNotices, _) => "put notices away",
            (Action::Help, _) => "help",
            (Action::Quit, _) => "quit",
        }
    }
}

/// The console's bindings (no dialog open): vim keys and arrows both.
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
    ("r", Action::Rollback),
    ("d", Action::Dashboard),
    ("[", Action::ShorterWindow),
    ("]", Action::LongerWindow),
    ("w", Action::AutoWindow),
    ("x", Action::DismissNotices),
    ("?", Action::Help),
    ("q", Action::Quit),
    ("ctrl-c", Action::Quit),
];

/// The dialogs' bindings. The same letters as the console where they overlap: `r` rolls back,
/// `t` retries, `?` helps, `Esc` goes back.
const DIALOGS: &[(Context, &str, Action)] = &[
    (Context::Failure, "k", Action::Up),
    (Context::Failure, "up", Action::Up),
    (Context::Failure, "j", Action::Down),
    (Context::Failure, "down", Action::Down),
    (Context::Failure, "enter", Action::Activate),
    (Context::Failure, "r", Action::Rollback),
    (Context::Failure, "1", Action::Pick(0)),
    (Context::Failure, "2", Action::Pick(1)),
    (Context::Failure, "3", Action::Pick(2)),
    (Context::Failure, "4", Action::Pick(3)),
    (Context::Failure, "5", Action::Pick(4)),
    (Context::Failure, "6", Action::Pick(5)),
    (Context::Failure, "7", Action::Pick(6)),
    (Context::Failure, "8", Action::Pick(7)),
    (Context::Failure, "9", Action::Pick(8)),
    (Context::Failure, "t", Action::Retry),
    (Context::Failure, "s", Action::Skip),
    (Context::Failure, "a", Action::Abort),
    (Context::Failure, "pgup", Action::PageUp),
    (Context::Failure, "pgdn", Action::PageDown),
    (Context::Failure, "esc", Action::Back),
    (Context::Failure, "?", Action::Help),
    (Context::Typed, "enter", Action::Activate),
    (Context::Typed, "ctrl-n", Action::No),
    (Context::Typed, "pgup", Action::PageUp),
    (Context::Typed, "pgdn", Action::PageDown),
    (Context::Typed, "esc", Action::Back),
    (Context::Question, "y", Action::Yes),
    (Context::Question, "n", Action::No),
    (Context::Question, "pgup", Action::PageUp),
    (Context::Question, "pgdn", Action::PageDown),
    (Context::Question, "esc", Action::Back),
    (Context::Question, "?", Action::Help),
    (Context::Confirm, "y", Action::Yes),
    (Context::Confirm, "n", Action::No),
    (Context::Confirm, "esc", Action::No),
    (Context::Confirm, "q", Action::No),
    (Context::Confirm, "pgup", Action::PageUp),
    (Context::Confirm, "pgdn", Action::PageDown),
    (Context::Procedures, "k", Action::Up),
    (Context::Procedures, "up", Action::Up),
    (Context::Procedures, "j", Action::Down),
    (Context::Procedures, "down", Action::Down),
    (Context::Procedures, "enter", Action::Activate),
    (Context::Procedures, "r", Action::Rollback),
    (Context::Procedures, "pgup", Action::PageUp),
    (Context::Procedures, "pgdn", Action::PageDown),
    (Context::Procedures, "esc", Action::Back),
    (Context::Procedures, "q", Action::Back),
];

/// Key bindings per context, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Context, Key, Action)>,
}

impl Keymap {
    /// A keymap of the console's `(key name, action)` pairs, with the dialogs' defaults; a later
    /// binding of the same key wins.
    pub fn from_bindings<'a>(
        pairs: impl IntoIterator<Item = (&'a str, Action)>,
    ) -> Result<Self, KeymapError> {
        let mut bindings: Vec<(Context, Key, Action)> = Vec::new();
        let dialogs = DIALOGS.iter().copied();
        let main = pairs.into_iter().map(|(n, a)| (Context::Main, n, a));
        for (context, name, action) in dialogs.chain(main) {
            let key = Key::parse(name)?;
            bindings.retain(|(c, k, _)| !(*c == context && *k == key));
            bindings.push((context, key, action));
        }
        Ok(Keymap { bindings })
    }

    /// The default keymap with `overrides` of the console's keys applied on top.
    pub fn with_overrides<'a>(
        overrides: impl IntoIterator<Item = (&'a str, Action)>,
    ) -> Result<Self, KeymapError> {
        Self::from_bindings(DEFAULT.iter().copied().chain(overrides))
    }

    /// The console's action bound to a key event (no dialog open).
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.action_in(Context::Main, event)
    }

    /// The action bound to a key event in `context`.
    pub fn action_in(&self, context: Context, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        self.bindings
            .iter()
            .find(|(c, k, _)| *c == context && *k == key)
            .map(|(_, _, a)| *a)
    }

    /// The first console key bound to `action`, for the footer (`k`).
    pub fn key(&self, action: Action) -> String {
        self.key_in(Context::Main, action)
    }

    /// The first key bound to `action` in `context`.
    pub fn key_in(&self, context: Context, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(c, _, a)| *c == context && *a == action)
            .map(|(_, k, _)| k.to_string())
            .unwrap_or_default()
    }

    /// The console keys bound to `action`, joined for display (`k/↑`).
    pub fn keys(&self, action: Action) -> String {
        self.keys_in(Context::Main, action)
    }

    /// The keys bound to `action` in `context`, joined for display (`k/↑`).
    pub fn keys_in(&self, context: Context, action: Action) -> String {
        let names: Vec<String> = self
            .bindings
            .iter()
            .filter(|(c, _, a)| *c == context && *a == action)
            .map(|(_, k, _)| k.to_string())
            .collect();
        names.join("/")
    }

    /// A footer hint: the keys of `action` in `context` and its label. Up and Down, and PageUp
    /// and PageDown, are one hint (`↑/↓ choose`).
    pub fn hint(&self, context: Context, action: Action) -> (String, &'static str) {
        let pair = match action {
            Action::Up | Action::Down => Some((Action::Up, Action::Down)),
            Action::PageUp | Action::PageDown => Some((Action::PageUp, Action::PageDown)),
            Action::NextMatch | Action::PrevMatch => Some((Action::NextMatch, Action::PrevMatch)),
            Action::ShorterWindow | Action::LongerWindow => {
                Some((Action::ShorterWindow, Action::LongerWindow))
            }
            _ => None,
        };
        let keys = match pair {
            Some((a, b)) => format!("{}/{}", self.key_in(context, a), self.key_in(context, b)),
            None => self.key_in(context, action),
        };
        (keys, action.label(context))
    }

    /// The footer of a dialog context: every action it offers, with its keys.
    pub fn hints(&self, context: Context) -> Vec<(String, &'static str)> {
        context
            .hinted()
            .iter()
            .map(|&a| self.hint(context, a))
            .filter(|(k, _)| !k.is_empty() && k != "/")
            .collect()
    }
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = DIALOGS
            .iter()
            .copied()
            .chain(DEFAULT.iter().map(|(n, a)| (Context::Main, *n, *a)))
            .filter_map(|(c, name, action)| Key::parse(name).ok().map(|k| (c, k, action)))
            .collect();
        Keymap { bindings }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

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

    /// The same letter does the same thing in every context that binds it: `r` is rollback in the
    /// console, after a failure and in the picker; retry has its own key; `Esc` and `q` always
    /// back out. (`n` is the one exception on purpose: next match in the console, as in vim and
    /// less, and no in a yes/no dialog, where there is nothing to search.)
    #[test]
    fn a_key_means_the_same_in_every_context() {
        let map = Keymap::default();
        let backs_out = |a: Action| matches!(a, Action::Quit | Action::No | Action::Back);
        for name in ["r", "t", "s", "a", "y", "enter", "?", "esc", "q", "k", "j"] {
            let key = Key::parse(name).expect("parses");
            let actions: Vec<(Context, Action)> = map
                .bindings
                .iter()
                .filter(|(_, k, _)| *k == key)
                .map(|(c, _, a)| (*c, *a))
                .collect();
            let first = actions[0].1;
            for (context, action) in &actions {
                assert!(
                    *action == first || (backs_out(*action) && backs_out(first)),
                    "`{name}` is {first:?} in one context and {action:?} in {context:?}"
                );
            }
        }
        let r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE);
        for context in [Context::Main, Context::Failure, Context::Procedures] {
            assert_eq!(map.action_in(context, &r), Some(Action::Rollback));
        }
        assert_eq!(map.key_in(Context::Failure, Action::Retry), "t");
        assert!(
            map.keys(Action::Retry).is_empty(),
            "no retry outside a failure"
        );
    }

    #[test]
    fn every_dialog_has_a_key_line_from_its_bindings() {
        let map = Keymap::default();
        for context in Context::DIALOGS {
            let hints = map.hints(context);
            assert!(hints.len() >= 2, "{context:?} has too few hints: {hints:?}");
            for (keys, _) in &hints {
                let first = keys.split('/').next().unwrap_or_default();
                assert!(!first.is_empty(), "{context:?}: an unbound hint");
            }
        }
        let failure = map.hints(Context::Failure);
        assert!(failure.contains(&("r".to_string(), "roll back…")));
        assert!(failure.contains(&("t".to_string(), "retry…")));
    }

    #[test]
    fn overrides_replace_a_key_and_bad_names_are_errors() {
        let map = Keymap::with_overrides([("q", Action::Help)]).expect("parses");
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.action(&q), Some(Action::Help));
        assert!(Keymap::with_overrides([("meta-x", Action::Quit)]).is_err());
    }
}
