//! A session in the TUI survives losing the terminal: the real binary runs in tmux, a long
//! step starts, runbook gets SIGHUP, and the session file says interrupted with no child left.
//! Needs tmux (`.ci/run` installs it); fails without it when `CI` is set.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::tmux_support::{Tmux, processes};

fn session_json(root: &Path) -> Option<serde_json::Value> {
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .find_map(|e| std::fs::read(e.path().join("session.json")).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
}

#[test]
fn sighup_saves_the_session_and_leaves_no_child() {
    let Some(tmux) = Tmux::new("session") else {
        return;
    };
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/session");
    let command = format!(
        "RUNBOOK_DATA_DIR={data} XDG_CONFIG_HOME={data}/config {bin} --path {fixtures} hup/hup; echo RUNBOOK-EXITED-$?; sleep 60",
        data = data.path().display(),
        bin = env!("CARGO_BIN_EXE_runbook"),
        fixtures = fixtures.display()
    );
    let out = tmux.start(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the scenario", |s| s.contains("Hang Up"));
    tmux.keys(&["Enter"]);
    let root = data.path().join("sessions");
    let deadline = Instant::now() + Duration::from_secs(30);
    let running = loop {
        if let Some(s) = session_json(&root)
            && s["steps"][0]["state"] == "running"
        {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the step never showed as running; screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    tmux.wait("the long step's child", |_| {
        !processes("sleep 47.5").is_empty()
    });
    let pid = running["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("{running}"));
    let killed = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(killed.success());
    let screen = tmux.wait("the exit", |s| s.contains("RUNBOOK-EXITED-"));
    assert!(screen.contains("RUNBOOK-EXITED-0"), "{screen}");
    let saved = session_json(&root).unwrap_or_else(|| panic!("no session file"));
    assert_eq!(saved["status"], "interrupted", "{saved}");
    assert_ne!(saved["steps"][0]["verdict"], "passed", "{saved}");
    let left = processes("sleep 47.5");
    assert!(left.is_empty(), "children outlived runbook: {left:?}");
}

#[test]
fn a_dropped_terminal_between_steps_leaves_the_session_interrupted() {
    let Some(tmux) = Tmux::new("dropped") else {
        return;
    };
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/session");
    let command = format!(
        "RUNBOOK_DATA_DIR={data} XDG_CONFIG_HOME={data}/config {bin} --path {fixtures} slow/slow --var namespace=default",
        data = data.path().display(),
        bin = env!("CARGO_BIN_EXE_runbook"),
        fixtures = fixtures.display()
    );
    let out = tmux.start(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the scenario", |s| s.contains("Slow Second Step"));
    tmux.keys(&["Enter"]);
    tmux.wait("step 1's verdict", |s| s.contains("exit 0"));
    let root = data.path().join("sessions");
    let pid = session_json(&root)
        .and_then(|s| s["pid"].as_i64())
        .unwrap_or_else(|| panic!("no running session"));
    // The link drops: the terminal closes under runbook (SIGHUP, then EIO).
    tmux.run(&["kill-session", "-t", "e2e"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "runbook outlived its terminal");
        std::thread::sleep(Duration::from_millis(20));
    }
    let saved = session_json(&root).unwrap_or_else(|| panic!("no session file"));
    assert_eq!(saved["status"], "interrupted", "{saved}");
    assert_eq!(saved["steps"][0]["verdict"], "passed", "{saved}");
}
