//! What a sandbox has to tear down, in order: its tasks (traffic, app, lock holder) first, then
//! the cluster (server stopped, directory removed). [`Parts::stop`] is the orderly path and waits
//! for the server process to be gone; dropping [`Parts`] is the emergency path (error during
//! start, panic) and does the same without waiting.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use golive_core::pg::cluster::Cluster;

/// How long [`Parts::stop`] waits for a task before aborting it.
const TASK_GRACE: Duration = Duration::from_secs(2);
/// How long [`Parts::stop`] waits for the server process to exit.
const SERVER_EXIT: Duration = Duration::from_secs(5);

/// The running pieces of a sandbox.
#[derive(Default)]
pub(super) struct Parts {
    /// Cancels every task.
    pub cancel: CancellationToken,
    /// Traffic, app, lock holder.
    pub tasks: Vec<JoinHandle<()>>,
    cluster: Option<Cluster>,
}

impl Parts {
    /// Take charge of the cluster.
    pub(super) fn own(&mut self, cluster: Cluster) {
        self.cluster = Some(cluster);
    }

    /// Stop the tasks, then the cluster, and wait until the server process has exited.
    pub(super) async fn stop(&mut self) {
        self.cancel.cancel();
        for mut task in self.tasks.drain(..) {
            if tokio::time::timeout(TASK_GRACE, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        let Some(cluster) = self.cluster.take() else {
            return;
        };
        let pid = postmaster_pid(cluster.root());
        // Dropping the cluster runs `pg_ctl stop` and removes the directory.
        let _ = tokio::task::spawn_blocking(move || drop(cluster)).await;
        if let Some(pid) = pid {
            let deadline = Instant::now() + SERVER_EXIT;
            while golive_core::os::process_running(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        self.cancel.cancel();
        for task in &self.tasks {
            task.abort();
        }
        self.cluster.take();
    }
}

/// The server's pid, from the first line of `data/postmaster.pid`.
fn postmaster_pid(root: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(root.join("data").join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}
