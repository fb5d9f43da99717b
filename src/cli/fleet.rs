//! `golive run --targets FILE`, and the fleet part of `golive rehearse --targets N`: load the
//! runbook and the targets, resolve each target's variables, refuse a headless fleet whose
//! destructive steps are not approved, then hand the waves to [`golive_core::fleet`] and its line
//! front end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ExitCode;
use super::RunArgs;
use super::drive::unapproved;
use super::input::load;
use super::inspect::lint_errors;
use golive_core::engine::Selection;
use golive_core::events::RunMode;
use golive_core::fleet::{self, Fleet, FleetConfig, FleetOutcome, Judge, TargetRun};
use golive_core::logging::LogSink;
use golive_core::runbook::{Runbook, Vars};

/// A fleet to run, and how.
pub(crate) struct FleetRun {
    /// The targets and waves.
    pub fleet: Fleet,
    /// Per target (by name), variables laid over the target's own: a rehearsal's sandbox.
    pub extra: HashMap<String, Vec<(String, String, bool)>>,
    /// Run or rehearsal.
    pub mode: RunMode,
    /// A rehearsal's pace between steps.
    pub pace: Duration,
    /// A check after each target's run (a rehearsal's oracle).
    pub judge: Option<Judge>,
}

/// How a fleet run ended: its exit code, its directory when it started, its outcome.
pub(crate) struct FleetEnd {
    /// The exit code.
    pub code: ExitCode,
    /// `.golive/runs/<run-id>`, when the fleet run started.
    pub run_dir: Option<PathBuf>,
    /// How it ended, when it ran.
    pub outcome: Option<FleetOutcome>,
}

impl From<ExitCode> for FleetEnd {
    fn from(code: ExitCode) -> Self {
        FleetEnd {
            code,
            run_dir: None,
            outcome: None,
        }
    }
}

/// The targets file, every problem in it printed (`file:line:col: …`).
fn load_targets(file: &Path) -> Result<Fleet, ExitCode> {
    match fleet::targets::load(file) {
        Ok(f) => Ok(f),
        Err(fleet::FleetError::Invalid(diags)) => {
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!(
                "{}: {} problem(s); nothing was run",
                file.display(),
                diags.len()
            );
            Err(2)
        }
        Err(e) => {
            eprintln!("golive: {e}");
            Err(2)
        }
    }
}

/// Each target's variables: its own laid over the environment (then `extra`, a rehearsal's
/// sandbox), with `GOLIVE_TARGET`. Every variable a target lacks is printed, naming the target;
/// the error is how many.
fn resolve_targets(
    runbook: &Runbook,
    fleet: &Fleet,
    extra: &HashMap<String, Vec<(String, String, bool)>>,
) -> Result<Vec<TargetRun>, usize> {
    let mut targets = Vec::with_capacity(fleet.targets.len());
    let mut missing = 0;
    for target in &fleet.targets {
        let mut overlay: Vec<(String, String, bool)> = target
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), false))
            .collect();
        overlay.extend(extra.get(&target.name).cloned().unwrap_or_default());
        overlay.push(("GOLIVE_TARGET".into(), target.name.clone(), false));
        match Vars::resolve_over(runbook, &overlay) {
            Ok(vars) => targets.push(TargetRun {
                name: target.name.clone(),
                vars,
            }),
            Err(diags) => {
                for d in &diags {
                    eprintln!("{d} (target `{}`)", target.name);
                }
                missing += diags.len();
            }
        }
    }
    match missing {
        0 => Ok(targets),
        n => Err(n),
    }
}

/// `golive check RUNBOOK --targets FILE`: the targets file, each target's variables and the
/// pause, as `golive run --targets` would refuse them, without running anything.
pub(crate) fn check_targets(runbook: &Runbook, file: &Path) -> ExitCode {
    let fleet = match load_targets(file) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let targets = match resolve_targets(runbook, &fleet, &HashMap::new()) {
        Ok(t) => t,
        Err(n) => {
            eprintln!(
                "{}: valid, but {n} required variable(s) are not set for its targets: set them \
                 in each target's `vars` (or in the environment, for all of them)",
                file.display()
            );
            return 2;
        }
    };
    let short = targets
        .first()
        .and_then(|t| fleet::watch::pause_problem(runbook, &t.vars, fleet.pause));
    if let Some(problem) = short {
        eprintln!("{}: {problem}", file.display());
        return 2;
    }
    println!("{}: ok — {}", file.display(), summary(runbook, &fleet));
    0
}

/// The fleet in one line: how many targets in which waves, how many at once, and what the
/// pause between waves does.
fn summary(runbook: &Runbook, fleet: &Fleet) -> String {
    let waves: Vec<String> = fleet
        .waves
        .iter()
        .map(|w| {
            let names: Vec<&str> = w
                .targets
                .iter()
                .map(|&t| fleet.targets[t].name.as_str())
                .collect();
            format!("{}: {}", w.name, names.join(", "))
        })
        .collect();
    let pause = match (fleet.pause.is_zero(), runbook.monitor.is_some()) {
        (true, _) => "no pause between waves".to_string(),
        (false, true) => format!(
            "the live targets watched {} between waves",
            humantime::format_duration(fleet.pause)
        ),
        (false, false) => format!(
            "a plain wait of {} between waves (no [monitor] to watch with)",
            humantime::format_duration(fleet.pause)
        ),
    };
    format!(
        "{} target(s) in {} wave(s) ({}), {} at once, {pause}",
        fleet.targets.len(),
        fleet.waves.len(),
        waves.join("; "),
        fleet.parallel
    )
}

/// `golive plan RUNBOOK --targets FILE`: the fleet in one line, then each target's plan in wave
/// order, with its own variables (secrets masked): exactly what would run where. Touches nothing.
pub(crate) fn plan_targets(runbook: &Runbook, path: &Path, file: &Path) -> ExitCode {
    let fleet = match load_targets(file) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let Ok(targets) = resolve_targets(runbook, &fleet, &HashMap::new()) else {
        eprintln!(
            "golive: set the variables above in each target's `vars` (or in the environment, \
             for all of them), then plan again"
        );
        return 2;
    };
    println!("fleet: {}", summary(runbook, &fleet));
    let rehearsed = golive_core::lockprofile::rehearsed(path);
    for wave in &fleet.waves {
        for &t in &wave.targets {
            println!("\n── target {} ({}) ──", targets[t].name, wave.name);
            let vars = &targets[t].vars;
            let wave = Some(wave.name.as_str());
            print!(
                "{}",
                golive_core::plan::render(runbook, vars, &[], rehearsed.as_ref(), wave)
            );
        }
    }
    0
}

/// `golive run --targets FILE`.
pub(crate) async fn run_targets_file(args: &RunArgs, file: &Path, log: &LogSink) -> ExitCode {
    let fleet = match load_targets(file) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let run = FleetRun {
        fleet,
        extra: HashMap::new(),
        mode: RunMode::Run,
        pace: Duration::ZERO,
        judge: None,
    };
    let end = run_fleet(args, run, log).await;
    if let Some(run_dir) = &end.run_dir {
        print!("{}", farewell(end.outcome, run_dir, RunMode::Run));
    }
    end.code
}

/// Run a fleet (a file's or a rehearsal's) to its end.
pub(crate) async fn run_fleet(args: &RunArgs, run: FleetRun, log: &LogSink) -> FleetEnd {
    if args.from.is_some() || args.only.is_some() {
        eprintln!(
            "golive: --from and --only do not go with --targets: a fleet runs the whole main \
             sequence on every target"
        );
        return 2.into();
    }
    let runs = golive_core::journal::RunDirs::for_runbook(&args.runbook);
    let runbook = match load(&args.runbook) {
        Ok(r) => r,
        Err(code) => return code.into(),
    };
    let mut run = run;
    let selection = match &args.procedure {
        None => Selection::All,
        Some(id) => match rollback_set(&mut run.fleet, &runbook, id, runs.root(), args.resume) {
            Ok(()) => Selection::Procedure(id.clone()),
            Err(code) => return code.into(),
        },
    };
    let findings = golive_core::lint::lint_runbook(&runbook);
    if lint_errors(&findings) > 0 {
        for f in &findings {
            eprintln!("{f}");
        }
        eprintln!("golive: PostgreSQL would refuse the statements above; nothing was run");
        return 2.into();
    }
    let Ok(targets) = resolve_targets(&runbook, &run.fleet, &run.extra) else {
        eprintln!(
            "golive: set the variables above in each target's `vars` (or in the environment, \
             for all of them), then run again; nothing was run"
        );
        return 2.into();
    };
    let short = targets
        .first()
        .and_then(|t| fleet::watch::pause_problem(&runbook, &t.vars, run.fleet.pause));
    if let Some(problem) = short {
        eprintln!("golive: {problem}; nothing was run");
        return 2.into();
    }
    let (headless, options) = args.line_output();
    if headless && !args.resume {
        let unapproved = unapproved(&runbook, &selection, &options);
        if !unapproved.is_empty() {
            eprintln!(
                "golive: refused: these steps need a person or an approval once per wave, and \
                 this run is headless: {}\nRead `golive plan {}`, then add --approve STEP_ID for \
                 each (or --approve-all), or run on a terminal to confirm them wave by wave. \
                 Nothing was run.",
                unapproved.join(", "),
                args.runbook.display()
            );
            return 3.into();
        }
    }
    let run_dir = if args.resume {
        match fleet::journal::latest_unfinished(runs.root()) {
            Some(dir) if !same_waves(&dir, &run.fleet) => return 2.into(),
            Some(dir) => dir,
            None => {
                eprintln!(
                    "golive: no unfinished fleet run of {} to resume; start a new one without \
                     --resume",
                    args.runbook.display()
                );
                return 2.into();
            }
        }
    } else {
        runs.dir(&golive_core::journal::new_run_id())
    };
    // The fleet's golive.log masks every target's secrets.
    let mut redactor = golive_core::redact::Redactor::default();
    for target in &targets {
        for secret in target.vars.redactor().secrets() {
            redactor.add(secret);
        }
    }
    // The console keeps the live targets' dashboard rows fresh after the fleet run.
    let live = match runbook.monitor.is_some() && !headless {
        true => targets
            .iter()
            .map(|t| fleet::watch::target_config(&runbook, &t.vars).ok())
            .collect(),
        false => Vec::new(),
    };
    let config = FleetConfig {
        runbook,
        targets,
        waves: run.fleet.waves.clone(),
        parallel: run.fleet.parallel,
        pause: run.fleet.pause,
        run_dir: run_dir.clone(),
        targets_path: std::path::absolute(&run.fleet.path)
            .unwrap_or_else(|_| run.fleet.path.clone())
            .display()
            .to_string(),
        resume: args.resume,
        mode: run.mode,
        approved_on_command_line: headless,
        pace: run.pace,
        judge: run.judge,
        halt_on_failure: selection == Selection::All,
        selection,
    };
    // Caught from before the first wave, so a Ctrl-C is never the default action's kill.
    let signals = match headless.then(golive_core::os::Signals::new).transpose() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("golive: {e:#}; nothing was run");
            return 2.into();
        }
    };
    let handle = match fleet::start(config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("golive: {e}");
            return 2.into();
        }
    };
    if let Err(e) = log.attach(&run_dir.join("golive.log"), redactor) {
        eprintln!(
            "golive: cannot write golive.log in {}: {e}",
            run_dir.display()
        );
    }
    tracing::info!(run_dir = %run_dir.display(), "fleet run started");
    let outcome = if let Some(signals) = signals {
        crate::headless::fleet::run(handle, options, signals).await
    } else {
        let fleet::FleetHandle {
            events,
            commands,
            done,
            ..
        } = handle;
        if let Err(e) =
            golive_tui::fleet_loop::run(events, commands, golive_tui::TuiOptions::default(), live)
                .await
        {
            eprintln!("golive: the console stopped: {e:#}");
        }
        done.await.unwrap_or(FleetOutcome::Interrupted)
    };
    FleetEnd {
        code: outcome.exit_code(),
        run_dir: Some(run_dir),
        outcome: Some(outcome),
    }
}

/// Whether the fleet run in `dir` started with the waves `fleet` has now (same names, same
/// targets in each): a resumed fleet must be the same fleet. Says what changed when not.
fn same_waves(dir: &Path, fleet: &Fleet) -> bool {
    let now: Vec<(String, Vec<String>)> = fleet
        .waves
        .iter()
        .map(|w| {
            let names = w.targets.iter().map(|&t| fleet.targets[t].name.clone());
            (w.name.clone(), names.collect())
        })
        .collect();
    let then = fleet::journal::read(dir).ok().and_then(|records| {
        records.into_iter().find_map(|r| match r.entry {
            fleet::journal::FleetEntry::FleetStarted { waves, .. } => Some(waves),
            _ => None,
        })
    });
    match then {
        Some(then) if then == now => true,
        then => {
            let show = |waves: &[(String, Vec<String>)]| {
                waves
                    .iter()
                    .map(|(w, t)| format!("{w}: {}", t.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            eprintln!(
                "golive: the targets or the plan changed since the fleet run in {} started: it \
                 ran {}; the targets file now gives {}. Resume with the targets and plan it \
                 started with (variables may change), or start a new fleet run without --resume",
                dir.display(),
                then.as_deref()
                    .map_or_else(|| "(unknown)".to_string(), show),
                show(&now)
            );
            false
        }
    }
}

/// Narrow `fleet` to the targets the latest fleet run under `root` changed, in one wave named
/// `rollback-<id>`: the rollback of the set. Prints why not and gives the exit code when there
/// is nothing to roll back.
fn rollback_set(
    fleet: &mut Fleet,
    runbook: &Runbook,
    id: &str,
    root: &Path,
    resume: bool,
) -> Result<(), ExitCode> {
    if resume {
        eprintln!(
            "golive: a fleet rollback is not resumed: run it again (targets already rolled back \
             run their rollback again, which rollbacks are written to allow)"
        );
        return Err(2);
    }
    let Some(previous) = fleet::journal::latest(root) else {
        eprintln!("golive: no fleet run here to roll back; nothing was run");
        return Err(2);
    };
    let changed: Vec<(usize, String)> = (0..fleet.targets.len())
        .filter_map(|t| {
            let journal = previous
                .join("targets")
                .join(&fleet.targets[t].name)
                .join("journal.jsonl");
            let read = golive_core::journal::read_journal(&journal).ok()?;
            Some((t, changed_by(runbook, &read)?))
        })
        .collect();
    if changed.is_empty() {
        eprintln!(
            "golive: no target went live or began a step that changes it in {}; nothing to roll \
             back",
            previous.display()
        );
        return Err(2);
    }
    let names: Vec<String> = changed
        .iter()
        .map(|(t, why)| format!("{} ({why})", fleet.targets[*t].name))
        .collect();
    eprintln!(
        "golive: rolling back `{id}` on the targets the fleet run in {} changed: {}",
        previous.display(),
        names.join(", ")
    );
    fleet.targets = changed
        .iter()
        .map(|(t, _)| fleet.targets[*t].clone())
        .collect();
    fleet.waves = vec![fleet::Wave {
        name: format!("rollback-{id}"),
        targets: (0..changed.len()).collect(),
    }];
    fleet.pause = Duration::ZERO;
    Ok(())
}

/// Why a target belongs in the rollback of the set, from its journal: it went live, or it failed
/// or stopped after a step that changes things (destructive, or a flag flip) began on it: the
/// flags of a target whose watch failed are on, and a destructive step that failed may have done
/// part of its work. `None`: nothing of it changed.
fn changed_by(runbook: &Runbook, journal: &golive_core::journal::JournalRead) -> Option<String> {
    use golive_core::events::Outcome;
    use golive_core::runbook::StepKind;
    let outcome = journal.outcome();
    if outcome == Some(Outcome::Passed) {
        return Some("went live".into());
    }
    let began = journal.steps();
    let last = runbook.steps.iter().rev().find(|s| {
        (s.destructive || matches!(s.kind, StepKind::Flags(_))) && began.contains_key(&s.id)
    })?;
    let how = outcome.map_or("stopped".to_string(), |o| format!("{o:?}").to_lowercase());
    Some(format!("{how} after `{}` began", last.id))
}

/// What golive says once a fleet run is over: how it ended, where its journals are.
pub(crate) fn farewell(outcome: Option<FleetOutcome>, run_dir: &Path, mode: RunMode) -> String {
    let how = outcome.map_or("did not finish", FleetOutcome::label);
    let what = match mode {
        RunMode::Run => "fleet run",
        RunMode::Rehearse => "fleet rehearsal",
    };
    let next = match (outcome, mode) {
        (Some(FleetOutcome::Passed), _) | (_, RunMode::Rehearse) => "",
        _ => "; `golive run --targets FILE --resume` continues it",
    };
    let dir = run_dir.display();
    format!(
        "golive: the {what} {how}{next}.\n  fleet journal: {dir}/{}\n  each target's journal: \
         {dir}/targets/<name>/ (golive report {dir}/targets/<name>)\n",
        fleet::journal::FILE
    )
}
