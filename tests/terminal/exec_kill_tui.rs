//! `kill -9` of the TUI while a step runs leaves no process behind within a second: the real
//! binary in tmux runs a step that starts a background job, a `setsid` escapee, an orphaned
//! grandchild and a nested shell's child, then waits; runbook is killed; the process table is
//! polled. Needs tmux (`.ci/run` installs it); fails without it when `CI` is set.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::tmux_support::Tmux;

/// Live processes whose command line is exactly `sleep <secs>`.
fn sleeping(secs: &str) -> Vec<i32> {
    let want = format!("sleep\0{secs}\0");
    pids_where(|cmdline| cmdline == want.as_bytes())
}

fn pids_where(mut matches: impl FnMut(&[u8]) -> bool) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let live = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with(['Z', 'X'])))
            == Some(false);
        if live && matches(&cmdline) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn kill_9_of_the_tui_leaves_nothing_behind() {
    let Some(tmux) = Tmux::new("kill") else {
        return;
    };
    let n = std::process::id() % 1000;
    let tags: Vec<String> = (1..=5).map(|i| format!("83{n:03}{i}")).collect();
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec");
    let bin = env!("CARGO_BIN_EXE_runbook");
    let vars: Vec<String> = ["job", "escapee", "orphan", "nested", "foreground"]
        .iter()
        .zip(&tags)
        .map(|(name, secs)| format!("--var {name}={secs}"))
        .collect();
    let command = format!(
        "RUNBOOK_DATA_DIR={data} XDG_CONFIG_HOME={data}/config {bin} --path {fixtures} {vars} leftovers/leftovers; sleep 60",
        data = data.path().display(),
        fixtures = fixtures.display(),
        vars = vars.join(" "),
    );
    let out = tmux.start(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the scenario", |s| s.contains("Leftovers"));
    tmux.keys(&["Enter"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tags.iter().all(|t| !sleeping(t).is_empty()) {
        assert!(
            Instant::now() < deadline,
            "the step's processes never all started; screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // This runbook: the binary as its first argument (not the shell tmux started), with this
    // test's values (other tests run the same binary at the same time).
    let ours = format!("foreground={}", tags[4]);
    let me = pids_where(|c| {
        c.split(|b| *b == 0).next() == Some(bin.as_bytes())
            && c.split(|b| *b == 0).any(|arg| arg == ours.as_bytes())
    });
    assert_eq!(me.len(), 1, "runbook processes: {me:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(me[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let killed = Instant::now();
    while !tags.iter().all(|t| sleeping(t).is_empty()) {
        let left: Vec<_> = tags.iter().filter(|t| !sleeping(t).is_empty()).collect();
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "still running 1 s after kill -9: sleep {left:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
