//! The direct scrape of an application's `/metrics`: cumulative counters each refresh; rates
//! come from the deltas between scrapes ([`super::traffic`]).

use super::config::Mapping;
use super::poller::Source;
use super::promtext;
use super::sample::{Sample, now};

/// Scrapes one `/metrics` URL.
pub struct Scrape {
    client: reqwest::Client,
    url: String,
    names: [String; 4],
}

impl Scrape {
    /// A scraper of `url` keeping the metrics `mapping` names.
    pub fn new(client: reqwest::Client, url: &str, mapping: &Mapping) -> Self {
        Scrape {
            client,
            url: url.to_string(),
            names: [
                format!("{}_count", mapping.histogram),
                format!("{}_bucket", mapping.histogram),
                mapping.rls_denials.clone(),
                "process_start_time_seconds".into(),
            ],
        }
    }

    /// Fetch and parse once.
    pub async fn read(&self) -> Result<Sample, String> {
        let shown = crate::redact::url_passwords(&self.url).into_owned();
        let resp = self
            .client
            .get(&self.url)
            .header("Accept", "text/plain")
            .send()
            .await
            .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!(
                "{shown} answered {status}; check APP_METRICS_URL (the app's /metrics)"
            ));
        }
        let body = resp
            .text()
            .await
            .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
        let at = now();
        let series = promtext::parse(&body, |n| self.names.iter().any(|k| k == n))
            .map_err(|e| format!("{shown}: {e}"))?;
        Ok(Sample::Counters {
            source: "scrape",
            at,
            series,
        })
    }
}

impl Source for Scrape {
    fn name(&self) -> String {
        "scrape".into()
    }

    async fn poll(&mut self) -> Result<Vec<Sample>, String> {
        self.read().await.map(|s| vec![s])
    }
}
