//! Following a run through the registry (`golive.events` in the lock's database), from any
//! host: the rows after the last seq seen, polled. The driver's liveness comes from the go-live
//! lock: the driver holds it on a session of its own for the whole run, and it goes away with
//! that session, so when nobody (or another run) holds it and the run has no `run_finished`,
//! the driver is gone. A holder whose statement cannot be read (no `pg_read_all_stats`) counts
//! as alive: that cannot be told apart.

use tokio_postgres::{Client, Statement};

use crate::journal::Record;
use crate::lock::Held;
use crate::registry::schema;

/// One run's rows in a registry.
pub struct RegistrySource {
    client: Client,
    select: Statement,
    /// The database, as `user@host:port/db`.
    pub target: String,
    /// The run followed.
    pub run_id: String,
    last: i64,
}

impl RegistrySource {
    /// Follow run `run_id` (default: the newest unfinished run) in the registry at `url`.
    pub async fn open(url: &str, run_id: Option<&str>) -> anyhow::Result<Self> {
        let session = crate::pg::connect(url, "golive attach")
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot reach the registry: {}",
                    crate::redact::url_passwords(&e.to_string())
                )
            })?;
        let target = session.target.clone();
        let client = session.client;
        match schema::installed(&client).await? {
            None => anyhow::bail!(crate::registry::read::ReadError::Missing(target)),
            Some(version) => schema::check(version)?,
        }
        let run_id = match run_id {
            Some(id) => {
                let known = client
                    .query_opt("SELECT 1 FROM golive.runs WHERE run_id = $1", &[&id])
                    .await?;
                if known.is_none() {
                    anyhow::bail!(crate::registry::read::ReadError::NoRun {
                        run: id.to_string(),
                        target,
                    });
                }
                id.to_string()
            }
            None => client
                .query_opt(
                    "SELECT run_id FROM golive.runs WHERE finished_at IS NULL \
                     ORDER BY started_at DESC, run_id DESC LIMIT 1",
                    &[],
                )
                .await?
                .map(|row| row.get(0))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no unfinished run in the registry on {target}; `golive history \
                         --database-url …` lists every run: pass its RUN_ID"
                    )
                })?,
        };
        let select = client
            .prepare(
                "SELECT seq, record::text FROM golive.events WHERE run_id = $1 AND seq > $2 \
                 ORDER BY seq",
            )
            .await?;
        Ok(RegistrySource {
            client,
            select,
            target,
            run_id,
            last: 0,
        })
    }

    /// The records written since the last call.
    pub async fn fetch(&mut self) -> anyhow::Result<Vec<Record>> {
        let rows = self
            .client
            .query(&self.select, &[&self.run_id, &self.last])
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "lost the registry on {}: {}",
                    self.target,
                    crate::pg::describe(&e)
                )
            })?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            self.last = row.get(0);
            if let Ok(record) = serde_json::from_str::<Record>(row.get::<_, &str>(1)) {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// Why the driver is known to be gone, if it is: nobody holds the go-live lock, or another
    /// run does.
    pub async fn driver_gone(&self) -> anyhow::Result<Option<String>> {
        let held = crate::lock::held(&self.client).await?;
        Ok(match held {
            Held::Nobody => Some(format!("nobody holds the go-live lock on {}", self.target)),
            Held::By(holder) if holder.run != self.run_id => Some(format!(
                "the go-live lock on {} is held by another run ({holder})",
                self.target
            )),
            Held::By(_) | Held::Unreadable(..) => None,
        })
    }
}
