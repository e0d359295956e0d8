//! A session in the TUI survives losing the terminal: the real binary runs in tmux, a long
//! step starts, runbook gets SIGHUP, and the session file says interrupted with no child left.
//! Needs tmux (`.ci/run` installs it); fails without it when `CI` is set.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Option<Self> {
        let available = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is missing; .ci/run installs it"
            );
            eprintln!("tmux not installed: skipped outside CI");
            return None;
        }
        Some(Self {
            socket: format!("runbook-test-session-{}", std::process::id()),
        })
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux: {e}"))
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "hup"]).stdout).into_owned()
    }

    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Live processes whose command line contains `needle`, read from /proc.
fn processes(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let live = std::fs::read_to_string(entry.path().join("stat"))
            .is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "));
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if live && cmdline.contains(needle) {
                found.push(format!("{} {cmdline}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

fn session_json(root: &Path) -> Option<serde_json::Value> {
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .find_map(|e| std::fs::read(e.path().join("session.json")).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
}

#[test]
fn sighup_saves_the_session_and_leaves_no_child() {
    let Some(tmux) = Tmux::new() else {
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
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "80",
        "-y",
        "24",
        "-s",
        "hup",
        &command,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the scenario", |s| s.contains("Hang Up"));
    tmux.run(&["send-keys", "-t", "hup", "Enter"]);
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
