//! The `list` and `show` subcommands as a user runs them: from any folder, with extra paths,
//! and their JSON contracts.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn runbook(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("runbook {args:?}: {e}"))
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx")
}

#[test]
fn list_works_from_an_empty_folder_because_runbooks_are_embedded() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let v = json(&runbook(&["list", "--json"], empty.path()));
    let runbooks = v["runbooks"].as_array().cloned().unwrap_or_default();
    assert!(runbooks.len() >= 21);
    let backup = runbooks
        .iter()
        .find(|r| r["id"] == "backup-stuck")
        .cloned()
        .unwrap_or_default();
    assert_eq!(backup["path"], "bundled:enterprise/backup-stuck.md");
    assert_eq!(backup["title"], "Enterprise backup stuck");
    assert!(backup["tags"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        backup["scenarios"][0]["id"],
        "backup-stuck/restart-mgmt-pod"
    );
    assert!(backup["scenarios"][0]["title"].is_string());
}

#[test]
fn list_adds_files_and_folders_given_as_arguments() {
    let dir = fixtures();
    let out = runbook(&["list", "--no-bundled", "tabs.md", "headings.md"], &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tabs/tab-procedures"), "{text}");
    assert!(text.contains("headings/em-dash"), "{text}");
    assert!(!text.contains("backup-stuck"));
    let v = json(&runbook(&["list", "--json", "."], &dir));
    let ids: Vec<String> = v["runbooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        ids.contains(&"steps".to_owned()) && ids.contains(&"backup-stuck".to_owned()),
        "{ids:?}"
    );
    // `.txt` is only read when named: a folder yields Markdown files.
    assert!(!ids.contains(&"plain-text".to_owned()));
}

#[test]
fn show_json_follows_the_contract() {
    let v = json(&runbook(
        &["show", "--json", "backup-stuck/restart-mgmt-pod"],
        &fixtures(),
    ));
    let r = &v["runbooks"][0];
    for key in ["id", "path", "title", "warnings", "scenarios"] {
        assert!(!r[key].is_null(), "runbook.{key}");
    }
    let s = &r["scenarios"][0];
    for key in ["id", "title", "line", "intro", "procedures"] {
        assert!(!s[key].is_null(), "scenario.{key}");
    }
    let step = &s["procedures"][0]["steps"][1];
    for key in ["number", "line", "text", "blocks", "substeps"] {
        assert!(!step[key].is_null(), "step.{key}");
    }
    let block = &step["blocks"][0];
    assert_eq!(block["kind"], "command");
    assert_eq!(block["language"], "shell");
    assert_eq!(
        block["code"],
        "kubectl get pods --namespace hubble-system | grep mgmt\n"
    );
    assert!(block["attributes"].is_object() && block["highlight"].is_array());
    assert!(block["line"].as_u64().is_some_and(|l| l > 1));
}

#[test]
fn show_reads_a_file_path_and_prints_an_outline() {
    let out = runbook(&["show", "procedures.md"], &fixtures());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("Procedure 2: Example - Pin the Kernel in an Image  (under 1)"),
        "{text}"
    );
    assert!(text.contains("uname --kernel-release"));
}

#[test]
fn show_an_unknown_id_says_what_to_do() {
    let out = runbook(&["show", "no-such-thing"], &fixtures());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("runbook list"), "{err}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} show backup-stuck | head -1",
            env!("CARGO_BIN_EXE_runbook")
        ))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
