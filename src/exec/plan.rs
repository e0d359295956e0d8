//! What to do with each command block of a step, before anything runs.
//!
//! A block is run here ([`BlockPlan::Run`]), handed the terminal ([`BlockPlan::Interactive`]),
//! meant to be typed on a node ([`BlockPlan::OnNode`]: `target=nodes`, or anything after an
//! interactive `ssh host` / `sudo --login` / `su` earlier in the procedure), or one of several
//! tabbed alternatives ([`BlockPlan::Alternative`], the runner picks one). A step without any
//! command is manual.
//!
//! The "too many open files" scenario is the model: steps 1 and 2 open a root shell on a node
//! (interactive), steps 3 to 6 run there. The UI says "run these on the node" instead of
//! pretending to run `sysctl -p` locally.
//!
//! To add a kind of plan, add a [`BlockPlan`] variant, decide it in [`step_plan`], and give
//! the runner (`runner.rs`) its behaviour.

use serde::Serialize;

use super::safety::{Classification, Trust, classify_block};
use crate::runbook::{BlockKind, Scenario, Step};

/// What to do with one command block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "plan", content = "reason", rename_all = "snake_case")]
pub enum BlockPlan {
    Run,
    Interactive,
    /// Not for this machine: why, in words.
    OnNode(String),
    /// One of the step's tabs (`tab=` attribute): the runner runs one of a group.
    Alternative(String),
    /// Shown, not run: not a shell block (`powershell`, `python`, ...) or `manual=true`.
    Manual(String),
}

/// One command block with its plan and classification.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedBlock {
    /// Index into `step.blocks`.
    pub index: usize,
    pub plan: BlockPlan,
    pub class: Classification,
}

/// The plan of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlan {
    pub blocks: Vec<PlannedBlock>,
    /// No command to run: the user acts (or reads).
    pub manual: bool,
}

impl StepPlan {
    /// Every command is for a node, not this machine.
    pub fn on_node(&self) -> bool {
        !self.blocks.is_empty()
            && self
                .blocks
                .iter()
                .all(|b| matches!(b.plan, BlockPlan::OnNode(_)))
    }
}

/// What earlier steps of the procedure left behind, and whose word the runbook is.
#[derive(Debug, Clone, Default)]
pub struct PlanState {
    /// The interactive command that opened a shell elsewhere (`ssh -i k spectro@host`).
    pub remote_shell: Option<String>,
    /// Whether the runbook's `destructive=false` is honoured (bundled or local: yes).
    pub trust: Trust,
}

/// Plans one step, given what earlier steps did.
pub fn step_plan(step: &Step, state: &mut PlanState) -> StepPlan {
    let mut blocks = Vec::new();
    for (index, block) in step.blocks.iter().enumerate() {
        if block.kind != BlockKind::Command {
            continue;
        }
        let class = classify_block(block, state.trust);
        let plan = if let Some(why) = manual_reason(block) {
            BlockPlan::Manual(why)
        } else if targets_nodes(block) {
            BlockPlan::OnNode("the runbook marks it to run on every node of the cluster".to_owned())
        } else if let Some(shell) = &state.remote_shell {
            BlockPlan::OnNode(format!(
                "it follows `{shell}`, so it is meant for that shell"
            ))
        } else if class.interactive {
            if class.opens_shell {
                state.remote_shell = Some(block.code.trim().to_owned());
            }
            BlockPlan::Interactive
        } else if let Some(tab) = block.attribute("tab") {
            BlockPlan::Alternative(tab.to_owned())
        } else {
            BlockPlan::Run
        };
        blocks.push(PlannedBlock { index, plan, class });
    }
    StepPlan {
        manual: blocks.is_empty(),
        blocks,
    }
}

/// The block is marked `target=nodes` (or `target=node`): run it on every node.
pub fn targets_nodes(block: &crate::runbook::Block) -> bool {
    block
        .attribute("target")
        .is_some_and(|t| t == "nodes" || t == "node")
}

/// Languages run through bash; a command block in another language is shown, not run.
const SHELLS: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "console",
    "shell-session",
    "zsh",
    "ksh",
];

fn manual_reason(block: &crate::runbook::Block) -> Option<String> {
    if block.attribute("manual").is_some_and(|v| v != "false") {
        return Some("the runbook marks it manual".to_owned());
    }
    match block.language.as_deref() {
        Some(lang) if !SHELLS.contains(&lang) => Some(format!(
            "a {lang} block, not a shell command: run it yourself"
        )),
        _ => None,
    }
}

/// The scenario's introduction as step `0`, when it holds a command to run ("step 0").
pub fn intro_step(scenario: &Scenario) -> Option<Step> {
    scenario
        .intro
        .iter()
        .any(|b| b.kind == BlockKind::Command)
        .then(|| Step {
            number: "0".to_owned(),
            line: scenario.line,
            text: "Before the steps".to_owned(),
            callouts: Vec::new(),
            blocks: scenario.intro.clone(),
            substeps: Vec::new(),
        })
}

/// Steps and their sub-steps in document order, with display numbers (`2`, `2.1`).
pub fn flatten(steps: &[Step]) -> Vec<(String, &Step)> {
    fn walk<'a>(steps: &'a [Step], prefix: &str, out: &mut Vec<(String, &'a Step)>) {
        for (i, step) in steps.iter().enumerate() {
            let n = if step.number.is_empty() {
                (i + 1).to_string()
            } else {
                step.number.clone()
            };
            let number = if prefix.is_empty() {
                n
            } else {
                format!("{prefix}.{n}")
            };
            out.push((number.clone(), step));
            walk(&step.substeps, &number, out);
        }
    }
    let mut out = Vec::new();
    walk(steps, "", &mut out);
    out
}

/// Plans every step of a procedure (sub-steps flattened, in order), judging fence
/// attributes with `trust`.
pub fn plan_steps(steps: &[(String, &Step)], trust: Trust) -> Vec<StepPlan> {
    let mut state = PlanState {
        trust,
        ..PlanState::default()
    };
    steps
        .iter()
        .map(|(_, s)| step_plan(s, &mut state))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::Catalog;

    #[test]
    fn too_many_open_files_runs_on_the_node() {
        let catalog = Catalog::load(&[], true);
        let Some((_, scenario)) = catalog.scenario("too-many-open-files/raise-file-max") else {
            panic!("bundled scenario missing")
        };
        let steps = flatten(&scenario.procedures[0].steps);
        let plans = plan_steps(&steps, Trust::Local);
        assert_eq!(plans[0].blocks[0].plan, BlockPlan::Interactive);
        assert_eq!(
            plans[1].blocks[0].plan,
            BlockPlan::OnNode(
                "it follows `ssh -i <key-name> spectro@<hostname>`, so it is meant for that shell"
                    .to_owned()
            )
        );
        assert!(plans[2..].iter().all(StepPlan::on_node));
    }

    #[test]
    fn manual_blocks() {
        let md = "# T\n\n## Scenario - S {#s}\n\n### Debug Steps\n\n1. A.\n\n   ```bash manual=true\n   reboot\n   ```\n";
        let book = crate::runbook::parse(md.as_bytes(), std::path::Path::new("t.md"));
        let steps = flatten(&book.scenarios[0].procedures[0].steps);
        let plans = plan_steps(&steps, Trust::Local);
        assert_eq!(
            plans[0].blocks[0].plan,
            BlockPlan::Manual("the runbook marks it manual".to_owned())
        );
    }
}
