//! The rehearsal sandbox: a throwaway PostgreSQL cluster (jsonlog) with the Phase 1 database, the
//! built-in target app serving its Phase 1 build, and a traffic generator whose every answer is
//! judged by the oracle, started together and torn down together.
//!
//! ```text
//!   Sandbox::start ──► reap stale clusters ─► Cluster (jsonlog) ─► database `shop`, roles, data
//!                  ──► scenario faults (policy, trigger, lock)
//!                  ──► app on 127.0.0.1 (app_user pool, build from SANDBOX_APP_BUILD)
//!                        ◄── traffic generator (~30 req/s) ──► oracle (wrong answers)
//!   shutdown / Drop ──► traffic, app, lock holder stopped ─► cluster stopped, directory removed
//! ```

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod command;
mod database;
mod faults;
pub mod oracle;
mod scenario;
mod state;
mod teardown;
mod traffic;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use golive_core::pg::DbError;
use golive_core::pg::cluster::{self, Cluster, ClusterError, ClusterOptions, LogFormat};
use teardown::Parts;

pub use app::build::{Build, ServingBuild};
pub use command::run_sandbox_command;
pub use faults::SLOW_SNAPSHOT_HOLD;
pub use oracle::Oracle;
pub use scenario::{Scenario, UnknownScenario};
pub use state::SavedState;
pub use traffic::Pause;

/// The shipped SQL that takes the Phase 1 database to Phase 2, in the runbook's order: the
/// catalog columns, their backfill, the policies (dormant), RLS enabled and forced. Run each
/// script on its own: the backfill commits batch by batch.
pub const PHASE2_SQL: [&str; 4] = [
    include_str!("../../../assets/sql/catalog-v2-columns.sql"),
    include_str!("../../../assets/sql/catalog-v2-backfill.sql"),
    include_str!("../../../assets/sql/rls-policies.sql"),
    include_str!("../../../assets/sql/rls-enable.sql"),
];

/// The policies defined and RLS enabled and forced, as one script (fine inside a transaction).
pub const RLS_ON_SQL: &str = concat!(
    include_str!("../../../assets/sql/rls-policies.sql"),
    "\n",
    include_str!("../../../assets/sql/rls-enable.sql")
);

/// The first tenant of the sandbox data (Northside Auto).
pub const TENANT_A: &str = "11111111-1111-4111-8111-111111111111";
/// The second tenant (Harbor Motors).
pub const TENANT_B: &str = "22222222-2222-4222-8222-222222222222";
/// The third tenant (Summit Garage).
pub const TENANT_C: &str = "33333333-3333-4333-8333-333333333333";

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The PostgreSQL cluster could not start (not installed, no `postgres` user, initdb failed).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A connection to the sandbox database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A statement the sandbox runs failed.
    #[error("sandbox: cannot {what}: {reason}")]
    Sql {
        /// What the sandbox was doing.
        what: String,
        /// The server's error.
        reason: String,
    },
    /// A local resource failed (port, random source).
    #[error("sandbox: {what}: {source}")]
    Io {
        /// What failed.
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The HTTP client for the traffic generator could not be built.
    #[error("sandbox: {0}")]
    Http(String),
    /// The cluster start-up task panicked or was cancelled.
    #[error("sandbox: the cluster start-up task failed: {0}")]
    Join(String),
}

impl SandboxError {
    fn sql(what: &str, e: &tokio_postgres::Error) -> Self {
        SandboxError::Sql {
            what: what.to_string(),
            reason: golive_core::pg::describe(e),
        }
    }

    /// Whether the machine lacks what the sandbox needs (PostgreSQL, a `postgres` user): the
    /// "missing environment" exit code 2 rather than a failure.
    pub fn is_missing_environment(&self) -> bool {
        matches!(
            self,
            SandboxError::Cluster(ClusterError::NotInstalled | ClusterError::NoPostgresUser)
        )
    }
}

/// Options for [`Sandbox::start`].
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The game-day fault to inject, if any.
    pub scenario: Option<Scenario>,
    /// Run the traffic generator (on by default; tests that count requests turn it off).
    pub traffic: bool,
    /// How long the slow-snapshot scenario holds its lock ([`SLOW_SNAPSHOT_HOLD`] by default).
    pub slow_snapshot_hold: Duration,
    /// The build serving at the start (Phase 1: the world before the go-live).
    pub build: Build,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            scenario: None,
            traffic: true,
            slow_snapshot_hold: SLOW_SNAPSHOT_HOLD,
            build: Build::Phase1,
        }
    }
}

/// A running sandbox. [`Sandbox::shutdown`] (or dropping it) stops the traffic, the app and the
/// cluster and removes the directory.
pub struct Sandbox {
    parts: Parts,
    scenario: Option<Scenario>,
    root: PathBuf,
    database_url: String,
    app_database_url: String,
    superuser_url: String,
    app_addr: SocketAddr,
    pg_log: PathBuf,
    /// The superuser's login on the `postgres` database (for swapping `shop` in drills).
    postgres_url: String,
    build: ServingBuild,
    oracle: Oracle,
    pause: Pause,
    app_pool: Arc<app::pool::Pool>,
}

impl Sandbox {
    /// Remove sandboxes left by killed processes, then start the cluster, the database, the app
    /// and (unless turned off) the traffic. Returns when the app answers.
    pub async fn start(options: &SandboxOptions) -> Result<Sandbox, SandboxError> {
        let cluster = tokio::task::spawn_blocking(|| {
            cluster::reap_stale();
            Cluster::start(&ClusterOptions {
                log: LogFormat::Json,
                prefix: Some("sandbox-".into()),
                ..ClusterOptions::default()
            })
        })
        .await
        .map_err(|e| SandboxError::Join(e.to_string()))??;
        let mut parts = Parts::default();
        let logins = database::create(&cluster).await?;
        let database_url = cluster.url_as("app_owner", &logins.owner_password, database::DBNAME);
        let app_database_url = cluster.url_as("app_user", &logins.user_password, database::DBNAME);
        let superuser_url = cluster.url(database::DBNAME);
        let root = cluster.root().to_path_buf();
        let postgres_url = cluster.url("postgres");
        let pg_log = cluster.log_dir().join("postgresql.json");
        parts.own(cluster);

        let admin = golive_core::pg::connect(&superuser_url, database::ADMIN_APP_NAME).await?;
        if let Some(scenario) = options.scenario {
            faults::plant(&admin.client, scenario).await?;
        }
        if options.scenario == Some(Scenario::SlowSnapshot) {
            let holder = faults::hold_lock(
                &superuser_url,
                options.slow_snapshot_hold,
                parts.cancel.clone(),
            )
            .await?;
            parts.tasks.push(holder);
        }
        let tenants = traffic::load_tenants(&admin.client).await?;
        drop(admin);

        let build = ServingBuild::new(root.join("app-build"), options.build).map_err(|source| {
            SandboxError::Io {
                what: "cannot write the sandbox app's build file",
                source,
            }
        })?;
        let app = app::start(
            app_database_url.clone(),
            build.clone(),
            options.scenario,
            parts.cancel.clone(),
        )
        .await?;
        parts.tasks.push(app.task);
        let oracle = Oracle::new(build.clone());
        let pause = Pause::default();
        if options.traffic {
            parts
                .tasks
                .push(oracle.watch_flags(superuser_url.clone(), parts.cancel.clone()));
            parts.tasks.push(traffic::spawn(
                app.addr,
                tenants,
                oracle.clone(),
                pause.clone(),
                parts.cancel.clone(),
            )?);
        }
        Ok(Sandbox {
            parts,
            scenario: options.scenario,
            root,
            database_url,
            app_database_url,
            superuser_url,
            app_addr: app.addr,
            pg_log,
            postgres_url,
            build,
            oracle,
            pause,
            app_pool: app.pool,
        })
    }

    /// The owner/admin login (`app_owner`, BYPASSRLS, owns the tables): the runbook's
    /// `DATABASE_URL`. Holds a password.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The application's login (`app_user`): `APP_DATABASE_URL`. Holds a password.
    pub fn app_database_url(&self) -> &str {
        &self.app_database_url
    }

    /// A superuser login to the sandbox database (the lock sampler's). No password: the
    /// sandbox cluster trusts local logins.
    pub fn superuser_url(&self) -> &str {
        &self.superuser_url
    }

    /// The app's base URL, `http://127.0.0.1:PORT`.
    pub fn app_url(&self) -> String {
        format!("http://{}", self.app_addr)
    }

    /// The app's metrics, `http://127.0.0.1:PORT/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.app_addr)
    }

    /// The server's jsonlog file.
    pub fn pg_log(&self) -> &Path {
        &self.pg_log
    }

    /// The directory holding the cluster; gone after shutdown.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The build the app serves, and the file that deploys another (`SANDBOX_APP_BUILD`).
    pub fn build(&self) -> &ServingBuild {
        &self.build
    }

    /// The judge of the traffic's answers.
    pub fn oracle(&self) -> &Oracle {
        &self.oracle
    }

    /// Stop the traffic; returns once no request is in flight.
    pub async fn pause_traffic(&self) {
        self.pause.pause().await;
    }

    /// Start the traffic again.
    pub fn resume_traffic(&self) {
        self.pause.resume();
    }

    fn postgres_url(&self) -> &str {
        &self.postgres_url
    }

    fn app_pool(&self) -> &app::pool::Pool {
        &self.app_pool
    }

    /// The scenario the sandbox runs, if any.
    pub fn scenario(&self) -> Option<Scenario> {
        self.scenario
    }

    /// The variables a runbook needs to point at the sandbox, as `(name, value, secret)`:
    /// `DATABASE_URL`, `APP_DATABASE_URL`, `APP_URL`, `APP_METRICS_URL`, `PG_LOG`, `TENANT_A`,
    /// `TENANT_B`, `SANDBOX_APP_BUILD` (write `phase1` or `phase2` to it to deploy that build),
    /// and the scenario's own (`SNAPSHOT_LOCK_WAIT` for slow-snapshot).
    pub fn vars(&self) -> Vec<(String, String, bool)> {
        let mut vars = vec![
            ("DATABASE_URL", self.database_url.clone(), true),
            ("APP_DATABASE_URL", self.app_database_url.clone(), true),
            ("APP_URL", self.app_url(), false),
            ("APP_METRICS_URL", self.metrics_url(), false),
            ("PG_LOG", self.pg_log.display().to_string(), false),
            ("TENANT_A", TENANT_A.to_string(), false),
            ("TENANT_B", TENANT_B.to_string(), false),
            (
                "SANDBOX_APP_BUILD",
                self.build.file().display().to_string(),
                false,
            ),
        ];
        if self.scenario == Some(Scenario::SlowSnapshot) {
            vars.push((
                "SNAPSHOT_LOCK_WAIT",
                faults::SLOW_SNAPSHOT_LOCK_WAIT.to_string(),
                false,
            ));
        }
        vars.into_iter()
            .map(|(name, value, secret)| (name.to_string(), value, secret))
            .collect()
    }

    /// Stop the traffic, the app and the cluster, and remove the directory; returns when no
    /// process, port or file of the sandbox is left (the server's exit is awaited, up to 5 s).
    pub async fn shutdown(mut self) {
        self.parts.stop().await;
    }
}
