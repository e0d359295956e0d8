//! Issue 13 §3: the Events the lab records on transitions, counted on repeats, and one store
//! served as `v1` and `events.k8s.io/v1` (reads, writes, selectors, watches).

use std::time::{Duration, Instant};

use crate::lab_support::http::{Endpoint, get, request};
use crate::lab_support::start;
use serde_json::{Value, json};

const SETTLE: Duration = Duration::from_secs(10);

fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + SETTLE;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn send(a: &Endpoint, method: &str, path: &str, content_type: &str, body: &Value) -> Value {
    let r = request(
        a,
        method,
        path,
        &[
            ("Content-Type", content_type),
            ("Accept", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
    r.json()
}

fn events_about(a: &Endpoint, ns: &str, name: &str) -> Vec<Value> {
    let path = format!("/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name%3D{name}");
    get(a, &path).json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn reasons(events: &[Value]) -> Vec<String> {
    let mut r: Vec<String> = events
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    r.sort();
    r
}

fn pod(name: &str, running: bool) -> Value {
    let state = if running {
        json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
    } else {
        json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}})
    };
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "spectro-mgmt-cluster-cp-dt44d",
                 "containers": [{"name": "app", "image": "busybox:1.36"}]},
        "status": {"phase": "Running",
                   "containerStatuses": [{"name": "app", "image": "busybox:1.36", "ready": running,
                                          "restartCount": 1, "state": state}]}})
}

#[test]
fn transitions_record_events_and_repeats_are_counted() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    send(
        a,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &pod("web", true),
    );
    let events = events_about(a, "default", "web");
    assert_eq!(
        reasons(&events),
        ["Created", "Pulled", "Scheduled", "Started"]
    );
    let started = events.iter().find(|e| e["reason"] == "Started").cloned();
    let started = started.unwrap_or_default();
    assert_eq!(started["message"], "Started container app");
    assert_eq!(started["source"]["component"], "kubelet");
    assert_eq!(started["source"]["host"], "spectro-mgmt-cluster-cp-dt44d");
    assert_eq!(started["reportingComponent"], "kubelet");
    assert_eq!(
        started["involvedObject"]["fieldPath"],
        "spec.containers{app}"
    );
    assert_eq!(started["count"], 1);
    let uid = get(a, "/api/v1/namespaces/default/pods/web").json()["metadata"]["uid"].clone();
    assert_eq!(started["involvedObject"]["uid"], uid);

    // Crash, recover, crash again: one BackOff event, counted twice.
    let status = "/api/v1/namespaces/default/pods/web/status";
    let merge = "application/merge-patch+json";
    for running in [false, true, false] {
        send(
            a,
            "PATCH",
            status,
            merge,
            &json!({"status": pod("web", running)["status"]}),
        );
    }
    let events = events_about(a, "default", "web");
    let backoff: Vec<&Value> = events.iter().filter(|e| e["reason"] == "BackOff").collect();
    assert_eq!(backoff.len(), 1, "{events:?}");
    assert_eq!(backoff[0]["count"], 2);
    assert_eq!(backoff[0]["type"], "Warning");
    assert!(
        backoff[0]["message"].as_str().is_some_and(
            |m| m.starts_with("Back-off restarting failed container app in pod web_default(")
        ),
        "{}",
        backoff[0]["message"]
    );
    let started: Vec<&Value> = events.iter().filter(|e| e["reason"] == "Started").collect();
    assert_eq!(started[0]["count"], 2, "restarted once: {started:?}");

    // Deleting a scheduled pod: the kubelet stops its containers.
    let r = request(a, "DELETE", "/api/v1/namespaces/default/pods/web", &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(reasons(&events_about(a, "default", "web")).contains(&"Killing".to_owned()));
}

#[test]
fn a_recreated_pod_is_announced_by_its_owner() {
    let lab = start("namespace-labels/privileged-labels");
    let a = &lab.endpoint();
    let old = "lb-metallb-helm-metallb-full-controller-6d8f7c9b5-x2kqp";
    let r = request(
        a,
        "DELETE",
        &format!("/api/v1/namespaces/metallb-system/pods/{old}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rs = "lb-metallb-helm-metallb-full-controller-6d8f7c9b5";
    assert!(eventually(|| {
        events_about(a, "metallb-system", rs)
            .iter()
            .any(|e| e["reason"] == "SuccessfulCreate")
    }));
    let created = events_about(a, "metallb-system", rs)
        .into_iter()
        .find(|e| e["reason"] == "SuccessfulCreate")
        .unwrap_or_default();
    assert_eq!(created["source"]["component"], "replicaset-controller");
    assert_eq!(created["involvedObject"]["kind"], "ReplicaSet");
    assert_eq!(
        created["involvedObject"]["uid"],
        "7e1d2c3b-4a5f-4e6d-8c9b-0a1b2c3d4e5f"
    );
    let new = created["message"]
        .as_str()
        .and_then(|m| m.strip_prefix("Created pod: "))
        .unwrap_or_default()
        .to_owned();
    assert!(new.starts_with(&format!("{rs}-")) && new != old, "{new}");
    // The story the fixture tells is there too, about the same ReplicaSet.
    let failed = events_about(a, "metallb-system", rs)
        .into_iter()
        .find(|e| e["reason"] == "FailedCreate")
        .unwrap_or_default();
    assert_eq!(failed["count"], 7);
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("is forbidden: violates PodSecurity")),
        "{failed}"
    );
}

#[test]
fn events_k8s_io_is_a_second_view_of_the_same_events() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let base = "/apis/events.k8s.io/v1/namespaces/jet-system/events";
    let list = get(a, base).json();
    assert_eq!(list["kind"], "EventList");
    assert_eq!(list["apiVersion"], "events.k8s.io/v1");
    let first = list["items"][0].clone();
    assert_eq!(first["reason"], "BackOff");
    assert_eq!(first["regarding"]["name"], "jet-7d9f8c6b5d-q4z7m");
    assert_eq!(first["deprecatedCount"], 31);
    assert!(first.get("involvedObject").is_none() && first.get("message").is_none());
    let by_regarding = get(
        a,
        &format!("{base}?fieldSelector=regarding.name%3Djet-7d9f8c6b5d-q4z7m"),
    )
    .json();
    assert_eq!(by_regarding["items"].as_array().map(Vec::len), Some(1));

    // Written through events.k8s.io/v1, read through v1 (and the other way round).
    let note = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "drill.1", "namespace": "jet-system"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "runbook/drill",
        "reportingInstance": "drill-1", "action": "Practise", "reason": "Drill",
        "regarding": {"kind": "Pod", "namespace": "jet-system", "name": "jet-7d9f8c6b5d-q4z7m"},
        "note": "a practice note", "type": "Normal",
        "series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}});
    let created = send(a, "POST", base, "application/json", &note);
    assert_eq!(created["apiVersion"], "events.k8s.io/v1");
    assert_eq!(created["note"], "a practice note");
    let core = get(a, "/api/v1/namespaces/jet-system/events/drill.1").json();
    assert_eq!(core["message"], "a practice note");
    assert_eq!(core["involvedObject"]["name"], "jet-7d9f8c6b5d-q4z7m");
    assert_eq!(core["reportingComponent"], "runbook/drill");
    assert_eq!(core["series"]["count"], 2);
    let patched = send(
        a,
        "PATCH",
        &format!("{base}/drill.1"),
        "application/merge-patch+json",
        &json!({"note": "patched"}),
    );
    assert_eq!(patched["note"], "patched");
    assert_eq!(
        get(a, "/api/v1/namespaces/jet-system/events/drill.1").json()["message"],
        "patched"
    );
    let missing = get(a, &format!("{base}/nope"));
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["message"],
        "events.events.k8s.io \"nope\" not found"
    );
    let r = request(a, "DELETE", &format!("{base}/drill.1"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(a, "/api/v1/namespaces/jet-system/events/drill.1").status,
        404
    );

    // A watch on the new API sees an event the old one recorded, in the new shape.
    let rv = get(a, base).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    send(
        a,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &pod("w", true),
    );
    let watch = get(
        a,
        &format!(
            "/apis/events.k8s.io/v1/namespaces/default/events?watch=true&resourceVersion={rv}&timeoutSeconds=1"
        ),
    );
    let seen: Vec<Value> = watch
        .body
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        seen.iter().any(|e| e["type"] == "ADDED"
            && e["object"]["apiVersion"] == "events.k8s.io/v1"
            && e["object"]["reason"] == "Scheduled"
            && e["object"]["regarding"]["name"] == "w"),
        "{seen:?}"
    );
}
