//! `runbook lint` on fixtures: each check at its <file:line:col>, exit codes, and shellcheck's
//! findings mapped back to runbook lines.

use std::path::PathBuf;
use std::process::Command;

use runbook::lint::{self, Options};
use runbook::runbook::{Catalog, Diagnostic, Severity};

fn findings(name: &str, shellcheck: bool) -> Vec<Diagnostic> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(name);
    let catalog = Catalog::load(&[path], false);
    assert!(catalog.errors.is_empty());
    lint::lint_runbook(&catalog.runbooks[0], Options { shellcheck })
}

fn summary(findings: &[Diagnostic]) -> Vec<(usize, usize, &'static str)> {
    findings.iter().map(|f| (f.line, f.col, f.code)).collect()
}

#[test]
fn each_pitfall_is_reported_where_it_is() {
    let got = findings("pitfalls.md", false);
    assert_eq!(
        summary(&got),
        [
            (21, 18, "single-quoted-var"),
            (26, 1, "destructive"),
            (27, 20, "unexplained-placeholder"),
            (33, 16, "heredoc-terminator")
        ]
    );
    assert_eq!(got[1].severity, Severity::Info);
    assert!(got[1].message.contains("kubectl delete"), "{}", got[1]);
    assert!(got[2].message.contains("<pod-name>"));
    assert!(got[3].message.contains("line 35"));
}

#[test]
fn shellcheck_findings_map_to_runbook_lines() {
    if !lint::shellcheck_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "shellcheck is missing; .ci/run installs it"
        );
        eprintln!("shellcheck not installed: skipped outside CI");
        return;
    }
    let got = findings("pitfalls.md", true);
    let sc: Vec<_> = got.iter().filter(|f| f.code == "shellcheck").collect();
    assert!(
        sc.iter()
            .any(|f| f.line == 41 && f.col == 6 && f.message.starts_with("SC2046")),
        "{sc:?}"
    );
    // The heredoc's indented terminator, seen by shellcheck too, on the runbook's line.
    assert!(
        sc.iter()
            .any(|f| f.line == 35 && f.message.starts_with("SC1039")),
        "{sc:?}"
    );
    // `<pod-name>` is not read as a redirection.
    assert!(!sc.iter().any(|f| f.line == 27), "{sc:?}");
}

#[test]
fn unterminated_fences_and_comments_are_errors_with_their_line() {
    let got = findings("unterminated-fence.md", false);
    assert_eq!(summary(&got), [(7, 1, "unterminated-fence")]);
    let got = findings("unterminated.md", false);
    assert!(
        summary(&got).contains(&(3, 1, "unterminated-comment")),
        "{got:?}"
    );
}

#[test]
fn an_override_needs_a_reason() {
    let got = findings("override.md", false);
    let overrides: Vec<_> = got
        .iter()
        .filter(|f| f.code == "classification-override")
        .collect();
    assert_eq!(overrides.len(), 2, "{got:?}");
    assert_eq!(
        (overrides[0].line, overrides[0].severity),
        (7, Severity::Warning)
    );
    assert_eq!(
        (overrides[1].line, overrides[1].severity),
        (13, Severity::Info)
    );
    assert!(overrides[1].message.contains("signs in"));
}

#[test]
fn a_clean_runbook_has_no_findings() {
    assert!(findings("clean.md", true).is_empty());
}

fn runbook_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
}

#[test]
fn exit_code_is_1_on_errors_and_0_otherwise() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint");
    let bad = runbook_cmd()
        .arg("lint")
        .arg(dir.join("pitfalls.md"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.contains("pitfalls.md:33:16: error: heredoc `EOF` never ends"),
        "{stdout}"
    );
    let good = runbook_cmd()
        .arg("lint")
        .arg(dir.join("clean.md"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
}

#[test]
fn json_findings() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint");
    let out = runbook_cmd()
        .args(["lint", "--json", "--no-shellcheck"])
        .arg(dir.join("pitfalls.md"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 4, "{v}");
    assert_eq!(findings[0]["line"], 21);
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings[1]["severity"], "info");
    assert_eq!(findings[3]["code"], "heredoc-terminator");
}

#[test]
fn a_pick_hint_the_picker_cannot_use_is_an_error_at_its_line() {
    let got = findings("pick.md", false);
    let bad: Vec<_> = got.iter().filter(|f| f.code == "bad-pick").collect();
    assert_eq!(bad.len(), 1, "{got:?}");
    assert_eq!(bad[0].line, 8);
    assert_eq!(bad[0].severity, Severity::Error);
    assert!(bad[0].message.contains("pod-name"), "{}", bad[0]);
}
