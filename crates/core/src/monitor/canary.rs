//! The isolation canary: the verifier's probes ([`crate::verify::canary`]) re-run during the
//! watch, as the `[monitor.canary]` table configures them:
//!
//! - no tenant gets no data from the API (the catalog route without any tenant);
//! - tenant A never sees tenant B's rows and the other way round (database; and the API when
//!   its items carry `tenant_id`);
//! - no tenant gets no rows in the database, logged in as the application role, on a connection
//!   that just served a tenant (a pooled connection).
//!
//! `golive verify` runs the full audit.

use std::time::Duration;

use crate::verify::api::ApiOptions;
use crate::verify::canary::{CanaryOptions, CanaryOutcome, MoreProbes, canary_with};

use super::config::CanaryConfig;
use super::poller::Source;
use super::sample::{Sample, now};

/// Runs the probes.
pub struct Canary {
    options: CanaryOptions,
    more: MoreProbes,
}

impl Canary {
    /// Probes as `cfg` says, against the catalog route for the API, each request limited to
    /// `timeout`.
    pub fn new(cfg: CanaryConfig, catalog_route: &str, timeout: Duration) -> Self {
        let mut tenants = cfg.tenants.into_iter();
        let (tenant, tenant_b) = (tenants.next(), tenants.next());
        let api = cfg.app_url.map(|url| ApiOptions {
            tenants: tenant.iter().chain(&tenant_b).cloned().collect(),
            tenant_header: cfg.tenant_header,
            timeout,
            path: catalog_route.to_string(),
            ..ApiOptions::new(url, Vec::new())
        });
        Canary {
            options: CanaryOptions {
                app_database_url: cfg.database_url,
                tables: cfg.tables,
                tenant_column: "tenant_id".into(),
                tenant_setting: "app.tenant_id".into(),
                tenant,
                api,
            },
            more: MoreProbes {
                tenant_b,
                pooled: true,
            },
        }
    }

    /// Whether anything can be probed.
    pub fn configured(cfg: &CanaryConfig) -> bool {
        cfg.app_url.is_some() || cfg.database_url.is_some()
    }

    /// One round: how many probes ran and what failed. An error when a probe could not run and
    /// none failed.
    pub async fn round(&self) -> Result<(u32, Vec<String>), String> {
        let results = canary_with(&self.options, &self.more).await;
        let of = |outcome: CanaryOutcome| {
            results
                .iter()
                .filter(move |r| r.outcome == outcome)
                .map(|r| r.detail.clone())
        };
        let failures: Vec<String> = of(CanaryOutcome::Fail).collect();
        let errors: Vec<String> = of(CanaryOutcome::Error).collect();
        if failures.is_empty() && !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok((u32::try_from(results.len()).unwrap_or(u32::MAX), failures))
    }
}

impl Source for Canary {
    fn name(&self) -> String {
        "canary".into()
    }

    async fn poll(&mut self) -> Result<Vec<Sample>, String> {
        let (probes, failures) = self.round().await?;
        Ok(vec![Sample::Canary {
            at: now(),
            probes,
            failures,
        }])
    }
}
