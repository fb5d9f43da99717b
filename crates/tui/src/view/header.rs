//! The header: runbook, environment, run, clock, expected time left, progress, targets.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::App;
use crate::state::run::clock;
use golive_core::events::Outcome;

/// Where the run is, in the same words the footer's message uses: the outcome once it is over,
/// a procedure while one runs, a question waiting, or running.
fn procedure_state(app: &App) -> (String, ratatui::style::Style) {
    let theme = app.theme;
    if let Some((outcome, _)) = &app.run.finished {
        return match outcome {
            Outcome::Passed => ("✔ passed".into(), theme.good()),
            Outcome::RolledBack => ("↩ rolled back".into(), theme.warn()),
            Outcome::Interrupted => ("■ interrupted".into(), theme.warn()),
            Outcome::Failed => ("✘ failed".into(), theme.danger()),
            Outcome::Aborted => ("✘ aborted".into(), theme.danger()),
            Outcome::Refused => ("✘ refused".into(), theme.danger()),
        };
    }
    let running = app
        .checklist
        .running()
        .and_then(|i| app.checklist.steps.get(i));
    if let Some(procedure) = running.and_then(|s| s.info.procedure.as_deref()) {
        let section = app
            .checklist
            .procedures
            .iter()
            .find(|p| p.id == procedure)
            .map_or("procedure", |p| p.section.name());
        return (format!("{section} `{procedure}` running"), theme.warn());
    }
    if app.question.is_some() {
        return ("waiting for you".into(), theme.warn());
    }
    if app.alone.is_some() {
        let breached = app.dashboard.verdict.as_ref().is_some_and(|v| v.failed);
        return if breached {
            ("✘ breached".into(), theme.danger())
        } else {
            ("watching".into(), theme.good())
        };
    }
    ("running".into(), theme.dim())
}

/// Draw the header.
///
/// ```text
///  golive  Phase 2 go-live  env staging  elapsed 12:03  ~5:00 left  3/7 steps  run 2026…
///  db app@db.internal:5432/shop  app https://app.example.com
/// ```
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let run = &app.run;
    if run.started_at.is_none() {
        let line = Line::from(vec![
            Span::styled(" golive ", theme.strong()),
            Span::styled(" waiting for the engine to start the run…", theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut top = vec![
        Span::styled(" golive ", theme.strong()),
        Span::styled(format!(" {} ", run.runbook), theme.strong()),
    ];
    if let Some(env) = &run.environment {
        let style = if run.is_production() {
            theme.production()
        } else {
            theme.text()
        };
        top.push(Span::styled(" env ", theme.dim()));
        top.push(Span::styled(
            if run.is_production() {
                env.to_uppercase()
            } else {
                env.clone()
            },
            style,
        ));
    }
    top.push(Span::styled("  elapsed ", theme.dim()));
    top.push(Span::raw(clock(run.elapsed)));
    let remaining = app
        .checklist
        .expected_remaining()
        .or_else(|| run.expected_total.map(|t| t.saturating_sub(run.elapsed)));
    if let (Some(left), None) = (remaining, &run.finished) {
        top.push(Span::styled(
            format!("  ~{} left", clock(left)),
            theme.dim(),
        ));
    }
    if app.alone.is_none() {
        let (done, total) = app.checklist.progress();
        top.push(Span::styled(format!("  {done}/{total} steps"), theme.dim()));
        top.push(Span::styled(format!("  run {}", run.run_id), theme.dim()));
    }
    if run.resumed {
        top.push(Span::styled(" (resumed)", theme.warn()));
    }

    let (word, style) = procedure_state(app);
    let mut bottom = vec![
        Span::raw(" "),
        Span::styled(word, style),
        Span::styled(" · ", theme.dim()),
    ];
    if run.targets.is_empty() {
        bottom.push(Span::styled("no targets declared", theme.dim()));
    }
    for (label, target) in &run.targets {
        bottom.push(Span::styled(format!("{label} "), theme.dim()));
        bottom.push(Span::styled(format!("{target}  "), theme.text()));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(top), Line::from(bottom)]),
        area,
    );
}
