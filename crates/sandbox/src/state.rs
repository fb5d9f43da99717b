//! Saving and restoring the whole sandbox state, for rollback drills: the database `shop` copied
//! as a template (`CREATE DATABASE … TEMPLATE shop`, exact and fast) and the build that serves.
//! The traffic is paused while the database is swapped, and the app's pool is emptied as a
//! restart would, so no customer-facing request meets the swap itself.

use super::app::build::Build;
use super::database::{ADMIN_APP_NAME, DBNAME};
use super::{Sandbox, SandboxError};

/// A saved sandbox state.
#[derive(Debug, Clone)]
pub struct SavedState {
    database: String,
    build: Build,
}

impl Sandbox {
    /// Save the state the sandbox is in now under `name` (`[a-z_]+`).
    pub async fn save_state(&self, name: &str) -> Result<SavedState, SandboxError> {
        let saved = SavedState {
            database: format!("{DBNAME}_{name}"),
            build: self.build().get(),
        };
        self.swap(&[
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", saved.database),
            format!("CREATE DATABASE {} TEMPLATE {DBNAME}", saved.database),
        ])
        .await?;
        Ok(saved)
    }

    /// Put the sandbox back in `saved`: its database and the build that served.
    pub async fn restore_state(&self, saved: &SavedState) -> Result<(), SandboxError> {
        self.swap(&[
            format!("DROP DATABASE {DBNAME} WITH (FORCE)"),
            format!("CREATE DATABASE {DBNAME} TEMPLATE {}", saved.database),
        ])
        .await?;
        self.build()
            .deploy(saved.build)
            .map_err(|source| SandboxError::Io {
                what: "cannot write the sandbox app's build file",
                source,
            })
    }

    /// Run `statements` from the `postgres` database with every session of `shop` gone (a
    /// template copy needs that), the traffic paused and the app's pool emptied around it.
    async fn swap(&self, statements: &[String]) -> Result<(), SandboxError> {
        self.pause_traffic().await;
        let result = async {
            let admin = golive_core::pg::connect(self.postgres_url(), ADMIN_APP_NAME).await?;
            admin
                .client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                      WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&DBNAME],
                )
                .await
                .map_err(|e| SandboxError::sql("end the sessions on shop", &e))?;
            for statement in statements {
                admin
                    .client
                    .batch_execute(statement)
                    .await
                    .map_err(|e| SandboxError::sql(statement, &e))?;
            }
            Ok(())
        }
        .await;
        self.app_pool().clear();
        self.resume_traffic();
        result
    }
}
