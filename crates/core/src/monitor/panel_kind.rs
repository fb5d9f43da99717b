//! The dashboard's built-in panels by kind: each one's id (as snapshots and the runbook's
//! `[monitor.panels.ID]` spell it), its title for people and the unit of its value. A runbook's
//! own SQL panels (`[[monitor.queries]]`) have free ids and count things.

/// The unit of a panel's value, which decides how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A share of requests, shown as a percentage.
    Ratio,
    /// A latency in seconds, shown in milliseconds.
    Seconds,
    /// A number of things (denials, failed probes, a SQL panel's value).
    Count,
}

impl Unit {
    /// `v` for people: `1.25%`, `340ms`, `12`; `—` when there is no value.
    pub fn format(self, v: Option<f64>) -> String {
        match (self, v) {
            (_, None) => "—".into(),
            (Unit::Ratio, Some(v)) => format!("{:.2}%", v * 100.0),
            (Unit::Seconds, Some(v)) => format!("{:.0}ms", v * 1000.0),
            (Unit::Count, Some(v)) => super::verdict::fmt_value(Some(v)),
        }
    }
}

/// A built-in panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    /// Share of 5xx answers, by route.
    Http5xx,
    /// Share of 4xx answers, by route.
    Http4xx,
    /// Share of the catalog's GETs answered 304 (the cache hit rate).
    Catalog304,
    /// Row-level-security denials.
    RlsDenials,
    /// p95 latency of adding an item to an invoice, the key operation.
    AddToInvoiceP95,
    /// The isolation canary's failed probes.
    IsolationCanary,
}

impl PanelKind {
    /// Every built-in panel, in display order.
    pub const ALL: [PanelKind; 6] = [
        PanelKind::Http5xx,
        PanelKind::Http4xx,
        PanelKind::Catalog304,
        PanelKind::RlsDenials,
        PanelKind::AddToInvoiceP95,
        PanelKind::IsolationCanary,
    ];

    /// The panel's id.
    pub fn id(self) -> &'static str {
        match self {
            PanelKind::Http5xx => "http_5xx_ratio",
            PanelKind::Http4xx => "http_4xx_ratio",
            PanelKind::Catalog304 => "catalog_304_ratio",
            PanelKind::RlsDenials => "rls_denials",
            PanelKind::AddToInvoiceP95 => "add_to_invoice_p95_seconds",
            PanelKind::IsolationCanary => "isolation_canary",
        }
    }

    /// The built-in panel with this id, if it is one.
    pub fn from_id(id: &str) -> Option<PanelKind> {
        PanelKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The panel's name for people (`5xx ratio`).
    pub fn title(self) -> &'static str {
        match self {
            PanelKind::Http5xx => "5xx ratio",
            PanelKind::Http4xx => "4xx ratio",
            PanelKind::Catalog304 => "catalog 304 share",
            PanelKind::RlsDenials => "RLS denials",
            PanelKind::AddToInvoiceP95 => "add-to-invoice p95",
            PanelKind::IsolationCanary => "isolation canary",
        }
    }

    /// The unit of the panel's value.
    pub fn unit(self) -> Unit {
        match self {
            PanelKind::Http5xx | PanelKind::Http4xx | PanelKind::Catalog304 => Unit::Ratio,
            PanelKind::AddToInvoiceP95 => Unit::Seconds,
            PanelKind::RlsDenials | PanelKind::IsolationCanary => Unit::Count,
        }
    }
}

/// The title of the panel `id`: a built-in panel's, or a SQL panel's own id.
pub fn title_of(id: &str) -> &str {
    PanelKind::from_id(id).map_or(id, |kind| kind.title())
}

/// The unit of the panel `id`'s value (a SQL panel counts).
pub fn unit_of(id: &str) -> Unit {
    PanelKind::from_id(id).map_or(Unit::Count, PanelKind::unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_units_format() {
        for kind in PanelKind::ALL {
            assert_eq!(PanelKind::from_id(kind.id()), Some(kind));
        }
        assert_eq!(PanelKind::from_id("waiting_locks"), None);
        assert_eq!(title_of("waiting_locks"), "waiting_locks");
        assert_eq!(unit_of("http_5xx_ratio").format(Some(0.0125)), "1.25%");
        assert_eq!(
            unit_of("add_to_invoice_p95_seconds").format(Some(0.34)),
            "340ms"
        );
        assert_eq!(unit_of("waiting_locks").format(Some(12.0)), "12");
        assert_eq!(Unit::Ratio.format(None), "—");
    }
}
