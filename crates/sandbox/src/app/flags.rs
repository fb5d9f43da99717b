//! Feature flags, read from the `feature_flags` table and cached for at most a second, as the
//! seed's application reads its flag system.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::pool::Pool;

/// How long a read of the flags is trusted.
const MAX_AGE: Duration = Duration::from_secs(1);

/// The flag that switches the catalog to its v2 shape.
pub(super) const CATALOG_API_V2: &str = "catalog_api_v2";

/// The flags as last read, and when.
#[derive(Default)]
pub(super) struct FlagCache {
    last: Mutex<Option<(Instant, HashMap<String, bool>)>>,
}

impl FlagCache {
    /// Whether `name` is on. A flag that cannot be read is off, as a flag system that is down
    /// falls back to the default; the last good read is kept for that case.
    pub(super) async fn is_on(&self, pool: &Pool, name: &str) -> bool {
        let mut last = self.last.lock().await;
        let fresh = last.as_ref().is_some_and(|(at, _)| at.elapsed() < MAX_AGE);
        if !fresh {
            match read(pool).await {
                Ok(flags) => *last = Some((Instant::now(), flags)),
                Err(reason) => tracing::warn!(%reason, "sandbox app: cannot read feature flags"),
            }
        }
        last.as_ref()
            .and_then(|(_, flags)| flags.get(name).copied())
            .unwrap_or(false)
    }
}

async fn read(pool: &Pool) -> Result<HashMap<String, bool>, String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    let rows = conn
        .client()
        .query("SELECT name, enabled FROM feature_flags", &[])
        .await
        .map_err(|e| golive_core::pg::describe(&e))?;
    Ok(rows
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, bool>(1)))
        .collect())
}
