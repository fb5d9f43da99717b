//! A small pool of `app_user` connections, reused across requests as a real application's pool
//! is. The Phase 2 build sets the tenant per transaction with `set_config('app.tenant_id', $1,
//! true)`, so a reused connection must carry nothing over (that is what fail-closed policies are
//! tested against); the Phase 1 build sets nothing and filters in its own SQL.

use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::{Client, Transaction};

use super::build::Build;
use golive_core::pg::DbError;

/// `application_name` of the app's sessions.
pub(super) const APP_NAME: &str = "golive-sandbox-app";

/// At most `size` connections, opened on demand, kept while healthy.
pub struct Pool {
    url: String,
    idle: Mutex<Vec<Client>>,
    permits: Semaphore,
}

/// A connection on loan; it goes back to the pool when dropped, unless it broke.
pub(super) struct Conn<'a> {
    client: Option<Client>,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    /// A pool of `size` connections to `url`.
    pub(super) fn new(url: String, size: usize) -> Self {
        Pool {
            url,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
        }
    }

    /// Borrow a connection: an idle healthy one, or a new one.
    pub(super) async fn get(&self) -> Result<Conn<'_>, DbError> {
        let permit = self.permits.acquire().await.map_err(|_| DbError::Connect {
            target: "the sandbox app's pool".into(),
            reason: "the pool is closed (the sandbox is shutting down)".into(),
        })?;
        while let Some(client) = self.take_idle() {
            if !client.is_closed() {
                return Ok(self.loan(client, permit));
            }
        }
        let session = golive_core::pg::connect(&self.url, APP_NAME).await?;
        Ok(self.loan(session.client, permit))
    }

    /// Close every idle connection (the database was replaced under the app, as a restart
    /// would); connections on loan are dropped when they break.
    pub fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn take_idle(&self) -> Option<Client> {
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    fn loan<'a>(&'a self, client: Client, permit: SemaphorePermit<'a>) -> Conn<'a> {
        Conn {
            client: Some(client),
            pool: self,
            _permit: permit,
        }
    }
}

impl Conn<'_> {
    /// The client, outside any tenant transaction.
    pub(super) fn client(&mut self) -> &mut Client {
        match &mut self.client {
            Some(client) => client,
            None => unreachable!("only Drop takes the client out"),
        }
    }
}

impl Conn<'_> {
    /// Begin a transaction for a request of `tenant`, as `build` does: the Phase 2 build runs
    /// `set_config('app.tenant_id', tenant, true)`, the `SET LOCAL` of the target contract, gone
    /// again at commit or rollback; the Phase 1 build sets nothing.
    pub(super) async fn begin(
        &mut self,
        build: Build,
        tenant: &str,
    ) -> Result<Transaction<'_>, tokio_postgres::Error> {
        let tx = self.client().transaction().await?;
        if build == Build::Phase2 {
            tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&tenant])
                .await?;
        }
        Ok(tx)
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed())
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(client);
        }
    }
}
