//! The keys while a dialog is open: dialogs own the keyboard. [`command`] picks the open
//! dialog's handler; Esc leaves any dialog that has no answer of its own for it ("not run").
//!
//! To add a dialog: its variant in [`Dialog`], an arm in [`command`] (a function here when it
//! takes more than a line or two), and its box in `ui/dialogs.rs`.

use std::sync::Arc;

use crate::action::{Command, Resumable};
use crate::drive::Alternative;
use crate::exec::vars::Origin;

use super::{Dialog, Effect, Live, ScenarioView, State, launch, values};

/// A key while `dialog` (a copy of the open one) is open.
pub(super) fn command(state: &mut State, dialog: Dialog, command: Command) -> Vec<Effect> {
    match dialog {
        Dialog::Resume(r) => resume(state, r, command),
        Dialog::Values { .. } => values::command(state, command),
        Dialog::Edit(editor) => super::edit::command(state, editor, command),
        Dialog::Lab => {
            if matches!(
                command,
                Command::Enter | Command::Back | Command::Lab | Command::Quit
            ) {
                state.dialog = None;
            }
            Vec::new()
        }
        _ if command == Command::Back => {
            state.dialog = None;
            state.message = Some("not run".to_owned());
            Vec::new()
        }
        Dialog::Note { step, input } if command == Command::Enter => {
            state.dialog = None;
            if let Some(item) = state.scenario.as_mut().and_then(|s| s.items.get_mut(step)) {
                item.note.clone_from(&input);
            }
            state.message = Some("note kept in the session and its report".to_owned());
            vec![Effect::Note { step, text: input }]
        }
        Dialog::Quit if command == Command::Enter => {
            state.dialog = Some(Dialog::Quit);
            state.should_quit = true;
            vec![Effect::Cancel]
        }
        Dialog::Prompt {
            step,
            name,
            input,
            secret,
            live,
            ..
        } => match command {
            Command::Enter => take_value(state, step, name, input, secret, live.as_ref()),
            Command::Up | Command::Down => step_choices(state, command),
            _ => Vec::new(),
        },
        Dialog::Namespace { input, live } => match command {
            Command::Enter => take_namespace(state, &input, &live),
            Command::Up | Command::Down => step_choices(state, command),
            _ => Vec::new(),
        },
        Dialog::Confirm {
            step,
            require,
            input,
            ..
        } if command == Command::Enter => match require {
            Some(name) if input.trim() != name => {
                state.message = Some(format!("type `{name}` to run it on this context, or Esc"));
                Vec::new()
            }
            _ => {
                state.dialog = None;
                launch(state, step, true)
            }
        },
        Dialog::Contexts { selected } => contexts(state, selected, command),
        Dialog::Alternatives {
            step,
            options,
            selected,
        } => alternatives(state, step, options, selected, command),
        Dialog::Procedure { selected } => procedure(state, selected, command),
        // Anything else does nothing while a dialog is open.
        Dialog::Note { .. } | Dialog::Quit | Dialog::Confirm { .. } => Vec::new(),
    }
}

/// Enter resumes the unfinished session; Esc starts over.
fn resume(state: &mut State, r: Resumable, command: Command) -> Vec<Effect> {
    match command {
        Command::Enter => {
            state.dialog = None;
            state.message = Some(format!("resuming session {}", r.id));
            vec![Effect::Resume(r.id)]
        }
        Command::Back => {
            state.dialog = None;
            state.message = Some("a new session starts with the first step you run".to_owned());
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Enter on a placeholder's prompt: the typed value (or the picked choice) for every step
/// that needs it, then the step is asked again what it needs.
fn take_value(
    state: &mut State,
    step: usize,
    name: String,
    input: String,
    secret: bool,
    live: Option<&Live>,
) -> Vec<Effect> {
    let input = live
        .and_then(|l| l.taken(&input))
        .map_or(input, |c| c.value.clone());
    if input.is_empty() {
        state.message = Some(format!("type a value for {name}, or Esc"));
        return Vec::new();
    }
    if secret {
        state.vars.set_secret(&name, input.clone(), Origin::Prompt);
    } else {
        state.vars.set(&name, input.clone(), Origin::Prompt);
    }
    state.dialog = None;
    if let Some(s) = &mut state.scenario {
        s.selected = step;
    }
    vec![
        Effect::SetValue {
            name,
            value: input,
            secret,
        },
        Effect::Preflight(step),
    ]
}

/// ↑↓ in a field with a list: moves in the cluster's choices, or (a prompt without them)
/// brings back the value given last.
fn step_choices(state: &mut State, command: Command) -> Vec<Effect> {
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

/// Enter on the namespace picker: the picked or typed namespace becomes the commands' default.
fn take_namespace(state: &mut State, input: &str, live: &Live) -> Vec<Effect> {
    let chosen = live
        .taken(input)
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

/// ↑↓ move through the kube contexts; Enter switches to the selected one.
fn contexts(state: &mut State, selected: usize, command: Command) -> Vec<Effect> {
    match command {
        Command::Up | Command::Down => {
            let last = state.contexts.len().saturating_sub(1);
            let selected = if command == Command::Up {
                selected.saturating_sub(1)
            } else {
                (selected + 1).min(last)
            };
            state.dialog = Some(Dialog::Contexts { selected });
            Vec::new()
        }
        Command::Enter => {
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
        _ => Vec::new(),
    }
}

/// ↑↓ move through a step's alternatives; Enter picks the one that runs, and the step is
/// asked again what it needs.
fn alternatives(
    state: &mut State,
    step: usize,
    options: Vec<Alternative>,
    selected: usize,
    command: Command,
) -> Vec<Effect> {
    match command {
        Command::Up | Command::Down => {
            let selected = if command == Command::Up {
                selected.saturating_sub(1)
            } else {
                (selected + 1).min(options.len().saturating_sub(1))
            };
            state.dialog = Some(Dialog::Alternatives {
                step,
                options,
                selected,
            });
            Vec::new()
        }
        Command::Enter => {
            state.dialog = None;
            let Some(a) = options.get(selected) else {
                return Vec::new();
            };
            state.message = Some(format!("step runs \"{}\"", a.tab));
            vec![
                Effect::Choose {
                    step,
                    block: a.block,
                },
                Effect::Preflight(step),
            ]
        }
        _ => Vec::new(),
    }
}

/// ↑↓ move through the scenario's procedures; Enter opens the selected one.
fn procedure(state: &mut State, selected: usize, command: Command) -> Vec<Effect> {
    match command {
        Command::Up => {
            state.dialog = Some(Dialog::Procedure {
                selected: selected.saturating_sub(1),
            });
            Vec::new()
        }
        Command::Down => {
            let max = state
                .scenario
                .as_ref()
                .map_or(1, ScenarioView::procedure_count);
            state.dialog = Some(Dialog::Procedure {
                selected: (selected + 1).min(max - 1),
            });
            Vec::new()
        }
        Command::Enter => {
            state.dialog = None;
            let Some(s) = &state.scenario else {
                return Vec::new();
            };
            if s.running.is_some() {
                state.message = Some("a command is running; x cancels it first".to_owned());
                return Vec::new();
            }
            let (runbook, scenario) = (Arc::clone(&s.runbook), s.scenario);
            vec![state.open_view(runbook, scenario, selected)]
        }
        _ => Vec::new(),
    }
}
