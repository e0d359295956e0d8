//! Issue 13 §2: the practice cluster's controllers, driven with the real kubectl. Deployments
//! make `ReplicaSets` and pods (owners, hashes, rollouts, history, undo), scale, garbage
//! collection through ownerReferences, `DaemonSets` per node, `StatefulSet` ordinals, Jobs that
//! complete. The practice cluster's three nodes are control-plane nodes with the `NoSchedule`
//! taint, so these labs get an untainted worker node as an extra seed object.

use std::time::{Duration, Instant};

use crate::lab_support::{TestLab, kubectl_available, start_with};
use serde_json::{Value, json};

const SETTLE: Duration = Duration::from_secs(20);
const WORKER: &str = "worker-1";

fn worker() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": WORKER, "labels": {"kubernetes.io/hostname": WORKER, "kubernetes.io/os": "linux"}},
        "spec": {"podCIDR": "192.168.7.0/24"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "192.0.2.17"}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
        },
    })
}

fn lab() -> TestLab {
    start_with("practice", vec![worker()])
}

/// Poll `f` until it returns Some, or fail with `what` and the last answer.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + SETTLE;
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: never happened; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn json_of(lab: &TestLab, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&lab.kubectl_ok(&all)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn items(lab: &TestLab, args: &[&str]) -> Vec<Value> {
    json_of(lab, args)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn running_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| cs.iter().all(|c| c["ready"] == true))
}

fn controller_uid(o: &Value) -> String {
    o["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["controller"] == true))
        .map(|r| r["uid"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

fn set_count(lab: &TestLab) -> usize {
    items(lab, &["get", "rs", "-n", "shop"]).len()
}

fn rollout_status(lab: &TestLab, what: &str, ns: &str) -> String {
    lab.kubectl_ok(&["rollout", "status", what, "-n", ns, "--timeout=20s"])
}

#[test]
fn a_deployment_runs_its_pods_through_a_replica_set_and_rolls_out() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    lab.kubectl_ok(&["create", "namespace", "shop"]);
    lab.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "shop",
        "--image=nginx:1.27",
        "--replicas=3",
    ]);
    let out = rollout_status(&lab, "deployment/web", "shop");
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );

    let deploy = json_of(&lab, &["get", "deploy", "web", "-n", "shop"]);
    let rs = items(&lab, &["get", "rs", "-n", "shop"]);
    assert_eq!(rs.len(), 1, "{rs:?}");
    let hash = rs[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!hash.is_empty());
    assert_eq!(rs[0]["metadata"]["name"], format!("web-{hash}").as_str());
    assert_eq!(
        controller_uid(&rs[0]),
        deploy["metadata"]["uid"].as_str().unwrap_or_default()
    );
    assert_eq!(
        rs[0]["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash.as_str()
    );
    assert_eq!(
        rs[0]["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
        true
    );

    let pods = items(&lab, &["get", "pods", "-n", "shop"]);
    assert_eq!(pods.len(), 3, "{pods:?}");
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap_or_default();
        let suffix = name
            .strip_prefix(&format!("web-{hash}-"))
            .unwrap_or_default();
        assert_eq!(suffix.len(), 5, "pod name {name}");
        assert_eq!(
            controller_uid(p),
            rs[0]["metadata"]["uid"].as_str().unwrap_or_default()
        );
        assert!(running_ready(p), "{p}");
        assert_eq!(
            p["spec"]["nodeName"], WORKER,
            "only the worker takes untolerating pods"
        );
        assert!(
            p["status"]["podIP"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("192.168.7.")),
            "an address from the worker's pod CIDR: {p}"
        );
    }
    let wide = lab.kubectl_ok(&["get", "deploy", "web", "-n", "shop", "--no-headers"]);
    assert!(
        wide.split_whitespace().take(4).eq(["web", "3/3", "3", "3"]),
        "{wide}"
    );
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let conds = deploy["status"]["conditions"].to_string();
    assert!(
        conds.contains("MinimumReplicasAvailable") && conds.contains("NewReplicaSetAvailable"),
        "{conds}"
    );

    // The story in events: the deployment scaled its set, the set made pods, the kubelet ran them.
    let events = lab.kubectl_ok(&["get", "events", "-n", "shop"]);
    for reason in [
        "ScalingReplicaSet",
        "SuccessfulCreate",
        "Scheduled",
        "Started",
    ] {
        assert!(events.contains(reason), "no {reason}:\n{events}");
    }
    assert!(
        events.contains(&format!("Scaled up replica set web-{hash} from 0 to 3")),
        "{events}"
    );

    // Scale.
    lab.kubectl_ok(&["scale", "deployment", "web", "-n", "shop", "--replicas=1"]);
    eventually("scaled to 1", || {
        let n = items(&lab, &["get", "pods", "-n", "shop"]).len();
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} pods"))
        }
    });
}

#[test]
fn set_image_rolls_out_a_new_replica_set_with_history_undo_and_restart() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    lab.kubectl_ok(&["create", "namespace", "shop"]);
    lab.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "shop",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    rollout_status(&lab, "deployment/web", "shop");

    // set image: a new ReplicaSet at revision 2, the old one scaled to zero.
    lab.kubectl_ok(&[
        "set",
        "image",
        "deployment/web",
        "-n",
        "shop",
        "nginx=nginx:1.28",
    ]);
    lab.kubectl_ok(&[
        "annotate",
        "deployment/web",
        "-n",
        "shop",
        "kubernetes.io/change-cause=bump to 1.28",
    ]);
    let out = rollout_status(&lab, "deployment/web", "shop");
    assert!(out.contains("successfully rolled out"), "{out}");
    let sets = eventually("old set scaled down", || {
        let sets = items(&lab, &["get", "rs", "-n", "shop"]);
        let zero = sets.iter().filter(|r| r["spec"]["replicas"] == 0).count();
        if sets.len() == 2 && zero == 1 {
            Ok(sets)
        } else {
            Err(format!("{sets:?}"))
        }
    });
    let newest = sets
        .iter()
        .find(|r| r["spec"]["replicas"] == 2)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        newest["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(
        newest["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    let pods = eventually("only new pods", || {
        let pods = items(&lab, &["get", "pods", "-n", "shop"]);
        let new = pods
            .iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28" && running_ready(p));
        if pods.len() == 2 && new {
            Ok(pods)
        } else {
            Err(format!("{} pods", pods.len()))
        }
    });
    assert_eq!(pods.len(), 2);

    // History and undo.
    let history = lab.kubectl_ok(&["rollout", "history", "deployment/web", "-n", "shop"]);
    let lines: Vec<String> = history
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        lines.iter().any(|l| l == "REVISION CHANGE-CAUSE"),
        "{history}"
    );
    assert!(lines.iter().any(|l| l == "1 <none>"), "{history}");
    assert!(lines.iter().any(|l| l == "2 bump to 1.28"), "{history}");
    lab.kubectl_ok(&["rollout", "undo", "deployment/web", "-n", "shop"]);
    rollout_status(&lab, "deployment/web", "shop");
    let image = lab.kubectl_ok(&["get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}"]);
    assert_eq!(image, "nginx:1.27 3");
    assert_eq!(set_count(&lab), 2, "undo revives the old set");

    // Restart: a third set, the pods replaced.
    let before: Vec<String> = items(&lab, &["get", "pods", "-n", "shop"])
        .iter()
        .map(|p| p["metadata"]["name"].to_string())
        .collect();
    lab.kubectl_ok(&["rollout", "restart", "deployment/web", "-n", "shop"]);
    rollout_status(&lab, "deployment/web", "shop");
    eventually("restarted pods", || {
        let pods = items(&lab, &["get", "pods", "-n", "shop"]);
        let fresh = pods
            .iter()
            .all(|p| !before.contains(&p["metadata"]["name"].to_string()));
        if pods.len() == 2 && fresh {
            Ok(())
        } else {
            Err(format!("{pods:?}"))
        }
    });
    assert_eq!(set_count(&lab), 3);
    // revisionHistoryLimit: old sets beyond it go once the rollout is complete.
    lab.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "shop",
        "-p",
        r#"{"spec":{"revisionHistoryLimit":1}}"#,
    ]);
    eventually("history trimmed", || {
        let n = set_count(&lab);
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} sets"))
        }
    });
}

#[test]
fn deleting_a_deployment_collects_its_sets_and_pods_unless_orphaned() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    lab.kubectl_ok(&["create", "namespace", "gc"]);
    for name in ["bg", "fg", "orphan"] {
        lab.kubectl_ok(&[
            "create",
            "deployment",
            name,
            "-n",
            "gc",
            "--image=nginx:1.27",
            "--replicas=2",
        ]);
        rollout_status(&lab, &format!("deployment/{name}"), "gc");
    }
    let of = |app: &str| {
        let rs = items(
            &lab,
            &["get", "rs", "-n", "gc", "-l", &format!("app={app}")],
        )
        .len();
        let pods = items(
            &lab,
            &["get", "pods", "-n", "gc", "-l", &format!("app={app}")],
        );
        (rs, pods)
    };
    lab.kubectl_ok(&["delete", "deployment", "bg", "-n", "gc"]);
    eventually("background collection", || match of("bg") {
        (0, p) if p.is_empty() => Ok(()),
        (rs, p) => Err(format!("{rs} sets, {} pods", p.len())),
    });
    lab.kubectl_ok(&[
        "delete",
        "deployment",
        "fg",
        "-n",
        "gc",
        "--cascade=foreground",
    ]);
    eventually("foreground collection", || match of("fg") {
        (0, p) if p.is_empty() => Ok(()),
        (rs, p) => Err(format!("{rs} sets, {} pods", p.len())),
    });
    let gone = lab.kubectl(&["get", "deploy", "fg", "-n", "gc"]);
    assert!(
        !gone.status.success(),
        "the owner goes after its dependents"
    );
    lab.kubectl_ok(&[
        "delete",
        "deployment",
        "orphan",
        "-n",
        "gc",
        "--cascade=orphan",
    ]);
    eventually("orphaned set stays", || {
        let rs = items(&lab, &["get", "rs", "-n", "gc", "-l", "app=orphan"]);
        let deploy = lab.kubectl(&["get", "deploy", "orphan", "-n", "gc"]);
        match rs.as_slice() {
            [r] if !deploy.status.success() && r["metadata"]["ownerReferences"].is_null() => Ok(()),
            _ => Err(format!("{rs:?}")),
        }
    });
    let (_, pods) = of("orphan");
    assert_eq!(pods.len(), 2, "orphaned pods keep running");
    assert!(pods.iter().all(running_ready));
}

#[test]
fn a_daemon_set_runs_one_pod_per_node_it_tolerates() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    let manifest = r"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: everywhere, namespace: kube-system}
spec:
  selector: {matchLabels: {app: everywhere}}
  template:
    metadata: {labels: {app: everywhere}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
      containers: [{name: agent, image: busybox:1.36}]
";
    let out = lab.sh(&format!("kubectl apply -f - <<'EOF'\n{manifest}\nEOF"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rollout_status(&lab, "daemonset/agent", "kube-system");
    rollout_status(&lab, "daemonset/everywhere", "kube-system");
    let agent = items(
        &lab,
        &["get", "pods", "-n", "kube-system", "-l", "app=agent"],
    );
    assert_eq!(
        agent.len(),
        1,
        "the control-plane taint keeps it off three nodes"
    );
    assert_eq!(agent[0]["spec"]["nodeName"], WORKER);
    let every = items(
        &lab,
        &["get", "pods", "-n", "kube-system", "-l", "app=everywhere"],
    );
    let mut nodes: Vec<String> = every
        .iter()
        .map(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(
        (every.len(), nodes.len()),
        (4, 4),
        "one per node: {nodes:?}"
    );
    let ds = lab.kubectl_ok(&[
        "get",
        "ds",
        "everywhere",
        "-n",
        "kube-system",
        "--no-headers",
    ]);
    assert!(
        ds.split_whitespace()
            .skip(1)
            .take(5)
            .eq(["4", "4", "4", "4", "4"]),
        "{ds}"
    );
}

#[test]
fn a_stateful_set_makes_ordinal_pods_in_order() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    let manifest = r"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16}]
";
    let out = lab.sh(&format!("kubectl apply -f - <<'EOF'\n{manifest}\nEOF"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rollout_status(&lab, "statefulset/db", "default");
    let pods = items(&lab, &["get", "pods", "-n", "default", "-l", "app=db"]);
    let mut names: Vec<&str> = pods
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["db-0", "db-1", "db-2"]);
    // In order: each pod was created after the one before it was running.
    let created = |n: &str| {
        pods.iter()
            .find(|p| p["metadata"]["name"] == n)
            .and_then(|p| p["metadata"]["creationTimestamp"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let started = |n: &str| {
        pods.iter()
            .find(|p| p["metadata"]["name"] == n)
            .and_then(|p| {
                p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].as_str()
            })
            .unwrap_or_default()
            .to_owned()
    };
    assert!(created("db-1") >= started("db-0") && created("db-2") >= started("db-1"));
    assert_eq!(
        pods[0]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"],
        pods[0]["metadata"]["name"]
    );
    lab.kubectl_ok(&[
        "scale",
        "statefulset",
        "db",
        "-n",
        "default",
        "--replicas=1",
    ]);
    eventually("scaled down from the top", || {
        let names: Vec<String> = items(&lab, &["get", "pods", "-n", "default", "-l", "app=db"])
            .iter()
            .map(|p| {
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        if names == ["db-0"] {
            Ok(())
        } else {
            Err(format!("{names:?}"))
        }
    });
}

#[test]
fn a_job_completes_and_a_cron_job_makes_jobs() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    lab.kubectl_ok(&[
        "create",
        "job",
        "once",
        "-n",
        "default",
        "--image=busybox:1.36",
        "--",
        "date",
    ]);
    lab.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "-n",
        "default",
        "--timeout=20s",
    ]);
    let line = lab.kubectl_ok(&["get", "job", "once", "-n", "default", "--no-headers"]);
    assert!(
        line.split_whitespace()
            .take(3)
            .eq(["once", "Complete", "1/1"]),
        "{line}"
    );
    let jobs = items(
        &lab,
        &["get", "jobs", "-n", "default", "-l", "job-name=once"],
    );
    assert_eq!(jobs.len(), 1, "a Job takes its template's labels");
    let pods = items(
        &lab,
        &["get", "pods", "-n", "default", "-l", "job-name=once"],
    );
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["phase"], "Succeeded");
    let events = lab.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        "involvedObject.kind=Job",
    ]);
    assert!(
        events.contains("SuccessfulCreate") && events.contains("Completed"),
        "{events}"
    );

    lab.kubectl_ok(&[
        "create",
        "cronjob",
        "nightly",
        "-n",
        "default",
        "--image=busybox:1.36",
        "--schedule=0 1 * * *",
        "--",
        "date",
    ]);
    lab.kubectl_ok(&[
        "create",
        "job",
        "manual",
        "-n",
        "default",
        "--from=cronjob/nightly",
    ]);
    lab.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/manual",
        "-n",
        "default",
        "--timeout=20s",
    ]);
    let job = json_of(&lab, &["get", "job", "manual", "-n", "default"]);
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(job["status"]["succeeded"], 1);
    let cron = json_of(&lab, &["get", "cronjob", "nightly", "-n", "default"]);
    assert!(cron["status"]["lastSuccessfulTime"].is_string(), "{cron}");
    assert!(cron["status"]["active"].is_null(), "{cron}");
    // The CronJob owns its Job: deleting it collects the Job and the Job's pod.
    lab.kubectl_ok(&["delete", "cronjob", "nightly", "-n", "default"]);
    eventually("cron job's job collected", || {
        let jobs = lab.kubectl(&["get", "job", "manual", "-n", "default"]);
        let pods = items(
            &lab,
            &["get", "pods", "-n", "default", "-l", "job-name=manual"],
        );
        if !jobs.status.success() && pods.is_empty() {
            Ok(())
        } else {
            Err(format!("{} pods", pods.len()))
        }
    });
}

#[test]
fn without_a_node_that_fits_pods_wait_and_say_why() {
    if !kubectl_available() {
        return;
    }
    // The practice cluster as it ships: three control-plane nodes, all tainted.
    let lab = start_with("practice", Vec::new());
    lab.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "default",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    let pods = eventually("pods made", || {
        let pods = items(&lab, &["get", "pods", "-n", "default", "-l", "app=web"]);
        if pods.len() == 2 {
            Ok(pods)
        } else {
            Err(format!("{}", pods.len()))
        }
    });
    assert!(
        pods.iter()
            .all(|p| p["status"]["phase"] == "Pending" && p["spec"]["nodeName"].is_null())
    );
    let events = lab.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        "reason=FailedScheduling",
    ]);
    assert!(
        events.contains("0/3 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
        "{events}"
    );
    // One FailedScheduling per pod, not one from the scheduler and one from the event rules.
    let failed = items(
        &lab,
        &[
            "get",
            "events",
            "-n",
            "default",
            "--field-selector",
            "reason=FailedScheduling",
        ],
    );
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|e| e["count"] == 1), "{failed:?}");
    // Untainting a node lets the scheduler place them.
    lab.kubectl_ok(&[
        "taint",
        "node",
        "spectro-mgmt-cluster-cp-dt44d",
        "node-role.kubernetes.io/control-plane:NoSchedule-",
    ]);
    rollout_status(&lab, "deployment/web", "default");
    // A pod's Events list in the order they happened (names grow with time, as client-go
    // names them), so describe's Events section reads as the story it is.
    let pod = pods[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let selector = format!("involvedObject.name={pod}");
    let reasons: Vec<String> = items(
        &lab,
        &[
            "get",
            "events",
            "-n",
            "default",
            "--field-selector",
            &selector,
        ],
    )
    .iter()
    .filter_map(|e| e["reason"].as_str().map(str::to_owned))
    .collect();
    assert_eq!(
        reasons,
        [
            "FailedScheduling",
            "Scheduled",
            "Pulled",
            "Created",
            "Started"
        ],
        "{reasons:?}"
    );
}

/// A Service with a selector gets `Endpoints` and an `EndpointSlice` from the ready pods it
/// selects, following a scale down, and both go with the Service.
#[test]
fn a_service_gets_endpoints_and_a_slice_from_its_ready_pods() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    lab.kubectl_ok(&["create", "namespace", "net"]);
    lab.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "net",
        "--image=nginx",
        "--replicas=2",
        "--port=80",
    ]);
    lab.kubectl_ok(&[
        "expose",
        "deployment",
        "web",
        "-n",
        "net",
        "--port=8080",
        "--target-port=80",
    ]);
    rollout_status(&lab, "deployment/web", "net");
    let addresses = |lab: &TestLab| {
        json_of(lab, &["get", "endpoints", "web", "-n", "net"])["subsets"][0]["addresses"]
            .as_array()
            .map_or(0, Vec::len)
    };
    until_ready(&lab, 2, addresses);
    let ep = json_of(&lab, &["get", "endpoints", "web", "-n", "net"]);
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 80, "{ep}");
    assert_eq!(
        ep["subsets"][0]["addresses"][0]["targetRef"]["kind"], "Pod",
        "{ep}"
    );
    let slices = items(
        &lab,
        &[
            "get",
            "endpointslices",
            "-n",
            "net",
            "-l",
            "kubernetes.io/service-name=web",
        ],
    );
    assert_eq!(slices.len(), 1, "{slices:?}");
    assert_eq!(slices[0]["endpoints"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        slices[0]["metadata"]["ownerReferences"][0]["kind"],
        "Service"
    );
    // describe reads both (it dereferences every slice port's name).
    let described = lab.kubectl_ok(&["describe", "service", "web", "-n", "net"]);
    assert!(described.contains(":80,"), "{described}");
    lab.kubectl_ok(&["scale", "deployment", "web", "-n", "net", "--replicas=1"]);
    until_ready(&lab, 1, addresses);
    lab.kubectl_ok(&["delete", "service", "web", "-n", "net"]);
    eventually("endpoints and slice gone", || {
        let left = items(&lab, &["get", "endpoints,endpointslices", "-n", "net"]).len();
        if left == 0 {
            Ok(())
        } else {
            Err(format!("{left} left"))
        }
    });
}

fn until_ready(lab: &TestLab, want: usize, count: impl Fn(&TestLab) -> usize) {
    eventually("endpoint addresses", || {
        let n = count(lab);
        if n == want {
            Ok(())
        } else {
            Err(format!("{n} addresses"))
        }
    });
}

#[test]
fn a_cron_job_makes_its_job_at_the_scheduled_minute() {
    if !kubectl_available() {
        return;
    }
    let lab = lab();
    lab.kubectl_ok(&[
        "create",
        "cronjob",
        "every",
        "-n",
        "default",
        "--image=busybox:1.36",
        "--schedule=* * * * *",
        "--",
        "date",
    ]);
    // The next minute boundary is at most a minute away: poll past it.
    let deadline = Instant::now() + Duration::from_secs(75);
    let job = loop {
        let jobs = items(&lab, &["get", "jobs", "-n", "default"]);
        if let Some(job) = jobs
            .into_iter()
            .find(|j| j["metadata"]["ownerReferences"][0]["name"] == "every")
        {
            break job;
        }
        assert!(Instant::now() < deadline, "no Job from the CronJob in 75 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Named after its scheduled time in minutes since the epoch, annotated with that time,
    // which is the CronJob's lastScheduleTime.
    let name = job["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let scheduled =
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    let at = chrono::DateTime::parse_from_rfc3339(&scheduled)
        .unwrap_or_else(|e| panic!("{scheduled}: {e}"));
    assert_eq!(name, format!("every-{}", at.timestamp() / 60));
    assert_eq!(at.timestamp() % 60, 0, "{scheduled}");
    assert_eq!(job["metadata"]["ownerReferences"][0]["controller"], true);
    let cron = eventually("lastScheduleTime", || {
        let cron = json_of(&lab, &["get", "cronjob", "every", "-n", "default"]);
        if cron["status"]["lastScheduleTime"] == scheduled.as_str() {
            Ok(cron)
        } else {
            Err(cron["status"].to_string())
        }
    });
    assert_eq!(cron["spec"]["schedule"], "* * * * *");
    let events = lab.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        "involvedObject.name=every,reason=SuccessfulCreate",
        "-o",
        "jsonpath={.items[*].source.component}: {.items[*].message}",
    ]);
    assert_eq!(events, format!("cronjob-controller: Created job {name}"));
    // Its Job runs like any other.
    lab.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        &format!("job/{name}"),
        "-n",
        "default",
        "--timeout=20s",
    ]);
}
