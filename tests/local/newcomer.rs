//! What a newcomer types first: a file or folder as the target, mistakes answered in one line
//! with a hint and exit 2 (never a report or a backtrace, even with `RUST_BACKTRACE=1`), shell
//! completions and the manual.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn runbook(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .env("RUNBOOK_DATA_DIR", cwd.join("data"))
        .env("XDG_CONFIG_HOME", cwd.join("config"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("runbook {args:?}: {e}"))
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// A user's mistake: exit 2, `runbook: error: ...` and at most one `hint:` line.
fn assert_user_error(out: &Output, says: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() <= 2,
        "one line and a hint at most:\n{err}"
    );
    assert!(lines[0].starts_with("runbook: error: "), "{err}");
    assert!(lines[0].contains(says), "{err}");
    if let Some(hint) = lines.get(1) {
        assert!(hint.starts_with("hint: "), "{err}");
    }
    for bug_sign in ["backtrace", "Location:", "panicked", "Error:", "  0: "] {
        assert!(!err.contains(bug_sign), "{err}");
    }
}

#[test]
fn a_runbook_file_and_a_folder_are_targets() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(fixture("drift/drift.md"), dir.path().join("my-runbook.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    // A file with several scenarios: run asks which, naming them.
    let out = runbook(&["run", "./my-runbook.md"], dir.path());
    assert_user_error(&out, "has several scenarios");
    assert!(text(&out.stderr).contains("my-runbook/secret-var"));
    let out = runbook(
        &[
            "run",
            "./my-runbook.md",
            "--scenario",
            "secret-var",
            "--var",
            "support-code=x",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the code is"));
    // The session line is a whole line.
    assert!(text(&out.stderr).ends_with('\n'), "{:?}", text(&out.stderr));

    // A folder with one scenario in it is that scenario.
    let one = dir.path().join("one");
    std::fs::create_dir(&one).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        one.join("only.md"),
        "## Scenario - Only {#only}\n\n### Debug Steps\n\n1. Say so.\n\n   ```bash\n   echo only-one-here\n   ```\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = runbook(&["run", "one"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("only-one-here"));
    let out = runbook(&["show", "one"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Only"));
    let out = runbook(&["export", "./one"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("echo only-one-here"));
}

#[test]
fn mistakes_are_one_line_with_a_hint_and_exit_2() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    assert_user_error(&runbook(&["run", "no-such-thing"], d), "no-such-thing");
    assert_user_error(&runbook(&["run", "./missing.md"], d), "no such file");
    assert_user_error(&runbook(&["show", "nope/nope"], d), "nope/nope");
    assert_user_error(
        &runbook(&["run", "backup-stuck", "--yes", "--read-only"], d),
        "cannot be used with",
    );
    assert_user_error(
        &runbook(&["run", "backup-stuck", "--var", "no-equals-sign"], d),
        "is not NAME=VALUE",
    );
    assert_user_error(&runbook(&["--no-such-flag"], d), "--no-such-flag");
    assert_user_error(&runbook(&["report", "no-such-session"], d), "no session");
    assert_user_error(
        &runbook(&["run", "backup-stuck", "--timeout", "soon"], d),
        "--timeout soon",
    );
    // The TUI's own target error happens before the terminal is taken.
    assert_user_error(&runbook(&["no-such-scenario"], d), "no-such-scenario");
}

#[test]
fn completions_for_three_shells_and_a_manual_with_every_subcommand() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (shell, sign) in [
        ("bash", "complete -F _runbook"),
        ("zsh", "#compdef runbook"),
        ("fish", "complete -c runbook"),
    ] {
        let out = runbook(&["completions", shell], dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(sign), "{shell}: {script}");
        for sub in ["run", "lint", "diagnose", "sessions", "report"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    // The bash script is valid bash.
    let out = runbook(&["completions", "bash"], dir.path());
    let path = dir.path().join("runbook.bash");
    std::fs::write(&path, &out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let check = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(check.status.success(), "{}", text(&check.stderr));

    let out = runbook(&["man"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let roff = text(&out.stdout);
    for page in [
        "runbook 1",
        "runbook-run 1",
        "runbook-lint 1",
        "runbook-man 1",
    ] {
        assert!(roff.contains(&format!(".TH {page}")), "no page {page}");
    }
    let pages = dir.path().join("man");
    let out = runbook(&["man", "--dir", "man"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(pages.join("runbook.1").is_file());
    assert!(pages.join("runbook-diagnose.1").is_file());
}
