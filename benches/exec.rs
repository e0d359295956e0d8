//! Engine benchmarks (in-process): per-command overhead of `process::run` and of a one-step
//! `Runner` (env capture included), output throughput through the bounded buffer, and the
//! pure functions (classify, fill, mask). Whole-process numbers (`runbook run` against bash
//! and `mask`) come from `benches/exec_whole_process.sh`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runbook::drive::{Driver, Procedure, Setup};
use runbook::exec::output::{Limits, OutputBuffer, Stream};
use runbook::exec::process::{self, Cancel, CommandSpec, OutputSink};
use runbook::exec::runner::{Event, Host, Shell};
use runbook::exec::vars::{Origin, Vars};
use runbook::exec::{Terminal, classify};

struct Buffered(OutputBuffer);

impl OutputSink for Buffered {
    fn lines(&mut self, stream: Stream, ts: Duration, bytes: &[u8]) {
        self.0.push(stream, ts, bytes);
    }
}

struct NullHost(process::Inherit);

impl Host for NullHost {
    fn emit(&mut self, event: Event) {
        black_box(event);
    }
    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.0
    }
}

fn spec(script: &str) -> CommandSpec {
    CommandSpec {
        script: script.to_owned(),
        env: std::env::vars_os().collect(),
        cwd: std::env::temp_dir(),
        timeout: Duration::from_secs(60),
        grace: Duration::from_secs(1),
        interactive: false,
        capture_env: true,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn per_command(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("per_command");
    g.sample_size(30);
    g.bench_function("bash -c true (std::process, the floor)", |b| {
        b.iter(|| {
            std::process::Command::new("bash")
                .args(["-c", "true"])
                .status()
        });
    });
    let s = spec("true");
    g.bench_function("process::run true", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (_h, mut cancel) = Cancel::new();
                let mut sink = Buffered(OutputBuffer::new(Limits::default()));
                process::run(&s, &mut sink, &mut cancel).await
            })
        });
    });
    let md =
        "# B\n\n## Scenario - B {#b}\n\n### Debug Steps\n\n1. T.\n\n   ```bash\n   true\n   ```\n";
    let book = std::sync::Arc::new(runbook::runbook::parse(md.as_bytes(), Path::new("b.md")));
    let procedure = std::sync::Arc::new(Procedure::new(book, 0, 0));
    g.bench_function("Driver one step `true`", |b| {
        b.iter(|| {
            let mut host = NullHost(process::Inherit);
            let (_h, mut cancel) = Cancel::new();
            let mut driver = Driver::new(
                std::sync::Arc::clone(&procedure),
                Shell::from_current(),
                Setup::default(),
            );
            rt.block_on(driver.run_step(0, &mut host, &mut cancel, false))
        });
    });
    g.finish();
}

fn throughput(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("throughput");
    g.sample_size(10);
    let bytes: u64 = 256 * 1024 * 1024;
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("cat (the floor)", |b| {
        b.iter(|| {
            std::process::Command::new("bash")
                .args(["-c", &format!("yes | head -c {bytes} | cat > /dev/null")])
                .status()
        });
    });
    let s = spec(&format!("yes | head -c {bytes}"));
    g.bench_function("process::run into OutputBuffer", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (_h, mut cancel) = Cancel::new();
                let mut sink = Buffered(OutputBuffer::new(Limits::default()));
                process::run(&s, &mut sink, &mut cancel).await
            })
        });
    });
    g.finish();
}

fn pure(c: &mut Criterion) {
    let cmd = "export TOKEN=$(curl --silent --location \"$BASE_URL/v1/auth/syslogin\" \\\n--header 'Content-Type: application/json' \\\n--data '{\n  \"password\": \"<system-password>\",\n  \"username\": \"<system-username>\"\n}' | jq --raw-output '.Authorization')";
    c.bench_function("classify curl|jq block", |b| {
        b.iter(|| classify(black_box(cmd)));
    });
    let mut vars = Vars::new();
    vars.set("system-password", "p'a$s`w\"d", Origin::Cli);
    vars.set("system-username", "admin", Origin::Cli);
    c.bench_function("fill curl|jq block", |b| {
        b.iter(|| vars.fill(black_box(cmd)));
    });
    let line = "token=p'a$s`w\"d and more text around it\n".repeat(1000);
    c.bench_function("mask 40 KiB", |b| {
        b.iter(|| vars.mask(black_box(&line)).len());
    });
}

criterion_group!(benches, per_command, throughput, pure);
criterion_main!(benches);
