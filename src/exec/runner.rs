//! Running a procedure: steps in order, each through the safety gates, with placeholders
//! filled, output streamed as [`Event`]s, the environment carried like a shell session, and a
//! verdict per step.
//!
//! The runner knows nothing about screens, and nothing about the order of steps: the driver
//! (`crate::drive`) owns the procedure and calls [`Runner::run_step`] for one step at a time,
//! lending it a [`Host`] for that step. The host gets every [`Event`], answers the prompts
//! the driver's preflight left (a placeholder value, a confirmation) and lends the terminal to
//! interactive commands. The headless `runbook run` prints events as text or JSON lines; the
//! TUI turns them into state updates (its `Host::emit` forwards them through a channel and
//! may drop `Output` events under pressure: the step's [`OutputBuffer`] stays the source of
//! truth for what is kept).
//!
//! Gates, in order, for each command block: on-node and interactive plans (run only when a
//! terminal is there, else the step is pending), read-only mode refuses what the classifier
//! cannot show to only read (the step is blocked; cluster writes are refused again at the API
//! by `cluster::gate`), a destructive command runs only when the step was confirmed, dry-run
//! mode emits the filled-in command and runs nothing, unless the commands go through the gate
//! and only read here ([`Options::cluster_gated`]): then they run, their cluster writes as
//! server-side dry runs.
//!
//! Each gate is a method of its own (`plan_gate`, `read_only_gate`, `confirm_gate`,
//! `dry_run_gate`) over the prepared block. To add a gate, write one more, chain it in
//! [`Runner::run_block`] and give it a [`Verdict`] if it is new.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::duration::{humanize, parse as parse_duration};

use super::judge::{self, Expectations, OutputMatch};
use super::nodes::{self, Node, NodeEvent, NodeOptions, NodeResult, NodesReport, Source};
use super::output::{Limits, OutputBuffer, Stream};
use super::plan::{self, BlockPlan, StepPlan};
use super::process::{self, Cancel, CommandOutcome, CommandSpec, OutputSink, Terminal};
use super::vars::{Origin, Vars};
use crate::runbook::placeholder;
use crate::runbook::{Block, PlaceholderDoc, Step};

/// Default bound for every command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Between SIGINT, SIGTERM and SIGKILL on cancel.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// What happens to destructive commands, for the TUI and `runbook run` alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunMode {
    /// Ask before each destructive command.
    #[default]
    Confirm,
    /// Destructive commands and manual steps count as confirmed (`runbook run --yes`).
    Yes,
    /// Run only what is shown to only read; cluster writes are refused (at the API when
    /// the gate runs).
    ReadOnly,
    /// Show the filled-in commands; through the gate, run what only reads here, cluster
    /// writes as server-side dry runs.
    DryRun,
}

impl RunMode {
    /// From `runbook run`'s flags: dry-run beats read-only beats `--yes`.
    pub fn from_flags(yes: bool, read_only: bool, dry_run: bool) -> Self {
        if dry_run {
            Self::DryRun
        } else if read_only {
            Self::ReadOnly
        } else if yes {
            Self::Yes
        } else {
            Self::Confirm
        }
    }

    /// The word the status bar, the `run` header and the session use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Yes => "yes",
            Self::ReadOnly => "read-only",
            Self::DryRun => "dry-run",
        }
    }

    /// The mode with a context's guard rail applied: the guard wins where it is stricter.
    #[must_use]
    pub fn guarded(self, guard: crate::cluster::guard::Guard) -> Self {
        use crate::cluster::guard::Guard;
        match (guard, self) {
            (Guard::ReadOnly, _) | (Guard::DryRun, Self::ReadOnly) => Self::ReadOnly,
            (Guard::DryRun, _) => Self::DryRun,
            (Guard::Normal | Guard::ConfirmName, mode) => mode,
        }
    }

    /// The TUI's `m`: confirm, read-only, dry-run, round again.
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            Self::Confirm | Self::Yes => Self::ReadOnly,
            Self::ReadOnly => Self::DryRun,
            Self::DryRun => Self::Confirm,
        }
    }

    pub fn read_only(self) -> bool {
        self == Self::ReadOnly
    }

    pub fn dry_run(self) -> bool {
        self == Self::DryRun
    }

    pub fn yes(self) -> bool {
        self == Self::Yes
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: RunMode,
    pub default_timeout: Duration,
    pub grace: Duration,
    /// Write each command's full (masked) output to this folder.
    pub save_output: Option<PathBuf>,
    pub limits: Limits,
    /// Interactive commands can be handed a terminal.
    pub terminal: bool,
    /// Where `target=nodes` blocks run (off: left to the user, as on-node steps).
    pub nodes: NodeOptions,
    /// The commands' kubeconfig points at runbook's gate (`cluster::gate`): cluster writes
    /// are refused at the API (read-only) or sent with `dryRun=All` (dry run).
    pub cluster_gated: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: RunMode::Confirm,
            default_timeout: DEFAULT_TIMEOUT,
            grace: DEFAULT_GRACE,
            save_output: None,
            limits: Limits::default(),
            terminal: false,
            nodes: NodeOptions::default(),
            cluster_gated: false,
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

/// What the engine needs from whoever drives a step: somewhere to report, and a terminal
/// to lend to interactive commands. Values and confirmations are settled before the step
/// starts (`crate::drive::Driver::preflight`).
pub trait Host {
    fn emit(&mut self, event: Event);
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
    /// The command line it sits in, to show where the value goes.
    pub context: String,
    /// Its value is a secret (the placeholder says so, or its name looks like one); the
    /// front matter's `secret:` is the driver's to add.
    pub secret: bool,
}

/// A step to run: its index in the procedure, its display number and model.
pub struct StepRef<'a> {
    pub index: usize,
    pub number: String,
    pub step: &'a Step,
}

/// Runs the steps of one procedure, one at a time, carrying the shell between them.
pub struct Runner {
    pub opts: Options,
    pub shell: Shell,
    /// Placeholder docs from the runbook's front matter.
    pub docs: BTreeMap<String, PlaceholderDoc>,
    /// runbook's credentials the runbook asked for ([`process::asked_credentials`]); the
    /// commands get no other ([`process::command_env`]).
    pub credentials: Vec<&'static str>,
    /// Per step index: its kept output, once it ran.
    step_outputs: Vec<Option<OutputBuffer>>,
    /// The nodes `target=nodes` blocks run on, once looked up (or why there are none).
    node_list: Option<Result<Vec<Node>, String>>,
    /// Names that `capture=` blocks of steps run so far set.
    known: Vec<String>,
    /// Per step index: the tabbed alternative (block index) the user chose.
    choices: BTreeMap<usize, usize>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("opts", &self.opts)
            .field("shell", &self.shell)
            .finish_non_exhaustive()
    }
}

struct StepSink<'a, H: Host + ?Sized> {
    host: &'a mut H,
    vars: &'a Vars,
    buffer: &'a mut OutputBuffer,
    file: Option<std::io::BufWriter<std::fs::File>>,
    step: usize,
    block: usize,
}

impl<H: Host + ?Sized> OutputSink for StepSink<'_, H> {
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

/// How one step ended, as the runner saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

impl Runner {
    pub fn new(opts: Options, shell: Shell) -> Self {
        Self {
            opts,
            shell,
            docs: BTreeMap::new(),
            credentials: Vec::new(),
            step_outputs: Vec::new(),
            node_list: None,
            known: Vec::new(),
            choices: BTreeMap::new(),
        }
    }

    /// The output kept for step `i`, once it ran.
    pub fn output(&self, i: usize) -> Option<&OutputBuffer> {
        self.step_outputs.get(i).and_then(Option::as_ref)
    }

    /// Placeholders that would have no value, over `steps` (each with its plan and index), once
    /// per name, where they are first needed. Values captured by earlier steps count; blocks
    /// that will not run here (on a node, manual, interactive without a terminal) do not.
    pub fn missing_values(&self, steps: &[(StepRef<'_>, &StepPlan)]) -> Vec<Missing> {
        let mut known: Vec<String> = self.known.clone();
        let mut out: Vec<Missing> = Vec::new();
        for (s, p) in steps {
            for b in self.chosen_blocks(s.index, s.step, p, &known) {
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
                        let raw = ph.raw(&block.code).to_owned();
                        let context = block
                            .code
                            .lines()
                            .find(|l| l.contains(&raw))
                            .unwrap_or_default()
                            .trim()
                            .to_owned();
                        out.push(Missing {
                            line: block.line + 1 + before.matches('\n').count(),
                            step: s.number.clone(),
                            secret: ph.secret
                                || placeholder::looks_secret(&ph.name)
                                || self.shell.vars.is_secret(&ph.name),
                            raw,
                            context,
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
            BlockPlan::Interactive => self.opts.terminal || self.opts.mode.dry_run(),
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

    /// Names set by `capture=` blocks of the steps run so far.
    pub fn known(&self) -> &[String] {
        &self.known
    }

    /// Step `i` runs the alternative in block `block` (the user's choice).
    pub fn choose(&mut self, i: usize, block: usize) {
        self.choices.insert(i, block);
    }

    /// The alternative the user chose for step `i`, if any.
    pub fn choice(&self, i: usize) -> Option<usize> {
        self.choices.get(&i).copied()
    }

    /// Indices of the blocks that will run (plan Run/Interactive/OnNode, and one per tab
    /// group: the user's choice, else [`Self::choose_tab`]'s).
    pub fn chosen_blocks(
        &self,
        i: usize,
        step: &Step,
        plan: &StepPlan,
        known: &[String],
    ) -> Vec<usize> {
        let mut out = Vec::new();
        let tabs: Vec<&plan::PlannedBlock> = plan
            .blocks
            .iter()
            .filter(|b| matches!(b.plan, BlockPlan::Alternative(_)))
            .collect();
        let chosen = self
            .choice(i)
            .filter(|c| tabs.iter().any(|t| t.index == *c))
            .or_else(|| self.choose_tab(step, &tabs, known));
        if let Some(best) = chosen {
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

    /// The rule when nobody chose: among tabbed alternatives, the first whose placeholders and
    /// `$VARS` are all known; else the first without unknown placeholders; else the first.
    pub fn choose_tab(
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

    /// Runs step `i` (its index in the procedure) with its plan. `confirmed`: the user agreed
    /// to the step's destructive commands before it started (the driver's preflight).
    pub async fn run_step<H: Host + ?Sized>(
        &mut self,
        i: usize,
        step: &Step,
        plan: &StepPlan,
        host: &mut H,
        cancel: &mut Cancel,
        confirmed: bool,
    ) -> StepResult {
        if self.step_outputs.len() <= i {
            self.step_outputs.resize_with(i + 1, || None);
        }
        self.step_outputs[i] = Some(OutputBuffer::new(self.opts.limits));
        if plan.manual {
            return if self.opts.mode.yes() {
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
        let chosen = self.chosen_blocks(i, step, plan, &self.known);
        for b in &plan.blocks {
            if let BlockPlan::Alternative(tab) = &b.plan {
                let text = if !chosen.contains(&b.index) {
                    format!("alternative \"{tab}\" not run")
                } else if self.choice(i) == Some(b.index) {
                    format!("alternative \"{tab}\": your choice")
                } else {
                    format!("alternative \"{tab}\": the first whose values are all known")
                };
                host.emit(Event::Notice { step: i, text });
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
                let name = placeholder::normalise(&name);
                if !self.known.contains(&name) {
                    self.known.push(name);
                }
            }
            let (v, mut why) = self
                .run_block(i, step, planned, host, cancel, confirmed)
                .await;
            reasons.append(&mut why);
            verdict = worse(verdict, v);
            if matches!(v, Verdict::Failed | Verdict::Cancelled) {
                break;
            }
        }
        if self.opts.mode.dry_run() && verdict == Verdict::Passed {
            verdict = Verdict::DryRun;
        }
        StepResult { verdict, reasons }
    }

    /// One command block through the gates, each a step of its own: prepare (values, nodes),
    /// announce, the plan's gate, read-only, confirmation, dry run; then run and judge it.
    async fn run_block<H: Host + ?Sized>(
        &mut self,
        i: usize,
        step: &Step,
        planned: &plan::PlannedBlock,
        host: &mut H,
        cancel: &mut Cancel,
        confirmed: bool,
    ) -> BlockEnd {
        let prepared = match self.prepare_block(step, planned).await {
            Ok(p) => p,
            Err(end) => return end,
        };
        host.emit(prepared.started(i));
        let gates = self
            .plan_gate(i, &prepared, host)
            .and_then(|()| self.read_only_gate(i, &prepared, host))
            .and_then(|()| self.confirm_gate(i, &prepared, host, confirmed))
            .and_then(|()| self.dry_run_gate(i, &prepared, host));
        if let Err(end) = gates {
            return end;
        }
        self.execute_block(i, step, prepared, host, cancel).await
    }

    /// Placeholder values filled in, and the node list looked up for a block on every node.
    /// Values are asked once per name before the step starts; only a block that will run
    /// here needs them (an on-node or manual block is shown as the runbook has it).
    async fn prepare_block<'a>(
        &mut self,
        step: &'a Step,
        planned: &'a plan::PlannedBlock,
    ) -> Result<PreparedBlock<'a>, BlockEnd> {
        let block = &step.blocks[planned.index];
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
            // Values were asked for before the step started; what is still missing blocks it.
            if let Err(e) = self.shell.vars.resolve(&block.code, &mut |_| None) {
                return Err((Verdict::Blocked, vec![e.to_string()]));
            }
        }
        let filled = match self.shell.vars.fill(&block.code) {
            Ok(f) => f,
            Err(_) if !runs_here => super::vars::Filled {
                script: block.code.clone(),
                display: self.shell.vars.mask(&block.code).into_owned(),
                secret: false,
            },
            Err(e) => return Err((Verdict::Blocked, vec![e.to_string()])),
        };
        Ok(PreparedBlock {
            block,
            planned,
            filled,
            on_nodes,
            node_list,
            no_nodes,
        })
    }

    /// On-node and manual blocks are the user's to run (unless they fan out over ssh); an
    /// interactive one needs a terminal.
    fn plan_gate<H: Host + ?Sized>(
        &self,
        i: usize,
        prepared: &PreparedBlock<'_>,
        host: &mut H,
    ) -> Result<(), BlockEnd> {
        match &prepared.planned.plan {
            BlockPlan::OnNode(_) if prepared.on_nodes => Ok(()),
            BlockPlan::OnNode(why) | BlockPlan::Manual(why) => {
                let text = if matches!(prepared.planned.plan, BlockPlan::OnNode(_)) {
                    match &prepared.no_nodes {
                        Some(e) => format!(
                            "run this on the node yourself: {why} (no nodes to run it on: {e})"
                        ),
                        None => format!("run this on the node yourself: {why}"),
                    }
                } else {
                    format!("not run here: {why}")
                };
                let verdict = if self.opts.mode.yes() {
                    Verdict::Manual
                } else {
                    Verdict::Pending
                };
                Err(refuse(host, i, verdict, text))
            }
            BlockPlan::Interactive if !self.opts.terminal && !self.opts.mode.dry_run() => Err((
                Verdict::Pending,
                vec!["interactive: needs a terminal".to_owned()],
            )),
            _ => Ok(()),
        }
    }

    /// Read-only runs only what is shown to only read (the gate guards the cluster).
    fn read_only_gate<H: Host + ?Sized>(
        &self,
        i: usize,
        prepared: &PreparedBlock<'_>,
        host: &mut H,
    ) -> Result<(), BlockEnd> {
        if self.opts.mode.read_only()
            && let Some(why) = prepared.planned.class.read_only_refusal()
        {
            let text = format!("refused in read-only mode: {why}");
            return Err(refuse(host, i, Verdict::Blocked, text));
        }
        Ok(())
    }

    /// A destructive command runs only when the step was confirmed (or `--yes`, or shown in
    /// a dry run).
    fn confirm_gate<H: Host + ?Sized>(
        &self,
        i: usize,
        prepared: &PreparedBlock<'_>,
        host: &mut H,
        confirmed: bool,
    ) -> Result<(), BlockEnd> {
        let class = &prepared.planned.class;
        if class.destructive && !self.opts.mode.dry_run() && !self.opts.mode.yes() && !confirmed {
            let text = format!(
                "not confirmed ({}); pass --yes to run destructive commands",
                class.reasons.join("; ")
            );
            return Err(refuse(host, i, Verdict::Blocked, text));
        }
        Ok(())
    }

    /// A dry run through the gate runs what only reads here; its cluster writes become
    /// server-side dry runs. Everything else is shown (on nodes: each node's ssh command).
    fn dry_run_gate<H: Host + ?Sized>(
        &self,
        i: usize,
        prepared: &PreparedBlock<'_>,
        host: &mut H,
    ) -> Result<(), BlockEnd> {
        if !self.opts.mode.dry_run() {
            return Ok(());
        }
        let class = &prepared.planned.class;
        let runs_dry = !prepared.on_nodes
            && prepared.planned.plan != BlockPlan::Interactive
            && class.runs_in_dry_run(self.opts.cluster_gated);
        if runs_dry {
            if !class.cluster_writes.is_empty() {
                host.emit(Event::Notice {
                    step: i,
                    text: "dry run: the API server checks these writes (dryRun=All) and keeps none"
                        .to_owned(),
                });
            }
            return Ok(());
        }
        if prepared.on_nodes {
            let ssh = &self.opts.nodes.ssh;
            let node_list = &prepared.node_list;
            for (node, command) in
                node_list
                    .iter()
                    .zip(nodes::commands(node_list, ssh, &prepared.filled.script))
            {
                host.emit(Event::NodeStarted {
                    step: i,
                    block: prepared.planned.index,
                    node: node.name.clone(),
                    address: node.address(),
                    command: self.shell.vars.mask(&command).into_owned(),
                });
            }
        }
        Err((Verdict::DryRun, Vec::new()))
    }

    /// Past the gates: runs the block here (or on every node) and judges it.
    async fn execute_block<H: Host + ?Sized>(
        &mut self,
        i: usize,
        step: &Step,
        prepared: PreparedBlock<'_>,
        host: &mut H,
        cancel: &mut Cancel,
    ) -> BlockEnd {
        let block = prepared.block;
        let expectations = match Expectations::from_block(block) {
            Ok(e) => e,
            Err(e) => return (Verdict::Failed, vec![e.to_string()]),
        };
        let timeout = block
            .attribute("timeout")
            .and_then(parse_duration)
            .unwrap_or(self.opts.default_timeout);
        if prepared.on_nodes {
            return self
                .run_on_nodes(
                    i,
                    prepared.planned.index,
                    &prepared.node_list,
                    &prepared.filled.script,
                    timeout,
                    &expectations,
                    host,
                    cancel,
                )
                .await;
        }
        let spec = CommandSpec {
            script: prepared.filled.script,
            env: process::command_env(&self.shell.env, &self.credentials),
            cwd: self.shell.cwd.clone(),
            timeout,
            grace: self.opts.grace,
            interactive: prepared.planned.plan == BlockPlan::Interactive,
            capture_env: may_change_env(&block.code),
            secret: prepared.filled.secret,
        };
        let ran = match self
            .run_command(
                i,
                prepared.planned.index,
                block,
                &spec,
                &expectations,
                host,
                cancel,
            )
            .await
        {
            Ok(ran) => ran,
            Err(end) => return end,
        };
        let command = JudgedCommand {
            step,
            index: prepared.planned.index,
            interactive: spec.interactive,
            timeout,
            expectations: &expectations,
        };
        self.judge_command(i, &command, ran, host)
    }

    /// Runs one command here, its output streamed to the host and kept in the step's buffer
    /// (and the `--save-output` file); the terminal is handed over to an interactive one.
    #[allow(clippy::too_many_arguments)]
    async fn run_command<H: Host + ?Sized>(
        &mut self,
        i: usize,
        index: usize,
        block: &Block,
        spec: &CommandSpec,
        expectations: &Expectations,
        host: &mut H,
        cancel: &mut Cancel,
    ) -> Result<Ran, BlockEnd> {
        let Some(buffer) = self.step_outputs.get_mut(i).and_then(Option::as_mut) else {
            return Err((Verdict::Failed, vec!["internal: no buffer".to_owned()]));
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
        if spec.interactive && host.terminal().suspend().is_err() {
            return Err((
                Verdict::Failed,
                vec!["could not hand over the terminal".to_owned()],
            ));
        }
        let mut sink = StepSink {
            host: &mut *host,
            vars: &self.shell.vars,
            buffer,
            file,
            step: i,
            block: index,
        };
        let result = process::run(spec, &mut sink, cancel).await;
        if let Some(mut f) = sink.file.take() {
            let _ = f.flush();
        }
        if spec.interactive {
            let _ = host.terminal().resume();
        }
        match result {
            Ok(outcome) => Ok(Ran {
                outcome,
                watch_expect,
                watch_no,
            }),
            Err(e) => Err((Verdict::Failed, vec![e.to_string()])),
        }
    }

    /// Judges a finished command against its expectations, carries its environment on,
    /// captures its output into a value, and reports it.
    fn judge_command<H: Host + ?Sized>(
        &mut self,
        i: usize,
        command: &JudgedCommand<'_>,
        ran: Ran,
        host: &mut H,
    ) -> BlockEnd {
        let Ran {
            outcome,
            watch_expect,
            watch_no,
        } = ran;
        let block = &command.step.blocks[command.index];
        let Some(buffer) = self.step_outputs.get(i).and_then(Option::as_ref) else {
            return (Verdict::Failed, Vec::new());
        };
        let saw = |w: Option<usize>| w.is_some_and(|w| buffer.found(w));
        let mut failures = judge::judge_outcome(
            command.expectations,
            &outcome,
            saw(watch_expect),
            saw(watch_no),
        );
        if outcome.timed_out {
            failures.retain(|f| f != judge::KILLED);
            failures.insert(0, format!("timed out after {}", humanize(command.timeout)));
        }
        let expected = judge::expected_output(command.step, command.index).map(|b| b.code.as_str());
        let capture = capture_name(block);
        // Materialise the kept stdout only when something reads it.
        let stdout = if expected.is_some() || capture.is_some() {
            buffer.text(Stream::Stdout)
        } else {
            String::new()
        };
        let output = if command.interactive {
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
        host.emit(Event::CommandFinished {
            step: i,
            block: command.index,
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

/// How a command block ended: its verdict and why.
type BlockEnd = (Verdict, Vec<String>);

/// A block with its values filled in, carried through the gates.
struct PreparedBlock<'a> {
    block: &'a Block,
    planned: &'a plan::PlannedBlock,
    filled: super::vars::Filled,
    /// It runs on every node over ssh.
    on_nodes: bool,
    node_list: Vec<Node>,
    /// Why there are no nodes to run an on-node block on.
    no_nodes: Option<String>,
}

impl PreparedBlock<'_> {
    /// The event that announces the block (filled in, secrets masked).
    fn started(&self, i: usize) -> Event {
        let class = &self.planned.class;
        Event::CommandStarted {
            step: i,
            block: self.planned.index,
            line: self.block.line,
            command: self.filled.display.clone(),
            destructive: class.destructive,
            interactive: class.interactive,
            reasons: class.reasons.clone(),
        }
    }
}

/// A command that ran here, before it is judged.
struct Ran {
    outcome: CommandOutcome,
    watch_expect: Option<usize>,
    watch_no: Option<usize>,
}

/// What judging a command needs to know about it.
struct JudgedCommand<'a> {
    step: &'a Step,
    index: usize,
    interactive: bool,
    timeout: Duration,
    expectations: &'a Expectations,
}

/// A gate said no: the notice the user reads, and the block's end.
fn refuse<H: Host + ?Sized>(host: &mut H, i: usize, verdict: Verdict, text: String) -> BlockEnd {
    host.emit(Event::Notice {
        step: i,
        text: text.clone(),
    });
    (verdict, vec![text])
}

impl Runner {
    /// Runs a filled-in block on every node and reports the comparison.
    #[allow(clippy::too_many_arguments)]
    async fn run_on_nodes<H: Host + ?Sized>(
        &mut self,
        i: usize,
        block: usize,
        node_list: &[Node],
        script: &str,
        timeout: Duration,
        expectations: &Expectations,
        host: &mut H,
        cancel: &Cancel,
    ) -> (Verdict, Vec<String>) {
        let env = process::command_env(&self.shell.env, &self.credentials);
        let job = nodes::Job {
            script,
            env: &env,
            cwd: &self.shell.cwd,
            timeout,
            grace: self.opts.grace,
            limits: self.opts.limits,
            vars: &self.shell.vars,
            expectations,
        };
        let mut kept = self.step_outputs.get_mut(i).and_then(Option::as_mut);
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
        let runs = nodes::fan_out(node_list, &self.opts.nodes.ssh, &job, cancel, &mut emit).await;
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
        host.emit(Event::NodesCompared {
            step: i,
            block,
            report,
        });
        if cancelled {
            return (Verdict::Cancelled, vec!["cancelled".to_owned()]);
        }
        if !skewed.is_empty() {
            // Skew is a finding, not a failure of the check: the steps that fix it follow.
            host.emit(Event::Notice {
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

#[cfg(test)]
mod tests {
    use super::*;

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
