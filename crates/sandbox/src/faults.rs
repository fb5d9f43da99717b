//! The database side of the game-day scenarios: what the sandbox plants in `shop` before the
//! go-live starts. (The application side, the legacy wrapper and the 5xx spike, lives in the app.)

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{SandboxError, Scenario};

/// How long the slow-snapshot scenario's batch job holds its lock after the sandbox is up.
pub const SLOW_SNAPSHOT_HOLD: Duration = Duration::from_secs(20);

/// The lock-wait timeout the slow-snapshot scenario gives the snapshot step (`SNAPSHOT_LOCK_WAIT`).
pub(super) const SLOW_SNAPSHOT_LOCK_WAIT: &str = "3s";

/// `application_name` of the batch job that holds the lock (visible in `pg_stat_activity`).
const BATCH_APP_NAME: &str = "golive-sandbox-batch";

/// A permissive policy left over from a support tool: policies are OR-ed, so once RLS is enabled
/// it opens every customer row to everyone. `rls-policies.sql` only replaces `tenant_isolation`.
const FAIL_OPEN_POLICY: &str = "
CREATE POLICY support_dashboard_read ON customers
    AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (true);
";

/// A statement trigger on `feature_flags`: the first write (an `UPDATE`, or the upsert golive's
/// flags step runs) by anyone but the sandbox terminates
/// every session named `golive` and the updating session itself, then never fires again (the
/// sequence is not rolled back with the transaction). Owned by the superuser, so it may terminate
/// any role's session; the sequence belongs to `app_owner` so `pg_dump` as the owner can read it.
const DB_GOES_AWAY: &str = "
CREATE SEQUENCE sandbox_db_goes_away_fired;
ALTER SEQUENCE sandbox_db_goes_away_fired OWNER TO app_owner;
CREATE FUNCTION sandbox_db_goes_away() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF current_setting('application_name') LIKE 'golive-sandbox%' THEN
        RETURN NULL;
    END IF;
    IF nextval('public.sandbox_db_goes_away_fired') > 1 THEN
        RETURN NULL;
    END IF;
    RAISE LOG 'sandbox scenario db-goes-away: terminating golive''s sessions';
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'golive'
       AND pid <> pg_backend_pid();
    PERFORM pg_terminate_backend(pg_backend_pid());
    PERFORM pg_sleep(5);
    RETURN NULL;
END
$$;
CREATE TRIGGER sandbox_db_goes_away BEFORE INSERT OR UPDATE ON feature_flags
    FOR EACH STATEMENT EXECUTE FUNCTION sandbox_db_goes_away();
";

/// Plant the scenario's database fault, as the superuser connected to `shop`.
pub(super) async fn plant(
    admin: &tokio_postgres::Client,
    scenario: Scenario,
) -> Result<(), SandboxError> {
    let sql = match scenario {
        Scenario::FailOpenPolicy => FAIL_OPEN_POLICY,
        Scenario::DbGoesAway => DB_GOES_AWAY,
        Scenario::LegacyWrapper
        | Scenario::FiveXxSpike
        | Scenario::Late5xx
        | Scenario::SlowSnapshot => return Ok(()),
    };
    admin
        .batch_execute(sql)
        .await
        .map_err(|e| SandboxError::sql(&format!("plant the {scenario} fault"), &e))
}

/// Take an `ACCESS EXCLUSIVE` lock on `customers` in a batch job's transaction and keep it for
/// `hold` (or until `cancel`). Returns once the lock is held.
pub(super) async fn hold_lock(
    superuser_url: &str,
    hold: Duration,
    cancel: CancellationToken,
) -> Result<JoinHandle<()>, SandboxError> {
    let session = golive_core::pg::connect(superuser_url, BATCH_APP_NAME).await?;
    session
        .client
        .batch_execute("BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        .await
        .map_err(|e| SandboxError::sql("lock customers for the slow-snapshot scenario", &e))?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(hold) => {}
            () = cancel.cancelled() => {}
        }
        let _ = session.client.batch_execute("COMMIT").await;
    }))
}
