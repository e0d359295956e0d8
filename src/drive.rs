//! One scenario driver for the TUI and `runbook run`.
//!
//! A [`Driver`] owns everything about running one procedure of one scenario, so that both
//! front ends do it the same way:
//!
//! - the flattened steps, the scenario's introduction first when it holds commands
//!   ([`Procedure`]), and the plans of the whole procedure: a remote shell opened by one step
//!   makes the next ones "run this on the node", whichever front end runs them and however
//!   many keypresses apart;
//! - the shell carried from step to step (environment, working directory, placeholder values,
//!   captured names), with the front matter's `secret:` placeholders masked whoever gave them;
//! - one [`RunMode`], with the context's guard rail applied, and runbook's gate
//!   (`crate::cluster::gate`) armed for it: in read-only and dry-run the commands' kubeconfig
//!   points at the gate, which holds cluster writes at the API;
//! - the session recorder, with its record built here once: the context of the kubeconfig the
//!   commands really use, the configured output bound, the mode's label.
//!
//! Front ends stay thin. [`Driver::preflight`] says what a step needs before it runs (values
//! nobody gave yet, the destructive commands to confirm, a protected context's name, a fetched
//! runbook's origin); the TUI answers with dialogs, `runbook run` with `--var`, `--yes` or
//! questions on its terminal. [`Driver::run_step`] then runs the step with a [`Host`] lent for
//! that step, and [`Driver::finish`] closes the session.
//!
//! It lives beside `exec` rather than inside it because it records sessions, and `session`
//! builds on `exec`'s types. To add a concern both front ends need (a gate, a fact in the
//! session), add it here once.

mod edit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::guard::Guard;
use crate::exec::plan::{self, BlockPlan, StepPlan};
use crate::exec::process::Cancel;
use crate::exec::runner::{
    Event, Host, Missing, Options, RunMode, Runner, Shell, StepRef, StepResult, Summary, Verdict,
};
use crate::exec::vars::Origin;
use crate::runbook::{PlaceholderDoc, Runbook, Scenario, Section, Step};
use crate::session::{Recorded, Recorder, SessionRecord, StepEdit, Store};

/// One step of a procedure, as both front ends number and show it.
#[derive(Debug, Clone)]
pub struct ProcStep {
    /// `0` for the scenario's introduction, `2`, `2.1`, ...
    pub number: String,
    /// Nesting: 0 for a top-level step, 1 for `2.1`.
    pub depth: usize,
    /// The step without its sub-steps (they are steps of their own).
    pub step: Step,
}

impl ProcStep {
    /// Its first line, as a checklist row or a header.
    pub fn title(&self) -> &str {
        self.step.text.lines().next().unwrap_or_default()
    }
}

/// One procedure of one scenario, flattened and planned once.
#[derive(Debug)]
pub struct Procedure {
    pub runbook: Arc<Runbook>,
    /// Index of the scenario in the runbook.
    pub scenario: usize,
    /// Index of the procedure in the scenario.
    pub procedure: usize,
    pub steps: Vec<ProcStep>,
    /// One per step: what each command block will do.
    pub plans: Vec<StepPlan>,
}

impl Procedure {
    pub fn new(runbook: Arc<Runbook>, scenario: usize, procedure: usize) -> Self {
        let mut steps = Vec::new();
        if let Some(s) = runbook.scenarios.get(scenario) {
            if let Some(intro) = plan::intro_step(s) {
                steps.push(ProcStep {
                    number: intro.number.clone(),
                    depth: 0,
                    step: intro,
                });
            }
            let top = s
                .procedures
                .get(procedure)
                .map(|p| p.steps.as_slice())
                .unwrap_or_default();
            for (number, step) in plan::flatten(top) {
                let mut step = step.clone();
                step.substeps.clear();
                steps.push(ProcStep {
                    depth: number.matches('.').count(),
                    number,
                    step,
                });
            }
        }
        let flat: Vec<(String, &Step)> =
            steps.iter().map(|s| (s.number.clone(), &s.step)).collect();
        // A fetched runbook's fence attributes cannot relax the guards.
        let plans = plan::plan_steps(&flat, crate::exec::safety::Trust::of(&runbook));
        Self {
            runbook,
            scenario,
            procedure,
            steps,
            plans,
        }
    }

    pub fn scenario(&self) -> Option<&Scenario> {
        self.runbook.scenarios.get(self.scenario)
    }

    /// The scenario's reference material (`### Examples` holding prose and config only):
    /// shown with the procedure's first step, never a step of its own.
    pub fn reference(&self) -> &[Section] {
        self.scenario().map_or(&[], |s| s.reference.as_slice())
    }

    /// Placeholder docs from the runbook's front matter.
    pub fn docs(&self) -> &BTreeMap<String, PlaceholderDoc> {
        &self.runbook.front_matter().placeholders
    }

    /// The URL a fetched runbook came from.
    pub fn origin(&self) -> Option<&str> {
        self.runbook.fetched.as_ref().map(|f| f.url.as_str())
    }

    /// Which procedure this is: the runbook file, the scenario, the procedure.
    pub fn key(&self) -> (PathBuf, usize, usize) {
        (self.runbook.path.clone(), self.scenario, self.procedure)
    }

    fn step_ref(&self, i: usize) -> Option<StepRef<'_>> {
        self.steps.get(i).map(|s| StepRef {
            index: i,
            number: s.number.clone(),
            step: &s.step,
        })
    }
}

/// Where and how the session is recorded.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The sessions folder.
    pub root: PathBuf,
    /// Bound of the output kept per step (config `session_output_limit`).
    pub output_limit: u64,
    /// The practice cluster's URL, with `--lab`.
    pub lab: Option<String>,
}

impl Recording {
    /// The sessions folder with the configured bound (config `session_output_limit`, the
    /// default when unset); `None` when there is no data folder.
    pub fn new(output_limit: Option<u64>, lab: Option<String>) -> Option<Self> {
        Some(Self {
            root: crate::session::sessions_dir()?,
            output_limit: output_limit.unwrap_or(crate::session::DEFAULT_OUTPUT_LIMIT),
            lab,
        })
    }
}

/// How the driver is set up by a front end.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Timeouts, output bounds, nodes, whether a terminal can be lent. Its mode is replaced
    /// by [`Setup::mode`] with the guard applied.
    pub options: Options,
    /// The mode asked for (flags, the TUI's `m`).
    pub mode: RunMode,
    /// The guard rail of the pinned context.
    pub guard: Guard,
    /// The pinned context's name (a protected context asks for it).
    pub context: Option<String>,
    /// Record a session (`None`: `--no-session`, or no data folder).
    pub recording: Option<Recording>,
    /// A fetched runbook's first command asks naming its URL (the TUI); `runbook run` has
    /// its own rule: it runs a fetched runbook only after `runbook show`.
    pub confirm_origin: bool,
    /// runbook's gate for the pinned context ([`crate::cluster::Workspace::gate_handle`]): in
    /// read-only and dry-run the commands' kubeconfig points at it.
    pub gate: Option<Arc<crate::cluster::gate::Gate>>,
}

/// A destructive command (or a fetched runbook's first command) waiting for a yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Exactly the commands that will run and need the yes, filled in, secrets masked.
    pub commands: Vec<String>,
    pub reasons: Vec<String>,
    /// A protected context: its name must be typed.
    pub require_name: Option<String>,
    /// A fetched runbook whose commands have not run yet: its URL.
    pub origin: Option<String>,
}

/// One of a step's tabbed alternatives (`tab=`), as the user picks among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// Its block's index in the step.
    pub block: usize,
    /// The tab's title.
    pub tab: String,
    /// The command, filled in and secrets masked.
    pub command: String,
    /// Every value it needs is known.
    pub ready: bool,
}

/// What a step needs before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub index: usize,
    /// No command to run: the user does it and ticks it off.
    pub manual: bool,
    /// The step's tabbed alternatives, when it has more than one; only one runs.
    pub alternatives: Vec<Alternative>,
    /// The alternative that will run (block index): the user's choice, else the rule's.
    pub alternative: Option<usize>,
    /// The user chose it (else the rule did, and a front end with dialogs asks first).
    pub chosen: bool,
    /// Placeholders of this step with no value yet, in order of appearance.
    pub missing: Vec<Missing>,
    pub confirm: Option<Confirmation>,
}

/// How a session ends when the driver is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The run is over (`runbook run`): finished or unfinished, by its steps.
    Finished,
    /// The user may come back to it (the TUI left the scenario or quit between steps).
    Paused,
    /// Stopped in the middle: a signal, a lost terminal, quit while a step ran.
    Interrupted,
}

/// How a front end without dialogs answers what a step's preflight leaves open: `runbook run`
/// asks on its terminal, or answers nothing (and the step is blocked).
pub trait Answers {
    /// A value for a placeholder; `None` when there is no way to ask.
    fn value(&mut self, missing: &Missing, doc: Option<&PlaceholderDoc>) -> Option<String>;
    /// May the step's commands run? (`--yes` answers before this is asked.)
    fn confirm(&mut self, confirmation: &Confirmation) -> bool;
    /// A step pointed `KUBECONFIG` at `kubeconfig` (`None`: unset it): pin that file's
    /// current context for the later steps, or say why it cannot be.
    fn follow(&mut self, kubeconfig: Option<&Path>) -> Result<Pin, String> {
        let _ = kubeconfig;
        Err("the commands' cluster cannot change during this run".to_owned())
    }
}

/// A context pinned for the commands.
#[derive(Debug, Clone)]
pub struct Pin {
    /// The pinned kubeconfig the commands get.
    pub kubeconfig: PathBuf,
    pub context: String,
    pub guard: Guard,
}

/// Runs one procedure, step by step, for either front end.
pub struct Driver {
    pub procedure: Arc<Procedure>,
    runner: Runner,
    mode: RunMode,
    guard: Guard,
    context: Option<String>,
    recording: Option<Recording>,
    confirm_origin: bool,
    recorder: Option<Recorder>,
    /// Why the session could not be written, once (the run goes on unrecorded).
    pub record_error: Option<String>,
    /// The user agreed to run the fetched runbook's commands.
    origin_trusted: bool,
    /// The last step pointed `KUBECONFIG` at this file: the front end re-pins (or refuses).
    cluster_change: Option<PathBuf>,
    gate: Option<Arc<crate::cluster::gate::Gate>>,
    /// Steps the user edited (the TUI's `e`): run, confirmed and recorded as edited.
    edits: BTreeMap<usize, edit::Edited>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("procedure", &self.procedure.key())
            .field("mode", &self.mode)
            .field("session", &self.session_id())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver for `procedure`, continuing `shell`. Front-matter `secret:` placeholders are
    /// masked from here on, whoever gives their values (`--var`, a prompt, a capture).
    pub fn new(procedure: Arc<Procedure>, mut shell: Shell, setup: Setup) -> Self {
        let docs = procedure.docs().clone();
        for (name, doc) in &docs {
            if doc.secret {
                shell.vars.mark_secret(name);
            }
        }
        let mode = setup.mode.guarded(setup.guard);
        let mut runner = Runner::new(
            Options {
                mode,
                ..setup.options
            },
            shell,
        );
        // runbook's own credentials reach the commands only when the runbook asks for them.
        let declared: Vec<(&str, bool)> =
            docs.iter().map(|(n, d)| (n.as_str(), d.secret)).collect();
        runner.credentials = crate::exec::process::asked_credentials(
            procedure
                .steps
                .iter()
                .flat_map(|s| s.step.blocks.iter().map(|b| b.code.as_str())),
            &declared,
        );
        for var in &runner.credentials {
            if let Some(value) = runner.shell.env.get(std::ffi::OsStr::new(var)) {
                let value = value.to_string_lossy().into_owned();
                runner.shell.vars.add_secret_value(&value);
            }
        }
        runner.docs = docs;
        let mut driver = Self {
            procedure,
            runner,
            mode,
            guard: setup.guard,
            context: setup.context,
            recording: setup.recording,
            confirm_origin: setup.confirm_origin,
            recorder: None,
            record_error: None,
            origin_trusted: false,
            cluster_change: None,
            gate: setup.gate,
            edits: BTreeMap::new(),
        };
        driver.arm_gate();
        driver
    }

    pub fn mode(&self) -> RunMode {
        self.mode
    }

    /// Another mode (the TUI's `m`); the context's guard still wins.
    pub fn set_mode(&mut self, mode: RunMode) {
        self.mode = mode.guarded(self.guard);
        self.runner.opts.mode = self.mode;
        self.arm_gate();
        if let Some(r) = &mut self.recorder {
            r.set_mode(self.mode.label());
        }
    }

    /// The commands' kubeconfig goes through the gate in read-only and dry-run, around it
    /// otherwise; the gate enforces the mode.
    fn arm_gate(&mut self) {
        self.runner.opts.cluster_gated = crate::cluster::gate::arm(
            self.gate.as_deref(),
            self.mode.read_only(),
            self.mode.dry_run(),
            &mut self.runner.shell.env,
        );
    }

    /// Cluster writes are held at the API by runbook's gate (read-only or dry-run with a
    /// gate): what the status bar and the `run` header say.
    pub fn gated(&self) -> bool {
        self.runner.opts.cluster_gated
    }

    /// The pinned context changed: its name and guard rail.
    pub fn set_context(&mut self, context: Option<String>, guard: Guard) {
        self.context = context;
        self.guard = guard;
        self.set_mode(self.mode);
    }

    pub fn shell(&self) -> &Shell {
        &self.runner.shell
    }

    pub fn shell_mut(&mut self) -> &mut Shell {
        &mut self.runner.shell
    }

    /// Takes `shell` (carried from another scenario) and gives back the one it had. The
    /// front matter's `secret:` placeholders are masked in the new one too.
    pub fn swap_shell(&mut self, mut shell: Shell) -> Shell {
        for (name, doc) in &self.runner.docs {
            if doc.secret {
                shell.vars.mark_secret(name);
            }
        }
        let old = std::mem::replace(&mut self.runner.shell, shell);
        self.arm_gate();
        old
    }

    /// A value for a placeholder, from a prompt or a picker.
    pub fn set_value(&mut self, name: &str, value: String, secret: bool) {
        let vars = &mut self.runner.shell.vars;
        if secret || vars.is_secret(name) {
            vars.set_secret(name, value, Origin::Prompt);
        } else {
            vars.set(name, value, Origin::Prompt);
        }
    }

    /// The user cleared a value (the edit-values view): the next step that needs it asks.
    pub fn clear_value(&mut self, name: &str) {
        self.runner.shell.vars.remove(name);
    }

    /// The user said yes to a step's [`Confirmation`]: a fetched runbook's commands are
    /// trusted for the rest of the session (its destructive ones are still confirmed).
    pub fn accept_confirmation(&mut self) {
        if self.procedure.origin().is_some() {
            self.origin_trusted = true;
        }
    }

    /// The session being recorded, once a step ran.
    pub fn session_id(&self) -> Option<&str> {
        self.recorder.as_ref().map(Recorder::id)
    }

    /// The session's folder, once a step ran.
    pub fn session_dir(&self) -> Option<&Path> {
        self.recorder.as_ref().map(|r| r.store().dir())
    }

    /// Step `i` runs `code` in place of its block `block` from now on (`None`: the runbook's
    /// text again). The edit is classified, confirmed and gated like any command, and the
    /// session notes it with the diff.
    pub fn edit(&mut self, i: usize, block: usize, code: Option<&str>) {
        match code.and_then(|c| edit::Edited::new(&self.procedure, i, block, c)) {
            Some(edited) => {
                self.edits.insert(i, edited);
            }
            None => {
                self.edits.remove(&i);
            }
        }
    }

    /// Step `i` and its plan as they run: the user's edit, else the runbook's.
    fn planned(&self, i: usize) -> Option<(StepRef<'_>, &StepPlan)> {
        if let Some(e) = self.edits.get(&i) {
            let number = self.procedure.steps.get(i)?.number.clone();
            return Some((
                StepRef {
                    index: i,
                    number,
                    step: &e.step,
                },
                &e.plan,
            ));
        }
        Some((self.procedure.step_ref(i)?, self.procedure.plans.get(i)?))
    }

    /// Placeholders with no value over every step from `from` (0-based), once per name, where
    /// each is first needed; values captured by earlier steps count.
    pub fn missing_from(&self, from: usize) -> Vec<Missing> {
        let steps: Vec<(StepRef<'_>, &StepPlan)> = (from..self.procedure.steps.len())
            .filter_map(|i| self.planned(i))
            .collect();
        self.runner.missing_values(&steps)
    }

    /// What step `i` needs before it runs: values, a confirmation.
    pub fn preflight(&self, i: usize) -> Needs {
        let Some((step, plan)) = self.planned(i) else {
            return Needs {
                index: i,
                manual: false,
                alternatives: Vec::new(),
                alternative: None,
                chosen: false,
                missing: Vec::new(),
                confirm: None,
            };
        };
        let alternatives = self.alternatives(step.step, plan);
        let chosen_blocks = self
            .runner
            .chosen_blocks(i, step.step, plan, self.runner.known());
        let alternative = alternatives
            .iter()
            .map(|a| a.block)
            .find(|b| chosen_blocks.contains(b));
        let inner = step.step;
        let missing = self.runner.missing_values(&[(step, plan)]);
        let confirm = if missing.is_empty() && !plan.manual {
            self.confirmation(i, inner, plan)
        } else {
            None
        };
        Needs {
            index: i,
            manual: plan.manual,
            chosen: self.runner.choice(i).is_some(),
            alternatives,
            alternative,
            missing,
            confirm,
        }
    }

    /// Step `i` runs the alternative in block `block` (the user's pick).
    pub fn choose(&mut self, i: usize, block: usize) {
        self.runner.choose(i, block);
    }

    /// The step's tabbed alternatives, when there are several.
    fn alternatives(&self, step: &Step, plan: &StepPlan) -> Vec<Alternative> {
        let tabs: Vec<Alternative> = plan
            .blocks
            .iter()
            .filter_map(|b| match &b.plan {
                BlockPlan::Alternative(tab) => {
                    let code = &step.blocks[b.index].code;
                    Some(Alternative {
                        block: b.index,
                        tab: tab.clone(),
                        command: self.shown(code),
                        ready: self.runner.shell.vars.missing(code).is_empty(),
                    })
                }
                _ => None,
            })
            .collect();
        if tabs.len() > 1 { tabs } else { Vec::new() }
    }

    /// A command as the user confirms it: values filled in, the variables that earlier steps
    /// set expanded where the shell would expand them, secrets masked.
    fn shown(&self, code: &str) -> String {
        let vars = &self.runner.shell.vars;
        let filled = vars
            .fill(code)
            .map_or_else(|_| code.to_owned(), |f| f.display);
        let expanded = expand_vars(&filled, |name| {
            // A withheld credential is not in the command's environment.
            let withheld = crate::exec::process::WITHHELD.contains(&name)
                && !self.runner.credentials.contains(&name);
            self.runner
                .shell
                .env
                .get(std::ffi::OsStr::new(name))
                .filter(|_| !withheld)
                .map(|v| v.to_string_lossy().into_owned())
        });
        vars.mask(&expanded).trim_end().to_owned()
    }

    /// The commands of a step that need a yes before it runs, given the mode.
    fn confirmation(&self, i: usize, step: &Step, plan: &StepPlan) -> Option<Confirmation> {
        let origin = self
            .procedure
            .origin()
            .filter(|_| self.confirm_origin && !self.origin_trusted && !self.mode.dry_run())
            .map(str::to_owned);
        let asks_destructive = self.mode == RunMode::Confirm;
        let mut commands = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        let mut destructive = false;
        for index in self
            .runner
            .chosen_blocks(i, step, plan, self.runner.known())
        {
            let Some(planned) = plan.blocks.iter().find(|b| b.index == index) else {
                continue;
            };
            if matches!(planned.plan, BlockPlan::Manual(_)) {
                continue;
            }
            let class = &planned.class;
            let code = &step.blocks[index].code;
            let switch = cluster_switch(code).filter(|_| asks_destructive);
            let wants =
                (class.destructive && asks_destructive) || switch.is_some() || origin.is_some();
            if !wants {
                continue;
            }
            destructive |= class.destructive;
            commands.push(self.shown(code));
            for r in class.reasons.iter().chain(&switch) {
                if !reasons.contains(r) {
                    reasons.push(r.clone());
                }
            }
        }
        if commands.is_empty() {
            return None;
        }
        let require_name = (destructive && self.guard == Guard::ConfirmName)
            .then(|| self.context.clone())
            .flatten();
        Some(Confirmation {
            commands,
            reasons,
            require_name,
            origin,
        })
    }

    /// Runs step `i` with `host` lent for it, recording every event first. `confirmed`: the
    /// user said yes to the step's [`Confirmation`] (or `--yes`).
    pub async fn run_step<H: Host + ?Sized>(
        &mut self,
        i: usize,
        host: &mut H,
        cancel: &mut Cancel,
        confirmed: bool,
    ) -> StepResult {
        self.start_recording();
        // The gate is shared by the TUI's drivers: it enforces this one's mode now.
        self.arm_gate();
        let procedure = Arc::clone(&self.procedure);
        let (Some(s), Some(plan)) = (procedure.steps.get(i), procedure.plans.get(i)) else {
            return StepResult {
                verdict: Verdict::Skipped,
                reasons: vec![format!("no step {}", i + 1)],
            };
        };
        let edited = self.edits.get(&i).cloned();
        let (step, plan) = edited
            .as_ref()
            .map_or((&s.step, plan), |e| (&e.step, &e.plan));
        if confirmed {
            self.accept_confirmation();
        }
        // What the preflight asks a yes for does not run without one.
        let unconfirmed = (!confirmed && !self.mode.yes())
            .then(|| self.preflight(i).confirm)
            .flatten();
        self.save_vars();
        let mut host = Recorded {
            inner: host,
            recorder: self.recorder.as_mut(),
        };
        host.emit(Event::StepStarted {
            step: i,
            number: s.number.clone(),
            title: first_line(&s.step.text),
            plan: plan.clone(),
        });
        if let Some(e) = &edited {
            let line = step.blocks.get(e.block).map_or(0, |b| b.line);
            let vars = &self.runner.shell.vars;
            host.emit(Event::Notice {
                step: i,
                text: e.notice(line, |t| vars.mask(t).into_owned()),
            });
            if let Some(r) = host.recorder.as_deref_mut() {
                r.set_edit(
                    i,
                    StepEdit {
                        block: e.block,
                        code: vars.mask(e.code().trim_end()).into_owned(),
                    },
                );
            }
        }
        let before = kubeconfig_of(&self.runner.shell);
        let result = if let Some(c) = unconfirmed {
            let text = format!(
                "not confirmed ({}); pass --yes, or answer the question on a terminal",
                c.reasons.join("; ")
            );
            host.emit(Event::Notice {
                step: i,
                text: text.clone(),
            });
            StepResult {
                verdict: Verdict::Blocked,
                reasons: vec![text],
            }
        } else {
            self.runner
                .run_step(i, step, plan, &mut host, cancel, confirmed)
                .await
        };
        let after = kubeconfig_of(&self.runner.shell);
        if after != before {
            let shown = after.as_ref().map_or_else(
                || "the default kubeconfig".to_owned(),
                |p| p.display().to_string(),
            );
            host.emit(Event::Notice {
                step: i,
                text: format!(
                    "this step pointed KUBECONFIG at {shown}: later commands talk to its cluster"
                ),
            });
            self.cluster_change = Some(after.unwrap_or_default());
        }
        let dropped_lines = self.runner.output(i).map_or(0, |b| b.dropped_lines);
        host.emit(Event::StepFinished {
            step: i,
            number: s.number.clone(),
            verdict: result.verdict,
            reasons: result.reasons.clone(),
            dropped_lines,
        });
        self.save_vars();
        result
    }

    /// The headless loop: every step from `from` (0-based) in order, each settled through
    /// `host`'s [`Answers`] and run; after a failure or a cancel the rest are skipped. Emits
    /// the [`Summary`] last.
    pub async fn run_through<H: Host + Answers>(
        &mut self,
        from: usize,
        host: &mut H,
        cancel: &mut Cancel,
    ) -> Summary {
        let total = self.procedure.steps.len();
        let mut summary = Summary {
            total,
            ..Summary::default()
        };
        let mut stop: Option<Verdict> = None;
        for i in from..total {
            let number = self.procedure.steps[i].number.clone();
            let verdict = if let Some(v) = stop {
                self.skip_step(i, host, format!("an earlier step was {}", v.as_str()));
                Verdict::Skipped
            } else {
                let confirmed = self.settle(i, host);
                let before = self.kubeconfig();
                let verdict = self.run_step(i, host, cancel, confirmed).await.verdict;
                if let Some(path) = self.take_cluster_change() {
                    self.follow(i, before.as_deref(), &path, host);
                }
                verdict
            };
            if matches!(verdict, Verdict::Failed | Verdict::Cancelled) && stop.is_none() {
                stop = Some(verdict);
            }
            if cancel.is_cancelled() && stop.is_none() {
                stop = Some(Verdict::Cancelled);
            }
            *summary.counts.entry(verdict.as_str()).or_default() += 1;
            summary.steps.push((number, verdict));
        }
        summary.cancelled = cancel.is_cancelled();
        summary.success = !summary.cancelled && summary.steps.iter().all(|(_, v)| v.ok());
        host.emit(Event::Summary(summary.clone()));
        summary
    }

    /// Step `i` pointed `KUBECONFIG` at `path`: the front end pins its context, or the
    /// commands go back to `before` (the pinned one). Either way the session says which.
    fn follow<H: Host + Answers>(
        &mut self,
        i: usize,
        before: Option<&Path>,
        path: &Path,
        host: &mut H,
    ) {
        let file = (!path.as_os_str().is_empty()).then_some(path);
        let text = match host.follow(file) {
            Ok(pin) => {
                let text = format!(
                    "commands now talk to context {} (the current context of {})",
                    pin.context,
                    path.display()
                );
                self.repin(&pin.kubeconfig, Some(pin.context), pin.guard);
                text
            }
            Err(e) => {
                let env = &mut self.runner.shell.env;
                match &before {
                    Some(b) => env.insert("KUBECONFIG".into(), b.as_os_str().to_owned()),
                    None => env.remove(std::ffi::OsStr::new("KUBECONFIG")),
                };
                format!(
                    "{} cannot be used ({e}): commands still use the pinned context",
                    path.display()
                )
            }
        };
        let mut host = Recorded {
            inner: host,
            recorder: self.recorder.as_mut(),
        };
        host.emit(Event::Notice { step: i, text });
    }

    /// Answers step `i`'s preflight with `answers`: missing values, then the confirmation
    /// (`--yes` gives it). Whether the step's destructive commands may run.
    fn settle(&mut self, i: usize, answers: &mut dyn Answers) -> bool {
        let mut needs = self.preflight(i);
        if !needs.missing.is_empty() {
            for m in &needs.missing {
                let doc = self.procedure.docs().get(&m.name).cloned();
                if let Some(value) = answers.value(m, doc.as_ref()) {
                    let secret = m.secret || doc.is_some_and(|d| d.secret);
                    self.set_value(&m.name, value, secret);
                }
            }
            needs = self.preflight(i);
        }
        match &needs.confirm {
            None => false,
            Some(_) if self.mode.yes() => true,
            Some(c) => answers.confirm(c),
        }
    }

    /// Emits a step as skipped without running it (an earlier step failed).
    pub fn skip_step<H: Host + ?Sized>(&mut self, i: usize, host: &mut H, why: String) {
        let Some(s) = self.procedure.steps.get(i) else {
            return;
        };
        let (number, title) = (s.number.clone(), first_line(&s.step.text));
        let plan = self.procedure.plans.get(i).cloned();
        let mut host = Recorded {
            inner: host,
            recorder: self.recorder.as_mut(),
        };
        if let Some(plan) = plan {
            host.emit(Event::StepStarted {
                step: i,
                number: number.clone(),
                title,
                plan,
            });
        }
        host.emit(Event::StepFinished {
            step: i,
            number,
            verdict: Verdict::Skipped,
            reasons: vec![why],
            dropped_lines: 0,
        });
    }

    /// Starts the session's recording, unless it runs already (or cannot).
    pub fn start_recording(&mut self) {
        if self.recorder.is_some() || self.record_error.is_some() {
            return;
        }
        let Some(recording) = self.recording.clone() else {
            return;
        };
        let record = self.session_record(&recording);
        let created = Store::create(&recording.root, &record.id)
            .and_then(|store| Recorder::create(store, record));
        match created {
            Ok(recorder) => {
                self.recorder = Some(recorder);
                self.save_vars();
            }
            Err(e) => self.record_error = Some(e.to_string()),
        }
    }

    /// Continues a saved session (the TUI's resume): it records from here on.
    pub fn resume_recording(&mut self, recorder: Recorder) {
        if let Some(mut old) = self.recorder.replace(recorder) {
            old.pause();
        }
    }

    /// The session record, built in one place for both front ends.
    fn session_record(&self, recording: &Recording) -> SessionRecord {
        let p = &self.procedure;
        let scenario = p.scenario();
        let id = scenario.map(|s| s.id.as_str()).unwrap_or_default();
        let mut record = SessionRecord::new(id, &p.runbook.path, self.mode.label());
        if let Some(s) = scenario {
            record.scenario_title.clone_from(&s.title);
            record.procedure = s.procedures.get(p.procedure).map(|p| p.title.clone());
        }
        // Through the gate, the context and server recorded are the real ones behind it.
        let kubeconfig = (self.gate.as_ref())
            .filter(|_| self.gated())
            .map(|g| g.pinned_kubeconfig())
            .or_else(|| self.kubeconfig());
        record.context = crate::session::current_context_of(kubeconfig.as_deref());
        record.lab.clone_from(&recording.lab);
        record.output_limit = recording.output_limit;
        for (i, s) in p.steps.iter().enumerate() {
            record.step_mut(i, &s.number, s.title());
        }
        record
    }

    /// The kubeconfig the commands use: the shell's `KUBECONFIG` (the pinned context's file),
    /// `None` for the default one.
    pub fn kubeconfig(&self) -> Option<PathBuf> {
        kubeconfig_of(&self.runner.shell)
    }

    /// The file the last step pointed `KUBECONFIG` at (empty: unset), once: the front end
    /// pins that file's context (health, guard rail, status bar, session) or puts the pinned
    /// one back and says why.
    pub fn take_cluster_change(&mut self) -> Option<PathBuf> {
        self.cluster_change.take()
    }

    /// The commands now talk to `context` through `kubeconfig` (the re-pinned file), under
    /// `guard`; the session records it.
    pub fn repin(&mut self, kubeconfig: &Path, context: Option<String>, guard: Guard) {
        self.runner
            .shell
            .env
            .insert("KUBECONFIG".into(), kubeconfig.as_os_str().to_owned());
        self.set_context(context, guard);
        if let Some(r) = &mut self.recorder {
            r.set_context(crate::session::current_context_of(Some(kubeconfig)));
        }
    }

    /// Step `i` ticked off by hand ([`Verdict::Manual`]) or skipped ([`Verdict::Skipped`]) by
    /// the user: recorded, so that the report says so.
    pub fn mark(&mut self, i: usize, verdict: Verdict) {
        self.start_recording();
        let Some(s) = self.procedure.steps.get(i) else {
            return;
        };
        if let Some(r) = &mut self.recorder {
            r.mark(i, &s.number, s.title(), verdict);
        }
    }

    /// A note on step `i`, in the session and its report.
    pub fn set_note(&mut self, i: usize, note: &str) {
        self.start_recording();
        if let Some(r) = &mut self.recorder {
            r.set_note(i, note);
        }
    }

    /// Saves the values (plain ones; secret ones by name only).
    fn save_vars(&mut self) {
        if let Some(r) = &mut self.recorder {
            r.set_vars(&self.runner.shell.vars);
        }
    }

    /// Closes the session; the error of the last save, if any.
    pub fn finish(&mut self, ending: Ending) -> Option<String> {
        let r = self.recorder.as_mut()?;
        r.set_vars(&self.runner.shell.vars);
        match ending {
            Ending::Finished => r.finish(),
            Ending::Paused => r.pause(),
            Ending::Interrupted => r.interrupt(),
        }
        r.error.as_ref().map(ToString::to_string)
    }
}

/// `script` with each `$NAME` / `${NAME}` that `lookup` knows replaced by its value, where bash
/// would expand it (not inside single quotes, `$'...'`, literal heredocs or comments): what a
/// command will really do, for the user to confirm.
fn expand_vars(script: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    use crate::exec::shell::{self, Quote};
    if !script.contains('$') {
        return script.to_owned();
    }
    let lexed = shell::parse(script);
    let bytes = script.as_bytes();
    let mut out = String::with_capacity(script.len());
    let mut done = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let braced = bytes.get(i + 1) == Some(&b'{');
        let start = i + 1 + usize::from(braced);
        let len = bytes[start.min(bytes.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let end = start + len;
        let closed = !braced || bytes.get(end) == Some(&b'}');
        let expands = matches!(
            lexed.context_at(i).quote,
            Quote::Bare | Quote::Double | Quote::HeredocExpand
        );
        let value = (len > 0 && closed && expands && !bytes[start].is_ascii_digit())
            .then(|| lookup(&script[start..end]))
            .flatten();
        match value {
            Some(v) => {
                out.push_str(&script[done..i]);
                out.push_str(&v);
                done = end + usize::from(braced);
                i = done;
            }
            None => i += 1,
        }
    }
    out.push_str(&script[done..]);
    out
}

fn kubeconfig_of(shell: &Shell) -> Option<PathBuf> {
    shell
        .env
        .get(std::ffi::OsStr::new("KUBECONFIG"))
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
}

/// Why a command talks to (or points later commands at) another cluster than the pinned
/// one: `KUBECONFIG=`, `kubectl config use-context`, `--kubeconfig`, `--context`.
pub fn cluster_switch(code: &str) -> Option<String> {
    let lexed = crate::exec::shell::parse(code);
    for c in &lexed.commands {
        let sets = |words: &[String]| {
            words
                .iter()
                .any(|w| w.starts_with("KUBECONFIG=") || w == "KUBECONFIG")
        };
        if sets(&c.assignments) && c.words.is_empty()
            || c.words.first().is_some_and(|w| w == "export") && sets(&c.words)
        {
            return Some(
                "points KUBECONFIG at another file: later commands talk to its cluster".to_owned(),
            );
        }
        let words: Vec<&str> = c.words.iter().map(String::as_str).collect();
        if words.first() == Some(&"kubectl")
            && words
                .windows(2)
                .any(|w| w == ["config", "use-context"] || w == ["config", "set-context"])
        {
            return Some("switches the kubeconfig's context".to_owned());
        }
        if let Some(flag) = words.iter().find(|w| {
            ["--kubeconfig", "--context"]
                .iter()
                .any(|f| **w == *f || w.starts_with(&format!("{f}=")))
        }) {
            let flag = flag.split('=').next().unwrap_or_default();
            return Some(format!(
                "{flag} talks to another cluster than the pinned context"
            ));
        }
    }
    None
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
    use super::expand_vars;

    #[test]
    fn variables_expand_where_bash_expands_them() {
        let env = |name: &str| (name == "CLAIM").then(|| "ip-0a".to_owned());
        assert_eq!(
            expand_vars(r#"kubectl delete ipclaim "$CLAIM" ${CLAIM} $OTHER"#, env),
            r#"kubectl delete ipclaim "ip-0a" ip-0a $OTHER"#
        );
        assert_eq!(
            expand_vars("echo '$CLAIM' # $CLAIM", env),
            "echo '$CLAIM' # $CLAIM"
        );
        assert_eq!(
            expand_vars("echo ${CLAIM:-x} $1", env),
            "echo ${CLAIM:-x} $1"
        );
    }
}
