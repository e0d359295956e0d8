//! The real binary in a real terminal: tmux runs it, `send-keys` types, and `capture-pane`
//! reads the screen as a user would. Missing tmux fails the test when `CI` is set.
//! Each test binary uses part of it.

#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A socket per instance: a test that starts one after another would otherwise reach the
/// previous server while it is still exiting ("server exited unexpectedly").
static NEXT_SOCKET: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server of this test's own, or `None` (skipped) when tmux is missing outside CI.
    pub fn new(name: &str) -> Option<Self> {
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
        let n = NEXT_SOCKET.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Self {
            socket: format!("runbook-test-{name}-{}-{n}", std::process::id()),
        })
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux: {e}"))
    }

    /// Starts `command` in an 80x24 session named `e2e`.
    pub fn start(&self, command: &str) -> Output {
        self.run(&[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "e2e",
            command,
        ])
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// Polls the screen until `pred` holds; the screen on failure.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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
pub fn processes(needle: &str) -> Vec<String> {
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
