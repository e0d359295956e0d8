//! Sessions: recorded by `runbook run`, readable after `kill -9`, listed, pruned, reported
//! with every secret redacted, and scenarios exported as copy-paste checklists. Each test
//! points the data folder (`HOME`, `XDG_DATA_HOME` and `RUNBOOK_DATA_DIR`) at a temp folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use runbook::exec::runner::Verdict;
use runbook::session::redact::Redactor;
use runbook::session::store::{self, CommandRecord, OutputCheck, SessionRecord, StepState, Store};
use runbook::session::{OutputWriter, VarRecord, report};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/session")
        .join(name)
}

fn runbook(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runbook"));
    cmd.env("HOME", data)
        .env("XDG_DATA_HOME", data.join("share"))
        .env("XDG_CONFIG_HOME", data.join("config"))
        .env("RUNBOOK_DATA_DIR", data.join("runbook"))
        .env("KUBECONFIG", data.join("no-kubeconfig"))
        .stdin(Stdio::null());
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("runbook: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn all(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

fn sessions_json(data: &Path) -> serde_json::Value {
    let o = output(runbook(data).args(["sessions", "--json"]));
    assert!(o.status.success(), "{}", all(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all(&o)))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_run_is_recorded_and_reported() {
    let data = tempdir();
    let slow = fixture("slow.md");
    let o = output(runbook(data.path()).args([
        "run",
        &slow.display().to_string(),
        "--var",
        "namespace=kube-system",
        "--var",
        "api-token=tok-abcdef123456",
        "--timeout",
        "1s",
    ]));
    let text = all(&o);
    assert!(text.contains("runbook: session "), "{text}");
    let list = sessions_json(data.path());
    let sessions = list["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 1, "{list}");
    assert_eq!(sessions[0]["scenario"], "slow/slow", "{list}");
    let id = sessions[0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains(&id), "{text}");

    let o = output(runbook(data.path()).args(["report", &id[..12]]));
    let md = stdout(&o);
    assert!(o.status.success(), "{}", all(&o));
    assert!(md.contains("## Step 1"), "{md}");
    assert!(md.contains("first-step-output"), "{md}");
    assert!(md.contains("namespace=kube-system"), "{md}");
    // Step 2 is killed by its 1s timeout; step 3 never runs.
    assert!(md.contains("timed out"), "{md}");
    assert!(md.contains("**Verdict:** failed"), "{md}");
    assert!(md.contains("**Verdict:** skipped"), "{md}");
    assert!(!md.contains("tok-abcdef123456"), "{md}");

    let o = output(runbook(data.path()).args(["report", "last", "--format", "json"]));
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all(&o)));
    assert_eq!(json["session"]["id"], id.as_str());
    assert_eq!(json["session"]["steps"][0]["verdict"], "passed", "{json}");
    assert_eq!(json["session"]["steps"][0]["commands"][0]["exit_code"], 0);
    assert_eq!(
        json["session"]["vars"]["api-token"]["value"],
        serde_json::Value::Null,
        "a secret is saved by name only: {json}"
    );
    assert_eq!(json["session"]["vars"]["namespace"]["value"], "kube-system");
    // Where each value came from: the command line here (captures say `step`).
    assert_eq!(
        json["session"]["vars"]["namespace"]["origin"], "cli",
        "{json}"
    );
    let raw = std::fs::read_to_string(
        data.path()
            .join("runbook/sessions")
            .join(&id)
            .join("session.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!raw.contains("tok-abcdef123456"), "{raw}");

    // --no-session records nothing.
    let o = output(runbook(data.path()).args([
        "run",
        &slow.display().to_string(),
        "--var",
        "namespace=x",
        "--var",
        "api-token=y",
        "--timeout",
        "1s",
        "--no-session",
    ]));
    assert!(!all(&o).contains("runbook: session "), "{}", all(&o));
    assert_eq!(
        sessions_json(data.path())["sessions"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn kill_9_leaves_the_last_state_readable() {
    let data = tempdir();
    let slow = fixture("slow.md");
    let mut child = runbook(data.path())
        .args([
            "run",
            &slow.display().to_string(),
            "--var",
            "namespace=kube-system",
            "--var",
            "api-token=tok-abcdef123456",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let root = data.path().join("runbook/sessions");
    let deadline = Instant::now() + Duration::from_secs(30);
    let running = loop {
        // The state as a reader sees it: session.json with its journal applied.
        let state = store::list(&root)
            .0
            .into_iter()
            .next()
            .and_then(|(_, r)| serde_json::to_value(r).ok());
        if let Some(s) = state
            && s["steps"][1]["state"] == "running"
        {
            break s;
        }
        assert!(Instant::now() < deadline, "step 2 never showed as running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(running["steps"][0]["verdict"], "passed");
    // The output streams to its file while the step runs; kill once it is there.
    let out = root
        .join(running["id"].as_str().unwrap_or_default())
        .join("step-002.out");
    while !std::fs::read_to_string(&out).is_ok_and(|t| t.contains("second-step-started")) {
        assert!(Instant::now() < deadline, "step 2 printed nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();

    let list = sessions_json(data.path());
    assert_eq!(list["sessions"][0]["status"], "interrupted", "{list}");
    assert_eq!(list["sessions"][0]["done"], 1, "{list}");
    let o = output(runbook(data.path()).args(["report", "last", "--format", "json"]));
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all(&o)));
    let steps = &json["session"]["steps"];
    assert_eq!(steps[1]["state"], "interrupted", "{json}");
    assert_ne!(steps[1]["verdict"], "passed", "{json}");
    assert!(
        steps[0]["output_text"]
            .as_str()
            .is_some_and(|t| t.contains("first-step-output")),
        "{json}"
    );
    assert!(
        steps[1]["output_text"]
            .as_str()
            .is_some_and(|t| t.contains("second-step-started")),
        "output written before the kill is kept: {json}"
    );
    let md = stdout(&output(runbook(data.path()).args(["report", "last"])));
    assert!(md.contains("interrupted (it was running"), "{md}");
}

#[test]
fn saves_are_atomic_for_a_concurrent_reader() {
    let dir = tempdir();
    let store = Store::create(dir.path(), "s").unwrap_or_else(|e| panic!("{e}"));
    let mut record = SessionRecord::new("rb/scenario", Path::new("rb.md"), "confirm");
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    let path = store.dir().join("session.json");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read: {e}"));
                let parsed: SessionRecord = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("partial file after {reads} reads: {e}"));
                assert!(parsed.steps.len() <= 300);
                reads += 1;
            }
            reads
        })
    };
    for i in 0..300 {
        let saved = record.step_mut(i, &(i + 1).to_string(), "a step with a long enough title");
        saved.notes = "x".repeat(i * 10);
        store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = reader.join().unwrap_or_else(|_| panic!("reader panicked"));
    assert!(reads > 0);
    let leftovers: Vec<_> = std::fs::read_dir(store.dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn output_keeps_head_and_tail_within_the_limit() {
    let dir = tempdir();
    let path = dir.path().join("step-001.out");
    let limit = 4096;
    let mut w = OutputWriter::create(path.clone(), limit).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..5000 {
        w.write(format!("line {i:05}\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(w.dropped() > 0);
    w.flush().unwrap_or_else(|e| panic!("{e}"));
    let kept = store::read_output(&path, limit - limit / 2).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        kept.head.starts_with("line 00000\n"),
        "{}",
        &kept.head[..20]
    );
    assert!(kept.tail.ends_with("line 04999\n"));
    assert!(kept.tail.starts_with("line "), "the tail starts at a line");
    assert!(kept.total_kept() as u64 <= limit);
    assert_eq!(
        kept.head.len() as u64 + kept.tail.len() as u64 + w.dropped(),
        5000 * 11,
        "what is kept and what was left out add up"
    );
    let on_disk: u64 = std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    assert!(on_disk <= limit * 3 / 2, "{on_disk} bytes on disk");
}

/// Strings that must never appear in a report, each in a realistic setting.
const SECRETS: &[&str] = &[
    "tok-var-secret-0001",
    "abc.bearer.token0002",
    "dXNlcjpwYXNzMDAwMw==",
    "p4ss-json-0004",
    "p4ss-yaml-0005",
    "p4ss-query-0006",
    "urlpass0007",
    "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo0008",
    "kubeadm-token-0009",
    "MIIEowIBAAKCAQEAsecretkey0010",
    "c2VjcmV0LWRhdGEtMDAxMQ==",
    "cGFzc3dvcmQtMDAxMg==",
    "note-pw-0013",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl0014",
];

fn secret_transcript() -> (String, String) {
    let output = format!(
        "HTTP/1.1 200 OK\n\
         Authorization: Bearer {b}\n\
         {{\"username\": \"admin\", \"password\": \"{pj}\"}}\n\
         password: {py}\n\
         GET https://palette.example/login?user=admin&password={pq}\n\
         cloning https://admin:{up}@git.example.com/repo.git\n\
         users:\n- name: admin\n  user:\n    client-key-data: {ck}\n    token: {kt}\n\
         -----BEGIN RSA PRIVATE KEY-----\n{pk}\nAAAA\n-----END RSA PRIVATE KEY-----\n\
         apiVersion: v1\ndata:\n  tls.key: {d1}\n  password: {d2}\nkind: Secret\nmetadata:\n  name: creds\n\
         {{\"apiVersion\": \"v1\", \"data\": {{\"pw\": \"{d2}\"}}, \"kind\": \"Secret\"}}\n\
         serviceaccount token {jwt}\n\
         NAME READY STATUS\nmgmt-0 1/1 Running\n",
        b = SECRETS[1],
        pj = SECRETS[3],
        py = SECRETS[4],
        pq = SECRETS[5],
        up = SECRETS[6],
        ck = SECRETS[7],
        kt = SECRETS[8],
        pk = SECRETS[9],
        d1 = SECRETS[10],
        d2 = SECRETS[11],
        jwt = SECRETS[13],
    );
    let command = format!(
        "curl -H 'Authorization: Basic {basic}' -d '{{\"password\":\"{pj}\"}}' https://palette.example/v1/users?token={v}",
        basic = SECRETS[2],
        pj = SECRETS[3],
        v = SECRETS[0],
    );
    (output, command)
}

#[test]
fn reports_contain_no_secret() {
    let dir = tempdir();
    let store = Store::create(dir.path(), "s").unwrap_or_else(|e| panic!("{e}"));
    let mut record = SessionRecord::new("rb/leaky", Path::new("rb.md"), "confirm");
    record.scenario_title = "Leaky scenario".to_owned();
    record.vars.insert(
        "namespace".to_owned(),
        VarRecord {
            value: Some("hubble-system".to_owned()),
            secret: false,
            ..VarRecord::default()
        },
    );
    record.vars.insert(
        "password".to_owned(),
        VarRecord {
            value: Some(format!("password={}", SECRETS[12])),
            secret: false,
            ..VarRecord::default()
        },
    );
    let (out, command) = secret_transcript();
    let step = record.step_mut(0, "1", "Call the API");
    step.state = StepState::Done;
    step.verdict = Some(Verdict::Passed);
    step.notes = format!("tried with password={} first", SECRETS[12]);
    step.output = Some(store::output_file_name(0));
    step.commands.push(CommandRecord {
        block: 0,
        line: 12,
        command,
        exit_code: Some(0),
        duration_ms: Some(120),
        output_match: OutputCheck::Differs {
            diff: format!("-token: xxx\n+token: {}\n", SECRETS[8]),
        },
        ..CommandRecord::default()
    });
    let mut w = OutputWriter::create(store.dir().join(store::output_file_name(0)), 1 << 20)
        .unwrap_or_else(|e| panic!("{e}"));
    w.write(out.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));

    // The secret variable's value is known to the process that still holds it.
    let redactor: Redactor = report::redactor(&[SECRETS[0].to_owned()]);
    let md = report::markdown(&store, &record, &redactor);
    let json = serde_json::to_string(&report::json(&store, &record, &redactor))
        .unwrap_or_else(|e| panic!("{e}"));
    for secret in SECRETS {
        assert!(!md.contains(secret), "markdown leaks {secret}:\n{md}");
        assert!(!json.contains(secret), "json leaks {secret}:\n{json}");
    }
    for ordinary in [
        "mgmt-0 1/1 Running",
        "hubble-system",
        "Leaky scenario",
        "https://palette.example/v1/users",
        "name: creds",
        "tried with",
    ] {
        assert!(md.contains(ordinary), "markdown lost {ordinary}:\n{md}");
        assert!(json.contains(ordinary), "json lost {ordinary}:\n{json}");
    }
}

#[test]
fn sessions_are_listed_newest_first_and_pruned() {
    let data = tempdir();
    let slow = fixture("slow.md");
    let run = |ns: &str| {
        let o = output(runbook(data.path()).args([
            "run",
            &slow.display().to_string(),
            "--var",
            &format!("namespace={ns}"),
            "--var",
            "api-token=x",
            "--dry-run",
        ]));
        assert!(all(&o).contains("runbook: session "), "{}", all(&o));
    };
    // Sessions are ordered by their start, kept to the millisecond.
    run("first");
    run("second");
    let list = sessions_json(data.path());
    let sessions = list["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{list}");
    assert!(
        sessions[0]["started"].as_str() > sessions[1]["started"].as_str(),
        "{list}"
    );
    assert_eq!(sessions[0]["status"], "finished", "{list}");
    let text = stdout(&output(runbook(data.path()).arg("sessions")));
    assert_eq!(text.lines().count(), 2, "{text}");
    let o = output(runbook(data.path()).args(["sessions", "--prune", "--older-than", "30d"]));
    assert!(stdout(&o).contains("removed 0"), "{}", all(&o));
    let o = output(runbook(data.path()).args(["sessions", "--prune", "--older-than", "0s"]));
    assert!(stdout(&o).contains("removed 2"), "{}", all(&o));
    assert_eq!(
        sessions_json(data.path())["sessions"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[test]
fn export_fills_values_as_the_runner_would_and_never_a_secret() {
    let data = tempdir();
    let slow = fixture("slow.md");
    let out = data.path().join("steps.md");
    let o = output(runbook(data.path()).args([
        "export",
        &slow.display().to_string(),
        "--var",
        "namespace=kube system's",
        "--var",
        "api-token=tok-never-written",
        "--output",
        &out.display().to_string(),
    ]));
    assert!(o.status.success(), "{}", all(&o));
    let md = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    assert!(!md.contains("tok-never-written"), "{md}");
    assert!(md.contains("## Fill these in"), "{md}");
    assert!(md.contains("- `<api-token>`"), "{md}");
    assert!(md.contains("secret"), "{md}");
    // Bare words: single-quoted with the quote spelled '\\'' as the runner does.
    assert!(md.contains(r"echo namespace='kube system'\''s'"), "{md}");
    assert!(
        md.contains(r"https://palette.example/api/v1/'kube system'\''s'"),
        "{md}"
    );
    assert!(md.contains("Bearer <api-token>"), "{md}");
    assert!(md.contains("1. Print something to keep."), "{md}");
    assert!(md.contains("3. Never reached"), "{md}");
    assert!(md.contains("   ```bash\n   echo first-step-output"), "{md}");

    // Sub-steps keep the number the TUI and `runbook run` show (5.1, not 6).
    let o = output(runbook(data.path()).args(["export", "microk8s-upgrade/upgrade-pod"]));
    let md = stdout(&o);
    assert!(md.contains("\n5.1. (Added check)"), "{md}");
    assert!(!md.contains("\n6. "), "{md}");

    // Without a value, the placeholder stays visible and is listed.
    let o = output(runbook(data.path()).args(["export", &slow.display().to_string()]));
    let md = stdout(&o);
    assert!(md.contains("- `<namespace>`"), "{md}");
    assert!(md.contains("echo namespace=<namespace>"), "{md}");
}

fn step_events(step: usize) -> Vec<runbook::exec::runner::Event> {
    use runbook::exec::StepPlan;
    use runbook::exec::judge::OutputMatch;
    use runbook::exec::process::CommandOutcome;
    use runbook::exec::runner::Event;
    vec![
        Event::StepStarted {
            step,
            number: (step + 1).to_string(),
            title: format!("step {}", step + 1),
            plan: StepPlan {
                blocks: Vec::new(),
                manual: false,
            },
        },
        Event::CommandStarted {
            step,
            block: 0,
            line: 10,
            command: format!("echo step-{step}"),
            destructive: false,
            interactive: false,
            reasons: Vec::new(),
        },
        Event::Output {
            step,
            block: 0,
            stream: runbook::exec::output::Stream::Stdout,
            ts_ms: 1,
            text: format!("output of step {step}\n"),
        },
        Event::CommandFinished {
            step,
            block: 0,
            outcome: CommandOutcome {
                exit_code: Some(0),
                pipestatus: vec![141, 0],
                ..CommandOutcome::default()
            },
            failures: Vec::new(),
            output: OutputMatch::NoExpectation,
        },
        Event::StepFinished {
            step,
            number: (step + 1).to_string(),
            verdict: Verdict::Passed,
            reasons: Vec::new(),
            dropped_lines: 0,
        },
    ]
}

fn journals(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("journal-"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_journal_keeps_each_finished_step_until_the_state_is_folded() {
    use runbook::session::Recorder;
    let dir = tempdir();
    let store = Store::create(dir.path(), "s").unwrap_or_else(|e| panic!("{e}"));
    let mut record = SessionRecord::new("rb/scenario", Path::new("rb.md"), "confirm");
    record.step_mut(2, "3", "never run");
    let mut recorder = Recorder::create(store.clone(), record).unwrap_or_else(|e| panic!("{e}"));
    for step in 0..2 {
        for event in step_events(step) {
            recorder.record(step, &event);
        }
    }
    assert!(recorder.error.is_none(), "{:?}", recorder.error);
    // Gone without a word, as after `kill -9`: no fold.
    drop(recorder);
    let raw: SessionRecord = serde_json::from_slice(
        &std::fs::read(store.dir().join("session.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        raw.steps[0].state,
        StepState::Pending,
        "the state file is not rewritten per step"
    );
    assert_eq!(journals(store.dir()).len(), 1);
    let loaded = store.load().unwrap_or_else(|e| panic!("{e}"));
    for step in 0..2 {
        let s = &loaded.steps[step];
        assert_eq!(s.state, StepState::Done, "{s:?}");
        assert_eq!(s.verdict, Some(Verdict::Passed));
        assert_eq!(s.commands[0].pipestatus, [141, 0]);
        let kept = store.output(&loaded, s).unwrap_or_default();
        assert_eq!(
            kept.head,
            format!("$ echo step-{step}\noutput of step {step}\n")
        );
    }
    assert_eq!(loaded.steps[2].state, StepState::Pending);
    assert_eq!(loaded.steps[2].title, "never run");

    // A write the machine did not finish ends the replay; what came before stays.
    let journal = store.dir().join(&journals(store.dir())[0]);
    let mut torn = std::fs::read(&journal).unwrap_or_default();
    torn.extend_from_slice(b"{\"change\":\"step\",\"at\":\"2026-");
    std::fs::write(&journal, &torn).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.load().map(|r| r.steps[1].state).ok(),
        Some(StepState::Done)
    );

    // Resuming folds the journal into the state and starts a new one.
    let mut resumed = Recorder::resume(
        store.clone(),
        store.load().unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(
        journals(store.dir()).is_empty(),
        "{:?}",
        journals(store.dir())
    );
    let raw: SessionRecord = serde_json::from_slice(
        &std::fs::read(store.dir().join("session.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw.steps[1].state, StepState::Done);
    for event in step_events(2) {
        resumed.record(2, &event);
    }
    resumed.finish();
    let done = store.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.status, runbook::session::Status::Finished);
    assert_eq!(done.progress(), (3, 3));
    assert!(journals(store.dir()).is_empty());
}

#[test]
fn a_journal_the_state_does_not_name_is_never_applied() {
    let dir = tempdir();
    let store = Store::create(dir.path(), "s").unwrap_or_else(|e| panic!("{e}"));
    let mut record = SessionRecord::new("rb/scenario", Path::new("rb.md"), "confirm");
    record.step_mut(0, "1", "one");
    store.compact(&mut record).unwrap_or_else(|e| panic!("{e}"));
    // Left by a fold that stopped after writing the new state.
    std::fs::write(
        store.dir().join("journal-00000000.jsonl"),
        "{\"change\":\"step\",\"at\":\"2026-01-01T00:00:00.000Z\",\"index\":0,\"step\":{\"number\":\"1\",\"title\":\"one\",\"state\":\"done\",\"verdict\":\"passed\"}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let loaded = store.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.steps[0].state, StepState::Pending);
}

/// Bytes this thread has written with `write` so far (`/proc/thread-self/io`).
fn written_by_this_thread() -> u64 {
    std::fs::read_to_string("/proc/thread-self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no /proc/thread-self/io"))
}

#[test]
fn a_flood_is_written_a_few_times_not_chunk_by_chunk() {
    let dir = tempdir();
    let path = dir.path().join("step-001.out");
    let limit = 1 << 20;
    let chunk = "0123456789abcdefghijklmnopqrstuvwxyz\n".repeat(1771);
    let before = written_by_this_thread();
    let mut w = OutputWriter::create(path.clone(), limit).unwrap_or_else(|e| panic!("{e}"));
    let mut total = 0;
    while total < 64 << 20 {
        w.write(chunk.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        total += chunk.len();
    }
    w.flush().unwrap_or_else(|e| panic!("{e}"));
    let written = written_by_this_thread() - before;
    // The head once, then at most the tail's size per flush (one flush a second at most while
    // it floods), instead of all 64 MiB.
    assert!(written < 8 << 20, "{written} bytes written for {total}");
    let kept = store::read_output(&path, limit - limit / 2).unwrap_or_else(|e| panic!("{e}"));
    assert!(kept.tail.ends_with("xyz\n") && kept.tail.starts_with("0123"));
    assert_eq!(
        (kept.head.len() + kept.tail.len()) as u64 + w.dropped(),
        total as u64
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o777)
}

#[test]
fn session_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempdir();
    let slow = fixture("slow.md");
    // umask 0 would make every file world-readable if the modes were left to it.
    let o = output(
        Command::new("bash")
            .arg("-c")
            .arg("umask 000; exec \"$@\"")
            .arg("bash")
            .arg(env!("CARGO_BIN_EXE_runbook"))
            .args([
                "run",
                &slow.display().to_string(),
                "--yes",
                "--timeout",
                "1s",
            ])
            .args(["--var", "namespace=x", "--var", "api-token=y"])
            .env("HOME", data.path())
            .env("XDG_DATA_HOME", data.path().join("share"))
            .env("XDG_CONFIG_HOME", data.path().join("config"))
            .env("RUNBOOK_DATA_DIR", data.path().join("runbook"))
            .env("KUBECONFIG", data.path().join("no-kubeconfig"))
            .stdin(Stdio::null()),
    );
    assert!(all(&o).contains("runbook: session "), "{}", all(&o));
    let root = data.path().join("runbook/sessions");
    let (store, record) = store::find(&root, "last").unwrap_or_else(|e| panic!("{e}"));
    for folder in [
        data.path().join("runbook"),
        root.clone(),
        store.dir().to_owned(),
    ] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
    let files: Vec<PathBuf> = std::fs::read_dir(store.dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    // A report written to a file is the owner's only, also under umask 0.
    let report = data.path().join("ticket.md");
    let o = output(
        Command::new("bash")
            .arg("-c")
            .arg("umask 000; exec \"$@\"")
            .arg("bash")
            .arg(env!("CARGO_BIN_EXE_runbook"))
            .args(["report", "last", "--output"])
            .arg(&report)
            .env("RUNBOOK_DATA_DIR", data.path().join("runbook"))
            .stdin(Stdio::null()),
    );
    assert!(o.status.success(), "{}", all(&o));
    assert_eq!(mode(&report), 0o600);

    // A session folder made wider (by an older version, a copy) is tightened on the next
    // write, and so is a step's output file when it is written again.
    let wide = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(store.dir(), wide.clone()).unwrap_or_else(|e| panic!("{e}"));
    let out = store.dir().join(store::output_file_name(0));
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mode(store.dir()), 0o700);
    assert_eq!(mode(&store.dir().join("session.json")), 0o600);
    drop(OutputWriter::create(out.clone(), 1 << 20).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(mode(&out), 0o600);
}

#[test]
fn a_report_reads_only_files_of_its_own_folder() {
    let dir = tempdir();
    let outside = dir.path().join("not-a-session-file.txt");
    std::fs::write(&outside, "outside-the-session-folder\n").unwrap_or_else(|e| panic!("{e}"));
    let store = Store::create(&dir.path().join("sessions"), "s").unwrap_or_else(|e| panic!("{e}"));
    let link = store.dir().join("step-003.out");
    std::os::unix::fs::symlink(&outside, &link).unwrap_or_else(|e| panic!("{e}"));
    let mut record = SessionRecord::new("rb/paths", Path::new("rb.md"), "confirm");
    for (i, name) in [
        outside.display().to_string(),
        "../not-a-session-file.txt".to_owned(),
        "step-003.out".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        let step = record.step_mut(i, &(i + 1).to_string(), "A step");
        step.state = StepState::Done;
        step.verdict = Some(Verdict::Passed);
        step.output = Some(name);
    }
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    let redactor = report::redactor(&[]);
    let md = report::markdown(&store, &record, &redactor);
    assert!(!md.contains("outside-the-session-folder"), "{md}");
    assert_eq!(
        md.matches("is not a file of this session's folder").count(),
        3,
        "{md}"
    );
    let json = report::json(&store, &record, &redactor).to_string();
    assert!(!json.contains("outside-the-session-folder"), "{json}");
}

#[test]
fn unreadable_sessions_are_pruned_as_the_listing_says() {
    let data = tempdir();
    let root = data.path().join("runbook/sessions");
    let broken = root.join("20260101T000000Z-000bad");
    std::fs::create_dir_all(&broken).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(broken.join("session.json"), "{\"format\": 1, \"id\": ")
        .unwrap_or_else(|e| panic!("{e}"));
    // A newer version's session is not corrupt: it stays.
    let newer = root.join("20260101T000000Z-000new");
    std::fs::create_dir_all(&newer).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        newer.join("session.json"),
        "{\"format\": 99, \"id\": \"x\"}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = output(runbook(data.path()).arg("sessions"));
    assert!(
        all(&o).contains("not a session file") && all(&o).contains("runbook sessions --prune"),
        "{}",
        all(&o)
    );
    let o = output(runbook(data.path()).args(["sessions", "--prune"]));
    assert!(o.status.success(), "{}", all(&o));
    assert!(
        stdout(&o).contains("removed 0 session(s) and 1 unreadable one(s)"),
        "{}",
        all(&o)
    );
    assert!(!broken.exists());
    assert!(newer.exists());
}
