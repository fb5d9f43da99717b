//! A fleet's `[waves] plan` resolved to waves of targets: pure, so every rounding rule is tested
//! without a database.
//!
//! The plan is cumulative: each entry says how many targets are live after its wave, as a count
//! (`1`) or a share of the fleet (`"25%"`, rounded up: a share never rounds a wave away to
//! nothing). After rounding the counts must rise strictly and end at every target.

/// One entry of `[waves] plan`.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanEntry {
    /// Targets live after the wave.
    Count(u64),
    /// Percent of the fleet live after the wave (`25.0` for `"25%"`).
    Share(f64),
}

impl PlanEntry {
    /// How the entry is written in TARGETS.toml.
    pub fn shown(&self) -> String {
        match self {
            PlanEntry::Count(n) => n.to_string(),
            PlanEntry::Share(p) => format!("\"{p}%\""),
        }
    }

    /// Targets live after this entry's wave, out of `total` (shares rounded up).
    pub fn cumulative(&self, total: usize) -> u64 {
        match self {
            PlanEntry::Count(n) => *n,
            PlanEntry::Share(p) => {
                let exact = (total as f64) * p / 100.0;
                // A hair below the integer is float noise, not a share of a target.
                (exact - 1e-9).ceil().max(0.0) as u64
            }
        }
    }
}

/// One wave: its name (`wave-1`, what the operator types to confirm it) and its targets, by
/// index in the fleet's target list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Wave {
    /// `wave-N`, from 1.
    pub name: String,
    /// Indices into the fleet's targets, in file order.
    pub targets: Vec<usize>,
}

/// Why a plan does not resolve; `index` is the plan entry at fault (0-based).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// No entries.
    #[error(
        "the plan is empty; write the targets live after each wave, e.g. `plan = [1, \"25%\", \"100%\"]`"
    )]
    Empty,
    /// An entry rounds to no target at all.
    #[error("plan entry {shown} is no target at all; the first wave needs at least 1 (a canary)")]
    Zero {
        /// The entry at fault.
        index: usize,
        /// How it is written.
        shown: String,
    },
    /// An entry asks for more targets than the fleet has.
    #[error(
        "plan entry {shown} asks for {count} targets, but the fleet has {total}; end the plan at {total} or \"100%\""
    )]
    TooMany {
        /// The entry at fault.
        index: usize,
        /// How it is written.
        shown: String,
        /// What it resolves to.
        count: u64,
        /// Targets in the fleet.
        total: usize,
    },
    /// An entry adds no target to the wave before it.
    #[error(
        "plan entry {shown} is {count} target(s) after rounding, not more than the {previous} of the wave before; the plan is cumulative (targets live after each wave): raise it or drop it"
    )]
    NotIncreasing {
        /// The entry at fault.
        index: usize,
        /// How it is written.
        shown: String,
        /// What it resolves to.
        count: u64,
        /// What the entry before resolves to.
        previous: u64,
    },
    /// The last entry leaves targets out.
    #[error(
        "the plan ends at {count} of {total} targets; end it at {total} or \"100%\" so every target goes live"
    )]
    Short {
        /// The last entry.
        index: usize,
        /// What it resolves to.
        count: u64,
        /// Targets in the fleet.
        total: usize,
    },
}

impl PlanError {
    /// The plan entry at fault, when one is.
    pub fn index(&self) -> Option<usize> {
        match self {
            PlanError::Empty => None,
            PlanError::Zero { index, .. }
            | PlanError::TooMany { index, .. }
            | PlanError::NotIncreasing { index, .. }
            | PlanError::Short { index, .. } => Some(*index),
        }
    }
}

/// Resolve `plan` for a fleet of `total` targets (taken in file order) into waves.
pub fn resolve(plan: &[PlanEntry], total: usize) -> Result<Vec<Wave>, PlanError> {
    if plan.is_empty() {
        return Err(PlanError::Empty);
    }
    let mut waves = Vec::with_capacity(plan.len());
    let mut previous = 0u64;
    for (index, entry) in plan.iter().enumerate() {
        let count = entry.cumulative(total);
        let shown = entry.shown();
        if count == 0 {
            return Err(PlanError::Zero { index, shown });
        }
        if count > total as u64 {
            return Err(PlanError::TooMany {
                index,
                shown,
                count,
                total,
            });
        }
        if count <= previous {
            return Err(PlanError::NotIncreasing {
                index,
                shown,
                count,
                previous,
            });
        }
        waves.push(Wave {
            name: format!("wave-{}", index + 1),
            targets: (previous as usize..count as usize).collect(),
        });
        previous = count;
    }
    if previous < total as u64 {
        return Err(PlanError::Short {
            index: plan.len() - 1,
            count: previous,
            total,
        });
    }
    Ok(waves)
}

/// The cumulative counts of `plan` for `total` targets with the entries that add nothing left
/// out: a plan that fits any fleet size (what `golive rehearse --targets N` writes).
pub fn fitted(plan: &[PlanEntry], total: usize) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for entry in plan {
        let count = entry.cumulative(total).clamp(1, total.max(1) as u64);
        if out.last().is_none_or(|&last| count > last) {
            out.push(count);
        }
    }
    if out.last().is_none_or(|&last| last < total as u64) {
        out.push(total as u64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(waves: &[Wave]) -> Vec<usize> {
        waves.iter().map(|w| w.targets.len()).collect()
    }

    fn canary() -> Vec<PlanEntry> {
        vec![
            PlanEntry::Count(1),
            PlanEntry::Share(25.0),
            PlanEntry::Share(100.0),
        ]
    }

    #[test]
    fn counts_and_shares_mix_and_shares_round_up() {
        let waves = resolve(&canary(), 10).expect("resolves");
        // 1, then 25% of 10 = 2.5 → 3, then all 10.
        assert_eq!(sizes(&waves), vec![1, 2, 7]);
        assert_eq!(waves[0].targets, vec![0]);
        assert_eq!(waves[1].targets, vec![1, 2]);
        assert_eq!(waves[2].name, "wave-3");
        assert_eq!(waves[2].targets, (3..10).collect::<Vec<_>>());
    }

    #[test]
    fn four_targets_in_halves_after_a_canary() {
        let plan = [
            PlanEntry::Count(1),
            PlanEntry::Share(50.0),
            PlanEntry::Share(100.0),
        ];
        let waves = resolve(&plan, 4).expect("resolves");
        assert_eq!(sizes(&waves), vec![1, 1, 2]);
        let names: Vec<&str> = waves.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["wave-1", "wave-2", "wave-3"]);
    }

    #[test]
    fn exact_shares_do_not_round_up_past_float_noise() {
        // 10% of 30 is 3.0000000000000004 in floating point: still 3.
        let plan = [PlanEntry::Share(10.0), PlanEntry::Share(100.0)];
        assert_eq!(sizes(&resolve(&plan, 30).expect("resolves")), vec![3, 27]);
        let plan = [PlanEntry::Share(12.5), PlanEntry::Count(8)];
        assert_eq!(sizes(&resolve(&plan, 8).expect("resolves")), vec![1, 7]);
    }

    #[test]
    fn one_target_is_one_wave_and_a_canary_plan_is_refused_for_it() {
        let waves = resolve(&[PlanEntry::Count(1)], 1).expect("resolves");
        assert_eq!(waves.len(), 1);
        assert_eq!(waves[0].targets, vec![0]);
        assert_eq!(
            resolve(&[PlanEntry::Share(100.0)], 1).expect("resolves"),
            waves
        );
        let err = resolve(&canary(), 1).expect_err("25% of 1 rounds to the canary's 1");
        assert!(
            matches!(
                err,
                PlanError::NotIncreasing {
                    index: 1,
                    count: 1,
                    previous: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("cumulative"), "{err}");
    }

    #[test]
    fn bad_plans_name_the_entry_and_the_fix() {
        assert_eq!(resolve(&[], 3), Err(PlanError::Empty));
        let zero = resolve(&[PlanEntry::Count(0), PlanEntry::Count(3)], 3).expect_err("zero");
        assert_eq!(zero.index(), Some(0));
        let short = resolve(&[PlanEntry::Count(1), PlanEntry::Share(50.0)], 4).expect_err("short");
        assert_eq!(
            short,
            PlanError::Short {
                index: 1,
                count: 2,
                total: 4
            }
        );
        assert!(short.to_string().contains("\"100%\""), "{short}");
        let many = resolve(&[PlanEntry::Count(1), PlanEntry::Count(5)], 4).expect_err("too many");
        assert_eq!(many.index(), Some(1));
        assert!(many.to_string().contains("the fleet has 4"), "{many}");
        let over = resolve(&[PlanEntry::Share(150.0)], 4).expect_err("over 100%");
        assert!(
            matches!(over, PlanError::TooMany { count: 6, .. }),
            "{over:?}"
        );
        let down = resolve(
            &[
                PlanEntry::Count(2),
                PlanEntry::Count(1),
                PlanEntry::Count(3),
            ],
            3,
        )
        .expect_err("decreasing");
        assert_eq!(down.index(), Some(1));
    }

    #[test]
    fn fitted_plans_drop_the_waves_a_small_fleet_cannot_have() {
        let plan = [
            PlanEntry::Count(1),
            PlanEntry::Share(50.0),
            PlanEntry::Share(100.0),
        ];
        assert_eq!(fitted(&plan, 1), vec![1]);
        assert_eq!(fitted(&plan, 2), vec![1, 2]);
        assert_eq!(fitted(&plan, 4), vec![1, 2, 4]);
        assert_eq!(fitted(&plan, 5), vec![1, 3, 5]);
        for n in 1..20 {
            let counts: Vec<PlanEntry> =
                fitted(&plan, n).into_iter().map(PlanEntry::Count).collect();
            assert!(resolve(&counts, n).is_ok(), "{n}");
        }
    }
}
