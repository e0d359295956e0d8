//! Issue 13 §1, §4 and §5 with the real kubectl: every built-in kind of the listed groups is
//! served with the columns the real printers print, kubectl's protobuf `create` generators
//! work, `auth whoami` / `can-i` answer from RBAC objects, and what the lab cannot do
//! (exec, attach, cp, port-forward) is said in a Status naming the practice cluster.

use crate::lab_support::{kubectl_available, start, stderr, stdout};
use serde_json::{Value, json};

#[test]
fn every_builtin_kind_of_the_issue_is_served() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    let kinds = [
        "jobs",
        "cronjobs",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "storageclasses",
        "ingresses",
        "ingressclasses",
        "leases",
        "endpointslices",
        "networkpolicies",
        "pdb",
        "hpa",
        "priorityclasses",
        "csr",
        "apiservices",
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "limitranges",
        "resourcequotas",
        "runtimeclasses",
        "deployments",
        "replicasets",
        "daemonsets",
        "statefulsets",
        "services",
        "endpoints",
        "serviceaccounts",
        "secrets",
        "pvc",
        "pv",
        "flowschemas",
        "prioritylevelconfigurations",
        "csidrivers",
        "csinodes",
        "volumeattachments",
        "controllerrevisions",
        "podtemplates",
        "rc",
        "validatingadmissionpolicies",
        "events.events.k8s.io",
    ];
    for k in kinds {
        let out = lab.kubectl(&["get", k, "-A"]);
        let err = stderr(&out);
        assert!(
            out.status.success() && !err.contains("doesn't have a resource type"),
            "kubectl get {k} -A: {err}"
        );
    }
    // The kubeadm RBAC objects are there, printed as the real printers print them.
    let crb = lab.kubectl_ok(&[
        "get",
        "clusterrolebinding",
        "kubeadm:cluster-admins",
        "-o",
        "wide",
    ]);
    let header: Vec<&str> = crb
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    );
    assert!(crb.contains("ClusterRole/cluster-admin"), "{crb}");
    let roles = lab.kubectl_ok(&["get", "clusterroles", "cluster-admin"]);
    assert!(
        roles.starts_with("NAME            CREATED AT\ncluster-admin   20"),
        "{roles}"
    );
}

fn header(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `kubectl create` generators and what kubectl says for each.
const CREATED: &[(&[&str], &str)] = &[
    (
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=2",
        ],
        "deployment.apps/web created",
    ),
    (
        &["create", "serviceaccount", "robot"],
        "serviceaccount/robot created",
    ),
    (
        &["create", "job", "once", "--image=busybox", "--", "date"],
        "job.batch/once created",
    ),
    (
        &[
            "create",
            "cronjob",
            "nightly",
            "--image=busybox",
            "--schedule=0 1 * * *",
            "--",
            "date",
        ],
        "cronjob.batch/nightly created",
    ),
    (
        &["create", "service", "nodeport", "web", "--tcp=80:8080"],
        "service/web created",
    ),
    (
        &[
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=pods",
        ],
        "role.rbac.authorization.k8s.io/reader created",
    ),
    (
        &[
            "create",
            "rolebinding",
            "alice-reads",
            "--role=reader",
            "--user=alice",
        ],
        "rolebinding.rbac.authorization.k8s.io/alice-reads created",
    ),
    (
        &["create", "priorityclass", "high", "--value=1000"],
        "priorityclass.scheduling.k8s.io/high created",
    ),
    (
        &["create", "secret", "generic", "s", "--from-literal=k=v"],
        "secret/s created",
    ),
];

/// The columns kubectl prints for the created objects, as a v1.32 server sends them.
const COLUMNS: &[(&[&str], &[&str])] = &[
    (
        &["get", "deploy", "web"],
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    ),
    (
        &["get", "deploy", "web", "-o", "wide"],
        &[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
    ),
    (
        &["get", "job", "once"],
        &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
    ),
    (
        &["get", "cj", "nightly"],
        &[
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
        ],
    ),
    (
        &["get", "svc", "web"],
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
    ),
    (
        &["get", "pc", "high"],
        &["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
    ),
];

fn get_json(lab: &crate::lab_support::TestLab, kind: &str, name: &str) -> Value {
    serde_json::from_str(&lab.kubectl_ok(&["get", kind, name, "-o", "json"])).unwrap_or_default()
}

#[test]
fn kubectl_create_generators_send_protobuf_and_the_objects_are_whole() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    for (args, said) in CREATED {
        let out = lab.kubectl(args);
        assert_eq!(stdout(&out).trim(), *said, "{args:?}: {}", stderr(&out));
    }
    let deploy = get_json(&lab, "deploy", "web");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(
        deploy["spec"]["selector"]["matchLabels"],
        json!({"app": "web"})
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(deploy["metadata"]["generation"], 1);
    let cj = get_json(&lab, "cj", "nightly");
    assert_eq!(cj["spec"]["schedule"], "0 1 * * *");
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["date"])
    );
    let svc = get_json(&lab, "svc", "web");
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.")),
        "{svc}"
    );
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert!(
        svc["spec"]["ports"][0]["nodePort"]
            .as_i64()
            .is_some_and(|p| (30_000..32_768).contains(&p))
    );
    let rb = get_json(&lab, "rolebinding", "alice-reads");
    assert_eq!(rb["subjects"][0]["name"], "alice");
    assert_eq!(rb["roleRef"]["name"], "reader");
    assert_eq!(
        lab.kubectl_ok(&["get", "secret", "s", "-o", "jsonpath={.data.k}"]),
        "dg=="
    );
    for (args, want) in COLUMNS {
        assert_eq!(header(&lab.kubectl_ok(args)), *want, "{args:?}");
    }
    let svc = lab.kubectl_ok(&["get", "svc", "web", "--no-headers"]);
    assert!(
        svc.contains(" NodePort ") && svc.contains(" <none> ") && svc.contains(" 80:3"),
        "{svc}"
    );
}

#[test]
fn auth_whoami_and_can_i_answer_from_rbac() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    assert_eq!(
        lab.kubectl_ok(&["auth", "whoami"]),
        "ATTRIBUTE   VALUE\nUsername    kubernetes-admin\nGroups      [kubeadm:cluster-admins system:authenticated]\n"
    );
    assert_eq!(
        lab.kubectl_ok(&["auth", "can-i", "delete", "nodes"]),
        "yes\n"
    );
    let list = lab.kubectl_ok(&["auth", "can-i", "--list", "-n", "default"]);
    assert!(list.starts_with("Resources "), "{list}");
    assert!(list.contains("*.*") && list.contains("[*]"), "{list}");
    // Another user's rights, through a SubjectAccessReview: none until a binding gives some.
    let review = |ns: &str| {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "alice", "groups": ["system:authenticated"],
                     "resourceAttributes": {"namespace": ns, "verb": "list", "resource": "pods"}}});
        let path = lab.cache.path().join("sar.json");
        std::fs::write(&path, body.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let out = lab.kubectl_ok(&["create", "-f", &path.display().to_string(), "-o", "json"]);
        serde_json::from_str::<Value>(&out).unwrap_or_default()["status"].clone()
    };
    assert_eq!(review("default")["allowed"], false);
    lab.kubectl_ok(&[
        "create",
        "role",
        "reader",
        "--verb=list",
        "--resource=pods",
        "-n",
        "default",
    ]);
    lab.kubectl_ok(&[
        "create",
        "rolebinding",
        "alice",
        "--role=reader",
        "--user=alice",
        "-n",
        "default",
    ]);
    let allowed = review("default");
    assert_eq!(allowed["allowed"], true, "{allowed}");
    assert_eq!(
        allowed["reason"],
        "RBAC: allowed by RoleBinding \"alice\" of Role \"reader\" to User \"alice\""
    );
    assert_eq!(review("kube-system")["allowed"], false);
}

#[test]
fn what_the_lab_cannot_do_is_said_in_a_status_naming_the_practice_cluster() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let pod = lab.kubectl_ok(&[
        "get",
        "pods",
        "-n",
        "hubble-system",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let said = "is not possible in the practice cluster (runbook lab): its pods are simulated and no container runs";
    for args in [
        vec!["exec", "-n", "hubble-system", pod.as_str(), "--", "ls"],
        vec!["attach", "-n", "hubble-system", pod.as_str()],
        vec![
            "port-forward",
            "-n",
            "hubble-system",
            pod.as_str(),
            "18080:80",
        ],
    ] {
        let out = lab.kubectl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    let out = lab.kubectl(&["cp", &format!("hubble-system/{pod}:/etc/hosts"), "hosts"]);
    assert!(stderr(&out).contains(said), "{}", stderr(&out));
    let out = lab.kubectl(&["top", "pods", "-A"]);
    assert_eq!(stderr(&out).trim(), "error: Metrics API not available");
    // A pod that does not exist is still a 404.
    let out = lab.kubectl(&["exec", "-n", "hubble-system", "nope", "--", "ls"]);
    assert!(
        stderr(&out).contains("pods \"nope\" not found"),
        "{}",
        stderr(&out)
    );
}

/// Issue 13 §3: `kubectl logs` with `--tail`, `--since`, `--timestamps`, `--previous`, `-c`
/// and `-f`, on the calico-node pods of the calico-ipv6 scenario (the story is its fixture's).
#[test]
fn logs_take_kubectls_options() {
    if !kubectl_available() {
        return;
    }
    let lab = start("calico-ipv6/calico-ipv6");
    let pods = lab.kubectl_ok(&[
        "get", "pods", "-n", "kube-system", "-l", "k8s-app=calico-node",
        "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].restartCount}{\"\\n\"}{end}",
    ]);
    let crashing = pods
        .lines()
        .find(|l| !l.ends_with(" 0"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no crashing calico-node: {pods}"))
        .to_owned();
    let all = lab.kubectl_ok(&["logs", "-n", "kube-system", &crashing]);
    assert!(
        all.contains("MARK: bad value for option \\\"--set-mark\\\""),
        "{all}"
    );
    let n = all.lines().count();
    let tail = lab.kubectl_ok(&["logs", "-n", "kube-system", &crashing, "--tail=1"]);
    assert_eq!(tail.lines().count(), 1);
    assert_eq!(tail.lines().next(), all.lines().last());
    let stamped = lab.kubectl_ok(&[
        "logs",
        "-n",
        "kube-system",
        &crashing,
        "--timestamps",
        "--tail=2",
    ]);
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stamped.lines().all(|l| stamp.is_match(l)), "{stamped}");
    // The last run started minutes ago: all of it is within the hour, none within a second.
    assert_eq!(
        lab.kubectl_ok(&["logs", "-n", "kube-system", &crashing, "--since=1h"])
            .lines()
            .count(),
        n
    );
    assert_eq!(
        lab.kubectl_ok(&["logs", "-n", "kube-system", &crashing, "--since=1s"]),
        ""
    );
    assert!(
        !lab.kubectl_ok(&[
            "logs",
            "-n",
            "kube-system",
            &crashing,
            "--previous",
            "-c",
            "calico-node"
        ])
        .is_empty()
    );
    let healthy = pods
        .lines()
        .find(|l| l.ends_with(" 0"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    let out = lab.kubectl(&["logs", "-n", "kube-system", &healthy, "--previous"]);
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "Error from server (BadRequest): previous terminated container \"calico-node\" in pod \"{healthy}\" not found"
        )
    );
    let out = lab.kubectl(&["logs", "-n", "kube-system", &crashing, "-c", "nope"]);
    assert!(
        stderr(&out).contains("container nope is not valid for pod"),
        "{}",
        stderr(&out)
    );
    // -f prints the log and stays open, as for a live container.
    let started = std::time::Instant::now();
    let out = lab.sh(&format!(
        "timeout 2 kubectl logs -f -n kube-system {crashing}"
    ));
    assert_eq!(
        out.status.code(),
        Some(124),
        "still following when the timeout hit"
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    assert_eq!(stdout(&out).lines().count(), n);
}
