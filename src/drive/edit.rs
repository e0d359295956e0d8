//! A step run with the user's text in place of one of its blocks (the TUI's `e`).
//!
//! The edited step is the runbook's step with that block's code replaced and made a command
//! (an example becomes runnable; a `tab=` no longer makes it one alternative among others;
//! the runbook's `destructive=`/`interactive=` about its own text are dropped),
//! and its other command blocks shown, not run: the user asked for exactly this command. It
//! is planned like the step it replaces, after the same earlier steps (a remote shell opened
//! before still makes it "run this on the node"), and classified afresh, so its confirmation,
//! mode and gate are those of any command. The session notes it with the diff ([`notice`]).

use crate::exec::plan::{self, PlanState, StepPlan};
use crate::exec::safety::Trust;
use crate::runbook::{BlockKind, Step};

use super::Procedure;

/// Step `index` as edited: its step and plan, and what the runbook said.
#[derive(Debug, Clone)]
pub struct Edited {
    pub block: usize,
    /// The runbook's text of the block.
    pub original: String,
    pub step: Step,
    pub plan: StepPlan,
}

impl Edited {
    /// Step `index` of `procedure` with block `block` replaced by `code`; `None` when there is
    /// no such block.
    pub fn new(procedure: &Procedure, index: usize, block: usize, code: &str) -> Option<Self> {
        let mut step = procedure.steps.get(index)?.step.clone();
        let original = step.blocks.get(block)?.code.clone();
        for (i, b) in step.blocks.iter_mut().enumerate() {
            if i == block {
                b.code = format!("{}\n", code.trim_end());
                b.kind = BlockKind::Command;
                b.attributes.remove("tab");
                b.attributes.remove("kind");
                // The runbook's word on its own text (`destructive=false`) says nothing about
                // the user's: the edit is judged by what it says.
                for key in crate::runbook::JUDGING_ATTRIBUTES {
                    b.attributes.remove(*key);
                }
            } else if b.kind == BlockKind::Command {
                b.kind = BlockKind::Example;
            }
        }
        let mut state = PlanState {
            trust: Trust::of(&procedure.runbook),
            ..PlanState::default()
        };
        for earlier in procedure.steps.iter().take(index) {
            plan::step_plan(&earlier.step, &mut state);
        }
        let plan = plan::step_plan(&step, &mut state);
        Some(Self {
            block,
            original,
            step,
            plan,
        })
    }

    /// The edited block's text as it runs.
    pub fn code(&self) -> &str {
        self.step
            .blocks
            .get(self.block)
            .map_or("", |b| b.code.as_str())
    }

    /// "edited from the runbook" and a unified diff of the block, for the session and its
    /// report; `mask` hides secret values the user may have typed.
    pub fn notice(&self, line: usize, mask: impl Fn(&str) -> String) -> String {
        if self.code().trim_end() == self.original.trim_end() {
            // Enter without a change: the block ran alone, as the runbook wrote it.
            return format!("run as written, alone (the block at line {line} of the runbook)");
        }
        let original = format!("{}\n", self.original.trim_end());
        let diff = similar::TextDiff::from_lines(original.as_str(), self.code());
        let unified = diff
            .unified_diff()
            .context_radius(3)
            .header("runbook", "edited")
            .to_string();
        mask(&format!(
            "edited from the runbook (the block at line {line}):\n{}",
            unified.trim_end()
        ))
    }
}
