//! `golive monitor` with no runbook says which thresholds it uses instead of silently using them.

mod common;

use common::{TempDir, golive, text};

#[test]
fn monitor_without_a_runbook_names_its_thresholds() {
    let dir = TempDir::new("monitor-no-runbook");
    let out = golive()
        .args(["monitor", "--headless", "--for", "1s"])
        .current_dir(dir.path())
        .env_remove("PROMETHEUS_URL")
        .env_remove("APP_METRICS_URL")
        .env_remove("APP_URL")
        .output()
        .expect("run golive monitor");
    let said = text(&out);
    assert!(said.contains("no runbook.toml here"), "{said}");
    assert!(
        said.contains("built-in thresholds apply: 5xx ratio warn"),
        "{said}"
    );
}
