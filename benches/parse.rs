//! Parsing throughput against the floor: bare pulldown-cmark event iteration over the same
//! bytes in the same run. Target: our parse at most 2x that time.
//!
//! - `runbook_parse`: `parse()` as every loader calls it. The YAML front matter is found and
//!   kept as text, not read: it is read on first use of a field (`Runbook::front_matter`,
//!   `title`, `warnings`).
//! - `runbook_parse_and_front_matter`: the same, then the front matter read, as a cold catalog
//!   load or `lint` does: the whole cost of a file.
//! - `runbook_parse_without_front_matter`: the files with their front matter blanked.
//!
//! Corpus: every bundled runbook and every parser fixture.
//!
//! `hostile`: what loading, showing and linting a file costs (parse, the engine's safety
//! classification of every block, lint without shellcheck) for a plain 1 MiB runbook and for
//! 1 MiB files built to hurt: `$(` nested 350,000 deep, front matter nested 500,000 deep, and
//! 100,000 placeholders. Goal: each well under a second, and close to the plain file.

use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pulldown_cmark::{Options, Parser};
use runbook::runbook::{Scenario, parse};

#[path = "../tests/hostile_support/mod.rs"]
mod hostile_support;
use hostile_support::{MIB, deep_front_matter, deep_substitution, many_placeholders};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        "runbooks/enterprise",
        "runbooks/pcg",
        "runbooks/packs",
        "runbooks/vmware",
        "tests/fixtures/mdx",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                files.push((entry.path().display().to_string(), bytes));
            }
        }
    }
    files.sort();
    files
}

fn bench(c: &mut Criterion) {
    let files = corpus();
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("pulldown_cmark_events", |b| {
        b.iter(|| {
            let mut events = 0usize;
            for (_, bytes) in &files {
                let text = String::from_utf8_lossy(bytes);
                events += Parser::new_ext(&text, Options::all()).count();
            }
            black_box(events)
        });
    });
    group.bench_function("runbook_parse", |b| {
        b.iter(|| {
            let mut scenarios = 0usize;
            for (path, bytes) in &files {
                scenarios += parse(bytes, Path::new(path)).scenarios.len();
            }
            black_box(scenarios)
        });
    });
    group.bench_function("runbook_parse_and_front_matter", |b| {
        b.iter(|| {
            let mut read = 0usize;
            for (path, bytes) in &files {
                let runbook = parse(bytes, Path::new(path));
                read += runbook.front_matter().symptoms.len() + runbook.warnings().len();
            }
            black_box(read)
        });
    });
    // The same files with their YAML front matter blanked (line numbers kept): the Markdown
    // parse alone, since serde_yaml's share is not ours to shrink.
    let bodies: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, b)| (p.clone(), blank_front_matter(b)))
        .collect();
    group.bench_function("runbook_parse_without_front_matter", |b| {
        b.iter(|| {
            let mut scenarios = 0usize;
            for (path, bytes) in &bodies {
                scenarios += parse(bytes, Path::new(path)).scenarios.len();
            }
            black_box(scenarios)
        });
    });
    group.finish();
}

fn blank_front_matter(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let Some(rest) = text.strip_prefix("---\n") else {
        return bytes.to_vec();
    };
    let Some(end) = rest.find("\n---\n") else {
        return bytes.to_vec();
    };
    let blank = "\n".repeat(rest[..end].lines().count() + 2);
    format!("{blank}{}", &rest[end + 5..]).into_bytes()
}

/// A plain runbook of 1 MiB: scenarios of realistic steps, commands and outputs.
fn plain() -> String {
    let mut text = String::from("---\ntitle: Plain\ntags: [a, b]\n---\n\n");
    let mut n = 0;
    while text.len() < MIB - 2048 {
        n += 1;
        let _ = write!(
            text,
            "## Scenario - Pods Stuck in Namespace {n}\n\nPods of the namespace never start and the \
             events say the admission controller refused them.\n\n### Debug Steps\n\n\
             1. List the pods that are not running and note their namespace.\n\n   ```bash\n   \
             kubectl get pods --all-namespaces --field-selector status.phase!=Running\n   ```\n\n   \
             ```text title=\"Example output\"\n   NAME                         READY   STATUS    \
             RESTARTS   AGE\n   lb-metallb-speaker-abcde     0/1     Pending   0          3m\n   ```\n\n\
             2. Label the namespace. Replace `<namespace>` with the namespace from step 1.\n\n   \
             ```bash\n   kubectl label namespace <namespace> pod-security.kubernetes.io/enforce=privileged --overwrite\n   ```\n\n"
        );
    }
    text
}

/// What `runbook show` and `lint`, and the TUI opening a scenario, do with a file.
fn load_and_check(text: &str) -> usize {
    let r = parse(text.as_bytes(), Path::new("bench.md"));
    let mut n = 0;
    for b in r.scenarios.iter().flat_map(Scenario::all_blocks) {
        n += usize::from(
            runbook::exec::classify_block(b, runbook::exec::safety::Trust::Local).destructive,
        );
    }
    n + runbook::lint::lint_runbook(&r, runbook::lint::Options { shellcheck: false }).len()
}

fn hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile");
    group.sample_size(10);
    for (name, text) in [
        ("plain_1mib", plain()),
        ("nested_substitution_1mib", deep_substitution()),
        ("nested_front_matter_1mib", deep_front_matter()),
        ("placeholders_100k_1mib", many_placeholders()),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| black_box(load_and_check(&text))));
    }
    group.finish();
}

criterion_group!(benches, bench, hostile);
criterion_main!(benches);
