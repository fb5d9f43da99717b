//! A reader over a spanned TOML table that collects every problem with its position instead of
//! stopping at the first, and reports keys nobody asked for.

use std::cell::RefCell;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Collected problems: byte range in the source and message.
#[derive(Debug, Default)]
pub struct Problems(RefCell<Vec<(Range<usize>, String)>>);

impl Problems {
    /// Record a problem at `span`.
    pub fn add(&self, span: Range<usize>, message: impl Into<String>) {
        self.0.borrow_mut().push((span, message.into()));
    }

    /// Take them all.
    pub fn into_inner(self) -> Vec<(Range<usize>, String)> {
        self.0.into_inner()
    }
}

/// One table being read. Call [`Table::finish`] when done to report unknown keys.
pub struct Table<'a> {
    problems: &'a Problems,
    map: &'a DeTable<'a>,
    span: Range<usize>,
    what: String,
    read: RefCell<Vec<&'static str>>,
}

impl<'a> Table<'a> {
    /// Start reading `map`, which is described in messages as `what` (e.g. "[[steps]] `snapshot`").
    pub fn new(
        problems: &'a Problems,
        map: &'a DeTable<'a>,
        span: Range<usize>,
        what: String,
    ) -> Self {
        Table {
            problems,
            map,
            span,
            what,
            read: RefCell::new(Vec::new()),
        }
    }

    /// Where the table is.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// How messages name the table.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Change how messages name the table (once its id is known).
    pub fn rename(&mut self, what: String) {
        self.what = what;
    }

    /// The collector, for problems found by the caller.
    pub fn problems(&self) -> &'a Problems {
        self.problems
    }

    fn get(&self, key: &'static str) -> Option<&'a Spanned<DeValue<'a>>> {
        self.read.borrow_mut().push(key);
        self.map.get(key)
    }

    fn wrong_type(&self, key: &str, value: &Spanned<DeValue<'_>>, expected: &str) {
        self.problems.add(
            value.span(),
            format!(
                "`{key}` in {} must be {expected}, not {}",
                self.what,
                value.get_ref().type_str()
            ),
        );
    }

    /// Report a missing required key.
    pub fn missing(&self, key: &str, example: &str) {
        self.problems.add(
            self.span.clone(),
            format!(
                "{} is missing `{key}`; add e.g. `{key} = {example}`",
                self.what
            ),
        );
    }

    /// Whether the key is present (marks it as read).
    pub fn has(&self, key: &'static str) -> bool {
        self.get(key).is_some()
    }

    /// An optional string.
    pub fn str(&self, key: &'static str) -> Option<Spanned<String>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(Spanned::new(value.span(), s.to_string())),
            _ => {
                self.wrong_type(key, value, "a string");
                None
            }
        }
    }

    /// A required string; reports it missing with `example`.
    pub fn req_str(&self, key: &'static str, example: &str) -> Option<Spanned<String>> {
        if !self.map.contains_key(key) {
            self.read.borrow_mut().push(key);
            self.missing(key, example);
            return None;
        }
        self.str(key)
    }

    /// An optional boolean.
    pub fn bool(&self, key: &'static str) -> Option<bool> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(key, value, "true or false");
                None
            }
        }
    }

    /// An optional non-negative integer.
    pub fn uint(&self, key: &'static str) -> Option<u64> {
        let value = self.get(key)?;
        let parsed = match value.get_ref() {
            DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(key, value, "a whole number ≥ 0");
        }
        parsed
    }

    /// An optional duration written like `"30s"`, `"5m"`, `"1h 30m"`.
    pub fn duration(&self, key: &'static str) -> Option<Duration> {
        let text = self.str(key)?;
        match humantime::parse_duration(text.get_ref()) {
            Ok(d) => Some(d),
            Err(_) => {
                self.problems.add(
                    text.span(),
                    format!(
                        "`{key}` in {} is \"{}\", not a duration; write one such as \"30s\", \"5m\" or \"1h 30m\"",
                        self.what,
                        text.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// An optional list of strings (a single string counts as a list of one).
    pub fn str_list(&self, key: &'static str) -> Vec<Spanned<String>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        match value.get_ref() {
            DeValue::String(s) => vec![Spanned::new(value.span(), s.to_string())],
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| match item.get_ref() {
                    DeValue::String(s) => Some(Spanned::new(item.span(), s.to_string())),
                    _ => {
                        self.wrong_type(key, item, "a list of strings");
                        None
                    }
                })
                .collect(),
            _ => {
                self.wrong_type(key, value, "a list of strings");
                Vec::new()
            }
        }
    }

    /// An optional sub-table.
    pub fn table(&self, key: &'static str) -> Option<Table<'a>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Table(t) => Some(Table::new(
                self.problems,
                t,
                value.span(),
                format!("`{key}` of {}", self.what),
            )),
            _ => {
                self.wrong_type(key, value, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[key]]`), each described as `what`.
    pub fn tables(&self, key: &'static str, what: &str) -> Vec<Table<'a>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, value, &format!("an array of tables (`[[{key}]]`)"));
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| match item.get_ref() {
                DeValue::Table(t) => {
                    Some(Table::new(self.problems, t, item.span(), what.to_string()))
                }
                _ => {
                    self.wrong_type(key, item, "a table");
                    None
                }
            })
            .collect()
    }

    /// Every entry as (key, value) for tables whose keys are data (`[vars]`, header maps).
    pub fn entries(&self) -> Vec<(Spanned<String>, &'a Spanned<DeValue<'a>>)> {
        self.map
            .iter()
            .map(|(k, v)| (Spanned::new(k.span(), k.get_ref().to_string()), v))
            .collect()
    }

    /// A `{ name = "value" }` map of strings.
    pub fn string_map(&self, key: &'static str) -> Vec<(String, String)> {
        let Some(table) = self.table(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, value) in table.entries() {
            match value.get_ref() {
                DeValue::String(s) => out.push((name.into_inner(), s.to_string())),
                _ => self.wrong_type(name.get_ref(), value, "a string"),
            }
        }
        out
    }

    /// Report every key that was never read, naming those that were expected.
    pub fn finish(self, allowed: &[&str]) {
        let read = self.read.borrow();
        for (key, _) in self.map.iter() {
            let name = key.get_ref().as_ref();
            if read.contains(&name) || allowed.contains(&name) {
                continue;
            }
            let mut expected: Vec<&str> = read
                .iter()
                .copied()
                .chain(allowed.iter().copied())
                .collect();
            expected.sort_unstable();
            expected.dedup();
            let hint = suggestion(name, &expected)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            self.problems.add(
                key.span(),
                format!(
                    "unknown key `{name}` in {}; {hint}expected one of: {}",
                    self.what,
                    expected.join(", ")
                ),
            );
        }
    }
}

/// The closest of `candidates` to `word`, if close enough to be a typo.
pub fn suggestion<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
