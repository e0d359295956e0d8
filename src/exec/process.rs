//! Running one command block: a `bash` child in its own process group, streamed, bounded in
//! time, and never left behind.
//!
//! - The block's text runs through `bash -c` after a one-line prelude (`set +e`, and an `EXIT`
//!   trap that writes `export -p` and the last pipeline's `PIPESTATUS` to a private file), so
//!   heredocs, continuations and `exit` behave as typed, and the exported environment and
//!   working directory after the command can be carried to the next one ([`EnvSnapshot`]).
//!   Each pipeline gets its status as a person reading it would give it
//!   ([`super::pipeline`]): an upstream member killed by SIGPIPE does not fail it.
//! - A script that holds secret values ([`CommandSpec::secret`]) reaches bash through its
//!   environment (readable by the user only) and `eval`, never through its arguments
//!   (`/proc/PID/cmdline`, readable by every local user); it is spelled exactly as it would be
//!   in the arguments, so it runs the same.
//! - Every process group is registered with the [`watchdog`] while it runs, so that a
//!   `kill -9` of runbook leaves nothing behind.
//! - stdout and stderr are read in chunks and handed to an [`OutputSink`] as runs of complete
//!   lines; nothing is buffered without bound here.
//! - Cancel or timeout: SIGINT to the group, then SIGTERM, then SIGKILL, each after
//!   [`CommandSpec::grace`], until no live process is left in the group. After a normal exit,
//!   whatever is still in the group (`sleep 600 &`) gets SIGTERM then SIGKILL.
//! - A process that left the group with `setsid` is found by the marker variable
//!   `RUNBOOK_RUN_ID` in its environment (`/proc/PID/environ`) and killed: always on cancel
//!   and timeout, and after a normal exit when the output pipes stay open. A setsid'd daemon
//!   that also closed its output and cleared its environment is out of reach; that is
//!   documented rather than hidden.
//! - A script that sets its own `EXIT` trap, or `exec`s another program, replaces ours: its
//!   environment is then not carried to the next step (the command itself runs normally).
//! - Interactive commands inherit the terminal and stay in runbook's foreground process
//!   group (a background group could not read the terminal); they have no timeout, and
//!   cancelling them kills the child only.
//!
//! - runbook's own credentials (the Palette API key, [`WITHHELD`]) are not handed to the
//!   commands ([`command_env`]) unless the runbook asks for one as a secret placeholder
//!   ([`asked_credentials`]).
//!
//! To change the kill policy, edit [`terminate`]; to pass more to the child, extend
//! [`CommandSpec`]; to withhold one more credential, add its variable to [`WITHHELD`].

pub mod watchdog;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::watch;

use super::output::{LineSplitter, Stream};

/// The environment variable that marks every process a command starts.
pub const MARKER_VAR: &str = "RUNBOOK_RUN_ID";
/// Where the EXIT trap writes `export -p` and the last pipeline's statuses.
const ENV_FILE_VAR: &str = "RUNBOOK_ENV_FILE";
/// Carries a secret-holding script to bash (unset before the script runs).
const SCRIPT_VAR: &str = "RUNBOOK_SCRIPT";
/// The first line of the exit file when the script ended with a pipeline.
const PIPESTATUS_LINE: &str = "#pipestatus ";
/// Scripts longer than this cannot be passed as one argument.
const MAX_SCRIPT: usize = 120 * 1024;
/// How long to wait for pipes to close after the command and its group are gone.
const DRAIN: Duration = Duration::from_millis(500);
const POLL: Duration = Duration::from_millis(5);
/// Requested size of the stdout pipe, and of each read from it.
const PIPE_SIZE: i32 = 1024 * 1024;
const READ_SIZE: usize = 256 * 1024;

/// Variables holding runbook's own credentials, which a step's commands do not inherit.
pub const WITHHELD: &[&str] = &crate::palette::config::KEY_VARS;

/// The credentials of [`WITHHELD`] a runbook asks for: a secret placeholder of the same name
/// (`<PALETTE_API_KEY>`, front matter `secret: true`) in one of its blocks (`codes`) or its
/// front matter (`declared`: names and whether each is secret). A runbook that asks for the
/// key gets it in the environment, masked like every secret.
pub fn asked_credentials<'a>(
    codes: impl IntoIterator<Item = &'a str>,
    declared: &[(&str, bool)],
) -> Vec<&'static str> {
    use crate::runbook::placeholder::{looks_secret, normalise};
    let mut asked: Vec<&'static str> = Vec::new();
    let mut ask = |name: &str, secret: bool| {
        if let Some(var) = WITHHELD.iter().find(|v| normalise(v) == name)
            && (secret || looks_secret(name))
            && !asked.contains(var)
        {
            asked.push(var);
        }
    };
    for (name, secret) in declared {
        ask(&normalise(name), *secret);
    }
    for code in codes {
        for p in super::vars::Vars::placeholders(code) {
            ask(&p.name, p.secret);
        }
    }
    asked
}

/// The environment a command gets from the session's `env`: without the credentials of
/// [`WITHHELD`] other than those in `asked`.
pub fn command_env(
    env: &BTreeMap<OsString, OsString>,
    asked: &[&str],
) -> BTreeMap<OsString, OsString> {
    let mut out = env.clone();
    for var in WITHHELD {
        if !asked.contains(var) {
            out.remove(OsStr::new(var));
        }
    }
    out
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The block's text, run verbatim.
    pub script: String,
    /// The child's whole environment.
    pub env: BTreeMap<OsString, OsString>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    /// Between SIGINT, SIGTERM and SIGKILL.
    pub grace: Duration,
    pub interactive: bool,
    /// Write `export -p` at exit to carry the environment to the next command.
    pub capture_env: bool,
    /// The script holds secret values: hand it to bash through the environment, never in
    /// its arguments.
    pub secret: bool,
}

/// The exported environment and working directory a command left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSnapshot {
    pub vars: BTreeMap<OsString, OsString>,
    pub cwd: Option<PathBuf>,
}

/// What happened to one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommandOutcome {
    pub exit_code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub timed_out: bool,
    pub cancelled: bool,
    /// Processes that were still running after the command ended and had to be killed.
    pub leftovers_killed: usize,
    /// Each member's status when the command ended with a pipeline (`PIPESTATUS`): why a
    /// pipeline passed or failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pipestatus: Vec<i32>,
    #[serde(skip)]
    pub env_after: Option<EnvSnapshot>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl CommandOutcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Receives output as it arrives.
pub trait OutputSink {
    /// A run of complete lines, each ending in `\n`.
    fn lines(&mut self, stream: Stream, ts: Duration, bytes: &[u8]);
    /// The latest `\r` progress update of an unfinished line.
    fn progress(&mut self, _stream: Stream, _text: &[u8]) {}
}

/// Hands the terminal to an interactive command and takes it back: the TUI leaves its
/// alternate screen and raw mode in `suspend` and restores them in `resume`; headless does
/// nothing; tests use a stub that records calls.
pub trait Terminal {
    fn suspend(&mut self) -> std::io::Result<()>;
    fn resume(&mut self) -> std::io::Result<()>;
}

/// A terminal that needs no handing over (headless: the child inherits stdio).
#[derive(Debug, Default)]
pub struct Inherit;

impl Terminal for Inherit {
    fn suspend(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn resume(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A cancel signal shared between whoever cancels (user, SIGTERM handler) and the runner.
#[derive(Debug, Clone)]
pub struct Cancel {
    rx: watch::Receiver<bool>,
}

/// The side that cancels.
#[derive(Debug, Clone)]
pub struct CancelHandle {
    tx: std::sync::Arc<watch::Sender<bool>>,
}

impl CancelHandle {
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

impl Cancel {
    pub fn new() -> (CancelHandle, Self) {
        let (tx, rx) = watch::channel(false);
        (
            CancelHandle {
                tx: std::sync::Arc::new(tx),
            },
            Self { rx },
        )
    }

    pub fn is_cancelled(&self) -> bool {
        *self.rx.borrow()
    }

    async fn cancelled(&mut self) {
        if self.rx.wait_for(|c| *c).await.is_err() {
            // The handle is gone: nobody can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start bash: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("the command is {0} bytes long; at most {MAX_SCRIPT} can be run")]
    TooLong(usize),
    #[error("reading the command's output: {0}")]
    Io(#[from] std::io::Error),
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An interactive command owns the terminal right now. It shares runbook's foreground
/// process group, so a Ctrl-C typed into it reaches runbook too: signal handlers check this
/// and leave SIGINT to the child.
pub static INTERACTIVE_RUNNING: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Clears [`INTERACTIVE_RUNNING`] when dropped.
struct InteractiveGuard;

impl Drop for InteractiveGuard {
    fn drop(&mut self) {
        INTERACTIVE_RUNNING.store(false, Ordering::SeqCst);
    }
}

/// A private (0700) directory for one command's env snapshot: `runbook-PID-N-NANOS` in the
/// temp folder, removed when the command ends.
fn private_dir(n: u64) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = std::env::temp_dir().join(format!("{}{n}-{nanos:x}", dir_prefix()));
    std::fs::DirBuilder::new().mode(0o700).create(&path)?;
    Ok(path)
}

fn dir_prefix() -> String {
    format!("runbook-{}-", std::process::id())
}

/// `bash`, looked up in runbook's own `PATH` once (saves a failed `execve` per `PATH` entry
/// before it on every command).
fn bash_path() -> &'static Path {
    static BASH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BASH.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join("bash"))
            .find(|p| {
                use std::os::unix::fs::PermissionsExt;
                p.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .unwrap_or_else(|| PathBuf::from("bash"))
    })
}

/// Removes this process's env snapshot directories that are still there (call at exit).
pub fn cleanup() {
    // Each command removes its own directory; this catches those a panic or an early return
    // left behind.
    let prefix = dir_prefix();
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in dir.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs one command to completion, timeout or cancel.
pub async fn run(
    spec: &CommandSpec,
    sink: &mut dyn OutputSink,
    cancel: &mut Cancel,
) -> Result<CommandOutcome, ProcessError> {
    if spec.script.len() > MAX_SCRIPT {
        return Err(ProcessError::TooLong(spec.script.len()));
    }
    let started = Instant::now();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let marker = format!("{}-{n}", std::process::id());
    // Judging pipelines adds a few bytes per pipeline; past the limit it runs as written.
    let judged = super::pipeline::rewrite(&spec.script).filter(|r| r.len() <= MAX_SCRIPT);
    // The exit trap reports the environment and the statuses of a pipeline that ended it.
    let trap = spec.capture_env || spec.script.contains('|');
    let env_dir = if trap { Some(private_dir(n)?) } else { None };
    let env_file = env_dir.as_ref().map(|d| d.join("env"));
    let body = judged.as_deref().unwrap_or(&spec.script);
    let wrapped = wrap(spec, body, judged.is_some(), trap);
    let mut cmd = command(spec, &wrapped, body, &marker, env_file.as_deref());
    let mut child = cmd.spawn().map_err(ProcessError::Spawn)?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    // Killed by the watchdog if runbook dies while it runs (an interactive command shares
    // runbook's group: its marker finds it).
    let _registered = (!spec.interactive).then(|| watchdog::Registered::new(pid));

    let mut outcome = CommandOutcome::default();
    let status = if spec.interactive {
        wait_interactive(&mut child, cancel, &mut outcome).await?
    } else {
        let mut running = Running {
            child,
            group: Pid::from_raw(pid),
            marker: &marker,
            started,
        };
        running.stream(spec, sink, cancel, &mut outcome).await?
    };
    outcome.exit_code = status.code();
    outcome.signal = status.signal();
    outcome.duration = started.elapsed();
    if let Some(f) = env_file {
        if !outcome.cancelled
            && !outcome.timed_out
            && let Ok(bytes) = std::fs::read(&f)
        {
            outcome.pipestatus = parse_pipestatus(&bytes);
            if spec.capture_env {
                outcome.env_after = Some(parse_export_p(&bytes));
            }
        }
        let _ = std::fs::remove_file(&f);
    }
    if judged.is_none() {
        judge_last_pipeline(&mut outcome);
    }
    if let Some(d) = env_dir {
        let _ = std::fs::remove_dir(d);
    }
    Ok(outcome)
}

/// The text `bash -c` gets: the prelude (pipeline functions, the exit trap, `set`) and the
/// script (or, for a secret one, the `eval` that reads it from the environment). One line of
/// prelude, so that bash's line numbers are the script's.
fn wrap(spec: &CommandSpec, body: &str, judged: bool, trap: bool) -> String {
    let mut wrapped = String::with_capacity(body.len() + 512);
    if judged {
        wrapped.push_str(super::pipeline::FUNCTIONS);
    }
    if trap {
        wrapped.push_str(&exit_trap(spec.capture_env));
    }
    // A script left as written keeps `pipefail`; its last pipeline is judged afterwards.
    wrapped.push_str(if judged {
        "set +e; "
    } else {
        "set +e -o pipefail; "
    });
    if spec.secret {
        // `eval` of the same text: unset first, so that nothing the script starts inherits it.
        wrapped.push_str("__runbook_script=$RUNBOOK_SCRIPT; unset RUNBOOK_SCRIPT; eval \"unset __runbook_script; $__runbook_script\"");
    } else {
        wrapped.push_str(body);
    }
    wrapped
}

/// The `bash` child: its environment (the marker, the exit file, a secret script), and
/// either the terminal or pipes in a process group of its own.
fn command(
    spec: &CommandSpec,
    wrapped: &str,
    body: &str,
    marker: &str,
    env_file: Option<&Path>,
) -> Command {
    let mut cmd = Command::new(bash_path());
    cmd.arg("-c")
        .arg(wrapped)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&spec.env);
    cmd.env(MARKER_VAR, marker);
    if let Some(f) = env_file {
        cmd.env(ENV_FILE_VAR, f);
    }
    if spec.secret {
        cmd.env(SCRIPT_VAR, body);
    }
    cmd.kill_on_drop(true);
    if spec.interactive {
        cmd.stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
    }
    cmd
}

/// An interactive command owns the terminal until it exits; cancel kills the child only.
async fn wait_interactive(
    child: &mut tokio::process::Child,
    cancel: &mut Cancel,
    outcome: &mut CommandOutcome,
) -> Result<ExitStatus, ProcessError> {
    INTERACTIVE_RUNNING.store(true, Ordering::SeqCst);
    let _guard = InteractiveGuard;
    Ok(tokio::select! {
        s = child.wait() => s?,
        () = cancel.cancelled() => {
            outcome.cancelled = true;
            let _ = child.start_kill();
            child.wait().await?
        }
    })
}

/// Left as written, the script ran with `pipefail`: when its last pipeline decided the exit
/// code, that pipeline is judged by the same rule as the others.
fn judge_last_pipeline(outcome: &mut CommandOutcome) {
    if outcome.pipestatus.len() > 1
        && outcome.exit_code
            == Some(
                outcome
                    .pipestatus
                    .iter()
                    .rev()
                    .copied()
                    .find(|s| *s != 0)
                    .unwrap_or(0),
            )
    {
        outcome.exit_code = Some(super::pipeline::judged_status(&outcome.pipestatus));
    }
}

/// A command with piped output, running in its own process group.
struct Running<'a> {
    child: tokio::process::Child,
    group: Pid,
    marker: &'a str,
    started: Instant,
}

impl Running<'_> {
    /// Streams stdout and stderr to the sink as lines until both close and the command has
    /// exited; kills the group on timeout or cancel, and what it left behind after it exits.
    async fn stream(
        &mut self,
        spec: &CommandSpec,
        sink: &mut dyn OutputSink,
        cancel: &mut Cancel,
        outcome: &mut CommandOutcome,
    ) -> Result<ExitStatus, ProcessError> {
        let (group, marker, started) = (self.group, self.marker, self.started);
        let child = &mut self.child;
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        // A larger pipe means fewer wake-ups when a command floods its output. Best effort:
        // the kernel caps it (/proc/sys/fs/pipe-max-size) and may refuse.
        if let Some(out) = &stdout {
            let _ = nix::fcntl::fcntl(out, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
        }
        let mut out_split = LineSplitter::default();
        let mut err_split = LineSplitter::default();
        let mut out_buf = vec![0u8; READ_SIZE];
        let mut err_buf = vec![0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + spec.timeout;
        let mut status: Option<ExitStatus> = None;
        let mut drain_deadline: Option<tokio::time::Instant> = None;
        let mut swept = false;
        loop {
            if stdout.is_none() && stderr.is_none() && status.is_some() {
                break;
            }
            tokio::select! {
                r = read_opt(&mut stdout, &mut out_buf) => {
                    let n = r?;
                    if n == 0 {
                        stdout = None;
                        out_split.finish(&mut |l| sink.lines(Stream::Stdout, started.elapsed(), l));
                    } else {
                        outcome.stdout_bytes += n as u64;
                        let ts = started.elapsed();
                        out_split.feed(&out_buf[..n], &mut |l, p| if p { sink.progress(Stream::Stdout, l) } else { sink.lines(Stream::Stdout, ts, l) });
                    }
                }
                r = read_opt(&mut stderr, &mut err_buf) => {
                    let n = r?;
                    if n == 0 {
                        stderr = None;
                        err_split.finish(&mut |l| sink.lines(Stream::Stderr, started.elapsed(), l));
                    } else {
                        outcome.stderr_bytes += n as u64;
                        let ts = started.elapsed();
                        err_split.feed(&err_buf[..n], &mut |l, p| if p { sink.progress(Stream::Stderr, l) } else { sink.lines(Stream::Stderr, ts, l) });
                    }
                }
                s = child.wait(), if status.is_none() => {
                    status = Some(s?);
                    // Whatever the command left running in its group goes now.
                    if group_alive(group) {
                        outcome.leftovers_killed += terminate(group, spec.grace, false).await;
                    }
                    drain_deadline = Some(tokio::time::Instant::now() + DRAIN);
                }
                () = tokio::time::sleep_until(deadline), if status.is_none() && !outcome.timed_out && !outcome.cancelled => {
                    outcome.timed_out = true;
                    terminate(group, spec.grace, true).await;
                    outcome.leftovers_killed += sweep(marker);
                    swept = true;
                }
                () = cancel.cancelled(), if !outcome.cancelled && !outcome.timed_out => {
                    outcome.cancelled = true;
                    terminate(group, spec.grace, true).await;
                    outcome.leftovers_killed += sweep(marker);
                    swept = true;
                }
                () = sleep_opt(drain_deadline) => {
                    // The pipes stay open: something outside the group holds them.
                    if swept {
                        break;
                    }
                    outcome.leftovers_killed += sweep(marker);
                    swept = true;
                    drain_deadline = Some(tokio::time::Instant::now() + DRAIN);
                }
            }
        }
        Ok(match status {
            Some(s) => s,
            None => child.wait().await?,
        })
    }
}

/// The `EXIT` trap: writes the statuses of a pipeline that ended the script (not of one that
/// an `exit` came after) and, when asked, `export -p`, to `$RUNBOOK_ENV_FILE`. A function, so
/// that `set -x` shows two lines of it, not ten; `BASH_COMMAND` tells what ended the script.
fn exit_trap(export: bool) -> String {
    format!(
        "__runbook_exit() {{ local __rb_ps=(\"${{PIPESTATUS[@]}}\"); {{ set +x; }} 2>/dev/null; \
if [ \"$1\" = '{ret}' ]; then __rb_ps=($__runbook_ps); \
elif [ \"${{1%% *}}\" = exit ]; then __rb_ps=(); fi; \
{{ if [ ${{#__rb_ps[@]}} -gt 1 ]; then printf '{line}%s\\n' \"${{__rb_ps[*]}}\"; fi; {export} }} \
>\"$RUNBOOK_ENV_FILE\"; }}; trap '__runbook_exit \"$BASH_COMMAND\"' EXIT; ",
        ret = super::pipeline::PIPE_RETURN,
        line = PIPESTATUS_LINE,
        export = if export { "export -p;" } else { ":;" },
    )
}

/// The statuses the exit trap wrote, if the script ended with a pipeline.
fn parse_pipestatus(bytes: &[u8]) -> Vec<i32> {
    let Some(rest) = bytes.strip_prefix(PIPESTATUS_LINE.as_bytes()) else {
        return Vec::new();
    };
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .map_while(|s| s.parse().ok())
        .collect()
}

async fn read_opt<R: tokio::io::AsyncRead + Unpin>(
    r: &mut Option<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Is any process (zombies included) in the group?
fn group_alive(pgid: Pid) -> bool {
    pgid.as_raw() > 0 && killpg(pgid, None).is_ok()
}

/// Every pid in `/proc` now.
pub fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
}

/// Live (non-zombie) processes of a group, from `/proc`.
pub fn group_members(group: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for pid in pids() {
        if let Some((state, pg)) = stat_of(pid)
            && pg == group
            && state != 'Z'
            && state != 'X'
        {
            out.push(pid);
        }
    }
    out
}

/// State and process group of a pid, from `/proc/PID/stat`.
pub fn stat_of(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split(' ');
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// SIGINT (when `interrupt`), SIGTERM, SIGKILL to the group, each after `grace` if live
/// processes remain. Returns how many live processes were found at the start.
async fn terminate(pgid: Pid, grace: Duration, interrupt: bool) -> usize {
    if pgid.as_raw() <= 0 {
        return 0;
    }
    let found = group_members(pgid.as_raw()).len();
    let signals: &[Signal] = if interrupt {
        &[Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL]
    } else {
        &[Signal::SIGTERM, Signal::SIGKILL]
    };
    for (i, sig) in signals.iter().enumerate() {
        if killpg(pgid, *sig).is_err() {
            return found;
        }
        let wait = if i + 1 == signals.len() {
            grace.max(Duration::from_secs(2))
        } else {
            grace
        };
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if group_members(pgid.as_raw()).is_empty() {
                return found;
            }
            tokio::time::sleep(POLL).await;
        }
    }
    found
}

/// Kills (SIGKILL) every process whose environment carries this command's marker: those
/// that left the group with `setsid`.
fn sweep(marker: &str) -> usize {
    let needle = format!("{MARKER_VAR}={marker}");
    let me = std::process::id();
    let mut killed = 0;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|kv| kv == needle.as_bytes())
            && let Ok(raw) = i32::try_from(pid)
            && nix::sys::signal::kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok()
        {
            killed += 1;
        }
    }
    killed
}

/// Parses bash's `export -p`: `declare -x NAME="value"`, `declare -x NAME=$'...'`,
/// `declare -x NAME` (exported but unset: skipped).
pub fn parse_export_p(bytes: &[u8]) -> EnvSnapshot {
    let mut vars = BTreeMap::new();
    let mut i = 0;
    let prefix = b"declare -x ";
    while i < bytes.len() {
        if !bytes[i..].starts_with(prefix) {
            // Skip to the next line.
            i += bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len() - i, |p| p + 1);
            continue;
        }
        i += prefix.len();
        let name_end = bytes[i..]
            .iter()
            .position(|&b| b == b'=' || b == b'\n')
            .map_or(bytes.len(), |p| i + p);
        let name = bytes[i..name_end].to_vec();
        i = name_end;
        if bytes.get(i) != Some(&b'=') {
            i += 1;
            continue;
        }
        i += 1;
        let mut value = Vec::new();
        match bytes.get(i) {
            Some(b'"') => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'"' => break,
                        b'\\'
                            if bytes
                                .get(i + 1)
                                .is_some_and(|c| matches!(c, b'"' | b'\\' | b'$' | b'`')) =>
                        {
                            value.push(bytes[i + 1]);
                            i += 2;
                            continue;
                        }
                        _ => value.push(c),
                    }
                    i += 1;
                }
                i += 1;
            }
            Some(b'$') if bytes.get(i + 1) == Some(&b'\'') => {
                i += 2;
                while let Some(&c) = bytes.get(i) {
                    if c == b'\'' {
                        break;
                    }
                    if c == b'\\' {
                        i += 1;
                        let (decoded, used) = ansi_c_escape(&bytes[i..]);
                        value.extend_from_slice(&decoded);
                        i += used;
                        continue;
                    }
                    value.push(c);
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
        vars.insert(OsString::from_vec(name), OsString::from_vec(value));
    }
    let cwd = vars.get(OsStr::new("PWD")).map(PathBuf::from);
    for skip in [
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
        MARKER_VAR,
        ENV_FILE_VAR,
        SCRIPT_VAR,
    ] {
        vars.remove(OsStr::new(skip));
    }
    EnvSnapshot { vars, cwd }
}

/// Decodes one `$'...'` escape (after the backslash); returns the bytes and bytes used.
fn ansi_c_escape(s: &[u8]) -> (Vec<u8>, usize) {
    let Some(&c) = s.first() else {
        return (Vec::new(), 0);
    };
    let simple = match c {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'a' => Some(7),
        b'b' => Some(8),
        b'e' | b'E' => Some(27),
        b'f' => Some(12),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        b'\'' => Some(b'\''),
        b'"' => Some(b'"'),
        b'?' => Some(b'?'),
        _ => None,
    };
    if let Some(b) = simple {
        return (vec![b], 1);
    }
    if c.is_ascii_digit() && c < b'8' {
        let digits = s
            .iter()
            .take(3)
            .take_while(|d| (b'0'..b'8').contains(d))
            .count();
        let v = s[..digits]
            .iter()
            .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
        return (vec![u8::try_from(v & 0xff).unwrap_or(0)], digits);
    }
    if c == b'x' {
        let digits = s[1..]
            .iter()
            .take(2)
            .take_while(|d| d.is_ascii_hexdigit())
            .count();
        let hex = std::str::from_utf8(&s[1..=digits]).unwrap_or("0");
        let v = u8::from_str_radix(hex, 16).unwrap_or(0);
        return (vec![v], 1 + digits);
    }
    (vec![b'\\', c], 1)
}

/// `OsStr` display helper for messages.
pub fn lossy(s: &OsStr) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_p_formats() {
        let text = b"declare -x A=\"x \\\"q\\\" \\$y\"\ndeclare -x B=$'a\\001b\\nc\\\\d\\'e'\ndeclare -x C\ndeclare -x PWD=\"/tmp\"\ndeclare -x M=\"multi\nline\"\n";
        let s = parse_export_p(text);
        assert_eq!(
            s.vars.get(OsStr::new("A")),
            Some(&OsString::from("x \"q\" $y"))
        );
        assert_eq!(
            s.vars.get(OsStr::new("B")),
            Some(&OsString::from("a\u{1}b\nc\\d'e"))
        );
        assert_eq!(
            s.vars.get(OsStr::new("M")),
            Some(&OsString::from("multi\nline"))
        );
        assert!(!s.vars.contains_key(OsStr::new("C")));
        assert_eq!(s.cwd.as_deref(), Some(Path::new("/tmp")));
    }
}
