//! Pass 2: from classified lines to scenarios, procedures and steps.
//!
//! The rules follow Palette's documentation as it is written (Docusaurus MDX):
//! - a scenario starts at a heading whose first word is "Scenario" (typos and any dash
//!   tolerated) or at a heading whose next heading is "Debug Steps", and ends at the next heading
//!   of the same or a higher level that is not a debug-steps heading;
//! - "Debug Steps" headings open procedures (several are alternatives); any other heading inside
//!   a scenario opens a procedure shown under the one it follows;
//! - steps are the top-level items of an ordered list, deeper items are sub-steps, and a block
//!   belongs to the step above it until the next step or heading, whatever its indentation;
//! - `<Tabs>` inside a step tag their blocks with the tab's label; at the top of a procedure each
//!   tab becomes a procedure of its own;
//! - admonitions and `<InfoBox>`/`<WarningBox>` become callouts of what they sit in.

use super::bounds;
mod kind;
mod line;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use self::line::{Fence, LexIssue, Line, Tag};
use super::fence::FenceInfo;
use super::source::{self, diag};
use super::{
    Block, BlockKind, Callout, Diagnostic, Procedure, Runbook, Scenario, Section, Severity, Step,
    placeholder,
};

pub use self::kind::{Decision, Evidence, looks_like_output};

/// Decides a block kind the way the parser does, for tests and tools: `prose` is the text just
/// before the block, `previous` the kind of the block before it in the same step.
pub fn decide_kind(
    info: &str,
    code: &str,
    prose: &str,
    previous: Option<BlockKind>,
    command_before: bool,
) -> Decision {
    kind::decide(
        &FenceInfo::parse(info),
        code,
        &kind::Context {
            prose,
            previous,
            command_before,
        },
    )
}

/// Deeper list levels than this are read as text of the deepest step.
const MAX_DEPTH: usize = 8;

/// Prose kept as the introduction of the next block; the block-kind rule reads its end.
const MAX_RECENT_PROSE: usize = 2048;

/// Parses one file's bytes. Never fails: problems become warnings of the returned runbook.
pub fn parse(bytes: &[u8], path: &Path) -> Runbook {
    let mut warnings = Vec::new();
    let text = source::decode(bytes, path, &mut warnings);
    let lines = source::lines(&text);
    let (front_end, body) = source::front_matter_end(&lines, path, &mut warnings);
    let front_at = warnings.len();
    // Kept as text: the YAML is read on first use (`front.rs`).
    let yaml = front_end.map(|end| lines[1..=end].join("\n").into_boxed_str());
    let (items, issues) = line::lex(&lines, body);
    for issue in issues {
        warnings.push(match issue {
            LexIssue::UnterminatedComment { line } => diag(
                path,
                line,
                Severity::Error,
                "unterminated-comment",
                "HTML comment `<!--` is never closed with `-->`; the rest of the file is hidden"
                    .to_owned(),
            ),
            LexIssue::UnterminatedFence { line } => diag(
                path,
                line,
                Severity::Error,
                "unterminated-fence",
                "code fence is never closed; it runs to the end of the file".to_owned(),
            ),
        });
    }

    let id = super::Runbook::id_for(path);
    let mut builder = Builder::new(path, &id, warnings);
    let mut items = items;
    builder.run(&mut items);
    let Builder {
        scenarios,
        mut warnings,
        first_heading,
        ..
    } = builder;
    let checks_at = warnings.len();
    if scenarios.is_empty() {
        warnings.push(diag(
            path,
            1,
            Severity::Warning,
            "no-scenarios",
            "no scenarios found: a scenario starts at a heading such as `## Scenario - <title>` \
             followed by `### Debug Steps`"
                .to_owned(),
        ));
    }
    let fallback_title = first_heading.unwrap_or_else(|| id.clone());
    Runbook {
        id,
        path: path.to_owned(),
        scenarios,
        fetched: None,
        lazy: super::front::Lazy::pending(super::front::Pending {
            yaml,
            fallback_title,
            warnings,
            front_at,
            checks_at,
        }),
    }
}

/// A step being built, with the indentation of its list marker.
struct OpenStep {
    marker_indent: usize,
    content_indent: usize,
    step: Step,
}

/// Where prose and blocks go right now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The step at this depth of the open-step stack.
    Step(usize),
    Procedure,
    Scenario,
    Nowhere,
}

struct OpenCallout {
    target: Target,
    callout: Callout,
    /// `:::` admonition (closed by `:::`) or a JSX box (closed by its tag).
    closing_tag: Option<String>,
}

struct OpenTabs {
    label: Option<String>,
    /// Tabs at the top of a procedure: each tab is a procedure of its own.
    as_procedures: Option<usize>,
    /// The prose and callouts between the heading and `<Tabs>`: the introduction of each tab's
    /// procedure (taken from the procedure the tabs sit in).
    intro: Option<(String, Vec<Callout>)>,
}

struct Builder<'p> {
    path: &'p Path,
    runbook_id: &'p str,
    warnings: Vec<Diagnostic>,
    scenarios: Vec<Scenario>,
    first_heading: Option<String>,
    /// Heading level of the open scenario.
    scenario_level: Option<usize>,
    /// Open procedure: index in the scenario and heading level.
    procedure: Option<(usize, usize)>,
    procedure_levels: Vec<usize>,
    stack: Vec<OpenStep>,
    callout: Option<OpenCallout>,
    tabs: Vec<OpenTabs>,
    used_ids: HashSet<String>,
    /// Prose since the last block, step or heading: the words that introduce the next block.
    recent_prose: String,
    /// Procedures of the open scenario opened by a heading that is not a Debug Steps heading:
    /// reference material when they turn out to hold no procedure.
    sections: Vec<usize>,
}

impl<'p> Builder<'p> {
    fn new(path: &'p Path, runbook_id: &'p str, warnings: Vec<Diagnostic>) -> Self {
        Self {
            path,
            runbook_id,
            warnings,
            scenarios: Vec::new(),
            first_heading: None,
            scenario_level: None,
            procedure: None,
            procedure_levels: Vec::new(),
            stack: Vec::new(),
            callout: None,
            tabs: Vec::new(),
            used_ids: HashSet::new(),
            recent_prose: String::new(),
            sections: Vec::new(),
        }
    }

    /// Reads the lexed lines in order; fences are moved out of `items` into their blocks.
    fn run(&mut self, items: &mut [(usize, Line<'_>)]) {
        let headings: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, (_, l))| matches!(l, Line::Heading { .. }))
            .map(|(i, _)| i)
            .collect();
        let mut next_heading = headings.iter().skip(1);
        for i in 0..items.len() {
            let lineno = items[i].0;
            if let Line::Fence(fence) = &mut items[i].1 {
                let fence = std::mem::take(fence);
                self.fence(lineno, fence);
                continue;
            }
            match &items[i].1 {
                Line::Heading { level, text } => {
                    let next = next_heading.next().and_then(|&j| match &items[j].1 {
                        Line::Heading { level, text } => Some((*level, text.as_ref())),
                        _ => None,
                    });
                    self.heading(lineno, *level, text, next);
                }
                Line::Item {
                    indent,
                    ordered,
                    marker,
                    content_indent,
                    text,
                } => {
                    self.item(lineno, *indent, *ordered, marker, *content_indent, text);
                }
                Line::AdmonitionOpen { kind, title } => {
                    self.open_callout(lineno, kind.clone(), title.clone(), None, 0);
                }
                Line::AdmonitionClose => self.close_callout(None),
                Line::Tag(tag) => self.tag(lineno, tag),
                // Fences were taken above.
                Line::Import | Line::Fence(_) => {}
                Line::Blank => self.text(0, "", lineno),
                Line::Text { indent, text } => self.text(*indent, text, lineno),
            }
        }
        self.close_callout(None);
        self.end_scenario();
    }

    // ---- headings -------------------------------------------------------------------------

    fn heading(&mut self, lineno: usize, level: usize, raw: &str, next: Option<(usize, &str)>) {
        let (text, custom_id) = split_custom_id(raw);
        let text = clean_inline(text).into_owned();
        if self.first_heading.is_none() && !text.is_empty() {
            self.first_heading = Some(scenario_title(&text).unwrap_or_else(|| text.clone()));
        }
        self.close_callout(None);
        self.flush_steps();
        self.tabs.clear();
        self.recent_prose.clear();

        let debug = is_debug_heading(&text);
        let labelled = scenario_title(&text);
        let in_scenario = self
            .scenario_level
            .is_some_and(|l| level > l || (debug && level == l));
        let next_is_debug = |deeper: bool| {
            next.is_some_and(|(next_level, n)| {
                (!deeper || next_level > level)
                    && is_debug_heading(&clean_inline(split_custom_id(n).0))
            })
        };
        // `### OS Patch Fails on AWS` then `#### Debug Steps` inside a scenario is a scenario
        // of its own, not a sub-procedure.
        let nested_scenario = in_scenario && !debug && next_is_debug(true);
        if labelled.is_none() && in_scenario && !nested_scenario {
            self.open_procedure(lineno, level, text, debug);
            return;
        }
        self.end_scenario();
        if let Some(title) = labelled {
            self.open_scenario(lineno, level, title, custom_id);
        } else if !debug && next_is_debug(false) {
            self.open_scenario(lineno, level, text, custom_id);
        }
    }

    fn open_scenario(&mut self, line: usize, level: usize, title: String, custom_id: Option<&str>) {
        let base = custom_id.map_or_else(|| slug(&title), slug);
        let base = if base.is_empty() {
            "scenario".to_owned()
        } else {
            base
        };
        let mut id = format!("{}/{base}", self.runbook_id);
        let mut n = 2;
        while !self.used_ids.insert(id.clone()) {
            id = format!("{}/{base}-{n}", self.runbook_id);
            n += 1;
        }
        self.scenarios.push(Scenario {
            id,
            title,
            line,
            summary: String::new(),
            callouts: Vec::new(),
            intro: Vec::new(),
            reference: Vec::new(),
            procedures: Vec::new(),
        });
        self.scenario_level = Some(level);
        self.sections.clear();
        self.procedure = None;
        self.procedure_levels.clear();
    }

    fn open_procedure(&mut self, line: usize, level: usize, title: String, debug: bool) {
        let Some(scenario) = self.scenarios.last_mut() else {
            return;
        };
        // A non-debug heading is shown under the closest procedure above it.
        let parent = if debug {
            None
        } else {
            self.procedure_levels
                .iter()
                .rposition(|&l| l < level)
                .map(|p| {
                    // Point at the top of that chain so that examples nest one level only.
                    scenario.procedures[p].parent.unwrap_or(p)
                })
        };
        scenario.procedures.push(Procedure {
            title,
            line,
            parent,
            summary: String::new(),
            callouts: Vec::new(),
            steps: Vec::new(),
        });
        self.procedure_levels.push(level);
        self.procedure = Some((scenario.procedures.len() - 1, level));
        if !debug {
            self.sections.push(scenario.procedures.len() - 1);
        }
    }

    fn end_scenario(&mut self) {
        self.close_callout(None);
        self.flush_steps();
        if self.scenario_level.take().is_none() {
            return;
        }
        self.procedure = None;
        self.tabs.clear();
        if let Some(scenario) = self.scenarios.last_mut() {
            finish_scenario(scenario, &std::mem::take(&mut self.sections));
        }
    }

    // ---- steps ----------------------------------------------------------------------------

    fn item(
        &mut self,
        lineno: usize,
        indent: usize,
        ordered: bool,
        marker: &str,
        content_indent: usize,
        text: &str,
    ) {
        if self.scenario_level.is_none() {
            return;
        }
        // Inside a callout, or an unordered item, or too deep: prose of what it sits in.
        if self.callout.is_some()
            || !ordered
            || self.stack.len() >= MAX_DEPTH
                && indent > self.stack[self.stack.len() - 1].marker_indent
        {
            let bullet = format!("{marker} {text}");
            let rel = indent.saturating_sub(self.text_base(indent));
            self.text_line(
                indent,
                &format!("{}{bullet}", " ".repeat(rel.min(12))),
                lineno,
            );
            return;
        }
        while self
            .stack
            .last()
            .is_some_and(|top| top.marker_indent >= indent)
        {
            self.pop_step();
        }
        if self.procedure.is_none() {
            // Steps with no "Debug Steps" heading above them: an implicit procedure.
            let level = self.scenario_level.unwrap_or(1) + 1;
            self.open_procedure(lineno, level, "Steps".to_owned(), true);
        }
        let number = marker.trim_end_matches(['.', ')']).to_owned();
        self.recent_prose.clear();
        self.recent_prose.push_str(text);
        self.stack.push(OpenStep {
            marker_indent: indent,
            content_indent,
            step: Step {
                number,
                line: lineno,
                text: clean_inline(text).into_owned(),
                callouts: Vec::new(),
                blocks: Vec::new(),
                substeps: Vec::new(),
            },
        });
    }

    fn pop_step(&mut self) {
        let Some(open) = self.stack.pop() else { return };
        let mut step = open.step;
        step.text = tidy(&step.text);
        if let Some(parent) = self.stack.last_mut() {
            parent.step.substeps.push(step);
        } else if let Some(procedure) = self.current_procedure() {
            procedure.steps.push(step);
        }
    }

    fn flush_steps(&mut self) {
        while !self.stack.is_empty() {
            self.pop_step();
        }
    }

    fn current_procedure(&mut self) -> Option<&mut Procedure> {
        let (index, _) = self.procedure?;
        self.scenarios.last_mut()?.procedures.get_mut(index)
    }

    /// Which open step a line with this indentation belongs to: the deepest one whose marker
    /// is left of the line, else the top-level step (a column-0 fence after an item is still
    /// that item's).
    fn target(&self, indent: usize) -> Target {
        if self.scenario_level.is_none() {
            return Target::Nowhere;
        }
        if !self.stack.is_empty() {
            let depth = self
                .stack
                .iter()
                .rposition(|s| s.marker_indent < indent)
                .unwrap_or(0);
            return Target::Step(depth);
        }
        if self.procedure.is_some() {
            Target::Procedure
        } else {
            Target::Scenario
        }
    }

    fn text_base(&self, indent: usize) -> usize {
        match self.target(indent) {
            Target::Step(d) => self.stack[d].content_indent,
            _ => 0,
        }
    }

    // ---- prose ----------------------------------------------------------------------------

    fn text(&mut self, indent: usize, text: &str, lineno: usize) {
        if text.is_empty() {
            // A blank line: a paragraph break wherever text is going.
            if let Some(open) = &mut self.callout {
                paragraph_break(&mut open.callout.text);
            } else {
                let target = self.target(usize::MAX);
                if let Some(buf) = self.text_buffer(target) {
                    paragraph_break(buf);
                }
            }
            return;
        }
        let cleaned = clean_inline(text);
        if cleaned.trim().is_empty() {
            return;
        }
        self.text_line(indent, &cleaned, lineno);
    }

    fn text_line(&mut self, indent: usize, text: &str, _lineno: usize) {
        if let Some(open) = &mut self.callout {
            push_line(&mut open.callout.text, text);
            return;
        }
        let target = self.target(indent);
        if self.recent_prose.len() < MAX_RECENT_PROSE {
            push_line(&mut self.recent_prose, text);
        }
        if let Some(buf) = self.text_buffer(target) {
            push_line(buf, text);
        }
    }

    fn text_buffer(&mut self, target: Target) -> Option<&mut String> {
        match target {
            Target::Step(d) => Some(&mut self.stack[d].step.text),
            Target::Procedure => self.current_procedure().map(|p| &mut p.summary),
            Target::Scenario => self.scenarios.last_mut().map(|s| &mut s.summary),
            Target::Nowhere => None,
        }
    }

    // ---- callouts -------------------------------------------------------------------------

    fn open_callout(
        &mut self,
        line: usize,
        kind: String,
        title: Option<String>,
        closing_tag: Option<String>,
        indent: usize,
    ) {
        self.close_callout(None);
        let target = self.target(indent.max(1));
        self.callout = Some(OpenCallout {
            target,
            callout: Callout {
                kind,
                title,
                text: String::new(),
                line,
            },
            closing_tag,
        });
    }

    /// Closes the open callout (for a JSX box, only when `tag` names it).
    fn close_callout(&mut self, tag: Option<&str>) {
        let Some(open) = self.callout.take() else {
            return;
        };
        if let (Some(tag), Some(expected)) = (tag, open.closing_tag.as_deref())
            && tag != expected
        {
            self.callout = Some(open);
            return;
        }
        let mut callout = open.callout;
        callout.text = tidy(&callout.text);
        match open.target {
            Target::Step(d) if d < self.stack.len() => self.stack[d].step.callouts.push(callout),
            Target::Step(_) | Target::Procedure => {
                if let Some(p) = self.current_procedure() {
                    p.callouts.push(callout);
                }
            }
            Target::Scenario => {
                if let Some(s) = self.scenarios.last_mut() {
                    s.callouts.push(callout);
                }
            }
            Target::Nowhere => {}
        }
    }

    // ---- tags -----------------------------------------------------------------------------

    fn tag(&mut self, lineno: usize, tag: &Tag) {
        let name = tag.name.as_str();
        match name {
            "InfoBox" | "WarningBox" | "Admonition" => {
                if tag.closing {
                    self.close_callout(Some(name));
                } else if !tag.self_closing {
                    let kind = match name {
                        "WarningBox" => "warning".to_owned(),
                        "InfoBox" => "info".to_owned(),
                        _ => tag.attr("type").unwrap_or_else(|| "note".to_owned()),
                    };
                    self.open_callout(lineno, kind, tag.attr("title"), Some(name.to_owned()), 1);
                }
            }
            "Tabs" => {
                if tag.closing {
                    if let Some(tabs) = self.tabs.pop()
                        && let Some(base) = tabs.as_procedures
                    {
                        self.flush_steps();
                        if let Some((_, level)) = self.procedure {
                            self.procedure = Some((base, level));
                        }
                    }
                } else if !tag.self_closing {
                    let as_procedures = self.procedure.and_then(|(index, _)| {
                        let procedure = self.scenarios.last()?.procedures.get(index)?;
                        (self.stack.is_empty() && procedure.steps.is_empty()).then_some(index)
                    });
                    self.tabs.push(OpenTabs {
                        label: None,
                        as_procedures,
                        intro: None,
                    });
                }
            }
            "TabItem" | "Tabs.TabPane" | "TabPane" => {
                let Some(tabs) = self.tabs.last_mut() else {
                    return;
                };
                if tag.closing {
                    tabs.label = None;
                    if tabs.as_procedures.is_some() {
                        self.flush_steps();
                    }
                    return;
                }
                let label = tag
                    .attr("label")
                    .or_else(|| tag.attr("tab"))
                    .or_else(|| tag.attr("value"))
                    .unwrap_or_else(|| "Tab".to_owned());
                tabs.label = Some(label.clone());
                if let Some(base) = tabs.as_procedures {
                    self.flush_steps();
                    self.open_tab_procedure(lineno, base, label);
                }
            }
            _ => {}
        }
    }

    fn open_tab_procedure(&mut self, line: usize, base: usize, label: String) {
        let Some((_, level)) = self.procedure else {
            return;
        };
        let Some(scenario) = self.scenarios.last_mut() else {
            return;
        };
        let Some(tabs) = self.tabs.last_mut() else {
            return;
        };
        // The procedure the tabs sit in gives its introduction to each tab and keeps nothing.
        let (summary, callouts) = tabs
            .intro
            .get_or_insert_with(|| {
                scenario
                    .procedures
                    .get_mut(base)
                    .map_or_else(Default::default, |p| {
                        (
                            tidy(&std::mem::take(&mut p.summary)),
                            std::mem::take(&mut p.callouts),
                        )
                    })
            })
            .clone();
        let parent = scenario.procedures.get(base).and_then(|p| p.parent);
        scenario.procedures.push(Procedure {
            title: label,
            line,
            parent,
            summary,
            callouts,
            steps: Vec::new(),
        });
        self.procedure_levels.push(level);
        self.procedure = Some((scenario.procedures.len() - 1, level));
    }

    // ---- fences ---------------------------------------------------------------------------

    fn fence(&mut self, lineno: usize, fence: Fence) {
        if let Some(nested) = fence.nested_fence_line {
            let mut d = diag(
                self.path,
                nested,
                Severity::Warning,
                "nested-fence",
                "a fence line inside a longer fence is part of the block's content; \
                 was the outer fence meant to close here?"
                    .to_owned(),
            );
            d.col = 1;
            self.warnings.push(d);
        }
        let target = self.target(fence.indent.max(1));
        if target == Target::Nowhere {
            return;
        }
        let info = FenceInfo::parse(&fence.info);
        // Blocks in a procedure before its first step get a step of their own.
        let target = if target == Target::Procedure {
            let summary = self
                .current_procedure()
                .map(|p| std::mem::take(&mut p.summary))
                .unwrap_or_default();
            self.stack.push(OpenStep {
                marker_indent: 0,
                content_indent: 0,
                step: Step {
                    number: String::new(),
                    line: lineno,
                    text: summary,
                    callouts: Vec::new(),
                    blocks: Vec::new(),
                    substeps: Vec::new(),
                },
            });
            Target::Step(0)
        } else {
            target
        };
        let blocks = match target {
            Target::Step(d) => &mut self.stack[d].step.blocks,
            _ => match self.scenarios.last_mut() {
                Some(s) => &mut s.intro,
                None => return,
            },
        };
        let context = kind::Context {
            prose: &self.recent_prose,
            previous: blocks.last().map(|b| b.kind),
            command_before: blocks.iter().any(|b| b.kind == BlockKind::Command),
        };
        let mut decision = kind::decide(&info, &fence.code, &context);
        let shell = info
            .language
            .as_deref()
            .is_none_or(|l| kind::SHELL.contains(&l));
        let too_deep = matches!(decision.kind, BlockKind::Command | BlockKind::Example)
            .then(|| bounds::shell_too_deep(&fence.code))
            .flatten();
        if let Some((at, levels)) = too_deep {
            // Never run nor offered for editing: the engine could not read it whole.
            decision.kind = BlockKind::Example;
            decision.close_call = None;
            self.warnings.push(diag(
                self.path,
                lineno + 1 + at,
                Severity::Error,
                "too-deep",
                format!(
                    "this command nests `(` / `$(` {levels} levels deep; more than {} is not \
                     read as shell, so the block is shown but never run",
                    bounds::MAX_SHELL_NESTING
                ),
            ));
        }
        let editable = shell
            && too_deep.is_none()
            && matches!(decision.kind, BlockKind::Command | BlockKind::Example);
        // "Example command" over a command with nothing to fill in, which is no copy of a
        // command before it: the user may run it as written.
        let runs_as_is = decision.kind == BlockKind::Example
            && editable
            && info
                .attributes
                .get("title")
                .is_some_and(|t| t.to_lowercase().contains("command"))
            && !context.command_before
            && !fence.code.trim().is_empty()
            && placeholder::find(&fence.code).is_empty();
        let mut attributes = info.attributes;
        if let Some(label) = self
            .tabs
            .last()
            .and_then(|t| t.label.clone().filter(|_| t.as_procedures.is_none()))
        {
            attributes.insert("tab".to_owned(), label);
        }
        blocks.push(Block {
            kind: decision.kind,
            language: info.language,
            line: lineno,
            code: fence.code,
            attributes,
            highlight: info.highlight,
            close_call: decision.close_call,
            editable,
            runs_as_is,
        });
        self.recent_prose.clear();
    }
}

/// Turns sub-headings that hold no procedure into reference sections, removes empty
/// procedures and turns a procedure of prose alone into a one-step checklist. `sections` are
/// the procedures opened by a heading other than Debug Steps.
fn finish_scenario(scenario: &mut Scenario, sections: &[usize]) {
    let reference: Vec<bool> = (0..scenario.procedures.len())
        .map(|i| sections.contains(&i) && is_reference(&scenario.procedures[i]))
        .collect();
    for (i, procedure) in scenario.procedures.iter_mut().enumerate() {
        if reference[i] {
            scenario.reference.push(into_section(procedure));
        }
    }
    for procedure in &mut scenario.procedures {
        procedure.summary = tidy(&procedure.summary);
        if procedure.steps.is_empty() && !procedure.summary.is_empty() {
            procedure.steps.push(Step {
                number: "1".to_owned(),
                line: procedure.line,
                text: std::mem::take(&mut procedure.summary),
                callouts: std::mem::take(&mut procedure.callouts),
                blocks: Vec::new(),
                substeps: Vec::new(),
            });
        }
    }
    let mut keep: Vec<bool> = scenario
        .procedures
        .iter()
        .map(|p| !p.steps.is_empty() || !p.callouts.is_empty())
        .collect();
    if !keep.iter().any(|k| *k) {
        keep.fill(true);
    }
    for (k, r) in keep.iter_mut().zip(&reference) {
        *k &= !r;
    }
    if keep.iter().any(|k| !*k) {
        let mut new_index = Vec::with_capacity(keep.len());
        let mut n = 0;
        for &k in &keep {
            new_index.push(k.then_some(n));
            n += usize::from(k);
        }
        let old = std::mem::take(&mut scenario.procedures);
        for (i, mut p) in old.into_iter().enumerate() {
            if keep[i] {
                p.parent = p.parent.and_then(|parent| new_index[parent]);
                scenario.procedures.push(p);
            }
        }
    }
    scenario.summary = tidy(&scenario.summary);
}

/// A procedure under a heading such as `### Examples` that holds no numbered step and no
/// command: prose, config and examples to read, not a checklist.
fn is_reference(procedure: &Procedure) -> bool {
    let has_content = !procedure.steps.is_empty() || !procedure.summary.trim().is_empty();
    has_content
        && procedure.steps.iter().all(|s| {
            s.number.is_empty()
                && s.substeps.is_empty()
                && s.blocks.iter().all(|b| b.kind != BlockKind::Command)
        })
}

/// Moves a reference procedure's prose, callouts and blocks into a section, leaving it empty.
fn into_section(procedure: &mut Procedure) -> Section {
    let mut text = tidy(&std::mem::take(&mut procedure.summary));
    let mut callouts = std::mem::take(&mut procedure.callouts);
    let mut blocks = Vec::new();
    for step in std::mem::take(&mut procedure.steps) {
        if !step.text.is_empty() {
            paragraph_break(&mut text);
            text.push_str(&step.text);
        }
        callouts.extend(step.callouts);
        blocks.extend(step.blocks);
    }
    Section {
        title: procedure.title.clone(),
        line: procedure.line,
        text: tidy(&text),
        callouts,
        blocks,
    }
}

/// "Scenario - X", "Scenairo - X", "Scenario -X", "Scenario: X", "Scenario — X" -> "X".
fn scenario_title(heading: &str) -> Option<String> {
    let word_end = heading
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(heading.len());
    let word = &heading[..word_end];
    // Cheap filter first: the edit distance is only worth computing for words that could be it.
    if !(6..=10).contains(&word.len()) || !word[..1].eq_ignore_ascii_case("s") {
        return None;
    }
    let rest = skip_ordinal(&heading[word_end..])
        .trim_start_matches(['-', '–', '—', ':', ' ', '\t'])
        .trim();
    if rest.is_empty()
        || !word.eq_ignore_ascii_case("scenario")
            && strsim::damerau_levenshtein(&word.to_ascii_lowercase(), "scenario") > 2
    {
        return None;
    }
    Some(rest.to_owned())
}

/// `" 1 - X"` -> `" - X"`: the number after "Scenario" is an ordinal, not part of the title. A
/// number after the separator (`Scenario - 2 Nodes Down`) is the title's own.
fn skip_ordinal(rest: &str) -> &str {
    let trimmed = rest.trim_start();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits == trimmed.len() {
        return rest;
    }
    let after = &trimmed[digits..];
    let after_space = after.trim_start();
    if after_space.starts_with(['-', '–', '—', ':', '.', ')']) {
        after_space.trim_start_matches(['.', ')'])
    } else {
        rest
    }
}

/// "Debug Steps", "Debugging Steps", "Debug Steps - <variant>", "Debug Steps for <x>".
fn is_debug_heading(text: &str) -> bool {
    let lower = text
        .get(..text.len().min(20))
        .unwrap_or(text)
        .to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("debug") else {
        return false;
    };
    let rest = rest.strip_prefix("ging").unwrap_or(rest);
    let trimmed = rest.trim_start();
    trimmed.len() < rest.len()
        && trimmed.strip_prefix("step").is_some_and(|after| {
            let after = after.strip_prefix('s').unwrap_or(after);
            after.chars().next().is_none_or(|c| !c.is_alphanumeric())
        })
}

/// `Title {#custom-id}` -> (`Title`, `custom-id`).
fn split_custom_id(heading: &str) -> (&str, Option<&str>) {
    let trimmed = heading.trim_end();
    if let Some(open) = trimmed.rfind("{#")
        && trimmed.ends_with('}')
    {
        let id = &trimmed[open + 2..trimmed.len() - 1];
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            return (trimmed[..open].trim_end(), Some(id));
        }
    }
    (trimmed, None)
}

/// Lowercase ASCII words joined by `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if matches!(c, '\'' | '’' | '`' | '"') {
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

static SELF_CLOSING_WITH_TEXT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"<[A-Z][A-Za-z0-9.]*\b[^<>]*?\btext=(?:"([^"]*)"|'([^']*)'|\{"([^"]*)"\})[^<>]*/>"#,
    )
    .ok()
});
static JSX_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"</?[A-Z][A-Za-z0-9.]*\b[^<>]*>|<br\s*/?>|</?p>").ok());

/// Inline MDX cleanup: `<VersionedLink text="Calico" .../>` keeps its text; `<br />`, `<p>`
/// and other components' tags are dropped. Markdown inline markup stays.
fn clean_inline(text: &str) -> Cow<'_, str> {
    if !text.contains('<') {
        return Cow::Borrowed(text);
    }
    if text.contains('`') {
        // Code spans are shown as written: `<namespace>` stays.
        let mut out = String::with_capacity(text.len());
        for (i, part) in text.split('`').enumerate() {
            if i > 0 {
                out.push('`');
            }
            if i % 2 == 0 {
                out.push_str(&clean_tags(part));
            } else {
                out.push_str(part);
            }
        }
        return Cow::Owned(out);
    }
    clean_tags(text)
}

fn clean_tags(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    if let Some(re) = SELF_CLOSING_WITH_TEXT.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(
            re.replace_all(&out, |c: &regex::Captures<'_>| {
                c.get(1)
                    .or_else(|| c.get(2))
                    .or_else(|| c.get(3))
                    .map_or("", |m| m.as_str())
                    .to_owned()
            })
            .into_owned(),
        );
    }
    if let Some(re) = JSX_TAG.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(re.replace_all(&out, "").into_owned());
    }
    out
}

fn push_line(buf: &mut String, line: &str) {
    if !buf.is_empty() && !buf.ends_with('\n') {
        buf.push('\n');
    }
    buf.push_str(line);
}

fn paragraph_break(buf: &mut String) {
    if !buf.is_empty() && !buf.ends_with("\n\n") {
        if !buf.ends_with('\n') {
            buf.push('\n');
        }
        buf.push('\n');
    }
}

/// Trims each line's end and the whole text, and folds runs of blank lines into one.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push('\n');
        }
        blank = false;
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_labels() {
        assert_eq!(
            scenario_title("Scenario - Jet Crashback Loop").as_deref(),
            Some("Jet Crashback Loop")
        );
        assert_eq!(scenario_title("Scenairo - Jet").as_deref(), Some("Jet"));
        assert_eq!(
            scenario_title("Scenario -Missing Route").as_deref(),
            Some("Missing Route")
        );
        assert_eq!(
            scenario_title("Scenario — Em dash").as_deref(),
            Some("Em dash")
        );
        assert_eq!(scenario_title("Scenario: Colon").as_deref(), Some("Colon"));
        assert_eq!(
            scenario_title("Scenario 1 - Ordinal").as_deref(),
            Some("Ordinal")
        );
        assert_eq!(
            scenario_title("Scenario 12: Twelve").as_deref(),
            Some("Twelve")
        );
        assert_eq!(scenario_title("Scenario 3. Dot").as_deref(), Some("Dot"));
        assert_eq!(
            scenario_title("Scenario - 2 Nodes Down").as_deref(),
            Some("2 Nodes Down")
        );
        assert_eq!(scenario_title("Scenarios"), None);
        assert_eq!(scenario_title("Scene - x"), None);
        assert_eq!(scenario_title("Debug Steps"), None);
    }

    #[test]
    fn debug_headings() {
        for h in [
            "Debug Steps",
            "Debugging Steps",
            "Debug Steps - Disable IPv6",
            "Debug Steps for MAAS",
        ] {
            assert!(is_debug_heading(h), "{h}");
        }
        assert!(!is_debug_heading("Debugging"));
    }

    #[test]
    fn inline_cleanup() {
        assert_eq!(
            clean_inline(r#"the <VersionedLink text="Calico" url="/x"/> pack<br />"#),
            "the Calico pack"
        );
        assert_eq!(clean_inline("a `<namespace>` b"), "a `<namespace>` b");
    }

    #[test]
    fn slugs_and_ids() {
        assert_eq!(
            slug("\"Too Many Open Files\" in Cluster"),
            "too-many-open-files-in-cluster"
        );
        assert_eq!(
            split_custom_id("Scenario - X {#x-y}"),
            ("Scenario - X", Some("x-y"))
        );
    }
}
