//! The footer: the last message for the operator, and the keys that work right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::events::{NoticeLevel, QuestionKind};
use crate::tui::App;
use crate::tui::app::View;
use crate::tui::keymap::Action;
use crate::tui::state::dialog::Dialog;
use crate::tui::theme::Theme;

fn keys<'a>(theme: Theme, pairs: &[(String, &'a str)]) -> Line<'a> {
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in pairs {
        spans.push(Span::styled(key.clone(), theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.dim()));
    }
    Line::from(spans)
}

fn fixed<'a>(theme: Theme, pairs: &[(&str, &'a str)]) -> Line<'a> {
    let owned: Vec<(String, &str)> = pairs.iter().map(|(k, w)| ((*k).to_string(), *w)).collect();
    keys(theme, &owned)
}

/// The keys that work in the current mode.
fn key_line(app: &App) -> Line<'_> {
    let theme = app.theme;
    if app.ui.help {
        return fixed(theme, &[("any key", "close help")]);
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
    match &app.dialog {
        Some(Dialog::Question(q)) => match (&q.question.kind, &q.question.expect_typed) {
            (QuestionKind::Destructive, Some(_)) => fixed(
                theme,
                &[
                    ("type", "the name"),
                    ("Enter", "run it"),
                    ("ctrl-n", "refuse…"),
                    ("Esc", "put away"),
                ],
            ),
            (QuestionKind::Failure { .. }, _) => fixed(
                theme,
                &[
                    ("↑↓", "choose"),
                    ("r/s/a/1-9", "pick"),
                    ("Enter", "choose"),
                    ("Esc", "put away"),
                ],
            ),
            _ => fixed(
                theme,
                &[("y", "confirm"), ("n", "refuse"), ("Esc", "put away")],
            ),
        },
        Some(Dialog::Confirm(_)) => fixed(theme, &[("y", "yes"), ("n/Esc", "no")]),
        Some(Dialog::Procedures(_)) => fixed(
            theme,
            &[("↑↓", "choose"), ("Enter", "start…"), ("Esc", "close")],
        ),
        None => {
            let km = &app.keymap;
            let mut pairs = Vec::new();
            if app.question.is_some() {
                pairs.push((km.key(Action::Activate), "answer"));
            }
            if app.ui.view == View::Checklist {
                pairs.push((
                    format!("{}/{}", km.key(Action::Up), km.key(Action::Down)),
                    "move",
                ));
                pairs.push((km.key(Action::SwitchPane), "pane"));
                pairs.push((km.key(Action::Search), "search"));
                if !app.search.query.is_empty() {
                    pairs.push((
                        format!(
                            "{}/{}",
                            km.key(Action::NextMatch),
                            km.key(Action::PrevMatch)
                        ),
                        "match",
                    ));
                }
                pairs.push((km.key(Action::Follow), "follow"));
            }
            if !app.checklist.procedures.is_empty() {
                pairs.push((km.key(Action::Procedures), "rollback"));
            }
            if app.ui.view == View::Dashboard {
                pairs.push((km.key(Action::Dashboard), "checklist"));
                pairs.push((
                    format!(
                        "{}/{}",
                        km.key(Action::ShorterWindow),
                        km.key(Action::LongerWindow)
                    ),
                    "window",
                ));
                pairs.push((km.key(Action::AutoWindow), "auto window"));
            } else if app.dashboard.has_snapshot() {
                pairs.push((km.key(Action::Dashboard), "dashboard"));
            }
            if !app.run.notices.is_empty() {
                pairs.push((km.key(Action::DismissNotices), "put notices away"));
            }
            pairs.push((km.key(Action::Help), "help"));
            pairs.push((
                km.key(Action::Quit),
                if app.run.is_live() {
                    "stop & quit"
                } else {
                    "quit"
                },
            ));
            keys(theme, &pairs)
        }
    }
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
        Some((level, text)) => {
            let mark = match level {
                NoticeLevel::Info => "i",
                NoticeLevel::Warn => "!",
                NoticeLevel::Error => "✘",
            };
            Line::from(Span::styled(
                format!(" {mark} {text}"),
                theme.notice(*level),
            ))
        }
        None => Line::default(),
    };
    frame.render_widget(Paragraph::new(vec![message, key_line(app)]), area);
}
