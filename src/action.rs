//! Everything that can happen to the app, as one enum, and the keymap that turns keys into it.
//!
//! The keymap is the single source for key handling, the help overlay and the key hints in the
//! status bar: add a binding to [`DEFAULT_BINDINGS`] (or the user's config) and all three follow.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

use crate::cluster::guard::Guard;
use crate::cluster::health::Health;
use crate::drive::Needs;
use crate::exec::runner::{Event as EngineEvent, Verdict};
use crate::exec::vars::Vars;
use crate::session::{StepEdit, StepState};

/// A user command, the name users write in the config's `[keys]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Open the selected scenario, run the selected step, confirm a dialog.
    Enter,
    MarkDone,
    Skip,
    Cancel,
    SwitchFocus,
    Search,
    Help,
    NextStep,
    PrevStep,
    Copy,
    FullOutput,
    ToggleDiff,
    PickProcedure,
    CycleMode,
    PickContext,
    PickNamespace,
    /// Run the runbooks' read-only checks against the cluster and rank what fits.
    Diagnose,
    /// Every cluster (contexts, Palette) with its health and matching runbooks.
    Clusters,
    /// Steps on every node: show the previous / next node columns.
    NodesLeft,
    NodesRight,
    /// Write the session's report (Markdown, redacted) and copy it.
    Report,
    /// A note on the selected step, kept in the session and its report.
    Note,
    /// The values given so far: change or clear one.
    Values,
    /// The practice cluster's instructions (`--lab`).
    Lab,
    /// Open the step's command or example in an editor line, to change and run it.
    Edit,
    /// The step's command back to the runbook's text.
    ResetEdit,
    /// Scroll the step text box.
    StepTextUp,
    StepTextDown,
    /// Output: wrap long lines, or cut them and scroll sideways.
    Wrap,
    ScrollLeft,
    ScrollRight,
    Back,
    Quit,
}

impl Command {
    /// What the help overlay says it does.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Up => "move up",
            Self::Down => "move down",
            Self::PageUp => "page up",
            Self::PageDown => "page down",
            Self::Top => "first item",
            Self::Bottom => "last item",
            Self::Enter => "open / run the step",
            Self::MarkDone => "mark the step done by hand",
            Self::Skip => "skip the step",
            Self::Cancel => "cancel the running command",
            Self::SwitchFocus => "switch focus: checklist / output",
            Self::Search => "search",
            Self::Help => "this help",
            Self::NextStep => "next step",
            Self::PrevStep => "previous step",
            Self::Copy => "send the command to the clipboard (OSC 52)",
            Self::FullOutput => "output full screen",
            Self::ToggleDiff => "expected output: beside / as a diff",
            Self::PickProcedure => "pick another procedure",
            Self::CycleMode => "mode: confirm / read-only / dry-run",
            Self::PickContext => "kube context: pick another (health in the list)",
            Self::PickNamespace => "namespace: pick from the cluster's list",
            Self::Diagnose => "diagnose: which runbook fits the cluster? (also d in the catalog)",
            Self::Clusters => "clusters: every context and Palette cluster, worst first",
            Self::NodesLeft => "nodes: previous column",
            Self::NodesRight => "nodes: next column",
            Self::Report => "write the report, send it by OSC 52",
            Self::Note => "note on the step (kept in the session and the report)",
            Self::Values => "values given so far: change or clear one",
            Self::Lab => "practice cluster: what to do; fixed yet?",
            Self::Edit => "edit the step's command or example, then run it",
            Self::ResetEdit => "edited step: back to the runbook's text",
            Self::StepTextUp => "step text / evidence: scroll up",
            Self::StepTextDown => "step text / evidence: scroll down",
            Self::Wrap => "output: wrap long lines / cut them",
            Self::ScrollLeft => "output: scroll left (lines cut)",
            Self::ScrollRight => "output: scroll right (lines cut)",
            Self::Back => "back / close",
            Self::Quit => "quit",
        }
    }

    /// A short word for the status bar's key hints.
    pub fn hint(self) -> &'static str {
        match self {
            Self::Enter => "run",
            Self::MarkDone => "done",
            Self::Skip => "skip",
            Self::Cancel => "cancel",
            Self::Search => "search",
            Self::Help => "help",
            Self::FullOutput => "output",
            Self::Copy => "copy",
            Self::Back => "back",
            Self::Quit => "quit",
            Self::PickProcedure => "procedure",
            Self::PickContext => "context",
            Self::Diagnose => "diagnose",
            Self::Clusters => "clusters",
            Self::Values => "values",
            Self::Wrap => "wrap",
            _ => "",
        }
    }
}

/// One key, as written in the config (`"ctrl-c"`, `"enter"`, `"j"`, `"shift-tab"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// The key of a terminal event (shift is folded into the character).
    pub fn from_event(event: &KeyEvent) -> Self {
        let mods = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        match event.code {
            KeyCode::BackTab => Self::plain(KeyCode::BackTab),
            code => Self { code, mods },
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let (mods, name) = if let Some(rest) = lower.strip_prefix("ctrl-") {
            (KeyModifiers::CONTROL, rest.to_owned())
        } else if let Some(rest) = lower.strip_prefix("alt-") {
            (KeyModifiers::ALT, rest.to_owned())
        } else {
            (KeyModifiers::NONE, lower.clone())
        };
        let code = match name.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "shift-tab" | "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            _ => {
                // Keep the case of a single letter: `N` is not `n`.
                let original = text.trim();
                let c = original.chars().last()?;
                if original.chars().count() == 1 || name.chars().count() == 1 {
                    KeyCode::Char(if mods == KeyModifiers::NONE {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    })
                } else {
                    return None;
                }
            }
        };
        Some(Self { code, mods })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings every user starts with.
pub const DEFAULT_BINDINGS: &[(Command, &[Key])] = &[
    (Command::Up, &[Key::plain(KeyCode::Up), Key::ch('k')]),
    (Command::Down, &[Key::plain(KeyCode::Down), Key::ch('j')]),
    (
        Command::PageUp,
        &[Key::plain(KeyCode::PageUp), Key::ctrl('u')],
    ),
    (
        Command::PageDown,
        &[Key::plain(KeyCode::PageDown), Key::ctrl('d')],
    ),
    (Command::Top, &[Key::plain(KeyCode::Home), Key::ch('g')]),
    (Command::Bottom, &[Key::plain(KeyCode::End), Key::ch('G')]),
    (Command::Enter, &[Key::plain(KeyCode::Enter)]),
    (Command::MarkDone, &[Key::ch(' ')]),
    (Command::Skip, &[Key::ch('s')]),
    (Command::Cancel, &[Key::ch('x'), Key::ctrl('c')]),
    (
        Command::SwitchFocus,
        &[Key::plain(KeyCode::Tab), Key::plain(KeyCode::BackTab)],
    ),
    (Command::Search, &[Key::ch('/')]),
    (Command::Help, &[Key::ch('?')]),
    (Command::NextStep, &[Key::ch('n')]),
    (Command::PrevStep, &[Key::ch('N')]),
    (Command::Copy, &[Key::ch('y')]),
    (Command::FullOutput, &[Key::ch('o')]),
    (Command::ToggleDiff, &[Key::ch('d')]),
    (Command::PickProcedure, &[Key::ch('p')]),
    (Command::CycleMode, &[Key::ch('m')]),
    (Command::PickContext, &[Key::ch('c')]),
    (Command::PickNamespace, &[Key::ch('C')]),
    // `d` is taken by ToggleDiff in a scenario; in the catalog it diagnoses too.
    (Command::Diagnose, &[Key::ch('D')]),
    (Command::Clusters, &[Key::ch('F')]),
    (
        Command::NodesLeft,
        &[Key::plain(KeyCode::Left), Key::ch('[')],
    ),
    (
        Command::NodesRight,
        &[Key::plain(KeyCode::Right), Key::ch(']')],
    ),
    (Command::Report, &[Key::ch('R')]),
    (Command::Note, &[Key::ch('a')]),
    (Command::Values, &[Key::ch('v')]),
    (Command::Lab, &[Key::ch('i')]),
    (Command::Edit, &[Key::ch('e')]),
    (Command::ResetEdit, &[Key::ch('E')]),
    (Command::StepTextUp, &[Key::ch('K')]),
    (Command::StepTextDown, &[Key::ch('J')]),
    (Command::Wrap, &[Key::ch('w')]),
    (Command::ScrollLeft, &[Key::ch('h')]),
    (Command::ScrollRight, &[Key::ch('l')]),
    (Command::Back, &[Key::plain(KeyCode::Esc)]),
    (Command::Quit, &[Key::ch('q')]),
];

/// Keys to commands, with user overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<Command, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: DEFAULT_BINDINGS
                .iter()
                .map(|(c, keys)| (*c, keys.to_vec()))
                .collect(),
        }
    }
}

impl Keymap {
    /// Applies `[keys]` from the config: `run = ["enter", "r"]`. Returns what it could not read.
    pub fn with_overrides(overrides: &BTreeMap<Command, Vec<String>>) -> (Self, Vec<String>) {
        let mut map = Self::default();
        let mut problems = Vec::new();
        for (command, names) in overrides {
            let keys: Vec<Key> = names
                .iter()
                .filter_map(|n| {
                    let k = Key::parse(n);
                    if k.is_none() {
                        problems.push(format!("unknown key `{n}` for {command:?}"));
                    }
                    k
                })
                .collect();
            if !keys.is_empty() {
                map.bindings.insert(*command, keys);
            }
        }
        (map, problems)
    }

    pub fn command(&self, key: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(key);
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(c, _)| *c)
    }

    /// `(keys, description)` for every command, in a stable order: the help overlay.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        DEFAULT_BINDINGS
            .iter()
            .map(|(c, _)| (self.keys_of(*c), c.describe()))
            .collect()
    }

    /// The first key of a command, as shown in hints.
    pub fn first_key(&self, command: Command) -> String {
        self.bindings
            .get(&command)
            .and_then(|k| k.first())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    fn keys_of(&self, command: Command) -> String {
        self.bindings
            .get(&command)
            .map(|keys| {
                keys.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }
}

/// Everything `update` reacts to.
#[derive(Debug)]
pub enum Action {
    Command(Command),
    /// A character typed into a text field (search box, prompt).
    Input(char),
    Backspace,
    /// A line pasted into the focused field.
    Paste(String),
    /// Mouse wheel over the screen (negative = up).
    Scroll(i16),
    /// A click at (column, row).
    Click(u16, u16),
    /// Time passes: spinners and elapsed times. Carries the time since the app started.
    Tick(std::time::Duration),
    Resize(u16, u16),
    /// The engine reports on the step with this index in the checklist.
    Engine(usize, Box<EngineEvent>),
    /// Output the UI had no room for while it was busy.
    OutputDropped(usize, u64),
    /// What the step about to run needs (the driver's preflight): values, a confirmation.
    Needs(Box<Needs>),
    /// The step's run ended; the values as they are now (for copying, prompts).
    RunEnded {
        index: usize,
        vars: Box<Vars>,
    },
    /// An unfinished session of the scenario just opened.
    Resumable(Resumable),
    /// A resumed session's steps and plain values.
    Restored {
        steps: Vec<RestoredStep>,
        vars: Vec<(String, String)>,
    },
    /// The report was written (its path and text), or why not.
    ReportWritten(Result<(std::path::PathBuf, String), String>),
    /// The kube context the commands use (pinned, or why there is none), and every context of
    /// the user's kubeconfig for the picker.
    Cluster(Box<ContextInfo>, Vec<crate::cluster::ContextEntry>),
    /// Something the loop has to tell the user (a job failed, a session cannot be written).
    Say(String),
    /// Where the last frame put the checklist rows (top, height, first row), for clicks.
    Layout(Option<(u16, u16, u16)>),
    /// The background probe's latest word on `context`.
    Health {
        context: String,
        health: crate::cluster::health::Health,
    },
    /// The answer to [`crate::state::Effect::ListChoices`] number `token`.
    Choices {
        token: u64,
        result: Result<Vec<crate::cluster::pick::Choice>, String>,
    },
    /// A diagnosis finished: the ranked report, or why no cluster could be reached.
    Diagnosed(Box<Result<crate::diagnose::Report, String>>),
    /// The external editor (`$VISUAL`, `$EDITOR`) closed on step `step`'s block `block`: the
    /// text as saved, or why it could not run.
    Edited {
        step: usize,
        block: usize,
        result: Result<String, String>,
    },
    /// The practice cluster reports its scenario fixed.
    LabFixed,
    /// A background pass over every cluster moved on.
    Fleet(crate::diagnose::fleet::Progress),
    /// The terminal went away or we were told to stop.
    Terminate,
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
    pub state: StepState,
    pub verdict: Option<Verdict>,
    /// The end of its output.
    pub output: Vec<String>,
    pub note: String,
    /// The user's text its last run ran in place of a block (secret values masked).
    pub edit: Option<StepEdit>,
}
