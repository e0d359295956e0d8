//! `runbook lint`: findings about runbooks as `file:line:col: severity: message`.
//!
//! Parse warnings come first (front matter, fences, comments), then checks of each command
//! block: placeholders nobody explains, `$VAR` inside single quotes, heredocs that never end,
//! and, when `shellcheck` is installed, its findings mapped back to runbook lines. Diagnose
//! checks in the front matter are reported when malformed (by the parser) or when their jq
//! program does not compile.
//!
//! To add a check: write a function from a block (with its step's prose) to findings, call it
//! from [`lint_runbook`], give it a stable `code`, and add a fixture under `tests/fixtures/lint/`
//! that triggers it.

mod shell;
mod shellcheck;

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use crate::exec;
use crate::runbook::{Block, BlockKind, Callout, Diagnostic, Runbook, Severity, Step, placeholder};

pub use shell::{Pitfall, pitfalls};
pub use shellcheck::{Shellcheck, shellcheck_available};

/// What to run besides the built-in checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Run shellcheck on command blocks (when it is installed).
    pub shellcheck: bool,
}

/// A command block with the prose that explains it.
struct Checked<'a> {
    block: &'a Block,
    prose: String,
}

/// Every finding for one runbook, sorted by position.
pub fn lint_runbook(runbook: &Runbook, options: Options) -> Vec<Diagnostic> {
    let mut findings = runbook.warnings().to_vec();
    let mut checked: Vec<Checked<'_>> = Vec::new();
    for scenario in &runbook.scenarios {
        let scenario_prose = with_callouts(scenario.summary.clone(), &scenario.callouts);
        for block in &scenario.intro {
            checked.push(Checked {
                block,
                prose: scenario_prose.clone(),
            });
        }
        for section in &scenario.reference {
            let prose = with_callouts(
                format!("{scenario_prose}\n{}", section.text),
                &section.callouts,
            );
            for block in &section.blocks {
                checked.push(Checked {
                    block,
                    prose: prose.clone(),
                });
            }
        }
        for procedure in &scenario.procedures {
            let prose = format!("{scenario_prose}\n{}", procedure.summary);
            for step in &procedure.steps {
                collect_steps(step, &prose, &mut checked);
            }
        }
        if scenario.procedures.iter().all(|p| p.steps.is_empty()) {
            findings.push(finding(
                &runbook.path,
                scenario.line,
                1,
                Severity::Warning,
                "no-steps",
                format!(
                    "scenario `{}` has no steps: add `### Debug Steps` and a numbered list",
                    scenario.title
                ),
            ));
        }
    }

    findings.extend(pick_hints(runbook));
    findings.extend(check_programs(runbook));
    for c in &checked {
        findings.extend(close_call(&runbook.path, c.block));
        if c.block.kind == BlockKind::Command {
            findings.extend(unexplained_placeholders(runbook, c));
        }
        if matches!(c.block.kind, BlockKind::Command | BlockKind::Example) {
            findings.extend(shell_pitfalls(&runbook.path, c.block));
        }
        if c.block.kind == BlockKind::Command {
            findings.extend(safety(&runbook.path, c.block));
        }
    }
    if options.shellcheck && shellcheck_available() {
        let commands: Vec<&Block> = checked
            .iter()
            .map(|c| c.block)
            .filter(|b| b.kind == BlockKind::Command)
            .collect();
        let mapped: Vec<Vec<Diagnostic>> = commands
            .par_iter()
            .map(|b| Shellcheck::check(&runbook.path, b))
            .collect();
        findings.extend(mapped.into_iter().flatten());
    }
    findings.sort_by(|a, b| (a.line, a.col, a.code).cmp(&(b.line, b.col, b.code)));
    findings.dedup();
    findings
}

/// `pick:` hints of placeholders that the pickers could not use.
fn pick_hints(runbook: &Runbook) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(&runbook.path).unwrap_or_default();
    runbook
        .front_matter()
        .placeholders
        .iter()
        .filter_map(|(name, doc)| {
            let Err(e) = crate::cluster::pick::PickSpec::of(doc)? else {
                return None;
            };
            // The placeholder's line in the front matter, when the file can be read.
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(&format!("{name}:")))
                .map_or(1, |i| i + 1);
            Some(finding(
                &runbook.path,
                line,
                1,
                Severity::Error,
                "bad-pick",
                format!("placeholder `{name}`: {e}"),
            ))
        })
        .collect()
}

/// Diagnose checks whose jq program does not compile, at the program's line.
fn check_programs(runbook: &Runbook) -> Vec<Diagnostic> {
    runbook
        .front_matter()
        .checks
        .iter()
        .filter_map(|check| {
            let error = crate::diagnose::jq::Program::compile(&check.jq).err()?;
            Some(finding(
                &runbook.path,
                check.jq_line + error.line - 1,
                1,
                Severity::Error,
                "bad-check",
                format!("the check's jq program does not compile: {}", error.message),
            ))
        })
        .collect()
}

/// Prose followed by the text of its callouts, one per line.
fn with_callouts(mut prose: String, callouts: &[Callout]) -> String {
    for c in callouts {
        prose.push('\n');
        prose.push_str(&c.text);
    }
    prose
}

fn collect_steps<'a>(step: &'a Step, outer: &str, out: &mut Vec<Checked<'a>>) {
    let prose = with_callouts(format!("{outer}\n{}", step.text), &step.callouts);
    for block in &step.blocks {
        out.push(Checked {
            block,
            prose: prose.clone(),
        });
    }
    for sub in &step.substeps {
        collect_steps(sub, &prose, out);
    }
}

fn unexplained_placeholders(runbook: &Runbook, c: &Checked<'_>) -> Vec<Diagnostic> {
    let documented: HashSet<String> = runbook
        .front_matter()
        .placeholders
        .keys()
        .map(|k| placeholder::normalise(k))
        .collect();
    let found = placeholder::find(&c.block.code);
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut checked = Vec::new();
    for p in &found {
        if !documented.contains(&p.name) && distinct.insert(p.name.as_str()) {
            checked.push(p);
        }
    }
    if checked.is_empty() {
        return Vec::new();
    }
    let only_one = found.iter().all(|q| q.name == found[0].name);
    let prose_lower = c.prose.to_lowercase();
    let prose_norm = placeholder::normalise(&c.prose);
    let lines = LineIndex::new(&c.block.code);
    let mut out = Vec::new();
    let unchecked = checked.len().saturating_sub(MAX_PLACEHOLDERS_CHECKED);
    // Each check searches the prose, so a hostile block of 100,000 names is checked in part.
    for p in checked.into_iter().take(MAX_PLACEHOLDERS_CHECKED) {
        let raw = p.raw(&c.block.code).to_lowercase();
        let named = prose_lower.contains(&raw) || prose_norm.contains(&p.name);
        // "Replace the placeholder with ..." explains a block's only placeholder.
        let generic =
            only_one && (prose_lower.contains("placeholder") || prose_lower.contains("replace"));
        if named || generic {
            continue;
        }
        let (line, col) = lines.position(p.start);
        out.push(finding(
            &runbook.path,
            c.block.source_line(line),
            col,
            Severity::Warning,
            "unexplained-placeholder",
            format!(
                "placeholder `{}` is never explained: say in the step what to put there, or \
                 describe `{}` under `placeholders:` in the front matter",
                p.raw(&c.block.code),
                p.name
            ),
        ));
    }
    if unchecked > 0 {
        out.push(finding(
            &runbook.path,
            c.block.line,
            1,
            Severity::Warning,
            "too-many-placeholders",
            format!(
                "this block has {} distinct placeholders; only the first {MAX_PLACEHOLDERS_CHECKED} \
                 were checked for an explanation",
                unchecked + MAX_PLACEHOLDERS_CHECKED
            ),
        ));
    }
    out
}

/// Distinct placeholders of one block checked against its prose.
const MAX_PLACEHOLDERS_CHECKED: usize = 200;

/// Byte offset -> (line, column) of one text, by binary search over its line starts.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self { text, starts }
    }

    /// 1-based (line, column in characters).
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |t| t.chars().count())
            + 1;
        (line, col)
    }
}

/// A block whose kind the evidence left close: the author settles it with `kind=`.
fn close_call(path: &Path, block: &Block) -> Option<Diagnostic> {
    let runner_up = block.close_call?;
    Some(finding(
        path,
        block.line,
        1,
        Severity::Warning,
        "close-call",
        format!(
            "read as {} but it could be {}: add `kind={}` (or `kind={}`) to the fence to say which",
            block.kind.as_str(),
            runner_up.as_str(),
            block.kind.as_str(),
            runner_up.as_str()
        ),
    ))
}

fn shell_pitfalls(path: &Path, block: &Block) -> Vec<Diagnostic> {
    pitfalls(&block.code)
        .into_iter()
        .map(|p| match p {
            Pitfall::SingleQuotedVar { line, col, var } => finding(
                path,
                block.source_line(line),
                col,
                Severity::Warning,
                "single-quoted-var",
                format!("`${var}` is inside single quotes, so the shell passes it literally; use double quotes"),
            ),
            Pitfall::HeredocTerminator { line, col, word, indented_at } => finding(
                path,
                block.source_line(line),
                col,
                Severity::Error,
                "heredoc-terminator",
                match indented_at {
                    Some(at) => format!(
                        "heredoc `{word}` never ends: its terminator on line {} is indented, and bash \
                         only ends a heredoc at a line holding exactly `{word}` (or use `<<-` with tabs)",
                        block.source_line(at)
                    ),
                    None => format!("heredoc `{word}` never ends: no line holds exactly `{word}`"),
                },
            ),
        })
        .collect()
}

/// Destructive commands (info: the user will be asked to confirm), and fence attributes that
/// overrule the classifier (a warning unless `reason="..."` says why).
fn safety(path: &Path, block: &Block) -> Vec<Diagnostic> {
    let c = exec::classify_block(block, exec::safety::Trust::Local);
    let mut out = Vec::new();
    if c.overridden {
        let why = block.attribute("reason");
        out.push(finding(
            path,
            block.line,
            1,
            if why.is_some() { Severity::Info } else { Severity::Warning },
            "classification-override",
            match why {
                Some(why) => format!("classification overridden by the runbook: {why}"),
                None => format!(
                    "a fence attribute overrides the classifier ({}); add reason=\"...\" saying why",
                    c.reasons.join("; ")
                ),
            },
        ));
    }
    if c.destructive {
        out.push(finding(
            path,
            block.line,
            1,
            Severity::Info,
            "destructive",
            format!(
                "destructive, asks for confirmation before it runs: {}",
                c.reasons.join("; ")
            ),
        ));
    }
    out
}

fn finding(
    path: &Path,
    line: usize,
    col: usize,
    severity: Severity,
    code: &'static str,
    message: String,
) -> Diagnostic {
    Diagnostic::new(path, line, col, severity, code, message)
}
