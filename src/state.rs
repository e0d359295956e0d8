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
mod nodes;
mod scenario;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::action::{Action, Command, Keymap};
use crate::exec::runner::{Options as RunOptions, Session};
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
    },
    /// A destructive command is about to run.
    Confirm {
        step: usize,
        commands: Vec<String>,
        reasons: Vec<String>,
    },
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

/// The kube context the commands will use (from kubectl until the cluster module lands).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// "reachable", "no kubeconfig", ...
    pub detail: String,
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
    Quit,
}

/// Everything a step run needs, handed to the engine's task.
#[derive(Debug)]
pub struct RunRequest {
    pub number: String,
    pub step: Step,
    pub session: Session,
    pub options: RunOptions,
    pub docs: BTreeMap<String, PlaceholderDoc>,
}

#[derive(Debug)]
pub struct State {
    pub screen: Screen,
    pub catalog: CatalogView,
    pub scenario: Option<ScenarioView>,
    pub dialog: Option<Dialog>,
    pub overlay: Option<Overlay>,
    pub focus: Focus,
    pub mode: Mode,
    pub context: ContextInfo,
    pub keymap: Keymap,
    /// The shell session carried between steps; `None` while a step runs with it.
    pub session: Option<Session>,
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
    pub fn new(runbooks: Vec<Arc<Runbook>>, keymap: Keymap, session: Session) -> Self {
        Self {
            screen: Screen::Catalog,
            catalog: CatalogView::new(runbooks),
            scenario: None,
            dialog: None,
            overlay: None,
            focus: Focus::Checklist,
            mode: Mode::Confirm,
            context: ContextInfo::default(),
            keymap,
            session: Some(session),
            message: None,
            size: (80, 24),
            ticks: 0,
            clock: Duration::ZERO,
            should_quit: false,
            nodes: exec::nodes::NodeOptions::default(),
            checklist_area: None,
        }
    }

    pub fn vars(&self) -> Option<&Vars> {
        self.session.as_ref().map(|s| &s.vars)
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
        Action::Context {
            context,
            namespace,
            detail,
        } => {
            state.context = ContextInfo {
                context,
                namespace,
                detail,
            };
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
            state.session = Some(*session);
            if let Some(s) = &mut state.scenario {
                s.run_ended(index);
            }
            if state.dialog == Some(Dialog::Quit) || state.should_quit {
                state.should_quit = true;
                return vec![Effect::Quit];
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
    matches!(state.dialog, Some(Dialog::Prompt { .. }))
        || matches!(
            state.overlay,
            Some(Overlay::Output {
                searching: true,
                ..
            })
        )
        || (state.screen == Screen::Catalog && state.catalog.searching)
}

fn input(state: &mut State, c: Option<char>) {
    if let Some(Dialog::Prompt { input, .. }) = &mut state.dialog {
        edit(input, c);
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
        _ => match state.screen {
            Screen::Catalog => catalog_command(state, command),
            Screen::Scenario => scenario_command(state, command),
        },
    }
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
            let vars = state.session.as_ref().map(|x| &x.vars);
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
                ..
            },
            Command::Enter,
        ) => {
            if input.is_empty() {
                state.message = Some(format!("type a value for {name}, or Esc"));
                return Vec::new();
            }
            if let Some(session) = &mut state.session {
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
        (Dialog::Prompt { .. }, Command::Up | Command::Down) => {
            if let Some(Dialog::Prompt { input, choices, .. }) = &mut state.dialog
                && let Some(first) = choices.first()
            {
                input.clone_from(first);
            }
            Vec::new()
        }
        (Dialog::Confirm { step, .. }, Command::Enter) => {
            state.dialog = None;
            launch(state, step, true)
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
            | Dialog::Procedure { .. },
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
            state.dialog = Some(Dialog::Prompt {
                step: index,
                name: p.name.clone(),
                raw,
                context,
                description: doc.and_then(|d| d.description.clone()),
                example: doc.and_then(|d| d.example.clone()),
                secret: p.secret || doc.is_some_and(|d| d.secret),
                input: String::new(),
                choices,
            });
            return Vec::new();
        }
    }
    if state.mode == Mode::Confirm {
        let mut commands = Vec::new();
        let mut reasons = Vec::new();
        for block in item.step.commands() {
            let class = exec::classify_block(block);
            if class.destructive {
                let shown = vars
                    .fill(&block.code)
                    .map_or_else(|_| block.code.clone(), |f| f.display);
                commands.push(shown.trim_end().to_owned());
                reasons.extend(class.reasons);
            }
        }
        if !commands.is_empty() {
            reasons.dedup();
            state.dialog = Some(Dialog::Confirm {
                step: index,
                commands,
                reasons,
            });
            return Vec::new();
        }
    }
    launch(state, index, false)
}

fn launch(state: &mut State, index: usize, confirmed: bool) -> Vec<Effect> {
    let Some(session) = state.session.take() else {
        return Vec::new();
    };
    let mode = state.mode;
    let Some(s) = &mut state.scenario else {
        state.session = Some(session);
        return Vec::new();
    };
    let Some(item) = s.items.get(index) else {
        state.session = Some(session);
        return Vec::new();
    };
    let options = RunOptions {
        yes: confirmed,
        read_only: mode == Mode::ReadOnly,
        dry_run: mode == Mode::DryRun,
        terminal: true,
        nodes: state.nodes.clone(),
        ..RunOptions::default()
    };
    let run = RunRequest {
        number: item.number.clone(),
        step: item.step.clone(),
        session,
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
