//! `runbook run` end to end: the real binary on fixture runbooks under `tests/fixtures/exec/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exec")
        .join(name)
}

fn runbook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("runbook: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn session() -> String {
    fixture("session.md").display().to_string()
}

#[test]
fn every_step_passes_with_yes() {
    let o = runbook(&["run", &session(), "--var", "greeting=hi there", "--yes"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    // Placeholders filled, exported env and cwd carried, the secret masked.
    assert!(t.contains("$ printf '%s\\n' 'hi there'"), "{t}");
    assert!(t.contains("url=https://palette.example/api"), "{t}");
    assert!(t.contains("token=••••••"), "{t}");
    assert!(!t.contains("token=tok-5ecret-value"), "{t}");
    assert!(t.contains("\n/\n"), "cd / carried: {t}");
    // Capture carried to step 4.
    assert!(t.contains("pod is mgmt-f7f97f4fd-lds69"), "{t}");
    assert!(t.contains("output matches the runbook's"), "{t}");
    assert!(t.contains("step 5 manual"), "{t}");
    assert!(
        t.contains("6 steps: 1 manual, 5 passed — all steps passed"),
        "{t}"
    );
}

#[test]
fn without_yes_destructive_is_blocked_and_manual_pending() {
    let o = runbook(&["run", &session(), "--var", "greeting=x"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("step 5 pending"), "{t}");
    assert!(
        t.contains("step 6 blocked: not confirmed (rm deletes data); pass --yes"),
        "{t}"
    );
    assert!(!t.contains("\ndeleted\n"), "{t}");
}

#[test]
fn read_only_refuses_destructive() {
    let o = runbook(&["run", &session(), "--var", "greeting=x", "--read-only"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("step 6 blocked: refused in read-only mode: rm deletes data"),
        "{t}"
    );
    assert!(!t.contains("\ndeleted\n"), "{t}");
}

#[test]
fn dry_run_shows_filled_commands_and_runs_nothing() {
    let marker = std::env::temp_dir().join(format!("runbook-dry-{}", std::process::id()));
    let o = runbook(&[
        "run",
        &fixture("tabs.md").display().to_string(),
        "--var",
        "api-token=hunter22",
        "--dry-run",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("$ echo \"secret is ••••••\""), "{t}");
    assert!(!t.contains("hunter22"), "{t}");
    assert!(!t.contains("claim-42\n"), "nothing ran: {t}");
    assert!(!marker.exists());
}

#[test]
fn missing_placeholder_names_the_var() {
    let o = runbook(&["run", &session()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("step 1: <greeting> (pass --var greeting=VALUE)"),
        "{t}"
    );
}

#[test]
fn tabs_capture_timeout_and_stop() {
    let o = runbook(&[
        "run",
        &fixture("tabs.md").display().to_string(),
        "--var",
        "api-token=hunter22",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("captured claim-42"), "the captured tab ran: {t}");
    assert!(t.contains("alternative \"Type the name\" not run"), "{t}");
    assert!(
        t.contains("secret is ••••••") && !t.contains("hunter22"),
        "{t}"
    );
    assert!(t.contains("step 3 failed: timed out after 200ms"), "{t}");
    assert!(t.contains("step 4 skipped"), "{t}");
    assert!(!t.contains("unreachable\n"), "{t}");
}

#[test]
fn json_events_one_per_line() {
    let o = runbook(&[
        "run",
        &session(),
        "--var",
        "greeting=hi",
        "--yes",
        "--json",
        "--from-step",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"step_started"));
    assert_eq!(kinds.last(), Some(&"summary"));
    assert!(
        kinds.contains(&"output")
            && kinds.contains(&"command_finished")
            && kinds.contains(&"step_finished")
    );
    let output = events
        .iter()
        .find(|e| e["event"] == "output")
        .map(|e| e["line"].clone());
    assert_eq!(output, Some(serde_json::json!("mgmt-f7f97f4fd-lds69")));
    assert_eq!(
        events.last().map(|e| e["success"].clone()),
        Some(serde_json::json!(true))
    );
}

#[test]
fn bundled_scenario_by_id_on_node_steps_are_pending() {
    // No --var needed: nothing that needs <key-name> or <hostname> runs here.
    let o = runbook(&["run", "too-many-open-files/raise-file-max"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("step 1 pending: interactive: needs a terminal"),
        "{t}"
    );
    assert!(t.contains("run this on the node yourself"), "{t}");
    assert!(!t.contains("step 3 passed"), "{t}");
}

/// Live processes whose command line is exactly `sleep N`.
fn live_sleep(n: &str) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                return false;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline == format!("sleep\0{n}\0").as_bytes()
                && runbook::exec::process::stat_of(pid).is_some_and(|(s, _)| s != 'Z')
        })
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal_kills_everything(sig: Signal, code: i32, tag: u32) {
    let n = std::process::id() % 1000;
    let (a, b) = (format!("{tag}1{n:03}"), format!("{tag}2{n:03}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &fixture("hang.md").display().to_string()])
        .args(["--var", &format!("a={a}"), "--var", &format!("b={b}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for("the sleeps", || live_sleep(&a) && live_sleep(&b));
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    kill(pid, sig).unwrap_or_else(|e| panic!("{e}"));
    let mut status = None;
    wait_for("runbook to exit", || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(code));
    assert!(!live_sleep(&a), "background job survived {sig}");
    assert!(!live_sleep(&b), "grandchild survived {sig}");
}

#[test]
fn sighup_to_runbook_kills_the_whole_group() {
    signal_kills_everything(Signal::SIGHUP, 129, 81);
}

#[test]
fn sigterm_to_runbook_kills_the_whole_group() {
    signal_kills_everything(Signal::SIGTERM, 143, 82);
}

#[test]
fn save_output_writes_masked_logs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = runbook(&[
        "run",
        &session(),
        "--var",
        "greeting=hi",
        "--yes",
        "--save-output",
        &dir.path().display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut all = String::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
    {
        files += 1;
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    assert_eq!(files, 5, "one log per command run");
    assert!(
        all.contains("url=https://palette.example/api\ntoken=••••••\n/\n"),
        "{all}"
    );
    assert!(!all.contains("tok-5ecret-value"), "{all}");
}
