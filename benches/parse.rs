//! Parsing throughput against the floor: bare pulldown-cmark event iteration over the same
//! bytes in the same run. Target: our parse at most 2x that time.
//!
//! Corpus: every bundled runbook and every parser fixture.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pulldown_cmark::{Options, Parser};
use runbook::runbook::parse;

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

criterion_group!(benches, bench);
criterion_main!(benches);
