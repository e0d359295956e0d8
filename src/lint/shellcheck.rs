//! Running `shellcheck` on command blocks and mapping its findings back to runbook lines.
//!
//! Placeholders (`<namespace>`, `**********`) are replaced by words of the same length before
//! the block is checked, so shellcheck does not read `<x>` as a redirection and columns still
//! point at the runbook's text.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::runbook::{Block, Diagnostic, Severity, placeholder};

/// Checks that do not fit documentation snippets: variables set by earlier steps (SC2154) or
/// used by later ones (SC2034), single quotes (SC2016, reported by our own check), and `cd`
/// without `|| exit` (SC2164): a step is one command typed at a prompt, not a script.
const EXCLUDED: &str = "SC2154,SC2034,SC2016,SC1091,SC2164";

pub struct Shellcheck;

#[derive(Deserialize)]
struct Report {
    comments: Vec<Comment>,
}

#[derive(Deserialize)]
struct Comment {
    line: usize,
    column: usize,
    level: String,
    code: u32,
    message: String,
}

/// Is `shellcheck` on the PATH? Asked once per process.
pub fn shellcheck_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("shellcheck")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl Shellcheck {
    /// shellcheck's findings on one command block, at runbook positions.
    pub fn check(path: &Path, block: &Block) -> Vec<Diagnostic> {
        let script = neutralise_placeholders(&block.code);
        let Some(report) = run(&script) else {
            return Vec::new();
        };
        report
            .comments
            .into_iter()
            .map(|c| Diagnostic {
                path: path.to_owned(),
                line: block.source_line(c.line),
                col: c.column,
                severity: match c.level.as_str() {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    _ => Severity::Info,
                },
                code: "shellcheck",
                message: format!("SC{}: {}", c.code, c.message),
            })
            .collect()
    }
}

fn run(script: &str) -> Option<Report> {
    let mut child = Command::new("shellcheck")
        .args([
            "--format=json1",
            "--shell=bash",
            "--severity=warning",
            "--exclude",
            EXCLUDED,
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let output = child.wait_with_output().ok()?;
    serde_json::from_slice(&output.stdout).ok()
}

/// `<namespace>` -> `_namespace_`, `**********` -> `xxxxxxxxxx`: one plain word, same width.
pub fn neutralise_placeholders(code: &str) -> String {
    placeholder::replace(code, |_, raw| "x".repeat(raw.chars().count()))
}
