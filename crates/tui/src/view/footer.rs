//! The footer: the last message for the operator, and the keys that work right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::App;
use crate::app::View;
use crate::keymap::{Action, Context};
use crate::theme::Theme;
use crate::view::dialog::key_lines;

/// The hints that fit in one line of `width`; when some do not, the last place goes to the help
/// key, which lists them all, so the line is never cut mid-hint.
fn keys<'a>(theme: Theme, pairs: &[(String, &'a str)], help: &str, width: usize) -> Line<'a> {
    let packed = key_lines(pairs, width.saturating_sub(1), theme);
    let mut spans = vec![Span::raw(" ")];
    match packed.len() {
        0 | 1 => spans.extend(packed.into_iter().flat_map(|l| l.spans)),
        _ => {
            let more = format!("{help} all keys");
            let room = width.saturating_sub(more.chars().count() + 3);
            let rest: Vec<(String, &str)> =
                pairs.iter().filter(|(k, _)| k != help).cloned().collect();
            let fitting = key_lines(&rest, room, theme);
            spans.extend(fitting.into_iter().take(1).flat_map(|l| l.spans));
            spans.push(Span::styled(help.to_string(), theme.key()));
            spans.push(Span::styled(" all keys", theme.dim()));
        }
    }
    Line::from(spans)
}

/// The keys that work in the current mode, from the keymap the handlers read.
fn key_line(app: &App, width: usize) -> Line<'_> {
    let theme = app.theme;
    let km = &app.keymap;
    let help = km.key(Action::Help);
    let keys = |pairs: &[(String, &'static str)]| keys(theme, pairs, &help, width);
    if app.ui.help {
        return keys(&[("any key".to_string(), "close help")]);
    }
    if let Some(input) = &app.search.input {
        return Line::from(vec![
            Span::styled(" /", theme.key()),
            Span::raw(format!("{input}█  ")),
            Span::styled("Enter", theme.key()),
            Span::styled(" search  ", theme.dim()),
            Span::styled("Esc", theme.key()),
            Span::styled(" cancel", theme.dim()),
        ]);
    }
    if let Some(dialog) = &app.dialog {
        let context = dialog.context();
        let mut pairs = dialog.hints(km);
        if context == Context::Typed {
            pairs.insert(0, ("type".to_string(), "the name"));
        }
        pairs.push(("ctrl-c".to_string(), "stop & quit…"));
        return keys(&pairs);
    }
    let main = |a: Action| km.hint(Context::Main, a);
    let mut pairs = Vec::new();
    if app.question.is_some() {
        pairs.push(main(Action::Activate));
    }
    if app.ui.view == View::Checklist {
        pairs.push(main(Action::Up));
        pairs.push(main(Action::SwitchPane));
        pairs.push(main(Action::Search));
        if !app.search.query.is_empty() {
            pairs.push(main(Action::NextMatch));
        }
        pairs.push(main(Action::Follow));
    }
    if !app.checklist.procedures.is_empty()
        || app.alone.as_ref().is_some_and(|w| w.rollback.is_some())
    {
        pairs.push(main(Action::Rollback));
    }
    if app.ui.view == View::Dashboard {
        if app.alone.is_none() {
            pairs.push((km.key(Action::Dashboard), "checklist"));
        }
        pairs.push(main(Action::ShorterWindow));
        pairs.push(main(Action::AutoWindow));
    } else if app.dashboard.has_snapshot() {
        pairs.push(main(Action::Dashboard));
    }
    if !app.run.notices.is_empty() {
        pairs.push(main(Action::DismissNotices));
    }
    pairs.push(main(Action::Help));
    pairs.push((
        km.key(Action::Quit),
        if app.ui.quitting {
            "leave now"
        } else if app.run.is_live() && app.alone.is_none() {
            "stop & quit…"
        } else {
            "quit"
        },
    ));
    keys(&pairs)
}

/// Draw the footer.
///
/// ```text
///  ✔ Run passed: 7 steps passed.
///  k/↑/j/↓ move  Tab pane  / search  f follow  r rollback  ? help  q quit
/// ```
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let message = match &app.run.message {
        Some((level, text)) => super::notices::notice_line(*level, text, theme),
        None => Line::default(),
    };
    frame.render_widget(
        Paragraph::new(vec![message, key_line(app, usize::from(area.width))]),
        area,
    );
}
