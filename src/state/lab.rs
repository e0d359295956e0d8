//! The practice cluster as the TUI shows it (`runbook --lab`): the scenario it is broken for,
//! what the trainee is asked to do there ("In this lab", the lab's hint), and whether the lab
//! reports the scenario fixed (a job in `app/jobs.rs` polls [`crate::lab::LabHandle::is_fixed`]
//! and sends [`crate::action::Action::LabFixed`]).
//!
//! The instructions open by themselves the first time the lab's scenario is opened, and `i`
//! shows them again; to say more about the lab, add it to [`LabInfo`] and draw it in
//! `ui/dialogs.rs`.

use super::{Dialog, Effect, State};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabInfo {
    /// The catalog id of the scenario the lab is broken for.
    pub scenario: String,
    pub title: String,
    /// What to do in the lab (what `runbook lab` prints as "In this lab").
    pub hint: String,
    pub fixed: bool,
    /// The instructions were shown once already.
    pub shown: bool,
}

impl LabInfo {
    pub fn of(lab: &crate::lab::LabHandle) -> Self {
        Self {
            scenario: lab.scenario_id().to_owned(),
            title: lab.scenario_title().to_owned(),
            hint: lab.hint().to_owned(),
            fixed: false,
            shown: false,
        }
    }

    /// Whether the scenario open on screen is the one the lab is broken for.
    pub fn is_for(&self, state: &State) -> bool {
        state
            .scenario
            .as_ref()
            .and_then(|s| s.scenario())
            .is_some_and(|s| s.id == self.scenario)
    }
}

/// A scenario was opened: the lab's own shows its instructions the first time.
pub fn opened(state: &mut State) {
    let Some(lab) = &state.lab else { return };
    if lab.shown || !lab.is_for(state) || state.dialog.is_some() {
        return;
    }
    state.dialog = Some(Dialog::Lab);
    if let Some(lab) = &mut state.lab {
        lab.shown = true;
    }
}

/// `i`: the instructions (and whether it is fixed yet).
pub fn show(state: &mut State) -> Vec<Effect> {
    if state.lab.is_some() {
        state.dialog = Some(Dialog::Lab);
    } else {
        state.message = Some("no practice cluster: runbook --lab SCENARIO starts one".to_owned());
    }
    Vec::new()
}

/// The lab says its scenario is fixed: the finish line, announced.
pub fn fixed(state: &mut State) {
    let Some(lab) = &mut state.lab else { return };
    lab.fixed = true;
    state.message = Some(format!("practice cluster: {} is fixed", lab.title));
    if state.dialog.is_none() {
        state.dialog = Some(Dialog::Lab);
    }
}
