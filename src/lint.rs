//! `runbook lint`: findings about runbooks as `file:line:col: severity: message`.
//!
//! Parse warnings come first (front matter, fences, comments), then checks of each command
//! block. To add a check: write a function from a block (or step) to findings and call it from
//! [`lint_runbook`]; give it a stable `code` and a fixture that triggers it.

use crate::runbook::{Diagnostic, Runbook};

/// Every finding for one runbook, sorted by position.
pub fn lint_runbook(runbook: &Runbook) -> Vec<Diagnostic> {
    let mut findings = runbook.warnings.clone();
    findings.sort_by_key(|a| (a.line, a.col));
    findings
}
