//! The readable outline `runbook show` prints without `--json`.

use std::fmt::Write;

use super::{Block, Runbook, Step};

/// Steps, callouts and blocks of every scenario, indented by depth.
pub fn outline(runbook: &Runbook) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", runbook.title(), runbook.path.display());
    for w in runbook.warnings() {
        let _ = writeln!(out, "  ! {w}");
    }
    for s in &runbook.scenarios {
        let _ = writeln!(out, "\n{}  [{}] line {}", s.title, s.id, s.line);
        if !s.summary.is_empty() {
            indent_text(&mut out, &s.summary, 2);
        }
        for c in &s.callouts {
            let _ = writeln!(out, "  [{}] {}", c.kind, first_line(&c.text));
        }
        for b in &s.intro {
            block(&mut out, b, 2);
        }
        for r in &s.reference {
            let _ = writeln!(out, "\n  Reference: {}", r.title);
            if !r.text.is_empty() {
                indent_text(&mut out, &r.text, 4);
            }
            for c in &r.callouts {
                let _ = writeln!(out, "    [{}] {}", c.kind, first_line(&c.text));
            }
            for b in &r.blocks {
                block(&mut out, b, 4);
            }
        }
        for (i, p) in s.procedures.iter().enumerate() {
            let under = p
                .parent
                .map(|n| format!("  (under {})", n + 1))
                .unwrap_or_default();
            let _ = writeln!(out, "\n  Procedure {}: {}{under}", i + 1, p.title);
            if !p.summary.is_empty() {
                indent_text(&mut out, &p.summary, 4);
            }
            for step in &p.steps {
                write_step(&mut out, step, 4);
            }
        }
    }
    out
}

fn write_step(out: &mut String, step: &Step, depth: usize) {
    let pad = " ".repeat(depth);
    let number = if step.number.is_empty() {
        "-".to_owned()
    } else {
        format!("{}.", step.number)
    };
    let _ = writeln!(out, "{pad}{number} {}", first_line(&step.text));
    for c in &step.callouts {
        let _ = writeln!(out, "{pad}   [{}] {}", c.kind, first_line(&c.text));
    }
    for b in &step.blocks {
        block(out, b, depth + 3);
    }
    for sub in &step.substeps {
        write_step(out, sub, depth + 3);
    }
}

fn block(out: &mut String, b: &Block, depth: usize) {
    let pad = " ".repeat(depth);
    let tab = b
        .attribute("tab")
        .map(|t| format!(" [{t}]"))
        .unwrap_or_default();
    // Every attribute that changes how the block is judged, as written: a review must see a
    // `destructive=false` before the block runs.
    let judged: Vec<String> = super::JUDGING_ATTRIBUTES
        .iter()
        .filter_map(|k| b.attribute(k).map(|v| (k, v)))
        .map(|(k, v)| {
            if v.is_empty() || v.contains([' ', '"']) {
                format!("{k}={v:?}")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    let judged = if judged.is_empty() {
        String::new()
    } else {
        format!(" {{{}}}", judged.join(" "))
    };
    let _ = writeln!(out, "{pad}{}{tab}{judged}:", b.kind.as_str());
    for line in b.code.lines().take(12) {
        let _ = writeln!(out, "{pad}  | {line}");
    }
    let more = b.code.lines().count().saturating_sub(12);
    if more > 0 {
        let _ = writeln!(out, "{pad}  | ... {more} more lines");
    }
}

fn indent_text(out: &mut String, text: &str, depth: usize) {
    for line in text.lines() {
        let _ = writeln!(out, "{}{line}", " ".repeat(depth));
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
