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

/// A `/proc/PID/status` field of a live process, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The peaks of one run, in KiB: the whole resident set (`VmHWM`, the kernel's own peak) and
/// the anonymous memory (`RssAnon`, sampled): what buffering output could grow. The rest of the
/// resident set is the binary's own mapped code, about 21 MiB of the 80 MB dev-profile binary.
struct Peaks {
    resident: u64,
    anonymous: u64,
}

fn run_big(size: &str) -> Peaks {
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
    let mut peak = Peaks {
        resident: 0,
        anonymous: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(kib) = status_kib(child.id(), "VmHWM:") {
            peak.resident = peak.resident.max(kib);
        }
        if let Some(kib) = status_kib(child.id(), "RssAnon:") {
            peak.anonymous = peak.anonymous.max(kib);
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
    eprintln!(
        "peak RSS: 16 MiB output -> {} KiB ({} anonymous), 10 GiB output -> {} KiB ({} anonymous)",
        small.resident, small.anonymous, big.resident, big.anonymous
    );
    assert!(
        big.anonymous <= 32 * 1024,
        "peak anonymous memory {} KiB is over 32 MiB",
        big.anonymous
    );
    // Independent of size: at most a few MiB more than for 16 MiB of output, for the whole
    // resident set and for what output could hold.
    assert!(
        big.resident <= small.resident + 4 * 1024,
        "peak RSS grew with output: {} -> {} KiB",
        small.resident,
        big.resident
    );
    assert!(
        big.anonymous <= small.anonymous + 4 * 1024,
        "anonymous memory grew with output: {} -> {} KiB",
        small.anonymous,
        big.anonymous
    );
}
