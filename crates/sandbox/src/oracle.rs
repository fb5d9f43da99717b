//! The oracle in the traffic: every answer the sandbox's traffic gets is judged as a customer
//! would judge it. Right answers: the tenant's own rows and never another tenant's, never an empty
//! catalog for a tenant that has one, the catalog shape the flags and the serving build call for,
//! 201 for an item added to one's own invoice and 404 for someone else's, no 5xx, an answer within
//! the client's timeout. Everything else is a [`WrongAnswer`], kept with when it happened so a
//! rehearsal can say which step was running when wrong answers began.
//!
//! ```text
//!   traffic ──(request, answer)──► Oracle::judge ──► Ledger { checked, wrong[] }
//!   flag watch (feature_flags, every 200 ms) ──► expected catalog shape ◄── serving build
//!   rehearse ──► Oracle::drain() every 500 ms ──► the engine's journal and the console
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::app::build::{Build, ServingBuild};

/// After a flag flip or a deploy, both catalog shapes are right for this long (the app caches
/// its flags for a second; requests in flight were answered by the state before).
const SETTLE: Duration = Duration::from_secs(3);
/// How often the flag watch reads `feature_flags`.
const FLAG_POLL: Duration = Duration::from_millis(200);
/// At most this many wrong answers are kept with their details; the rest are counted.
const KEEP: usize = 2_000;
/// A catalog in the shape the flags called for a moment ago is judged only this long after it
/// came, once the flag watch has read the flags again: the app may see a flip before the watch.
const RESOLVE_AFTER: Duration = Duration::from_millis(500);

/// One wrong answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongAnswer {
    /// When the answer came.
    pub at: SystemTime,
    /// What kind of wrong.
    pub kind: WrongKind,
    /// The request, e.g. `GET /api/admin/service-operations as 1111…`.
    pub request: String,
    /// What came back, shortened.
    pub detail: String,
}

impl std::fmt::Display for WrongAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.kind, self.request, self.detail)
    }
}

/// The kinds of wrong answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WrongKind {
    /// No rows (or "not found") for a tenant that has them: the outage that answers `200 []`.
    Empty,
    /// Another tenant's rows, or a write into another tenant's invoice.
    OtherTenant,
    /// Not a catalog shape at all (not JSON, a v2 array without the v2 fields).
    Shape,
    /// The other catalog shape than the flags and the serving build call for.
    FlagShape,
    /// A 5xx.
    ServerError,
    /// A status a right answer never has (e.g. 403 on one's own invoice).
    Status,
    /// No answer within the client's timeout, or the connection failed.
    NoAnswer,
}

impl WrongKind {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            WrongKind::Empty => "empty answer",
            WrongKind::OtherTenant => "another tenant's data",
            WrongKind::Shape => "wrong catalog shape",
            WrongKind::FlagShape => "catalog shape not the flags'",
            WrongKind::ServerError => "server error",
            WrongKind::Status => "wrong status",
            WrongKind::NoAnswer => "no answer",
        }
    }
}

impl std::fmt::Display for WrongKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a request was for, so its answer can be judged.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// The catalog of a tenant whose operation ids are these.
    Catalog { own: &'a HashSet<i64> },
    /// An item added to the tenant's own invoice: 201.
    OwnWrite,
    /// An item added to another tenant's invoice: 404, never a 2xx.
    ForeignWrite,
    /// A path that does not exist: a 4xx.
    NotFound,
    /// `/healthz`: 200.
    Health,
}

/// What came back for a request.
pub enum Answer<'a> {
    /// A status and body.
    Http { status: u16, body: &'a [u8] },
    /// No answer: the error, as text.
    Failed(String),
}

#[derive(Debug, Default)]
struct Ledger {
    checked: u64,
    wrong_total: u64,
    kept: Vec<WrongAnswer>,
    /// How many of `kept` were handed out by [`Oracle::drain`].
    drained: usize,
    /// Wrong answers counted but not kept, not yet drained.
    undrained_overflow: u64,
    /// `catalog_api_v2` as last read, and when it changed (the last few times).
    catalog_v2: Option<bool>,
    changes: std::collections::VecDeque<Instant>,
    build_seen: Option<(Build, Instant)>,
    /// Shape mismatches waiting for the flag watch's next reads ([`RESOLVE_AFTER`]).
    pending: Vec<(Instant, WrongAnswer)>,
}

impl Ledger {
    fn keep(&mut self, wrong: WrongAnswer) {
        tracing::warn!(%wrong, "sandbox oracle: wrong answer");
        self.wrong_total += 1;
        if self.kept.len() < KEEP {
            self.kept.push(wrong);
        } else {
            self.undrained_overflow += 1;
        }
    }

    /// Judge the shape mismatches old enough: wrong unless the flags changed around them.
    fn resolve(&mut self) {
        let now = Instant::now();
        let (ripe, young): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(at, _)| now.duration_since(*at) >= RESOLVE_AFTER);
        self.pending = young;
        for (at, wrong) in ripe {
            let near_a_flip = self.changes.iter().any(|c| {
                let gap = if *c > at { *c - at } else { at - *c };
                gap < SETTLE
            });
            if !near_a_flip {
                self.keep(wrong);
            }
        }
    }
}

/// New wrong answers since the last [`Oracle::drain`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    /// How many.
    pub count: u64,
    /// Those kept with their details (the first [`KEEP`] of the run).
    pub examples: Vec<WrongAnswer>,
}

/// The judge of every answer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Oracle {
    ledger: Arc<Mutex<Ledger>>,
    build: ServingBuild,
}

impl Oracle {
    /// An oracle for an app serving `build`.
    pub fn new(build: ServingBuild) -> Self {
        Oracle {
            ledger: Arc::default(),
            build,
        }
    }

    /// Answers judged so far.
    pub fn checked(&self) -> u64 {
        self.with(|l| l.checked)
    }

    /// Wrong answers so far.
    pub fn wrong_total(&self) -> u64 {
        self.with(|l| {
            l.resolve();
            l.wrong_total
        })
    }

    /// Every wrong answer kept so far (at most [`KEEP`]).
    pub fn wrong_answers(&self) -> Vec<WrongAnswer> {
        self.with(|l| {
            l.resolve();
            l.kept.clone()
        })
    }

    /// The wrong answers since the last call.
    pub fn drain(&self) -> Drained {
        self.with(|l| {
            l.resolve();
            let examples = l.kept[l.drained..].to_vec();
            l.drained = l.kept.len();
            let count = examples.len() as u64 + std::mem::take(&mut l.undrained_overflow);
            Drained { count, examples }
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> T {
        match self.ledger.lock() {
            Ok(mut ledger) => f(&mut ledger),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Judge one answer to `request` (described for people) that expected `expect`.
    pub fn judge(&self, request: &str, expect: Expect<'_>, answer: Answer<'_>) {
        let build = self.build.get();
        let verdict = self.with(|l| {
            l.checked += 1;
            let now = Instant::now();
            match l.build_seen {
                Some((seen, _)) if seen == build => {}
                _ => l.build_seen = Some((build, now)),
            }
            let settling = [l.changes.back().copied(), l.build_seen.map(|(_, at)| at)]
                .into_iter()
                .flatten()
                .any(|at| now.duration_since(at) < SETTLE);
            let v2 = build == Build::Phase2 && l.catalog_v2 == Some(true);
            let shape = if settling || l.catalog_v2.is_none() {
                Shape::Either
            } else if v2 {
                Shape::V2
            } else {
                Shape::V1
            };
            verdict(expect, &answer, shape)
        });
        if let Some((kind, detail)) = verdict {
            let wrong = WrongAnswer {
                at: SystemTime::now(),
                kind,
                request: request.to_string(),
                detail,
            };
            self.with(|l| match kind {
                WrongKind::FlagShape => l.pending.push((Instant::now(), wrong)),
                _ => l.keep(wrong),
            });
        }
    }

    /// Record a read of `catalog_api_v2`.
    fn saw_flag(&self, on: bool) {
        self.with(|l| {
            if l.catalog_v2.is_some_and(|was| was != on) {
                if l.changes.len() == 8 {
                    l.changes.pop_front();
                }
                l.changes.push_back(Instant::now());
            }
            l.catalog_v2 = Some(on);
        });
    }

    /// Follow `catalog_api_v2` in `feature_flags` (as the superuser at `url`) until `cancel`,
    /// reconnecting when the database goes away (a drill restores it).
    pub(super) fn watch_flags(&self, url: String, cancel: CancellationToken) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut session = None;
            let mut ticks = tokio::time::interval(FLAG_POLL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                if session.is_none() {
                    session = golive_core::pg::connect(&url, super::database::ADMIN_APP_NAME)
                        .await
                        .ok();
                }
                let Some(s) = &session else { continue };
                let read = s
                    .client
                    .query_opt(
                        "SELECT enabled FROM feature_flags WHERE name = 'catalog_api_v2'",
                        &[],
                    )
                    .await;
                match read {
                    Ok(row) => this.saw_flag(row.is_some_and(|r| r.get::<_, bool>(0))),
                    Err(_) => session = None,
                }
            }
        })
    }
}

/// The catalog shape a right answer has now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `{"service_operations": [...]}`.
    V1,
    /// A root array with the v2 fields.
    V2,
    /// Either (the state is changing).
    Either,
}

/// `None` for a right answer, else what is wrong.
fn verdict(expect: Expect<'_>, answer: &Answer<'_>, shape: Shape) -> Option<(WrongKind, String)> {
    let (status, body) = match answer {
        Answer::Failed(reason) => return Some((WrongKind::NoAnswer, reason.clone())),
        Answer::Http { status, body } => (*status, *body),
    };
    let said = || format!("{status} {}", short(body));
    if status >= 500 {
        return Some((WrongKind::ServerError, said()));
    }
    match expect {
        Expect::Catalog { own } => match status {
            304 => None,
            200 => catalog(own, body, shape),
            _ => Some((WrongKind::Status, said())),
        },
        Expect::OwnWrite => match status {
            201 => None,
            404 => Some((WrongKind::Empty, said())),
            _ => Some((WrongKind::Status, said())),
        },
        Expect::ForeignWrite => match status {
            200..=299 => Some((WrongKind::OtherTenant, said())),
            _ => None,
        },
        Expect::NotFound => (!(400..500).contains(&status)).then(|| (WrongKind::Status, said())),
        Expect::Health => (status != 200).then(|| (WrongKind::Status, said())),
    }
}

/// Judge a catalog body.
fn catalog(own: &HashSet<i64>, body: &[u8], shape: Shape) -> Option<(WrongKind, String)> {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Some((WrongKind::Shape, format!("200 not JSON: {}", short(body))));
    };
    let (items, got) = match &json {
        Value::Array(items) => (items, Shape::V2),
        Value::Object(map) => match map.get("service_operations") {
            Some(Value::Array(items)) => (items, Shape::V1),
            _ => return Some((WrongKind::Shape, format!("200 {}", short(body)))),
        },
        _ => return Some((WrongKind::Shape, format!("200 {}", short(body)))),
    };
    if items.is_empty() {
        return Some((
            WrongKind::Empty,
            format!(
                "200 {} for a tenant with {} operations",
                short(body),
                own.len()
            ),
        ));
    }
    let foreign: Vec<i64> = items
        .iter()
        .filter_map(|item| item.get("id").and_then(Value::as_i64))
        .filter(|id| !own.contains(id))
        .collect();
    if !foreign.is_empty() {
        return Some((
            WrongKind::OtherTenant,
            format!("200 with operations {foreign:?}, which are not this tenant's"),
        ));
    }
    if shape != Shape::Either && shape != got {
        let want = if shape == Shape::V2 {
            "the v2 root array"
        } else {
            "the v1 {\"service_operations\": [...]}"
        };
        return Some((
            WrongKind::FlagShape,
            format!("200 {}, but the flags call for {want}", short(body)),
        ));
    }
    let v2_fields = ["internal_code", "subcategory", "display_order"];
    if got == Shape::V2
        && items
            .iter()
            .any(|item| v2_fields.iter().any(|k| item.get(k).is_none()))
    {
        return Some((
            WrongKind::Shape,
            format!("200 v2 array without {v2_fields:?}: {}", short(body)),
        ));
    }
    None
}

/// The first 120 characters of a body, on one line.
fn short(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.chars().filter(|c| *c != '\n').take(120).collect();
    if text.chars().count() > 120 {
        format!("{line}…")
    } else {
        line
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn own() -> HashSet<i64> {
        [1, 2, 3].into_iter().collect()
    }

    fn http(status: u16, body: &str) -> Answer<'_> {
        Answer::Http {
            status,
            body: body.as_bytes(),
        }
    }

    fn kind(expect: Expect<'_>, answer: Answer<'_>, shape: Shape) -> Option<WrongKind> {
        verdict(expect, &answer, shape).map(|(k, _)| k)
    }

    #[test]
    fn the_catalog_is_the_tenants_own_and_never_empty() {
        let own = own();
        let cat = Expect::Catalog { own: &own };
        let v1 = r#"{"service_operations": [{"id": 1}, {"id": 2}]}"#;
        assert_eq!(kind(cat, http(200, v1), Shape::V1), None);
        assert_eq!(kind(cat, http(304, ""), Shape::V1), None);
        assert_eq!(
            kind(cat, http(200, r#"{"service_operations": []}"#), Shape::V1),
            Some(WrongKind::Empty)
        );
        assert_eq!(
            kind(cat, http(200, "[]"), Shape::Either),
            Some(WrongKind::Empty)
        );
        assert_eq!(
            kind(
                cat,
                http(200, r#"{"service_operations": [{"id": 9}]}"#),
                Shape::V1
            ),
            Some(WrongKind::OtherTenant)
        );
        assert_eq!(
            kind(cat, http(500, "boom"), Shape::V1),
            Some(WrongKind::ServerError)
        );
        assert_eq!(
            kind(cat, Answer::Failed("timed out".into()), Shape::V1),
            Some(WrongKind::NoAnswer)
        );
    }

    #[test]
    fn the_shape_follows_the_flags_unless_they_are_changing() {
        let own = own();
        let cat = Expect::Catalog { own: &own };
        let v1 = r#"{"service_operations": [{"id": 1}]}"#;
        let v2 =
            r#"[{"id": 1, "internal_code": "OP-1", "subcategory": null, "display_order": null}]"#;
        assert_eq!(
            kind(cat, http(200, v1), Shape::V2),
            Some(WrongKind::FlagShape)
        );
        assert_eq!(
            kind(cat, http(200, v2), Shape::V1),
            Some(WrongKind::FlagShape)
        );
        assert_eq!(kind(cat, http(200, v2), Shape::V2), None);
        assert_eq!(kind(cat, http(200, v1), Shape::Either), None);
        assert_eq!(
            kind(cat, http(200, r#"[{"id": 1}]"#), Shape::V2),
            Some(WrongKind::Shape),
            "a v2 array without the v2 fields"
        );
    }

    #[test]
    fn writes_land_on_ones_own_invoice_only() {
        assert_eq!(kind(Expect::OwnWrite, http(201, "{}"), Shape::V1), None);
        assert_eq!(
            kind(Expect::OwnWrite, http(404, "not found"), Shape::V1),
            Some(WrongKind::Empty)
        );
        assert_eq!(
            kind(Expect::OwnWrite, http(403, "rls"), Shape::V1),
            Some(WrongKind::Status)
        );
        assert_eq!(kind(Expect::ForeignWrite, http(404, ""), Shape::V1), None);
        assert_eq!(
            kind(Expect::ForeignWrite, http(201, "{}"), Shape::V1),
            Some(WrongKind::OtherTenant)
        );
        assert_eq!(kind(Expect::NotFound, http(404, ""), Shape::V1), None);
        assert_eq!(kind(Expect::Health, http(200, ""), Shape::V1), None);
        assert_eq!(
            kind(Expect::Health, http(503, ""), Shape::V1),
            Some(WrongKind::ServerError)
        );
    }

    #[test]
    fn a_shape_mismatch_next_to_a_flag_flip_is_no_wrong_answer() {
        let dir = std::env::temp_dir().join(format!("golive-oracle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let build = ServingBuild::new(dir.join("build"), Build::Phase2).unwrap();
        let oracle = Oracle::new(build);
        let own = own();
        let v1 = r#"{"service_operations": [{"id": 1}]}"#;
        let judge = |o: &Oracle| {
            o.judge("GET", Expect::Catalog { own: &own }, http(200, v1));
        };
        oracle.saw_flag(true);
        // Long after the flag went on, the app still serves v1: wrong, once the watch had time.
        oracle.with(|l| l.build_seen = Some((Build::Phase2, Instant::now() - SETTLE * 2)));
        judge(&oracle);
        assert_eq!(
            oracle.wrong_total(),
            0,
            "pending until the watch reads again"
        );
        std::thread::sleep(RESOLVE_AFTER);
        assert_eq!(oracle.wrong_total(), 1);
        // The app sees the flag go off before the watch does: the mismatch resolves as right.
        oracle.with(|l| {
            l.changes.clear();
            l.build_seen = Some((Build::Phase2, Instant::now() - SETTLE * 2));
        });
        judge(&oracle);
        oracle.saw_flag(false);
        std::thread::sleep(RESOLVE_AFTER);
        assert_eq!(oracle.wrong_total(), 1, "the flip explains it");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
