//! Issue 13 §1-§2 on the wire, with the real kubectl: field ownership (`managedFields`) and
//! server-side apply (conflicts, `--force-conflicts`, fields an applier drops), draining a
//! node through the Eviction API with `PodDisruptionBudgets`, and protobuf answers.

use crate::lab_support::{TestLab, kubectl_available, start, stderr, stdout};
use serde_json::Value;

fn json_of(lab: &TestLab, args: &[&str]) -> Value {
    let text = lab.kubectl_ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or_default().to_owned(),
                        e["operation"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write(lab: &TestLab, name: &str, text: &str) {
    std::fs::write(lab.dir().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn config_map(data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  namespace: default\ndata:\n{data}"
    )
}

#[test]
fn writes_record_their_managers_and_kubectl_hides_them_unless_asked() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    lab.kubectl_ok(&[
        "create",
        "configmap",
        "owned",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ]);
    lab.kubectl_ok(&["label", "configmap", "owned", "tier=web"]);
    let shown = lab.kubectl_ok(&["get", "cm", "owned", "-o", "yaml", "--show-managed-fields"]);
    assert!(shown.contains("manager: kubectl-create"), "{shown}");
    assert!(shown.contains("fieldsType: FieldsV1"), "{shown}");
    assert!(
        shown.contains("f:data:\n        .: {}\n        f:a: {}\n        f:b: {}"),
        "{shown}"
    );
    let hidden = lab.kubectl_ok(&["get", "cm", "owned", "-o", "yaml"]);
    assert!(!hidden.contains("managedFields"), "{hidden}");
    let obj = json_of(
        &lab,
        &["get", "cm", "owned", "-o", "json", "--show-managed-fields"],
    );
    assert_eq!(
        managers(&obj),
        [
            ("kubectl-create".to_owned(), "Update".to_owned()),
            ("kubectl-label".to_owned(), "Update".to_owned())
        ]
    );
    assert_eq!(
        obj["metadata"]["managedFields"][1]["fieldsV1"],
        serde_json::json!({"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}})
    );
    assert!(obj["metadata"]["managedFields"][0]["time"].is_string());
}

#[test]
fn server_side_apply_merges_by_ownership_and_refuses_conflicts() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    lab.kubectl_ok(&[
        "create",
        "configmap",
        "owned",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ]);
    write(
        &lab,
        "conflict.yaml",
        &config_map("  a: \"5\"\n  c: \"3\"\n"),
    );
    let refused = lab.kubectl(&["apply", "--server-side", "-f", "conflict.yaml"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.a\n"
        ),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    let forced = lab.kubectl_ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        "conflict.yaml",
    ]);
    assert_eq!(forced, "configmap/owned serverside-applied\n");
    let obj = json_of(
        &lab,
        &["get", "cm", "owned", "-o", "json", "--show-managed-fields"],
    );
    assert_eq!(
        obj["data"],
        serde_json::json!({"a": "5", "b": "2", "c": "3"})
    );
    assert_eq!(
        managers(&obj),
        [
            ("kubectl".to_owned(), "Apply".to_owned()),
            ("kubectl-create".to_owned(), "Update".to_owned())
        ]
    );
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsV1"],
        serde_json::json!({"f:data": {"f:a": {}, "f:c": {}}})
    );
    // The same configuration again changes nothing, not even the resourceVersion.
    let rv = obj["metadata"]["resourceVersion"].clone();
    lab.kubectl_ok(&["apply", "--server-side", "-f", "conflict.yaml"]);
    let again = json_of(&lab, &["get", "cm", "owned", "-o", "json"]);
    assert_eq!(again["metadata"]["resourceVersion"], rv);
    // Dropping `c`, which only this applier owned, removes it; `b` stays with its creator.
    write(&lab, "fewer.yaml", &config_map("  a: \"5\"\n"));
    lab.kubectl_ok(&["apply", "--server-side", "-f", "fewer.yaml"]);
    let after = json_of(&lab, &["get", "cm", "owned", "-o", "json"]);
    assert_eq!(after["data"], serde_json::json!({"a": "5", "b": "2"}));
}

#[test]
fn server_side_apply_creates_what_is_absent_and_shares_equal_values() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    write(&lab, "new.yaml", &config_map("  a: \"1\"\n"));
    let made = lab.kubectl(&["apply", "--server-side", "-f", "new.yaml"]);
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(stdout(&made), "configmap/owned serverside-applied\n");
    // Another manager setting the same value shares it: no conflict.
    let shared = lab.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "new.yaml",
    ]);
    assert!(shared.status.success(), "{}", stderr(&shared));
    let obj = json_of(
        &lab,
        &["get", "cm", "owned", "-o", "json", "--show-managed-fields"],
    );
    assert_eq!(
        managers(&obj),
        [
            ("kubectl".to_owned(), "Apply".to_owned()),
            ("other".to_owned(), "Apply".to_owned())
        ]
    );
    // Two appliers disagreeing: the conflict names the other applier without a version.
    write(&lab, "new.yaml", &config_map("  a: \"2\"\n"));
    let refused = lab.kubectl(&["apply", "--server-side", "-f", "new.yaml"]);
    assert!(
        stderr(&refused)
            .starts_with("error: Apply failed with 1 conflict: conflict with \"other\": .data.a\n"),
        "{}",
        stderr(&refused)
    );
}

/// A node of our own with two `ReplicaSet` pods (one with an `emptyDir`) and a `DaemonSet` pod,
/// all Running and Ready, and a budget that keeps one `app=web` pod up. The set's template
/// fits no node, so the replacements its controller makes for evicted pods stay Pending.
const DRAIN_SETUP: &str = r#"
kubectl create -f - >/dev/null <<'YAML' || exit 1
apiVersion: v1
kind: Node
metadata: {name: worker-9, labels: {kubernetes.io/hostname: worker-9, lab: drain}}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-1, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {nodeSelector: {lab: none}, containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {nodeSelector: {lab: drain}, containers: [{name: agent, image: busybox}]}
YAML
pod() {
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: shop\n  labels: {app: %s}\n  ownerReferences: [{apiVersion: apps/v1, kind: %s, name: %s, uid: %s, controller: true}]\nspec:\n  nodeName: worker-9\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: nginx}]\n%b' "$@" | kubectl create -f - >/dev/null || exit 1
  kubectl patch pod "$1" -n shop --subresource=status --type=merge \
    -p '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null || exit 1
}
uid() { kubectl get "$1" "$2" -n shop -o jsonpath='{.metadata.uid}'; }
pod web-1-a web ReplicaSet web-1 "$(uid rs web-1)" '  volumes: [{name: tmp, emptyDir: {}}]\n'
pod web-1-b web ReplicaSet web-1 "$(uid rs web-1)" ''
kubectl create poddisruptionbudget web -n shop --selector=app=web --min-available=1 >/dev/null
"#;

#[test]
fn budgets_show_a_computed_status() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    let setup = lab.sh(DRAIN_SETUP);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let status =
        json_of(&lab, &["get", "pdb", "web", "-n", "shop", "-o", "json"])["status"].clone();
    assert_eq!(status["currentHealthy"], 2, "{status}");
    assert_eq!(status["desiredHealthy"], 1);
    assert_eq!(status["disruptionsAllowed"], 1);
    assert_eq!(status["expectedPods"], 2);
    assert_eq!(status["conditions"][0]["reason"], "SufficientPods");
    let table = lab.kubectl_ok(&["get", "pdb", "web", "-n", "shop", "--no-headers"]);
    assert_eq!(
        table.split_whitespace().take(4).collect::<Vec<_>>(),
        ["web", "1", "N/A", "1"]
    );
    // A pod that stops being ready takes the spare disruption away.
    lab.kubectl_ok(&[
        "patch",
        "pod",
        "web-1-b",
        "-n",
        "shop",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"False"}]}}"#,
    ]);
    let status =
        json_of(&lab, &["get", "pdb", "web", "-n", "shop", "-o", "json"])["status"].clone();
    assert_eq!(status["currentHealthy"], 1, "{status}");
    assert_eq!(status["disruptionsAllowed"], 0);
    assert_eq!(status["conditions"][0]["reason"], "InsufficientPods");
}

#[test]
fn an_eviction_that_breaks_a_budget_is_refused_with_429() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    let setup = lab.sh(DRAIN_SETUP);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let evict = |pod: &str| {
        let body = format!(
            r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}","namespace":"shop"}}}}"#
        );
        crate::lab_support::http::request(
            lab.endpoint(),
            "POST",
            &format!("/api/v1/namespaces/shop/pods/{pod}/eviction"),
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let first = evict("web-1-a");
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["status"], "Success");
    let second = evict("web-1-b");
    assert_eq!(second.status, 429, "{}", second.body);
    let status = second.json();
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(
        status["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(
        status["details"]["causes"][0],
        serde_json::json!({"reason": "DisruptionBudget",
            "message": "The disruption budget web needs 1 healthy pods and has 1 currently"})
    );
    // An unknown pod is a 404.
    assert_eq!(evict("nope").status, 404);
}

#[test]
fn drain_refuses_daemonset_pods_then_evicts_through_the_budget() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    let setup = lab.sh(DRAIN_SETUP);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let refused = lab.kubectl(&["drain", "worker-9"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(stdout(&refused), "node/worker-9 cordoned\n");
    // kubectl lists the two refusals in either order.
    let err = stderr(&refused);
    // The DaemonSet's own pod on worker-9 (its controller names it).
    let err = regex::Regex::new("shop/agent-[a-z0-9]{5}")
        .map(|re| re.replace_all(&err, "shop/agent-POD").into_owned())
        .unwrap_or(err);
    let daemonset =
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): shop/agent-POD";
    let local = "cannot delete Pods with local storage (use --delete-emptydir-data to override): shop/web-1-a";
    let mut lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert!(
        lines[0].starts_with("error: unable to drain node \"worker-9\" due to error: [")
            && lines[0].ends_with("], continuing command...")
            && lines[0].contains(daemonset)
            && lines[0].contains(local),
        "{err}"
    );
    assert_eq!(
        lines[1..3],
        ["There are pending nodes to be drained:", " worker-9"]
    );
    lines[3..].sort_unstable();
    assert_eq!(lines[3..], [daemonset, local]);
    let node = json_of(&lab, &["get", "node", "worker-9", "-o", "json"]);
    assert_eq!(node["spec"]["unschedulable"], true);
    // The budget lets one web pod go; the other waits until the timeout.
    let blocked = lab.kubectl(&[
        "drain",
        "worker-9",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=3s",
    ]);
    assert_eq!(blocked.status.code(), Some(1), "{}", stderr(&blocked));
    let err = stderr(&blocked);
    assert!(
        err.starts_with("Warning: ignoring DaemonSet-managed Pods: shop/agent-"),
        "{err}"
    );
    assert!(
        err.contains("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n"),
        "{err}"
    );
    assert!(err.contains("global timeout reached: 3s"), "{err}");
    let on_node = [
        "get",
        "pods",
        "-n",
        "shop",
        "--field-selector=spec.nodeName=worker-9",
        "-o",
        "name",
    ];
    let left = lab.kubectl_ok(&on_node);
    assert_eq!(
        left.lines().filter(|l| l.contains("web-1-")).count(),
        1,
        "{left}"
    );
    // Without the budget the drain finishes; the DaemonSet pod stays.
    lab.kubectl_ok(&["delete", "pdb", "web", "-n", "shop"]);
    let drained = lab.kubectl(&[
        "drain",
        "worker-9",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
    ]);
    assert!(drained.status.success(), "{}", stderr(&drained));
    assert!(
        stdout(&drained).ends_with("node/worker-9 drained\n"),
        "{}",
        stdout(&drained)
    );
    let left = lab.kubectl_ok(&on_node);
    assert!(
        left.starts_with("pod/agent-") && left.lines().count() == 1,
        "{left}"
    );
    assert_eq!(
        lab.kubectl_ok(&["uncordon", "worker-9"]),
        "node/worker-9 uncordoned\n"
    );
}

/// True when `protoc` can be run; missing it fails under `CI` (`.ci/run` installs Debian's
/// `protobuf-compiler`), else skips.
pub(crate) fn protoc_available() -> bool {
    let ok = std::process::Command::new("protoc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "protoc is not installed but CI is set: the protobuf answer tests must run"
        );
        eprintln!("skipping: protoc not found on PATH");
    }
    ok
}

/// `protoc --decode_raw` of a protobuf answer's message (after the `k8s\0` envelope magic).
pub(crate) fn decode_raw(body: &[u8]) -> String {
    use std::io::Write as _;
    let inner = body
        .strip_prefix(b"k8s\0")
        .unwrap_or_else(|| panic!("no k8s envelope: {body:?}"));
    let mut child = std::process::Command::new("protoc")
        .arg("--decode_raw")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("protoc: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(inner)
            .unwrap_or_else(|e| panic!("protoc stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("protoc: {e}"));
    assert!(out.status.success(), "protoc could not decode {body:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn protobuf_is_answered_where_asked_and_decodes_with_protoc() {
    if !kubectl_available() || !protoc_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    lab.kubectl_ok(&["create", "configmap", "wire", "--from-literal=mode=safe"]);
    let get = |path: &str, accept: &str| {
        crate::lab_support::http::request(lab.endpoint(), "GET", path, &[("Accept", accept)], b"")
    };
    let proto_first = "application/vnd.kubernetes.protobuf,application/json";
    let one = get("/api/v1/namespaces/default/configmaps/wire", proto_first);
    assert_eq!(one.status, 200);
    assert_eq!(
        one.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    let text = decode_raw(&one.raw);
    // runtime.Unknown{typeMeta{apiVersion, kind}, raw: ConfigMap{metadata{name, namespace},
    // data{mode: safe}}, contentEncoding, contentType}
    assert!(text.starts_with("1 {\n  1: \"v1\"\n  2: \"ConfigMap\"\n}\n2 {\n  1 {\n    1: \"wire\"\n    3: \"default\"\n"), "{text}");
    assert!(
        text.contains("  2 {\n    1: \"mode\"\n    2: \"safe\"\n  }\n"),
        "{text}"
    );
    assert!(
        text.contains("      1: \"kubectl-create\"\n      2: \"Update\"\n"),
        "{text}"
    );
    // A list of config maps, and a Status for a missing one.
    let list = get("/api/v1/namespaces/default/configmaps", proto_first);
    assert_eq!(
        list.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    assert!(decode_raw(&list.raw).starts_with("1 {\n  1: \"v1\"\n  2: \"ConfigMapList\"\n}\n"));
    let missing = get("/api/v1/namespaces/default/configmaps/nope", proto_first);
    assert_eq!(missing.status, 404);
    let status = decode_raw(&missing.raw);
    assert!(status.contains("2: \"Status\""), "{status}");
    assert!(
        status.contains("3: \"configmaps \\\"nope\\\" not found\""),
        "{status}"
    );
    assert!(status.contains("6: 404"), "{status}");
    // JSON when JSON comes first, and for kinds the table does not cover (custom resources).
    let json = get(
        "/api/v1/namespaces/default/configmaps/wire",
        "application/json",
    );
    assert_eq!(json.header("content-type"), Some("application/json"));
    let pools = get(
        "/apis/ipam.cluster.x-k8s.io/v1alpha1/namespaces/spectro-mgmt/ippools",
        proto_first,
    );
    assert_eq!(pools.header("content-type"), Some("application/json"));
    assert_eq!(pools.json()["kind"], "IPPoolList");
    // kubectl reads the protobuf answers (describe asks for protobuf first).
    let described = lab.kubectl_ok(&["describe", "configmap", "wire"]);
    assert!(
        described.starts_with("Name:         wire\nNamespace:    default\n"),
        "{described}"
    );
    assert!(described.contains("mode:\n----\nsafe\n"), "{described}");
    let again = lab.kubectl(&["create", "configmap", "wire"]);
    assert_eq!(
        stderr(&again),
        "error: failed to create configmap: configmaps \"wire\" already exists\n"
    );
}
