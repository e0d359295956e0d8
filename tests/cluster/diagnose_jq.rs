//! `runbook diagnose` with checks whose jq programs exceed its bounds, the real binary against
//! the practice cluster: the endless one is stopped at `--timeout`, the hungry one is refused
//! by the worker's memory cap, the check after them matches, and no `runbook __jq` worker is
//! left when diagnose ends, whether it ends normally or by `kill -9` (the watchdog). Each run
//! carries an environment tag that its processes inherit; the process table is read for it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runbook::diagnose::jq::worker::{ARG, MEMORY_LIMIT_MIB};
use runbook::lab::{Lab, LabHandle, LabOptions};
use serde_json::Value;

const TAG_VAR: &str = "RUNBOOK_TEST_JQ_TAG";

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diagnose/runaway-checks.md")
        .display()
        .to_string()
}

fn lab() -> LabHandle {
    Lab::start_blocking(LabOptions {
        scenario: Some("empty".into()),
        extra_objects: vec![serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}
        })],
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn tag(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Live `runbook __jq` workers whose environment carries `TAG_VAR=tag`, with their CPU ticks.
fn workers(tag: &str) -> Vec<(i32, u64)> {
    let needle = format!("{TAG_VAR}={tag}");
    let mut out = Vec::new();
    for pid in runbook::exec::process::pids() {
        let (Ok(cmdline), Ok(environ)) = (
            std::fs::read(format!("/proc/{pid}/cmdline")),
            std::fs::read(format!("/proc/{pid}/environ")),
        ) else {
            continue;
        };
        let is_worker = cmdline.split(|&b| b == 0).nth(1) == Some(ARG.as_bytes());
        let tagged = environ.split(|&b| b == 0).any(|kv| kv == needle.as_bytes());
        let live = runbook::exec::process::stat_of(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X');
        if is_worker && tagged && live {
            out.push((pid, cpu_ticks(pid)));
        }
    }
    out
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which ends with the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    field(11) + field(12)
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

#[test]
fn runaway_checks_are_stopped_the_next_one_matches_and_no_worker_is_left() {
    let lab = lab();
    let kubeconfig = lab.kubeconfig_path().to_string_lossy().into_owned();
    let tag = tag("normal");
    let limit = Duration::from_secs(2);
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["diagnose", "--json", "--timeout", "2s", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--path")
        .arg(fixture())
        .env(TAG_VAR, &tag)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    assert!(
        workers(&tag).is_empty(),
        "workers left: {:?}",
        workers(&tag)
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let find = |id: &str| {
        v["results"]
            .as_array()
            .and_then(|r| r.iter().find(|f| f["runbook"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {v}"))
    };
    let endless = find("runaway-checks/endless");
    assert_eq!(
        endless["error"], "cannot run: the jq program was stopped at its time limit (2s)",
        "{endless}"
    );
    let hungry = find("runaway-checks/hungry");
    assert_eq!(
        hungry["error"],
        format!("cannot run: the jq program ran out of memory (limit {MEMORY_LIMIT_MIB} MiB)"),
        "{hungry}"
    );
    // The cap holds from the worker's first allocation: 600 MB is refused, however much
    // address space the allocator would reserve up front.
    let over = find("runaway-checks/over-cap");
    assert_eq!(over["error"], hungry["error"], "{over}");
    let present = find("runaway-checks/present");
    assert_eq!(present["matched"], true, "{present}");
    assert_eq!(present["evidence"][0], "namespace shop exists", "{present}");
    // One time limit, not one per check, and not the endless program's lifetime.
    assert!(took < limit + Duration::from_secs(20), "{took:?}");
    lab.shutdown();
}

#[test]
fn kill_9_of_diagnose_leaves_no_worker_behind() {
    let lab = lab();
    let kubeconfig = lab.kubeconfig_path().to_string_lossy().into_owned();
    let tag = tag("kill9");
    let mut child = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["diagnose", "--timeout", "60s", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--path")
        .arg(fixture())
        .env(TAG_VAR, &tag)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The endless check is the first to use CPU for long: half a second of it.
    wait_until("the endless check runs", Duration::from_secs(30), || {
        workers(&tag).iter().any(|&(_, ticks)| ticks >= 50)
    });
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    let took = wait_until("no worker after kill -9", Duration::from_secs(2), || {
        workers(&tag).is_empty()
    });
    eprintln!("the worker was gone {took:?} after kill -9");
    lab.shutdown();
}
