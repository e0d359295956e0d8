//! Did a step do what the runbook says it should?
//!
//! A command passes when its exit code is the expected one (0 unless `expect-exit=N`), its
//! output matches `expect=/regex/` and does not match `expect-no=/regex/` (regexes are
//! line-anchored and see ANSI-stripped text; they are watched on every line as it streams,
//! see [`crate::exec::output::OutputBuffer::watch`]). The exit code of a pipeline is judged as a
//! person reads it ([`crate::exec::pipeline::judged_status`]: `yes | head` passes, `false |
//! cat` fails); when a command ended with a pipeline, a failure names each member's status.
//!
//! Separately, when the runbook shows the output to expect (a [`BlockKind::Output`] block right
//! after the command), [`compare_output`] diffs it against what came out, line by line with
//! `similar`, after normalising volatile text: ages (`45m`, `29h`, `3d4h`), `(5m ago)`,
//! timestamps, pod-name hash suffixes (`mgmt-f7f97f4fd-lds69`) and column spacing. The result
//! is reported, not used to fail the step: runbook output blocks are usually examples.
//!
//! To tolerate one more kind of volatile text, add a rule to [`VOLATILE`] and a test.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::output::strip_ansi;
use crate::runbook::{Block, BlockKind, Step};

/// What a command must do to pass.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub exit: i32,
    pub expect: Option<Regex>,
    pub expect_no: Option<Regex>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: fence attribute {key}={value}: {why}")]
pub struct AttributeError {
    pub line: usize,
    pub key: &'static str,
    pub value: String,
    pub why: String,
}

impl Expectations {
    pub fn from_block(block: &Block) -> Result<Self, AttributeError> {
        let err = |key: &'static str, value: &str, why: String| AttributeError {
            line: block.line,
            key,
            value: value.to_owned(),
            why,
        };
        let exit = match block.attribute("expect-exit") {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|e| err("expect-exit", v, format!("{e}")))?,
            None => 0,
        };
        let regex = |key: &'static str| -> Result<Option<Regex>, AttributeError> {
            block
                .attribute(key)
                .map(|v| parse_regex(v).map_err(|e| err(key, v, e)))
                .transpose()
        };
        Ok(Self {
            exit,
            expect: regex("expect")?,
            expect_no: regex("expect-no")?,
        })
    }
}

/// `/regex/` or `/regex/i` (or a bare regex).
pub fn parse_regex(text: &str) -> Result<Regex, String> {
    let t = text.trim();
    let (body, flags) = match t
        .strip_prefix('/')
        .and_then(|r| r.rfind('/').map(|p| (&r[..p], &r[p + 1..])))
    {
        Some((body, flags)) => (body, flags),
        None => (t, ""),
    };
    let prefix = if flags.contains('i') { "(?i)" } else { "" };
    Regex::new(&format!("{prefix}{body}")).map_err(|e| e.to_string())
}

/// The failure of a command that did not exit by itself.
pub const KILLED: &str = "killed by a signal";

/// Judges one finished command: its exit code and whether the watched regexes were seen.
pub fn judge(
    exp: &Expectations,
    exit_code: Option<i32>,
    saw_expect: bool,
    saw_expect_no: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    match exit_code {
        Some(code) if code == exp.exit => {}
        Some(code) => failures.push(format!("exit code {code}, expected {}", exp.exit)),
        None => failures.push(KILLED.to_owned()),
    }
    if let Some(re) = &exp.expect
        && !saw_expect
    {
        failures.push(format!("output never matched /{}/", re.as_str()));
    }
    if let Some(re) = &exp.expect_no
        && saw_expect_no
    {
        failures.push(format!(
            "output matched /{}/, which it must not",
            re.as_str()
        ));
    }
    failures
}

/// [`judge`] for a finished command: a wrong exit code that came from a pipeline also says
/// each member's status (`PIPESTATUS`), so that the reader sees which one failed.
pub fn judge_outcome(
    exp: &Expectations,
    outcome: &crate::exec::process::CommandOutcome,
    saw_expect: bool,
    saw_expect_no: bool,
) -> Vec<String> {
    let mut failures = judge(exp, outcome.exit_code, saw_expect, saw_expect_no);
    if outcome.pipestatus.len() > 1
        && let Some(first) = failures.first_mut()
        && first.starts_with("exit code")
    {
        let statuses: Vec<String> = outcome.pipestatus.iter().map(ToString::to_string).collect();
        first.push_str(" (pipeline member statuses: ");
        first.push_str(&statuses.join(" | "));
        first.push(')');
    }
    failures
}

/// The outcome of comparing actual output with the runbook's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OutputMatch {
    Matches,
    Differs { diff: String },
    NoExpectation,
}

/// The output block that follows command block `index` of `step`, if any.
pub fn expected_output(step: &Step, index: usize) -> Option<&Block> {
    step.blocks[index + 1..]
        .iter()
        .take_while(|b| b.kind != BlockKind::Command)
        .find(|b| b.kind == BlockKind::Output)
}

static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // ISO 8601 and `2024-01-02 03:04:05` timestamps, then bare clock times.
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
            "<time>",
        ),
        (r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun),? ", ""),
        (
            r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2}\b",
            "<date>",
        ),
        (r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b", "<time>"),
        // Pod names: deployment hash + random suffix, or a random suffix alone.
        (
            r"\b([a-z0-9]+(?:-[a-z0-9]+)*?)-[a-z0-9]{8,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b",
            "$1-<pod>",
        ),
        (
            r"\b([a-z0-9]+(?:-[a-z0-9]+)*?)-[bcdfghjklmnpqrstvwxz2456789]{5}\b",
            "$1-<pod>",
        ),
        // Ages and `(5m ago)`.
        (r"\b\d+(\.\d+)?(ms|s|m|h|d|y)(\d+(ms|s|m|h|d))*\b", "<age>"),
        (r"\(<age> ago\)", ""),
        (r"[ \t]+", " "),
    ]
    .into_iter()
    .filter_map(|(re, to)| Regex::new(re).ok().map(|re| (re, to)))
    .collect()
});

/// A line with its volatile parts replaced, for comparison.
pub fn normalise_line(line: &str) -> String {
    let mut s = strip_ansi(line).trim().to_owned();
    for (re, to) in VOLATILE.iter() {
        s = re.replace_all(&s, *to).into_owned();
    }
    s.trim().to_owned()
}

/// Compares the runbook's expected output with the actual output.
pub fn compare_output(expected: Option<&str>, actual: &str) -> OutputMatch {
    let Some(expected) = expected else {
        return OutputMatch::NoExpectation;
    };
    let norm = |text: &str| -> String {
        text.lines()
            .map(normalise_line)
            .filter(|l| !l.is_empty())
            .map(|l| l + "\n")
            .collect()
    };
    let (e, a) = (norm(expected), norm(actual));
    if e == a {
        return OutputMatch::Matches;
    }
    let diff = similar::TextDiff::from_lines(&e, &a)
        .unified_diff()
        .header("expected", "actual")
        .to_string();
    OutputMatch::Differs { diff }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_columns_are_tolerated() {
        let expected = "NAME                   READY   STATUS    RESTARTS      AGE\nmgmt-f7f97f4fd-lds69   1/1     Running   2 (5m ago)    45m\n";
        let actual = "NAME READY STATUS RESTARTS AGE\nmgmt-5d8c9b7f6c-x2k4p   1/1   Running   2 (3h ago)   29h\n";
        assert_eq!(compare_output(Some(expected), actual), OutputMatch::Matches);
        let actual = "mgmt-5d8c9b7f6c-x2k4p   0/1   CrashLoopBackOff   2   29h\n";
        assert!(matches!(
            compare_output(Some(expected), actual),
            OutputMatch::Differs { .. }
        ));
        assert_eq!(compare_output(None, "x"), OutputMatch::NoExpectation);
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            normalise_line("2024-05-01T10:11:12.123Z level=info msg=ok"),
            normalise_line("2026-11-21T21:00:00Z level=info msg=ok")
        );
        assert_eq!(normalise_line("\x1b[32mok\x1b[0m"), "ok");
    }

    #[test]
    fn regex_attributes() {
        let re = parse_regex("/^000/").unwrap_or_else(|e| panic!("{e}"));
        assert!(re.is_match("000"));
        let re = parse_regex("/ntpsynchronized=YES/i").unwrap_or_else(|e| panic!("{e}"));
        assert!(re.is_match("NTPSynchronized=yes"));
        let exp = Expectations {
            exit: 1,
            expect: None,
            expect_no: None,
        };
        assert!(judge(&exp, Some(1), false, false).is_empty());
        assert_eq!(
            judge(&exp, Some(0), false, false),
            ["exit code 0, expected 1"]
        );
    }
}
