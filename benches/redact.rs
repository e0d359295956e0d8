//! Redaction throughput: a 16 MiB step output (the session's default bound) made of the
//! false-positive corpus (`tests/fixtures/redact/corpus/`, realistic kubectl and journalctl
//! output) repeated, with a few secrets of several kinds mixed in.
//!
//! - `redact_16MiB/baseline_memchr_lines`: a plain `memchr` line split of the same bytes (every
//!   line visited, its length summed): the floor any line-oriented pass pays.
//! - `redact_16MiB/redact`: [`Redactor::redact`] over the same text.
//!
//! Run: `cargo bench --bench redact`. Goal: redaction at >= 100 MiB/s (criterion prints the
//! throughput of both; the ratio of their medians is the cost over the floor).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runbook::session::redact::Redactor;

const SIZE: usize = 16 * 1024 * 1024;

/// The corpus, repeated to `SIZE` bytes, with one line in 500 carrying a secret.
fn input() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redact/corpus");
    let mut corpus = String::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names {
        corpus.push_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")));
    }
    let secrets = [
        format!(
            "aws_secret_access_key = {}",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1"
        ),
        format!(
            "export GITHUB_TOKEN=ghp_{}",
            "x7Kq2mPzR4vL9wN3bT6yH8jD1fC5gS0aE2uQ"
        ),
        format!(
            "Authorization: Bearer {}",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlMTIz"
        ),
        "mysql -h db.internal -u root -pS3cr3tPassw0rd -e 'select 1'".to_owned(),
        "    password: hunter2-but-longer".to_owned(),
    ];
    let mut out = String::with_capacity(SIZE + 4096);
    let mut n = 0usize;
    while out.len() < SIZE {
        for line in corpus.lines() {
            out.push_str(line);
            out.push('\n');
            n += 1;
            if n.is_multiple_of(500) {
                out.push_str(&secrets[(n / 500) % secrets.len()]);
                out.push('\n');
            }
            if out.len() >= SIZE {
                break;
            }
        }
    }
    out
}

fn redact(c: &mut Criterion) {
    let text = input();
    let mut group = c.benchmark_group("redact_16MiB");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("baseline_memchr_lines", |b| {
        b.iter(|| {
            let bytes = black_box(text.as_bytes());
            let mut start = 0;
            let mut total = 0usize;
            for end in memchr::memchr_iter(b'\n', bytes) {
                total += black_box(&bytes[start..end]).len();
                start = end + 1;
            }
            black_box(total)
        });
    });
    group.bench_function("redact", |b| {
        b.iter(|| {
            let redactor = Redactor::new(["a-secret-variable-value"]);
            black_box(redactor.redact(black_box(&text)).len())
        });
    });
    group.finish();
}

criterion_group!(benches, redact);
criterion_main!(benches);
