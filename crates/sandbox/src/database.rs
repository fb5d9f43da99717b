//! The Phase 1 database inside the sandbox cluster: database `shop`, the schema and data of
//! `assets/sandbox/schema.sql`, and fresh random passwords for `app_owner` and `app_user`.

use std::io::Read;

use golive_core::pg::cluster::Cluster;

use super::SandboxError;

/// The schema and data the go-live starts from.
const SCHEMA: &str = include_str!("../../../assets/sandbox/schema.sql");

/// The database the sandbox creates.
pub(super) const DBNAME: &str = "shop";

/// `application_name` of the sandbox's own superuser sessions (never terminated by scenarios).
pub(super) const ADMIN_APP_NAME: &str = "golive-sandbox-admin";

/// The logins the sandbox hands out.
pub(super) struct Logins {
    /// `app_owner`'s password.
    pub owner_password: String,
    /// `app_user`'s password.
    pub user_password: String,
}

/// Create `shop`, load the schema, set random passwords.
pub(super) async fn create(cluster: &Cluster) -> Result<Logins, SandboxError> {
    let admin = golive_core::pg::connect(&cluster.url("postgres"), ADMIN_APP_NAME).await?;
    admin
        .client
        .batch_execute(&format!("CREATE DATABASE {DBNAME}"))
        .await
        .map_err(|e| SandboxError::sql("create database shop", &e))?;
    drop(admin);

    let shop = golive_core::pg::connect(&cluster.url(DBNAME), ADMIN_APP_NAME).await?;
    shop.client
        .batch_execute(SCHEMA)
        .await
        .map_err(|e| SandboxError::sql("load assets/sandbox/schema.sql", &e))?;
    // The registry's schema, made for the deploying role as a DBA would on production: the
    // rehearsal registers its run like the go-live will.
    shop.client
        .batch_execute("CREATE SCHEMA golive AUTHORIZATION app_owner")
        .await
        .map_err(|e| SandboxError::sql("create the registry's schema golive", &e))?;
    let logins = Logins {
        owner_password: random_secret()?,
        user_password: random_secret()?,
    };
    // Hex passwords need no quoting beyond the literal's quotes.
    shop.client
        .batch_execute(&format!(
            "ALTER ROLE app_owner PASSWORD '{}'; ALTER ROLE app_user PASSWORD '{}';",
            logins.owner_password, logins.user_password
        ))
        .await
        .map_err(|e| SandboxError::sql("set the role passwords", &e))?;
    Ok(logins)
}

/// 24 random hex digits from the kernel.
fn random_secret() -> Result<String, SandboxError> {
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| SandboxError::Io {
            what: "cannot read /dev/urandom for a password",
            source,
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hex_and_differ() {
        let a = random_secret().unwrap();
        let b = random_secret().unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
