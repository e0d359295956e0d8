//! The scenario screen's state: the checklist of one procedure and each step's output.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::MAX_OUTPUT_LINES;
use crate::drive::Procedure;
use crate::exec::judge::OutputMatch;
use crate::exec::output::{Stream, strip_ansi};
use crate::exec::runner::{Event, Verdict};
use crate::exec::vars::Vars;
use crate::runbook::{BlockKind, PlaceholderDoc, Runbook, Scenario, Step};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Pending,
    /// Running for this long.
    Running(Duration),
    Passed,
    Failed,
    Skipped,
    /// A gate refused it (read-only mode, not confirmed).
    Blocked,
    /// Ticked off by hand.
    Done,
    Cancelled,
    /// Needs the user: a manual step, or commands meant for a node.
    NeedsYou,
    /// Dry run: shown, not run.
    Shown,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running(_) => "running",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Blocked => "blocked",
            Self::Done => "done by hand",
            Self::Cancelled => "cancelled",
            Self::NeedsYou => "needs you",
            Self::Shown => "dry run",
        }
    }

    /// A step as a recorded session left it: interrupted (or still running when the record
    /// was read) is cancelled, never passed.
    pub fn from_record(state: crate::session::StepState, verdict: Option<Verdict>) -> Self {
        use crate::session::StepState;
        match (state, verdict) {
            (StepState::Pending, _) | (StepState::Done, None) => Self::Pending,
            (StepState::Running | StepState::Interrupted, _) => Self::Cancelled,
            (StepState::Done, Some(v)) => v.into(),
        }
    }

    /// Counts towards the progress gauge.
    pub fn finished(self) -> bool {
        matches!(
            self,
            Self::Passed | Self::Done | Self::Skipped | Self::Shown
        )
    }
}

/// How a verdict shows in the checklist, live and on resume alike.
impl From<Verdict> for Status {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Passed => Self::Passed,
            Verdict::Failed => Self::Failed,
            Verdict::Blocked => Self::Blocked,
            Verdict::Skipped => Self::Skipped,
            Verdict::Manual => Self::Done,
            Verdict::Pending => Self::NeedsYou,
            Verdict::DryRun => Self::Shown,
            Verdict::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutKind {
    Stdout,
    Stderr,
    /// `$ the filled-in command`
    Command,
    /// What the engine wants the user to read.
    Notice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutLine {
    pub kind: OutKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub duration: Duration,
    pub timed_out: bool,
    pub cancelled: bool,
}

/// What one step printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct OutputView {
    pub lines: VecDeque<OutLine>,
    /// Lines dropped from the front (the pane keeps the newest).
    pub dropped: u64,
    /// The latest `\r` progress line.
    pub progress: Option<String>,
    pub exit: Option<ExitInfo>,
    /// The expected-vs-actual diff of the last command that had an expectation.
    pub diff: Option<String>,
    pub matches: Option<bool>,
    pub reasons: Vec<String>,
    /// Scroll offset from the bottom (0 follows the stream).
    pub scroll_back: usize,
    /// A step run on every node: the outputs side by side.
    pub nodes: Option<super::NodesView>,
}

/// How far sideways the output scrolls: far past any line a terminal shows.
const MAX_OUTPUT_LINE_CHARS: usize = 100_000;

impl OutputView {
    fn push(&mut self, kind: OutKind, text: &str) {
        // A chunk longer than the pane keeps: skip straight to its last lines.
        let count = text.lines().count();
        let skip = count.saturating_sub(MAX_OUTPUT_LINES);
        if skip > 0 {
            self.dropped += self.lines.len() as u64 + skip as u64;
            self.lines.clear();
        }
        for line in text.lines().skip(skip) {
            if self.lines.len() >= MAX_OUTPUT_LINES {
                self.lines.pop_front();
                self.dropped += 1;
            }
            self.lines.push_back(OutLine {
                kind,
                text: line.to_owned(),
            });
        }
    }
}

/// One checklist row.
#[derive(Debug, Clone)]
pub struct Item {
    /// `0` for the scenario's intro, `2`, `2.1`, ...
    pub number: String,
    pub depth: usize,
    /// The step, without its sub-steps (they are items of their own).
    pub step: Step,
    pub status: Status,
    pub output: OutputView,
    /// The user's note on the step.
    pub note: String,
    /// The user's text run instead of the runbook's (`e`), kept until `E`.
    pub edit: Option<super::edit::Edit>,
}

impl Item {
    pub fn title(&self) -> &str {
        self.step.text.lines().next().unwrap_or("")
    }

    /// The runbook's expected output for this step, with the lines to highlight.
    pub fn expected(&self) -> Option<(&str, &[u32])> {
        self.step
            .blocks
            .iter()
            .find(|b| b.kind == BlockKind::Output)
            .map(|b| (b.code.as_str(), b.highlight.as_slice()))
    }
}

#[derive(Debug)]
pub struct ScenarioView {
    /// The procedure as the driver runs it: the same steps, numbered the same way.
    pub flow: Arc<Procedure>,
    pub runbook: Arc<Runbook>,
    pub scenario: usize,
    pub procedure: usize,
    pub items: Vec<Item>,
    pub selected: usize,
    pub running: Option<usize>,
    /// Show expected output as a diff instead of beside.
    pub show_diff: bool,
    /// Output lines wider than the pane wrap (`w`) instead of being cut.
    pub wrap: bool,
    /// Columns the output is scrolled sideways when it does not wrap (`h` / `l`).
    pub hscroll: usize,
    /// The step text box scrolled down this many rows (`J` / `K`), for the step at `.0`.
    pub step_scroll: (usize, usize),
    /// Clock time at which the running step started.
    pub started: Duration,
}

impl ScenarioView {
    pub fn new(flow: Arc<Procedure>) -> Self {
        let items = flow
            .steps
            .iter()
            .map(|s| Item {
                number: s.number.clone(),
                depth: s.depth,
                step: s.step.clone(),
                status: Status::Pending,
                output: OutputView::default(),
                note: String::new(),
                edit: None,
            })
            .collect();
        Self {
            runbook: Arc::clone(&flow.runbook),
            scenario: flow.scenario,
            procedure: flow.procedure,
            flow,
            items,
            selected: 0,
            running: None,
            show_diff: false,
            wrap: false,
            hscroll: 0,
            step_scroll: (0, 0),
            started: Duration::ZERO,
        }
    }

    /// Opens procedure `procedure` of scenario `scenario` of `runbook`.
    pub fn open(runbook: Arc<Runbook>, scenario: usize, procedure: usize) -> Self {
        Self::new(Arc::new(Procedure::new(runbook, scenario, procedure)))
    }

    /// Which procedure this is (runbook file, scenario, procedure).
    pub fn key(&self) -> (std::path::PathBuf, usize, usize) {
        self.flow.key()
    }

    pub fn scenario(&self) -> Option<&Scenario> {
        self.runbook.scenarios.get(self.scenario)
    }

    pub fn procedure_count(&self) -> usize {
        self.scenario().map_or(0, |s| s.procedures.len())
    }

    pub fn docs(&self) -> &BTreeMap<String, PlaceholderDoc> {
        &self.runbook.front_matter().placeholders
    }

    pub fn progress(&self) -> (usize, usize) {
        let done = self.items.iter().filter(|i| i.status.finished()).count();
        (done, self.items.len())
    }

    pub fn move_by(&mut self, delta: i32) {
        if self.items.is_empty() {
            return;
        }
        let max = i64::try_from(self.items.len() - 1).unwrap_or(0);
        let next = (i64::try_from(self.selected).unwrap_or(0) + i64::from(delta)).clamp(0, max);
        self.selected = usize::try_from(next).unwrap_or(0);
    }

    /// After a step is done or skipped, select the next one that is not finished.
    pub fn advance(&mut self) {
        if let Some(next) =
            (self.selected + 1..self.items.len()).find(|&i| !self.items[i].status.finished())
        {
            self.selected = next;
        }
    }

    /// `J` / `K`: scroll the selected step's text (the drawing stops it at the end).
    pub fn scroll_step_text(&mut self, delta: i32) {
        let (step, rows) = self.step_scroll;
        let rows = if step == self.selected { rows } else { 0 };
        let moved = i64::try_from(rows).unwrap_or(0) + i64::from(delta);
        self.step_scroll = (
            self.selected,
            usize::try_from(moved.clamp(0, 10_000)).unwrap_or(0),
        );
    }

    /// Rows the selected step's text is scrolled down.
    pub fn step_text_scroll(&self) -> usize {
        if self.step_scroll.0 == self.selected {
            self.step_scroll.1
        } else {
            0
        }
    }

    /// `w`: wrap long output lines, or cut them and scroll sideways.
    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
        self.hscroll = 0;
    }

    /// `h` / `l`: scroll the output sideways (not while it wraps).
    pub fn scroll_sideways(&mut self, right: bool) {
        const STEP: usize = 20;
        self.hscroll = if right {
            self.hscroll.saturating_add(STEP).min(MAX_OUTPUT_LINE_CHARS)
        } else {
            self.hscroll.saturating_sub(STEP)
        };
    }

    pub fn scroll_output(&mut self, delta: i32) {
        if let Some(item) = self.items.get_mut(self.selected) {
            let back = i64::try_from(item.output.scroll_back).unwrap_or(0) - i64::from(delta);
            let max = i64::try_from(item.output.lines.len()).unwrap_or(0);
            item.output.scroll_back = usize::try_from(back.clamp(0, max)).unwrap_or(0);
        }
    }

    pub fn set_status(&mut self, index: usize, status: Status) {
        if let Some(item) = self.items.get_mut(index) {
            item.status = status;
        }
    }

    /// Running time of the running step, from the clock the loop ticks with.
    pub fn tick(&mut self, now: Duration) {
        if let Some(i) = self.running
            && let Some(item) = self.items.get_mut(i)
            && matches!(item.status, Status::Running(_))
        {
            item.status = Status::Running(now.saturating_sub(self.started));
        }
    }

    /// The selected step's commands with values filled in and secrets masked, for copying.
    pub fn filled_commands(&self, index: usize, vars: Option<&Vars>) -> Option<String> {
        let item = self.items.get(index)?;
        let parts: Vec<String> = item
            .step
            .commands()
            .map(|b| match vars.map(|v| v.fill(&b.code)) {
                Some(Ok(filled)) => filled.display.trim_end().to_owned(),
                _ => b.code.trim_end().to_owned(),
            })
            .collect();
        Some(parts.join("\n"))
    }

    /// The line (from the top) of the next output line containing `query`.
    pub fn find_in_output(&self, query: &str, from: usize, forward: bool) -> Option<usize> {
        if query.is_empty() {
            return None;
        }
        let lines = &self.items.get(self.selected)?.output.lines;
        let hit = |i: usize| strip_ansi(&lines[i].text).contains(query);
        if forward {
            (from + 1..lines.len()).find(|&i| hit(i))
        } else {
            (0..from.min(lines.len())).rev().find(|&i| hit(i))
        }
    }

    pub fn engine_event(&mut self, index: usize, event: Event) {
        let Some(item) = self.items.get_mut(index) else {
            return;
        };
        let out = &mut item.output;
        match event {
            Event::StepStarted { .. } => {
                item.status = Status::Running(Duration::ZERO);
            }
            Event::CommandStarted { command, .. } => {
                out.progress = None;
                for (i, line) in command.lines().enumerate() {
                    let text = if i == 0 {
                        format!("$ {line}")
                    } else {
                        format!("  {line}")
                    };
                    out.push(OutKind::Command, &text);
                }
            }
            Event::Output { stream, text, .. } => {
                out.progress = None;
                let kind = if stream == Stream::Stderr {
                    OutKind::Stderr
                } else {
                    OutKind::Stdout
                };
                out.push(kind, &text);
            }
            Event::Progress { text, .. } => out.progress = Some(text),
            Event::CommandFinished {
                outcome,
                failures,
                output,
                ..
            } => {
                out.progress = None;
                out.exit = Some(ExitInfo {
                    code: outcome.exit_code,
                    signal: outcome.signal,
                    duration: outcome.duration,
                    timed_out: outcome.timed_out,
                    cancelled: outcome.cancelled,
                });
                out.reasons.extend(failures);
                match output {
                    OutputMatch::Matches => {
                        out.matches = Some(true);
                        out.diff = None;
                    }
                    OutputMatch::Differs { diff } => {
                        out.matches = Some(false);
                        out.diff = Some(diff);
                    }
                    OutputMatch::NoExpectation => {}
                }
            }
            Event::Notice { text, .. } => out.push(OutKind::Notice, &text),
            Event::StepFinished {
                verdict, reasons, ..
            } => {
                if let Some(n) = &mut out.nodes {
                    n.event(&Event::StepFinished {
                        step: 0,
                        number: String::new(),
                        verdict,
                        reasons: Vec::new(),
                        dropped_lines: 0,
                    });
                }
                item.status = verdict.into();
                for r in reasons {
                    if !out.reasons.contains(&r) {
                        out.reasons.push(r);
                    }
                }
            }
            Event::NodeStarted { .. }
            | Event::NodeOutput { .. }
            | Event::NodeFinished { .. }
            | Event::NodesCompared { .. } => {
                out.nodes.get_or_insert_default().event(&event);
            }
            Event::Summary(_) => {}
        }
    }

    pub fn run_ended(&mut self, index: usize) {
        if self.running == Some(index) {
            self.running = None;
        }
        if let Some(item) = self.items.get_mut(index)
            && matches!(item.status, Status::Running(_))
        {
            item.status = Status::Cancelled;
        }
    }
}
