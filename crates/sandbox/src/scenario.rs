//! Game-day scenarios: faults a real go-live can meet, made real in the sandbox so the team
//! practises the response and the runbook's checks are proven to catch them.
//!
//! The expected outcome of each (which step fails, which panel turns red, which rollback the
//! console offers) is written down in `docs/scenarios.md`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long after the app first sees `catalog_api_v2` on the `late-5xx` fault begins.
pub const LATE_5XX_AFTER: Duration = Duration::from_secs(20);

/// A fault the sandbox injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// A leftover permissive `USING (true)` policy on `customers` that the RLS deployment does not
    /// remove: once RLS is enabled, `app_user` sees every tenant's customers.
    FailOpenPolicy,
    /// The v2 catalog handler still answers with the legacy `{"service_operations": [...]}`
    /// wrapper.
    LegacyWrapper,
    /// Once `catalog_api_v2` is on, add-to-invoice answers 500 for about 30% of requests.
    FiveXxSpike,
    /// The same 500s, beginning [`LATE_5XX_AFTER`] after the app first sees `catalog_api_v2` on:
    /// a regression a short watch passes and a fleet's watch between waves must catch.
    Late5xx,
    /// A batch job holds an `ACCESS EXCLUSIVE` lock on `customers` for a while after start, so a
    /// snapshot with a lock-wait timeout fails.
    SlowSnapshot,
    /// The first write to `feature_flags` by anyone but the sandbox terminates golive's database
    /// sessions (application_name `golive`), the writing one included; a retry works.
    DbGoesAway,
}

impl Scenario {
    /// Every scenario, in the order `--help` lists them.
    pub const ALL: [Scenario; 6] = [
        Scenario::FailOpenPolicy,
        Scenario::LegacyWrapper,
        Scenario::FiveXxSpike,
        Scenario::Late5xx,
        Scenario::SlowSnapshot,
        Scenario::DbGoesAway,
    ];

    /// The name used on the command line (`--scenario NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::FailOpenPolicy => "fail-open-policy",
            Scenario::LegacyWrapper => "legacy-wrapper",
            Scenario::FiveXxSpike => "5xx-spike",
            Scenario::Late5xx => "late-5xx",
            Scenario::SlowSnapshot => "slow-snapshot",
            Scenario::DbGoesAway => "db-goes-away",
        }
    }

    /// One line saying what goes wrong, for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Scenario::FailOpenPolicy => {
                "a leftover USING (true) policy on customers survives the RLS deployment"
            }
            Scenario::LegacyWrapper => {
                "the v2 catalog still answers with the {\"service_operations\": [...]} wrapper"
            }
            Scenario::FiveXxSpike => "add-to-invoice answers 500 to ~30% once catalog_api_v2 is on",
            Scenario::Late5xx => {
                "the same 500s, from 20 s after catalog_api_v2 goes on (after a short watch)"
            }
            Scenario::SlowSnapshot => {
                "a batch job holds an ACCESS EXCLUSIVE lock on customers for 20 s after start"
            }
            Scenario::DbGoesAway => {
                "the first flag write terminates golive's database sessions; a retry works"
            }
        }
    }

    /// The scenario list for a command's `--help`, one `NAME  summary` line each.
    pub fn help_text() -> String {
        let mut text = String::from("Scenarios (--scenario NAME):\n");
        for s in Self::ALL {
            text.push_str(&format!("  {:<18}{}\n", s.name(), s.summary()));
        }
        text
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown scenario {given:?}: use one of {}", names())]
pub struct UnknownScenario {
    /// The name given.
    pub given: String,
}

fn names() -> String {
    Scenario::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|sc| sc.name() == wanted)
            .ok_or_else(|| UnknownScenario {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>().unwrap(), s);
            assert!(Scenario::help_text().contains(s.name()));
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = "fail-closed".parse::<Scenario>().unwrap_err().to_string();
        assert!(
            err.contains("fail-closed") && err.contains("db-goes-away"),
            "{err}"
        );
    }
}
