//! Real processes: output streaming, exit codes, env capture, and that cancel and timeout
//! leave nothing behind (grandchildren, background jobs, SIGTERM trappers, setsid escapees).
//! Synchronisation polls the process table with a deadline; nothing sleeps to wait.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::{Duration, Instant};

use runbook::exec::output::Stream;
use runbook::exec::process::{self, Cancel, CommandOutcome, CommandSpec, OutputSink};

#[derive(Default)]
struct Collect {
    out: String,
    err: String,
}

impl OutputSink for Collect {
    fn lines(&mut self, stream: Stream, _ts: Duration, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        match stream {
            Stream::Stdout => self.out.push_str(&text),
            Stream::Stderr => self.err.push_str(&text),
        }
    }
}

fn spec(script: &str) -> CommandSpec {
    CommandSpec {
        script: script.to_owned(),
        env: std::env::vars_os().collect::<BTreeMap<OsString, OsString>>(),
        cwd: std::env::temp_dir(),
        timeout: Duration::from_secs(30),
        grace: Duration::from_millis(300),
        interactive: false,
        capture_env: true,
        secret: false,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn run(spec: &CommandSpec, cancel: &mut Cancel) -> (CommandOutcome, Collect) {
    let mut sink = Collect::default();
    let outcome = process::run(spec, &mut sink, cancel)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (outcome, sink)
}

/// Live processes whose command line contains `needle`.
fn live(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle)
            && !cmdline.contains("bash -c")
            && process::stat_of(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
        {
            out.push(pid);
        }
    }
    out
}

async fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn unique(tag: &str) -> String {
    // A sleep duration nobody else uses, so the process table can be searched for it.
    let n = std::process::id() % 1000;
    format!(
        "{}{n:03}",
        match tag {
            "a" => 7001,
            "b" => 7002,
            "c" => 7003,
            "d" => 7004,
            _ => 7005,
        }
    )
}

#[test]
fn streams_and_exit_codes() {
    rt().block_on(async {
        let (_h, mut cancel) = Cancel::new();
        let (o, s) = run(
            &spec("echo out; echo err >&2; printf partial; exit 3"),
            &mut cancel,
        )
        .await;
        assert_eq!(o.exit_code, Some(3));
        assert_eq!(s.out, "out\npartial\n");
        assert_eq!(s.err, "err\n");
        assert_eq!(o.stdout_bytes, 11);
        assert_eq!(o.stderr_bytes, 4);
        // pipefail is on, errexit off.
        let (o, s) = run(
            &spec("false | true; echo $?; false; echo next"),
            &mut cancel,
        )
        .await;
        assert_eq!(s.out, "1\nnext\n");
        assert_eq!(o.exit_code, Some(0));
        // Heredocs and continuations run as written.
        let (_, s) = run(
            &spec("cat <<'EOF'\n$HOME `x`\nEOF\necho a \\\n  b"),
            &mut cancel,
        )
        .await;
        assert_eq!(s.out, "$HOME `x`\na b\n");
    });
}

#[test]
fn exported_env_and_cwd_are_captured() {
    rt().block_on(async {
        let (_h, mut cancel) = Cancel::new();
        let (o, _) = run(
            &spec("export BASE_URL=https://x TOKEN=$'a\\nb\"c'; NOT_EXPORTED=1; cd /; exit 4"),
            &mut cancel,
        )
        .await;
        assert_eq!(o.exit_code, Some(4), "the trap keeps the exit code");
        let env = o.env_after.unwrap_or_else(|| panic!("no env"));
        assert_eq!(
            env.vars.get(&OsString::from("BASE_URL")),
            Some(&OsString::from("https://x"))
        );
        assert_eq!(
            env.vars.get(&OsString::from("TOKEN")),
            Some(&OsString::from("a\nb\"c"))
        );
        assert!(!env.vars.contains_key(&OsString::from("NOT_EXPORTED")));
        assert_eq!(env.cwd.as_deref(), Some(std::path::Path::new("/")));
    });
}

#[test]
fn cancel_kills_children_grandchildren_and_background_jobs() {
    rt().block_on(async {
        let (job, sub, nested) = (unique("a"), unique("b"), unique("c"));
        let script = format!("sleep {job} & (sleep {sub} &) ; bash -c 'sleep {nested}'");
        let (handle, mut cancel) = Cancel::new();
        let watcher = async {
            wait_until("the sleeps to start", Duration::from_secs(10), || {
                !live(&format!("sleep {job}")).is_empty()
                    && !live(&format!("sleep {sub}")).is_empty()
                    && !live(&format!("sleep {nested}")).is_empty()
            })
            .await;
            handle.cancel();
        };
        let s = spec(&script);
        let ((outcome, _), ()) = tokio::join!(run(&s, &mut cancel), watcher);
        assert!(outcome.cancelled);
        for name in [&job, &sub, &nested] {
            assert!(
                live(&format!("sleep {name}")).is_empty(),
                "sleep {name} survived"
            );
        }
    });
}

#[test]
fn background_job_left_at_normal_exit_is_killed() {
    rt().block_on(async {
        let d = unique("d");
        let (_h, mut cancel) = Cancel::new();
        let (o, _) = run(&spec(&format!("sleep {d} & echo started")), &mut cancel).await;
        assert_eq!(o.exit_code, Some(0));
        assert!(o.leftovers_killed >= 1);
        assert!(live(&format!("sleep {d}")).is_empty());
    });
}

#[test]
fn sigterm_trapper_and_timeout() {
    rt().block_on(async {
        let e = unique("e");
        let (_h, mut cancel) = Cancel::new();
        let mut s = spec(&format!(
            "trap '' INT TERM; bash -c \"trap '' INT TERM; sleep {e}\"; echo never"
        ));
        s.timeout = Duration::from_millis(300);
        let started = Instant::now();
        let (o, out) = run(&s, &mut cancel).await;
        assert!(o.timed_out);
        assert_eq!(o.signal, Some(9), "{o:?}");
        assert!(!out.out.contains("never"));
        assert!(live(&format!("sleep {e}")).is_empty());
        assert!(started.elapsed() < Duration::from_secs(10));
    });
}

#[test]
fn setsid_escapee_is_swept_on_cancel() {
    rt().block_on(async {
        let n = std::process::id() % 1000;
        let tag = format!("7006{n:03}");
        let (handle, mut cancel) = Cancel::new();
        let script = format!("setsid sleep {tag} & sleep 600");
        let watcher = async {
            wait_until("setsid sleep", Duration::from_secs(10), || {
                !live(&format!("sleep {tag}")).is_empty()
            })
            .await;
            handle.cancel();
        };
        let s = spec(&script);
        let ((o, _), ()) = tokio::join!(run(&s, &mut cancel), watcher);
        assert!(o.cancelled);
        assert!(
            live(&format!("sleep {tag}")).is_empty(),
            "the setsid process survived"
        );
    });
}

#[test]
fn setsid_escapee_holding_the_pipe_is_swept_after_exit() {
    rt().block_on(async {
        let n = std::process::id() % 1000;
        let tag = format!("7007{n:03}");
        let (_h, mut cancel) = Cancel::new();
        let started = Instant::now();
        // The escapee keeps stdout open, so the pipes never close by themselves.
        let (o, out) = run(
            &spec(&format!("setsid sleep {tag} & echo done")),
            &mut cancel,
        )
        .await;
        assert_eq!(o.exit_code, Some(0));
        assert_eq!(out.out, "done\n");
        assert!(o.leftovers_killed >= 1, "{o:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            live(&format!("sleep {tag}")).is_empty(),
            "the setsid process survived"
        );
    });
}
