//! What `runbook run` shows: the headless [`Host`] ([`Printer`]) and its two formats behind
//! one trait, [`Format`]: [`Text`] for people (a header per step, the filled-in command with
//! secrets masked, the streamed output, a verdict per step, a summary) and [`Json`] for
//! programs (one JSON object per line per event, an `output` object per output line). Both
//! write through [`Out`], which redacts with `--redact` and shows escapes instead of obeying
//! them. On a terminal, the questions a step's preflight leaves are asked on stderr.
//!
//! To print a new event, add its arm to [`Text::event`] (JSON gets every event serialized
//! unless [`Json::event`] shapes it).

use std::fmt::Write as _;
use std::io::{BufRead, Write};

use serde_json::json;

use crate::cli::RunArgs;
use crate::drive::{Answers, Confirmation, Pin};
use crate::exec::process::{Inherit, Terminal};
use crate::exec::runner::{Event, Host, Missing, Verdict};
use crate::runbook::PlaceholderDoc;

/// How the engine's events are printed.
trait Format {
    fn event(&mut self, out: &mut Out, event: Event);
}

/// The headless [`Host`]: prints events, asks on a terminal when it can.
pub(super) struct Printer {
    format: Box<dyn Format>,
    out: Out,
    json: bool,
    can_ask: bool,
    terminal: Inherit,
    /// The pinned context, followed when a step points `KUBECONFIG` elsewhere.
    workspace: Option<crate::cluster::Workspace>,
}

/// Where the printed events go: stdout (a command's stderr to stderr).
struct Out {
    stdout: std::io::Stdout,
    /// `--redact`: secrets in what is printed become markers.
    redact: Option<crate::session::redact::StreamRedactor>,
    /// Escapes and controls from runbooks and outputs are shown, not obeyed.
    clean: crate::sanitize::Sanitizer,
    /// `--raw-output`: commands' output byte for byte.
    raw_output: bool,
}

impl Printer {
    /// The printer `args` ask for, for a procedure of `total` steps.
    pub(super) fn new(
        args: &RunArgs,
        can_ask: bool,
        workspace: crate::cluster::Workspace,
        total: usize,
        dry_run: bool,
    ) -> Self {
        let format: Box<dyn Format> = if args.json {
            Box::new(Json)
        } else {
            Box::new(Text { total, dry_run })
        };
        Self {
            format,
            out: Out {
                stdout: std::io::stdout(),
                redact: args
                    .redact
                    .then(|| crate::session::report::redactor(&[]).into_stream()),
                clean: crate::sanitize::Sanitizer::stdout(),
                raw_output: args.raw_output,
            },
            json: args.json,
            can_ask,
            terminal: Inherit,
            workspace: Some(workspace),
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

impl Out {
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
        let mut out = self.stdout.lock();
        let _ = serde_json::to_writer(&mut out, value);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }

    fn text(&mut self, text: &str) {
        let text = match &self.redact {
            Some(r) => r.other(text),
            None => text.to_owned(),
        };
        let mut out = self.stdout.lock();
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
            let mut out = self.stdout.lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
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
        self.format.event(&mut self.out, event);
    }

    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.terminal
    }
}

/// `--json`: one object per line per event; output one object per line of it.
struct Json;

impl Format for Json {
    fn event(&mut self, out: &mut Out, event: Event) {
        if let Event::Output {
            step,
            block,
            stream,
            ts_ms,
            text,
        } = &event
        {
            for line in text.lines() {
                out.json_line(&json!({"event": "output", "step": step, "block": block, "stream": stream, "ts_ms": ts_ms, "line": line}));
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
                out.json_line(&json!({"event": "node_output", "step": step, "block": block, "node": node, "stream": stream, "ts_ms": ts_ms, "line": line}));
            }
            return;
        }
        if let Event::NodeFinished {
            step,
            block,
            result,
        } = &event
        {
            out.json_line(&json!({"event": "node_finished", "step": step, "block": block, "node": result.node, "result": result}));
            return;
        }
        if let Ok(value) = serde_json::to_value(&event) {
            out.json_line(&value);
        }
    }
}

/// Text for people, the output as the commands print it.
struct Text {
    total: usize,
    dry_run: bool,
}

impl Format for Text {
    fn event(&mut self, out: &mut Out, event: Event) {
        match event {
            Event::StepStarted {
                number,
                title,
                step,
                ..
            } => {
                out.text(&format!(
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
                out.text(&format!("   line {line}{mark}\n{shown}"));
            }
            Event::Output { stream, text, .. } => {
                out.output(&text, stream == crate::exec::output::Stream::Stderr);
            }
            Event::Progress { .. } | Event::NodeOutput { .. } | Event::NodeFinished { .. } => {}
            Event::CommandFinished {
                outcome,
                failures,
                output,
                ..
            } => out.text(&command_finished(&outcome, &failures, &output)),
            Event::Notice { text, .. } => out.text(&format!("   note: {text}\n")),
            Event::NodeStarted {
                node,
                address,
                command,
                ..
            } => {
                // A dry run shows each node's ssh command; a real run shows the outputs
                // together once every node is done.
                if self.dry_run {
                    out.text(&format!("== {node} ({address}) ==\n$ {command}\n"));
                }
            }
            Event::NodesCompared { report, .. } => {
                let text = nodes_text(&report);
                out.text(&text);
            }
            Event::StepFinished {
                number,
                verdict,
                reasons,
                dropped_lines,
                ..
            } => out.text(&step_finished(&number, verdict, &reasons, dropped_lines)),
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
                out.text(&format!(
                    "\n{} steps: {} — {result}\n",
                    summary.total,
                    counts.join(", ")
                ));
            }
        }
    }
}

/// How a command ended, why it failed, and how its output compares with the runbook's.
fn command_finished(
    outcome: &crate::exec::process::CommandOutcome,
    failures: &[String],
    output: &crate::exec::judge::OutputMatch,
) -> String {
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
    s
}

/// A step's verdict line: its mark, why, and how much output was not kept.
fn step_finished(number: &str, verdict: Verdict, reasons: &[String], dropped_lines: u64) -> String {
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
    format!("{mark} step {number} {}{why}{dropped}\n", verdict.as_str())
}
