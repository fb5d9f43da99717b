//! No input makes golive panic (issue 7): thousands of deterministic random cases for the runbook
//! parser, the destructive-SQL guard (SQL and shell) and the redactor. A small PRNG, fixed seeds:
//! a failure names its case, and re-running reproduces it. Found panics stay as regression cases
//! at the end of the file.
#![allow(clippy::unwrap_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use golive::guard::{shell_hazards, sql_hazards};
use golive::redact::{Redactor, url_passwords};
use golive::runbook::LoadError;

/// SplitMix64: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const UNICODE: &[&str] = &[
    "é", "ß", "𝄞", "日本", "\u{200b}", "\u{feff}", "\u{0301}", "🦀", "\u{7f}", "\t", "\r", "\r\n",
    "\0",
];

const TOML_TOKENS: &[&str] = &[
    "[[",
    "]]",
    "[",
    "]",
    "\"",
    "'''",
    "\"\"\"",
    "=",
    "${",
    "}",
    "{",
    "\n",
    "\n\n",
    "#",
    ",",
    ".",
    "\\",
    "\\u",
    "true",
    "1e999",
    "-0",
    "0x",
    "[steps.x]",
    "[[steps]]",
    "[runbook]",
    "id = ",
    "kind = \"sql\"",
    "${DATABASE_URL}",
    "${",
    "$${X}",
    "requires = [",
    "timeout = \"",
];

/// Pieces that keep a string or a value valid TOML but odd for golive.
const VALUE_TOKENS: &[&str] = &[
    "${",
    "}",
    "${}",
    "${X",
    "${DATABASE_URL}",
    "${NOPE}",
    "$",
    "0s",
    "-1s",
    "999999999999999d",
    "1ns",
    " 1 ",
    "\\",
    "日本",
    "🦀",
    "\\u0000",
    " -1,",
    " 0,",
    " 1e308,",
    " [],",
    " {},",
    " \"\",",
    " 99999999999999999999,",
    "../",
    "/",
    ".",
    "$(rm -rf /)",
];

/// `text` as chars, mutated a few times: ranges deleted or duplicated, tokens and unicode
/// inserted, a very long line.
fn mutate(rng: &mut Rng, text: &str, tokens: &[&str]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(8) {
            // Inside a string or right after `=`: the text stays TOML more often, so the checks
            // behind the syntax (variables, durations, steps) see the token.
            6 | 7 => {
                let anchors: Vec<usize> = chars
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(c, '"' | '='))
                    .map(|(i, _)| i + 1)
                    .collect();
                if !anchors.is_empty() {
                    let to = anchors[rng.below(anchors.len())];
                    let piece: Vec<char> = rng.pick(VALUE_TOKENS).chars().collect();
                    chars.splice(to..to, piece);
                }
            }
            0 if !chars.is_empty() => {
                let end = (at + rng.below(200)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 if !chars.is_empty() => {
                let end = (at + rng.below(400)).min(chars.len());
                let copy: Vec<char> = chars[at.min(end)..end].to_vec();
                let to = rng.below(chars.len() + 1);
                chars.splice(to..to, copy);
            }
            2 => {
                let piece: Vec<char> = rng.pick(UNICODE).chars().collect();
                chars.splice(at..at, piece);
            }
            3 => {
                let long: String = rng.pick(tokens).repeat(1 + rng.below(5000));
                chars.splice(at..at, long.chars());
            }
            _ => {
                let piece: Vec<char> = rng.pick(tokens).chars().collect();
                chars.splice(at..at, piece);
            }
        }
    }
    chars.into_iter().collect()
}

/// Random text made of `tokens`, unicode and spaces.
fn soup(rng: &mut Rng, tokens: &[&str], len: usize) -> String {
    let mut out = String::new();
    for _ in 0..len {
        match rng.below(10) {
            0 => out.push_str(rng.pick(UNICODE)),
            1 => out.push('\n'),
            2 | 3 => out.push(' '),
            _ => out.push_str(rng.pick(tokens)),
        }
    }
    out
}

/// Run `f`, failing the test with the case's input when it panics.
fn no_panic<T>(what: &str, case: usize, input: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(e) => {
            let message = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            let shown: String = input.chars().take(2000).collect();
            panic!("{what} case {case} panicked: {message}\ninput:\n{shown:?}");
        }
    }
}

/// Every diagnostic of `text` points at a character of it (or just past a line's end).
fn check_positions(case: usize, text: &str, result: Result<golive::runbook::Runbook, LoadError>) {
    let Err(LoadError::Invalid(diags)) = result else {
        return;
    };
    assert!(
        !diags.is_empty(),
        "case {case}: an error without diagnostics"
    );
    let lines: Vec<&str> = text.split('\n').collect();
    for d in diags {
        assert!(
            (1..=lines.len()).contains(&d.line),
            "case {case}: line {} of {} in {d}",
            d.line,
            lines.len()
        );
        let line = lines[d.line - 1];
        assert!(
            (1..=line.len() + 1).contains(&d.col),
            "case {case}: column {} of a {}-byte line in {d}",
            d.col,
            line.len()
        );
        assert!(
            line.is_char_boundary(d.col - 1),
            "case {case}: column {} splits a character in {d}",
            d.col
        );
    }
}

fn parse_checked(case: usize, text: &str) {
    let result = no_panic("runbook", case, text, || {
        golive::runbook::parse(Path::new("runbook.toml"), text)
    });
    check_positions(case, text, result);
}

#[test]
fn mutated_runbooks_never_panic_and_errors_point_into_the_text() {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("runbook.toml"))
            .unwrap();
    assert!(golive::runbook::parse(Path::new("runbook.toml"), &shipped).is_ok());
    let mut rng = Rng(0x601f_0001);
    for case in 0..2500 {
        let text = mutate(&mut rng, &shipped, TOML_TOKENS);
        parse_checked(case, &text);
    }
    for case in 0..1000 {
        let len = rng.below(300);
        let text = soup(&mut rng, TOML_TOKENS, len);
        parse_checked(case, &text);
    }
}

const SQL_TOKENS: &[&str] = &[
    "DROP",
    "TABLE",
    "DELETE",
    "FROM",
    "WHERE",
    "UPDATE",
    "SET",
    "TRUNCATE",
    "ALTER",
    "ROLE",
    "POLICY",
    "ON",
    "DISABLE",
    "ROW",
    "LEVEL",
    "SECURITY",
    "CREATE",
    "FUNCTION",
    "DO",
    "BEGIN",
    "END",
    "$$",
    "$t$",
    "$",
    "'",
    "''",
    "\"",
    "E'\\'",
    "(",
    ")",
    ";",
    "--",
    "/*",
    "*/",
    "::",
    "x",
    "t1",
    "1",
    "1.5e",
    ",",
    ".",
    "*",
    "=",
    "<>",
    "\\",
    "\\copy",
    "SELECT",
    "INTO",
    "USING",
    "RETURNING",
    "CASCADE",
    "IF",
    "EXISTS",
    "NOT",
    "NULL",
    "WITH",
    "AS",
    "$1",
    "?",
    "[",
    "]",
];

#[test]
fn sql_soup_and_mutated_assets_never_panic_the_guard() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sql");
    let mut assets: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assets.sort();
    let mut rng = Rng(0x601f_0002);
    for case in 0..2000 {
        let asset = &assets[case % assets.len()];
        let text = mutate(&mut rng, asset, SQL_TOKENS);
        no_panic("sql asset", case, &text, || sql_hazards(&text));
    }
    for case in 0..2000 {
        let len = rng.below(80);
        let text = soup(&mut rng, SQL_TOKENS, len);
        no_panic("sql soup", case, &text, || sql_hazards(&text));
    }
}

const SHELL_TOKENS: &[&str] = &[
    "psql",
    "/usr/bin/psql",
    "-c",
    "\"",
    "'",
    "<<",
    "<<-",
    "'EOF'",
    "EOF",
    "\"EOF\"",
    "dropdb",
    "dropuser",
    "pg_restore",
    "--clean",
    "-cd",
    "|",
    "&",
    "&&",
    ";",
    "$(",
    "`",
    "\\",
    "DROP TABLE x",
    "DELETE FROM t",
    "-f",
    "x.sql",
    "$DATABASE_URL",
    "echo",
    "--",
    "-",
];

#[test]
fn shell_soup_never_panics_the_guard() {
    let mut rng = Rng(0x601f_0003);
    for case in 0..3000 {
        let len = rng.below(60);
        let text = soup(&mut rng, SHELL_TOKENS, len);
        no_panic("shell", case, &text, || shell_hazards(&text));
    }
}

const URL_TOKENS: &[&str] = &[
    "://",
    "postgres",
    "https",
    ":",
    "@",
    "/",
    "%",
    "%4",
    "%40",
    "%e9",
    "%zz",
    "password=",
    "'",
    "\"",
    " ",
    "user",
    "pw",
    "host",
    "5432",
    "db",
    "=",
    "?",
    "#",
    "s3cr",
    "et",
    "a",
    "b",
    "ab",
];

/// A random string of URL-ish pieces and unicode, with no `*` (see the property below).
fn url_soup(rng: &mut Rng, len: usize) -> String {
    let mut out = soup(rng, URL_TOKENS, len);
    out.retain(|c| c != '*');
    out
}

#[test]
fn the_redactor_never_panics_and_no_secret_survives() {
    let mut rng = Rng(0x601f_0004);
    for case in 0..4000 {
        let secrets: Vec<String> = (0..rng.below(4))
            .map(|_| {
                let len = 1 + rng.below(4);
                url_soup(&mut rng, len)
            })
            .collect();
        let values: Vec<String> = (0..rng.below(3))
            .map(|_| {
                let len = rng.below(12);
                url_soup(&mut rng, len)
            })
            .collect();
        let len = rng.below(40);
        let mut text = url_soup(&mut rng, len);
        // Plant the secrets in the text.
        for s in secrets.iter().chain(&values) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, s);
        }
        let input = format!("secrets {secrets:?} values {values:?} text {text:?}");
        let out = no_panic("redact", case, &input, || {
            let r = Redactor::new(
                secrets.iter().map(String::as_str),
                values.iter().map(String::as_str),
            );
            let out = r.redact(&text).into_owned();
            (r, out)
        });
        let (r, out) = out;
        // A secret made of `*` could be spelled by the mask next to the text; none here has one.
        for s in r.secrets().iter().filter(|s| !s.contains('*')) {
            assert!(
                !out.contains(s.as_str()),
                "case {case}: {s:?} survives in {out:?}; {input}"
            );
        }
        for s in secrets.iter().filter(|s| s.len() >= 3) {
            assert!(
                !out.contains(s.as_str()),
                "case {case}: secret {s:?} survives in {out:?}; {input}"
            );
        }
        no_panic("url_passwords", case, &text, || {
            url_passwords(&text).into_owned()
        });
    }
}

// Regressions: inputs that brought golive down.

/// Mutated runbooks nested `[` 80 deep, or chained `id = id = …` thousands long, in a step's
/// SQL; the guard handed it to the SQL parser, whose recursion (or the printing of the deep tree
/// it built) overflowed the stack: an abort, no panic handler runs. The lint's parser (squawk)
/// recursed the same way in `golive check`.
#[test]
fn deeply_nested_sql_does_not_overflow_the_stack() {
    let pieces = [
        "requires = [",
        "(",
        "ARRAY[",
        "NOT ",
        "- ",
        "f(",
        "CASE WHEN ",
        "id = ",
        "1::",
        "a AND ",
    ];
    for piece in pieces {
        for n in [20, 80, 5000] {
            let nested = piece.repeat(n);
            no_panic("nested sql", n, &nested, || {
                sql_hazards(&format!("SELECT {nested}"));
                shell_hazards(&format!("psql -c \"SELECT {nested}\""));
                golive::lint::lint_sql(&format!("SELECT {nested}"), true);
            });
        }
    }
    // Too deep to parse is still read word by word.
    let deep = format!("UPDATE t SET a = {}1{}", "(".repeat(40), ")".repeat(40));
    assert!(!sql_hazards(&deep).is_empty(), "{:?}", sql_hazards(&deep));
    let text = format!(
        "[runbook]\nname = \"x\"\n[[steps]]\nid = \"s\"\nkind = \"sql\"\ndatabase = \"DATABASE_URL\"\nsql = \"SELECT {}\"\n",
        "requires = [".repeat(80)
    );
    parse_checked(0, &text);
}
