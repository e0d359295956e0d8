//! The edit-values view (`v`): every placeholder value given so far (secrets masked), where it
//! came from, and a field to change the selected one or clear it. A change reaches the driver as
//! [`Effect::SetValue`], a clear as [`Effect::ClearValue`] (the next step that needs the value
//! asks for it again).
//!
//! To show more about a value (the step that captured it, say), add it to [`Row`] and draw it in
//! `ui/dialogs.rs`.

use crate::action::Command;
use crate::exec::vars::{MASK, Origin};

use super::{Dialog, Effect, State};

/// One value as the view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    /// The value, or [`MASK`] for a secret.
    pub shown: String,
    pub secret: bool,
    /// Where it came from, as the user reads it.
    pub from: &'static str,
}

/// The values in the view's order (by name).
pub fn rows(state: &State) -> Vec<Row> {
    state
        .vars
        .iter()
        .map(|(name, var)| Row {
            name: name.clone(),
            shown: if var.secret {
                MASK.to_owned()
            } else {
                var.value.clone()
            },
            secret: var.secret,
            from: match var.origin {
                Origin::Cli => "--var",
                Origin::Step => "a step",
                Origin::Prompt => "typed",
            },
        })
        .collect()
}

pub fn open(state: &mut State) -> Vec<Effect> {
    if state.running().is_some() {
        state.message = Some("a command is running; x cancels it first".to_owned());
    } else if rows(state).is_empty() {
        state.message = Some("no values given yet: steps ask for them as they run".to_owned());
    } else {
        state.dialog = Some(Dialog::Values {
            selected: 0,
            editing: None,
        });
    }
    Vec::new()
}

pub fn command(state: &mut State, command: Command) -> Vec<Effect> {
    let Some(Dialog::Values { selected, editing }) = state.dialog.clone() else {
        return Vec::new();
    };
    let rows = rows(state);
    let Some(row) = rows.get(selected) else {
        state.dialog = None;
        return Vec::new();
    };
    match (editing, command) {
        (None, Command::Up | Command::Down) => {
            let selected = if command == Command::Up {
                selected.saturating_sub(1)
            } else {
                (selected + 1).min(rows.len() - 1)
            };
            state.dialog = Some(Dialog::Values {
                selected,
                editing: None,
            });
        }
        // A secret is never shown, so its field starts empty.
        (None, Command::Enter) => {
            let start = if row.secret {
                String::new()
            } else {
                row.shown.clone()
            };
            state.dialog = Some(Dialog::Values {
                selected,
                editing: Some(start),
            });
        }
        (None, Command::Back | Command::Values | Command::Quit) => state.dialog = None,
        (Some(_), Command::Back) => {
            state.dialog = Some(Dialog::Values {
                selected,
                editing: None,
            });
        }
        (Some(input), Command::Enter) if input.is_empty() => {
            state.vars.remove(&row.name);
            state.message = Some(format!(
                "{} cleared: the next step that needs it asks for it",
                row.name
            ));
            let left = rows.len() - 1;
            state.dialog = (left > 0).then(|| Dialog::Values {
                selected: selected.min(left - 1),
                editing: None,
            });
            return vec![Effect::ClearValue(row.name.clone())];
        }
        (Some(input), Command::Enter) => {
            if row.secret {
                state
                    .vars
                    .set_secret(&row.name, input.clone(), Origin::Prompt);
            } else {
                state.vars.set(&row.name, input.clone(), Origin::Prompt);
            }
            state.message = Some(format!("{}: new value for the steps to come", row.name));
            state.dialog = Some(Dialog::Values {
                selected,
                editing: None,
            });
            return vec![Effect::SetValue {
                name: row.name.clone(),
                value: input,
                secret: row.secret,
            }];
        }
        _ => {}
    }
    Vec::new()
}
