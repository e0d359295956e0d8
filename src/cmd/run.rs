//! `runbook run`: a scenario's steps without the TUI.
//!
//! Resolves the target (scenario id, runbook id or file, `--scenario`, `--procedure`), checks
//! up front that every placeholder has a value (or can be asked on a terminal), then loops
//! over the steps through [`crate::drive::Driver`] (the one the TUI uses too), with a [`Host`]
//! that prints: a header per step, the filled-in command (secrets masked), the streamed
//! output, a verdict per step and a summary; or, with `--json`, one JSON object per line per
//! event (an `output` object per output line). Its own rule: after a step fails, the rest
//! are skipped.
//! SIGINT, SIGHUP and SIGTERM cancel the running command's whole process group, then exit.
//!
//! To print a new event, add its arm to [`Printer::emit`] (text and JSON).

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use crate::cli::RunArgs;
use crate::cluster::guard::Guard;
use crate::drive::{Answers, Confirmation, Driver, Ending, Pin, Procedure, Recording, Setup};
use crate::exec::process::{self, Inherit, Terminal};
use crate::exec::runner::{Event, Host, Missing, Options, RunMode, Shell, Verdict};
use crate::exec::vars::{Origin, Vars};
use crate::runbook::{PlaceholderDoc, Runbook, Scenario};

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
    // A fetched runbook runs only once its current content has been shown.
    if let Some(fetched) = &runbook.fetched
        && !fetched.is_reviewed(&scenario.id)
    {
        let what = if fetched.seen_before {
            "changed since you last looked"
        } else {
            "has not been shown yet"
        };
        eprintln!(
            "runbook: {} was fetched from {} and {what}; read it with `runbook show {}` first",
            scenario.id, fetched.url, scenario.id
        );
        return Ok(ExitCode::from(2));
    }
    let procedure_index = pick_procedure(&scenario, args.procedure.as_deref())?;
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
    // The context: pinned in a kubeconfig of its own, with the config's guard rail.
    let mut workspace = crate::cluster::Workspace::open(
        palette.as_ref().map(crate::palette::pin::Fetched::path),
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
    let mut shell = Shell::from_current();
    if let Some((k, v)) = workspace.env() {
        shell.env.insert(k.into(), v.into());
    }
    for assignment in &args.vars {
        let (name, value) =
            Vars::parse_assignment(assignment).map_err(|e| RunError::Usage(e.to_string()))?;
        shell.vars.set(&name, value, Origin::Cli);
    }
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
    let from = args.from_step - 1;
    let missing = driver.missing_from(from);
    if !missing.is_empty() && !can_ask {
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
        eprintln!("runbook: missing placeholder values:\n{}", lines.join("\n"));
        return Ok(ExitCode::from(2));
    }
    driver.start_recording();
    if let Some(e) = &driver.record_error {
        eprintln!("runbook: not recording a session: {e}");
    }

    let mut printer = Printer {
        json: args.json,
        out: std::io::stdout(),
        can_ask,
        terminal: Inherit,
        workspace: Some(workspace),
        total,
        dry_run: driver.mode().dry_run(),
        redact: args
            .redact
            .then(|| crate::session::report::redactor(&[]).into_stream()),
        clean: crate::sanitize::Sanitizer::stdout(),
        raw_output: args.raw_output,
    };
    let (code, interrupted) = rt.block_on(async {
        let (handle, mut cancel) = process::Cancel::new();
        let signal = tokio::spawn(watch_signals(handle));
        let summary = driver.run_through(from, &mut printer, &mut cancel).await;
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
    });
    process::cleanup();
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
    Ok(code)
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

/// The headless [`Host`]: prints events, asks on a terminal when it can.
struct Printer {
    json: bool,
    out: std::io::Stdout,
    can_ask: bool,
    terminal: Inherit,
    /// The pinned context, followed when a step points `KUBECONFIG` elsewhere.
    workspace: Option<crate::cluster::Workspace>,
    total: usize,
    dry_run: bool,
    /// `--redact`: secrets in what is printed become markers.
    redact: Option<crate::session::redact::StreamRedactor>,
    /// Escapes and controls from runbooks and outputs are shown, not obeyed.
    clean: crate::sanitize::Sanitizer,
    /// `--raw-output`: commands' output byte for byte.
    raw_output: bool,
}

impl Printer {
    fn json_line(&mut self, value: &serde_json::Value) {
        let mut redacted;
        let value = match &mut self.redact {
            Some(r) => {
                redacted = value.clone();
                r.event(&mut redacted);
                &redacted
            }
            None => value,
        };
        let mut out = self.out.lock();
        let _ = serde_json::to_writer(&mut out, value);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }

    fn text(&mut self, text: &str) {
        let text = match &self.redact {
            Some(r) => r.other(text),
            None => text.to_owned(),
        };
        let mut out = self.out.lock();
        let _ = self.clean.write(&mut out, &text);
        let _ = out.flush();
    }

    /// A command's output: redacted line by line with `--redact`, shown safely unless
    /// `--raw-output`.
    fn output(&mut self, text: &str, stderr: bool) {
        let redacted;
        let text = match &mut self.redact {
            Some(r) => {
                redacted = r.chunk(text);
                redacted.as_str()
            }
            None => text,
        };
        let text = if self.raw_output {
            std::borrow::Cow::Borrowed(text)
        } else {
            self.clean.clean(text)
        };
        if stderr {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        } else {
            let mut out = self.out.lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    fn ask(question: &str, secret: bool) -> Option<String> {
        eprint!("{}", crate::sanitize::Sanitizer::stderr().clean(question));
        let _ = std::io::stderr().flush();
        let stdin = std::io::stdin();
        let saved = if secret { no_echo(&stdin) } else { None };
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if let Some(saved) = saved {
            let _ =
                nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &saved);
            eprintln!();
        }
        match read {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_owned()),
        }
    }
}

/// On a terminal, the questions a step's preflight leaves are asked there.
impl Answers for Printer {
    fn follow(&mut self, kubeconfig: Option<&std::path::Path>) -> Result<Pin, String> {
        let ws = self
            .workspace
            .as_ref()
            .ok_or_else(|| "no kubeconfig was pinned".to_owned())?
            .follow(kubeconfig)
            .map_err(|e| e.to_string())?;
        let pinned = ws
            .pinned()
            .cloned()
            .ok_or_else(|| "it has no context".to_owned())?;
        let pin = Pin {
            kubeconfig: pinned.path.clone(),
            context: pinned.entry.name.clone(),
            guard: ws.guard(),
        };
        if !self.json {
            eprintln!(
                "context {} ({}), namespace {}{}",
                pinned.entry.name,
                pinned.entry.server,
                pinned.namespace,
                pin.guard
                    .badge()
                    .map(|b| format!(", {b}"))
                    .unwrap_or_default()
            );
        }
        self.workspace = Some(ws);
        Ok(pin)
    }

    /// A value for a placeholder, asked on the terminal (without echo for a secret).
    fn value(&mut self, missing: &Missing, doc: Option<&PlaceholderDoc>) -> Option<String> {
        if !self.can_ask {
            return None;
        }
        let mut q = format!("Value for <{}>", missing.name);
        if let Some(d) = doc.and_then(|d| d.description.as_deref()) {
            q.push_str(" (");
            q.push_str(d);
            q.push(')');
        }
        if let Some(e) = doc.and_then(|d| d.example.as_deref()) {
            q.push_str(" [e.g. ");
            q.push_str(e);
            q.push(']');
        }
        q.push_str(": ");
        Printer::ask(&q, missing.secret || doc.is_some_and(|d| d.secret))
    }

    /// May the step's commands run? A protected context wants its name typed.
    fn confirm(&mut self, c: &Confirmation) -> bool {
        if !self.can_ask {
            return false;
        }
        let commands = c.commands.join("\n");
        let reasons = c.reasons.join("; ");
        if let Some(url) = &c.origin {
            eprintln!("These commands come from {url}, fetched from the network.");
        }
        if let Some(name) = &c.require_name {
            let answer = Printer::ask(
                &format!(
                    "{commands}\nThis is destructive ({reasons}) and context {name} is protected. \
                     Type its name to run it: "
                ),
                false,
            );
            return answer.is_some_and(|a| a.trim() == name);
        }
        let what = if reasons.is_empty() {
            String::new()
        } else {
            format!("This is destructive ({reasons}). ")
        };
        let answer = Printer::ask(&format!("{commands}\n{what}Run it? [y/N] "), false);
        answer.is_some_and(|a| matches!(a.trim(), "y" | "Y" | "yes"))
    }
}

/// Each node's output under a `== node (addr) ==` header, differing lines marked `!`, then
/// the comparison's summary.
fn nodes_text(report: &crate::exec::nodes::NodesReport) -> String {
    use crate::exec::nodes::compare::format_offset;
    let mut s = String::new();
    for c in &report.columns {
        let r = &c.result;
        let mut notes = Vec::new();
        if c.skewed
            && let Some(o) = c.offset
        {
            notes.push(format!("clock {}", format_offset(o)));
        }
        if let Some(m) = &r.message {
            notes.push(m.clone());
        } else {
            match (r.exit_code, r.signal) {
                (Some(0), _) => {}
                (Some(code), _) => notes.push(format!("exit {code}")),
                (None, Some(sig)) => notes.push(format!("signal {sig}")),
                _ => {}
            }
        }
        notes.extend(r.failures.iter().cloned());
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" {}", notes.join("; "))
        };
        let _ = writeln!(s, "== {} ({}) =={notes}", r.node, r.address);
        for (k, line) in c.lines.iter().enumerate() {
            s.push_str(if c.differing.contains(&k) { "! " } else { "  " });
            s.push_str(line);
            s.push('\n');
        }
    }
    let _ = writeln!(s, "   nodes: {}", report.summary);
    s
}

/// Turns terminal echo off; returns the settings to restore.
fn no_echo(stdin: &std::io::Stdin) -> Option<nix::sys::termios::Termios> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let saved = tcgetattr(stdin).ok()?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(stdin, SetArg::TCSANOW, &quiet).ok()?;
    Some(saved)
}

impl Host for Printer {
    fn emit(&mut self, event: Event) {
        if self.json {
            if let Event::Output {
                step,
                block,
                stream,
                ts_ms,
                text,
            } = &event
            {
                for line in text.lines() {
                    self.json_line(&json!({"event": "output", "step": step, "block": block, "stream": stream, "ts_ms": ts_ms, "line": line}));
                }
                return;
            }
            if let Event::NodeOutput {
                step,
                block,
                node,
                stream,
                ts_ms,
                text,
            } = &event
            {
                for line in text.lines() {
                    self.json_line(&json!({"event": "node_output", "step": step, "block": block, "node": node, "stream": stream, "ts_ms": ts_ms, "line": line}));
                }
                return;
            }
            if let Event::NodeFinished {
                step,
                block,
                result,
            } = &event
            {
                self.json_line(&json!({"event": "node_finished", "step": step, "block": block, "node": result.node, "result": result}));
                return;
            }
            if let Ok(value) = serde_json::to_value(&event) {
                self.json_line(&value);
            }
            return;
        }
        match event {
            Event::StepStarted {
                number,
                title,
                step,
                ..
            } => {
                self.text(&format!(
                    "\n── Step {number} ({}/{}) {title}\n",
                    step + 1,
                    self.total
                ));
            }
            Event::CommandStarted {
                command,
                destructive,
                line,
                ..
            } => {
                let mark = if destructive { " (destructive)" } else { "" };
                let mut shown = String::new();
                for (i, l) in command.lines().enumerate() {
                    shown.push_str(if i == 0 { "$ " } else { "  " });
                    shown.push_str(l);
                    shown.push('\n');
                }
                self.text(&format!("   line {line}{mark}\n{shown}"));
            }
            Event::Output { stream, text, .. } => {
                self.output(&text, stream == crate::exec::output::Stream::Stderr);
            }
            Event::Progress { .. } | Event::NodeOutput { .. } | Event::NodeFinished { .. } => {}
            Event::CommandFinished {
                outcome,
                failures,
                output,
                ..
            } => {
                let status = match (outcome.exit_code, outcome.signal) {
                    (Some(c), _) => format!("exit {c}"),
                    (None, Some(s)) => format!("signal {s}"),
                    _ => "ended".to_owned(),
                };
                let mut s = format!(
                    "   {status} in {}",
                    crate::duration::humanize(outcome.duration)
                );
                if !failures.is_empty() {
                    s.push_str(": ");
                    s.push_str(&failures.join("; "));
                }
                s.push('\n');
                match output {
                    crate::exec::judge::OutputMatch::Matches => {
                        s.push_str("   output matches the runbook's\n");
                    }
                    crate::exec::judge::OutputMatch::Differs { diff } => {
                        s.push_str("   output differs from the runbook's example:\n");
                        for l in diff.lines().take(40) {
                            s.push_str("     ");
                            s.push_str(l);
                            s.push('\n');
                        }
                    }
                    crate::exec::judge::OutputMatch::NoExpectation => {}
                }
                self.text(&s);
            }
            Event::Notice { text, .. } => self.text(&format!("   note: {text}\n")),
            Event::NodeStarted {
                node,
                address,
                command,
                ..
            } => {
                // A dry run shows each node's ssh command; a real run shows the outputs
                // together once every node is done.
                if self.dry_run {
                    self.text(&format!("== {node} ({address}) ==\n$ {command}\n"));
                }
            }
            Event::NodesCompared { report, .. } => {
                let text = nodes_text(&report);
                self.text(&text);
            }
            Event::StepFinished {
                number,
                verdict,
                reasons,
                dropped_lines,
                ..
            } => {
                let mark = match verdict {
                    Verdict::Passed | Verdict::Manual | Verdict::DryRun => "✔",
                    Verdict::Failed | Verdict::Cancelled => "✘",
                    _ => "•",
                };
                let why = if reasons.is_empty() {
                    String::new()
                } else {
                    format!(": {}", reasons.join("; "))
                };
                let dropped = if dropped_lines > 0 {
                    format!(" ({dropped_lines} output lines not kept)")
                } else {
                    String::new()
                };
                self.text(&format!(
                    "{mark} step {number} {}{why}{dropped}\n",
                    verdict.as_str()
                ));
            }
            Event::Summary(summary) => {
                let counts: Vec<String> = summary
                    .counts
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect();
                let result = if summary.success {
                    "all steps passed"
                } else {
                    "not every step passed"
                };
                self.text(&format!(
                    "\n{} steps: {} — {result}\n",
                    summary.total,
                    counts.join(", ")
                ));
            }
        }
    }

    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.terminal
    }
}
