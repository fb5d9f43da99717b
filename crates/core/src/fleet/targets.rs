//! `TARGETS.toml` → [`Fleet`]: the targets (each a name and the variables it overlays on the
//! runbook's), and `[waves]` (the plan resolved to waves, `parallel`, `pause`). Every problem
//! is reported as `file:line:col: message`, like `golive check` does for runbooks.
//!
//! ```toml
//! [[target]]
//! name = "eu-1"                 # [a-z0-9-]+, unique
//! vars = { DATABASE_URL = "postgres://…", APP_URL = "https://eu-1.shop.example" }
//!
//! [waves]
//! plan = [1, "25%", "100%"]     # cumulative: targets live after each wave (count or share)
//! parallel = 4                  # targets at once inside a wave
//! pause = "10m"                 # a plain wait between waves
//! ```

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::waves::{self, PlanEntry, Wave};
use crate::runbook::{Diagnostic, LineIndex};

/// One database of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `[a-z0-9-]+`, unique: names its journal folder and what the console shows.
    pub name: String,
    /// Variables laid over the environment for this target's run, by name.
    pub vars: Vec<(String, String)>,
}

/// A validated TARGETS.toml.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The file, as given.
    pub path: PathBuf,
    /// The targets, in file order.
    pub targets: Vec<Target>,
    /// The plan, resolved.
    pub waves: Vec<Wave>,
    /// Targets at once inside a wave.
    pub parallel: usize,
    /// The wait between waves.
    pub pause: Duration,
}

/// Why a TARGETS.toml could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The file could not be read.
    #[error(
        "cannot read the targets file {path}: {source}; pass its path, e.g. `golive run --targets TARGETS.toml`"
    )]
    Io {
        /// The path given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file has problems, all of them listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    target: Vec<Spanned<RawTarget>>,
    waves: Option<Spanned<RawWaves>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Spanned<String>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaves {
    plan: Spanned<Vec<Spanned<RawEntry>>>,
    parallel: Option<Spanned<i64>>,
    pause: Option<Spanned<String>>,
}

/// A plan entry as written: an integer count or a `"N%"` share.
struct RawEntry(PlanEntry);

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = RawEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a count of targets like 1, or a share like \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawEntry, E> {
                u64::try_from(v)
                    .map(|n| RawEntry(PlanEntry::Count(n)))
                    .map_err(|_| {
                        E::custom(format!(
                            "{v} is negative; a plan counts targets live after each wave"
                        ))
                    })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawEntry, E> {
                parse_share(v).map(|p| RawEntry(PlanEntry::Share(p))).ok_or_else(|| {
                    E::custom(format!(
                        "`{v}` is not a share; write a percentage like \"25%\" (or a count like 1, without quotes)"
                    ))
                })
            }
        }
        d.deserialize_any(Visit)
    }
}

fn parse_share(text: &str) -> Option<f64> {
    let number: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    (number.is_finite() && number >= 0.0).then_some(number)
}

/// Read and validate a targets file.
pub fn load(path: &Path) -> Result<Fleet, FleetError> {
    let text = std::fs::read_to_string(path).map_err(|source| FleetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text).map_err(FleetError::Invalid)
}

/// Validate targets-file text read from `path` (named in the messages).
pub fn parse(path: &Path, text: &str) -> Result<Fleet, Vec<Diagnostic>> {
    let lines = LineIndex::new(text);
    let diag = |span: Range<usize>, message: String| {
        let (line, col) = lines.position(span.start);
        Diagnostic {
            file: path.display().to_string(),
            line,
            col,
            message,
        }
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        vec![diag(
            e.span().unwrap_or(0..0),
            e.message().trim().to_string(),
        )]
    })?;
    let mut problems: Vec<(Range<usize>, String)> = Vec::new();
    let targets = read_targets(&raw.target, &mut problems);
    let (waves, parallel, pause) = match &raw.waves {
        Some(w) => read_waves(w.get_ref(), targets.len(), &mut problems),
        None => {
            problems.push((
                0..0,
                "missing [waves]; add `[waves]` with `plan = [1, \"25%\", \"100%\"]` (targets live \
                 after each wave, a canary first)"
                    .into(),
            ));
            (Vec::new(), 1, Duration::ZERO)
        }
    };
    if !problems.is_empty() {
        problems.sort_by_key(|(span, _)| span.start);
        return Err(problems.into_iter().map(|(s, m)| diag(s, m)).collect());
    }
    Ok(Fleet {
        path: path.to_path_buf(),
        targets,
        waves,
        parallel,
        pause,
    })
}

fn read_targets(
    raw: &[Spanned<RawTarget>],
    problems: &mut Vec<(Range<usize>, String)>,
) -> Vec<Target> {
    if raw.is_empty() {
        problems.push((
            0..0,
            "no targets; add one `[[target]]` per database, with `name = \"eu-1\"` and `vars = { \
             DATABASE_URL = \"…\" }`"
                .into(),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for t in raw {
        let t = t.get_ref();
        let name = t.name.get_ref();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            problems.push((
                t.name.span(),
                format!(
                    "target name `{name}` must be lowercase letters, digits and dashes \
                     ([a-z0-9-]+), e.g. `eu-1`"
                ),
            ));
        } else if !seen.insert(name.clone()) {
            problems.push((
                t.name.span(),
                format!("target `{name}` is named twice; each target needs a name of its own"),
            ));
        }
        out.push(Target {
            name: name.clone(),
            vars: t.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
    }
    out
}

fn read_waves(
    raw: &RawWaves,
    total: usize,
    problems: &mut Vec<(Range<usize>, String)>,
) -> (Vec<Wave>, usize, Duration) {
    let parallel = match &raw.parallel {
        None => 1,
        Some(p) => match usize::try_from(*p.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                problems.push((
                    p.span(),
                    format!(
                        "parallel = {} runs no target at all; it is how many targets run at once \
                         inside a wave: 1 or more",
                        p.get_ref()
                    ),
                ));
                1
            }
        },
    };
    let pause = match &raw.pause {
        None => Duration::ZERO,
        Some(p) => humantime::parse_duration(p.get_ref().trim()).unwrap_or_else(|e| {
            problems.push((
                p.span(),
                format!(
                    "pause `{}` is not a duration ({e}); write e.g. \"10m\" or \"90s\"",
                    p.get_ref()
                ),
            ));
            Duration::ZERO
        }),
    };
    let plan: Vec<PlanEntry> = raw
        .plan
        .get_ref()
        .iter()
        .map(|e| e.get_ref().0.clone())
        .collect();
    let waves = if total == 0 {
        Vec::new()
    } else {
        waves::resolve(&plan, total).unwrap_or_else(|e| {
            let span = e
                .index()
                .and_then(|i| raw.plan.get_ref().get(i))
                .map_or_else(|| raw.plan.span(), Spanned::span);
            problems.push((span, e.to_string()));
            Vec::new()
        })
    };
    (waves, parallel, pause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(Path::new("TARGETS.toml"), text)
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const GOOD: &str = r#"
[[target]]
name = "eu-1"
vars = { DATABASE_URL = "postgres://a@eu-1/shop", APP_URL = "https://eu-1.shop.example" }

[[target]]
name = "eu-2"
vars = { DATABASE_URL = "postgres://a@eu-2/shop" }

[[target]]
name = "us-1"

[[target]]
name = "us-2"

[waves]
plan = [1, "50%", "100%"]
parallel = 2
pause = "10m"
"#;

    #[test]
    fn a_good_file_gives_targets_waves_parallel_and_pause() {
        let fleet = parse(Path::new("TARGETS.toml"), GOOD).expect("valid");
        let names: Vec<&str> = fleet.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["eu-1", "eu-2", "us-1", "us-2"]);
        assert!(
            fleet.targets[0]
                .vars
                .contains(&("APP_URL".into(), "https://eu-1.shop.example".into()))
        );
        let waves: Vec<Vec<usize>> = fleet.waves.iter().map(|w| w.targets.clone()).collect();
        assert_eq!(waves, vec![vec![0], vec![1], vec![2, 3]]);
        assert_eq!(fleet.parallel, 2);
        assert_eq!(fleet.pause, Duration::from_secs(600));
    }

    #[test]
    fn names_are_checked_and_each_problem_has_its_line_and_column() {
        let text = r#"[[target]]
name = "EU_1"

[[target]]
name = "eu-2"

[[target]]
name = "eu-2"

[waves]
plan = [1, "100%"]
parallel = 0
pause = "soon"
"#;
        let got = errors(text);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(
            got[0].starts_with("TARGETS.toml:2:8: target name `EU_1`"),
            "{got:#?}"
        );
        assert!(
            got[1].starts_with("TARGETS.toml:8:8: target `eu-2` is named twice"),
            "{got:#?}"
        );
        assert!(
            got[2].starts_with("TARGETS.toml:12:12: parallel = 0"),
            "{got:#?}"
        );
        assert!(
            got[3].starts_with("TARGETS.toml:13:9: pause `soon`"),
            "{got:#?}"
        );
    }

    #[test]
    fn a_bad_plan_is_reported_at_the_entry_at_fault() {
        let text =
            "[[target]]\nname = \"a\"\n[[target]]\nname = \"b\"\n[waves]\nplan = [1, \"50%\"]\n";
        let got = errors(text);
        assert_eq!(got.len(), 1, "{got:#?}");
        // "50%" of 2 is 1, the canary's count: the second entry adds nothing.
        assert!(
            got[0].starts_with("TARGETS.toml:6:12: plan entry \"50%\""),
            "{got:#?}"
        );
        let short = "[[target]]\nname = \"a\"\n[[target]]\nname = \"b\"\n[waves]\nplan = [1]\n";
        assert!(
            errors(short)[0].contains("ends at 1 of 2"),
            "{:?}",
            errors(short)
        );
    }

    #[test]
    fn type_errors_and_unknown_keys_come_from_toml_with_a_position() {
        let share = errors("[[target]]\nname = \"a\"\n[waves]\nplan = [\"half\"]\n");
        assert!(share[0].starts_with("TARGETS.toml:4:"), "{share:?}");
        assert!(share[0].contains("`half` is not a share"), "{share:?}");
        let unknown = errors("[[target]]\nname = \"a\"\nurl = \"x\"\n[waves]\nplan = [1]\n");
        assert!(unknown[0].starts_with("TARGETS.toml:3:"), "{unknown:?}");
        assert!(unknown[0].contains("url"), "{unknown:?}");
        let syntax = errors("[[target]\n");
        assert!(syntax[0].starts_with("TARGETS.toml:1:"), "{syntax:?}");
    }

    #[test]
    fn an_empty_file_says_what_to_add() {
        let got = errors("");
        assert!(got.iter().any(|e| e.contains("no targets")), "{got:?}");
        assert!(got.iter().any(|e| e.contains("missing [waves]")), "{got:?}");
    }
}
