//! The transcript of a session for a support ticket, as Markdown or JSON.
//!
//! Both forms hold the same facts: scenario, runbook, context and server, who and when, then
//! per step its verdict, each filled-in command with exit status and duration, the
//! expected-vs-actual result, the output (the first and last [`REPORT_LINES`] lines, with a
//! note of what was left out) and the user's note. Everything passes through the
//! [`Redactor`], and the report ends with what it removed (kind and count, never the value);
//! the Markdown is then made safe to print ([`crate::sanitize`]: no escape sequence from a
//! runbook or an output reaches the reader's terminal).
//!
//! A report reads only files inside the session's own folder: `session.json` is data, and an
//! `"output": "/etc/shadow"` in it must not put that file in a ticket ([`kept_output`]).
//!
//! To add a fact, add it to both [`markdown`] and [`json`].

use std::fmt::Write as _;
use std::path::{Component, Path};

use serde_json::{Value, json};

use super::redact::Redactor;
use super::store::{
    CommandRecord, KeptOutput, OutputCheck, SessionRecord, StepRecord, StepState, Store,
};
use crate::exec::output::strip_ansi;
use crate::sanitize::Sanitizer;

/// Output lines kept at each end of a step's output in a report.
pub const REPORT_LINES: usize = 100;

/// The redactor for a session: its secret values (when the caller still knows them), the
/// values of this process's secret environment variables (a Palette API key) plus every rule.
pub fn redactor(secret_values: &[String]) -> Redactor {
    Redactor::new(secret_values.iter().cloned()).with_process_env(&[])
}

/// A step's output as it goes in a report: trimmed to the first and last [`REPORT_LINES`].
#[derive(Debug, Clone, Default)]
struct Trimmed {
    text: String,
    /// Lines left out here, and bytes the session itself did not keep.
    lines_left_out: usize,
    bytes_not_kept: u64,
}

fn trimmed(kept: &KeptOutput) -> Trimmed {
    let head = strip_ansi(&kept.head).into_owned();
    let tail = strip_ansi(&kept.tail).into_owned();
    let mut lines: Vec<&str> = head.lines().collect();
    let gap_at = lines.len();
    lines.extend(tail.lines());
    let mut text = String::new();
    let mut left_out = 0;
    let keep = |i: usize| i < REPORT_LINES || i + REPORT_LINES >= lines.len();
    let mut noted_gap = false;
    for (i, line) in lines.iter().enumerate() {
        if i == gap_at && kept.dropped > 0 {
            let _ = writeln!(
                text,
                "[… {} bytes of output not kept by the session …]",
                kept.dropped
            );
        }
        if keep(i) {
            text.push_str(line);
            text.push('\n');
        } else {
            left_out += 1;
            if !noted_gap {
                noted_gap = true;
                text.push_str("[… lines left out of this report …]\n");
            }
        }
    }
    if left_out > 0 {
        text = text.replace(
            "[… lines left out of this report …]",
            &format!("[… {left_out} lines left out of this report …]"),
        );
    }
    Trimmed {
        text,
        lines_left_out: left_out,
        bytes_not_kept: kept.dropped,
    }
}

/// A code fence longer than any backtick run in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn status_of(code: Option<i32>, signal: Option<i32>, timed_out: bool) -> String {
    match (code, signal) {
        _ if timed_out => "timed out".to_owned(),
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "no exit status".to_owned(),
    }
}

fn ms(ms: u64) -> String {
    crate::duration::humanize(std::time::Duration::from_millis(ms))
}

fn verdict_text(step: &StepRecord) -> String {
    match (step.state, step.verdict) {
        (StepState::Interrupted, _) => {
            "interrupted (it was running when the session stopped)".to_owned()
        }
        (StepState::Running, _) => "running".to_owned(),
        (_, Some(v)) => v.as_str().to_owned(),
        (StepState::Pending | StepState::Done, None) => "not run".to_owned(),
    }
}

/// A step's kept output, read only from the session's own folder: its file name must be a
/// plain name, and the file (and its tail files) must not lead out of the folder by a link.
pub fn kept_output(store: &Store, record: &SessionRecord, step: &StepRecord) -> Option<KeptOutput> {
    let name = step.output.as_deref()?;
    inside_folder(store.dir(), name).then(|| store.output(record, step))?
}

fn inside_folder(dir: &Path, name: &str) -> bool {
    let mut parts = Path::new(name).components();
    if !matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(_)), None)
    ) {
        return false;
    }
    let Ok(folder) = dir.canonicalize() else {
        return false;
    };
    [
        name.to_owned(),
        format!("{name}.tail.0"),
        format!("{name}.tail.1"),
    ]
    .iter()
    .all(|file| match dir.join(file).canonicalize() {
        Ok(real) => real.parent() == Some(folder.as_path()),
        // Not there (yet): nothing will be read from it.
        Err(_) => !dir.join(file).is_symlink(),
    })
}

/// The closing list of a report: what the redactor removed, by kind.
pub fn summary_markdown(redactor: &Redactor) -> String {
    let list = redactor.summary();
    let mut md = String::from("\n## Redacted\n\n");
    if list.is_empty() {
        md.push_str("Nothing in this report looked like a secret.\n");
        return md;
    }
    md.push_str(
        "Replaced by markers such as `‹redacted:password#1›` (one number per distinct value):\n\n",
    );
    for r in &list {
        let _ = writeln!(
            md,
            "- `{}`: {} ({} {})",
            r.kind,
            r.count,
            r.values,
            if r.values == 1 { "value" } else { "values" }
        );
    }
    md
}

/// The Markdown transcript, redacted, with the list of what was redacted at its end.
pub fn markdown(store: &Store, record: &SessionRecord, redactor: &Redactor) -> String {
    // Every piece went in as recorded; redact the whole so nothing slips between pieces.
    let mut md = redactor.redact(&render_markdown(store, record));
    md.push_str(&summary_markdown(redactor));
    Sanitizer::PLAIN.clean(&md).into_owned()
}

/// The Markdown transcript with secrets left in (`runbook report --no-redact`).
pub fn markdown_unredacted(store: &Store, record: &SessionRecord) -> String {
    Sanitizer::PLAIN
        .clean(&render_markdown(store, record))
        .into_owned()
}

fn render_markdown(store: &Store, record: &SessionRecord) -> String {
    let mut md = String::new();
    header_markdown(&mut md, record);
    for step in &record.steps {
        step_markdown(&mut md, store, record, step);
    }
    md
}

/// The title, the table of facts and the values of a session.
fn header_markdown(md: &mut String, record: &SessionRecord) {
    let title = if record.scenario_title.is_empty() {
        record.scenario.clone()
    } else {
        format!("{} (`{}`)", record.scenario_title, record.scenario)
    };
    let _ = writeln!(md, "# Runbook session {}\n", record.id);
    let _ = writeln!(md, "| | |\n|---|---|");
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(md, "| {k} | {} |", v.replace('|', "\\|").replace('\n', " "));
    };
    row("Scenario", &title);
    row("Runbook", &record.runbook.display().to_string());
    if let Some(p) = &record.procedure {
        row("Procedure", p);
    }
    match &record.context {
        Some(c) => row(
            "Context",
            &format!(
                "{} ({})",
                c.name,
                c.server.as_deref().unwrap_or("server unknown")
            ),
        ),
        None => row("Context", "none (no current context in the kubeconfig)"),
    }
    if let Some(lab) = &record.lab {
        row("Practice cluster", lab);
    }
    row("Who", &format!("{}@{}", record.user, record.host));
    row(
        "Started",
        &record
            .started
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    row(
        "Last activity",
        &record
            .updated
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    row("Mode", &record.mode);
    let (done, total) = record.progress();
    row(
        "Status",
        &format!("{} ({done}/{total} steps done)", record.status.as_str()),
    );
    if !record.vars.is_empty() {
        md.push_str("\n**Values:**\n\n");
        for (name, v) in &record.vars {
            match (&v.value, v.secret) {
                (Some(value), false) => {
                    let _ = writeln!(md, "- `{name}` = `{value}`");
                }
                _ => {
                    let _ = writeln!(md, "- `{name}` = (secret, not recorded)");
                }
            }
        }
    }
}

/// One step: verdict, reasons, each command, the output and the note.
fn step_markdown(md: &mut String, store: &Store, record: &SessionRecord, step: &StepRecord) {
    let _ = writeln!(
        md,
        "\n## Step {} — {}\n",
        step.number,
        if step.title.is_empty() {
            "(untitled)"
        } else {
            &step.title
        }
    );
    let mut line = format!("**Verdict:** {}", verdict_text(step));
    if let Some(started) = step.started {
        let _ = write!(
            line,
            " · started {}",
            started.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    if let Some(d) = step.duration_ms() {
        let _ = write!(line, " · took {}", ms(u64::try_from(d).unwrap_or(0)));
    }
    let _ = writeln!(md, "{line}\n");
    for r in step.reasons.iter().chain(&step.notices) {
        notice(md, r);
    }
    if !step.reasons.is_empty() || !step.notices.is_empty() {
        md.push('\n');
    }
    for c in &step.commands {
        command_markdown(md, c);
    }
    if let Some(name) = step.output.as_deref()
        && !inside_folder(store.dir(), name)
    {
        let _ = writeln!(
            md,
            "Output: not read (`{}` is not a file of this session's folder).\n",
            name.replace('`', "'")
        );
    } else if let Some(kept) = kept_output(store, record, step)
        && kept.total_kept() > 0
    {
        let t = trimmed(&kept);
        let f = fence(&t.text);
        let mut note = String::new();
        if t.bytes_not_kept > 0 || t.lines_left_out > 0 {
            note = format!(
                " (trimmed: {} bytes not kept by the session, {} lines left out here)",
                t.bytes_not_kept, t.lines_left_out
            );
        }
        let _ = writeln!(md, "Output{note}:\n\n{f}text\n{}{f}\n", t.text);
    }
    if !step.notes.trim().is_empty() {
        let _ = writeln!(md, "**Note:** {}\n", step.notes.trim());
    }
}

/// One command of a step: the command, its status and duration, expected vs actual.
fn command_markdown(md: &mut String, c: &CommandRecord) {
    let f = fence(&c.command);
    let _ = writeln!(md, "{f}bash\n{}\n{f}\n", c.command.trim_end());
    let mut status = format!(
        "Line {} of the runbook{}: ",
        c.line,
        if c.destructive { ", destructive" } else { "" }
    );
    if c.duration_ms.is_some() || c.exit_code.is_some() {
        status.push_str(&status_of(c.exit_code, c.signal, c.timed_out));
        if c.pipestatus.len() > 1 {
            let members: Vec<String> = c.pipestatus.iter().map(ToString::to_string).collect();
            let _ = write!(
                status,
                " (pipeline member statuses {})",
                members.join(" | ")
            );
        }
        if let Some(d) = c.duration_ms {
            let _ = write!(status, " in {}", ms(d));
        }
    } else {
        status.push_str("did not finish");
    }
    let _ = writeln!(md, "{status}.\n");
    let expected = match &c.output_match {
        OutputCheck::NoExpectation => None,
        OutputCheck::Matches => Some("the output matches the runbook's example".to_owned()),
        OutputCheck::Differs { diff } => {
            let f = fence(diff);
            Some(format!(
                "the output differs from the runbook's example:\n\n{f}diff\n{}\n{f}",
                diff.trim_end()
            ))
        }
    };
    if !c.failures.is_empty() {
        let _ = writeln!(md, "Expected vs actual: {}.\n", c.failures.join("; "));
    } else if c.duration_ms.is_some() && expected.is_none() {
        md.push_str("Expected vs actual: as expected.\n\n");
    }
    if let Some(e) = expected {
        let _ = writeln!(md, "Expected vs actual: {e}\n");
    }
}

/// The JSON transcript, redacted: the session record plus each step's trimmed output, and
/// `redacted`: `[{"kind", "count", "values"}]`.
pub fn json(store: &Store, record: &SessionRecord, redactor: &Redactor) -> Value {
    let mut report = json_unredacted(store, record);
    redactor.redact_json(&mut report);
    report["redacted"] = serde_json::to_value(redactor.summary()).unwrap_or_default();
    report
}

/// The JSON transcript with secrets left in (`runbook report --no-redact`).
pub fn json_unredacted(store: &Store, record: &SessionRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Some(fields) = value.as_object_mut() {
        // Where the recorder keeps its changes: nothing for a reader.
        fields.remove("journal");
    }
    if let Some(steps) = value.get_mut("steps").and_then(Value::as_array_mut) {
        for (step, out) in record.steps.iter().zip(steps.iter_mut()) {
            let t = kept_output(store, record, step)
                .map(|k| trimmed(&k))
                .unwrap_or_default();
            out["verdict_text"] = json!(verdict_text(step));
            out["output_text"] = json!(t.text);
            out["output_lines_left_out"] = json!(t.lines_left_out);
            out["output_bytes_not_kept"] = json!(t.bytes_not_kept);
            out["duration_ms"] = json!(step.duration_ms());
        }
    }
    json!({ "session": value })
}

/// One reason or notice as a list item; one of several lines (an edit's diff) keeps its lines
/// in a fence under its first.
fn notice(md: &mut String, text: &str) {
    match text.split_once('\n') {
        Some((head, rest)) => {
            let f = fence(rest);
            let _ = writeln!(md, "- {head}\n\n  {f}diff");
            for l in rest.lines() {
                let _ = writeln!(md, "  {l}");
            }
            let _ = writeln!(md, "  {f}");
        }
        None => {
            let _ = writeln!(md, "- {text}");
        }
    }
}
