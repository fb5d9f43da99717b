//! Connection strings: parsing, TLS policy and the redacted form shown to people.
//!
//! tokio-postgres understands `sslmode=disable|prefer|require` only; golive also accepts libpq's
//! `verify-ca` and `verify-full` (certificate verified against webpki roots or `sslrootcert`,
//! for managed databases such as AWS RDS) and strips `sslrootcert` before tokio-postgres sees it.

use std::path::PathBuf;
use std::str::FromStr;

/// How TLS is negotiated and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Plain TCP or a Unix socket.
    Disable,
    /// TLS when the server offers it (`prefer`) or always (`require`), without verifying the
    /// certificate, as libpq does when no root certificate is given.
    Unverified,
    /// TLS with the server certificate verified (`verify-ca`, `verify-full`, or `require` with
    /// `sslrootcert`).
    Verified {
        /// A PEM bundle of trusted roots; webpki's roots when absent.
        root_cert: Option<PathBuf>,
    },
}

/// A parsed connection string.
#[derive(Debug, Clone)]
pub struct Dsn {
    /// The tokio-postgres configuration.
    pub config: tokio_postgres::Config,
    /// TLS negotiation and verification.
    pub tls: TlsPolicy,
}

/// A connection string that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("invalid connection string {shown}: {reason}")]
pub struct DsnError {
    /// The redacted connection string.
    pub shown: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Dsn {
    /// Parse a URL (`postgres://user:pass@host:port/db?sslmode=require`) or key=value string.
    pub fn parse(raw: &str) -> Result<Self, DsnError> {
        let err = |reason: String| DsnError {
            shown: crate::redact::url_passwords(raw).into_owned(),
            reason,
        };
        let (rest, sslmode, root_cert) = split_tls_params(raw);
        let config = tokio_postgres::Config::from_str(&rest).map_err(|e| err(e.to_string()))?;
        if config.get_hosts().is_empty() {
            return Err(err(
                "no host: write it as postgres://user@HOST:5432/dbname".into()
            ));
        }
        let tls = match sslmode.as_deref() {
            Some("verify-ca" | "verify-full") => TlsPolicy::Verified { root_cert },
            Some("require") if root_cert.is_some() => TlsPolicy::Verified { root_cert },
            Some("require" | "prefer") | None => match config.get_ssl_mode() {
                tokio_postgres::config::SslMode::Disable => TlsPolicy::Disable,
                _ => TlsPolicy::Unverified,
            },
            Some("disable" | "allow") => TlsPolicy::Disable,
            Some(other) => {
                return Err(err(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, \
                     verify-full"
                )));
            }
        };
        Ok(Dsn { config, tls })
    }

    /// The database name (the user name when the string names none, as libpq does).
    pub fn dbname(&self) -> String {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or("postgres")
            .to_string()
    }

    /// The first host, as written (`/path` for a Unix socket directory).
    pub fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        }
    }

    /// The first port.
    pub fn port(&self) -> u16 {
        self.config.get_ports().first().copied().unwrap_or(5432)
    }

    /// `user@host:port/dbname`: what a confirmation dialog and a header show. Never a password.
    pub fn target(&self) -> String {
        let user = self.config.get_user().unwrap_or("");
        let at = if user.is_empty() { "" } else { "@" };
        format!(
            "{user}{at}{}:{}/{}",
            self.host(),
            self.port(),
            self.dbname()
        )
    }
}

/// Remove `sslmode` and `sslrootcert` from a URL's query or a key=value string; return what is
/// left (with `sslmode` mapped to a value tokio-postgres accepts) and the two values.
fn split_tls_params(raw: &str) -> (String, Option<String>, Option<PathBuf>) {
    let mut sslmode = None;
    let mut root = None;
    let mut keep = |key: &str, value: &str| -> bool {
        match key {
            "sslmode" => {
                sslmode = Some(value.to_string());
                false
            }
            "sslrootcert" => {
                root = Some(PathBuf::from(value));
                false
            }
            _ => true,
        }
    };
    let mapped = |mode: &Option<String>| match mode.as_deref() {
        Some("disable" | "allow") => Some("disable"),
        Some("prefer") => Some("prefer"),
        Some(_) => Some("require"),
        None => None,
    };
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        let (base, query) = raw.split_once('?').unwrap_or((raw, ""));
        let mut params: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                keep(k, v)
            })
            .collect();
        let mode = mapped(&sslmode).map(|m| format!("sslmode={m}"));
        if let Some(m) = &mode {
            params.push(m);
        }
        let rest = if params.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", params.join("&"))
        };
        (rest, sslmode, root)
    } else {
        let mut parts: Vec<String> = raw
            .split_whitespace()
            .filter(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                keep(k.trim(), v.trim_matches('\''))
            })
            .map(str::to_string)
            .collect();
        if let Some(m) = mapped(&sslmode) {
            parts.push(format!("sslmode={m}"));
        }
        (parts.join(" "), sslmode, root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_verify_full_and_root_cert() {
        let dsn = Dsn::parse(
            "postgres://admin:s3cret@db.example.com:5433/shop?sslmode=verify-full&sslrootcert=/etc/rds.pem",
        )
        .expect("parses");
        assert_eq!(
            dsn.tls,
            TlsPolicy::Verified {
                root_cert: Some(PathBuf::from("/etc/rds.pem"))
            }
        );
        assert_eq!(dsn.target(), "admin@db.example.com:5433/shop");
    }

    #[test]
    fn key_value_string() {
        let dsn = Dsn::parse("host=127.0.0.1 port=5444 dbname=app user=app_user sslmode=disable")
            .expect("parses");
        assert_eq!(dsn.tls, TlsPolicy::Disable);
        assert_eq!(dsn.target(), "app_user@127.0.0.1:5444/app");
    }

    #[test]
    fn bad_sslmode_is_named_and_password_hidden() {
        let err = Dsn::parse("postgres://u:hunter2@h/db?sslmode=sometimes").expect_err("rejected");
        let text = err.to_string();
        assert!(text.contains("sslmode=sometimes"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
