//! The built-in verifiers: tenant isolation in PostgreSQL (`golive verify rls`) and the Catalog
//! API v2 contract (`golive verify api`), as commands, as runbook steps and as cheap probes for the
//! dashboard's isolation canary.
//!
//! Both verifiers are read-only: the RLS probes run inside transactions that are always rolled
//! back, and the API checks only send `GET` requests.

pub mod api;
mod api_tenant;
pub mod canary;
pub mod findings;
pub mod policies;
pub mod rls;
pub mod sarif;

pub use findings::{Finding, Severity, Verdict};

/// Why a verifier could not run at all (as opposed to a finding, which is a result).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A connection could not be opened.
    #[error("{what}: {source}")]
    Connect {
        /// Which login (the admin login, the application login).
        what: &'static str,
        /// The underlying error (already redacted).
        source: crate::pg::DbError,
    },
    /// A catalog or data query failed.
    #[error("{what} on {target}: {reason}")]
    Query {
        /// What was being read.
        what: String,
        /// `user@host:port/db`.
        target: String,
        /// The server's error.
        reason: String,
    },
    /// The application role does not exist.
    #[error("role {0:?} does not exist on the database; pass the application role with --role")]
    RoleNotFound(String),
    /// No table carries the tenant column.
    #[error(
        "no table has a {0:?} column; name the tenant column with --tenant-column or the tables with --table"
    )]
    NoTenantTables(String),
    /// A tenant given by the user is not a UUID.
    #[error("tenant {0:?} is not a UUID; pass two tenant ids as --tenants A,B")]
    BadTenant(String),
    /// Two tenants are needed and fewer were given or found.
    #[error("{0}")]
    Tenants(String),
    /// An option is unusable (a malformed URL, a bad header).
    #[error("{0}")]
    Input(String),
    /// The HTTP client could not be built or a request could not be sent.
    #[error("{0}")]
    Http(String),
}

impl VerifyError {
    /// The exit code for a verifier that could not run: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            VerifyError::RoleNotFound(_)
            | VerifyError::NoTenantTables(_)
            | VerifyError::BadTenant(_)
            | VerifyError::Tenants(_)
            | VerifyError::Input(_) => 2,
            VerifyError::Connect { .. } | VerifyError::Query { .. } | VerifyError::Http(_) => 1,
        }
    }
}
