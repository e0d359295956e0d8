//! `runbook run`: a scenario's steps without the TUI.
//!
//! Resolves the target (scenario id, runbook id or file, `--scenario`, `--procedure`), checks
//! up front that every placeholder has a value (or can be asked on a terminal), then loops
//! over the steps through [`crate::drive::Driver`] (the one the TUI uses too), with the
//! [`print::Printer`] as its host: text for people or, with `--json`, JSON lines. Its own
//! rule: after a step fails, the rest are skipped.
//! SIGINT, SIGHUP and SIGTERM cancel the running command's whole process group, then exit.
//!
//! Here: the run from flags to exit status, one function per stage (the target, the pinned
//! context, the shell, the driver, the steps, the session's end). [`print`]: how events are
//! shown (to print a new event, see there).

mod print;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::RunArgs;
use crate::cluster::Workspace;
use crate::cluster::guard::Guard;
use crate::config::Config;
use crate::drive::{Driver, Ending, Procedure, Recording, Setup};
use crate::exec::process;
use crate::exec::runner::{Options, RunMode, Shell};
use crate::exec::vars::{Origin, Vars};
use crate::runbook::{Runbook, Scenario};
use print::Printer;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Target(#[from] crate::target::UserError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Runs `runbook run`; the exit code says whether every step passed.
pub fn run_headless(args: &RunArgs) -> Result<ExitCode, RunError> {
    let (runbook, scenario) = resolve(&args.target, args.scenario.as_deref(), &args.paths)?;
    if let Some(code) = unreviewed(&runbook, &scenario) {
        return Ok(code);
    }
    let procedure = procedure(args, runbook, &scenario)?;
    let total = procedure.steps.len();

    let timeout = crate::duration::parse(&args.timeout).ok_or_else(|| {
        RunError::Usage(format!(
            "--timeout {}: use a duration like 90s or 10m",
            args.timeout
        ))
    })?;
    let config = crate::config::Config::load(crate::config::path().as_deref())
        .map_err(|e| RunError::Usage(format!("config: {e}")))?;
    let nodes = config
        .ssh
        .node_options(&args.nodes)
        .map_err(RunError::Usage)?;
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    // A Palette cluster's kubeconfig, fetched for this run (kept until it ends).
    let palette = (args.palette_cluster.as_deref())
        .map(|name| {
            crate::config::palette_settings(&crate::palette::config::Overrides::default())
                .and_then(|settings| crate::palette::pin::fetch_blocking(settings, name))
        })
        .transpose()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let mut workspace = pin_context(args, &config, palette.as_ref())?;
    let guard = workspace.guard();
    let context_name = workspace.pinned().map(|p| p.entry.name.clone());
    let shell = shell(args, &workspace)?;
    let can_ask = tty && !args.json;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mode = RunMode::from_flags(args.yes, args.read_only, args.dry_run);
    // Read-only and dry-run go through runbook's gate at the cluster API (served on `rt`).
    let guarded = mode.guarded(guard);
    if guarded.read_only() || guarded.dry_run() {
        let _enter = rt.enter();
        workspace.start_gate();
    }
    let setup = Setup {
        options: Options {
            nodes,
            default_timeout: timeout,
            save_output: args.save_output.clone(),
            terminal: can_ask,
            ..Options::default()
        },
        mode,
        guard,
        context: context_name,
        recording: if args.no_session {
            None
        } else {
            Recording::new(config.session_output_limit, None)
        },
        // A fetched runbook got here only after `runbook show`: no question per step.
        confirm_origin: false,
        gate: workspace.gate_handle(),
    };
    let mut driver = Driver::new(procedure, shell, setup);
    if !args.json {
        say_guarantee(&driver, &workspace);
    }
    let from = args.from_step - 1;
    if !can_ask && let Some(missing) = missing_values(&driver, from) {
        eprintln!("{missing}");
        return Ok(ExitCode::from(2));
    }
    driver.start_recording();
    if let Some(e) = &driver.record_error {
        eprintln!("runbook: not recording a session: {e}");
    }

    let dry_run = driver.mode().dry_run();
    let mut printer = Printer::new(args, can_ask, workspace, total, dry_run);
    let (code, interrupted) = rt.block_on(run_steps(&mut driver, from, &mut printer));
    process::cleanup();
    finish(&mut driver, interrupted);
    Ok(code)
}

/// A fetched runbook runs only once its current content has been shown: the exit status
/// (2) when it has not been, after saying why.
fn unreviewed(runbook: &Runbook, scenario: &Scenario) -> Option<ExitCode> {
    let fetched = runbook.fetched.as_ref()?;
    if fetched.is_reviewed(&scenario.id) {
        return None;
    }
    let what = if fetched.seen_before {
        "changed since you last looked"
    } else {
        "has not been shown yet"
    };
    eprintln!(
        "runbook: {} was fetched from {} and {what}; read it with `runbook show {}` first",
        scenario.id, fetched.url, scenario.id
    );
    Some(ExitCode::from(2))
}

/// The procedure `--procedure` names, checked against `--from-step`.
fn procedure(
    args: &RunArgs,
    runbook: Runbook,
    scenario: &Scenario,
) -> Result<Arc<Procedure>, RunError> {
    let procedure_index = pick_procedure(scenario, args.procedure.as_deref())?;
    let scenario_index = runbook
        .scenarios
        .iter()
        .position(|s| s.id == scenario.id)
        .unwrap_or_default();
    let procedure = Arc::new(Procedure::new(
        Arc::new(runbook),
        scenario_index,
        procedure_index,
    ));
    let total = procedure.steps.len();
    if args.from_step == 0 || args.from_step > total.max(1) {
        return Err(RunError::Usage(format!(
            "--from-step {}: the procedure has {total} steps",
            args.from_step,
        )));
    }
    Ok(procedure)
}

/// The context: pinned in a kubeconfig of its own, with the config's guard rail; a
/// protected one needs its name with `--yes`. Said on stderr unless `--json`.
fn pin_context(
    args: &RunArgs,
    config: &Config,
    palette: Option<&crate::palette::pin::Fetched>,
) -> Result<Workspace, RunError> {
    let workspace = Workspace::open(
        palette.map(crate::palette::pin::Fetched::path),
        args.context.as_deref(),
        args.namespace.as_deref(),
        config.contexts.clone(),
    )
    .map_err(|e| RunError::Usage(e.to_string()))?;
    let guard = workspace.guard();
    let context_name = workspace.pinned().map(|p| p.entry.name.clone());
    if guard == Guard::ConfirmName
        && args.yes
        && args.confirm_context.as_deref() != context_name.as_deref()
    {
        return Err(RunError::Usage(format!(
            "context {} is protected by your config: --yes needs --confirm-context {0}",
            context_name.as_deref().unwrap_or_default()
        )));
    }
    if let (Some(p), false) = (workspace.pinned(), args.json) {
        eprintln!(
            "context {} ({}), namespace {}{}",
            p.entry.name,
            p.entry.server,
            p.namespace,
            guard.badge().map(|b| format!(", {b}")).unwrap_or_default()
        );
    }
    Ok(workspace)
}

/// The shell the steps start in: this process's environment, the pinned kubeconfig, and the
/// `--var` values.
fn shell(args: &RunArgs, workspace: &Workspace) -> Result<Shell, RunError> {
    let mut shell = Shell::from_current();
    if let Some((k, v)) = workspace.env() {
        shell.env.insert(k.into(), v.into());
    }
    for assignment in &args.vars {
        let (name, value) =
            Vars::parse_assignment(assignment).map_err(|e| RunError::Usage(e.to_string()))?;
        shell.vars.set(&name, value, Origin::Cli);
    }
    Ok(shell)
}

/// What read-only or dry-run guarantees here, and why the gate is missing if it is.
fn say_guarantee(driver: &Driver, workspace: &Workspace) {
    if let Some(why) = workspace.gate_problem.as_deref() {
        eprintln!("runbook: the gate could not start: {why}");
    }
    let mode = driver.mode();
    if let Some(line) =
        crate::cluster::gate::guarantee(mode.read_only(), mode.dry_run(), driver.gated())
    {
        eprintln!("{line}");
    }
}

/// The error for placeholders from step `from` on that have no value (and nobody to ask),
/// one `file:line` each.
fn missing_values(driver: &Driver, from: usize) -> Option<String> {
    let missing = driver.missing_from(from);
    if missing.is_empty() {
        return None;
    }
    let path = driver.procedure.runbook.path.clone();
    let lines: Vec<String> = missing
        .iter()
        .map(|m| {
            format!(
                "  {}:{}: step {}: {} (pass --var {}=VALUE)",
                path.display(),
                m.line,
                m.step,
                m.raw,
                m.name
            )
        })
        .collect();
    Some(format!(
        "runbook: missing placeholder values:\n{}",
        lines.join("\n")
    ))
}

/// The steps from `from` on, cancelled by a signal: the exit code, and whether a signal
/// ended the run.
async fn run_steps(driver: &mut Driver, from: usize, printer: &mut Printer) -> (ExitCode, bool) {
    let (handle, mut cancel) = process::Cancel::new();
    let signal = tokio::spawn(watch_signals(handle));
    let summary = driver.run_through(from, printer, &mut cancel).await;
    let sig = if signal.is_finished() {
        signal.await.ok().flatten()
    } else {
        signal.abort();
        None
    };
    match sig {
        Some(sig) => (
            ExitCode::from(128u8.saturating_add(u8::try_from(sig).unwrap_or(0))),
            true,
        ),
        None if summary.success => (ExitCode::SUCCESS, false),
        None => (ExitCode::from(1), false),
    }
}

/// Closes the session record, if there is one, and says where it is.
fn finish(driver: &mut Driver, interrupted: bool) {
    let ending = if interrupted {
        Ending::Interrupted
    } else {
        Ending::Finished
    };
    if let Some(id) = driver.session_id().map(str::to_owned) {
        match driver.finish(ending) {
            Some(e) => eprintln!("runbook: the session could not be saved: {e}"),
            None => eprintln!(
                "runbook: session {id} saved; `runbook report {id}` writes its transcript"
            ),
        }
    }
}

/// Waits for SIGINT/SIGHUP/SIGTERM, cancels, and returns the signal number.
async fn watch_signals(handle: process::CancelHandle) -> Option<i32> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut hup = signal(SignalKind::hangup()).ok()?;
    let mut term = signal(SignalKind::terminate()).ok()?;
    let sig = loop {
        tokio::select! {
            _ = int.recv() => {
                // A Ctrl-C typed into an interactive command (same process group) is its own.
                if !process::INTERACTIVE_RUNNING.load(std::sync::atomic::Ordering::SeqCst) {
                    break 2;
                }
            }
            _ = hup.recv() => break 1,
            _ = term.recv() => break 15,
        }
    };
    handle.cancel();
    Some(sig)
}

/// The runbook and scenario named by `target` (a file or folder, a scenario id, a runbook id)
/// and `scenario` (for a target with several).
pub fn resolve(
    target: &str,
    scenario: Option<&str>,
    paths: &[std::path::PathBuf],
) -> Result<(Runbook, Scenario), RunError> {
    let named = crate::target::resolve(target, paths)?;
    Ok(crate::target::pick_scenario(target, named, scenario)?)
}

/// The 0-based index of the procedure named by its number or (part of) its title.
pub fn pick_procedure(scenario: &Scenario, want: Option<&str>) -> Result<usize, RunError> {
    let Some(want) = want else { return Ok(0) };
    if let Ok(n) = want.parse::<usize>()
        && (1..=scenario.procedures.len()).contains(&n)
    {
        return Ok(n - 1);
    }
    let lower = want.to_lowercase();
    scenario
        .procedures
        .iter()
        .position(|p| p.title.to_lowercase().contains(&lower))
        .ok_or_else(|| {
            let titles: Vec<String> = scenario
                .procedures
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{} {}", i + 1, p.title))
                .collect();
            RunError::Usage(format!(
                "--procedure {want}: no such procedure; there are: {}",
                titles.join(", ")
            ))
        })
}
