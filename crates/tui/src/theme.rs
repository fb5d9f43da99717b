//! Colours and text styles of the console, in one place, degrading to plain text under `NO_COLOR`.
//!
//! Every style the views use comes from here, so `NO_COLOR` is honoured by construction: with
//! colour off, only modifiers (bold, reversed, underlined) remain, and state is carried by icons
//! and words, never by colour alone.

use ratatui::style::{Color, Modifier, Style};

use golive_core::events::{NoticeLevel, StepState, Stream};

/// The palette; `color == false` means `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Whether colours are used at all.
    pub color: bool,
}

impl Theme {
    /// A theme with colour on or off.
    pub fn new(color: bool) -> Self {
        Theme { color }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// Plain text.
    pub fn text(self) -> Style {
        Style::new()
    }

    /// Secondary text (durations, hints).
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// Titles and emphasised words.
    pub fn strong(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// A key name in the footer or help.
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The selected row of a list.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// The border of the focused pane.
    pub fn focused_border(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The border of an unfocused pane.
    pub fn border(self) -> Style {
        self.dim()
    }

    /// The frame around the whole console in production.
    pub fn production(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Something dangerous (a destructive step, a failed check).
    pub fn danger(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// A warning.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    /// Something that went well.
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// A search match in the output.
    pub fn matched(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }

    /// The icon and title colour of a step in `state`.
    pub fn step(self, state: StepState) -> Style {
        match state {
            StepState::Pending => self.dim(),
            StepState::AwaitingConfirmation => self.warn().add_modifier(Modifier::BOLD),
            StepState::Running => self.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            StepState::Passed => self.good(),
            StepState::Failed => self.danger(),
            StepState::Skipped => self.warn(),
            StepState::Interrupted => self.fg(Color::Magenta),
        }
    }

    /// A line of output from `stream` (before the command's own colours apply).
    pub fn stream(self, stream: Stream) -> Style {
        match stream {
            Stream::Stdout => self.text(),
            Stream::Stderr => self.fg(Color::LightRed),
            Stream::Info => self.fg(Color::Blue).add_modifier(Modifier::ITALIC),
        }
    }

    /// A notice of `level`.
    pub fn notice(self, level: NoticeLevel) -> Style {
        match level {
            NoticeLevel::Info => self.text(),
            NoticeLevel::Warn => self.warn(),
            NoticeLevel::Error => self.danger(),
        }
    }
}
