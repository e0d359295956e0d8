//! Session benchmarks: the save after a step must not depend on how much output is already
//! on disk, and resuming a big session must stay cheap.
//!
//! - `session_save/after_step_1KB` vs `session_save/after_step_50MB`: the recorder's save on
//!   `step_finished` for a 50-step session whose output files hold 1 KB or 50 MB in all
//!   (ratio should be ~1: only `session.json` is rewritten).
//! - `session_resume/*`: loading a 50-step session with 50 MB of output and the tail of each
//!   step's output (what a resumed screen shows), against the baselines of reading
//!   `session.json` alone and parsing it with `serde_json`.
//! - `session_report/*`: `runbook report` (Markdown, redacted) of a 50-step session whose
//!   outputs hold 50 MB of realistic kubectl and journalctl lines in all, against the baseline
//!   of reading each step's kept output (head and tail) from disk. Goal: under 1 s.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use runbook::exec::runner::{Event, Verdict};
use runbook::session::store::{self, SessionRecord, StepState, Store};
use runbook::session::{OutputWriter, Recorder};

const STEPS: usize = 50;
/// Bytes of output shown per step when a session is resumed.
const RESUME_TAIL: u64 = 64 * 1024;

/// A finished-looking 50-step session whose outputs hold `total` bytes in all.
fn session(root: &Path, total: usize) -> (Store, SessionRecord) {
    let mut record = SessionRecord::new("bench/scenario", Path::new("bench.md"), "confirm");
    let store = Store::create(root, &record.id).unwrap_or_else(|e| panic!("{e}"));
    let per_step = total / STEPS;
    let line = "0123456789 abcdefghij klmnopqrst uvwxyz ABCDEFGHIJ KLMNOPQRST UVWXYZ 0123456789\n";
    for i in 0..STEPS {
        let step = record.step_mut(i, &(i + 1).to_string(), "Check the pods of the namespace");
        step.state = StepState::Done;
        step.verdict = Some(Verdict::Passed);
        step.output = Some(store::output_file_name(i));
        let mut w = OutputWriter::create(
            store.dir().join(store::output_file_name(i)),
            runbook::session::DEFAULT_OUTPUT_LIMIT,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut written = 0;
        let chunk = line.repeat(64);
        while written < per_step {
            let part = &chunk[..chunk.len().min(per_step - written).max(1)];
            w.write(part.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            written += part.len();
        }
        step.bytes_kept = w.kept();
    }
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    (store, record)
}

/// A 50-step session whose outputs hold `total` bytes of the redaction corpus's lines.
fn realistic_session(root: &Path, total: usize) -> (Store, SessionRecord) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redact/corpus");
    let mut corpus = String::new();
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        corpus.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    let mut record = SessionRecord::new("bench/report", Path::new("bench.md"), "confirm");
    let store = Store::create(root, &record.id).unwrap_or_else(|e| panic!("{e}"));
    let per_step = total / STEPS;
    for i in 0..STEPS {
        let step = record.step_mut(i, &(i + 1).to_string(), "Look at the failing pods");
        step.state = StepState::Done;
        step.verdict = Some(Verdict::Passed);
        step.output = Some(store::output_file_name(i));
        step.commands.push(store::CommandRecord {
            command: "kubectl get pods -A -o wide && journalctl -u kubelet -n 5000".to_owned(),
            exit_code: Some(0),
            duration_ms: Some(1200),
            ..store::CommandRecord::default()
        });
        let mut w = OutputWriter::create(
            store.dir().join(store::output_file_name(i)),
            runbook::session::DEFAULT_OUTPUT_LIMIT,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut written = 0;
        while written < per_step {
            w.write(corpus.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            written += corpus.len();
        }
        step.bytes_kept = w.kept();
        step.bytes_dropped = w.dropped();
    }
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    (store, record)
}

fn report(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, record) = realistic_session(dir.path(), 50_000_000);
    let mut group = c.benchmark_group("session_report");
    group.sample_size(10);
    group.bench_function("baseline_read_kept_outputs", |b| {
        b.iter(|| {
            let bytes: usize = record
                .steps
                .iter()
                .filter_map(|s| store.output(&record, s))
                .map(|k| k.total_kept())
                .sum();
            black_box(bytes)
        });
    });
    group.bench_function("markdown_50_steps_50MB", |b| {
        b.iter(|| {
            let redactor = runbook::session::report::redactor(&[]);
            black_box(runbook::session::report::markdown(&store, &record, &redactor).len())
        });
    });
    group.finish();
}

fn finished(step: usize) -> Event {
    Event::StepFinished {
        step,
        number: (step + 1).to_string(),
        verdict: Verdict::Passed,
        reasons: Vec::new(),
        dropped_lines: 0,
    }
}

fn save(c: &mut Criterion) {
    let mut group = c.benchmark_group("session_save");
    for (name, total) in [("after_step_1KB", 1024), ("after_step_50MB", 50 << 20)] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (store, record) = session(dir.path(), total);
        let mut recorder = Recorder::resume(store, record);
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                recorder.record(i % STEPS, black_box(&finished(i % STEPS)));
                i += 1;
            });
        });
        assert!(recorder.error.is_none(), "{:?}", recorder.error);
    }
    group.finish();
}

fn resume(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, _) = session(dir.path(), 50 << 20);
    let state = store.dir().join(store::STATE_FILE);
    let mut group = c.benchmark_group("session_resume");
    group.bench_function("baseline_read_session_json", |b| {
        b.iter(|| black_box(std::fs::read(&state).unwrap_or_default()));
    });
    group.bench_function("baseline_parse_session_json", |b| {
        b.iter(|| {
            let bytes = std::fs::read(&state).unwrap_or_default();
            black_box(serde_json::from_slice::<SessionRecord>(&bytes).ok())
        });
    });
    group.bench_function("load_50_steps_50MB_with_tails", |b| {
        b.iter(|| {
            let record = store.load().unwrap_or_else(|e| panic!("{e}"));
            let shown: usize = record
                .steps
                .iter()
                .filter_map(|s| store.output_tail(s, RESUME_TAIL))
                .map(|t| t.len())
                .sum();
            black_box(shown)
        });
    });
    group.finish();
}

criterion_group!(benches, save, resume, report);
criterion_main!(benches);
