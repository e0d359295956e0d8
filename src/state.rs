//! What the TUI shows, and `update`: the one place that changes it.
//!
//! `update(&mut State, Action) -> Vec<Effect>` does no IO: running a step, cancelling it,
//! copying to the clipboard or quitting are [`Effect`]s that the loop in `app.rs` carries out
//! and reports back as actions. That makes every flow (run, stream, fail, cancel, prompt,
//! confirm, skip, pick a procedure, search) a plain function to test.
//!
//! To add a feature: add a [`Command`] (and a key in `action.rs`), handle it in
//! [`update`], draw what it changes in `ui/`, and test the flow here.

mod catalog;
pub mod diagnose;
mod nodes;
mod scenario;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::action::{Action, Command, Keymap};
use crate::cluster::ContextEntry;
use crate::cluster::guard::Guard;
use crate::cluster::health::Health;
use crate::cluster::pick::{Choice, PickSpec};
use crate::exec::runner::{Options as RunOptions, Shell};
use crate::exec::vars::{Origin, Vars};
use crate::exec::{self};
use crate::runbook::{PlaceholderDoc, Runbook, Step};

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
}

/// What happens to destructive commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Ask before each destructive command.
    #[default]
    Confirm,
    /// Refuse destructive commands.
    ReadOnly,
    /// Show the filled-in commands, run nothing.
    DryRun,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::ReadOnly => "read-only",
            Self::DryRun => "dry-run",
        }
    }
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
    /// Quit while a command runs?
    Quit,
}

/// Full-screen layers over the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The selected step's output, scrollable and searchable.
    Output {
        scroll: usize,
        query: String,
        searching: bool,
    },
}

/// The kube context the commands use: pinned by the app, shown in the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub server: Option<String>,
    pub health: Health,
    /// The config's guard rail for this context.
    pub guard: Guard,
    /// runbook's gate runs for it: read-only and dry-run hold at the API.
    pub gated: bool,
    /// Why there is no context ("no kubeconfig: ..."), empty when there is one.
    pub detail: String,
}

/// A session left unfinished for the open scenario and the same context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumable {
    pub id: String,
    pub done: usize,
    pub total: usize,
    /// Last activity, as the user reads it.
    pub updated: String,
}

/// A step as a resumed session left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredStep {
    pub index: usize,
    pub status: Status,
    /// The end of its output.
    pub output: Vec<String>,
    pub note: String,
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
}

/// Something the loop must do.
#[derive(Debug)]
pub enum Effect {
    /// Run one step of the open scenario.
    Run {
        index: usize,
        run: Box<RunRequest>,
    },
    /// Cancel the running command.
    Cancel,
    /// Put text on the clipboard (OSC 52: works over SSH).
    Copy(String),
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
    /// List cluster objects for a picker; answered by [`Action::Choices`] with `token`.
    ListChoices {
        token: u64,
        spec: PickSpec,
        namespace: Option<String>,
    },
    /// Run the catalog's diagnose checks against the commands' cluster; report `Diagnosed`.
    Diagnose,
    Quit,
}

/// Everything a step run needs, handed to the engine's task.
#[derive(Debug)]
pub struct RunRequest {
    pub number: String,
    pub step: Step,
    pub shell: Shell,
    pub options: RunOptions,
    pub docs: BTreeMap<String, PlaceholderDoc>,
}

#[derive(Debug)]
pub struct State {
    pub screen: Screen,
    pub catalog: CatalogView,
    pub scenario: Option<ScenarioView>,
    /// The Diagnose view, once `D` was pressed.
    pub diagnose: Option<diagnose::DiagnoseView>,
    pub dialog: Option<Dialog>,
    pub overlay: Option<Overlay>,
    pub focus: Focus,
    pub mode: Mode,
    pub context: ContextInfo,
    /// The contexts of the user's kubeconfig, for the picker.
    pub contexts: Vec<ContextEntry>,
    /// The last picker request's number.
    pub pick_token: u64,
    pub keymap: Keymap,
    /// The shell session carried between steps; `None` while a step runs with it.
    pub shell: Option<Shell>,
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
    /// URLs of fetched runbooks whose commands the user agreed to run in this session.
    pub trusted_origins: Vec<String>,
}

impl State {
    pub fn new(runbooks: Vec<Arc<Runbook>>, keymap: Keymap, shell: Shell) -> Self {
        Self {
            screen: Screen::Catalog,
            catalog: CatalogView::new(runbooks),
            scenario: None,
            diagnose: None,
            dialog: None,
            overlay: None,
            focus: Focus::Checklist,
            mode: Mode::Confirm,
            context: ContextInfo::default(),
            contexts: Vec::new(),
            pick_token: 0,
            keymap,
            shell: Some(shell),
            message: None,
            size: (80, 24),
            ticks: 0,
            clock: Duration::ZERO,
            should_quit: false,
            nodes: exec::nodes::NodeOptions::default(),
            checklist_area: None,
            trusted_origins: Vec::new(),
        }
    }

    pub fn vars(&self) -> Option<&Vars> {
        self.shell.as_ref().map(|s| &s.vars)
    }

    pub fn running(&self) -> Option<usize> {
        self.scenario.as_ref().and_then(|s| s.running)
    }

    /// Opens a scenario by id (`runbook/scenario`), as `runbook TARGET` does.
    pub fn open(&mut self, id: &str) -> bool {
        let Some(entry) = self
            .catalog
            .entries
            .iter()
            .position(|e| e.id == id || e.runbook_id == id)
        else {
            return false;
        };
        self.open_entry(entry);
        true
    }

    fn open_entry(&mut self, entry: usize) {
        let e = &self.catalog.entries[entry];
        let runbook = Arc::clone(&self.catalog.runbooks[e.runbook]);
        self.scenario = Some(ScenarioView::new(runbook, e.scenario, 0));
        self.screen = Screen::Scenario;
        self.focus = Focus::Checklist;
        self.message = None;
    }
}

/// The one function that changes the state.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => {
            state.ticks = state.ticks.wrapping_add(1);
            state.clock = now;
            if let Some(s) = &mut state.scenario {
                s.tick(now);
            }
            Vec::new()
        }
        Action::Resize(w, h) => {
            state.size = (w, h);
            Vec::new()
        }
        Action::Resumable(r) => {
            if state.scenario.is_some() && state.dialog.is_none() && state.running().is_none() {
                state.dialog = Some(Dialog::Resume(r));
            }
            Vec::new()
        }
        Action::Restored { steps, vars } => {
            if let Some(session) = &mut state.shell {
                for (name, value) in vars {
                    session.vars.set(&name, value, Origin::Prompt);
                }
            }
            if let Some(s) = &mut state.scenario {
                for r in steps {
                    s.set_status(r.index, r.status);
                    if let Some(item) = s.items.get_mut(r.index) {
                        item.note = r.note;
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
            state.message =
                Some("resumed: secret values are asked again when a step needs them".to_owned());
            Vec::new()
        }
        Action::Cluster(info) => {
            state.context = *info;
            apply_guard(state);
            Vec::new()
        }
        Action::Health { context, health } => {
            if state.context.context.as_deref() == Some(context.as_str()) {
                state.context.health = health;
            }
            Vec::new()
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
            Vec::new()
        }
        Action::Engine(index, event) => {
            if let Some(s) = &mut state.scenario {
                s.engine_event(index, *event);
            }
            Vec::new()
        }
        Action::OutputDropped(index, n) => {
            if let Some(item) = state.scenario.as_mut().and_then(|s| s.items.get_mut(index)) {
                item.output.dropped += n;
            }
            Vec::new()
        }
        Action::RunEnded(index, session) => {
            state.shell = Some(*session);
            if let Some(s) = &mut state.scenario {
                s.run_ended(index);
            }
            if state.dialog == Some(Dialog::Quit) || state.should_quit {
                state.should_quit = true;
                return vec![Effect::Quit];
            }
            Vec::new()
        }
        Action::Diagnosed(outcome) => {
            if let Some(view) = &mut state.diagnose {
                view.finished(*outcome);
            }
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
        Action::Input(c) => {
            input(state, Some(c));
            Vec::new()
        }
        Action::Backspace => {
            input(state, None);
            Vec::new()
        }
        Action::Paste(text) => {
            for c in text.chars().filter(|c| !c.is_control()) {
                input(state, Some(c));
            }
            Vec::new()
        }
        Action::Scroll(delta) => {
            scroll(state, delta);
            Vec::new()
        }
        Action::Click(_, row) => {
            click(state, row);
            Vec::new()
        }
        Action::Command(command) => {
            // A message answers the last key; the next key replaces it.
            state.message = None;
            command_action(state, command)
        }
    }
}

/// Is a text field taking keystrokes? Then letters are text, not commands.
pub fn typing(state: &State) -> bool {
    matches!(
        state.dialog,
        Some(
            Dialog::Prompt { .. }
                | Dialog::Note { .. }
                | Dialog::Namespace { .. }
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
    if let Some(
        Dialog::Prompt { input, .. }
        | Dialog::Note { input, .. }
        | Dialog::Namespace { input, .. }
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
    if let Some(Overlay::Output { scroll, .. }) = &mut state.overlay {
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
        return dialog_command(state, dialog, command);
    }
    if let Some(overlay) = &mut state.overlay {
        match (overlay, command) {
            (_, Command::Back | Command::Quit) | (Overlay::Help, Command::Help) => {
                state.overlay = None;
            }
            (Overlay::Output { .. }, Command::FullOutput) => state.overlay = None,
            (Overlay::Output { scroll, .. }, Command::Up) => *scroll = scroll.saturating_sub(1),
            (Overlay::Output { scroll, .. }, Command::Down) => *scroll += 1,
            (Overlay::Output { scroll, .. }, Command::PageUp) => {
                *scroll = scroll.saturating_sub(20);
            }
            (Overlay::Output { scroll, .. }, Command::PageDown) => *scroll += 20,
            (Overlay::Output { scroll, .. }, Command::Top) => *scroll = 0,
            (Overlay::Output { scroll, .. }, Command::Bottom) => *scroll = usize::MAX / 2,
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
        return Vec::new();
    }
    match command {
        Command::Help => {
            state.overlay = Some(Overlay::Help);
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
            state.mode = match state.mode {
                Mode::Confirm => Mode::ReadOnly,
                Mode::ReadOnly => Mode::DryRun,
                Mode::DryRun => Mode::Confirm,
            };
            state.message = Some(format!("mode: {}", state.mode.label()));
            Vec::new()
        }
        Command::Cancel => cancel(state),
        Command::Diagnose => start_diagnose(state),
        Command::ToggleDiff if state.screen == Screen::Catalog && !state.catalog.searching => {
            start_diagnose(state)
        }
        _ => match state.screen {
            Screen::Catalog => catalog_command(state, command),
            Screen::Scenario => scenario_command(state, command),
            Screen::Diagnose => diagnose_command(state, command),
        },
    }
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
            if let Some(id) = view.selected_scenario().map(str::to_owned)
                && !state.open(&id)
            {
                state.message = Some(format!("no scenario `{id}` in the catalog"));
            }
        }
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
                state.open_entry(entry);
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
        Command::MarkDone => {
            if s.running == Some(s.selected) {
                state.message = Some("the step is running; x cancels it".to_owned());
            } else {
                s.set_status(s.selected, Status::Done);
                s.advance();
            }
        }
        Command::Skip => {
            if s.running == Some(s.selected) {
                state.message = Some("the step is running; x cancels it".to_owned());
            } else {
                s.set_status(s.selected, Status::Skipped);
                s.advance();
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
            let vars = state.shell.as_ref().map(|x| &x.vars);
            return match s.filled_commands(index, vars) {
                Some(text) if !text.is_empty() => {
                    state.message = Some("copied the command to the clipboard".to_owned());
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
                state.scenario = None;
            }
        }
        Command::Enter => return start_run(state),
        _ => {}
    }
    Vec::new()
}

fn dialog_command(state: &mut State, dialog: Dialog, command: Command) -> Vec<Effect> {
    match (dialog, command) {
        (Dialog::Resume(r), Command::Enter) => {
            state.dialog = None;
            state.message = Some(format!("resuming session {}", r.id));
            vec![Effect::Resume(r.id)]
        }
        (Dialog::Resume(_), Command::Back) => {
            state.dialog = None;
            state.message = Some("a new session starts with the first step you run".to_owned());
            Vec::new()
        }
        (Dialog::Note { step, input }, Command::Enter) => {
            state.dialog = None;
            if let Some(item) = state.scenario.as_mut().and_then(|s| s.items.get_mut(step)) {
                item.note.clone_from(&input);
            }
            state.message = Some("note kept in the session and its report".to_owned());
            vec![Effect::Note { step, text: input }]
        }
        (_, Command::Back) => {
            state.dialog = None;
            state.message = Some("not run".to_owned());
            Vec::new()
        }
        (Dialog::Quit, Command::Enter) => {
            state.dialog = Some(Dialog::Quit);
            state.should_quit = true;
            vec![Effect::Cancel]
        }
        (
            Dialog::Prompt {
                step,
                name,
                input,
                secret,
                live,
                ..
            },
            Command::Enter,
        ) => {
            let input = live
                .as_ref()
                .and_then(|l| l.chosen(&input))
                .map_or(input, |c| c.value.clone());
            if input.is_empty() {
                state.message = Some(format!("type a value for {name}, or Esc"));
                return Vec::new();
            }
            if let Some(session) = &mut state.shell {
                if secret {
                    session.vars.set_secret(&name, input, Origin::Prompt);
                } else {
                    session.vars.set(&name, input, Origin::Prompt);
                }
            }
            state.dialog = None;
            if let Some(s) = &mut state.scenario {
                s.selected = step;
            }
            start_run(state)
        }
        (Dialog::Prompt { .. } | Dialog::Namespace { .. }, Command::Up | Command::Down) => {
            let delta = if command == Command::Up { -1 } else { 1 };
            match &mut state.dialog {
                Some(
                    Dialog::Prompt {
                        input,
                        live: Some(live),
                        ..
                    }
                    | Dialog::Namespace { input, live },
                ) => live.step(input, delta),
                Some(Dialog::Prompt { input, choices, .. }) => {
                    if let Some(first) = choices.first() {
                        input.clone_from(first);
                    }
                }
                _ => {}
            }
            Vec::new()
        }
        (
            Dialog::Confirm {
                require: Some(name),
                input,
                ..
            },
            Command::Enter,
        ) if input.trim() != name => {
            state.message = Some(format!("type `{name}` to run it on this context, or Esc"));
            Vec::new()
        }
        (Dialog::Confirm { step, origin, .. }, Command::Enter) => {
            state.dialog = None;
            state.trusted_origins.extend(origin);
            launch(state, step, true)
        }
        (Dialog::Contexts { selected }, Command::Up | Command::Down) => {
            let last = state.contexts.len().saturating_sub(1);
            let selected = if command == Command::Up {
                selected.saturating_sub(1)
            } else {
                (selected + 1).min(last)
            };
            state.dialog = Some(Dialog::Contexts { selected });
            Vec::new()
        }
        (Dialog::Contexts { selected }, Command::Enter) => {
            state.dialog = None;
            let Some(entry) = state.contexts.get(selected) else {
                return Vec::new();
            };
            state.message = Some(format!("context: {}", entry.name));
            vec![Effect::SwitchContext {
                context: entry.name.clone(),
                namespace: None,
            }]
        }
        (Dialog::Namespace { input, live }, Command::Enter) => {
            let chosen = live
                .chosen(&input)
                .map_or_else(|| input.trim().to_owned(), |c| c.value.clone());
            let Some(context) = state.context.context.clone() else {
                state.dialog = None;
                return Vec::new();
            };
            if chosen.is_empty() {
                state.message = Some("pick a namespace with ↑↓ or type one, or Esc".to_owned());
                return Vec::new();
            }
            state.dialog = None;
            state.message = Some(format!("namespace: {chosen}"));
            vec![Effect::SwitchContext {
                context,
                namespace: Some(chosen),
            }]
        }
        (Dialog::Procedure { selected }, Command::Up) => {
            state.dialog = Some(Dialog::Procedure {
                selected: selected.saturating_sub(1),
            });
            Vec::new()
        }
        (Dialog::Procedure { selected }, Command::Down) => {
            let max = state
                .scenario
                .as_ref()
                .map_or(1, ScenarioView::procedure_count);
            state.dialog = Some(Dialog::Procedure {
                selected: (selected + 1).min(max - 1),
            });
            Vec::new()
        }
        (Dialog::Procedure { selected }, Command::Enter) => {
            state.dialog = None;
            if let Some(s) = &mut state.scenario {
                if s.running.is_some() {
                    state.message = Some("a command is running; x cancels it first".to_owned());
                } else {
                    *s = ScenarioView::new(Arc::clone(&s.runbook), s.scenario, selected);
                }
            }
            Vec::new()
        }
        // Anything else does nothing while a dialog is open.
        (
            Dialog::Quit
            | Dialog::Prompt { .. }
            | Dialog::Confirm { .. }
            | Dialog::Procedure { .. }
            | Dialog::Contexts { .. }
            | Dialog::Namespace { .. }
            | Dialog::Resume(_)
            | Dialog::Note { .. },
            _,
        ) => Vec::new(),
    }
}

/// Enter on a step: ask for missing values, then for confirmation, then run.
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
    if item.step.commands().next().is_none() {
        state.message = Some("a manual step: do it, then Space marks it done".to_owned());
        return Vec::new();
    }
    let Some(vars) = state.vars() else {
        return Vec::new();
    };
    // Placeholders first, in the order they appear.
    let mut asked = None;
    for block in item.step.commands() {
        if let Some(p) = vars.missing(&block.code).into_iter().next() {
            let raw = p.raw(&block.code).to_owned();
            let context = block
                .code
                .lines()
                .find(|l| l.contains(&raw))
                .unwrap_or_default()
                .trim()
                .to_owned();
            let doc = s.docs().get(&p.name).or_else(|| {
                s.docs()
                    .iter()
                    .find(|(k, _)| crate::runbook::placeholder::normalise(k) == p.name)
                    .map(|(_, v)| v)
            });
            let choices = vars
                .get(&p.name)
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
                    |name| vars.get(name).map(|v| v.value.clone()),
                )
            });
            let prompt = Dialog::Prompt {
                step: index,
                name: p.name.clone(),
                raw,
                context,
                description: doc.and_then(|d| d.description.clone()),
                example: doc.and_then(|d| d.example.clone()),
                secret: p.secret || doc.is_some_and(|d| d.secret),
                input: String::new(),
                choices,
                live: None,
            };
            asked = Some((prompt, spec.map(|spec| (spec, namespace))));
            break;
        }
    }
    if let Some((mut prompt, pick)) = asked {
        let mut effects = Vec::new();
        if let (Some((spec, namespace)), Dialog::Prompt { live, .. }) = (pick, &mut prompt) {
            let (list, effect) = live_list(state, spec, namespace);
            *live = Some(list);
            effects.push(effect);
        }
        state.dialog = Some(prompt);
        return effects;
    }
    let Some(s) = &state.scenario else {
        return Vec::new();
    };
    let Some(item) = s.items.get(index) else {
        return Vec::new();
    };
    let Some(vars) = state.vars() else {
        return Vec::new();
    };
    // A fetched runbook: its first command in this session is confirmed naming the URL (the
    // dialog lists every command of the step, so destructive ones are confirmed with it).
    let origin = s
        .runbook
        .fetched
        .as_ref()
        .map(|f| f.url.clone())
        .filter(|url| state.mode != Mode::DryRun && !state.trusted_origins.contains(url));
    if state.mode == Mode::Confirm || origin.is_some() {
        let mut commands = Vec::new();
        let mut reasons = Vec::new();
        let mut destructive = false;
        for block in item.step.commands() {
            let class = exec::classify_block(block, exec::safety::Trust::of(&s.runbook));
            destructive |= class.destructive;
            if class.destructive || origin.is_some() {
                let shown = vars
                    .fill(&block.code)
                    .map_or_else(|_| block.code.clone(), |f| f.display);
                commands.push(shown.trim_end().to_owned());
                reasons.extend(class.reasons);
            }
        }
        if !commands.is_empty() {
            reasons.dedup();
            let require = (destructive && state.context.guard == Guard::ConfirmName)
                .then(|| state.context.context.clone())
                .flatten();
            state.dialog = Some(Dialog::Confirm {
                step: index,
                commands,
                reasons,
                require,
                input: String::new(),
                origin,
            });
            return Vec::new();
        }
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
fn apply_guard(state: &mut State) {
    match state.context.guard {
        Guard::ReadOnly => state.mode = Mode::ReadOnly,
        Guard::DryRun => state.mode = Mode::DryRun,
        Guard::Normal | Guard::ConfirmName => {}
    }
}

fn launch(state: &mut State, index: usize, confirmed: bool) -> Vec<Effect> {
    let Some(session) = state.shell.take() else {
        return Vec::new();
    };
    let mode = state.mode;
    let Some(s) = &mut state.scenario else {
        state.shell = Some(session);
        return Vec::new();
    };
    let Some(item) = s.items.get(index) else {
        state.shell = Some(session);
        return Vec::new();
    };
    let options = RunOptions {
        yes: confirmed,
        read_only: mode == Mode::ReadOnly,
        dry_run: mode == Mode::DryRun,
        terminal: true,
        nodes: state.nodes.clone(),
        trust: exec::safety::Trust::of(&s.runbook),
        ..RunOptions::default()
    };
    let run = RunRequest {
        number: item.number.clone(),
        step: item.step.clone(),
        shell: session,
        options,
        docs: s.docs().clone(),
    };
    s.running = Some(index);
    s.started = state.clock;
    s.set_status(index, Status::Running(Duration::ZERO));
    s.items[index].output = OutputView::default();
    state.message = None;
    vec![Effect::Run {
        index,
        run: Box::new(run),
    }]
}

#[cfg(test)]
mod tests;
