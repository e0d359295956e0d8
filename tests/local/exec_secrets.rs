//! A secret placeholder value never sits in a process's arguments (`/proc/PID/cmdline` is
//! readable by every local user): while the step runs, no process runbook started shows it,
//! yet the command used it (in an argument it builds and in a literal heredoc), and what runbook
//! prints keeps it masked.
//!
//! runbook's own credentials (the Palette API key variables) are not handed to the commands,
//! unless the runbook asks for the key as a secret placeholder; then it is masked too.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose environment carries the marker of runbook `pid`'s commands.
fn started_by(pid: u32) -> Vec<u32> {
    let needle = format!("RUNBOOK_RUN_ID={pid}-");
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{p}/environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|kv| kv.starts_with(needle.as_bytes()))
        {
            out.push(p);
        }
    }
    out
}

#[test]
fn secret_values_are_not_in_process_arguments() {
    let token = "tok-argv-4f9c2e71";
    let wait = format!("9{:03}7", std::process::id() % 1000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out_file = dir.path().join("out");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec/secret.md");
    let child = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args([
            "run",
            &fixture.display().to_string(),
            "--var",
            &format!("api-token={token}"),
            "--var",
            &format!("wait={wait}"),
            "--timeout",
            "60s",
        ])
        .env("RUNBOOK_DATA_DIR", dir.path().join("data"))
        .env("RUNBOOK_TEST_OUT", &out_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    // The step is running once its last command, the sleep, is.
    let running = loop {
        let procs = started_by(child.id());
        let sleeping = procs.iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c == format!("sleep\0{wait}\0").as_bytes())
        });
        if sleeping {
            break procs;
        }
        assert!(Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut bash_seen = false;
    for p in &running {
        let cmdline = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        bash_seen |= text.starts_with('/') && text.contains("bash -c");
        assert!(!text.contains(token), "pid {p} shows the secret: {text}");
    }
    assert!(bash_seen, "the step's bash was not among {running:?}");
    let written = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert_eq!(
        written,
        format!("argument: {token}\nheredoc: {token}\n"),
        "the command used the value"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0)),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!shown.contains(token), "{shown}");
    assert!(
        shown.contains("printf 'argument: %s\\n' '••••••'"),
        "{shown}"
    );
}

/// Runs `fixture` with both Palette key variables set; what the step wrote, and what runbook
/// printed.
fn run_with_palette_key(fixture: &str, vars: &[&str]) -> (String, String, i32) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out_file = dir.path().join("out");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exec")
        .join(fixture);
    let mut args = vec!["run".to_owned(), fixture.display().to_string()];
    for v in vars {
        args.extend(["--var".to_owned(), (*v).to_owned()]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(&args)
        .env("RUNBOOK_DATA_DIR", dir.path().join("data"))
        .env("RUNBOOK_TEST_OUT", &out_file)
        .env("PALETTE_API_KEY", "pk-env-8d1f33a0")
        .env("SPECTROCLOUD_APIKEY", "sc-env-52be907c")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let written = std::fs::read_to_string(&out_file).unwrap_or_default();
    (written, shown, o.status.code().unwrap_or(-1))
}

#[test]
fn steps_do_not_inherit_the_palette_api_key() {
    let (written, shown, code) = run_with_palette_key("credentials.md", &[]);
    assert_eq!(code, 0, "{shown}");
    // Neither variable is set, nor in the environment `env` sees.
    assert_eq!(written, "unset|unset|0\n", "{shown}");
}

#[test]
fn a_runbook_that_asks_for_the_key_as_a_secret_placeholder_gets_it_masked() {
    let (written, shown, code) =
        run_with_palette_key("credentials-asked.md", &["palette-api-key=pk-env-8d1f33a0"]);
    assert_eq!(code, 0, "{shown}");
    // The key it asked for is there; the other one is still withheld.
    assert_eq!(written, "pk-env-8d1f33a0|unset\n", "{shown}");
    assert!(shown.contains("same"), "{shown}");
    assert!(!shown.contains("pk-env-8d1f33a0"), "{shown}");
    assert!(shown.contains("key: ••••••"), "{shown}");
}
