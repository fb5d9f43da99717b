//! The lock profile around a rehearsal: the sampler starts with the run and stops after it; the
//! profile goes into the run's `locks.json` and is printed at the end, one line per step.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use golive_core::lockprofile::sampler::{LockSampler, LockSamplerHandle, SAMPLE_EVERY};
use golive_sandbox::Sandbox;

/// Start sampling the sandbox's locks; a sampler that cannot start is a warning, never a stop.
pub(super) async fn start(sandbox: &Sandbox) -> Option<LockSamplerHandle> {
    match LockSampler::start(sandbox.superuser_url(), CancellationToken::new()).await {
        Ok(handle) => Some(handle),
        Err(e) => {
            eprintln!("golive: the lock profile is not recorded: {e}");
            None
        }
    }
}

/// Stop sampling, record the profile in the newest run of `runbook` and print it.
pub(super) async fn finish(sampler: Option<LockSamplerHandle>, runbook: &Path) {
    let Some(sampler) = sampler else {
        return;
    };
    let since = sampler.started_ms();
    let samples = sampler.finish().await;
    match golive_core::lockprofile::record_rehearsal(&samples, SAMPLE_EVERY, runbook, since) {
        Ok(None) => {}
        Ok(Some((dir, profile))) => {
            eprintln!(
                "golive: locks taken (rehearsal, {} reads of pg_locks), in {}:",
                profile.samples,
                dir.join(golive_core::lockprofile::FILE).display()
            );
            if profile.steps.is_empty() {
                eprintln!("  no step took a table lock that was seen");
            }
            for line in profile.lines() {
                eprintln!("  {line}");
            }
        }
        Err(e) => eprintln!("golive: the lock profile is not recorded: {e}"),
    }
}
