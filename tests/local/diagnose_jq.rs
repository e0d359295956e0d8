//! `diagnose`'s jq worker, a real `runbook __jq` child process: one expression that never
//! yields is stopped at the check's time limit, a program that allocates past the cap is
//! refused by the cap (the allocation fails inside the worker, not the kernel's OOM killer)
//! and said so, the next check runs in a fresh worker and matches, and no worker outlives its
//! evaluator. Synchronisation polls the process table with a deadline.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jaq_json::Val;
use runbook::diagnose::jq::worker::{Evaluator, MEMORY_LIMIT_MIB};

const NOW: &str = "2026-01-01T00:00:00Z";

/// Well past any limit used here: a program not stopped by the worker would run for hours.
const MARGIN: Duration = Duration::from_secs(5);

fn pods() -> Val {
    let pods: Vec<serde_json::Value> = (0..40)
        .map(|i| {
            serde_json::json!({
                "metadata": {"name": format!("web-{i}"), "namespace": "shop"},
                "status": {"phase": if i == 7 { "Pending" } else { "Running" }}
            })
        })
        .collect();
    serde_json::from_value(serde_json::Value::Array(pods)).unwrap_or_else(|e| panic!("{e}"))
}

fn evaluator() -> Evaluator {
    Evaluator::with_program(
        vec![Val::from("unread".to_owned()), pods()],
        Some(PathBuf::from(env!("CARGO_BIN_EXE_runbook"))),
    )
}

fn reads() -> Vec<(String, usize)> {
    vec![("pods".to_owned(), 1)]
}

const PENDING: &str = ".pods[] | select(.status.phase == \"Pending\") | .metadata.name";

fn alive(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(runbook::exec::process::stat_of)
        .is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_endless_expression_is_stopped_at_the_time_limit_and_the_next_check_matches() {
    let mut jq = evaluator();
    assert_eq!(
        jq.evidence(PENDING, &reads(), NOW, Duration::from_secs(5))
            .await,
        Ok(vec!["web-7".to_owned()])
    );
    let first = jq.worker_pid().unwrap_or_else(|| panic!("no worker"));
    let limit = Duration::from_secs(1);
    let started = Instant::now();
    // One output, never finished: in-process this could not be interrupted at all.
    let stopped = jq
        .evidence("reduce range(1e15) as $i (0; . + $i)", &reads(), NOW, limit)
        .await;
    let took = started.elapsed();
    assert_eq!(
        stopped,
        Err("the jq program was stopped at its time limit (1s)".to_owned())
    );
    assert!(took >= limit && took < limit + MARGIN, "{took:?}");
    assert!(!alive(first), "the killed worker {first} is still running");
    assert_eq!(
        jq.evidence(PENDING, &reads(), NOW, Duration::from_secs(5))
            .await,
        Ok(vec!["web-7".to_owned()])
    );
    let second = jq.worker_pid().unwrap_or_else(|| panic!("no worker"));
    assert_ne!(first, second);
    jq.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_yields_without_end_is_stopped_by_the_worker_itself() {
    let mut jq = evaluator();
    let stopped = jq
        .evidence("repeat(\"x\")", &reads(), NOW, Duration::from_millis(300))
        .await;
    assert_eq!(
        stopped,
        Err("the jq program was stopped at its time limit (300ms)".to_owned())
    );
    // Stopped between two outputs, it answered: the same worker goes on.
    let pid = jq.worker_pid();
    assert!(pid.is_some());
    assert_eq!(
        jq.evidence(PENDING, &reads(), NOW, Duration::from_secs(5))
            .await,
        Ok(vec!["web-7".to_owned()])
    );
    assert_eq!(jq.worker_pid(), pid);
    jq.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_allocates_past_the_cap_is_refused_and_reported() {
    let mut jq = evaluator();
    let expected = format!("the jq program ran out of memory (limit {MEMORY_LIMIT_MIB} MiB)");
    for code in [
        // One allocation of 10 GB.
        "\"x\" * 10000000000 | length",
        // An array that doubles until the cap refuses it.
        "[range(1e10)] | length",
    ] {
        let started = Instant::now();
        let refused = jq
            .evidence(code, &reads(), NOW, Duration::from_secs(60))
            .await;
        assert_eq!(refused, Err(expected.clone()), "{code}");
        assert!(started.elapsed() < Duration::from_secs(60), "{code}");
        assert_eq!(
            jq.evidence(PENDING, &reads(), NOW, Duration::from_secs(5))
                .await,
            Ok(vec!["web-7".to_owned()]),
            "after {code}"
        );
    }
    jq.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_and_runtime_errors_come_back_as_one_line() {
    let mut jq = evaluator();
    let e = jq
        .evidence(
            ".pods[]\n| select(.x ==)",
            &reads(),
            NOW,
            Duration::from_secs(5),
        )
        .await;
    assert!(
        e.as_ref()
            .is_err_and(|e| e.starts_with("the jq program does not compile (line 2): ")),
        "{e:?}"
    );
    let e = jq
        .evidence(
            ".pods | keys[] | ascii_downcase",
            &reads(),
            NOW,
            Duration::from_secs(5),
        )
        .await;
    assert!(
        e.as_ref()
            .is_err_and(|e| e.starts_with("the jq program failed: ")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_worker_outlives_its_evaluator() {
    let mut jq = evaluator();
    assert!(
        jq.evidence(PENDING, &reads(), NOW, Duration::from_secs(5))
            .await
            .is_ok()
    );
    let pid = jq.worker_pid().unwrap_or_else(|| panic!("no worker"));
    assert!(alive(pid));
    jq.close().await;
    assert!(!alive(pid), "worker {pid} still running after close");

    // Dropped without closing (a diagnose cut short by its caller's timeout).
    let mut jq = evaluator();
    assert!(
        jq.evidence(PENDING, &reads(), NOW, Duration::from_secs(5))
            .await
            .is_ok()
    );
    let pid = jq.worker_pid().unwrap_or_else(|| panic!("no worker"));
    drop(jq);
    wait_until(
        "the dropped evaluator's worker ends",
        Duration::from_secs(5),
        || !alive(pid),
    );
}
