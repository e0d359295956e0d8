//! Issue 13 §6: a battery of everyday kubectl commands (`tests/fixtures/lab/battery.txt`) run
//! with the real kubectl against the practice lab, each compared with what a real v1.32
//! cluster prints for the same objects, modulo names' volatile parts, ages, times and uids.
//! The share of identical answers must stay at or above [`GOAL`]; the test prints every
//! difference and the figure.

use std::path::Path;

use crate::lab_support::{kubectl_available, start, stderr, stdout};
use regex::Regex;

/// The share of commands that must answer as a real cluster does.
const GOAL: f64 = 0.95;

#[derive(Debug, Default)]
struct Case {
    line: usize,
    command: String,
    exit: i32,
    stdout: Option<Vec<String>>,
    first: Option<String>,
    contains: Vec<String>,
    stderr: Option<Vec<String>>,
}

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab/battery.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (tag, rest) = line.split_at(line.len().min(2));
        match tag {
            "$ " => out.push(Case {
                line: i + 1,
                command: rest.to_owned(),
                ..Case::default()
            }),
            "? " | "> " | "^ " | "~ " | "! " => {
                let Some(c) = out.last_mut() else { continue };
                match tag {
                    "? " => c.exit = rest.trim().parse().unwrap_or(0),
                    "> " => c.stdout.get_or_insert_with(Vec::new).push(rest.to_owned()),
                    "^ " => c.first = Some(rest.to_owned()),
                    "~ " => c.contains.push(rest.to_owned()),
                    _ => c.stderr.get_or_insert_with(Vec::new).push(rest.to_owned()),
                }
            }
            _ => {}
        }
    }
    out
}

/// Volatile values become placeholders; runs of blanks one space; blank lines go.
fn normalise(text: &str) -> Vec<String> {
    let rules = [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "UID",
        ),
        (r"https://127\.0\.0\.1:\d+", "https://127.0.0.1:PORT"),
        (r"\b10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+\b", "CLUSTERIP"),
        (r":3[0-2]\d{3}/", ":NODEPORT/"),
        (r"\b\d+[smhdy](\d+[smh])?\b", "AGE"),
    ];
    let mut out = text.to_owned();
    for (re, with) in rules {
        if let Ok(re) = Regex::new(re) {
            out = re.replace_all(&out, with).into_owned();
        }
    }
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn expected(lines: &[String]) -> Vec<String> {
    normalise(&lines.join("\n"))
}

#[test]
fn everyday_kubectl_commands_answer_as_a_real_cluster() {
    if !kubectl_available() {
        return;
    }
    let cases = cases();
    assert!(cases.len() >= 150, "only {} commands", cases.len());
    let lab = start(runbook::lab::PRACTICE);
    // Warm the discovery cache, as a user's kubectl has it.
    let _ = lab.kubectl(&["api-resources"]);
    let mut differ = Vec::new();
    for c in &cases {
        let out = lab.sh(&c.command);
        let (code, got_out, got_err) = (
            out.status.code().unwrap_or(-1),
            normalise(&stdout(&out)),
            normalise(&stderr(&out)),
        );
        let mut why = Vec::new();
        if code != c.exit {
            why.push(format!("exit {code}, want {}", c.exit));
        }
        if let Some(want) = &c.stdout
            && got_out != expected(want)
        {
            why.push(format!("stdout {got_out:?}\n    want {:?}", expected(want)));
        }
        if let Some(first) = &c.first
            && got_out.first() != expected(std::slice::from_ref(first)).first()
        {
            why.push(format!("first line {:?}, want {first:?}", got_out.first()));
        }
        for text in &c.contains {
            if !got_out.join("\n").contains(text.as_str()) {
                why.push(format!("stdout lacks {text:?}"));
            }
        }
        let want_err = c.stderr.as_deref().map(expected).unwrap_or_default();
        if got_err != want_err {
            why.push(format!("stderr {got_err:?}\n    want {want_err:?}"));
        }
        if !why.is_empty() {
            differ.push(format!(
                "line {}: $ {}\n  {}",
                c.line,
                c.command,
                why.join("\n  ")
            ));
        }
    }
    let same = cases.len() - differ.len();
    #[allow(clippy::cast_precision_loss)]
    let share = same as f64 / cases.len() as f64;
    eprintln!(
        "battery: {same} of {} commands answer as a real v1.32 cluster ({:.1}%)\n{}",
        cases.len(),
        share * 100.0,
        differ.join("\n")
    );
    assert!(
        share >= GOAL,
        "{} of {} differ ({:.1}% identical, goal {:.0}%):\n{}",
        differ.len(),
        cases.len(),
        share * 100.0,
        GOAL * 100.0,
        differ.join("\n")
    );
}
