//! The session's journal: what changed since `session.json` was last written, one JSON line per
//! change, appended.
//!
//! Rewriting the whole state after every event cost a temp file, a rename and two fsyncs each
//! time, and grew with the session. Instead a change (one step's record, the variables) is one
//! `write` at the end of `journal-<gen>.jsonl`, so it is in the file (what `kill -9` cannot take
//! away) before the engine goes on. Flushing to the device is a group commit: a thread of its own
//! runs `fdatasync` whenever a finished step asked for it ([`Journal::commit`]), covering every
//! line appended before it started, so at most once per finished step and usually less, while
//! the next step runs. At the end of a run the state is folded back into `session.json`
//! (written and synced atomically), which makes the journal obsolete; dropping a journal waits
//! for a flush in progress.
//!
//! Reading ([`replay`]) applies the lines in order to the state they were written against; a
//! torn last line (the machine stopped mid-write) ends the replay. To journal one more kind of
//! change, add a variant to [`Change`] and its arm in [`replay`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SessionRecord, StepRecord, VarRecord};

/// The journal of generation `generation` in `dir`.
pub fn path(dir: &Path, generation: &str) -> PathBuf {
    dir.join(format!("journal-{generation}.jsonl"))
}

/// Is this file name a journal (of any generation)?
pub fn is_journal(name: &str) -> bool {
    name.starts_with("journal-")
        && std::path::Path::new(name)
            .extension()
            .is_some_and(|e| e == "jsonl")
}

/// A new generation name: unique within the folder.
pub fn new_generation() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!("{:08x}", u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// One line of the journal, as written.
#[derive(Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
enum ChangeOut<'a> {
    Step {
        #[serde(with = "super::time")]
        at: DateTime<Utc>,
        index: usize,
        step: &'a StepRecord,
    },
    Vars {
        #[serde(with = "super::time")]
        at: DateTime<Utc>,
        vars: &'a BTreeMap<String, VarRecord>,
    },
}

/// One line of the journal, as read.
#[derive(Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
enum Change {
    Step {
        #[serde(with = "super::time")]
        at: DateTime<Utc>,
        index: usize,
        step: Box<StepRecord>,
    },
    Vars {
        #[serde(with = "super::time")]
        at: DateTime<Utc>,
        vars: BTreeMap<String, VarRecord>,
    },
}

/// A journal line for step `index` of `record`.
pub fn step_line(record: &SessionRecord, index: usize) -> Option<Vec<u8>> {
    let step = record.steps.get(index)?;
    line(&ChangeOut::Step {
        at: record.updated,
        index,
        step,
    })
}

/// A journal line for the variables of `record`.
pub fn vars_line(record: &SessionRecord) -> Option<Vec<u8>> {
    line(&ChangeOut::Vars {
        at: record.updated,
        vars: &record.vars,
    })
}

fn line(change: &ChangeOut<'_>) -> Option<Vec<u8>> {
    let mut bytes = serde_json::to_vec(change).ok()?;
    bytes.push(b'\n');
    Some(bytes)
}

/// Applies the journal's lines to `record`; stops at the first line that does not parse (a
/// write the machine did not finish).
pub fn replay(record: &mut SessionRecord, bytes: &[u8]) {
    for line in bytes.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let Ok(change) = serde_json::from_slice::<Change>(line) else {
            break;
        };
        match change {
            Change::Step { at, index, step } => {
                // Bounded by the journal's own size: each index is written by a real step.
                if index > record.steps.len() + 100_000 {
                    break;
                }
                while record.steps.len() <= index {
                    record.steps.push(StepRecord::default());
                }
                record.steps[index] = *step;
                record.updated = record.updated.max(at);
            }
            Change::Vars { at, vars } => {
                record.vars = vars;
                record.updated = record.updated.max(at);
            }
        }
    }
}

/// What the syncing thread and the writer share.
#[derive(Default)]
struct SyncState {
    /// Appends made, and appends known to be on the device.
    requested: u64,
    synced: u64,
    file: Option<Arc<File>>,
    error: Option<std::io::Error>,
    stop: bool,
}

type Shared = Arc<(Mutex<SyncState>, Condvar)>;

/// The open journal of one session.
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    /// Bytes appended so far.
    pub len: u64,
    shared: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Journal {
    /// The journal at `path`; the file is created with the first append.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            len: 0,
            shared: Arc::new((Mutex::new(SyncState::default()), Condvar::new())),
            thread: None,
        }
    }

    /// Appends `bytes` with one `write`; a later [`Self::commit`] gets them to the device.
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            let file = super::open_append(&self.path)?;
            let for_sync = Arc::new(file.try_clone()?);
            lock(&self.shared).file = Some(for_sync);
            self.file = Some(file);
        }
        if let Some(f) = &mut self.file {
            f.write_all(bytes)?;
            self.len += bytes.len() as u64;
        }
        Ok(())
    }

    /// Asks for what was appended so far to reach the device (group commit: returns at once).
    pub fn commit(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        if self.thread.is_none() {
            let shared = self.shared.clone();
            self.thread = Some(
                std::thread::Builder::new()
                    .name("session-sync".to_owned())
                    .spawn(move || sync_loop(&shared))?,
            );
        }
        let (state, wake) = &*self.shared;
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        s.requested += 1;
        wake.notify_all();
        match s.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        {
            let (state, wake) = &*self.shared;
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            s.stop = true;
            wake.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, SyncState> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The group-commit thread: one `fdatasync` covers every append made before it started.
fn sync_loop(shared: &Shared) {
    let (state, wake) = &**shared;
    let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        while s.synced == s.requested && !s.stop {
            s = wake.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if s.synced == s.requested {
            return;
        }
        let target = s.requested;
        let file = s.file.clone();
        drop(s);
        let result = file.map_or(Ok(()), |f| f.sync_data());
        s = state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = result {
            s.error = Some(e);
        }
        s.synced = target;
        wake.notify_all();
    }
}
