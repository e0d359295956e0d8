//! Nothing runbook started survives runbook, however it ends: `kill -9`, an OOM kill, a
//! dropped SSH session.
//!
//! [`start`] runs a small watchdog: the runbook binary again (`runbook __watchdog PID`), in a
//! session of its own (terminal signals do not reach it), reading a pipe whose only writer is
//! runbook. The kernel closes that pipe when runbook dies, whatever killed it; the watchdog
//! reads end-of-file and then, until none is left, SIGKILLs
//! - every process group runbook registered and did not unregister ([`Registered`]: each
//!   command's group while it runs; grandchildren and background jobs are in it), and
//! - every process whose environment carries runbook's marker (`RUNBOOK_RUN_ID=PID-…`, see
//!   [`super::MARKER_VAR`]): children that left the group with `setsid`, and
//!   interactive commands, which share runbook's group;
//!
//! then removes runbook's temporary folders. After a normal exit it finds nothing and ends.
//! No `unsafe`: no fork without exec, no `prctl`. A process that left the group *and* cleared
//! its environment is out of reach, as it is for the cancel sweep.
//!
//! Without [`start`] (library use, tests of the engine) registering does nothing. To watch one
//! more kind of process, register it, or give it the marker.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// The first argument that makes the runbook binary a watchdog.
pub const ARG: &str = "__watchdog";

/// How often the watchdog looks again while processes are still dying.
const AGAIN: Duration = Duration::from_millis(10);
/// How many times it looks before giving up on a process that will not die.
const ROUNDS: usize = 300;

static PIPE: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();

/// Starts the watchdog of this process (once; later calls do nothing). A failure is not
/// fatal: runbook runs, unwatched, and says why.
pub fn start() {
    if PIPE.get().is_some() {
        return;
    }
    let me = std::process::id();
    let spawned = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg(ARG)
            .arg(me.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .spawn()
    });
    match spawned {
        Ok(mut child) => {
            let _ = PIPE.set(Mutex::new(child.stdin.take()));
            // The child is reaped when runbook exits; it outlives runbook by design.
            drop(child);
        }
        Err(e) => eprintln!(
            "runbook: cannot start the watchdog ({e}): if runbook is killed, commands it started may keep running"
        ),
    }
}

fn tell(line: &str) {
    if let Some(pipe) = PIPE.get() {
        let mut pipe = pipe.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = pipe.as_mut()
            && p.write_all(line.as_bytes()).is_err()
        {
            // The watchdog is gone: nothing more to tell it.
            *pipe = None;
        }
    }
}

/// A process group the watchdog kills if runbook dies while the guard lives.
pub struct Registered(i32);

impl Registered {
    pub fn new(pgid: i32) -> Self {
        if pgid > 0 {
            tell(&format!("+{pgid}\n"));
        }
        Self(pgid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if self.0 > 0 {
            tell(&format!("-{}\n", self.0));
        }
    }
}

/// The watchdog process: `runbook __watchdog PID`, reading its standard input.
pub fn main(args: &[String]) -> ExitCode {
    let Some(watched) = args.first().and_then(|a| a.parse::<u32>().ok()) else {
        return ExitCode::from(2);
    };
    // A session of its own: Ctrl-C and a terminal hangup are for runbook, not for this.
    let _ = nix::unistd::setsid();
    let mut groups = BTreeSet::new();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let (sign, number) = line.split_at(line.len().min(1));
        if let Ok(pgid) = number.parse::<i32>() {
            if sign == "+" {
                groups.insert(pgid);
            } else {
                groups.remove(&pgid);
            }
        }
    }
    // Runbook is gone (its end of the pipe closed).
    sweep(watched, &groups);
    remove_temp_dirs(watched);
    ExitCode::SUCCESS
}

/// Kills the registered groups and the marked processes until none is left alive.
pub fn sweep(watched: u32, groups: &BTreeSet<i32>) -> usize {
    let needle = format!("{}={watched}-", super::MARKER_VAR);
    let me = std::process::id();
    let mut killed = 0;
    for _ in 0..ROUNDS {
        let mut found = 0;
        for &g in groups {
            if !super::group_members(g).is_empty()
                && killpg(Pid::from_raw(g), Signal::SIGKILL).is_ok()
            {
                found += 1;
            }
        }
        for pid in marked(&needle) {
            if pid != me
                && pid != watched
                && let Ok(raw) = i32::try_from(pid)
                && kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok()
            {
                found += 1;
            }
        }
        if found == 0 {
            break;
        }
        killed += found;
        std::thread::sleep(AGAIN);
    }
    killed
}

/// Live processes whose environment has a variable starting with `needle`.
fn marked(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for pid in super::pids().filter_map(|p| u32::try_from(p).ok()) {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let live = i32::try_from(pid)
            .ok()
            .and_then(super::stat_of)
            .is_some_and(|(state, _)| state != 'Z' && state != 'X');
        if live
            && environ
                .split(|&b| b == 0)
                .any(|kv| kv.starts_with(needle.as_bytes()))
        {
            out.push(pid);
        }
    }
    out
}

/// The env-snapshot folders a killed runbook could not remove.
fn remove_temp_dirs(watched: u32) {
    let prefix = format!("runbook-{watched}-");
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in dir.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
