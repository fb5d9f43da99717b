//! ANSI SGR colour codes in command output, turned into ratatui styles.
//!
//! Only what a line of output needs: SGR (`ESC [ … m`) colours and modifiers are kept, every other
//! escape sequence and control character is dropped, and tabs are expanded. Parsing stops once the
//! line is wider than the pane, so a 10 000-character line costs the width of the screen.

use std::borrow::Cow;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

const TAB: usize = 8;

/// One line of output as styled spans, at most `max_width` columns wide.
///
/// `base` is the style of the stream (stderr, info); the command's own SGR codes apply on top of
/// it. With `color == false`, colours are ignored and only modifiers are kept.
pub fn line(text: &str, base: Style, color: bool, max_width: usize) -> Line<'_> {
    if is_plain(text) {
        let end = text
            .char_indices()
            .nth(max_width)
            .map_or(text.len(), |(i, _)| i);
        return Line::from(Span::styled(&text[..end], base));
    }
    let mut spans: Vec<Span<'_>> = Vec::new();
    let mut style = base;
    let mut current = String::new();
    let mut width = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if width >= max_width {
            break;
        }
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut params = String::new();
                    let mut last = None;
                    for p in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&p) {
                            last = Some(p);
                            break;
                        }
                        params.push(p);
                    }
                    if last == Some('m') {
                        if !current.is_empty() {
                            spans.push(Span::styled(std::mem::take(&mut current), style));
                        }
                        style = apply_sgr(style, base, &params, color);
                    }
                } else {
                    // A two-character escape (`ESC c`, `ESC 7`, …): drop both.
                    chars.next();
                }
            }
            '\t' => {
                let n = TAB - width % TAB;
                for _ in 0..n.min(max_width - width) {
                    current.push(' ');
                }
                width += n;
            }
            c if c.is_control() => {}
            c => {
                current.push(c);
                width += 1;
            }
        }
    }
    if !current.is_empty() {
        spans.push(Span::styled(current, style));
    }
    Line::from(spans)
}

/// The text with every escape sequence and control character removed (for searching).
pub fn strip(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        return Cow::Borrowed(text);
    }
    let plain: String = line(text, Style::new(), false, usize::MAX)
        .spans
        .iter()
        .map(|s| s.content.as_ref())
        .collect();
    Cow::Owned(plain)
}

fn is_plain(text: &str) -> bool {
    !text.bytes().any(|b| b < 0x20 || b == 0x7f)
}

fn apply_sgr(mut style: Style, base: Style, params: &str, color: bool) -> Style {
    let codes: Vec<u16> = if params.is_empty() {
        vec![0]
    } else {
        params
            .split([';', ':'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let mut i = 0;
    while i < codes.len() {
        let code = codes[i];
        match code {
            0 => style = base,
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            7 => style = style.add_modifier(Modifier::REVERSED),
            9 => style = style.add_modifier(Modifier::CROSSED_OUT),
            22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            27 => style = style.remove_modifier(Modifier::REVERSED),
            29 => style = style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 | 90..=97 if color => style = style.fg(basic(code % 10, code >= 90)),
            40..=47 | 100..=107 if color => style = style.bg(basic(code % 10, code >= 100)),
            39 if color => style.fg = base.fg,
            49 if color => style.bg = base.bg,
            38 | 48 => {
                let (c, used) = extended(&codes[i + 1..]);
                i += used;
                if let (Some(c), true) = (c, color) {
                    style = if code == 38 { style.fg(c) } else { style.bg(c) };
                }
            }
            _ => {}
        }
        i += 1;
    }
    style
}

/// `5;n` or `2;r;g;b` after a 38/48; returns the colour and how many codes it used.
fn extended(rest: &[u16]) -> (Option<Color>, usize) {
    match rest {
        [5, n, ..] => (u8::try_from(*n).ok().map(Color::Indexed), 2),
        [2, r, g, b, ..] => {
            let c = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
            (Some(Color::Rgb(c(*r), c(*g), c(*b))), 4)
        }
        _ => (None, rest.len()),
    }
}

fn basic(n: u16, bright: bool) -> Color {
    match (n, bright) {
        (0, false) => Color::Black,
        (1, false) => Color::Red,
        (2, false) => Color::Green,
        (3, false) => Color::Yellow,
        (4, false) => Color::Blue,
        (5, false) => Color::Magenta,
        (6, false) => Color::Cyan,
        (7, false) => Color::Gray,
        (0, true) => Color::DarkGray,
        (1, true) => Color::LightRed,
        (2, true) => Color::LightGreen,
        (3, true) => Color::LightYellow,
        (4, true) => Color::LightBlue,
        (5, true) => Color::LightMagenta,
        (6, true) => Color::LightCyan,
        _ => Color::White,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_one_borrowed_span() {
        let l = line("hello world", Style::new(), true, 5);
        assert_eq!(l.spans.len(), 1);
        assert_eq!(l.spans[0].content, "hello");
    }

    #[test]
    fn sgr_colours_become_styles() {
        let l = line(
            "a\x1b[31mred\x1b[0m b\x1b[1;38;5;208mX",
            Style::new(),
            true,
            80,
        );
        let parts: Vec<(&str, Style)> = l
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style))
            .collect();
        assert_eq!(parts[0], ("a", Style::new()));
        assert_eq!(parts[1], ("red", Style::new().fg(Color::Red)));
        assert_eq!(parts[2], (" b", Style::new()));
        assert_eq!(
            parts[3],
            (
                "X",
                Style::new()
                    .add_modifier(Modifier::BOLD)
                    .fg(Color::Indexed(208))
            )
        );
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let l = line("\x1b[1;32mok\x1b[K", Style::new(), false, 80);
        assert_eq!(l.spans[0].style, Style::new().add_modifier(Modifier::BOLD));
        assert_eq!(l.spans.len(), 1);
    }

    #[test]
    fn strip_removes_escapes_and_expands_tabs() {
        assert_eq!(strip("\x1b[2mx\x1b[0m\ty"), "x       y");
        assert_eq!(strip("plain"), "plain");
    }
}
