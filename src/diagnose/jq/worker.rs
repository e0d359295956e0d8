//! Checks' jq programs evaluated in a child process, bounded in time and memory.
//!
//! jaq cannot be interrupted inside one expression: `[range(1e9)]`, `"x" * 1e9` or a
//! `reduce` that builds a huge array would run on, and allocate, for as long as they like. So
//! `diagnose` evaluates them in a worker: the runbook binary again (`runbook __jq`, see
//! [`main`]), started with its address space capped at [`MEMORY_LIMIT_MIB`] (`RLIMIT_AS`, set by
//! `sh -c 'ulimit -v …; exec …'` so the allocator starts under it) and capping it again itself, its
//! core dumps at 0, and before each check its CPU time at the check's limit plus
//! [`CPU_MARGIN`] (`RLIMIT_CPU`, a backstop for a worker whose runbook is gone). Then it
//! evaluates checks one after another, as the parent sends them:
//!
//! - parent: `{"list":{"id":N}}` and, on the next line, that list's items as JSON (once per
//!   worker, before the first check that reads it);
//! - parent: `{"run":{"code":…,"reads":[["pods",N],…],"now":…,"timeout_ms":…}}`;
//! - worker: `"started"` when the lists are parsed and the program's clock starts, then
//!   one line: `{"evidence":[…]}`, `{"compile":{"line":…,"message":…}}`,
//!   `"time_limit"` or `{"failed":…}`.
//!
//! The parent ([`Evaluator`], one per diagnose run) kills the worker when a check passes its
//! time limit (plus [`GRACE`]) and reads why a worker died from its exit status and stderr: an
//! allocation refused by the cap aborts it ("ran out of memory (limit N MiB)"). Either way the
//! check gets one line and the next check gets a fresh worker. The worker has its own process
//! group, registered with the watchdog ([`crate::exec::process::watchdog`]); it is killed when
//! its [`Evaluator`] is dropped or closed, and ends by itself when its stdin closes.
//!
//! Without a worker program ([`use_program`]: the binary sets it at start; library users and
//! unit tests may not) programs run in-process, bounded in time only between two outputs.
//! To change a bound: [`MEMORY_LIMIT_MIB`], [`CPU_MARGIN`], [`GRACE`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use jaq_json::Val;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::{Program, Stop};
use crate::exec::process::watchdog::Registered;

/// The first argument that makes the runbook binary a jq worker.
pub const ARG: &str = "__jq";

/// The worker's address space, in MiB: the lists it holds (sent once) and what a program
/// builds from them. A program that needs more is stopped and reported as out of memory.
pub const MEMORY_LIMIT_MIB: u64 = 512;

/// CPU time a worker may use past a check's time limit before the kernel stops it; only
/// matters when the parent that would kill it at the limit is gone.
pub const CPU_MARGIN: Duration = Duration::from_secs(2);

/// How long past a check's time limit the parent waits for the worker's own answer (it stops
/// a program that keeps yielding by itself) before it kills the worker.
pub const GRACE: Duration = Duration::from_millis(100);

/// Longest answer line the parent reads (50 evidence lines of 4 KiB, JSON-escaped, fit).
const MAX_ANSWER: u64 = 4 << 20;

/// Most bytes of a dead worker's stderr read to say why it died.
const MAX_STDERR: u64 = 8 << 10;

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// From now on, checks run in workers started from `program` (a runbook binary). Once per
/// process; later calls do nothing.
pub fn use_program(program: PathBuf) {
    let _ = PROGRAM.set(program);
}

/// Workers are this very binary (what `runbook` does at start).
pub fn use_this_binary() {
    if let Ok(exe) = std::env::current_exe() {
        use_program(exe);
    }
}

/// What the parent sends.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Request {
    /// The next line is list `id`'s items.
    List {
        id: usize,
    },
    Run(Run),
}

#[derive(Debug, Serialize, Deserialize)]
struct Run {
    code: String,
    /// Input key and the list it names.
    reads: Vec<(String, usize)>,
    now: String,
    timeout_ms: u64,
}

/// What the worker answers to a run.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    /// The lists are read; the program's clock starts now.
    Started,
    Evidence(Vec<String>),
    Compile {
        line: usize,
        message: String,
    },
    TimeLimit,
    Failed(String),
}

/// Evaluates a diagnose run's checks, one after another, in one worker (restarted after a
/// check that killed it), or in-process when there is no worker program.
pub struct Evaluator {
    lists: Vec<Val>,
    /// Each list as a JSON line, made when first sent.
    json: Vec<Option<String>>,
    program: Option<PathBuf>,
    worker: Option<Worker>,
}

impl Evaluator {
    /// An evaluator for checks that read `lists` (a check names them by index), with the
    /// worker program set by [`use_program`].
    pub fn new(lists: Vec<Val>) -> Self {
        Self::with_program(lists, PROGRAM.get().cloned())
    }

    /// Same, with workers started from `program` (`None`: in-process).
    pub fn with_program(lists: Vec<Val>, program: Option<PathBuf>) -> Self {
        let json = vec![None; lists.len()];
        Self {
            lists,
            json,
            program,
            worker: None,
        }
    }

    /// Starts the worker now (when there is a worker program and none runs), so that its
    /// start overlaps other work; a failure to start is reported by the first check.
    pub fn start(&mut self) {
        if self.worker.is_none()
            && let Some(program) = &self.program
        {
            self.worker = Worker::start(program).ok();
        }
    }

    /// Replaces the lists that checks read (and sends them again as they are needed).
    pub fn set_lists(&mut self, lists: Vec<Val>) {
        self.json = vec![None; lists.len()];
        self.lists = lists;
        if let Some(worker) = &mut self.worker {
            worker.sent.clear();
        }
    }

    /// The pid of the current worker, if one is running.
    pub fn worker_pid(&self) -> Option<u32> {
        self.worker.as_ref().and_then(|w| w.child.id())
    }

    /// Runs `code` on an object of `reads` (key, list index) and `now`, within `timeout`:
    /// its evidence, or one line that says why there is none.
    pub async fn evidence(
        &mut self,
        code: &str,
        reads: &[(String, usize)],
        now: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, String> {
        let run = Run {
            code: code.to_owned(),
            reads: reads.to_vec(),
            now: now.to_owned(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let answer = match self.program.clone() {
            Some(program) => self.in_worker(&program, run, timeout).await?,
            None => self.in_process(run, timeout).await?,
        };
        match answer {
            Answer::Evidence(lines) => Ok(lines),
            Answer::Compile { line, message } => Err(format!(
                "the jq program does not compile (line {line}): {message}"
            )),
            Answer::TimeLimit => Err(time_limit(timeout)),
            Answer::Failed(message) => Err(format!("the jq program failed: {message}")),
            Answer::Started => Err("the jq worker answered out of turn".to_owned()),
        }
    }

    /// Ends the worker (and waits for it to be gone).
    pub async fn close(&mut self) {
        if let Some(mut worker) = self.worker.take() {
            worker.kill().await;
        }
    }

    async fn in_worker(
        &mut self,
        program: &Path,
        run: Run,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let worker = match &mut self.worker {
            Some(w) => w,
            None => self.worker.insert(Worker::start(program)?),
        };
        // The lists this check reads and the worker lacks, then the check.
        let mut message = Vec::new();
        for &(_, id) in &run.reads {
            if id >= self.lists.len() || worker.sent.contains(&id) {
                continue;
            }
            let json = self.json[id].get_or_insert_with(|| self.lists[id].to_string());
            message.extend_from_slice(&line_of(&Request::List { id }));
            message.extend_from_slice(json.as_bytes());
            message.push(b'\n');
            worker.sent.insert(id);
        }
        message.extend_from_slice(&line_of(&Request::Run(run)));
        // Sending and parsing the lists is not the program's time: the worker says when its
        // clock starts, and the program's limit counts from there.
        let started = tokio::time::timeout(timeout, async {
            worker.stdin.write_all(&message).await?;
            worker.stdin.flush().await?;
            read_answer(&mut worker.stdout).await
        })
        .await;
        match started {
            Ok(Ok(Some(Answer::Started))) => {}
            Ok(_) => return Err(self.ended().await),
            Err(_) => {
                self.close().await;
                return Err(format!(
                    "the jq worker did not take the check's input within {}",
                    crate::duration::humanize(timeout)
                ));
            }
        }
        let Some(worker) = self.worker.as_mut() else {
            return Err("the jq worker ended".to_owned());
        };
        match tokio::time::timeout(timeout + GRACE, read_answer(&mut worker.stdout)).await {
            Ok(Ok(Some(answer))) if !matches!(answer, Answer::Started) => Ok(answer),
            Ok(_) => Err(self.ended().await),
            Err(_) => {
                self.close().await;
                Err(time_limit(timeout))
            }
        }
    }

    /// Why the worker stopped answering (it is gone afterwards).
    async fn ended(&mut self) -> String {
        match self.worker.take() {
            Some(mut w) => w.why_it_ended().await,
            None => "the jq worker ended".to_owned(),
        }
    }

    async fn in_process(&self, run: Run, timeout: Duration) -> Result<Answer, String> {
        let lists: BTreeMap<usize, Val> = run
            .reads
            .iter()
            .filter_map(|&(_, id)| Some((id, self.lists.get(id)?.clone())))
            .collect();
        let work = tokio::task::spawn_blocking(move || evaluate(&run, &lists));
        match tokio::time::timeout(timeout + GRACE, work).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(format!("the check stopped: {e}")),
            Err(_) => Err(time_limit(timeout)),
        }
    }
}

fn time_limit(timeout: Duration) -> String {
    format!(
        "the jq program was stopped at its time limit ({})",
        crate::duration::humanize(timeout)
    )
}

/// The worker's next answer; `None` at end of file or when it is not one.
async fn read_answer(stdout: &mut BufReader<ChildStdout>) -> std::io::Result<Option<Answer>> {
    let mut line = Vec::new();
    stdout.take(MAX_ANSWER).read_until(b'\n', &mut line).await?;
    if !line.ends_with(b"\n") {
        return Ok(None);
    }
    Ok(serde_json::from_slice(&line).ok())
}

fn line_of<T: Serialize>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// A running `runbook __jq`.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// Which lists it has.
    sent: BTreeSet<usize>,
    _registered: Registered,
}

impl Worker {
    fn start(program: &Path) -> Result<Self, String> {
        // The cap is set before the worker starts, through the shell's `ulimit`, so that the
        // allocator's first reservation already sees it: set only by the worker itself, after
        // mimalloc had reserved a 1 GiB arena, the process was over its cap from the start and
        // every later mapping (a thread stack, a huge allocation) failed. The worker sets it
        // again (with the hard limit) once running.
        let kib = MEMORY_LIMIT_MIB << 10;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("ulimit -S -v {kib} 2>/dev/null; exec \"$0\" {ARG}"))
            .arg(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .current_dir("/")
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the jq worker ({}): {e}", program.display()))?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let registered = Registered::new(pid);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("cannot talk to the jq worker".to_owned());
        };
        Ok(Self {
            stderr: child.stderr.take(),
            child,
            stdin,
            stdout: BufReader::new(stdout),
            sent: BTreeSet::new(),
            _registered: registered,
        })
    }

    async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Why the worker stopped answering, in one line (it is dead afterwards).
    async fn why_it_ended(&mut self) -> String {
        // It may still be alive (a garbled answer): then it is ended here.
        let _ = self.child.start_kill();
        let status = self.child.wait().await.ok();
        let mut stderr = String::new();
        if let Some(pipe) = self.stderr.take() {
            let _ = pipe.take(MAX_STDERR).read_to_string(&mut stderr).await;
        }
        explain(status, &stderr)
    }
}

/// A dead worker's exit status and stderr as one line.
fn explain(status: Option<ExitStatus>, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    if stderr.contains("memory allocation of") {
        return format!("the jq program ran out of memory (limit {MEMORY_LIMIT_MIB} MiB)");
    }
    if stderr.contains("overflowed its stack") {
        return "the jq program recursed too deeply (stack overflow)".to_owned();
    }
    let signal = status.and_then(|s| s.signal());
    if signal == Some(nix::sys::signal::Signal::SIGXCPU as i32) {
        return "the jq program used up its CPU time".to_owned();
    }
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    let how = match (signal, status.and_then(|s| s.code())) {
        (Some(9), _) => "was killed (SIGKILL, perhaps by the kernel's out-of-memory killer)".into(),
        (Some(sig), _) => format!("was killed by signal {sig}"),
        (None, Some(code)) => format!("exited with status {code}"),
        (None, None) => "ended".to_owned(),
    };
    match last {
        Some(line) => format!("the jq worker {how}: {}", line.trim()),
        None => format!("the jq worker {how}"),
    }
}

/// The worker process: `runbook __jq`, reading requests on stdin until it closes.
pub fn main() -> ExitCode {
    if let Err(e) = limit_memory() {
        eprintln!("runbook __jq: cannot set its limits: {e}");
        return ExitCode::from(3);
    }
    // A panic in a program's evaluation is answered as a failure, not printed.
    std::panic::set_hook(Box::new(|_| {}));
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let mut lists: BTreeMap<usize, Val> = BTreeMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return ExitCode::SUCCESS,
            Ok(_) => {}
        }
        let request = match serde_json::from_slice::<Request>(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("runbook __jq: a request that is not one: {e}");
                return ExitCode::from(2);
            }
        };
        match request {
            Request::List { id } => {
                line.clear();
                if input.read_until(b'\n', &mut line).is_err() {
                    return ExitCode::SUCCESS;
                }
                match jaq_json::read::parse_single(line.trim_ascii()) {
                    Ok(items) => lists.insert(id, items),
                    Err(e) => {
                        eprintln!("runbook __jq: list {id} is not JSON: {e}");
                        return ExitCode::from(2);
                    }
                };
                // Its largest list's buffer is not kept for the whole run.
                line = Vec::new();
            }
            Request::Run(run) => {
                limit_cpu(Duration::from_millis(run.timeout_ms));
                if answer(&mut output, &Answer::Started).is_err() {
                    return ExitCode::SUCCESS;
                }
                if answer(&mut output, &evaluate(&run, &lists)).is_err() {
                    return ExitCode::SUCCESS;
                }
            }
        }
    }
}

fn answer(output: &mut impl Write, answer: &Answer) -> std::io::Result<()> {
    output.write_all(&line_of(answer))?;
    output.flush()
}

/// Compiles and runs one check, within its time limit (counted from now).
fn evaluate(run: &Run, lists: &BTreeMap<usize, Val>) -> Answer {
    let deadline = Instant::now() + Duration::from_millis(run.timeout_ms);
    let work = std::panic::AssertUnwindSafe(|| {
        let program = match Program::compile(&run.code) {
            Ok(p) => p,
            Err(e) => {
                return Answer::Compile {
                    line: e.line,
                    message: e.message,
                };
            }
        };
        let mut input = jaq_json::Map::default();
        for (key, id) in &run.reads {
            let list = lists.get(id).cloned().unwrap_or(Val::Null);
            input.insert(Val::from(key.clone()), list);
        }
        input.insert(Val::from("now".to_owned()), Val::from(run.now.clone()));
        match program.evidence(Val::obj(input), deadline) {
            Ok(lines) => Answer::Evidence(lines),
            Err(Stop::TimeLimit) => Answer::TimeLimit,
            Err(Stop::Failed(message)) => Answer::Failed(message),
        }
    });
    std::panic::catch_unwind(work).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Answer::Failed(format!("it crashed jaq: {message}"))
    })
}

/// Caps the address space at [`MEMORY_LIMIT_MIB`] and core dumps at nothing.
fn limit_memory() -> nix::Result<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let bytes = MEMORY_LIMIT_MIB << 20;
    let (_, hard) = getrlimit(Resource::RLIMIT_AS)?;
    let cap = bytes.min(hard);
    setrlimit(Resource::RLIMIT_AS, cap, cap)?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0)
}

/// Lets the worker use `timeout` plus [`CPU_MARGIN`] of CPU time from now on (the kernel
/// stops it after that with SIGXCPU).
fn limit_cpu(timeout: Duration) {
    use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};
    let used = getrusage(UsageWho::RUSAGE_SELF).map_or(0, |u| {
        let secs = u.user_time().tv_sec() + u.system_time().tv_sec();
        u64::try_from(secs).unwrap_or(0)
    });
    let Ok((_, hard)) = getrlimit(Resource::RLIMIT_CPU) else {
        return;
    };
    // Whole seconds, rounded up, plus one for the fraction already used.
    let budget = (timeout + CPU_MARGIN).as_secs() + 2;
    let soft = used.saturating_add(budget).min(hard);
    let _ = setrlimit(Resource::RLIMIT_CPU, soft, hard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_allocation_is_reported_as_out_of_memory() {
        let why = explain(None, "memory allocation of 1073741824 bytes failed\n");
        assert_eq!(
            why,
            format!("the jq program ran out of memory (limit {MEMORY_LIMIT_MIB} MiB)")
        );
    }

    #[test]
    fn the_protocol_round_trips() {
        let run = Request::Run(Run {
            code: ".pods[]".into(),
            reads: vec![("pods".into(), 3)],
            now: "2026-01-01T00:00:00Z".into(),
            timeout_ms: 1000,
        });
        let line = line_of(&run);
        assert!(line.ends_with(b"\n"));
        let back: Request = serde_json::from_slice(&line).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(back, Request::Run(r) if r.reads == [("pods".to_owned(), 3)]));
        let answer: Answer =
            serde_json::from_slice(&line_of(&Answer::TimeLimit)).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(answer, Answer::TimeLimit));
    }

    #[test]
    fn in_process_a_check_reads_its_lists_by_index() {
        let lists = vec![
            Val::from("unused".to_owned()),
            serde_json::from_value(serde_json::json!([{"name": "a"}]))
                .unwrap_or_else(|e| panic!("{e}")),
        ];
        let run = Run {
            code: ".pods[] | .name".into(),
            reads: vec![("pods".into(), 1)],
            now: String::new(),
            timeout_ms: 10_000,
        };
        let answer = evaluate(&run, &lists.into_iter().enumerate().collect());
        assert!(matches!(answer, Answer::Evidence(l) if l == ["a"]), "");
    }
}
