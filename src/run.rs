//! `runbook run`: a scenario's steps without the TUI.
//!
//! Resolves the target (scenario id, runbook id or file, `--scenario`, `--procedure`), checks
//! up front that every placeholder has a value (or can be asked on a terminal), then drives
//! [`crate::exec::Runner`] with a [`Host`] that prints: a header per step, the filled-in
//! command (secrets masked), the streamed output, a verdict per step and a summary; or, with
//! `--json`, one JSON object per line per event (an `output` object per output line).
//! SIGINT, SIGHUP and SIGTERM cancel the running command's whole process group, then exit.
//!
//! To print a new event, add its arm to [`Printer::emit`] (text and JSON).

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::RunArgs;
use crate::cluster::guard::Guard;
use crate::exec::process::{self, Inherit, Terminal};
use crate::exec::runner::{self, Event, Host, Options, Runner, Shell, StepRef, Verdict};
use crate::exec::vars::{Origin, Vars};
use crate::runbook::placeholder::Placeholder;
use crate::runbook::{Catalog, PlaceholderDoc, Runbook, Scenario};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Target(String),
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
    let procedure = pick_procedure(&scenario, args.procedure.as_deref())?;
    let intro = crate::exec::plan::intro_step(&scenario);
    let mut steps: Vec<StepRef<'_>> = Vec::new();
    if let Some(intro) = &intro {
        steps.push(StepRef {
            number: "0".to_owned(),
            step: intro,
        });
    }
    let steps_of_procedure = scenario
        .procedures
        .get(procedure)
        .map(|p| p.steps.as_slice())
        .unwrap_or_default();
    for (number, step) in crate::exec::plan::flatten(steps_of_procedure) {
        steps.push(StepRef { number, step });
    }
    if args.from_step == 0 || args.from_step > steps.len().max(1) {
        return Err(RunError::Usage(format!(
            "--from-step {}: the procedure has {} steps",
            args.from_step,
            steps.len()
        )));
    }

    let timeout = runner::parse_duration(&args.timeout).ok_or_else(|| {
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
    // The context: pinned in a kubeconfig of its own, with the config's guard rail.
    let workspace = crate::cluster::Workspace::open(
        None,
        args.context.as_deref(),
        args.namespace.as_deref(),
        config.contexts,
    )
    .map_err(|e| RunError::Usage(e.to_string()))?;
    let guard = workspace.guard();
    let context_name = workspace.pinned().map(|p| p.entry.name.clone());
    let protected = guard == Guard::ConfirmName;
    if protected && args.yes && args.confirm_context.as_deref() != context_name.as_deref() {
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
    let opts = Options {
        nodes,
        yes: args.yes,
        read_only: args.read_only || guard == Guard::ReadOnly,
        dry_run: args.dry_run || guard == Guard::DryRun,
        default_timeout: timeout,
        save_output: args.save_output.clone(),
        from_step: args.from_step,
        terminal: tty && !args.json,
        ..Options::default()
    };
    let mut session = Shell::from_current();
    if let Some((k, v)) = workspace.env() {
        session.env.insert(k.into(), v.into());
    }
    for assignment in &args.vars {
        let (name, value) =
            Vars::parse_assignment(assignment).map_err(|e| RunError::Usage(e.to_string()))?;
        session.vars.set(&name, value, Origin::Cli);
    }
    let docs = runbook.front_matter.placeholders.clone();
    let runbook_path = runbook.path.clone();
    for (name, doc) in &docs {
        if doc.secret {
            session.vars.mark_secret(name);
        }
    }

    let mut recorder = if args.no_session {
        None
    } else {
        start_session(args, &runbook, &scenario, procedure, &steps, &session)
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (handle, cancel) = process::Cancel::new();
    let mut printer = Printer {
        json: args.json,
        out: std::io::stdout(),
        can_ask: tty && !args.json,
        require_name: context_name.filter(|_| protected),
        terminal: Inherit,
        total: steps.len(),
        dry_run: args.dry_run,
        redact: args
            .redact
            .then(|| crate::session::report::redactor(&[]).into_stream()),
        clean: crate::sanitize::Sanitizer::stdout(),
        raw_output: args.raw_output,
    };
    let mut host = crate::session::Recorded {
        inner: &mut printer,
        recorder: recorder.as_mut(),
    };
    let mut vars_after = None;
    let mut interrupted = false;
    let code = rt.block_on(async {
        let signal = tokio::spawn(watch_signals(handle));
        let mut runner = Runner::new(opts, session, &mut host, cancel);
        runner.docs = docs;
        let missing = runner.missing_values(&steps);
        let can_prompt = tty && !args.json;
        if !missing.is_empty() && !can_prompt {
            let lines: Vec<String> = missing
                .iter()
                .map(|m| {
                    format!(
                        "  {}:{}: step {}: {} (pass --var {}=VALUE)",
                        runbook_path.display(),
                        m.line,
                        m.step,
                        m.raw,
                        m.name
                    )
                })
                .collect();
            eprintln!("runbook: missing placeholder values:\n{}", lines.join("\n"));
            return ExitCode::from(2);
        }
        let summary = runner.run(&steps).await;
        vars_after = Some(runner.shell.vars.clone());
        let sig = if signal.is_finished() {
            signal.await.ok().flatten()
        } else {
            signal.abort();
            None
        };
        if let Some(sig) = sig {
            interrupted = true;
            return ExitCode::from(128u8.saturating_add(u8::try_from(sig).unwrap_or(0)));
        }
        if summary.success {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    });
    process::cleanup();
    if let Some(recorder) = &mut recorder {
        if let Some(vars) = &vars_after {
            recorder.set_vars(vars);
        }
        if interrupted {
            recorder.interrupt();
        } else {
            recorder.finish();
        }
        match &recorder.error {
            Some(e) => eprintln!("runbook: the session could not be saved: {e}"),
            None => eprintln!(
                "runbook: session {} saved; `runbook report {}` writes its transcript",
                recorder.id(),
                recorder.id()
            ),
        }
    }
    Ok(code)
}

/// Creates the session of this run; a failure is reported and the run goes on unrecorded.
fn start_session(
    args: &RunArgs,
    runbook: &Runbook,
    scenario: &Scenario,
    procedure: usize,
    steps: &[StepRef<'_>],
    shell: &Shell,
) -> Option<crate::session::Recorder> {
    let root = crate::session::sessions_dir()?;
    let mode = if args.dry_run {
        "dry-run"
    } else if args.read_only {
        "read-only"
    } else if args.yes {
        "yes"
    } else {
        "confirm"
    };
    let mut record = crate::session::SessionRecord::new(&scenario.id, &runbook.path, mode);
    record.scenario_title.clone_from(&scenario.title);
    record.procedure = scenario.procedures.get(procedure).map(|p| p.title.clone());
    record.context = crate::session::current_context();
    record.output_limit = crate::config::Config::load(crate::config::path().as_deref())
        .ok()
        .and_then(|c| c.session_output_limit)
        .unwrap_or(crate::session::DEFAULT_OUTPUT_LIMIT);
    for (i, s) in steps.iter().enumerate() {
        let title = s.step.text.lines().next().unwrap_or_default();
        record.step_mut(i, &s.number, title);
    }
    let result = crate::session::Store::create(&root, &record.id)
        .and_then(|store| crate::session::Recorder::create(store, record));
    match result {
        Ok(mut r) => {
            r.set_vars(&shell.vars);
            Some(r)
        }
        Err(e) => {
            eprintln!("runbook: not recording a session: {e}");
            None
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

fn load_file(path: &Path) -> Result<Runbook, RunError> {
    let catalog = Catalog::load(&[path.to_owned()], false);
    catalog.runbooks.into_iter().next().ok_or_else(|| {
        RunError::Target(catalog.errors.first().map_or_else(
            || format!("{}: not a runbook", path.display()),
            ToString::to_string,
        ))
    })
}

/// The runbook and scenario named by `target` (a scenario id, a runbook id or file) and
/// `scenario` (for a runbook with several).
pub fn resolve(
    target: &str,
    scenario: Option<&str>,
    paths: &[std::path::PathBuf],
) -> Result<(Runbook, Scenario), RunError> {
    let path = Path::new(target);
    let runbook = if path.is_file() {
        load_file(path)?
    } else {
        let catalog = crate::fetch::load_catalog(paths, true);
        if let Some((r, s)) = catalog
            .runbooks
            .iter()
            .find_map(|r| r.scenario(target).map(|s| (r, s)))
        {
            return Ok((r.clone(), s.clone()));
        }
        catalog.runbook(target).cloned().ok_or_else(|| {
            RunError::Target(format!(
                "no scenario or runbook `{target}`; `runbook list` shows the ids"
            ))
        })?
    };
    let ids = || {
        runbook
            .scenarios
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let scenario = match scenario {
        Some(want) => runbook
            .scenarios
            .iter()
            .find(|s| s.id == want || s.id.rsplit('/').next() == Some(want))
            .ok_or_else(|| {
                RunError::Target(format!(
                    "{}: no scenario `{want}`; it has: {}",
                    target,
                    ids()
                ))
            })?,
        None => match runbook.scenarios.as_slice() {
            [only] => only,
            [] => {
                return Err(RunError::Target(format!("{target}: no scenario in it")));
            }
            _ => {
                return Err(RunError::Target(format!(
                    "{} has several scenarios; pick one with --scenario: {}",
                    target,
                    ids()
                )));
            }
        },
    };
    Ok((runbook.clone(), scenario.clone()))
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
    /// A protected context's name, to be typed before a destructive command runs.
    require_name: Option<String>,
    terminal: Inherit,
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
        let text = match &mut self.redact {
            Some(r) => r.chunk(text),
            None => text.to_owned(),
        };
        let text = if self.raw_output {
            std::borrow::Cow::Borrowed(text.as_str())
        } else {
            self.clean.clean(&text)
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
                let mut s = format!("   {status} in {}", runner::humanize(outcome.duration));
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

    fn prompt(
        &mut self,
        placeholder: &Placeholder,
        doc: Option<&PlaceholderDoc>,
    ) -> Option<String> {
        if !self.can_ask {
            return None;
        }
        let mut q = format!("Value for <{}>", placeholder.name);
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
        Self::ask(&q, placeholder.secret || doc.is_some_and(|d| d.secret))
    }

    fn confirm(&mut self, command: &str, reasons: &[String]) -> bool {
        if !self.can_ask {
            return false;
        }
        if let Some(name) = &self.require_name {
            let answer = Self::ask(
                &format!(
                    "{command}\nThis is destructive ({}) and context {name} is protected. \
                     Type its name to run it: ",
                    reasons.join("; ")
                ),
                false,
            );
            return answer.is_some_and(|a| a.trim() == name);
        }
        let answer = Self::ask(
            &format!(
                "{command}\nThis is destructive ({}). Run it? [y/N] ",
                reasons.join("; ")
            ),
            false,
        );
        answer.is_some_and(|a| matches!(a.trim(), "y" | "Y" | "yes"))
    }

    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.terminal
    }
}
