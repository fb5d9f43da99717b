//! Executors: one module per step kind, all with the same shape:
//! `async fn run(spec, &mut StepCtx) -> StepResult`.
//!
//! An executor streams what it does through [`StepCtx::out`] (redacted, logged to the step's own
//! file, batched to the front end), honours [`StepCtx::cancel`], and returns a one-line summary
//! or a [`StepError`] that says what failed and what to do.

pub mod flags;
pub mod http;
pub mod monitor;
pub mod shell;
pub mod sink;
pub mod sql;
pub mod verify;

use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::runbook::Vars;
pub use sink::OutputSink;

/// Why a step did not pass.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// It ran and failed; the text says what was expected and what was seen.
    #[error("{0}")]
    Failed(String),
    /// It was stopped (Ctrl-C, quit, a rollback started).
    #[error("interrupted")]
    Cancelled,
    /// It ran past its `timeout`.
    #[error("timed out after {}", humantime::format_duration(*.0))]
    TimedOut(std::time::Duration),
    /// A watch that did not see (a source never answered, a panel never had data): not a
    /// pass; the engine asks a person whether to accept it.
    #[error("the watch was inconclusive: {0}")]
    Inconclusive(String),
}

/// What a step returns: a one-line summary when it passed.
pub type StepResult = Result<String, StepError>;

/// Everything an executor may use.
pub struct StepCtx<'a> {
    /// The run's variables (interpolate with [`Vars::interpolate`], redact with its redactor).
    pub vars: &'a Vars,
    /// Output of the step.
    pub out: &'a mut OutputSink,
    /// Cancelled when the step must stop.
    pub cancel: CancellationToken,
    /// Connections reused for the whole run, one per database variable.
    pub dbs: &'a mut crate::pg::Databases,
    /// The run's directory (`.golive/runs/<id>`).
    pub run_dir: &'a Path,
    /// The runbook's directory (commands run there).
    pub base_dir: &'a Path,
    /// The whole runbook (its `[flags]` provider, its `[monitor]` table).
    pub runbook: &'a crate::runbook::Runbook,
    /// Where a step that starts processes records their process group while they run, so a
    /// later `--resume` can tell whether they outlived a killed golive.
    pub pid_file: Option<&'a Path>,
    /// A rehearsal on the sandbox: gates run their `rehearse` command.
    pub rehearsal: bool,
}

/// Run one step with the executor of its kind.
pub async fn dispatch(step: &crate::runbook::Step, ctx: &mut StepCtx<'_>) -> StepResult {
    use crate::runbook::StepKind;
    match &step.kind {
        StepKind::Shell(spec) => shell::run(spec, ctx).await,
        StepKind::Sql(spec) => sql::run(spec, step.timeout, ctx).await,
        StepKind::Http(spec) => http::run(spec, step.timeout, ctx).await,
        StepKind::Gate(spec) => {
            for line in spec.instructions.lines() {
                ctx.out.info(line).await;
            }
            match spec.rehearse.as_deref().filter(|_| ctx.rehearsal) {
                Some(run) => {
                    ctx.out
                        .info(&format!("rehearsal: the sandbox performs this step: {run}"))
                        .await;
                    let shell = crate::runbook::ShellSpec {
                        run: run.to_string(),
                    };
                    let done = shell::run(&shell, ctx).await?;
                    Ok(format!("confirmed, and performed on the sandbox ({done})"))
                }
                None => Ok("confirmed by the operator".into()),
            }
        }
        StepKind::Flags(spec) => flags::run(spec, step.timeout, ctx).await,
        StepKind::Monitor(spec) => monitor::run_step(spec, ctx).await,
        StepKind::VerifyRls(spec) => verify::run_rls_step(spec, ctx).await,
        StepKind::VerifyApi(spec) => verify::run_api_step(spec, ctx).await,
    }
}
