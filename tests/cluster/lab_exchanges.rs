//! Replays the read-only requests recorded from a real kube-apiserver
//! (`tests/fixtures/lab/exchanges.json`, taken from the reference exchanges) against a lab seeded
//! with the same objects, and compares status, Content-Type and body. Bodies are compared as
//! JSON after removing what differs on every run (uids, resourceVersions, timestamps,
//! managedFields, ages in table cells, continue tokens); text bodies byte for byte. The recorded
//! writes (create, patch, put, delete) are replayed in their recorded order the same way.

use std::path::Path;

use crate::lab_support::http::request;
use crate::lab_support::start_with;
use regex::Regex;
use serde_json::{Map, Value};

/// Exchanges the lab answers differently on purpose, as a 1.32 server does where the recorded
/// server is 1.24: its `/version`, its `/apis` groups, and aggregated discovery
/// (`apidiscovery.k8s.io/v2`) where the Accept header asks for it first (009, 011, 019, 020;
/// `tests/cluster/lab_api.rs` checks those).
const DIFFERENT_ON_PURPOSE: &[&str] = &["001", "009", "010", "011", "019", "020"];

const VOLATILE: &[&str] = &[
    // 1.32 fills in `singularName` of built-in resources; 1.24 left it empty.
    "singularName",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "continue",
    "lastTransitionTime",
    "lastHeartbeatTime",
    "lastProbeTime",
    "startTime",
    "startedAt",
    "finishedAt",
    "firstTimestamp",
    "lastTimestamp",
    "time",
    "deletionTimestamp",
];

fn normalise(v: &Value, age: &Regex) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), normalise(x, age)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, age)).collect()),
        Value::String(s) => Value::String(age.replace_all(s, "AGE").into_owned()),
        other => other.clone(),
    }
}

fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if let Some(d) = first_difference(&format!("{path}.{k}"), va, vb) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_difference(&format!("{path}[{i}]"), va, vb)),
        _ if a == b => None,
        _ => Some(format!("{path}: lab {a} vs real {b}")),
    }
}

#[test]
fn recorded_reads_get_the_same_answers() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab");
    let read =
        |f: &str| std::fs::read_to_string(fixtures.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let seed: Vec<Value> =
        serde_json::from_str(&read("reference-seed.json")).unwrap_or_else(|e| panic!("{e}"));
    let exchanges: Vec<Value> =
        serde_json::from_str(&read("exchanges.json")).unwrap_or_else(|e| panic!("{e}"));
    let lab = start_with(runbook::lab::EMPTY, seed);
    let age =
        Regex::new(r"^\d+[smhdy](\d+[smh])?$|^\d+ \(\S+ ago\)$|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            .unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut compared = 0;
    for ex in &exchanges {
        let name = ex["name"].as_str().unwrap_or_default();
        if DIFFERENT_ON_PURPOSE.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        compared += 1;
        compare(&lab, ex, &age, &mut failures);
    }
    assert!(compared > 60, "only {compared} exchanges compared");
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Send one recorded request and record how the answer differs, if it does.
fn compare(lab: &crate::lab_support::TestLab, ex: &Value, age: &Regex, failures: &mut Vec<String>) {
    let s = |k: &str| ex[k].as_str().unwrap_or_default();
    let name = s("name");
    let mut headers = vec![("User-Agent", s("user_agent"))];
    if !s("accept").is_empty() {
        headers.push(("Accept", s("accept")));
    }
    if !s("content_type_req").is_empty() {
        headers.push(("Content-Type", s("content_type_req")));
    }
    let got = request(
        lab.endpoint(),
        s("method"),
        s("path"),
        &headers,
        s("request_body").as_bytes(),
    );
    let want_status = ex["status"].as_u64().unwrap_or_default();
    if u64::from(got.status) != want_status || got.header("Content-Type") != Some(s("content_type"))
    {
        failures.push(format!(
            "{name}: status {} {:?}, want {want_status} {:?}\n{}",
            got.status,
            got.header("Content-Type"),
            s("content_type"),
            got.body
        ));
        return;
    }
    let want_body = s("body");
    match (
        serde_json::from_str::<Value>(&got.body),
        serde_json::from_str::<Value>(want_body),
    ) {
        (Ok(g), Ok(w)) => {
            let (g, w) = (normalise(&g, age), normalise(&w, age));
            if let Some(d) = first_difference("", &g, &w) {
                failures.push(format!("{name} {}: {d}", s("path")));
            }
            // Compact bodies end in exactly one newline, pretty (curl) ones in none.
            if got.body.ends_with('\n') != want_body.ends_with('\n') {
                failures.push(format!("{name}: trailing newline differs"));
            }
        }
        _ => {
            if got.body != want_body {
                failures.push(format!("{name}: body {:?}, want {want_body:?}", got.body));
            }
        }
    }
}

/// Writes the lab answers differently on purpose: the collection delete removed pods created
/// outside the recording.
const WRITES_DIFFERENT_ON_PURPOSE: &[&str] = &["104"];

#[test]
fn recorded_writes_get_the_same_answers() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab");
    let read =
        |f: &str| std::fs::read_to_string(fixtures.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let seed: Vec<Value> =
        serde_json::from_str(&read("reference-seed.json")).unwrap_or_else(|e| panic!("{e}"));
    let exchanges: Vec<Value> =
        serde_json::from_str(&read("exchanges-writes.json")).unwrap_or_else(|e| panic!("{e}"));
    let lab = start_with(runbook::lab::EMPTY, seed);
    let age =
        Regex::new(r"^\d+[smhdy](\d+[smh])?$|^\d+ \(\S+ ago\)$|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            .unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut compared = 0;
    for ex in &exchanges {
        let name = ex["name"].as_str().unwrap_or_default();
        if WRITES_DIFFERENT_ON_PURPOSE
            .iter()
            .any(|p| name.starts_with(p))
        {
            continue;
        }
        compared += 1;
        compare(&lab, ex, &age, &mut failures);
    }
    assert!(compared > 20, "only {compared} exchanges compared");
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
