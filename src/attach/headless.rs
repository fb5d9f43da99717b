//! `golive attach --headless`: the rebuilt events printed as `golive run --headless` prints
//! them, or with `--json` exactly as `golive run --json` does (one event a line), plus a last
//! `driver_gone` line when the driver died. A question shows as waiting for the driver.

use std::io::Write;

use tokio::sync::mpsc;

use golive_core::events::EngineEvent;
use golive_core::follow::{End, Source, follow};
use golive_core::journal::Record;

/// Print the run followed by `source` to its end; the exit code (the run's; 1 when the driver
/// is gone).
pub async fn watch(
    source: Source,
    first: Vec<Record>,
    user: &str,
    json: bool,
) -> anyhow::Result<i32> {
    let (tx, mut events) = mpsc::channel(1024);
    let follower = tokio::spawn(follow(source, first, tx));
    let mut out = std::io::stdout().lock();
    let mut steps = Vec::new();
    let mut batch = Vec::with_capacity(64);
    while events.recv_many(&mut batch, 64).await > 0 {
        for event in batch.drain(..) {
            if let EngineEvent::Started { run } = &event {
                steps = crate::headless::qualified_ids(run);
            }
            if json {
                serde_json::to_writer(&mut out, &event)?;
                out.write_all(b"\n")?;
            } else if let EngineEvent::Ask { question } = &event {
                writeln!(
                    out,
                    "{} {:<24} {}: {}",
                    crate::headless::clock(),
                    question
                        .step
                        .and_then(|i| steps.get(i))
                        .map_or("?", |(_, q)| q.as_str()),
                    golive_tui::app::waiting_for(user),
                    question.prompt
                )?;
            } else {
                crate::headless::print_line(&mut out, &event, &steps, &Default::default());
            }
        }
        out.flush()?;
    }
    match follower.await?? {
        End::Finished(outcome) => Ok(outcome.exit_code()),
        End::Gone(text) => {
            if json {
                let event = serde_json::json!({"event": "driver_gone", "text": text});
                writeln!(out, "{event}")?;
            } else {
                writeln!(out, "{} {text}", crate::headless::clock())?;
            }
            out.flush()?;
            Ok(1)
        }
        End::Closed => Ok(1),
    }
}
