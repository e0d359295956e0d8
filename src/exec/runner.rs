//! Running a procedure: steps in order, each through the safety gates, with placeholders
//! filled, output streamed as [`Event`]s, the environment carried like a shell session, and a
//! verdict per step.
//!
//! The runner knows nothing about screens. Whoever drives it implements [`Host`]: it gets
//! every [`Event`], answers prompts (a placeholder value, a confirmation) and lends the
//! terminal to interactive commands. The headless `runbook run` prints events as text or
//! JSON lines; the TUI will turn them into state updates (its `Host::emit` should forward
//! them through a channel and may drop `Output` events under pressure: the step's
//! [`OutputBuffer`] stays the source of truth for what is shown).
//!
//! Gates, in order, for each command block: on-node and interactive plans (run only when a
//! terminal is there, else the step is pending), `--read-only` refuses destructive commands
//! (the step is blocked), destructive commands need [`Host::confirm`] (`--yes` in headless),
//! `--dry-run` emits the filled-in command and runs nothing.
//!
//! To add a gate, add it to [`Runner::run_block`] and give it a [`Verdict`] if it is new.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::judge::{self, Expectations, OutputMatch};
use super::nodes::{self, Node, NodeEvent, NodeOptions, NodeResult, NodesReport, Source};
use super::output::{Limits, OutputBuffer, Stream};
use super::plan::{self, BlockPlan, StepPlan};
use super::process::{self, Cancel, CommandOutcome, CommandSpec, OutputSink, Terminal};
use super::vars::{Origin, Vars};
use crate::runbook::placeholder::{self, Placeholder};
use crate::runbook::{Block, PlaceholderDoc, Step};

/// Default bound for every command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Between SIGINT, SIGTERM and SIGKILL on cancel.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Destructive commands and manual steps count as confirmed.
    pub yes: bool,
    /// Refuse destructive commands.
    pub read_only: bool,
    /// Show the filled-in commands, run nothing.
    pub dry_run: bool,
    pub default_timeout: Duration,
    pub grace: Duration,
    /// Write each command's full (masked) output to this folder.
    pub save_output: Option<PathBuf>,
    /// 1-based index (in the flattened step list) of the first step to run.
    pub from_step: usize,
    pub limits: Limits,
    /// Interactive commands can be handed a terminal.
    pub terminal: bool,
    /// Where `target=nodes` blocks run (off: left to the user, as on-node steps).
    pub nodes: NodeOptions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            yes: false,
            read_only: false,
            dry_run: false,
            default_timeout: DEFAULT_TIMEOUT,
            grace: DEFAULT_GRACE,
            save_output: None,
            from_step: 1,
            limits: Limits::default(),
            terminal: false,
            nodes: NodeOptions::default(),
        }
    }
}

/// The shell-session state carried from step to step.
#[derive(Debug, Clone)]
pub struct Shell {
    pub vars: Vars,
    pub env: BTreeMap<OsString, OsString>,
    pub cwd: PathBuf,
}

impl Shell {
    /// Starts from this process's environment and working directory.
    pub fn from_current() -> Self {
        Self {
            vars: Vars::new(),
            env: std::env::vars_os().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir()),
        }
    }

    /// Applies the environment a command left behind: changed or new exported variables are
    /// set, unexported ones removed; secret-looking ones are masked from now on.
    pub fn apply(&mut self, after: &process::EnvSnapshot) {
        for (k, v) in &after.vars {
            if self.env.get(k) != Some(v) {
                let name = k.to_string_lossy();
                if placeholder::looks_secret(&name) {
                    self.vars.add_secret_value(&v.to_string_lossy());
                }
                self.env.insert(k.clone(), v.clone());
            }
        }
        self.env.retain(|k, _| {
            after.vars.contains_key(k)
                || [process::MARKER_VAR, "PWD", "OLDPWD", "SHLVL", "_"]
                    .iter()
                    .any(|s| k == *s)
        });
        if let Some(cwd) = &after.cwd
            && cwd.is_dir()
        {
            self.cwd.clone_from(cwd);
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Failed,
    /// A gate refused to run it (`--read-only`, no confirmation).
    Blocked,
    /// Not run: an earlier step failed or the run was cancelled.
    Skipped,
    /// No command: the user acted, confirmed with `--yes`.
    Manual,
    /// Needs the user (a manual step without `--yes`, an interactive or on-node command
    /// without a terminal).
    Pending,
    /// `--dry-run`: shown, not run.
    DryRun,
    Cancelled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
            Self::Skipped => "skipped",
            Self::Manual => "manual",
            Self::Pending => "pending",
            Self::DryRun => "dry-run",
            Self::Cancelled => "cancelled",
        }
    }

    /// Counts as done for the exit code.
    pub fn ok(self) -> bool {
        matches!(self, Self::Passed | Self::Manual | Self::DryRun)
    }
}

/// What the engine reports, in order. Serialised as `{"event": "step_started", ...}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    StepStarted {
        step: usize,
        number: String,
        title: String,
        plan: StepPlan,
    },
    /// A command is about to run (or, in a dry run, would run).
    CommandStarted {
        step: usize,
        block: usize,
        line: usize,
        /// The filled-in command, secrets masked.
        command: String,
        destructive: bool,
        interactive: bool,
        reasons: Vec<String>,
    },
    /// One or more complete lines (each ending in `\n`), secrets masked, ANSI kept.
    Output {
        step: usize,
        block: usize,
        stream: Stream,
        /// Milliseconds since the command started.
        ts_ms: u64,
        text: String,
    },
    /// The latest `\r` progress update of an unfinished line.
    Progress {
        step: usize,
        block: usize,
        stream: Stream,
        text: String,
    },
    CommandFinished {
        step: usize,
        block: usize,
        outcome: CommandOutcome,
        /// Why it failed its expectations (empty when it passed).
        failures: Vec<String>,
        output: OutputMatch,
    },
    /// A `target=nodes` block starts on one node (or, in a dry run, would).
    NodeStarted {
        step: usize,
        block: usize,
        node: String,
        address: String,
        /// The ssh command line, secrets masked.
        command: String,
    },
    /// Complete lines from one node, secrets masked.
    NodeOutput {
        step: usize,
        block: usize,
        node: String,
        stream: Stream,
        ts_ms: u64,
        text: String,
    },
    NodeFinished {
        step: usize,
        block: usize,
        result: NodeResult,
    },
    /// Every node is done: the outputs side by side, differences and clock skew marked.
    NodesCompared {
        step: usize,
        block: usize,
        report: NodesReport,
    },
    /// Something the user should read: a gate, a skipped alternative, an on-node command.
    Notice {
        step: usize,
        text: String,
    },
    StepFinished {
        step: usize,
        number: String,
        verdict: Verdict,
        reasons: Vec<String>,
        /// Output lines dropped from the middle of the step's buffer.
        dropped_lines: u64,
    },
    Summary(Summary),
}

/// The end of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub total: usize,
    pub counts: BTreeMap<&'static str, usize>,
    pub steps: Vec<(String, Verdict)>,
    /// Every step passed (or was manual and confirmed, or a dry run).
    pub success: bool,
    pub cancelled: bool,
}

/// What the engine asks of whoever drives it.
pub trait Host {
    fn emit(&mut self, event: Event);
    /// A value for a placeholder; `None` when there is no way to ask.
    fn prompt(&mut self, placeholder: &Placeholder, doc: Option<&PlaceholderDoc>)
    -> Option<String>;
    /// May this destructive command run? (`--yes` answers before this is asked.)
    fn confirm(&mut self, command: &str, reasons: &[String]) -> bool;
    fn terminal(&mut self) -> &mut dyn Terminal;
}

/// A placeholder without a value, where it is first needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// Normalised name: what `--var NAME=VALUE` takes.
    pub name: String,
    /// As written in the runbook (`<mgmt-pod-name>`, `[path_to_kubeconfig]`, `REPLACE ME`).
    pub raw: String,
    /// Display number of the step.
    pub step: String,
    /// 1-based line in the runbook file.
    pub line: usize,
}

/// A step to run: its display number, title and model.
pub struct StepRef<'a> {
    pub number: String,
    pub step: &'a Step,
}

/// Runs the steps of one procedure.
pub struct Runner<'h, H: Host> {
    pub opts: Options,
    pub shell: Shell,
    pub host: &'h mut H,
    pub cancel: Cancel,
    /// Placeholder docs from the runbook's front matter.
    pub docs: BTreeMap<String, PlaceholderDoc>,
    step_outputs: Vec<OutputBuffer>,
    /// The nodes `target=nodes` blocks run on, once looked up (or why there are none).
    node_list: Option<Result<Vec<Node>, String>>,
}

struct StepSink<'a, H: Host> {
    host: &'a mut H,
    vars: &'a Vars,
    buffer: &'a mut OutputBuffer,
    file: Option<std::io::BufWriter<std::fs::File>>,
    step: usize,
    block: usize,
}

impl<H: Host> OutputSink for StepSink<'_, H> {
    fn lines(&mut self, stream: Stream, ts: Duration, bytes: &[u8]) {
        let masked = self.vars.mask_bytes(bytes);
        if let Some(f) = &mut self.file {
            let _ = f.write_all(&masked);
        }
        self.buffer.push(stream, ts, &masked);
        let text = match std::str::from_utf8(&masked) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&masked).into_owned(),
        };
        let ts_ms = u64::try_from(ts.as_millis()).unwrap_or(u64::MAX);
        self.host.emit(Event::Output {
            step: self.step,
            block: self.block,
            stream,
            ts_ms,
            text,
        });
    }

    fn progress(&mut self, stream: Stream, text: &[u8]) {
        let masked = self.vars.mask_bytes(text);
        let text = String::from_utf8_lossy(&masked).into_owned();
        self.host.emit(Event::Progress {
            step: self.step,
            block: self.block,
            stream,
            text,
        });
    }
}

/// Per-step result inside the runner.
struct StepResult {
    verdict: Verdict,
    reasons: Vec<String>,
}

impl<'h, H: Host> Runner<'h, H> {
    pub fn new(opts: Options, shell: Shell, host: &'h mut H, cancel: Cancel) -> Self {
        Self {
            opts,
            shell,
            host,
            cancel,
            docs: BTreeMap::new(),
            step_outputs: Vec::new(),
            node_list: None,
        }
    }

    /// The output kept for step `i` (0-based index of the steps passed to [`Self::run`]).
    pub fn output(&self, i: usize) -> Option<&OutputBuffer> {
        self.step_outputs.get(i)
    }

    /// Placeholders that would have no value, over every step from `from_step`, once per
    /// name, where they are first needed. Values captured by earlier steps count; blocks that
    /// will not run here (on a node, manual, interactive without a terminal) do not.
    pub fn missing_values(&self, steps: &[StepRef<'_>]) -> Vec<Missing> {
        let flat: Vec<(String, &Step)> = steps.iter().map(|s| (s.number.clone(), s.step)).collect();
        let plans = plan::plan_steps(&flat);
        let mut known: Vec<String> = Vec::new();
        let mut out: Vec<Missing> = Vec::new();
        for (i, (s, p)) in steps.iter().zip(&plans).enumerate() {
            if i + 1 < self.opts.from_step {
                continue;
            }
            for b in self.chosen_blocks(s.step, p, &known) {
                let block = &s.step.blocks[b];
                let runs_here = p
                    .blocks
                    .iter()
                    .find(|pb| pb.index == b)
                    .is_some_and(|pb| self.runs_here(&pb.plan, block));
                if !runs_here {
                    continue;
                }
                if let Some(name) = capture_name(block) {
                    known.push(placeholder::normalise(&name));
                }
                for ph in Vars::placeholders(&block.code) {
                    let have = self.shell.vars.get(&ph.name).is_some() || known.contains(&ph.name);
                    if !have && !out.iter().any(|o| o.name == ph.name) {
                        let before = &block.code[..ph.start];
                        out.push(Missing {
                            raw: ph.raw(&block.code).to_owned(),
                            line: block.line + 1 + before.matches('\n').count(),
                            step: s.number.clone(),
                            name: ph.name,
                        });
                    }
                }
            }
        }
        out
    }

    /// Will a block with this plan run on this machine (or, in a dry run, be shown filled in)?
    fn runs_here(&self, plan: &BlockPlan, block: &Block) -> bool {
        match plan {
            BlockPlan::OnNode(_) => self.fans_out(block),
            BlockPlan::Manual(_) => false,
            BlockPlan::Interactive => self.opts.terminal || self.opts.dry_run,
            BlockPlan::Run | BlockPlan::Alternative(_) => true,
        }
    }

    /// Is this block run on every node over ssh (rather than left to the user)?
    fn fans_out(&self, block: &Block) -> bool {
        plan::targets_nodes(block) && self.opts.nodes.source != Source::Off
    }

    /// The nodes to run on: the configured list, or the cluster's (looked up once).
    async fn node_list(&mut self) -> Result<Vec<Node>, String> {
        if self.node_list.is_none() {
            let found = match &self.opts.nodes.source {
                Source::Off => Err("steps on nodes are off".to_owned()),
                Source::List(list) if list.is_empty() => Err("the node list is empty".to_owned()),
                Source::List(list) => Ok(list.clone()),
                Source::Cluster => nodes::discover(&self.shell.env).await.map_err(|e| {
                    format!("{e}; name the nodes with --node or [ssh] nodes in the config")
                }),
            };
            self.node_list = Some(found);
        }
        self.node_list
            .clone()
            .unwrap_or_else(|| Err("no node list".to_owned()))
    }

    /// Indices of the blocks that will run (plan Run/Interactive/OnNode, one per tab group).
    fn chosen_blocks(&self, step: &Step, plan: &StepPlan, known: &[String]) -> Vec<usize> {
        let mut out = Vec::new();
        let tabs: Vec<&plan::PlannedBlock> = plan
            .blocks
            .iter()
            .filter(|b| matches!(b.plan, BlockPlan::Alternative(_)))
            .collect();
        if let Some(best) = self.choose_tab(step, &tabs, known) {
            out.push(best);
        }
        for b in &plan.blocks {
            if !matches!(b.plan, BlockPlan::Alternative(_)) {
                out.push(b.index);
            }
        }
        out.sort_unstable();
        out
    }

    /// Among tabbed alternatives, the first whose placeholders and `$VARS` are all known;
    /// else the first without unknown placeholders; else the first.
    fn choose_tab(
        &self,
        step: &Step,
        tabs: &[&plan::PlannedBlock],
        known: &[String],
    ) -> Option<usize> {
        let placeholders_known = |i: usize| {
            Vars::placeholders(&step.blocks[i].code)
                .iter()
                .all(|p| self.shell.vars.get(&p.name).is_some() || known.contains(&p.name))
        };
        let env_known = |i: usize| {
            shell_vars(&step.blocks[i].code).iter().all(|v| {
                self.shell.env.contains_key(&OsString::from(v))
                    || known.contains(&placeholder::normalise(v))
            })
        };
        let uses_vars = |i: usize| !shell_vars(&step.blocks[i].code).is_empty();
        tabs.iter()
            .find(|b| placeholders_known(b.index) && env_known(b.index) && uses_vars(b.index))
            .or_else(|| {
                tabs.iter()
                    .find(|b| placeholders_known(b.index) && env_known(b.index))
            })
            .or_else(|| tabs.first())
            .map(|b| b.index)
    }

    /// Runs `steps` in order and emits a summary.
    pub async fn run(&mut self, steps: &[StepRef<'_>]) -> Summary {
        let flat: Vec<(String, &Step)> = steps.iter().map(|s| (s.number.clone(), s.step)).collect();
        let plans = plan::plan_steps(&flat);
        let mut summary = Summary {
            total: steps.len(),
            ..Summary::default()
        };
        let mut stop: Option<Verdict> = None;
        let mut known: Vec<String> = Vec::new();
        for (i, (s, plan)) in steps.iter().zip(plans).enumerate() {
            self.step_outputs.push(OutputBuffer::new(self.opts.limits));
            if i + 1 < self.opts.from_step {
                continue;
            }
            let title = first_line(&s.step.text);
            self.host.emit(Event::StepStarted {
                step: i,
                number: s.number.clone(),
                title,
                plan: plan.clone(),
            });
            let result = if let Some(v) = stop {
                StepResult {
                    verdict: Verdict::Skipped,
                    reasons: vec![format!("an earlier step was {}", v.as_str())],
                }
            } else {
                self.run_step(i, s.step, &plan, &mut known).await
            };
            if matches!(result.verdict, Verdict::Failed | Verdict::Cancelled) && stop.is_none() {
                stop = Some(result.verdict);
            }
            if self.cancel.is_cancelled() && stop.is_none() {
                stop = Some(Verdict::Cancelled);
            }
            let dropped_lines = self.step_outputs.last().map_or(0, |b| b.dropped_lines);
            self.host.emit(Event::StepFinished {
                step: i,
                number: s.number.clone(),
                verdict: result.verdict,
                reasons: result.reasons,
                dropped_lines,
            });
            *summary.counts.entry(result.verdict.as_str()).or_default() += 1;
            summary.steps.push((s.number.clone(), result.verdict));
        }
        summary.cancelled = self.cancel.is_cancelled();
        summary.success = !summary.cancelled && summary.steps.iter().all(|(_, v)| v.ok());
        self.host.emit(Event::Summary(summary.clone()));
        summary
    }

    async fn run_step(
        &mut self,
        i: usize,
        step: &Step,
        plan: &StepPlan,
        known: &mut Vec<String>,
    ) -> StepResult {
        if plan.manual {
            return if self.opts.yes {
                StepResult {
                    verdict: Verdict::Manual,
                    reasons: vec!["no command: done by hand (--yes)".to_owned()],
                }
            } else {
                StepResult {
                    verdict: Verdict::Pending,
                    reasons: vec![
                        "no command: do it by hand, then pass --yes to confirm manual steps"
                            .to_owned(),
                    ],
                }
            };
        }
        let chosen = self.chosen_blocks(step, plan, known);
        for b in &plan.blocks {
            if let BlockPlan::Alternative(tab) = &b.plan
                && !chosen.contains(&b.index)
            {
                self.host.emit(Event::Notice {
                    step: i,
                    text: format!("alternative \"{tab}\" not run"),
                });
            }
        }
        let mut reasons = Vec::new();
        let mut verdict = Verdict::Passed;
        for index in chosen {
            let Some(planned) = plan.blocks.iter().find(|b| b.index == index) else {
                continue;
            };
            let block = &step.blocks[index];
            if let Some(name) = capture_name(block) {
                known.push(placeholder::normalise(&name));
            }
            let (v, mut why) = self.run_block(i, step, planned).await;
            reasons.append(&mut why);
            verdict = worse(verdict, v);
            if matches!(v, Verdict::Failed | Verdict::Cancelled) {
                break;
            }
        }
        if self.opts.dry_run && verdict == Verdict::Passed {
            verdict = Verdict::DryRun;
        }
        StepResult { verdict, reasons }
    }

    async fn run_block(
        &mut self,
        i: usize,
        step: &Step,
        planned: &plan::PlannedBlock,
    ) -> (Verdict, Vec<String>) {
        let block = &step.blocks[planned.index];
        let class = &planned.class;
        // Placeholder values: asked once per name, here or from the host; only for a block
        // that will run here (an on-node or manual block is shown as the runbook has it).
        let mut runs_here = self.runs_here(&planned.plan, block);
        // A block for every node needs the node list; without one it is the user's to run.
        let mut node_list: Vec<Node> = Vec::new();
        let mut no_nodes: Option<String> = None;
        if runs_here && matches!(planned.plan, BlockPlan::OnNode(_)) {
            match self.node_list().await {
                Ok(list) => node_list = list,
                Err(e) => {
                    no_nodes = Some(e);
                    runs_here = false;
                }
            }
        }
        let on_nodes = runs_here && matches!(planned.plan, BlockPlan::OnNode(_));
        if runs_here {
            let docs = &self.docs;
            let host = &mut *self.host;
            let mut ask = |p: &Placeholder| host.prompt(p, docs.get(&p.name));
            if let Err(e) = self.shell.vars.resolve(&block.code, &mut ask) {
                return (Verdict::Blocked, vec![e.to_string()]);
            }
        }
        let filled = match self.shell.vars.fill(&block.code) {
            Ok(f) => f,
            Err(_) if !runs_here => super::vars::Filled {
                script: block.code.clone(),
                display: self.shell.vars.mask(&block.code).into_owned(),
            },
            Err(e) => return (Verdict::Blocked, vec![e.to_string()]),
        };
        self.host.emit(Event::CommandStarted {
            step: i,
            block: planned.index,
            line: block.line,
            command: filled.display.clone(),
            destructive: class.destructive,
            interactive: class.interactive,
            reasons: class.reasons.clone(),
        });
        match &planned.plan {
            BlockPlan::OnNode(_) if on_nodes => {}
            BlockPlan::OnNode(why) | BlockPlan::Manual(why) => {
                let text = if matches!(planned.plan, BlockPlan::OnNode(_)) {
                    match &no_nodes {
                        Some(e) => format!(
                            "run this on the node yourself: {why} (no nodes to run it on: {e})"
                        ),
                        None => format!("run this on the node yourself: {why}"),
                    }
                } else {
                    format!("not run here: {why}")
                };
                self.host.emit(Event::Notice {
                    step: i,
                    text: text.clone(),
                });
                return (
                    if self.opts.yes {
                        Verdict::Manual
                    } else {
                        Verdict::Pending
                    },
                    vec![text],
                );
            }
            BlockPlan::Interactive if !self.opts.terminal && !self.opts.dry_run => {
                return (
                    Verdict::Pending,
                    vec!["interactive: needs a terminal".to_owned()],
                );
            }
            _ => {}
        }
        if class.destructive {
            if self.opts.read_only {
                let text = format!("refused by --read-only: {}", class.reasons.join("; "));
                self.host.emit(Event::Notice {
                    step: i,
                    text: text.clone(),
                });
                return (Verdict::Blocked, vec![text]);
            }
            if !self.opts.dry_run
                && !self.opts.yes
                && !self.host.confirm(&filled.display, &class.reasons)
            {
                let text = format!(
                    "not confirmed ({}); pass --yes to run destructive commands",
                    class.reasons.join("; ")
                );
                self.host.emit(Event::Notice {
                    step: i,
                    text: text.clone(),
                });
                return (Verdict::Blocked, vec![text]);
            }
        }
        if self.opts.dry_run {
            if on_nodes {
                let ssh = &self.opts.nodes.ssh;
                for (node, command) in
                    node_list
                        .iter()
                        .zip(nodes::commands(&node_list, ssh, &filled.script))
                {
                    self.host.emit(Event::NodeStarted {
                        step: i,
                        block: planned.index,
                        node: node.name.clone(),
                        address: node.address(),
                        command: self.shell.vars.mask(&command).into_owned(),
                    });
                }
            }
            return (Verdict::DryRun, Vec::new());
        }
        let expectations = match Expectations::from_block(block) {
            Ok(e) => e,
            Err(e) => return (Verdict::Failed, vec![e.to_string()]),
        };
        let timeout = block
            .attribute("timeout")
            .and_then(parse_duration)
            .unwrap_or(self.opts.default_timeout);
        if on_nodes {
            return self
                .run_on_nodes(
                    i,
                    planned.index,
                    &node_list,
                    &filled.script,
                    timeout,
                    &expectations,
                )
                .await;
        }
        let spec = CommandSpec {
            script: filled.script,
            env: self.shell.env.clone(),
            cwd: self.shell.cwd.clone(),
            timeout,
            grace: self.opts.grace,
            interactive: planned.plan == BlockPlan::Interactive,
            capture_env: may_change_env(&block.code),
        };
        let Some(buffer) = self.step_outputs.get_mut(i) else {
            return (Verdict::Failed, vec!["internal: no buffer".to_owned()]);
        };
        let watch_expect = expectations.expect.as_ref().and_then(|re| buffer.watch(re));
        let watch_no = expectations
            .expect_no
            .as_ref()
            .and_then(|re| buffer.watch(re));
        let file = self.opts.save_output.as_ref().and_then(|dir| {
            let _ = std::fs::create_dir_all(dir);
            let name = format!("step-{:02}-line-{}.log", i + 1, block.line);
            std::fs::File::create(dir.join(name))
                .ok()
                .map(std::io::BufWriter::new)
        });
        if spec.interactive && self.host.terminal().suspend().is_err() {
            return (
                Verdict::Failed,
                vec!["could not hand over the terminal".to_owned()],
            );
        }
        let mut sink = StepSink {
            host: &mut *self.host,
            vars: &self.shell.vars,
            buffer,
            file,
            step: i,
            block: planned.index,
        };
        let result = process::run(&spec, &mut sink, &mut self.cancel).await;
        if let Some(mut f) = sink.file.take() {
            let _ = f.flush();
        }
        if spec.interactive {
            let _ = self.host.terminal().resume();
        }
        let outcome = match result {
            Ok(o) => o,
            Err(e) => return (Verdict::Failed, vec![e.to_string()]),
        };
        let Some(buffer) = self.step_outputs.get(i) else {
            return (Verdict::Failed, Vec::new());
        };
        let saw = |w: Option<usize>| w.is_some_and(|w| buffer.found(w));
        let mut failures = judge::judge(
            &expectations,
            outcome.exit_code,
            saw(watch_expect),
            saw(watch_no),
        );
        if outcome.timed_out {
            failures.retain(|f| f != judge::KILLED);
            failures.insert(0, format!("timed out after {}", humanize(timeout)));
        }
        let expected = judge::expected_output(step, planned.index).map(|b| b.code.as_str());
        let capture = capture_name(block);
        // Materialise the kept stdout only when something reads it.
        let stdout = if expected.is_some() || capture.is_some() {
            buffer.text(Stream::Stdout)
        } else {
            String::new()
        };
        let output = if spec.interactive {
            OutputMatch::NoExpectation
        } else {
            judge::compare_output(expected, &stdout)
        };
        // The environment follows the command like a shell's would; capture only from a
        // command that did what it should.
        if let Some(after) = &outcome.env_after {
            self.shell.apply(after);
        }
        if failures.is_empty()
            && !outcome.cancelled
            && let Some(name) = capture
        {
            if buffer.stdout_dropped {
                failures.push(format!("capture={name}: the output was too large to keep"));
            } else if stdout.trim().is_empty() {
                // Later steps would run with an empty value (`kubectl delete pod ""`).
                failures.push(format!(
                    "capture={name}: the command printed nothing to keep"
                ));
            } else {
                let value = stdout.trim().to_owned();
                self.shell
                    .env
                    .insert(OsString::from(&name), OsString::from(&value));
                self.shell.vars.set(&name, value, Origin::Step);
            }
        }
        let cancelled = outcome.cancelled;
        self.host.emit(Event::CommandFinished {
            step: i,
            block: planned.index,
            outcome,
            failures: failures.clone(),
            output,
        });
        if cancelled {
            (Verdict::Cancelled, vec!["cancelled".to_owned()])
        } else if failures.is_empty() {
            (Verdict::Passed, Vec::new())
        } else {
            (Verdict::Failed, failures)
        }
    }
}

impl<H: Host> Runner<'_, H> {
    /// Runs a filled-in block on every node and reports the comparison.
    async fn run_on_nodes(
        &mut self,
        i: usize,
        block: usize,
        node_list: &[Node],
        script: &str,
        timeout: Duration,
        expectations: &Expectations,
    ) -> (Verdict, Vec<String>) {
        let job = nodes::Job {
            script,
            env: &self.shell.env,
            cwd: &self.shell.cwd,
            timeout,
            grace: self.opts.grace,
            limits: self.opts.limits,
            vars: &self.shell.vars,
            expectations,
        };
        let host = &mut *self.host;
        let mut kept = self.step_outputs.get_mut(i);
        let mut emit = |ev: NodeEvent| match ev {
            NodeEvent::Started {
                node,
                address,
                command,
            } => host.emit(Event::NodeStarted {
                step: i,
                block,
                node,
                address,
                command,
            }),
            NodeEvent::Output {
                node,
                stream,
                ts_ms,
                text,
            } => {
                // The step's buffer keeps every node's lines, prefixed with the node's name.
                if let Some(b) = kept.as_deref_mut() {
                    let mut prefixed = String::new();
                    for l in text.lines() {
                        prefixed.push('[');
                        prefixed.push_str(&node);
                        prefixed.push_str("] ");
                        prefixed.push_str(l);
                        prefixed.push('\n');
                    }
                    b.push(stream, Duration::from_millis(ts_ms), prefixed.as_bytes());
                }
                host.emit(Event::NodeOutput {
                    step: i,
                    block,
                    node,
                    stream,
                    ts_ms,
                    text,
                });
            }
            NodeEvent::Finished(result) => host.emit(Event::NodeFinished {
                step: i,
                block,
                result,
            }),
        };
        let runs = nodes::fan_out(
            node_list,
            &self.opts.nodes.ssh,
            &job,
            &self.cancel,
            &mut emit,
        )
        .await;
        let report = nodes::report(&runs, self.opts.nodes.ssh.max_skew);
        let mut failures = Vec::new();
        let mut cancelled = false;
        for r in &runs {
            let res = &r.result;
            if res.error == Some(nodes::NodeError::Cancelled) {
                cancelled = true;
            } else if let Some(m) = &res.message {
                failures.push(m.clone());
            } else if !res.failures.is_empty() {
                failures.push(format!("{}: {}", res.node, res.failures.join("; ")));
            }
        }
        let skewed: Vec<String> = report
            .columns
            .iter()
            .filter(|c| c.skewed)
            .map(|c| {
                format!(
                    "{} clock {}",
                    c.result.node,
                    c.offset
                        .map(nodes::compare::format_offset)
                        .unwrap_or_default()
                )
            })
            .collect();
        self.host.emit(Event::NodesCompared {
            step: i,
            block,
            report,
        });
        if cancelled {
            return (Verdict::Cancelled, vec!["cancelled".to_owned()]);
        }
        if !skewed.is_empty() {
            // Skew is a finding, not a failure of the check: the steps that fix it follow.
            self.host.emit(Event::Notice {
                step: i,
                text: format!("clock skew: {}", skewed.join(", ")),
            });
        }
        if failures.is_empty() {
            (Verdict::Passed, Vec::new())
        } else {
            (Verdict::Failed, failures)
        }
    }
}

fn worse(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v: Verdict| match v {
        Verdict::Passed | Verdict::DryRun => 0,
        Verdict::Manual => 1,
        Verdict::Pending => 2,
        Verdict::Blocked => 3,
        Verdict::Skipped => 4,
        Verdict::Failed => 5,
        Verdict::Cancelled => 6,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Builtins that can change the exported environment or the working directory.
const ENV_CHANGERS: &[&str] = &[
    "export",
    "cd",
    "pushd",
    "popd",
    "source",
    ".",
    "declare",
    "typeset",
    "set",
    "unset",
    "eval",
    "readonly",
    "printf",
    "read",
    "mapfile",
    "readarray",
    "local",
];

/// Can this block change the session (exported variables, working directory)? Reading the
/// environment back costs bash an `export -p` and runbook a file read per command, so it is
/// skipped for blocks that only run programs. Plain assignments count (`PATH=...` changes an
/// exported variable); so do the builtins above, anywhere in the block outside substitutions
/// and subshells (function bodies included).
pub fn may_change_env(code: &str) -> bool {
    // Depth 0 only: substitutions and `( ... )` subshells cannot change this shell.
    super::shell::parse(code)
        .commands
        .iter()
        .filter(|c| c.depth == 0)
        .any(|c| {
            (c.words.is_empty() && !c.assignments.is_empty())
                || c.words
                    .first()
                    .is_some_and(|w| ENV_CHANGERS.contains(&w.as_str()))
        })
}

/// `capture=NAME`, or runme's `name=NAME` when NAME is `UPPER_CASE`.
pub fn capture_name(block: &Block) -> Option<String> {
    if let Some(n) = block.attribute("capture").filter(|n| !n.is_empty()) {
        return Some(n.to_owned());
    }
    block
        .attribute("name")
        .filter(|n| {
            n.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && n.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
}

/// `$NAME` and `${NAME}` references (not `$1`, `$?`, `${x:-y}` defaults count as uses).
fn shell_vars(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1 + usize::from(bytes.get(i + 1) == Some(&b'{'));
            let len = bytes[start.min(bytes.len())..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if len > 0 && !bytes[start].is_ascii_digit() {
                let name = &code[start..start + len];
                if !out.iter().any(|o| o == name) {
                    out.push(name.to_owned());
                }
            }
            i = start + len;
        } else {
            i += 1;
        }
    }
    out
}

/// `90s`, `2m`, `1h`, `500ms`, `1m30s`, or a number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (num, after) = rest.split_at(digits);
        let n: f64 = num.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" | "sec" => n,
            "m" | "min" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(secs);
        rest = next;
    }
    Some(total)
}

/// `1m30s` style.
pub fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(100).collect();
    if line.chars().count() > 100 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("x"), None);
    }

    #[test]
    fn capture_names() {
        let block = |attrs: &[(&str, &str)]| Block {
            kind: crate::runbook::BlockKind::Command,
            language: Some("bash".to_owned()),
            line: 1,
            code: "echo x".to_owned(),
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            highlight: Vec::new(),
            close_call: None,
            editable: true,
            runs_as_is: false,
        };
        assert_eq!(
            capture_name(&block(&[("capture", "POD")])).as_deref(),
            Some("POD")
        );
        // runme: an UPPER_CASE name stores stdout; a lower-case name only names the cell.
        assert_eq!(
            capture_name(&block(&[("name", "MGMT_POD")])).as_deref(),
            Some("MGMT_POD")
        );
        assert_eq!(capture_name(&block(&[("name", "list-pods")])), None);
    }

    #[test]
    fn env_changers() {
        assert!(may_change_env("export BASE_URL=x"));
        assert!(may_change_env("TOKEN=$(curl -s x)\nexport TOKEN"));
        assert!(may_change_env("PATH=/opt/bin:$PATH"));
        assert!(may_change_env("git clone x\ncd kairos"));
        assert!(may_change_env("f() { export A=1; }; f"));
        assert!(!may_change_env(
            "kubectl get pods --namespace hubble-system | grep mgmt"
        ));
        assert!(!may_change_env("FOO=1 kubectl get pods"));
        assert!(
            !may_change_env("echo \"$(cd /tmp && pwd)\""),
            "a substitution runs in a subshell"
        );
    }

    #[test]
    fn vars_referenced() {
        assert_eq!(
            shell_vars(r#"kubectl delete pod "$MGMT_POD" ${NS} $1 $?"#),
            ["MGMT_POD", "NS"]
        );
    }
}
