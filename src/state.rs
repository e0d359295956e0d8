//! What the TUI shows, and `update`: the one place that changes it.
//!
//! `update(&mut State, Action) -> Vec<Effect>` does no IO: running a step, cancelling it,
//! copying to the clipboard or quitting are [`Effect`]s that the loop in `app.rs` carries out
//! and reports back as actions. That makes every flow (run, stream, fail, cancel, prompt,
//! confirm, skip, pick a procedure, search) a plain function to test.
//!
//! `update` hands each family of actions to its handler (the user's input, the running step,
//! the session, the cluster and jobs); keys go to the open dialog first ([`dialog`]), then an
//! overlay, then the screen. The screens' own keys and views live in the submodules.
//!
//! To add a feature: add a [`Command`] (and a key in `action.rs`), handle it in
//! [`update`], draw what it changes in `ui/`, and test the flow here.

mod catalog;
pub mod clusters;
pub mod diagnose;
mod dialog;
pub mod edit;
pub mod lab;
mod nodes;
mod scenario;
pub mod values;

use std::sync::Arc;
use std::time::Duration;

use crate::action::{Action, Command, Keymap};
pub use crate::action::{ContextInfo, RestoredStep, Resumable};
use crate::cluster::ContextEntry;
use crate::cluster::guard::Guard;
use crate::cluster::pick::{Choice, PickSpec};
use crate::drive::{Needs, Procedure};
pub use crate::exec::runner::RunMode;
use crate::exec::runner::Verdict;
use crate::exec::vars::{Origin, Vars};
use crate::exec::{self};
use crate::runbook::Runbook;

pub use catalog::{CatalogView, Entry, Row};
pub use nodes::{NodeColumn, NodeStatus, NodesView};
pub use scenario::{ExitInfo, Item, OutKind, OutLine, OutputView, ScenarioView, Status};

/// Lines kept per step in the output pane (the engine keeps head and tail of the rest).
pub const MAX_OUTPUT_LINES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Catalog,
    Scenario,
    /// The ranked result of `runbook diagnose`.
    Diagnose,
    /// Every cluster, its health and matching runbooks ([`clusters`]).
    Clusters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Checklist,
    Output,
}

/// A modal question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// A value for a placeholder of the step about to run.
    Prompt {
        step: usize,
        name: String,
        /// The placeholder as written (`<mgmt-pod-name>`).
        raw: String,
        /// The command line it sits in, to show where the value goes.
        context: String,
        description: Option<String>,
        example: Option<String>,
        secret: bool,
        input: String,
        /// Values already given for this name, newest first.
        choices: Vec<String>,
        /// Objects of the cluster that fit (the runbook's `pick:` hint), filtered by `input`.
        live: Option<Live>,
    },
    /// A destructive command is about to run, or the first command of a fetched runbook.
    Confirm {
        step: usize,
        commands: Vec<String>,
        reasons: Vec<String>,
        /// A protected context: its name must be typed before Enter runs anything.
        require: Option<String>,
        input: String,
        /// The URL of a fetched runbook whose commands have not run yet in this session.
        origin: Option<String>,
    },
    /// Pick the kube context the commands use.
    Contexts { selected: usize },
    /// An unfinished session of this scenario and context: resume it or start over?
    Resume(Resumable),
    /// A note on a step, kept in the session and its report.
    Note { step: usize, input: String },
    /// Pick the namespace the commands default to, from the cluster's list.
    Namespace { input: String, live: Live },
    /// Pick one of the scenario's procedures.
    Procedure { selected: usize },
    /// The step offers alternatives (tabs); the user picks the one that runs.
    Alternatives {
        step: usize,
        options: Vec<crate::drive::Alternative>,
        selected: usize,
    },
    /// The values given so far (`v`): pick one, then change it or clear it.
    Values {
        selected: usize,
        /// The new value being typed for the selected one (a secret starts empty).
        editing: Option<String>,
    },
    /// The practice cluster's instructions, or the news that it is fixed.
    Lab,
    /// The editor line on a step's command or example (`e`, [`edit`]).
    Edit(edit::Editor),
    /// Quit while a command runs?
    Quit,
}

/// Full-screen layers over the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The keys; `scroll` is the first line shown (the list is longer than 24 rows).
    Help { scroll: usize },
    /// The selected step's output, scrollable and searchable.
    Output {
        scroll: usize,
        query: String,
        searching: bool,
    },
}

/// A live list of cluster objects in a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// What is listed (`pods in hubble-system`).
    pub what: String,
    /// Answers to an older request are ignored.
    pub token: u64,
    pub state: LiveState,
    /// Index into [`Live::visible`].
    pub selected: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveState {
    Loading,
    Ready(Vec<Choice>),
    Failed(String),
}

impl Live {
    /// The choices whose name contains `filter` (any case).
    pub fn visible(&self, filter: &str) -> Vec<&Choice> {
        let needle = filter.to_lowercase();
        match &self.state {
            LiveState::Ready(all) => all
                .iter()
                .filter(|c| c.name.to_lowercase().contains(&needle))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn step(&mut self, filter: &str, delta: i32) {
        let n = self.visible(filter).len();
        if n == 0 {
            self.selected = None;
            return;
        }
        self.selected = Some(match (self.selected, delta.is_negative()) {
            (None, false) => 0,
            (None, true) => n - 1,
            (Some(i), false) => (i + 1).min(n - 1),
            (Some(i), true) => i.saturating_sub(1),
        });
    }

    fn chosen(&self, filter: &str) -> Option<&Choice> {
        self.selected
            .and_then(|i| self.visible(filter).get(i).copied())
    }

    /// What Enter takes: the highlighted choice, else the only one the filter leaves.
    pub fn taken(&self, filter: &str) -> Option<&Choice> {
        self.chosen(filter)
            .or_else(|| match self.visible(filter).as_slice() {
                [only] => Some(*only),
                _ => None,
            })
    }
}

/// Something the loop must do.
#[derive(Debug)]
pub enum Effect {
    /// A scenario was opened: the loop sets up its driver (or takes up the one it had).
    Open(Arc<Procedure>),
    /// What does step `index` need before it runs? Answered by [`Action::Needs`].
    Preflight(usize),
    /// A value for a placeholder, for the commands of every later step.
    SetValue {
        name: String,
        value: String,
        secret: bool,
    },
    /// Forget the value of a placeholder (cleared in the edit-values view).
    ClearValue(String),
    /// Step `step` runs the alternative in block `block`.
    Choose {
        step: usize,
        block: usize,
    },
    /// Step `step` runs `code` instead of its block `block` (`None`: the runbook's text again).
    Edit {
        step: usize,
        block: usize,
        code: Option<String>,
    },
    /// Open `text` (step `step`'s block `block`, several lines) in the user's editor;
    /// answered by [`Action::Edited`].
    EditExternal {
        step: usize,
        block: usize,
        text: String,
    },
    /// Run step `index` of the open scenario; `confirmed`: the user said yes to it.
    Run {
        index: usize,
        confirmed: bool,
    },
    /// A step ticked off by hand (`Manual`) or skipped: recorded in the session.
    Mark {
        index: usize,
        verdict: Verdict,
    },
    /// The mode changed (`m`).
    SetMode(RunMode),
    /// Cancel the running command.
    Cancel,
    /// Put text on the clipboard (OSC 52: works over SSH).
    Copy(String),
    /// Write the session's report (redacted) into its folder; answered by
    /// [`Action::ReportWritten`].
    WriteReport,
    /// Continue the session with this id (its steps come back as [`Action::Restored`]).
    Resume(String),
    /// Keep a note on a step in the session.
    Note {
        step: usize,
        text: String,
    },
    /// Pin another context or namespace for the commands.
    SwitchContext {
        context: String,
        namespace: Option<String>,
    },
    /// Fetch a Palette cluster's kubeconfig (with the user's API key) and pin it.
    PinPalette(String),
    /// List cluster objects for a picker; answered by [`Action::Choices`] with `token`.
    ListChoices {
        token: u64,
        spec: PickSpec,
        namespace: Option<String>,
    },
    /// Run the catalog's diagnose checks against the commands' cluster; report `Diagnosed`.
    Diagnose,
    /// One background pass over every cluster; reported as `Action::Fleet`.
    Fleet,
    Quit,
}

#[derive(Debug)]
pub struct State {
    pub screen: Screen,
    pub catalog: CatalogView,
    pub scenario: Option<ScenarioView>,
    /// The Diagnose view, once `D` was pressed.
    pub diagnose: Option<diagnose::DiagnoseView>,
    /// The clusters view, once opened.
    pub clusters: Option<clusters::ClustersView>,
    /// The practice cluster (`--lab`): its scenario, instructions and whether it is fixed.
    pub lab: Option<lab::LabInfo>,
    pub dialog: Option<Dialog>,
    pub overlay: Option<Overlay>,
    pub focus: Focus,
    pub mode: RunMode,
    /// The command-line flag that set the mode (`--read-only`): `m` leaves it as it is.
    pub mode_lock: Option<String>,
    pub context: ContextInfo,
    /// The contexts of the user's kubeconfig, for the picker.
    pub contexts: Vec<ContextEntry>,
    /// The last picker request's number.
    pub pick_token: u64,
    pub keymap: Keymap,
    /// The placeholder values the commands get (a copy of the driver's, for copying a
    /// command and offering earlier answers).
    pub vars: Vars,
    /// Scenarios left during this run, as they were: opening one again takes it up.
    pub parked: Vec<ScenarioView>,
    /// One line for the status bar, replaced by the next.
    pub message: Option<String>,
    pub size: (u16, u16),
    pub ticks: u64,
    /// Time since the app started, as of the last tick.
    pub clock: Duration,
    pub should_quit: bool,
    /// How steps marked `target=nodes` reach the nodes (config `[ssh]`, `--node`).
    pub nodes: exec::nodes::NodeOptions,
    /// The last frame's layout: where the checklist rows start, for mouse clicks.
    pub checklist_area: Option<(u16, u16, u16)>,
}

impl State {
    pub fn new(runbooks: Vec<Arc<Runbook>>, keymap: Keymap, vars: Vars) -> Self {
        Self {
            screen: Screen::Catalog,
            catalog: CatalogView::new(runbooks),
            scenario: None,
            diagnose: None,
            clusters: None,
            lab: None,
            dialog: None,
            overlay: None,
            focus: Focus::Checklist,
            mode: RunMode::Confirm,
            mode_lock: None,
            context: ContextInfo::default(),
            contexts: Vec::new(),
            pick_token: 0,
            keymap,
            vars,
            parked: Vec::new(),
            message: None,
            size: (80, 24),
            ticks: 0,
            clock: Duration::ZERO,
            should_quit: false,
            nodes: exec::nodes::NodeOptions::default(),
            checklist_area: None,
        }
    }

    pub fn running(&self) -> Option<usize> {
        self.scenario.as_ref().and_then(|s| s.running)
    }

    /// Opens a scenario by id (`runbook/scenario`), as `runbook TARGET` does; the effect
    /// that sets up its driver, or `None` when there is no such scenario.
    pub fn open(&mut self, id: &str) -> Option<Effect> {
        let entry = self
            .catalog
            .entries
            .iter()
            .position(|e| e.id == id || e.runbook_id == id)?;
        Some(self.open_entry(entry))
    }

    fn open_entry(&mut self, entry: usize) -> Effect {
        let e = &self.catalog.entries[entry];
        let runbook = Arc::clone(&self.catalog.runbooks[e.runbook]);
        let scenario = e.scenario;
        self.open_view(runbook, scenario, 0)
    }

    /// Shows procedure `procedure` of a scenario: as it was left, if it was opened before in
    /// this run. The scenario on screen is parked for later.
    fn open_view(&mut self, runbook: Arc<Runbook>, scenario: usize, procedure: usize) -> Effect {
        let key = (runbook.path.clone(), scenario, procedure);
        self.park();
        let view = match self.parked.iter().position(|v| v.key() == key) {
            Some(i) => self.parked.swap_remove(i),
            None => ScenarioView::open(runbook, scenario, procedure),
        };
        let effect = Effect::Open(Arc::clone(&view.flow));
        self.scenario = Some(view);
        self.screen = Screen::Scenario;
        self.focus = Focus::Checklist;
        self.message = None;
        lab::opened(self);
        effect
    }

    /// Keeps the scenario on screen for when it is opened again.
    fn park(&mut self) {
        if let Some(view) = self.scenario.take() {
            self.parked.retain(|v| v.key() != view.key());
            self.parked.push(view);
        }
    }
}

/// The one function that changes the state. Each family of actions has its handler: the
/// user's keys, mouse and paste ([`user_update`]), the step that runs ([`step_update`]), the
/// saved session ([`session_update`]), and the cluster and background jobs
/// ([`cluster_update`]).
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => {
            state.ticks = state.ticks.wrapping_add(1);
            state.clock = now;
            if let Some(s) = &mut state.scenario {
                s.tick(now);
            }
            clusters::tick(state)
        }
        Action::Resize(w, h) => {
            state.size = (w, h);
            Vec::new()
        }
        Action::Say(text) => {
            state.message = Some(text);
            Vec::new()
        }
        Action::Layout(area) => {
            state.checklist_area = area;
            Vec::new()
        }
        Action::Terminate => {
            state.should_quit = true;
            let mut effects = Vec::new();
            if state.running().is_some() {
                effects.push(Effect::Cancel);
            }
            effects.push(Effect::Quit);
            effects
        }
        Action::Input(_)
        | Action::Backspace
        | Action::Paste(_)
        | Action::Scroll(_)
        | Action::Click(..)
        | Action::Command(_)
        | Action::Edited { .. } => user_update(state, action),
        Action::Engine(..)
        | Action::OutputDropped(..)
        | Action::Needs(_)
        | Action::RunEnded { .. } => step_update(state, action),
        Action::Resumable(_) | Action::Restored { .. } | Action::ReportWritten(_) => {
            session_update(state, action)
        }
        Action::Cluster(..)
        | Action::Health { .. }
        | Action::Choices { .. }
        | Action::Diagnosed(_)
        | Action::Fleet(_)
        | Action::LabFixed => cluster_update(state, action),
    }
}

/// Keys (as commands or text), paste, the wheel and clicks.
fn user_update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Input(c) => input(state, Some(c)),
        Action::Backspace => input(state, None),
        Action::Paste(text) => {
            for c in text.chars().filter(|c| !c.is_control()) {
                input(state, Some(c));
            }
        }
        Action::Scroll(delta) => scroll(state, delta),
        Action::Click(_, row) => click(state, row),
        Action::Command(command) => {
            // A message answers the last key; the next key replaces it.
            state.message = None;
            return command_action(state, command);
        }
        Action::Edited {
            step,
            block,
            result,
        } => return edit::external_done(state, step, block, result),
        // Other families: `update` routes them.
        _ => {}
    }
    Vec::new()
}

/// The running step: its events and dropped output, what it needs before it runs, its end.
fn step_update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Engine(index, event) => {
            if let Some(s) = &mut state.scenario {
                s.engine_event(index, *event);
            }
        }
        Action::OutputDropped(index, n) => {
            if let Some(item) = state.scenario.as_mut().and_then(|s| s.items.get_mut(index)) {
                item.output.dropped += n;
            }
        }
        Action::Needs(needs) => return answer_needs(state, *needs),
        Action::RunEnded { index, vars } => {
            state.vars = *vars;
            if let Some(s) = &mut state.scenario {
                s.run_ended(index);
            }
            if state.dialog == Some(Dialog::Quit) || state.should_quit {
                state.should_quit = true;
                return vec![Effect::Quit];
            }
        }
        // Other families: `update` routes them.
        _ => {}
    }
    Vec::new()
}

/// The saved session: an unfinished one to resume, what resuming brought back, the report.
fn session_update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Resumable(r)
            if state.scenario.is_some() && state.dialog.is_none() && state.running().is_none() =>
        {
            state.dialog = Some(Dialog::Resume(r));
        }
        Action::Restored { steps, vars } => {
            for (name, value) in vars {
                state.vars.set(&name, value, Origin::Prompt);
            }
            let mut dropped = Vec::new();
            if let Some(s) = &mut state.scenario {
                for r in steps {
                    s.set_status(r.index, Status::from_record(r.state, r.verdict));
                    if let Some(item) = s.items.get_mut(r.index) {
                        item.note = r.note;
                        match r.edit {
                            Some(e) if edit::restorable(&e) => {
                                item.edit = Some(edit::Edit {
                                    block: e.block,
                                    code: e.code,
                                });
                            }
                            Some(_) => dropped.push(item.number.clone()),
                            None => {}
                        }
                        item.output.lines = r
                            .output
                            .into_iter()
                            .map(|text| OutLine {
                                kind: OutKind::Stdout,
                                text,
                            })
                            .collect();
                    }
                }
            }
            state.message = Some(if dropped.is_empty() {
                "resumed: secret values are asked again when a step needs them".to_owned()
            } else {
                format!(
                    "resumed; the edit of step {} held a secret value and was not kept: \
                     press e to type it again",
                    dropped.join(", ")
                )
            });
        }
        Action::ReportWritten(result) => match result {
            Ok((path, text)) => {
                state.message = Some(format!(
                    "report written to {}; sent to the terminal's clipboard (OSC 52)",
                    path.display()
                ));
                return vec![Effect::Copy(text)];
            }
            Err(e) => {
                state.message = Some(format!("cannot write the report: {e}"));
            }
        },
        // Other families: `update` routes them.
        _ => {}
    }
    Vec::new()
}

/// The cluster and background jobs: the context and its health, a picker's list, diagnose,
/// the fleet, the practice cluster.
fn cluster_update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Cluster(info, contexts) => {
            state.context = *info;
            state.contexts = contexts;
            return apply_guard(state);
        }
        Action::Health { context, health }
            if state.context.context.as_deref() == Some(context.as_str()) =>
        {
            state.context.health = health;
        }
        Action::Choices { token, result } => {
            let Some(
                Dialog::Prompt {
                    live: Some(live), ..
                }
                | Dialog::Namespace { live, .. },
            ) = &mut state.dialog
            else {
                return Vec::new();
            };
            if live.token == token {
                live.state = match result {
                    Ok(choices) => LiveState::Ready(choices),
                    Err(e) => LiveState::Failed(e),
                };
                live.selected = None;
            }
        }
        Action::Diagnosed(outcome) => {
            if let Some(view) = &mut state.diagnose {
                view.finished(*outcome);
            }
        }
        Action::Fleet(progress) => return clusters::progress(state, progress),
        Action::LabFixed => lab::fixed(state),
        // Other families: `update` routes them.
        _ => {}
    }
    Vec::new()
}

/// Is a text field taking keystrokes? Then letters are text, not commands.
pub fn typing(state: &State) -> bool {
    matches!(
        state.dialog,
        Some(
            Dialog::Prompt { .. }
                | Dialog::Note { .. }
                | Dialog::Namespace { .. }
                | Dialog::Edit(_)
                | Dialog::Values {
                    editing: Some(_),
                    ..
                }
                | Dialog::Confirm {
                    require: Some(_),
                    ..
                }
        )
    ) || matches!(
        state.overlay,
        Some(Overlay::Output {
            searching: true,
            ..
        })
    ) || (state.screen == Screen::Catalog && state.catalog.searching)
}

fn input(state: &mut State, c: Option<char>) {
    if let Some(Dialog::Edit(editor)) = &mut state.dialog {
        edit::input(editor, c);
    } else if let Some(
        Dialog::Prompt { input, .. }
        | Dialog::Note { input, .. }
        | Dialog::Namespace { input, .. }
        | Dialog::Values {
            editing: Some(input),
            ..
        }
        | Dialog::Confirm {
            require: Some(_),
            input,
            ..
        },
    ) = &mut state.dialog
    {
        edit(input, c);
        // The filter changed: the highlighted choice may be gone.
        if let Some(Dialog::Prompt { live: Some(l), .. } | Dialog::Namespace { live: l, .. }) =
            &mut state.dialog
        {
            l.selected = None;
        }
    } else if let Some(Overlay::Output {
        query,
        searching: true,
        ..
    }) = &mut state.overlay
    {
        edit(query, c);
    } else if state.screen == Screen::Catalog && state.catalog.searching {
        edit(&mut state.catalog.query, c);
        state.catalog.refresh();
    }
}

fn edit(text: &mut String, c: Option<char>) {
    match c {
        Some(c) => text.push(c),
        None => {
            text.pop();
        }
    }
}

fn scroll(state: &mut State, delta: i16) {
    let steps = usize::from(delta.unsigned_abs());
    if let Some(Overlay::Output { scroll, .. } | Overlay::Help { scroll }) = &mut state.overlay {
        *scroll = if delta < 0 {
            scroll.saturating_sub(steps)
        } else {
            scroll.saturating_add(steps)
        };
        return;
    }
    match state.screen {
        Screen::Catalog => state.catalog.move_by(i32::from(delta)),
        Screen::Diagnose => {
            if let Some(view) = &mut state.diagnose {
                view.move_by(i32::from(delta).signum());
            }
        }
        Screen::Clusters => clusters::scroll(state, delta),
        Screen::Scenario => {
            if let Some(s) = &mut state.scenario {
                if state.focus == Focus::Output {
                    s.scroll_output(i32::from(delta));
                } else {
                    s.move_by(i32::from(delta));
                }
            }
        }
    }
}

fn click(state: &mut State, row: u16) {
    if state.dialog.is_some() || state.overlay.is_some() {
        return;
    }
    if let (Screen::Scenario, Some((top, height, offset)), Some(s)) =
        (state.screen, state.checklist_area, state.scenario.as_mut())
        && row >= top
        && row < top + height
    {
        let index = usize::from(row - top) + usize::from(offset);
        if index < s.items.len() {
            s.selected = index;
            state.focus = Focus::Checklist;
        }
    }
}

fn command_action(state: &mut State, command: Command) -> Vec<Effect> {
    // Dialogs first: they own the keyboard.
    if let Some(dialog) = state.dialog.clone() {
        return dialog::command(state, dialog, command);
    }
    if state.overlay.is_some() {
        return overlay_command(state, command);
    }
    match command {
        Command::Help => {
            state.overlay = Some(Overlay::Help { scroll: 0 });
            Vec::new()
        }
        Command::Quit => {
            if state.running().is_some() {
                state.dialog = Some(Dialog::Quit);
                Vec::new()
            } else {
                state.should_quit = true;
                vec![Effect::Quit]
            }
        }
        Command::CycleMode if state.mode_lock.is_some() => {
            // The flag first: at 80 columns the status bar keeps only the start of a message.
            state.message = Some(format!(
                "{} holds for this run (mode {}); restart without it to change",
                state.mode_lock.as_deref().unwrap_or("?"),
                state.mode.label(),
            ));
            Vec::new()
        }
        Command::CycleMode if matches!(state.context.guard, Guard::ReadOnly | Guard::DryRun) => {
            state.message = Some(format!(
                "context {} is {} by your config",
                state.context.context.as_deref().unwrap_or("?"),
                state.mode.label()
            ));
            Vec::new()
        }
        Command::PickContext => {
            if state.running().is_some() {
                state.message = Some("a command is running; x cancels it first".to_owned());
            } else if state.contexts.is_empty() {
                state.message = Some(if state.context.detail.is_empty() {
                    "no other context to pick".to_owned()
                } else {
                    state.context.detail.clone()
                });
            } else {
                let selected = state
                    .contexts
                    .iter()
                    .position(|c| state.context.context.as_deref() == Some(c.name.as_str()))
                    .unwrap_or(0);
                state.dialog = Some(Dialog::Contexts { selected });
            }
            Vec::new()
        }
        Command::PickNamespace => {
            if state.running().is_some() {
                state.message = Some("a command is running; x cancels it first".to_owned());
                return Vec::new();
            }
            if state.context.context.is_none() {
                state.message = Some("no kube context: nothing to list".to_owned());
                return Vec::new();
            }
            let (live, effect) = live_list(
                state,
                PickSpec {
                    resource: "namespaces".to_owned(),
                    namespace: None,
                    selector: None,
                    fields: None,
                    contains: None,
                    value: None,
                },
                None,
            );
            state.dialog = Some(Dialog::Namespace {
                input: String::new(),
                live,
            });
            vec![effect]
        }
        Command::CycleMode => {
            state.mode = state.mode.next();
            state.message = Some(format!("mode: {}", state.mode.label()));
            vec![Effect::SetMode(state.mode)]
        }
        Command::Report => vec![Effect::WriteReport],
        Command::Values => values::open(state),
        Command::Lab => lab::show(state),
        Command::Cancel => cancel(state),
        Command::Diagnose => start_diagnose(state),
        Command::Clusters => clusters::open(state),
        Command::ToggleDiff if state.screen == Screen::Catalog && !state.catalog.searching => {
            start_diagnose(state)
        }
        _ => match state.screen {
            Screen::Catalog => catalog_command(state, command),
            Screen::Scenario => scenario_command(state, command),
            Screen::Diagnose => diagnose_command(state, command),
            Screen::Clusters => clusters::command(state, command),
        },
    }
}

/// Keys over the help or the output view: scroll, search, close.
fn overlay_command(state: &mut State, command: Command) -> Vec<Effect> {
    let Some(overlay) = &mut state.overlay else {
        return Vec::new();
    };
    match (overlay, command) {
        (_, Command::Back | Command::Quit) | (Overlay::Help { .. }, Command::Help) => {
            state.overlay = None;
        }
        (Overlay::Output { .. }, Command::FullOutput) => state.overlay = None,
        // The help and the output scroll alike.
        (Overlay::Output { scroll, .. } | Overlay::Help { scroll }, Command::Up) => {
            *scroll = scroll.saturating_sub(1);
        }
        (Overlay::Output { scroll, .. } | Overlay::Help { scroll }, Command::Down) => {
            *scroll += 1;
        }
        (Overlay::Output { scroll, .. } | Overlay::Help { scroll }, Command::PageUp) => {
            *scroll = scroll.saturating_sub(20);
        }
        (Overlay::Output { scroll, .. } | Overlay::Help { scroll }, Command::PageDown) => {
            *scroll += 20;
        }
        (Overlay::Output { scroll, .. } | Overlay::Help { scroll }, Command::Top) => {
            *scroll = 0;
        }
        (Overlay::Output { scroll, .. } | Overlay::Help { scroll }, Command::Bottom) => {
            *scroll = usize::MAX / 2;
        }
        (Overlay::Output { .. }, Command::Wrap | Command::ScrollLeft | Command::ScrollRight) => {
            if let Some(s) = &mut state.scenario {
                sideways(s, command);
            }
        }
        (Overlay::Output { searching, .. }, Command::Search) => *searching = true,
        (Overlay::Output { searching, .. }, Command::Enter) => *searching = false,
        (Overlay::Output { scroll, query, .. }, Command::NextStep | Command::PrevStep) => {
            let forward = command == Command::NextStep;
            if let Some(s) = &state.scenario
                && let Some(line) = s.find_in_output(query, *scroll, forward)
            {
                *scroll = line;
            }
        }
        (_, Command::Cancel) => return cancel(state),
        _ => {}
    }
    Vec::new()
}

/// Opens the Diagnose view and starts a run, unless one is already running.
fn start_diagnose(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::Diagnose;
    if state
        .diagnose
        .as_ref()
        .is_some_and(diagnose::DiagnoseView::is_running)
    {
        return Vec::new();
    }
    state.diagnose = Some(diagnose::DiagnoseView::running(state.clock));
    vec![Effect::Diagnose]
}

/// `w`, `h`, `l` on the output (pane or full screen).
fn sideways(s: &mut ScenarioView, command: Command) {
    match command {
        Command::Wrap => s.toggle_wrap(),
        Command::ScrollLeft | Command::ScrollRight => {
            s.scroll_sideways(command == Command::ScrollRight);
        }
        _ => {}
    }
}

fn diagnose_command(state: &mut State, command: Command) -> Vec<Effect> {
    let Some(view) = &mut state.diagnose else {
        state.screen = Screen::Catalog;
        return Vec::new();
    };
    match command {
        Command::Up => view.move_by(-1),
        Command::Down => view.move_by(1),
        Command::PageUp => view.move_by(-10),
        Command::PageDown => view.move_by(10),
        Command::Top => view.move_by(i32::MIN / 2),
        Command::Bottom => view.move_by(i32::MAX / 2),
        Command::Enter => {
            if let Some(id) = view.selected_scenario().map(str::to_owned) {
                match state.open(&id) {
                    Some(effect) => return vec![effect],
                    None => state.message = Some(format!("no scenario `{id}` in the catalog")),
                }
            }
        }
        Command::StepTextDown => view.scroll_evidence(3),
        Command::StepTextUp => view.scroll_evidence(-3),
        Command::Back => state.screen = Screen::Catalog,
        _ => {}
    }
    Vec::new()
}

fn cancel(state: &mut State) -> Vec<Effect> {
    if state.running().is_some() {
        state.message = Some(
            "cancelling: SIGINT, then SIGTERM, then SIGKILL to the command's process group"
                .to_owned(),
        );
        vec![Effect::Cancel]
    } else {
        if state.screen == Screen::Catalog && state.catalog.searching {
            state.catalog.searching = false;
        }
        Vec::new()
    }
}

fn catalog_command(state: &mut State, command: Command) -> Vec<Effect> {
    let c = &mut state.catalog;
    match command {
        Command::Up => c.move_by(-1),
        Command::Down => c.move_by(1),
        Command::PageUp => c.move_by(-10),
        Command::PageDown => c.move_by(10),
        Command::Top => c.move_by(i32::MIN / 2),
        Command::Bottom => c.move_by(i32::MAX / 2),
        Command::Search => {
            c.searching = true;
        }
        Command::Back if (c.searching || !c.query.is_empty()) => {
            c.searching = false;
            c.query.clear();
            c.refresh();
        }
        Command::Enter => {
            if c.searching {
                c.searching = false;
            }
            if let Some(entry) = c.selected_entry() {
                return vec![state.open_entry(entry)];
            }
        }
        _ => {}
    }
    Vec::new()
}

fn scenario_command(state: &mut State, command: Command) -> Vec<Effect> {
    let Some(s) = &mut state.scenario else {
        return Vec::new();
    };
    match command {
        Command::Up | Command::PrevStep
            if state.focus == Focus::Checklist || command == Command::PrevStep =>
        {
            s.move_by(-1);
        }
        Command::Down | Command::NextStep
            if state.focus == Focus::Checklist || command == Command::NextStep =>
        {
            s.move_by(1);
        }
        Command::Up => s.scroll_output(-1),
        Command::Down => s.scroll_output(1),
        Command::PageUp => s.scroll_output(-10),
        Command::PageDown => s.scroll_output(10),
        Command::Top => s.selected = 0,
        Command::Bottom => s.selected = s.items.len().saturating_sub(1),
        Command::SwitchFocus => {
            state.focus = match state.focus {
                Focus::Checklist => Focus::Output,
                Focus::Output => Focus::Checklist,
            };
        }
        Command::ToggleDiff => s.show_diff = !s.show_diff,
        Command::Wrap | Command::ScrollLeft | Command::ScrollRight => sideways(s, command),
        Command::StepTextUp => s.scroll_step_text(-3),
        Command::StepTextDown => s.scroll_step_text(3),
        Command::Note => {
            let step = s.selected;
            let input = s
                .items
                .get(step)
                .map(|i| i.note.clone())
                .unwrap_or_default();
            state.dialog = Some(Dialog::Note { step, input });
        }
        Command::NodesLeft | Command::NodesRight => {
            let delta = if command == Command::NodesLeft { -1 } else { 1 };
            if let Some(v) = s
                .items
                .get_mut(s.selected)
                .and_then(|i| i.output.nodes.as_mut())
            {
                v.page(delta);
            }
        }
        Command::FullOutput => {
            state.overlay = Some(Overlay::Output {
                scroll: 0,
                query: String::new(),
                searching: false,
            });
        }
        Command::MarkDone | Command::Skip => {
            if s.running == Some(s.selected) {
                state.message = Some("the step is running; x cancels it".to_owned());
            } else {
                let index = s.selected;
                let verdict = if command == Command::Skip {
                    Verdict::Skipped
                } else {
                    Verdict::Manual
                };
                s.set_status(index, verdict.into());
                s.advance();
                return vec![Effect::Mark { index, verdict }];
            }
        }
        Command::PickProcedure => {
            if s.procedure_count() > 1 {
                state.dialog = Some(Dialog::Procedure {
                    selected: s.procedure,
                });
            } else {
                state.message = Some("this scenario has one procedure".to_owned());
            }
        }
        Command::Copy => {
            let index = s.selected;
            return match s.filled_commands(index, Some(&state.vars)) {
                Some(text) if !text.is_empty() => {
                    state.message =
                        Some("command sent to the terminal's clipboard (OSC 52)".to_owned());
                    vec![Effect::Copy(text)]
                }
                _ => {
                    state.message = Some("this step has no command to copy".to_owned());
                    Vec::new()
                }
            };
        }
        Command::Back => {
            if s.running.is_some() {
                state.message = Some("a command is running; x cancels it".to_owned());
            } else {
                state.screen = Screen::Catalog;
                state.park();
            }
        }
        Command::Enter => return start_run(state),
        Command::Edit => return edit::open(state),
        Command::ResetEdit => return edit::reset(state),
        _ => {}
    }
    Vec::new()
}

/// Enter on a step: the driver's preflight is asked what the step needs
/// ([`answer_needs`] shows it), then it runs.
fn start_run(state: &mut State) -> Vec<Effect> {
    let Some(s) = &state.scenario else {
        return Vec::new();
    };
    if let Some(running) = s.running {
        state.message = Some(format!(
            "step {} is running; x cancels it",
            s.items[running].number
        ));
        return Vec::new();
    }
    let index = s.selected;
    let Some(item) = s.items.get(index) else {
        return Vec::new();
    };
    if item.step.commands().next().is_none() && item.edit.is_none() {
        state.message = Some("a manual step: do it, then Space marks it done".to_owned());
        return Vec::new();
    }
    vec![Effect::Preflight(index)]
}

/// What the step needs, as dialogs: the first missing value (with the cluster's objects
/// that fit, when the runbook says which), else the confirmation, else it runs.
fn answer_needs(state: &mut State, needs: Needs) -> Vec<Effect> {
    let index = needs.index;
    let Some(s) = &state.scenario else {
        return Vec::new();
    };
    if s.running.is_some() || state.dialog.is_some() || s.selected != index {
        return Vec::new();
    }
    if needs.manual {
        state.message = Some("a manual step: do it, then Space marks it done".to_owned());
        return Vec::new();
    }
    // Alternatives first: which one runs decides what it needs.
    if !needs.chosen && needs.alternatives.len() > 1 {
        let selected = needs
            .alternatives
            .iter()
            .position(|a| Some(a.block) == needs.alternative)
            .unwrap_or(0);
        state.dialog = Some(Dialog::Alternatives {
            step: index,
            options: needs.alternatives,
            selected,
        });
        return Vec::new();
    }
    if let Some(m) = needs.missing.into_iter().next() {
        let docs = s.flow.docs();
        let doc = docs.get(&m.name).or_else(|| {
            docs.iter()
                .find(|(k, _)| crate::runbook::placeholder::normalise(k) == m.name)
                .map(|(_, v)| v)
        });
        let choices = state
            .vars
            .get(&m.name)
            .map(|v| vec![v.value.clone()])
            .unwrap_or_default();
        // A live list where the runbook says which objects fit and there is a cluster.
        let spec = doc
            .and_then(PickSpec::of)
            .and_then(Result::ok)
            .filter(|_| state.context.context.is_some());
        let namespace = spec.as_ref().and_then(|spec| {
            spec.namespace_placeholder().map_or_else(
                || spec.namespace.clone(),
                |name| state.vars.get(name).map(|v| v.value.clone()),
            )
        });
        let description = doc.and_then(|d| d.description.clone());
        let example = doc.and_then(|d| d.example.clone());
        let secret = m.secret || doc.is_some_and(|d| d.secret);
        let mut effects = Vec::new();
        let live = spec.map(|spec| {
            let (list, effect) = live_list(state, spec, namespace);
            effects.push(effect);
            list
        });
        state.dialog = Some(Dialog::Prompt {
            step: index,
            name: m.name,
            raw: m.raw,
            context: m.context,
            description,
            example,
            secret,
            input: String::new(),
            choices,
            live,
        });
        return effects;
    }
    if let Some(c) = needs.confirm {
        state.dialog = Some(Dialog::Confirm {
            step: index,
            commands: c.commands,
            reasons: c.reasons,
            require: c.require_name,
            input: String::new(),
            origin: c.origin,
        });
        return Vec::new();
    }
    launch(state, index, false)
}

/// A picker list waiting for its answer, and the effect that asks for it.
fn live_list(state: &mut State, spec: PickSpec, namespace: Option<String>) -> (Live, Effect) {
    state.pick_token += 1;
    let what = match &namespace {
        Some(ns) => format!("{} in {ns}", spec.resource),
        None => spec.resource.clone(),
    };
    let live = Live {
        what,
        token: state.pick_token,
        state: LiveState::Loading,
        selected: None,
    };
    let effect = Effect::ListChoices {
        token: state.pick_token,
        spec,
        namespace,
    };
    (live, effect)
}

/// The context's guard rail overrides the mode where it is stricter.
fn apply_guard(state: &mut State) -> Vec<Effect> {
    let guarded = state.mode.guarded(state.context.guard);
    if guarded == state.mode {
        return Vec::new();
    }
    state.mode = guarded;
    vec![Effect::SetMode(guarded)]
}

fn launch(state: &mut State, index: usize, confirmed: bool) -> Vec<Effect> {
    let Some(s) = &mut state.scenario else {
        return Vec::new();
    };
    if s.items.get(index).is_none() {
        return Vec::new();
    }
    s.running = Some(index);
    s.selected = index;
    s.started = state.clock;
    s.set_status(index, Status::Running(Duration::ZERO));
    s.items[index].output = OutputView::default();
    state.message = None;
    vec![Effect::Run { index, confirmed }]
}

#[cfg(test)]
mod tests;
