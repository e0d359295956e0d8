//! 10 GiB of output through `runbook run` keeps the runbook process's peak RSS bounded. The
//! peak (`VmHWM`) of the child is read from `/proc/PID/status` while it runs.
//!
//! Slow (about four minutes: 2-byte lines through the dev-profile binary), so a plain `cargo
//! test` skips it; `.ci/check` runs it on its own with `--ignored`, where nothing else competes
//! for the machine. It stays in the dev profile: a release build of the test binary and its
//! dependencies would cost CI more compile time than the run saves.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident set of a live process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn run_big(size: &str) -> u64 {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec/big.md");
    let mut child = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args([
            "run",
            &fixture.display().to_string(),
            "--var",
            &format!("size={size}"),
            "--var",
            "line=y",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(kib) = peak_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(Instant::now() < deadline, "runbook run took too long");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(0),
        "the step must pass: `yes` killed by SIGPIPE once `head` has enough is not a failure"
    );
    peak
}

#[test]
#[ignore = "slow (about four minutes): .ci/check runs it with --ignored"]
fn ten_gib_of_output_in_bounded_memory() {
    let small = run_big("16M");
    let big = run_big("10G");
    eprintln!("peak RSS: 16 MiB output -> {small} KiB, 10 GiB output -> {big} KiB");
    assert!(big <= 32 * 1024, "peak RSS {big} KiB is over 32 MiB");
    // Independent of size: at most a few MiB more than for 16 MiB of output.
    assert!(
        big <= small + 4 * 1024,
        "peak RSS grew with output: {small} -> {big} KiB"
    );
}
