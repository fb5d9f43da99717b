//! The Prometheus HTTP API source: the application's counters as Prometheus holds them.
//!
//! The first poll backfills the history with `/api/v1/query_range`, so the windows are full and
//! the baseline is from before the watch; later polls read the current values with
//! `/api/v1/query`. Rates come from the same reset-aware deltas as a direct scrape.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::Mapping;
use super::poller::Source;
use super::sample::{Sample, Series, UnixSeconds, now};

/// Reads one Prometheus server.
pub struct Prometheus {
    client: reqwest::Client,
    base: String,
    query: String,
    backfill: Option<(f64, f64)>,
}

impl Prometheus {
    /// A reader of `base` (e.g. `http://prometheus:9090`); the first poll backfills `history`
    /// seconds at `step` seconds. With a fleet `target`, only the series whose
    /// [`Mapping::target_label`] is that name are read.
    pub fn new(
        client: reqwest::Client,
        base: &str,
        mapping: &Mapping,
        invoice_route: &str,
        target: Option<&str>,
        history: f64,
        step: f64,
    ) -> Self {
        Prometheus {
            client,
            base: base.trim_end_matches('/').to_string(),
            query: selector(mapping, invoice_route, target),
            backfill: Some((history, step.max(1.0))),
        }
    }

    /// The current value of every series the dashboard reads.
    pub async fn instant(&self) -> Result<Sample, String> {
        let at = now();
        let data = self
            .get(
                "/api/v1/query",
                &[("query", self.query.clone()), ("time", format!("{at:.3}"))],
            )
            .await?;
        let mut series = Vec::new();
        for item in result(&data, "vector")? {
            let value = item.get("value").and_then(point).map(|(_, v)| v);
            if let Some(v) = value {
                series.push(to_series(item, v));
            }
        }
        Ok(Sample::Counters {
            source: "prometheus",
            at,
            series,
        })
    }

    /// The history of the last `seconds` at `step`, as one counters sample per step.
    pub async fn range(&self, seconds: f64, step: f64) -> Result<Vec<Sample>, String> {
        let end = now();
        let start = end - seconds;
        let data = self
            .get(
                "/api/v1/query_range",
                &[
                    ("query", self.query.clone()),
                    ("start", format!("{start:.3}")),
                    ("end", format!("{end:.3}")),
                    ("step", format!("{step}")),
                ],
            )
            .await?;
        let mut by_time: BTreeMap<i64, (UnixSeconds, Vec<Series>)> = BTreeMap::new();
        for item in result(&data, "matrix")? {
            for p in item
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some((t, v)) = point(p) {
                    let slot = by_time
                        .entry((t * 1000.0) as i64)
                        .or_insert_with(|| (t, Vec::new()));
                    slot.1.push(to_series(item, v));
                }
            }
        }
        // Series born inside the range count from zero: the history starts at `start` even
        // when nothing existed yet.
        by_time
            .entry((start * 1000.0) as i64)
            .or_insert_with(|| (start, Vec::new()));
        Ok(by_time
            .into_values()
            .map(|(at, series)| Sample::Counters {
                source: "prometheus",
                at,
                series,
            })
            .collect())
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let shown = crate::redact::url_passwords(&url).into_owned();
        let full = reqwest::Url::parse_with_params(&url, params)
            .map_err(|e| format!("{shown}: {e}; set PROMETHEUS_URL to e.g. http://host:9090"))?;
        let resp = self
            .client
            .get(full)
            .send()
            .await
            .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
        let status = resp.status();
        let kind = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp
            .text()
            .await
            .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
        let json: Value = serde_json::from_str(&body).map_err(|_| {
            format!(
                "{shown} answered {status} with {} instead of the Prometheus API's JSON; set \
                 PROMETHEUS_URL to the server's base URL (http://host:9090), not a page or a proxy's login",
                if kind.is_empty() { "a non-JSON body".to_string() } else { kind.clone() }
            )
        })?;
        if json.get("status").and_then(Value::as_str) != Some("success") {
            let kind = json
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let error = json
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(format!("{shown} answered {status}: {kind}: {error}"));
        }
        json.get("data")
            .cloned()
            .ok_or_else(|| format!("{shown}: the answer has no \"data\""))
    }
}

impl Source for Prometheus {
    fn name(&self) -> String {
        "prometheus".into()
    }

    async fn poll(&mut self) -> Result<Vec<Sample>, String> {
        if let Some((history, step)) = self.backfill {
            let mut samples = self.range(history, step).await?;
            self.backfill = None;
            samples.push(self.instant().await?);
            return Ok(samples);
        }
        self.instant().await.map(|s| vec![s])
    }
}

/// One PromQL selector for the request counts, the invoice route's buckets and the denials;
/// with a fleet `target`, each part also matches `<target_label>="<target>"`.
fn selector(m: &Mapping, invoice_route: &str, target: Option<&str>) -> String {
    let only = target.map_or_else(String::new, |t| format!(",{}", target_matcher(m, t)));
    format!(
        "{{__name__=~\"{h}_count|{rls}\"{only}}} or {h}_bucket{{{label}=\"{route}\"{only}}}",
        h = m.histogram,
        rls = m.rls_denials,
        label = m.route_label,
        route = quoted(invoice_route),
    )
}

/// The PromQL matcher of one fleet target's series, e.g. `target="eu-1"`.
pub fn target_matcher(m: &Mapping, target: &str) -> String {
    format!("{}=\"{}\"", m.target_label, quoted(target))
}

/// `value` escaped for a PromQL double-quoted string.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn result<'a>(data: &'a Value, kind: &str) -> Result<&'a Vec<Value>, String> {
    let got = data.get("resultType").and_then(Value::as_str).unwrap_or("");
    if got != kind {
        return Err(format!(
            "Prometheus answered a {got:?} result where a {kind} was expected"
        ));
    }
    data.get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| "Prometheus answered no result list".to_string())
}

/// `[1700000000.123, "42"]` → (time, value).
fn point(p: &Value) -> Option<(f64, f64)> {
    let t = p.get(0)?.as_f64()?;
    let v = super::promtext::parse_value(p.get(1)?.as_str()?)?;
    Some((t, v))
}

fn to_series(item: &Value, value: f64) -> Series {
    let mut name = String::new();
    let mut labels = Vec::new();
    if let Some(metric) = item.get("metric").and_then(Value::as_object) {
        for (k, v) in metric {
            let v = v.as_str().unwrap_or("").to_string();
            if k == "__name__" {
                name = v;
            } else {
                labels.push((k.clone(), v));
            }
        }
    }
    labels.sort();
    Series {
        name,
        labels,
        value,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn selector_escapes_the_route() {
        let s = selector(&Mapping::flask(), "/a/\"b\"", None);
        assert_eq!(
            s,
            "{__name__=~\"flask_http_request_duration_seconds_count|app_rls_denials_total\"} or \
             flask_http_request_duration_seconds_bucket{url_rule=\"/a/\\\"b\\\"\"}"
        );
    }

    #[test]
    fn a_fleet_target_is_matched_in_every_part_of_the_selector() {
        let s = selector(&Mapping::flask(), "/items", Some("eu-1"));
        assert_eq!(
            s,
            "{__name__=~\"flask_http_request_duration_seconds_count|app_rls_denials_total\",target=\"eu-1\"} or \
             flask_http_request_duration_seconds_bucket{url_rule=\"/items\",target=\"eu-1\"}"
        );
    }

    #[test]
    fn the_target_label_is_the_mapping_s_and_the_name_is_escaped() {
        let mut m = Mapping::otel();
        m.target_label = "shard".into();
        let s = selector(&m, "/r", Some("a\"b\\c"));
        assert_eq!(
            s,
            "{__name__=~\"http_server_request_duration_seconds_count|app_rls_denials_total\",shard=\"a\\\"b\\\\c\"} or \
             http_server_request_duration_seconds_bucket{http_route=\"/r\",shard=\"a\\\"b\\\\c\"}"
        );
    }
}
