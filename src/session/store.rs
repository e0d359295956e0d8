//! The files of a session and how they are written.
//!
//! ```text
//! sessions/<id>/session.json          the state as of the last fold: written to a temp file,
//!                                     fsynced, renamed (at the start and end of a run)
//! sessions/<id>/journal-<gen>.jsonl   what changed since: one JSON line per change, appended
//! sessions/<id>/step-003.out          head of step 3's output (appended while it streams)
//! sessions/<id>/step-003.out.tail.0   the newest part of its tail, .tail.1 the one before
//! ```
//!
//! The state is `session.json` with its journal applied ([`Store::load`]); `session.json` names
//! the journal generation that belongs to it, so a fold that stopped half-way never applies a
//! journal twice. During a run each change costs one append, and one `fdatasync` per finished
//! step at most (group commit, see [`journal`]); the run's end folds the journal back
//! into `session.json` ([`Store::compact`]).
//!
//! A step's output is bounded: the first half of the limit goes to the head file, the rest
//! rotates between two tail files, so the newest `limit / 2` bytes are kept and the state
//! never holds output. Output that floods is written a few times a second (what newer output
//! pushes out of the tail never reaches the disk); output that trickles is written as it comes.
//! Nothing here is fsynced per line: a killed process leaves what it wrote in the page cache.
//!
//! Every file of a session folder is created by [`create_file`], [`open_append`] or
//! [`write_atomic`], and the folder by [`Store::create`]: permissions are decided there.
//! Folders are 0700 and files 0600 whatever the umask ([`private_dir`], [`crate::private`]):
//! on a shared host a session's output is its owner's only.
//!
//! To add a file to a session, name it here and remove nothing else: `prune` deletes folders.

pub mod journal;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::exec::judge::OutputMatch;
use crate::exec::runner::Verdict;

/// Timestamps as RFC 3339 text (chrono is built without its serde feature here).
pub(super) mod time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    pub mod optional {
        use super::{DateTime, Deserialize, Deserializer, Serializer, Utc};

        #[allow(clippy::ref_option)]
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let text = Option::<String>::deserialize(d)?;
            text.map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
        }
    }
}

/// The state file of a session.
pub const STATE_FILE: &str = "session.json";
/// Bumped when a field changes meaning (adding one with a default is not a change).
pub const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a session file ({message}); remove the folder or run `runbook sessions --prune`"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error("no session `{0}`; `runbook sessions` lists them")]
    NotFound(String),
    #[error("`{query}` matches several sessions ({}); type more of the id", .ids.join(", "))]
    Ambiguous { query: String, ids: Vec<String> },
    #[error("no data folder (no home folder and RUNBOOK_DATA_DIR unset)")]
    NoDataDir,
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A process is recording it now (see `pid`).
    Running,
    /// Left with steps still to do; can be resumed.
    Unfinished,
    /// Every step has a verdict.
    Finished,
    /// The recording process died while it was running.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Unfinished => "unfinished",
            Self::Finished => "finished",
            Self::Interrupted => "interrupted",
        }
    }
}

/// A step's place in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    #[default]
    Pending,
    Running,
    Done,
    /// It was running when the session died: never counted as passed.
    Interrupted,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Interrupted => "interrupted",
        }
    }
}

/// The cluster the commands talked to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextInfo {
    pub name: String,
    #[serde(default)]
    pub server: Option<String>,
}

/// A placeholder value: plain ones kept, secret ones by name only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarRecord {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub secret: bool,
    /// Where it came from: `cli` (`--var`), `prompt` (typed or picked from the cluster) or
    /// `step` (captured or exported by a step: text from the cluster, untrusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<crate::exec::vars::Origin>,
}

/// The expected-vs-actual comparison of a command's output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OutputCheck {
    #[default]
    NoExpectation,
    Matches,
    Differs {
        diff: String,
    },
}

impl From<&OutputMatch> for OutputCheck {
    fn from(m: &OutputMatch) -> Self {
        match m {
            OutputMatch::Matches => Self::Matches,
            OutputMatch::Differs { diff } => Self::Differs { diff: diff.clone() },
            OutputMatch::NoExpectation => Self::NoExpectation,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub block: usize,
    /// Line of the block in the runbook.
    pub line: usize,
    /// As filled in, secrets masked.
    pub command: String,
    #[serde(default)]
    pub destructive: bool,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    /// Each member's status when the command ended with a pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipestatus: Vec<i32>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub failures: Vec<String>,
    #[serde(default)]
    pub output_match: OutputCheck,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub number: String,
    pub title: String,
    #[serde(default)]
    pub state: StepState,
    #[serde(default)]
    pub verdict: Option<Verdict>,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub notices: Vec<String>,
    #[serde(default)]
    pub commands: Vec<CommandRecord>,
    #[serde(default, with = "time::optional")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default, with = "time::optional")]
    pub finished: Option<DateTime<Utc>>,
    /// The user's note.
    #[serde(default)]
    pub notes: String,
    /// Output file name in the session folder.
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub bytes_kept: u64,
    #[serde(default)]
    pub bytes_dropped: u64,
    /// The mode this step ran under (`confirm`, `read-only`, `dry-run`, `yes`): `m` can change
    /// it between steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Earlier runs of this step, oldest first: a re-run adds one instead of replacing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The user's text its last run ran in place of one of its blocks (the TUI's `e`), secret
    /// values masked; resuming the session puts it back on the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<StepEdit>,
}

/// The user's text for one block of a step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEdit {
    /// Index of the block in the step.
    pub block: usize,
    pub code: String,
}

/// One earlier run of a step: what it ended as, when, under which mode, with its commands'
/// exit codes, and its output's head kept under its own name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(default)]
    pub verdict: Option<Verdict>,
    #[serde(default, with = "time::optional")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default, with = "time::optional")]
    pub finished: Option<DateTime<Utc>>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub exit_codes: Vec<Option<i32>>,
    /// Output file name in the session folder (the head of what it printed).
    #[serde(default)]
    pub output: Option<String>,
}

impl StepRecord {
    pub fn duration_ms(&self) -> Option<i64> {
        Some((self.finished? - self.started?).num_milliseconds())
    }
}

/// `session.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub format: u32,
    pub id: String,
    /// Scenario id (`backup-stuck/restart-mgmt-pod`).
    pub scenario: String,
    #[serde(default)]
    pub scenario_title: String,
    pub runbook: PathBuf,
    #[serde(default)]
    pub procedure: Option<String>,
    #[serde(default)]
    pub context: Option<ContextInfo>,
    /// The practice cluster's URL when the run used `--lab`.
    #[serde(default)]
    pub lab: Option<String>,
    pub user: String,
    pub host: String,
    #[serde(with = "time")]
    pub started: DateTime<Utc>,
    #[serde(with = "time")]
    pub updated: DateTime<Utc>,
    /// confirm | read-only | dry-run | yes
    pub mode: String,
    pub status: Status,
    /// The recording process while `status` is running.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Bound of the output kept per step, in bytes.
    #[serde(default = "default_limit")]
    pub output_limit: u64,
    #[serde(default)]
    pub vars: BTreeMap<String, VarRecord>,
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Generation of the journal that holds the changes made since this file was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
}

impl SessionRecord {
    /// A new session with its id, `who` and times filled in.
    pub fn new(scenario: &str, runbook: &Path, mode: &str) -> Self {
        let now = Utc::now();
        let (user, host) = super::who();
        Self {
            format: FORMAT,
            id: new_id(now),
            scenario: scenario.to_owned(),
            scenario_title: String::new(),
            runbook: runbook.to_owned(),
            procedure: None,
            context: None,
            lab: None,
            user,
            host,
            started: now,
            updated: now,
            mode: mode.to_owned(),
            status: Status::Running,
            pid: Some(std::process::id()),
            output_limit: super::DEFAULT_OUTPUT_LIMIT,
            vars: BTreeMap::new(),
            steps: Vec::new(),
            journal: None,
        }
    }

    /// The record for step `index`, created (with the ones before it) when missing.
    pub fn step_mut(&mut self, index: usize, number: &str, title: &str) -> &mut StepRecord {
        while self.steps.len() <= index {
            self.steps.push(StepRecord::default());
        }
        let step = &mut self.steps[index];
        if !number.is_empty() {
            number.clone_into(&mut step.number);
        }
        if !title.is_empty() {
            title.clone_into(&mut step.title);
        }
        step
    }

    /// Steps that ran, and all steps.
    pub fn progress(&self) -> (usize, usize) {
        let done = self
            .steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .count();
        (done, self.steps.len())
    }

    /// A step that was running is interrupted, never passed.
    pub fn interrupt(&mut self) {
        for s in &mut self.steps {
            if s.state == StepState::Running {
                s.state = StepState::Interrupted;
                s.verdict = None;
            }
        }
        self.status = Status::Interrupted;
        self.pid = None;
    }

    /// Can it be taken up again?
    pub fn resumable(&self) -> bool {
        self.status != Status::Finished && self.status != Status::Running
    }
}

fn default_limit() -> u64 {
    super::DEFAULT_OUTPUT_LIMIT
}

/// `20261122T003338Z-1a2b3c`: sorts by start time, unique enough across machines.
fn new_id(now: DateTime<Utc>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let b = uuid::Uuid::new_v4().into_bytes();
    let random = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mix = random ^ u32::try_from(n & 0xffff).unwrap_or(0);
    format!("{}-{:06x}", now.format("%Y%m%dT%H%M%SZ"), mix & 0x00ff_ffff)
}

/// Output file of step `index` (0-based).
pub fn output_file_name(index: usize) -> String {
    format!("step-{:03}.out", index + 1)
}

/// One session's folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Creates `root/<id>/`.
    pub fn create(root: &Path, id: &str) -> Result<Self, StoreError> {
        let dir = root.join(id);
        // The data folder above the configured sessions folder is runbook's own too.
        if super::sessions_dir().as_deref() == Some(root)
            && let Some(data) = root.parent()
        {
            private_dir(data)?;
        }
        private_dir(root)?;
        private_dir(&dir)?;
        Ok(Self { dir })
    }

    pub fn open(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces `session.json` atomically: temp file in the same folder, write, fsync,
    /// rename over the old one, fsync the folder.
    pub fn save(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Corrupt {
            path: self.dir.join(STATE_FILE),
            message: e.to_string(),
        })?;
        private_dir(&self.dir)?;
        write_atomic(&self.dir.join(STATE_FILE), &bytes)
    }

    /// Writes the whole state to `session.json` with a journal generation of its own, then
    /// removes older journals (their changes are in the state now). Until the new file is in
    /// place, the old file and its journal still say the same thing.
    pub fn compact(&self, record: &mut SessionRecord) -> Result<(), StoreError> {
        let generation = journal::new_generation();
        let previous = record.journal.replace(generation.clone());
        if let Err(e) = self.save(record) {
            record.journal = previous;
            return Err(e);
        }
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            let keep = journal::path(&self.dir, &generation);
            for entry in entries.flatten() {
                let name = entry.file_name();
                if journal::is_journal(&name.to_string_lossy()) && entry.path() != keep {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Where the changes made after `record` was written go.
    pub fn journal_path(&self, record: &SessionRecord) -> Option<PathBuf> {
        record
            .journal
            .as_deref()
            .map(|g| journal::path(&self.dir, g))
    }

    /// Reads `session.json` and applies its journal; a state left `running` by a process that
    /// is gone becomes interrupted.
    pub fn load(&self) -> Result<SessionRecord, StoreError> {
        let path = self.dir.join(STATE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut record: SessionRecord =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if let Some(journal) = self.journal_path(&record)
            && let Ok(changes) = std::fs::read(&journal)
        {
            journal::replay(&mut record, &changes);
        }
        if record.status == Status::Running && !record.pid.is_some_and(alive) {
            record.interrupt();
        }
        if record.status != Status::Running {
            // A step cannot be running without a process.
            for s in &mut record.steps {
                if s.state == StepState::Running {
                    s.state = StepState::Interrupted;
                    s.verdict = None;
                }
            }
        }
        Ok(record)
    }

    /// The kept output of a step.
    pub fn output(&self, record: &SessionRecord, step: &StepRecord) -> Option<KeptOutput> {
        let name = step.output.as_deref()?;
        let tail_limit = record.output_limit - record.output_limit / 2;
        let mut kept = read_output(&self.dir.join(name), tail_limit).ok()?;
        kept.dropped = kept.dropped.max(step.bytes_dropped);
        Some(kept)
    }
}

impl Store {
    /// The newest `max` bytes of a step's output, starting at a line: what a resumed screen
    /// shows, read without touching the rest of the file.
    pub fn output_tail(&self, step: &StepRecord, max: u64) -> Option<String> {
        let head = self.dir.join(step.output.as_deref()?);
        let mut parts: Vec<u8> = Vec::new();
        let mut want = max;
        for path in [tail_path(&head, 0), tail_path(&head, 1), head.clone()] {
            if want == 0 {
                break;
            }
            let Ok(mut f) = File::open(&path) else {
                continue;
            };
            let len = f.metadata().map_or(0, |m| m.len());
            let take = len.min(want);
            if f.seek(SeekFrom::Start(len - take)).is_err() {
                continue;
            }
            let mut chunk = Vec::new();
            let _ = f.take(take).read_to_end(&mut chunk);
            chunk.extend_from_slice(&parts);
            parts = chunk;
            want -= take;
            if path == head {
                break;
            }
        }
        if want == 0
            && let Some(p) = parts.iter().position(|b| *b == b'\n')
        {
            parts.drain(..=p);
        }
        Some(String::from_utf8_lossy(&parts).into_owned())
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part;
/// readable by its owner only.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::atomic::write_private(path, bytes).map_err(|e| StoreError::io(path, e))
}

/// Makes `dir` 0700: created (with any missing parent) or tightened when found wider.
fn private_dir(dir: &Path) -> Result<(), StoreError> {
    crate::private::dir(dir).map_err(|e| StoreError::io(dir, e))
}

/// Creates (or empties) a file of a session folder for writing, 0600.
pub fn create_file(path: &Path) -> std::io::Result<File> {
    crate::private::create(path)
}

/// Opens a file of a session folder for appending, creating it 0600 when missing.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(crate::private::FILE_MODE)
        .open(path)
}

/// Is this process alive and a runbook?
fn alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        c.split(|b| *b == 0)
            .next()
            .is_some_and(|argv0| String::from_utf8_lossy(argv0).contains("runbook"))
    }) && crate::exec::process::stat_of(i32::try_from(pid).unwrap_or(i32::MAX))
        .is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

/// Every session under `root`, newest first; unreadable folders are returned as errors.
pub fn list(root: &Path) -> (Vec<(Store, SessionRecord)>, Vec<StoreError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return (out, errors);
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.join(STATE_FILE).is_file() {
            continue;
        }
        let store = Store::open(dir);
        match store.load() {
            Ok(r) => out.push((store, r)),
            Err(e) => errors.push(e),
        }
    }
    out.sort_by(|a, b| b.1.started.cmp(&a.1.started).then(b.1.id.cmp(&a.1.id)));
    (out, errors)
}

/// A session by id, unique id prefix, or `last` (the newest).
pub fn find(root: &Path, query: &str) -> Result<(Store, SessionRecord), StoreError> {
    let (all, _) = list(root);
    if query == "last" {
        return all
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(query.to_owned()));
    }
    if let Some(i) = all.iter().position(|(_, r)| r.id == query) {
        return all
            .into_iter()
            .nth(i)
            .ok_or_else(|| StoreError::NotFound(query.to_owned()));
    }
    let mut matches: Vec<(Store, SessionRecord)> = all
        .into_iter()
        .filter(|(_, r)| r.id.starts_with(query))
        .collect();
    match matches.len() {
        0 => Err(StoreError::NotFound(query.to_owned())),
        1 => matches
            .pop()
            .ok_or_else(|| StoreError::NotFound(query.to_owned())),
        _ => Err(StoreError::Ambiguous {
            query: query.to_owned(),
            ids: matches.into_iter().map(|(_, r)| r.id).collect(),
        }),
    }
}

/// Deletes sessions last active before `cutoff` (never one a live process is recording).
pub fn prune(root: &Path, cutoff: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    let (all, _) = list(root);
    let mut removed = Vec::new();
    for (store, record) in all {
        if record.status == Status::Running || record.updated >= cutoff {
            continue;
        }
        std::fs::remove_dir_all(store.dir()).map_err(|e| StoreError::io(store.dir(), e))?;
        removed.push(record.id);
    }
    Ok(removed)
}

/// The newest resumable session of this scenario and context.
pub fn latest_unfinished(
    root: &Path,
    scenario: &str,
    context: Option<&str>,
) -> Option<(Store, SessionRecord)> {
    list(root).0.into_iter().find(|(_, r)| {
        r.scenario == scenario
            && r.resumable()
            && r.context.as_ref().map(|c| c.name.as_str()) == context
    })
}

/// How long tail output waits in memory before it is written: a trickle is written as it
/// comes, a flood (more than the tail holds between two writes) once a second.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
const FLOOD_FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The most tail bytes held in memory between two writes (a larger tail limit writes older
/// bytes as they leave memory).
const RING_MAX: u64 = 8 * 1024 * 1024;

/// Appends a step's output as it streams, keeping a head and a rotating tail.
pub struct OutputWriter {
    head_path: PathBuf,
    head: File,
    head_len: u64,
    head_limit: u64,
    /// Once output overflowed the head, everything goes to the tail (order is kept).
    in_tail: bool,
    tail: Option<File>,
    tail_len: u64,
    tail_limit: u64,
    previous_tail_len: u64,
    total: u64,
    /// The newest tail bytes, not written yet.
    ring: Ring,
    /// What the tail files hold is older than what the ring alone keeps: dropped at the next
    /// write.
    files_stale: bool,
    last_flush: Instant,
    /// A flush happened inside [`Self::write`] since [`Self::take_flushed`] last asked.
    flushed: bool,
    /// The last flush found the files stale: output is flooding.
    flooding: bool,
}

fn tail_path(head: &Path, n: u8) -> PathBuf {
    let mut s = head.as_os_str().to_owned();
    s.push(format!(".tail.{n}"));
    PathBuf::from(s)
}

impl OutputWriter {
    /// Starts (or restarts) the output file at `path`, bounded to `limit` bytes.
    pub fn create(path: PathBuf, limit: u64) -> std::io::Result<Self> {
        let head = create_file(&path)?;
        for n in 0..2 {
            let _ = std::fs::remove_file(tail_path(&path, n));
        }
        let head_limit = limit / 2;
        let tail_limit = limit.saturating_sub(head_limit).max(1);
        Ok(Self {
            head_path: path,
            head,
            head_len: 0,
            head_limit,
            in_tail: false,
            tail: None,
            tail_len: 0,
            tail_limit,
            previous_tail_len: 0,
            total: 0,
            ring: Ring::new(usize::try_from(tail_limit.min(RING_MAX)).unwrap_or(1)),
            files_stale: false,
            last_flush: Instant::now(),
            flushed: false,
            flooding: false,
        })
    }

    /// Appends complete lines: the head is written at once, the tail at most every
    /// [`FLUSH_EVERY`] (and by [`Self::flush`]).
    pub fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        self.total += bytes.len() as u64;
        if !self.in_tail {
            let room = usize::try_from(self.head_limit - self.head_len).unwrap_or(usize::MAX);
            let take = if bytes.len() <= room {
                bytes.len()
            } else {
                // Cut after the last newline that fits.
                bytes[..room]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1)
            };
            self.head.write_all(&bytes[..take])?;
            self.head_len += take as u64;
            bytes = &bytes[take..];
            if bytes.is_empty() {
                return Ok(());
            }
            self.in_tail = true;
        }
        // Bytes the ring pushes out: dead when the ring alone covers the tail, else written.
        let mut ring = std::mem::take(&mut self.ring);
        let dead = self.tail_limit <= ring.cap as u64;
        let mut result = Ok(());
        ring.push(bytes, &mut |old| {
            if dead {
                self.files_stale = true;
            } else if result.is_ok() {
                result = self.write_tail(old);
            }
        });
        self.ring = ring;
        result?;
        let every = if self.flooding {
            FLOOD_FLUSH_EVERY
        } else {
            FLUSH_EVERY
        };
        if self.last_flush.elapsed() >= every {
            self.flush()?;
            self.flushed = true;
        }
        Ok(())
    }

    /// Did a write flush the tail since the last call? (Then [`Self::kept`] and
    /// [`Self::dropped`] are worth recording: after a crash, the tail files alone cannot tell
    /// how much of a flood was left out.)
    pub fn take_flushed(&mut self) -> bool {
        std::mem::take(&mut self.flushed)
    }

    /// Writes the tail bytes held in memory.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.last_flush = Instant::now();
        // After a flood the ring starts in the middle of a line: the tail starts at the next.
        let mut align = self.files_stale;
        self.flooding = self.files_stale;
        if self.files_stale {
            self.rotate()?;
            self.rotate()?;
            self.files_stale = false;
        }
        let mut ring = std::mem::take(&mut self.ring);
        let mut result = Ok(());
        ring.drain(&mut |mut chunk| {
            if align {
                match chunk.iter().position(|b| *b == b'\n') {
                    Some(p) => {
                        chunk = &chunk[p + 1..];
                        align = false;
                    }
                    None => return,
                }
            }
            if result.is_ok() && !chunk.is_empty() {
                result = self.write_tail(chunk);
            }
        });
        self.ring = ring;
        result
    }

    fn write_tail(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        let len = bytes.len() as u64;
        if len >= self.tail_limit {
            // Only the newest part of this chunk can be kept.
            let skip = usize::try_from(len - self.tail_limit).unwrap_or(0);
            bytes = &bytes[skip..];
            self.rotate()?;
            self.rotate()?;
        } else if self.tail_len + len > self.tail_limit || self.tail.is_none() {
            self.rotate()?;
        }
        if let Some(t) = &mut self.tail {
            t.write_all(bytes)?;
            self.tail_len += bytes.len() as u64;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let current = tail_path(&self.head_path, 0);
        if self.tail.is_some() {
            std::fs::rename(&current, tail_path(&self.head_path, 1))?;
            self.previous_tail_len = self.tail_len;
        }
        self.tail = Some(create_file(&current)?);
        self.tail_len = 0;
        Ok(())
    }

    /// Bytes that a reader will show once written.
    pub fn kept(&self) -> u64 {
        let files = if self.files_stale {
            0
        } else {
            self.tail_len + self.previous_tail_len
        };
        self.head_len + (files + self.ring.len as u64).min(self.tail_limit)
    }

    /// Bytes left out of the middle.
    pub fn dropped(&self) -> u64 {
        self.total.saturating_sub(self.kept())
    }
}

impl Drop for OutputWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The newest `cap` bytes written to it, oldest first.
#[derive(Default)]
struct Ring {
    buf: Vec<u8>,
    start: usize,
    len: usize,
    cap: usize,
}

impl Ring {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            ..Self::default()
        }
    }

    /// Adds `bytes`; `evicted` gets, oldest first, the bytes that no longer fit.
    fn push(&mut self, mut bytes: &[u8], evicted: &mut dyn FnMut(&[u8])) {
        if self.buf.len() < self.cap {
            // Grown on first use only: most steps never print past their head.
            self.buf.resize(self.cap, 0);
        }
        let over = (self.len + bytes.len()).saturating_sub(self.cap);
        let from_ring = over.min(self.len);
        self.evict(from_ring, evicted);
        if over > from_ring {
            let (old, new) = bytes.split_at(over - from_ring);
            evicted(old);
            bytes = new;
        }
        let mut at = (self.start + self.len) % self.cap;
        while !bytes.is_empty() {
            let n = bytes.len().min(self.cap - at);
            self.buf[at..at + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            at = (at + n) % self.cap;
        }
    }

    fn evict(&mut self, mut n: usize, evicted: &mut dyn FnMut(&[u8])) {
        while n > 0 && self.len > 0 {
            let run = n.min(self.cap - self.start).min(self.len);
            evicted(&self.buf[self.start..self.start + run]);
            self.start = (self.start + run) % self.cap;
            self.len -= run;
            n -= run;
        }
    }

    /// Hands over everything, oldest first, and empties the ring.
    fn drain(&mut self, out: &mut dyn FnMut(&[u8])) {
        self.evict(self.len, out);
        self.start = 0;
    }
}

/// A step's output as kept: the head, what was left out, the tail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptOutput {
    pub head: String,
    /// Bytes left out between head and tail.
    pub dropped: u64,
    pub tail: String,
}

impl KeptOutput {
    pub fn total_kept(&self) -> usize {
        self.head.len() + self.tail.len()
    }
}

/// Reads what an [`OutputWriter`] with this tail limit left at `path` (also after a crash).
pub fn read_output(path: &Path, limit: u64) -> std::io::Result<KeptOutput> {
    let head = std::fs::read(path)?;
    let newer = std::fs::read(tail_path(path, 0)).unwrap_or_default();
    let older_path = tail_path(path, 1);
    let older_len = std::fs::metadata(&older_path).map_or(0, |m| m.len());
    let mut dropped = 0;
    let mut tail = Vec::new();
    if older_len > 0 {
        let want_from_older = limit.saturating_sub(newer.len() as u64).min(older_len);
        dropped = older_len - want_from_older;
        let mut f = File::open(&older_path)?;
        f.seek(SeekFrom::Start(dropped))?;
        f.take(want_from_older).read_to_end(&mut tail)?;
    }
    tail.extend_from_slice(&newer);
    if dropped > 0 {
        // Start the tail at a line.
        if let Some(p) = tail.iter().position(|b| *b == b'\n') {
            dropped += p as u64 + 1;
            tail.drain(..=p);
        }
    }
    Ok(KeptOutput {
        head: String::from_utf8_lossy(&head).into_owned(),
        dropped,
        tail: String::from_utf8_lossy(&tail).into_owned(),
    })
}
