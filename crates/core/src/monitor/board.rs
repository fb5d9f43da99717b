//! The dashboard's state on the engine side: applies [`Sample`]s from every source and turns
//! them into a [`Snapshot`] at each refresh. No IO here.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::baseline::Baseline;
use super::config::{MonitorConfig, Thresholds};
use super::panel_kind::PanelKind;
use super::sample::{Sample, UnixSeconds};
use super::snapshot::{Panel, Snapshot, SourceStatus, State, WindowPanels, rfc3339};
use super::traffic::{RouteTotals, Totals, Traffic};

#[derive(Debug, Default)]
struct Health {
    last_ok: Option<UnixSeconds>,
    error: Option<String>,
}

/// Everything the sources have said, ready to be turned into snapshots.
#[derive(Debug)]
pub struct Board {
    cfg: MonitorConfig,
    started: UnixSeconds,
    traffic: Traffic,
    traffic_source: Option<&'static str>,
    denials: VecDeque<(UnixSeconds, Option<String>)>,
    canary: VecDeque<(UnixSeconds, u32, Vec<String>)>,
    queries: HashMap<String, (UnixSeconds, f64)>,
    health: BTreeMap<String, Health>,
    baseline: Option<Baseline>,
}

impl Board {
    /// An empty board; the watch began at `started`.
    pub fn new(cfg: MonitorConfig, started: UnixSeconds) -> Self {
        let keep = cfg.windows.last().map_or(900.0, |w| w.as_secs_f64()) + 60.0;
        Board {
            traffic: Traffic::new(&cfg.mapping, &cfg.add_to_invoice_route, keep),
            cfg,
            started,
            traffic_source: None,
            denials: VecDeque::new(),
            canary: VecDeque::new(),
            queries: HashMap::new(),
            health: BTreeMap::new(),
            baseline: None,
        }
    }

    /// Show `baseline` (measured by an earlier step) beside each panel instead of what the app
    /// counted before the watch began.
    pub fn set_baseline(&mut self, baseline: Baseline) {
        self.baseline = Some(baseline);
    }

    /// The configuration.
    pub fn config(&self) -> &MonitorConfig {
        &self.cfg
    }

    /// Apply one message from a source.
    pub fn apply(&mut self, sample: Sample) {
        let keep_from = self.keep_from();
        match sample {
            Sample::Counters { source, at, series } => {
                self.traffic_source = Some(source);
                self.traffic.ingest(at, &series);
                self.ok(source, at);
            }
            Sample::Denial { at, table } => {
                self.denials.push_back((at, table));
                while self.denials.front().is_some_and(|d| d.0 < keep_from) {
                    self.denials.pop_front();
                }
            }
            Sample::Query { id, at, value } => {
                self.ok(&format!("sql:{id}"), at);
                self.queries.insert(id, (at, value));
            }
            Sample::Canary {
                at,
                probes,
                failures,
            } => {
                self.ok("canary", at);
                self.canary.push_back((at, probes, failures));
                while self.canary.front().is_some_and(|c| c.0 < keep_from) {
                    self.canary.pop_front();
                }
            }
            Sample::Health { source, at, error } => match error {
                None => self.ok(&source, at),
                Some(e) => self.health.entry(source).or_default().error = Some(e),
            },
        }
    }

    fn keep_from(&self) -> UnixSeconds {
        let longest = self.cfg.windows.last().map_or(900.0, |w| w.as_secs_f64());
        super::sample::now() - longest - self.cfg.canary.every.as_secs_f64()
    }

    fn ok(&mut self, source: &str, at: UnixSeconds) {
        let h = self.health.entry(source.to_string()).or_default();
        h.last_ok = Some(h.last_ok.map_or(at, |t: f64| t.max(at)));
        h.error = None;
    }

    /// The window in force `elapsed` seconds into the watch: the first during `fine_for`,
    /// then the second.
    pub fn auto_window(&self, elapsed: f64) -> f64 {
        let w = &self.cfg.windows;
        let i = usize::from(elapsed >= self.cfg.fine_for.as_secs_f64() && w.len() > 1);
        w[i].as_secs_f64()
    }

    /// The snapshot at `now`.
    pub fn snapshot(&self, now: UnixSeconds) -> Snapshot {
        let elapsed = (now - self.started).max(0.0);
        let current = self.auto_window(elapsed);
        let other_windows = self
            .cfg
            .windows
            .iter()
            .map(|w| w.as_secs_f64())
            .filter(|w| *w != current)
            .map(|w| WindowPanels {
                window_seconds: w as u64,
                panels: self.panels(now, w),
            })
            .collect();
        let sources = self
            .health
            .iter()
            .map(|(name, h)| SourceStatus {
                name: name.clone(),
                ok: h.error.is_none(),
                age_seconds: h.last_ok.map(|t| (now - t).max(0.0) as u64),
                error: h.error.clone(),
            })
            .collect();
        Snapshot {
            at: rfc3339(now),
            window_seconds: current as u64,
            panels: self.panels(now, current),
            elapsed_seconds: elapsed as u64,
            sources,
            other_windows,
            verdict: None,
            reasons: Vec::new(),
        }
    }

    fn staleness(&self, source: Option<&str>, now: UnixSeconds) -> Option<u64> {
        let limit = 2.0 * self.cfg.refresh_later.as_secs_f64();
        let h = self.health.get(source?)?;
        let age = now - h.last_ok.unwrap_or(self.started);
        (age > limit || h.error.is_some()).then_some(age.max(0.0) as u64)
    }

    /// Every panel over `window` seconds ending at `now`.
    pub fn panels(&self, now: UnixSeconds, window: f64) -> Vec<Panel> {
        let stale = self.staleness(self.traffic_source, now);
        let fresh = stale.is_none_or(|s| (s as f64) < window);
        let traffic = self.traffic.window(window).filter(|_| fresh);
        let before = self.traffic.before.as_ref();
        let mut out = Vec::new();
        for &(kind, ref th) in &self.cfg.panels {
            let id = kind.id();
            let mut p = match kind {
                PanelKind::Http5xx => {
                    let pick = |r: &RouteTotals| (r.s5xx, r.total);
                    let mut p = ratio_panel(id, th, traffic.as_ref(), before, pick);
                    judge_routes(&mut p, th, traffic.as_ref(), pick);
                    p
                }
                PanelKind::Http4xx => {
                    let pick = |r: &RouteTotals| (r.s4xx, r.total);
                    let mut p = ratio_panel(id, th, traffic.as_ref(), before, pick);
                    judge_routes(&mut p, th, traffic.as_ref(), pick);
                    p
                }
                PanelKind::Catalog304 => {
                    let route = self.cfg.catalog_route.as_str();
                    let pick = |t: &Totals| t.routes.get(route).copied().unwrap_or_default();
                    let mut p = ratio_panel(
                        id,
                        th,
                        traffic
                            .as_ref()
                            .map(|(t, s)| (one_route(pick(t)), *s))
                            .as_ref(),
                        before.map(|b| one_route(pick(b))).as_ref(),
                        |r| (r.get304, r.get),
                    );
                    p.by_route = None;
                    p.rps_by_route = None;
                    p
                }
                PanelKind::RlsDenials => self.rls_panel(id, th, traffic.as_ref(), now, window),
                PanelKind::AddToInvoiceP95 => p95_panel(id, th, traffic.as_ref(), before),
                PanelKind::IsolationCanary => self.canary_panel(id, th, now, window),
            };
            if kind != PanelKind::IsolationCanary {
                p.stale_seconds = stale;
            }
            self.label_baseline(&mut p);
            out.push(p);
        }
        for q in &self.cfg.queries {
            let source = format!("sql:{}", q.id);
            let stale = self.staleness(Some(&source), now);
            let value = self
                .queries
                .get(&q.id)
                .filter(|(at, _)| now - at <= window)
                .map(|(_, v)| *v);
            let mut p = judged(&q.id, &q.thresholds, value);
            p.stale_seconds = stale;
            self.label_baseline(&mut p);
            out.push(p);
        }
        out
    }

    /// The baseline step's value when one ran, and over which window the baseline is.
    fn label_baseline(&self, p: &mut Panel) {
        match &self.baseline {
            Some(b) => {
                p.baseline = b.value(&p.id);
                p.baseline_over = Some(b.over());
            }
            None if p.baseline.is_some() => {
                p.baseline_over = Some("everything the app counted before the watch".into());
            }
            None => {}
        }
    }

    fn rls_panel(
        &self,
        id: &str,
        th: &Thresholds,
        traffic: Option<&(Totals, f64)>,
        now: UnixSeconds,
        window: f64,
    ) -> Panel {
        let log_on = self.cfg.sources.pg_log.is_some()
            && self.health.get("pg_log").is_some_and(|h| h.error.is_none());
        let in_window: Vec<&(UnixSeconds, Option<String>)> =
            self.denials.iter().filter(|d| d.0 > now - window).collect();
        let log_count = log_on.then_some(in_window.len() as f64);
        let app = traffic.map(|(t, span)| {
            let latest = t
                .rls
                .iter()
                .filter(|(_, n)| **n > 0.0)
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(t, _)| t.clone());
            (t.rls.values().sum::<f64>(), *span, latest)
        });
        let count = match (log_count, &app) {
            (None, None) => None,
            (l, a) => Some(l.unwrap_or(0.0).max(a.as_ref().map_or(0.0, |a| a.0))),
        };
        let mut p = judged(id, th, count);
        let span = app.as_ref().map_or(window, |a| a.1.min(window));
        p.requests = count;
        p.rate = count.map(|c| c / span.max(1.0));
        let table = in_window
            .iter()
            .rev()
            .find_map(|d| d.1.clone())
            .or_else(|| app.and_then(|a| a.2));
        p.detail = match (count, table) {
            (None, _) => Some("no source: no traffic source answered and PG_LOG is not set".into()),
            (Some(_), Some(t)) => Some(format!("latest table: {t}")),
            (Some(_), None) => None,
        };
        p
    }

    fn canary_panel(&self, id: &str, th: &Thresholds, now: UnixSeconds, window: f64) -> Panel {
        let span = window.max(self.cfg.canary.every.as_secs_f64() + self.cfg.refresh.as_secs_f64());
        let runs: Vec<_> = self.canary.iter().filter(|c| c.0 > now - span).collect();
        let failures: Vec<&String> = runs.iter().flat_map(|c| &c.2).collect();
        let value = (!runs.is_empty()).then_some(failures.len() as f64);
        let mut p = judged(id, th, value);
        p.requests = Some(runs.iter().map(|c| f64::from(c.1)).sum());
        p.detail = if let Some(f) = failures.last() {
            Some((*f).clone())
        } else if runs.is_empty() {
            self.health
                .get("canary")
                .and_then(|h| h.error.clone())
                .or_else(|| Some("no probe has run in the window yet".into()))
        } else {
            None
        };
        if failures.is_empty() && value.is_some() {
            p.detail = Some(format!("{} probes passed", p.requests.unwrap_or(0.0)));
        }
        p
    }
}

fn one_route(r: RouteTotals) -> Totals {
    let mut t = Totals::default();
    t.routes.insert(String::new(), r);
    t
}

/// A panel whose value is already known (or absent), judged against its thresholds.
pub fn judged(id: &str, th: &Thresholds, value: Option<f64>) -> Panel {
    Panel {
        id: id.to_string(),
        state: state_of(th, value),
        value,
        by_route: None,
        rps_by_route: None,
        baseline: None,
        baseline_over: None,
        warn: th.warn,
        crit: th.crit,
        requests: None,
        rate: None,
        stale_seconds: None,
        detail: None,
        worst_route: None,
    }
}

/// The state of `value` against `th`.
pub fn state_of(th: &Thresholds, value: Option<f64>) -> State {
    match value {
        None => State::Nodata,
        Some(v) if th.crit.is_some_and(|c| th.beyond(v, c)) => State::Crit,
        Some(v) if th.warn.is_some_and(|w| th.beyond(v, w)) => State::Warn,
        Some(_) => State::Ok,
    }
}

fn ratio(th: &Thresholds, (part, whole): (f64, f64)) -> Option<f64> {
    (whole >= th.min_requests.max(1) as f64).then(|| part / whole)
}

fn ratio_panel(
    id: &str,
    th: &Thresholds,
    window: Option<&(Totals, f64)>,
    before: Option<&Totals>,
    pick: impl Fn(&RouteTotals) -> (f64, f64),
) -> Panel {
    let Some((t, span)) = window else {
        let mut p = judged(id, th, None);
        p.detail = Some("no traffic source has answered twice yet".into());
        p.baseline = before.and_then(|b| ratio(th, pick(&b.all_routes())));
        return p;
    };
    let all = pick(&t.all_routes());
    let mut p = judged(id, th, ratio(th, all));
    p.baseline = before.and_then(|b| ratio(th, pick(&b.all_routes())));
    p.requests = Some(all.1);
    p.rate = Some(all.1 / span);
    if p.value.is_none() {
        p.detail = Some(format!(
            "too few requests: {} in {:.0}s, need {}",
            all.1, span, th.min_requests
        ));
    }
    p.by_route = Some(
        t.routes
            .iter()
            .filter(|(_, r)| r.total > 0.0)
            .map(|(route, r)| (route.clone(), ratio(th, pick(r))))
            .collect(),
    );
    p.rps_by_route = Some(
        t.routes
            .iter()
            .filter(|(_, r)| r.total > 0.0)
            .map(|(route, r)| (route.clone(), pick(r).1 / span))
            .collect(),
    );
    p
}

/// Route labels of requests that matched no route of the app (prometheus_flask_exporter's
/// `url_rule="None"` for a 404 on an unknown path, a missing label): scanners and typos, judged
/// only in the all-routes ratio.
const NOT_A_ROUTE: &[&str] = &["None", "(none)", ""];

/// A ratio panel judged per route too: a route with at least `min_requests` requests whose own
/// ratio is beyond a threshold makes the panel warn or crit even when all routes together are
/// fine; the detail names the route.
fn judge_routes(
    p: &mut Panel,
    th: &Thresholds,
    window: Option<&(Totals, f64)>,
    pick: impl Fn(&RouteTotals) -> (f64, f64),
) {
    let Some((t, _)) = window else {
        return;
    };
    let worst = t
        .routes
        .iter()
        .filter(|(route, _)| !NOT_A_ROUTE.contains(&route.as_str()))
        .filter_map(|(route, r)| {
            let (part, whole) = pick(r);
            let value = ratio(th, (part, whole))?;
            Some((state_of(th, Some(value)), value, whole, route))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let Some((state, value, requests, route)) = worst else {
        return;
    };
    if state <= p.state {
        return;
    }
    let (word, limit) = if state == super::snapshot::State::Crit {
        ("crit", th.crit)
    } else {
        ("warn", th.warn)
    };
    p.state = state;
    p.worst_route = Some(route.clone());
    p.detail = Some(format!(
        "route {route}: {} over {requests:.0} requests ({word} {}); all routes {}",
        super::verdict::fmt_value(Some(value)),
        super::verdict::fmt_value(limit),
        super::verdict::fmt_value(p.value),
    ));
}

fn p95_panel(
    id: &str,
    th: &Thresholds,
    window: Option<&(Totals, f64)>,
    before: Option<&Totals>,
) -> Panel {
    let enough = |t: &Totals| {
        let n = t.invoice_buckets.last().map_or(0.0, |b| b.1);
        (n >= th.min_requests.max(1) as f64).then(|| t.invoice_quantile(0.95))
    };
    let value = window.and_then(|(t, _)| enough(t).flatten());
    let mut p = judged(id, th, value);
    p.baseline = before.and_then(|b| enough(b).flatten());
    if window.is_none() {
        p.detail = Some("no traffic source has answered twice yet".into());
    }
    if let Some((t, span)) = window {
        let n = t.invoice_buckets.last().map_or(0.0, |b| b.1);
        p.requests = Some(n);
        p.rate = Some(n / span);
        if value.is_none() {
            p.detail = Some(format!(
                "too few add-to-invoice requests: {n}, need {}",
                th.min_requests
            ));
        }
    }
    p
}
