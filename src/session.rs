//! Sessions: every run of a scenario against a context, persisted so that it survives the
//! terminal, a crash or `kill -9`, and can be resumed, reported and exported.
//!
//! - [`store`] owns the folder layout and the files: `session.json` (the state, written
//!   atomically when a run starts and ends), its [`journal`] (each change in between, one
//!   appended line; one `fdatasync` per finished step at most, by group commit) and one output
//!   file per step (appended as the output streams, bounded to a head and a tail). Recording a
//!   change costs the same whatever the session holds and whatever the step printed.
//! - [`Recorder`] turns the engine's [`Event`]s into that state; [`Recorded`] wraps any
//!   [`Host`] so that the headless `runbook run` and the TUI record the same way. A change is
//!   in the journal file before the engine goes on, so `kill -9` loses no finished step.
//! - [`redact`] removes secrets (secret variables, tokens, passwords, keys, Secret data) from
//!   anything that leaves the session; [`report`] writes the Markdown/JSON transcript for a
//!   ticket; [`export`] writes a scenario as a numbered copy-paste checklist.
//!
//! Where: `$RUNBOOK_DATA_DIR/sessions/<id>/` when that variable is set, else the platform's data
//! folder (`~/.local/share/runbook/sessions/<id>/` on Linux). To record one more fact about a
//! step, add a field with `#[serde(default)]` to [`store::StepRecord`] and fill it in
//! [`Recorder::record`]; old session files keep loading.

pub mod cleanup;
pub mod export;
pub mod redact;
pub mod report;
pub mod store;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

use crate::exec::process::Terminal;
use crate::exec::runner::{Event, Host, Verdict};
use crate::exec::vars::Vars;
pub use store::{
    CommandRecord, ContextInfo, OutputWriter, SessionRecord, Status, StepEdit, StepRecord,
    StepState, Store, StoreError, VarRecord,
};

/// Default bound of the output kept per step (head plus tail).
pub const DEFAULT_OUTPUT_LIMIT: u64 = 16 * 1024 * 1024;
/// A journal this long is folded into `session.json` (which then starts a new one).
const FOLD_AT: u64 = 4 * 1024 * 1024;

/// The kube context the commands will talk to, from the kubeconfig in effect (`KUBECONFIG`
/// or `~/.kube/config`). One small function on purpose: the pinned context replaces it.
pub fn current_context() -> Option<ContextInfo> {
    current_context_of(None)
}

/// [`current_context`] of a given kubeconfig file (a lab's), or of the one in effect.
pub fn current_context_of(kubeconfig: Option<&std::path::Path>) -> Option<ContextInfo> {
    let config = match kubeconfig {
        Some(path) => kube::config::Kubeconfig::read_from(path).ok()?,
        None => kube::config::Kubeconfig::read().ok()?,
    };
    let name = config.current_context.clone()?;
    let cluster = config
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone());
    let server = cluster.and_then(|cluster| {
        config
            .clusters
            .iter()
            .find(|c| c.name == cluster)
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone())
    });
    Some(ContextInfo { name, server })
}

/// Who runs it: `$USER` (or `$LOGNAME`) and the host name.
pub fn who() -> (String, String) {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    (user, host)
}

/// Turns engine events into the persisted session: each change appended to the journal.
pub struct Recorder {
    store: Store,
    record: SessionRecord,
    journal: store::journal::Journal,
    /// Output writer of the step that is running.
    output: Option<(usize, OutputWriter)>,
    /// The mode steps run under now (recorded on each step as it starts).
    mode: String,
    /// The last save error, reported once by whoever drives the recorder.
    pub error: Option<StoreError>,
}

impl Recorder {
    /// Creates the session folder's state and its (empty) journal.
    pub fn create(store: Store, mut record: SessionRecord) -> Result<Self, StoreError> {
        store.compact(&mut record)?;
        let journal = store::journal::Journal::new(
            store
                .journal_path(&record)
                .unwrap_or_else(|| store.dir().join("journal.jsonl")),
        );
        Ok(Self {
            store,
            mode: record.mode.clone(),
            record,
            journal,
            output: None,
            error: None,
        })
    }

    /// Continues an existing session (resume): the same folder, the same id.
    pub fn resume(store: Store, mut record: SessionRecord) -> Self {
        record.status = Status::Running;
        record.pid = Some(std::process::id());
        let journal = store::journal::Journal::new(store.dir().join("journal.jsonl"));
        let mut me = Self {
            store,
            mode: record.mode.clone(),
            record,
            journal,
            output: None,
            error: None,
        };
        me.save();
        me
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The mode the next steps run under (the TUI's `m`); each step records its own.
    pub fn set_mode(&mut self, label: &str) {
        label.clone_into(&mut self.mode);
    }

    pub fn record_ref(&self) -> &SessionRecord {
        &self.record
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Writes the whole state to `session.json` now (folding the journal into it); a failure
    /// is kept in [`Self::error`] (the run goes on).
    pub fn save(&mut self) {
        self.record.updated = Utc::now();
        match self.store.compact(&mut self.record) {
            Ok(()) => {
                if let Some(path) = self.store.journal_path(&self.record) {
                    // The old journal's changes are in the state now.
                    self.journal = store::journal::Journal::new(path);
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Appends one change to the journal.
    fn append(&mut self, line: Option<Vec<u8>>) {
        let Some(line) = line else { return };
        if let Err(e) = self.journal.append(&line) {
            self.error = Some(StoreError::io(self.store.dir(), e));
        }
        if self.journal.len > FOLD_AT {
            self.save();
        }
    }

    /// Journals the state of step `index`.
    fn log_step(&mut self, index: usize) {
        self.record.updated = Utc::now();
        let line = store::journal::step_line(&self.record, index);
        self.append(line);
    }

    /// Plain values are kept; secret ones only by name (asked again on resume).
    pub fn set_vars(&mut self, vars: &Vars) {
        self.record.vars = vars
            .iter()
            .map(|(name, v)| {
                (
                    name.clone(),
                    VarRecord {
                        value: (!v.secret).then(|| v.value.clone()),
                        secret: v.secret,
                        origin: Some(v.origin),
                    },
                )
            })
            .collect();
        self.record.updated = Utc::now();
        let line = store::journal::vars_line(&self.record);
        self.append(line);
    }

    /// The commands now talk to another context (a step re-pointed `KUBECONFIG`).
    pub fn set_context(&mut self, context: Option<ContextInfo>) {
        self.record.context = context;
        self.save();
    }

    /// A note on step `step` (replaces the previous one; empty removes it).
    pub fn set_note(&mut self, step: usize, note: &str) {
        if let Some(s) = self.record.steps.get_mut(step) {
            note.clone_into(&mut s.notes);
            self.log_step(step);
        }
    }

    /// Step `step` runs the user's text in place of one of its blocks (already masked): kept
    /// so that resuming the session puts the edit back.
    pub fn set_edit(&mut self, step: usize, edit: StepEdit) {
        if let Some(s) = self.record.steps.get_mut(step) {
            s.edit = Some(edit);
            self.log_step(step);
        }
    }

    /// The run stopped before its end (signal, terminal gone, quit while running).
    pub fn interrupt(&mut self) {
        self.output = None;
        self.record.interrupt();
        self.save();
    }

    /// Records one event for step `index` of the session (the event's own step index).
    pub fn record(&mut self, index: usize, event: &Event) {
        let now = Utc::now();
        match event {
            Event::StepStarted { number, title, .. } => {
                let mode = self.mode.clone();
                let dir = self.store.dir().to_owned();
                let step = self.record.step_mut(index, number, title);
                keep_attempt(step, &dir);
                step.mode = Some(mode);
                step.edit = None;
                step.state = StepState::Running;
                step.verdict = None;
                step.reasons.clear();
                step.commands.clear();
                step.started = Some(now);
                step.finished = None;
                let file = store::output_file_name(index);
                step.output = Some(file.clone());
                step.bytes_kept = 0;
                step.bytes_dropped = 0;
                match OutputWriter::create(self.store.dir().join(&file), self.record.output_limit) {
                    Ok(w) => self.output = Some((index, w)),
                    Err(e) => self.error = Some(StoreError::io(self.store.dir(), e)),
                }
                self.log_step(index);
            }
            Event::CommandStarted {
                block,
                line,
                command,
                destructive,
                ..
            } => {
                if let Some(step) = self.record.steps.get_mut(index) {
                    step.commands.push(CommandRecord {
                        block: *block,
                        line: *line,
                        command: command.clone(),
                        destructive: *destructive,
                        ..CommandRecord::default()
                    });
                }
                self.write_output(index, format!("$ {}\n", command.trim_end()).as_bytes());
                self.log_step(index);
            }
            Event::Output { text, .. } => self.write_output(index, text.as_bytes()),
            // Steps on every node: each node's lines, prefixed with its name, and the verdict
            // of the comparison as a notice of the step.
            Event::NodeStarted { node, command, .. } => {
                self.write_output(
                    index,
                    format!("[{node}] $ {}\n", command.trim_end()).as_bytes(),
                );
            }
            Event::NodeOutput { node, text, .. } => {
                let mut prefixed = String::new();
                for line in text.lines() {
                    prefixed.push('[');
                    prefixed.push_str(node);
                    prefixed.push_str("] ");
                    prefixed.push_str(line);
                    prefixed.push('\n');
                }
                self.write_output(index, prefixed.as_bytes());
            }
            Event::NodesCompared { report, .. } => {
                if let Some(step) = self.record.steps.get_mut(index) {
                    step.notices.push(format!("nodes: {}", report.summary));
                }
                self.log_step(index);
            }
            Event::Progress { .. } | Event::Summary(_) | Event::NodeFinished { .. } => {}
            Event::CommandFinished {
                block,
                outcome,
                failures,
                output,
                ..
            } => {
                if let Some(cmd) = self
                    .record
                    .steps
                    .get_mut(index)
                    .and_then(|s| s.commands.iter_mut().rev().find(|c| c.block == *block))
                {
                    cmd.exit_code = outcome.exit_code;
                    cmd.signal = outcome.signal;
                    cmd.pipestatus.clone_from(&outcome.pipestatus);
                    cmd.duration_ms = Some(millis(outcome.duration));
                    cmd.timed_out = outcome.timed_out;
                    cmd.failures.clone_from(failures);
                    cmd.output_match = store::OutputCheck::from(output);
                }
                self.sync_output(index);
                self.log_step(index);
            }
            Event::Notice { text, .. } => {
                if let Some(step) = self.record.steps.get_mut(index) {
                    step.notices.push(text.clone());
                }
                self.log_step(index);
            }
            Event::StepFinished {
                number,
                verdict,
                reasons,
                ..
            } => {
                self.sync_output(index);
                if self.output.as_ref().is_some_and(|(i, _)| *i == index) {
                    self.output = None;
                }
                let step = self.record.step_mut(index, number, "");
                step.state = StepState::Done;
                step.verdict = Some(*verdict);
                step.reasons.clone_from(reasons);
                step.finished = Some(now);
                self.log_step(index);
                // The finished step goes to the device while the next one runs.
                if let Err(e) = self.journal.commit() {
                    self.error = Some(StoreError::io(self.store.dir(), e));
                }
            }
        }
    }

    /// The user settled step `index` without running it: ticked off by hand
    /// ([`Verdict::Manual`]) or skipped.
    pub fn mark(&mut self, index: usize, number: &str, title: &str, verdict: Verdict) {
        let step = self.record.step_mut(index, number, title);
        step.state = StepState::Done;
        step.verdict = Some(verdict);
        step.reasons = vec![
            if verdict == Verdict::Skipped {
                "skipped by the user"
            } else {
                "done by hand"
            }
            .to_owned(),
        ];
        step.finished = Some(Utc::now());
        self.save();
    }

    /// The whole run is over.
    pub fn finish(&mut self) {
        self.output = None;
        self.record.status = if self.record.steps.iter().any(|s| s.state != StepState::Done) {
            Status::Unfinished
        } else {
            Status::Finished
        };
        self.record.pid = None;
        self.save();
    }

    /// Leaves the session open (the TUI: the user may run more steps later).
    pub fn pause(&mut self) {
        self.output = None;
        self.record.status = if self.record.steps.iter().all(|s| s.state == StepState::Done)
            && !self.record.steps.is_empty()
        {
            Status::Finished
        } else {
            Status::Unfinished
        };
        self.record.pid = None;
        self.save();
    }

    fn write_output(&mut self, index: usize, bytes: &[u8]) {
        let mut flushed = false;
        if let Some((i, w)) = &mut self.output
            && *i == index
        {
            if let Err(e) = w.write(bytes) {
                self.error = Some(StoreError::io(self.store.dir(), e));
            }
            flushed = w.take_flushed();
        }
        if flushed {
            // A flood's tail reached the files: what was left out goes on record with it.
            self.sync_output(index);
            self.log_step(index);
        }
    }

    fn sync_output(&mut self, index: usize) {
        if let Some((i, w)) = &mut self.output
            && *i == index
        {
            if let Err(e) = w.flush() {
                self.error = Some(StoreError::io(self.store.dir(), e));
            }
            if let Some(step) = self.record.steps.get_mut(index) {
                step.bytes_kept = w.kept();
                step.bytes_dropped = w.dropped();
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A [`Host`] that records every event before passing it on.
pub struct Recorded<'a, H: Host + ?Sized> {
    pub inner: &'a mut H,
    pub recorder: Option<&'a mut Recorder>,
}

impl<H: Host + ?Sized> Host for Recorded<'_, H> {
    fn emit(&mut self, event: Event) {
        if let Some(r) = self.recorder.as_deref_mut() {
            let index = event_step(&event).unwrap_or(0);
            r.record(index, &event);
        }
        self.inner.emit(event);
    }

    fn terminal(&mut self) -> &mut dyn Terminal {
        self.inner.terminal()
    }
}

/// The step index an event is about.
pub fn event_step(event: &Event) -> Option<usize> {
    match event {
        Event::StepStarted { step, .. }
        | Event::CommandStarted { step, .. }
        | Event::Output { step, .. }
        | Event::Progress { step, .. }
        | Event::CommandFinished { step, .. }
        | Event::Notice { step, .. }
        | Event::StepFinished { step, .. }
        | Event::NodeStarted { step, .. }
        | Event::NodeOutput { step, .. }
        | Event::NodeFinished { step, .. }
        | Event::NodesCompared { step, .. } => Some(*step),
        Event::Summary(_) => None,
    }
}

/// A step that ran before is about to run again: its last run becomes an attempt, its
/// output's head kept as `step-NNN.attempt-K.out` (the new run's output takes the step's file).
fn keep_attempt(step: &mut store::StepRecord, dir: &std::path::Path) {
    if step.started.is_none() || step.verdict.is_none() {
        return;
    }
    let output = step.output.as_ref().and_then(|file| {
        let kept = file.replace(".out", &format!(".attempt-{}.out", step.attempts.len() + 1));
        std::fs::rename(dir.join(file), dir.join(&kept))
            .ok()
            .map(|()| kept)
    });
    step.attempts.push(store::Attempt {
        verdict: step.verdict,
        started: step.started,
        finished: step.finished,
        mode: step.mode.clone(),
        exit_codes: step.commands.iter().map(|c| c.exit_code).collect(),
        output,
    });
}

/// The sessions folder: `$RUNBOOK_DATA_DIR/sessions`, else the platform data folder's.
pub fn sessions_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RUNBOOK_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("sessions"));
    }
    directories::ProjectDirs::from("", "", "runbook").map(|d| d.data_dir().join("sessions"))
}
