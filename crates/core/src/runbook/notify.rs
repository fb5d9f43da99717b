//! `[notify]`: where and when golive posts to a webhook (see [`crate::notify`]).

use std::time::Duration;

use super::fields::Table;
use super::vars::var_refs;

/// Kinds of notification, as written in `[notify] events`.
pub const NOTIFY_EVENTS: &[&str] = &[
    "question",
    "step_failed",
    "breach",
    "procedure_started",
    "run_finished",
];

/// `[notify]`: a Slack-compatible incoming webhook (or any HTTP endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// The URL, as written (usually `${GOLIVE_NOTIFY_URL}`); interpolated when the run starts.
    pub url: String,
    /// Which kinds to post ([`NOTIFY_EVENTS`]); empty means all.
    pub events: Vec<String>,
    /// At most one post per this interval; what comes meanwhile is merged into the next post.
    pub min_interval: Duration,
}

/// The default `min_interval`.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// Read `[notify]`, reporting problems on the table.
pub(super) fn read_notify(
    table: Table<'_>,
    declared: &std::collections::HashSet<String>,
) -> Option<Notify> {
    let problems = table.problems();
    let url = table.req_str("url", "\"${GOLIVE_NOTIFY_URL}\"");
    if let Some(url) = &url {
        for (_, name) in var_refs(url.get_ref()) {
            if !declared.contains(&name) {
                problems.add(
                    url.span(),
                    format!("`{name}` is not declared under [vars]; declare it (secret = true)"),
                );
            }
        }
    }
    let mut events = Vec::new();
    for event in table.str_list("events") {
        if !NOTIFY_EVENTS.contains(&event.get_ref().as_str()) {
            problems.add(
                event.span(),
                format!(
                    "unknown notify event `{}`; expected any of: {}",
                    event.get_ref(),
                    NOTIFY_EVENTS.join(", ")
                ),
            );
        }
        events.push(event.into_inner());
    }
    let min_interval = table
        .duration("min_interval")
        .unwrap_or(DEFAULT_MIN_INTERVAL);
    table.finish(&[]);
    Some(Notify {
        url: url?.into_inner(),
        events,
        min_interval,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::runbook::{LoadError, parse};

    const HEAD: &str = "[runbook]\nname = \"n\"\n\n[vars]\nHOOK = { required = true, secret = true }\n\n\
                        [[steps]]\nid = \"a\"\ntitle = \"A\"\nkind = \"shell\"\nrun = \"true\"\n\n";

    #[test]
    fn notify_reads_url_events_and_interval_and_registry_defaults_on() {
        let text = format!(
            "{HEAD}[notify]\nurl = \"${{HOOK}}\"\nevents = [\"run_finished\", \"question\"]\nmin_interval = \"30s\"\n"
        );
        let rb = parse(Path::new("rb.toml"), &text).expect("valid");
        let notify = rb.notify.expect("[notify]");
        assert_eq!(notify.url, "${HOOK}");
        assert_eq!(notify.events, ["run_finished", "question"]);
        assert_eq!(notify.min_interval, std::time::Duration::from_secs(30));
        assert!(rb.registry);
    }

    #[test]
    fn an_unknown_notify_event_or_undeclared_variable_is_reported() {
        let text = format!("{HEAD}[notify]\nurl = \"${{NOPE}}\"\nevents = [\"step_done\"]\n");
        let Err(LoadError::Invalid(diags)) = parse(Path::new("rb.toml"), &text) else {
            panic!("accepted");
        };
        let all: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
        assert!(
            all.iter()
                .any(|m| m.contains("unknown notify event `step_done`")),
            "{all:?}"
        );
        assert!(
            all.iter().any(|m| m.contains("`NOPE` is not declared")),
            "{all:?}"
        );
    }
}
