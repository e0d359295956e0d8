//! "Instructions" export: a scenario as a numbered Markdown checklist that a customer can
//! follow and copy-paste on their own, with the values they were given filled in.
//!
//! Values are spelled exactly as the runner would put them into the command
//! ([`vars::spell`] in the quoting context of each placeholder), so what the customer pastes
//! is what `runbook run` would have run. A placeholder without a value, or with a secret
//! value, stays as a visible `<name>` and is listed under "Fill these in" at the top: a secret
//! is never written. What the runbook itself or a value holds that looks like a secret (a
//! token pasted into a command, a password given as a plain `--var`) is replaced by a marker
//! by [`redacted`], the default of `runbook export`. To show one more kind of block, add its
//! arm in [`step_body`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::redact::Redactor;
use crate::exec::shell;
use crate::exec::vars::{self, Vars};
use crate::runbook::placeholder;
use crate::runbook::{BlockKind, PlaceholderDoc, Runbook, Scenario, Step};

/// Writes the checklist of procedure `procedure` (0-based) of `scenario`.
pub fn checklist(
    runbook: &Runbook,
    scenario: &Scenario,
    procedure: usize,
    values: &Vars,
) -> String {
    let docs = &runbook.front_matter().placeholders;
    let is_secret = |name: &str| {
        placeholder::looks_secret(name)
            || docs.get(name).is_some_and(|d| d.secret)
            || values.get(name).is_some_and(|v| v.secret)
    };
    let mut steps: Vec<(String, Step)> = Vec::new();
    if let Some(intro) = crate::exec::plan::intro_step(scenario) {
        steps.push((intro.number.clone(), intro));
    }
    let procedure_ref = scenario.procedures.get(procedure);
    if let Some(p) = procedure_ref {
        for (n, s) in crate::exec::plan::flatten(&p.steps) {
            steps.push((n, s.clone()));
        }
    }
    // What the reader must fill in: placeholders with no value, and every secret.
    let mut to_fill: BTreeMap<String, String> = BTreeMap::new();
    let mut body = String::new();
    // Numbered as the TUI and `runbook run` number them (`0` for the intro, `4.1` for a
    // sub-step), so a customer and the engineer on the call name the same step.
    for (number, step) in &steps {
        let _ = writeln!(
            body,
            "{number}. {}",
            indent_rest(&first_paragraph(&step.text), number.len() + 2)
        );
        step_body(&mut body, step, values, &is_secret, &mut to_fill);
        body.push('\n');
    }

    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", scenario.title);
    let _ = writeln!(
        md,
        "From the runbook `{}`, scenario `{}`{}.\n",
        runbook.id,
        scenario.id,
        procedure_ref.map_or_else(String::new, |p| format!(", procedure “{}”", p.title))
    );
    if !scenario.summary.trim().is_empty() {
        let _ = writeln!(md, "{}\n", scenario.summary.trim());
    }
    if !to_fill.is_empty() {
        md.push_str("## Fill these in\n\nReplace each of these in the commands below:\n\n");
        for (raw, name) in &to_fill {
            let _ = write!(md, "- `{raw}`");
            if let Some(doc) = docs.get(name) {
                describe(&mut md, doc);
            }
            if is_secret(name) {
                md.push_str(" — secret: type it yourself, never paste it into a ticket");
            }
            md.push('\n');
        }
        md.push('\n');
    }
    md.push_str("## Steps\n\n");
    md.push_str(&body);
    md
}

/// `md` with what looks like a secret replaced by markers, and a closing note saying what was
/// replaced (kind and count) so that the reader knows to fill it in.
pub fn redacted(md: &str, redactor: &Redactor) -> String {
    let mut out = redactor.redact(md);
    let list = redactor.summary();
    if !list.is_empty() {
        out.push_str(
            "\n## Redacted\n\nValues that looked like secrets were replaced by markers such as \
             `‹redacted:password#1›`; put your own in their place:\n\n",
        );
        for r in &list {
            let _ = writeln!(out, "- `{}`: {}", r.kind, r.count);
        }
    }
    out
}

fn describe(md: &mut String, doc: &PlaceholderDoc) {
    if let Some(d) = &doc.description {
        let _ = write!(md, " — {d}");
    }
    if let Some(e) = &doc.example {
        let _ = write!(md, " (for example `{e}`)");
    }
}

fn first_paragraph(text: &str) -> String {
    text.trim().to_owned()
}

fn indent_rest(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
    }
    out
}

fn step_body(
    out: &mut String,
    step: &Step,
    values: &Vars,
    is_secret: &dyn Fn(&str) -> bool,
    to_fill: &mut BTreeMap<String, String>,
) {
    for block in &step.blocks {
        let (label, code) = match block.kind {
            BlockKind::Command => ("", fill_partial(&block.code, values, is_secret, to_fill)),
            BlockKind::Output => ("   Expected output:\n\n", block.code.clone()),
            BlockKind::Example => ("   For example:\n\n", block.code.clone()),
            BlockKind::Config => ("", block.code.clone()),
        };
        if let Some(tab) = block.attribute("tab") {
            let _ = writeln!(out, "\n   Either ({tab}):");
        }
        out.push('\n');
        out.push_str(label);
        let lang = match block.kind {
            BlockKind::Command => "bash",
            BlockKind::Output => "text",
            _ => block.language.as_deref().unwrap_or(""),
        };
        let fence = fence_for(&code);
        let _ = writeln!(out, "   {fence}{lang}");
        for line in code.trim_end_matches('\n').lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "   {line}");
            }
        }
        let _ = writeln!(out, "   {fence}");
    }
}

fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// `script` with each placeholder that has a plain value spelled in; the others are left as
/// `<name>` and noted in `to_fill` (raw spelling -> normalised name).
pub fn fill_partial(
    script: &str,
    values: &Vars,
    is_secret: &dyn Fn(&str) -> bool,
    to_fill: &mut BTreeMap<String, String>,
) -> String {
    let found = Vars::placeholders(script);
    if found.is_empty() {
        return script.to_owned();
    }
    let lexed = shell::parse(script);
    let mut out = String::with_capacity(script.len());
    let mut last = 0;
    for p in &found {
        out.push_str(&script[last..p.start]);
        last = p.end;
        let value = values
            .get(&p.name)
            .filter(|v| !v.secret && !p.secret && !is_secret(&p.name));
        let spelled = value.and_then(|v| vars::spell_at(&v.value, &lexed, p.start).ok());
        if let Some(s) = spelled {
            out.push_str(&s);
        } else {
            let visible = format!("<{}>", p.name);
            out.push_str(&visible);
            to_fill.insert(visible, p.name.clone());
        }
    }
    out.push_str(&script[last..]);
    out
}
