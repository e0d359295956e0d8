//! Editing a step's command before it runs (`e`): the editor line, the edit kept on the step,
//! and the way back to the runbook's text (`E`).
//!
//! `e` on a step opens its first editable block (a shell command or a filled-in example, the
//! parser's [`Block::editable`]) in a one-line [`Editor`]; a block of several lines goes to the
//! user's `$VISUAL` / `$EDITOR` instead ([`Effect::EditExternal`], answered by
//! [`Action::Edited`](crate::action::Action::Edited)). Enter keeps the text as the step's
//! [`Edit`] and hands it to the driver ([`Effect::Edit`]); the step then runs like any other,
//! through the same preflight (values, confirmation, gate) and the same session record, which
//! notes "edited from the runbook" with the diff. Esc drops the editor and runs nothing. The
//! edit stays on the step (moving between steps keeps it; Enter runs it again) until `E`.
//! The session records the text a step last ran with, and resuming the session puts it back
//! ([`restorable`]: unless it held a secret value, which the record masks).
//!
//! To edit one more kind of block, make the parser mark it `editable`; to add an editing key,
//! map it to an [`InputRequest`] in [`command`] (and in `App::translate` if it is no letter).

use tui_input::{Input, InputRequest};

use super::{Dialog, Effect, State};
use crate::action::Command;
use crate::runbook::Step;

/// The user's text for one block of a step, run instead of the runbook's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Index of the block in the step.
    pub block: usize,
    pub code: String,
}

/// The editor line open on a block.
#[derive(Debug, Clone)]
pub struct Editor {
    pub step: usize,
    pub block: usize,
    /// The runbook's text of the block, shown under the line.
    pub original: String,
    pub input: Input,
}

impl PartialEq for Editor {
    fn eq(&self, other: &Self) -> bool {
        (
            self.step,
            self.block,
            &self.original,
            self.input.value(),
            self.input.cursor(),
        ) == (
            other.step,
            other.block,
            &other.original,
            other.input.value(),
            other.input.cursor(),
        )
    }
}

impl Eq for Editor {}

/// Can a session's record of an edit be put back on its step when the session is resumed?
/// Not when it held a secret value: the record has it masked, and the masked text must never
/// run.
pub fn restorable(edit: &crate::session::StepEdit) -> bool {
    !edit.code.contains(crate::exec::vars::MASK)
}

/// The block `e` opens in a step: its first shell command or example the parser found
/// editable.
pub fn editable_block(step: &Step) -> Option<usize> {
    step.blocks.iter().position(|b| b.editable)
}

/// `e` on the selected step: the editor line (or the external editor for several lines),
/// with the step's edit if it has one, else the runbook's text.
pub fn open(state: &mut State) -> Vec<Effect> {
    let Some(s) = &state.scenario else {
        return Vec::new();
    };
    if s.running.is_some() {
        state.message = Some("a command is running; edit when it ends".to_owned());
        return Vec::new();
    }
    let step = s.selected;
    let Some(item) = s.items.get(step) else {
        return Vec::new();
    };
    let Some(block) = editable_block(&item.step) else {
        state.message = Some("this step has no command or example to edit".to_owned());
        return Vec::new();
    };
    let original = item.step.blocks[block].code.trim_end().to_owned();
    let text = item
        .edit
        .as_ref()
        .filter(|e| e.block == block)
        .map_or_else(|| original.clone(), |e| e.code.clone());
    if text.contains('\n') {
        state.message = Some("editing in $VISUAL / $EDITOR …".to_owned());
        return vec![Effect::EditExternal { step, block, text }];
    }
    state.dialog = Some(Dialog::Edit(Editor {
        step,
        block,
        original,
        input: Input::new(text),
    }));
    Vec::new()
}

/// A key in the editor line: Enter keeps the edit and runs it, Esc cancels, arrows move.
pub fn command(state: &mut State, mut editor: Editor, command: Command) -> Vec<Effect> {
    let request = match command {
        Command::Enter => {
            state.dialog = None;
            let code = editor.input.value().to_owned();
            return accept(state, editor.step, editor.block, code);
        }
        Command::Back | Command::Quit => {
            state.dialog = None;
            state.message = Some("edit cancelled: nothing ran".to_owned());
            return Vec::new();
        }
        Command::NodesLeft => InputRequest::GoToPrevChar,
        Command::NodesRight => InputRequest::GoToNextChar,
        Command::Top | Command::Up => InputRequest::GoToStart,
        Command::Bottom | Command::Down => InputRequest::GoToEnd,
        _ => return Vec::new(),
    };
    editor.input.handle(request);
    state.dialog = Some(Dialog::Edit(editor));
    Vec::new()
}

/// A character typed into the editor line (`None`: backspace).
pub fn input(editor: &mut Editor, c: Option<char>) {
    editor.input.handle(match c {
        Some(c) => InputRequest::InsertChar(c),
        None => InputRequest::DeletePrevChar,
    });
}

/// The external editor closed: its text is the edit (a trailing newline dropped), unless it
/// is empty or could not run.
pub fn external_done(
    state: &mut State,
    step: usize,
    block: usize,
    result: Result<String, String>,
) -> Vec<Effect> {
    match result {
        Ok(text) if !text.trim().is_empty() => {
            accept(state, step, block, text.trim_end().to_owned())
        }
        Ok(_) => {
            state.message = Some("the edit is empty: nothing ran".to_owned());
            Vec::new()
        }
        Err(e) => {
            state.message = Some(format!("cannot edit: {e}"));
            Vec::new()
        }
    }
}

/// Keeps `code` as the edit of step `step` and runs the step with it.
fn accept(state: &mut State, step: usize, block: usize, code: String) -> Vec<Effect> {
    let Some(s) = &mut state.scenario else {
        return Vec::new();
    };
    let Some(item) = s.items.get_mut(step) else {
        return Vec::new();
    };
    if code.trim().is_empty() {
        state.message = Some("the edit is empty: nothing ran".to_owned());
        return Vec::new();
    }
    item.edit = Some(Edit {
        block,
        code: code.clone(),
    });
    s.selected = step;
    let mut effects = vec![Effect::Edit {
        step,
        block,
        code: Some(code),
    }];
    effects.extend(super::start_run(state));
    effects
}

/// `E`: the selected step runs the runbook's text again.
pub fn reset(state: &mut State) -> Vec<Effect> {
    let Some(s) = &mut state.scenario else {
        return Vec::new();
    };
    if s.running.is_some() {
        state.message = Some("a command is running; reset the edit when it ends".to_owned());
        return Vec::new();
    }
    let step = s.selected;
    if let Some(edit) = s.items.get_mut(step).and_then(|i| i.edit.take()) {
        state.message = Some("back to the runbook's text".to_owned());
        vec![Effect::Edit {
            step,
            block: edit.block,
            code: None,
        }]
    } else {
        state.message = Some("this step is not edited".to_owned());
        Vec::new()
    }
}
