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
    // BackOff, Pulled and Started, all about that pod.
    let items = by_regarding["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(
        items
            .iter()
            .all(|e| e["regarding"]["name"] == "jet-7d9f8c6b5d-q4z7m")
    );

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

/// The Events section of `kubectl describe`: the lines after `Events:`.
fn described_events(lab: &crate::lab_support::TestLab, args: &[&str]) -> String {
    let out = lab.kubectl_ok(args);
    out.split_once("\nEvents:")
        .map(|(_, events)| events.to_owned())
        .unwrap_or_default()
}

/// Each scenario's fixture tells its story as Events: `kubectl get events -n NS` shows the key
/// one (reason and message), and `kubectl describe` of the object it is about shows it in its
/// Events section.
#[test]
fn every_scenario_tells_its_story_in_events() {
    if !crate::lab_support::kubectl_available() {
        return;
    }
    // (scenario, namespace, describe args, reason, a piece of the message)
    let stories: [(&str, &str, &[&str], &str, &str); 7] = [
        (
            "backup-stuck/restart-mgmt-pod",
            "hubble-system",
            &["pod", "mgmt-f7f97f4fd-lds69"],
            "Started",
            "Started container mgmt",
        ),
        (
            "cns-mapping/csi-helper",
            "hubble-system",
            &["pod", "mongo-2"],
            "FailedAttachVolume",
            "is registered to another container cluster with id spectro-mgmt/spectro-mgmt-cluster",
        ),
        (
            "ip-pool-exhausted/orphaned-ipclaim",
            "spectro-mgmt",
            &["ippool", "spectro-mgmt-cluster-cluster1"],
            "Exhausted",
            "Exhausted IP Pools: no free IP addresses left in pool spectro-mgmt-cluster-cluster1",
        ),
        (
            "microk8s-upgrade/upgrade-pod",
            "default",
            &["pod", "upgrade-pod"],
            "Started",
            "Started container upgrade",
        ),
        (
            "jet-crashloop/jet-crashloop",
            "jet-system",
            &["pod", "jet-7d9f8c6b5d-q4z7m"],
            "BackOff",
            "Back-off restarting failed container jet in pod jet-7d9f8c6b5d-q4z7m_jet-system",
        ),
        (
            "calico-ipv6/calico-ipv6",
            "kube-system",
            &["pod", "calico-node-7xk2p"],
            "BackOff",
            "Back-off restarting failed container calico-node",
        ),
        (
            "namespace-labels/privileged-labels",
            "metallb-system",
            &["rs", "lb-metallb-helm-metallb-full-controller-6d8f7c9b5"],
            "FailedCreate",
            "violates PodSecurity",
        ),
    ];
    for (id, ns, what, reason, message) in stories {
        let lab = start(id);
        let listed = lab.kubectl_ok(&["get", "events", "-n", ns]);
        assert!(
            listed
                .lines()
                .any(|l| l.contains(&format!(" {reason} ")) && l.contains(message)),
            "{id}: kubectl get events -n {ns} lacks {reason} {message:?}:\n{listed}"
        );
        let mut args = vec!["describe"];
        args.extend_from_slice(what);
        args.extend(["-n", ns]);
        let events = described_events(&lab, &args);
        // describe folds long messages; the reason and the message's start are on one line.
        let start: String = message.chars().take(40).collect();
        assert!(
            events
                .lines()
                .any(|l| l.contains(&format!(" {reason} ")) && l.contains(&start)),
            "{id}: kubectl {args:?} shows no {reason} event in its Events section:\n{events}"
        );
    }
}

/// The cns-mapping story ends the way a cluster ends it: once csi-helper has made the cluster
/// id unique, the volume attaches and the kubelet starts mongo.
#[test]
fn cns_mapping_fix_lets_the_volume_attach_and_mongo_start() {
    if !crate::lab_support::kubectl_available() {
        return;
    }
    let lab = start("cns-mapping/csi-helper");
    let out = lab.sh("./csi-helper --kubeconfig=\"$KUBECONFIG\"");
    assert!(out.status.success(), "{}", crate::lab_support::stderr(&out));
    let a = &lab.endpoint();
    assert!(eventually(|| {
        reasons(&events_about(a, "hubble-system", "mongo-2")).contains(&"Started".to_owned())
    }));
    let phase = lab.kubectl_ok(&[
        "get",
        "pod",
        "mongo-2",
        "-n",
        "hubble-system",
        "-o",
        "jsonpath={.status.phase}",
    ]);
    assert_eq!(phase, "Running");
}

fn event(name: &str, last: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "gone"},
        "reason": "BackOff", "message": "Back-off restarting failed container app in pod gone_default",
        "type": "Warning", "source": {"component": "kubelet"},
        "firstTimestamp": "now-3h", "lastTimestamp": last, "count": 4})
}

/// An Event is dropped one hour after its last update, as `--event-ttl` does: seeded Events
/// older than that never show, younger ones do.
#[test]
fn events_older_than_the_ttl_are_gone() {
    let lab = crate::lab_support::start_with(
        runbook::lab::EMPTY,
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
            event("old.1", "now-61m"),
            event("young.1", "now-59m"),
        ],
    );
    let a = &lab.endpoint();
    assert_eq!(
        get(a, "/api/v1/namespaces/default/events/old.1").status,
        404
    );
    assert_eq!(
        get(a, "/api/v1/namespaces/default/events/young.1").status,
        200
    );
    let names: Vec<Value> = get(a, "/apis/events.k8s.io/v1/events").json()["items"]
        .as_array()
        .map(|l| l.iter().map(|e| e["metadata"]["name"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(names, [json!("young.1")]);
}

/// With a short TTL, an Event the lab records expires after its last update and a watch sees
/// it DELETED.
#[test]
fn a_recorded_event_expires_after_its_last_update() {
    let handle = runbook::lab::Lab::start_blocking(runbook::lab::LabOptions {
        scenario: Some(runbook::lab::PRACTICE.to_owned()),
        timing: crate::lab_support::fast_timing(),
        token: Some(crate::lab_support::TEST_TOKEN.to_owned()),
        event_ttl: Some(Duration::from_secs(2)),
        ..runbook::lab::LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let a = &Endpoint::from(&handle);
    // The fixture's Events are older than two seconds: gone.
    let jet = get(a, "/api/v1/namespaces/jet-system/events").json();
    assert_eq!(jet["items"].as_array().map(Vec::len), Some(0), "{jet}");
    let rv = get(a, "/api/v1/namespaces/default/events").json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    send(
        a,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &pod("short", true),
    );
    assert!(!events_about(a, "default", "short").is_empty());
    let deadline = started + Duration::from_secs(10);
    while !events_about(a, "default", "short").is_empty() {
        assert!(Instant::now() < deadline, "the pod's events never expired");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(started.elapsed() >= Duration::from_secs(2), "expired early");
    let watch = get(
        a,
        &format!(
            "/api/v1/namespaces/default/events?watch=true&resourceVersion={rv}&timeoutSeconds=1"
        ),
    );
    assert!(
        watch
            .body
            .lines()
            .any(|l| l.contains("\"DELETED\"") && l.contains("short")),
        "{}",
        watch.body
    );
}

fn unplaced(name: &str, spec: &Value) -> Value {
    let mut spec = spec.clone();
    spec["containers"] = json!([{"name": "app", "image": "busybox:1.36"}]);
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn message_of(a: &Endpoint, name: &str, reason: &str) -> Option<String> {
    events_about(a, "default", name)
        .iter()
        .find(|e| e["reason"] == reason)
        .and_then(|e| e["message"].as_str().map(str::to_owned))
}

/// A pod no node can take gets the scheduler's `FailedScheduling`, worded as the scheduler words
/// it: each node counted under the first filter it fails, reasons sorted, the preemption tail.
#[test]
fn a_pod_that_cannot_be_placed_gets_failed_scheduling() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let post = |pod: &Value| {
        send(
            a,
            "POST",
            "/api/v1/namespaces/default/pods",
            "application/json",
            pod,
        );
    };
    // Every node of the practice cluster is a tainted control plane.
    post(&unplaced("plain", &json!({})));
    assert_eq!(
        message_of(a, "plain", "FailedScheduling").as_deref(),
        Some(
            "0/3 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    let failed = events_about(a, "default", "plain");
    let failed = failed.iter().find(|e| e["reason"] == "FailedScheduling");
    assert_eq!(failed.map(|e| e["type"].clone()), Some(json!("Warning")));
    assert_eq!(
        failed.map(|e| e["source"]["component"].clone()),
        Some(json!("default-scheduler"))
    );
    // Tolerating the taint, it fits: no FailedScheduling.
    let tolerant = json!({"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]});
    post(&unplaced("tolerant", &tolerant));
    assert_eq!(message_of(a, "tolerant", "FailedScheduling"), None);

    // One node cordoned, one NotReady, and a selector the third does not match.
    let merge = "application/merge-patch+json";
    send(
        a,
        "PATCH",
        "/api/v1/nodes/spectro-mgmt-cluster-cp-dt44d",
        merge,
        &json!({"spec": {"unschedulable": true}}),
    );
    send(
        a,
        "PATCH",
        "/api/v1/nodes/spectro-mgmt-cluster-cp-43978-p2bpg/status",
        merge,
        &json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}}),
    );
    let mut picky = tolerant.clone();
    picky["nodeSelector"] = json!({"disktype": "ssd"});
    post(&unplaced("picky", &picky));
    assert_eq!(
        message_of(a, "picky", "FailedScheduling").as_deref(),
        Some(
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );

    // No nodes at all.
    let empty = crate::lab_support::start_with(
        runbook::lab::EMPTY,
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})],
    );
    let e = &empty.endpoint();
    send(
        e,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &unplaced("lonely", &json!({})),
    );
    assert_eq!(
        message_of(e, "lonely", "FailedScheduling").as_deref(),
        Some("no nodes available to schedule pods")
    );
}

/// A running container that is not ready and has a readiness probe: the kubelet's `Unhealthy`,
/// with the probe's own target in the message.
#[test]
fn a_running_unready_container_with_a_probe_is_unhealthy() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let mut p = pod("probed", true);
    p["spec"]["containers"][0]["readinessProbe"] =
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10});
    p["status"]["podIP"] = json!("192.168.0.42");
    p["status"]["containerStatuses"][0]["ready"] = json!(false);
    send(
        a,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &p,
    );
    let events = events_about(a, "default", "probed");
    let unhealthy = events.iter().find(|e| e["reason"] == "Unhealthy");
    let unhealthy = unhealthy.cloned().unwrap_or_default();
    assert_eq!(
        unhealthy["message"],
        "Readiness probe failed: Get \"http://192.168.0.42:8080/healthz\": dial tcp 192.168.0.42:8080: connect: connection refused",
        "{events:?}"
    );
    assert_eq!(unhealthy["type"], "Warning");
    assert_eq!(
        unhealthy["involvedObject"]["fieldPath"],
        "spec.containers{app}"
    );
    // A ready container, or one without a probe, is not reported.
    send(
        a,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &pod("fine", true),
    );
    let mut unprobed = pod("unprobed", true);
    unprobed["status"]["containerStatuses"][0]["ready"] = json!(false);
    send(
        a,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &unprobed,
    );
    for name in ["fine", "unprobed"] {
        assert!(!reasons(&events_about(a, "default", name)).contains(&"Unhealthy".to_owned()));
    }
}
