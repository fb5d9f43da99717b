//! [`MonitorConfig::from_table`]: the top-level keys of `[monitor]`, windows, metric naming and
//! the panels' thresholds.

use std::time::Duration;

use crate::runbook::Vars;

use super::reader::Reader;
use super::sections::{
    THRESHOLD_KEYS, default_thresholds, read_canary, read_queries, read_sources, read_thresholds,
};
use super::{ConfigError, Mapping, MonitorConfig, Thresholds, err};
use crate::monitor::panel_kind::PanelKind;

impl MonitorConfig {
    /// Read `[monitor]` (absent means all defaults). `${VAR}`s are interpolated with `vars`;
    /// sources not set in the table come from `env` (`PROMETHEUS_URL`, `APP_METRICS_URL` or
    /// `$APP_URL/metrics`, `PG_LOG`, the fleet target `GOLIVE_TARGET`).
    pub fn from_table(
        table: Option<&toml::Table>,
        vars: &Vars,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let empty = toml::Table::new();
        let t = Reader {
            table: table.unwrap_or(&empty),
            prefix: String::new(),
            vars,
        };
        t.only(&[
            "refresh",
            "refresh_later",
            "fine_for",
            "windows",
            "breach_count",
            "min_requests",
            "metrics",
            "catalog_route",
            "add_to_invoice_route",
            "timeout",
            "sources",
            "mapping",
            "panels",
            "canary",
            "queries",
        ])?;
        let refresh = t.duration("refresh")?.unwrap_or(Duration::from_secs(5));
        let refresh_later = t
            .duration("refresh_later")?
            .unwrap_or(refresh.max(Duration::from_secs(15)));
        let fine_for = t.duration("fine_for")?.unwrap_or(Duration::from_secs(600));
        let windows = read_windows(&t, refresh)?;
        let breach_count = t.uint("breach_count")?.unwrap_or(3).max(1);
        let min_requests = t.uint("min_requests")?.unwrap_or(20);
        let mapping = read_mapping(&t)?;
        let otel = mapping == Mapping::otel();
        let catalog_route = t
            .string("catalog_route")?
            .unwrap_or_else(|| "/api/admin/service-operations".into());
        let add_to_invoice_route = t.string("add_to_invoice_route")?.unwrap_or_else(|| {
            if otel {
                "/api/invoices/{invoice_id}/items".into()
            } else {
                "/api/invoices/<int:invoice_id>/items".into()
            }
        });
        let timeout = t.duration("timeout")?.unwrap_or(Duration::from_secs(5));

        let sources = read_sources(&t, env)?;
        let panels = read_panels(&t, min_requests)?;
        let canary = read_canary(&t, vars, env)?;
        let queries = read_queries(&t, vars)?;
        Ok(MonitorConfig {
            refresh,
            refresh_later,
            fine_for,
            windows,
            breach_count: u32::try_from(breach_count).unwrap_or(u32::MAX),
            catalog_route,
            add_to_invoice_route,
            timeout,
            mapping,
            sources,
            panels,
            canary,
            queries,
        })
    }
}

/// `windows`: the dashboard's time windows, shortest first (at least one refresh long).
fn read_windows(t: &Reader<'_>, refresh: Duration) -> Result<Vec<Duration>, ConfigError> {
    let mut windows = Vec::new();
    for (i, w) in t.str_list("windows")?.into_iter().enumerate() {
        let d = humantime::parse_duration(&w)
            .map_err(|e| err(&format!("windows[{i}]"), format!("{e}; write e.g. \"1m\"")))?;
        windows.push(d);
    }
    if windows.is_empty() {
        windows = vec![
            Duration::from_secs(60),
            Duration::from_secs(300),
            Duration::from_secs(900),
        ];
    }
    windows.sort();
    windows.dedup();
    if windows[0] < refresh {
        return Err(err(
            "windows",
            "the shortest window must be at least one refresh long",
        ));
    }
    Ok(windows)
}

/// `metrics` (the naming: flask or otel) and `[monitor.mapping]` overrides of its names.
fn read_mapping(t: &Reader<'_>) -> Result<Mapping, ConfigError> {
    let mut mapping = match t.string("metrics")?.as_deref() {
        None | Some("flask") => Mapping::flask(),
        Some("otel") => Mapping::otel(),
        Some(other) => {
            return Err(err(
                "metrics",
                format!("unknown metrics naming {other:?}; use \"flask\" or \"otel\""),
            ));
        }
    };
    if let Some(m) = t.sub("mapping")? {
        m.only(&[
            "histogram",
            "route_label",
            "status_label",
            "method_label",
            "rls_denials",
            "table_label",
            "target_label",
        ])?;
        for (key, slot) in [
            ("histogram", &mut mapping.histogram),
            ("route_label", &mut mapping.route_label),
            ("status_label", &mut mapping.status_label),
            ("method_label", &mut mapping.method_label),
            ("rls_denials", &mut mapping.rls_denials),
            ("table_label", &mut mapping.table_label),
            ("target_label", &mut mapping.target_label),
        ] {
            if let Some(v) = m.string(key)? {
                *slot = v;
            }
        }
    }
    Ok(mapping)
}

/// `[monitor.panels.ID]`: each panel's thresholds, the defaults where not given.
fn read_panels(
    t: &Reader<'_>,
    min_requests: u64,
) -> Result<Vec<(PanelKind, Thresholds)>, ConfigError> {
    let mut panels = Vec::new();
    let panel_table = t.sub("panels")?;
    if let Some(p) = &panel_table {
        for key in p.table.keys() {
            if PanelKind::from_id(key).is_none() {
                return Err(err(
                    &format!("panels.{key}"),
                    format!(
                        "unknown panel; the panels are {}",
                        PanelKind::ALL.map(PanelKind::id).join(", ")
                    ),
                ));
            }
        }
    }
    for kind in PanelKind::ALL {
        let defaults = default_thresholds(kind, min_requests);
        let th = match panel_table
            .as_ref()
            .map(|p| p.sub(kind.id()))
            .transpose()?
            .flatten()
        {
            Some(p) => {
                p.only(THRESHOLD_KEYS)?;
                read_thresholds(&p, defaults)?
            }
            None => defaults,
        };
        panels.push((kind, th));
    }
    Ok(panels)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(toml: &str, vars: &[(&str, &str)], env: Option<&str>) -> MonitorConfig {
        let table: toml::Table = toml.parse().unwrap();
        let mut v = Vars::default();
        for (name, value) in vars {
            v.set(name, (*value).to_string(), false);
        }
        let env = |k: &str| env.filter(|_| k == "GOLIVE_TARGET").map(str::to_string);
        MonitorConfig::from_table(Some(&table), &v, &env).unwrap()
    }

    #[test]
    fn the_fleet_target_comes_from_the_variables_then_the_environment() {
        let cfg = read("", &[("GOLIVE_TARGET", "eu-1")], Some("us-2"));
        assert_eq!(cfg.sources.target.as_deref(), Some("eu-1"));
        let cfg = read("", &[], Some("us-2"));
        assert_eq!(cfg.sources.target.as_deref(), Some("us-2"));
        let cfg = read("", &[("GOLIVE_TARGET", " ")], Some("us-2"));
        assert_eq!(cfg.sources.target, None);
        assert_eq!(read("", &[], None).sources.target, None);
    }

    #[test]
    fn the_target_label_defaults_to_target_and_can_be_renamed() {
        assert_eq!(read("", &[], None).mapping.target_label, "target");
        let otel = read("metrics = \"otel\"", &[], None);
        assert_eq!(otel.mapping.target_label, "target");
        let renamed = read("[mapping]\ntarget_label = \"shard\"", &[], None);
        assert_eq!(renamed.mapping.target_label, "shard");
        let table: toml::Table = "[mapping]\ntarget = \"x\"".parse().unwrap();
        let e = MonitorConfig::from_table(Some(&table), &Vars::default(), &|_| None).unwrap_err();
        assert_eq!(e.key, "mapping.target");
    }
}
