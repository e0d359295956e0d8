//! Nothing runbook started outlives it: `kill -9` of `runbook run` while a step runs leaves no
//! process within a second (background job, `setsid` escapee, orphaned grandchild, a nested
//! shell's child, the foreground command), and a quiet `setsid` daemon does not outlive a run
//! that ended normally. Synchronisation polls the process table with a deadline.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Live (not zombie) processes whose command line is exactly `sleep <secs>`.
pub fn sleeping(secs: &str) -> Vec<i32> {
    let want = format!("sleep\0{secs}\0");
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
        if cmdline == want.as_bytes()
            && runbook::exec::process::stat_of(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
        {
            out.push(pid);
        }
    }
    out
}

/// Sleep lengths nobody else uses: `8<tag><n>` seconds.
pub fn tags(tag: u32) -> Vec<String> {
    let n = std::process::id() % 1000;
    (1..=5).map(|i| format!("8{tag}{n:03}{i}")).collect()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exec")
        .join(name)
        .display()
        .to_string()
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

#[test]
fn kill_9_of_runbook_run_leaves_nothing_behind() {
    let t = tags(1);
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let names = ["job", "escapee", "orphan", "nested", "foreground"];
    let mut args = vec!["run".to_owned(), fixture("leftovers.md")];
    for (name, secs) in names.iter().zip(&t) {
        args.push("--var".to_owned());
        args.push(format!("{name}={secs}"));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(&args)
        .env("RUNBOOK_DATA_DIR", data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until("every sleep started", Duration::from_secs(30), || {
        t.iter().all(|s| !sleeping(s).is_empty())
    });
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    let took = wait_until("nothing left after kill -9", Duration::from_secs(1), || {
        t.iter().all(|s| sleeping(s).is_empty())
    });
    eprintln!("all gone {took:?} after kill -9");
}

#[test]
fn a_quiet_setsid_daemon_does_not_outlive_the_run() {
    let t = tags(2);
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args([
            "run",
            &fixture("quiet-daemon.md"),
            "--var",
            &format!("daemon={}", t[0]),
        ])
        .env("RUNBOOK_DATA_DIR", data.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    wait_until(
        "the daemon gone after runbook ended",
        Duration::from_secs(1),
        || sleeping(&t[0]).is_empty(),
    );
}
