//! Request counters turned into windowed numbers: per-series increases with counter resets
//! handled, summed by route into reset-free running totals, kept as a short history so any
//! window's increase is a subtraction.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::config::Mapping;
use super::sample::{Series, UnixSeconds};

/// Running request totals of one route.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RouteTotals {
    /// All requests.
    pub total: f64,
    /// Answers 500–599.
    pub s5xx: f64,
    /// Answers 400–499.
    pub s4xx: f64,
    /// GET requests.
    pub get: f64,
    /// GET requests answered 304.
    pub get304: f64,
}

impl RouteTotals {
    fn add(&mut self, other: &RouteTotals, sign: f64) {
        self.total += sign * other.total;
        self.s5xx += sign * other.s5xx;
        self.s4xx += sign * other.s4xx;
        self.get += sign * other.get;
        self.get304 += sign * other.get304;
    }
}

/// Reset-free running totals at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// By route.
    pub routes: BTreeMap<String, RouteTotals>,
    /// The add-to-invoice latency histogram: upper bound → cumulative count.
    pub invoice_buckets: Vec<(f64, f64)>,
    /// Application-counted RLS denials by table.
    pub rls: BTreeMap<String, f64>,
}

impl Totals {
    /// `self - earlier`: what happened between the two.
    pub fn since(&self, earlier: &Totals) -> Totals {
        let mut routes = self.routes.clone();
        for (route, old) in &earlier.routes {
            if let Some(r) = routes.get_mut(route) {
                r.add(old, -1.0);
            }
        }
        let invoice_buckets = self
            .invoice_buckets
            .iter()
            .map(|(le, n)| {
                let old = earlier
                    .invoice_buckets
                    .iter()
                    .find(|(l, _)| l == le)
                    .map_or(0.0, |(_, n)| *n);
                (*le, n - old)
            })
            .collect();
        let rls = self
            .rls
            .iter()
            .map(|(t, n)| (t.clone(), n - earlier.rls.get(t).copied().unwrap_or(0.0)))
            .collect();
        Totals {
            routes,
            invoice_buckets,
            rls,
        }
    }

    /// All routes together.
    pub fn all_routes(&self) -> RouteTotals {
        let mut all = RouteTotals::default();
        for r in self.routes.values() {
            all.add(r, 1.0);
        }
        all
    }

    /// The q-quantile of the invoice histogram (Prometheus `histogram_quantile` rules).
    pub fn invoice_quantile(&self, q: f64) -> Option<f64> {
        quantile(&self.invoice_buckets, q)
    }
}

/// Quantile of cumulative buckets `(le, count)` sorted by `le`, linear inside a bucket.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower);
            }
            let inside = count - below;
            let frac = if inside > 0.0 {
                (rank - below) / inside
            } else {
                1.0
            };
            return Some(lower + (le - lower) * frac);
        }
        lower = le;
        below = count;
    }
    Some(lower)
}

/// The standard gauge of the process start time (prometheus_client's process collector).
const START_TIME: &str = "process_start_time_seconds";

/// Turns counter readings into running totals and keeps their history.
#[derive(Debug)]
pub struct Traffic {
    mapping: Mapping,
    invoice_route: String,
    count_name: String,
    bucket_name: String,
    last: HashMap<String, f64>,
    running: Totals,
    history: VecDeque<(UnixSeconds, Totals)>,
    keep_for: f64,
    start_time: Option<f64>,
    /// Totals counted before the first reading (everything since the app started): the baseline.
    pub before: Option<Totals>,
}

impl Traffic {
    /// Totals for `mapping`, history long enough for `keep_for` seconds.
    pub fn new(mapping: &Mapping, invoice_route: &str, keep_for: f64) -> Self {
        Traffic {
            count_name: format!("{}_count", mapping.histogram),
            bucket_name: format!("{}_bucket", mapping.histogram),
            mapping: mapping.clone(),
            invoice_route: invoice_route.to_string(),
            last: HashMap::new(),
            running: Totals::default(),
            history: VecDeque::new(),
            keep_for,
            start_time: None,
            before: None,
        }
    }

    /// Whether a metric name matters here (for the scraper's filter).
    pub fn wants(&self, name: &str) -> bool {
        name == self.count_name
            || name == self.bucket_name
            || name == self.mapping.rls_denials
            || name == START_TIME
    }

    /// Apply one reading of the counters at `at`.
    pub fn ingest(&mut self, at: UnixSeconds, series: &[Series]) {
        if self.history.back().is_some_and(|(t, _)| at <= *t) {
            return;
        }
        let first = self.before.is_none();
        let mut before = Totals::default();
        // A new process start time: the app restarted, every counter began again from zero
        // (even those that have already climbed past their old value).
        if let Some(start) = series.iter().find(|s| s.name == START_TIME)
            && self
                .start_time
                .replace(start.value)
                .is_some_and(|t| t != start.value)
        {
            self.last.clear();
        }
        for s in series {
            if !s.value.is_finite() || !self.wants(&s.name) || s.name == START_TIME {
                continue;
            }
            let key = series_key(s);
            let increase = match self.last.insert(key, s.value) {
                _ if first => 0.0,
                None => s.value,
                Some(prev) if s.value < prev => s.value,
                Some(prev) => s.value - prev,
            };
            for (totals, amount) in [(&mut self.running, increase), (&mut before, s.value)] {
                add_series(
                    totals,
                    s,
                    amount,
                    &self.mapping,
                    &self.count_name,
                    &self.invoice_route,
                );
            }
        }
        if first {
            self.before = Some(before);
        }
        self.history.push_back((at, self.running.clone()));
        while self.history.len() > 2 && self.history[1].0 < at - self.keep_for {
            self.history.pop_front();
        }
    }

    /// Totals over the last `window` seconds ending at the latest reading, and the seconds
    /// actually covered (less than `window` early in a watch). `None` before two readings.
    pub fn window(&self, window: f64) -> Option<(Totals, f64)> {
        let (latest_at, latest) = self.history.back()?;
        let cutoff = latest_at - window;
        let anchor = self
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t <= cutoff)
            .or_else(|| self.history.front())?;
        let span = latest_at - anchor.0;
        (span > 0.0).then(|| (latest.since(&anchor.1), span))
    }

    /// When the latest reading was taken.
    pub fn latest_at(&self) -> Option<UnixSeconds> {
        self.history.back().map(|(t, _)| *t)
    }
}

fn series_key(s: &Series) -> String {
    let mut key = s.name.clone();
    for (k, v) in &s.labels {
        key.push('\u{1}');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

fn add_series(
    totals: &mut Totals,
    s: &Series,
    amount: f64,
    m: &Mapping,
    count_name: &str,
    invoice_route: &str,
) {
    if s.name == m.rls_denials {
        let table = s.label(&m.table_label).unwrap_or("?").to_string();
        *totals.rls.entry(table).or_default() += amount;
        return;
    }
    let route = s.label(&m.route_label).unwrap_or("(none)");
    if s.name == count_name {
        let status: u16 = s
            .label(&m.status_label)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let get = s
            .label(&m.method_label)
            .is_some_and(|v| v.eq_ignore_ascii_case("GET"));
        let r = match totals.routes.get_mut(route) {
            Some(r) => r,
            None => totals.routes.entry(route.to_string()).or_default(),
        };
        r.total += amount;
        if (500..600).contains(&status) {
            r.s5xx += amount;
        }
        if (400..500).contains(&status) {
            r.s4xx += amount;
        }
        if get {
            r.get += amount;
            if status == 304 {
                r.get304 += amount;
            }
        }
    } else if route == invoice_route {
        let Some(le) = s.label("le").and_then(super::promtext::parse_value) else {
            return;
        };
        match totals.invoice_buckets.iter_mut().find(|(l, _)| *l == le) {
            Some(b) => b.1 += amount,
            None => {
                totals.invoice_buckets.push((le, amount));
                totals.invoice_buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn count(route: &str, method: &str, status: &str, v: f64) -> Series {
        Series {
            name: "flask_http_request_duration_seconds_count".into(),
            labels: vec![
                ("method".into(), method.into()),
                ("status".into(), status.into()),
                ("url_rule".into(), route.into()),
            ],
            value: v,
        }
    }

    #[test]
    fn increases_survive_a_counter_reset_and_new_series() {
        let mut t = Traffic::new(&Mapping::flask(), "/inv", 600.0);
        t.ingest(0.0, &[count("/a", "GET", "200", 100.0)]);
        t.ingest(10.0, &[count("/a", "GET", "200", 150.0)]);
        // The app restarted: the counter starts again from zero; a new 500 series appears.
        t.ingest(
            20.0,
            &[
                count("/a", "GET", "200", 30.0),
                count("/a", "GET", "500", 5.0),
            ],
        );
        let (w, span) = t.window(60.0).unwrap();
        assert_eq!(span, 20.0);
        let a = w.routes["/a"];
        assert_eq!(a.total, 85.0);
        assert_eq!(a.s5xx, 5.0);
        assert_eq!(t.before.as_ref().unwrap().routes["/a"].total, 100.0);
        let (w, _) = t.window(10.0).unwrap();
        assert_eq!(w.routes["/a"].total, 35.0);
    }

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        let b = [
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        let p95 = quantile(&b, 0.95).unwrap();
        assert!((p95 - 0.75).abs() < 1e-9, "{p95}");
        assert_eq!(quantile(&[(0.1, 0.0), (f64::INFINITY, 0.0)], 0.95), None);
        assert_eq!(
            quantile(&[(0.1, 1.0), (f64::INFINITY, 10.0)], 0.95),
            Some(0.1)
        );
    }
}
