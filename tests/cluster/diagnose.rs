//! `runbook diagnose` against the real lab: each lab scenario with a check is ranked first with
//! its evidence, and no longer matches once its fix is applied; the JSON shape; checks whose
//! resource the server lacks; an unreachable server; one GET list per resource kind (counted by a
//! proxy between kube-rs and the lab); a check added by a runbook file alone. Checks run in
//! `runbook __jq` workers as they do in the binary (`diagnose_jq` tests their bounds).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use runbook::diagnose::{self, Finding, Options, Report};
use runbook::lab::{Lab, LabHandle, LabOptions, Timing};
use runbook::runbook::Catalog;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnose")
}

fn timing() -> Timing {
    Timing {
        kubelet_delay: Duration::from_millis(100),
        namespace_delay: Duration::from_millis(300),
    }
}

async fn lab(scenario: &str, extra_objects: Vec<Value>) -> LabHandle {
    Lab::start(LabOptions {
        scenario: Some(scenario.into()),
        extra_objects,
        timing: timing(),
        ..LabOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("lab {scenario}: {e}"))
}

/// Checks run in `runbook __jq` workers, as in the binary.
pub fn use_the_worker() {
    diagnose::jq::worker::use_program(PathBuf::from(env!("CARGO_BIN_EXE_runbook")));
}

async fn client(lab: &LabHandle) -> kube::Client {
    use_the_worker();
    diagnose::client(Some(lab.kubeconfig_path()), None)
        .await
        .unwrap_or_else(|e| panic!("client: {e}"))
        .0
}

async fn run(lab: &LabHandle, catalog: &Catalog) -> Report {
    diagnose::diagnose(&client(lab).await, catalog, Options::default())
        .await
        .unwrap_or_else(|e| panic!("diagnose: {e}"))
}

fn find<'a>(report: &'a Report, id: &str) -> &'a Finding {
    report
        .results
        .iter()
        .find(|f| f.scenario == id)
        .unwrap_or_else(|| panic!("no result for {id}: {report:#?}"))
}

fn bundled() -> Catalog {
    Catalog::load(&[], true)
}

/// Each lab scenario with a check, and a piece of evidence its check must find.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "namespace-labels/privileged-labels",
        "metallb-system/pod lb-metallb-helm-metallb-full-speaker-fghij: violates PodSecurity",
    ),
    (
        "ip-pool-exhausted/orphaned-ipclaim",
        "IPClaim spectro-mgmt/spectro-mgmt-cluster-cp-qx4vw-0 holds 192.0.2.12, which no node has",
    ),
    (
        "cns-mapping/csi-helper",
        "kube-system/vsphere-cloud-config still has the default CNS cluster id: cluster-id = \"spectro-mgmt/spectro-mgmt-cluster\"",
    ),
    (
        "microk8s-upgrade/upgrade-pod",
        "pod default/upgrade-pod is left over (phase Succeeded",
    ),
    (
        "jet-crashloop/jet-crashloop",
        "pod jet-system/jet-7d9f8c6b5d-q4z7m: container jet is in CrashLoopBackOff after 7 restarts",
    ),
    (
        "calico-ipv6/calico-ipv6",
        "calico-node pod calico-node-7xk2p is not ready on node spectro-mgmt-cluster-cp-dt44d, whose kernel 5.15.0-127-generic",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_lab_scenario_with_a_check_is_ranked_first_with_its_evidence() {
    let catalog = bundled();
    for (id, evidence) in SCENARIOS {
        let lab = lab(id, Vec::new()).await;
        let report = run(&lab, &catalog).await;
        let first = &report.results[0];
        assert_eq!(&first.scenario, id, "{report:#?}");
        assert!(first.matched);
        assert!(
            first.evidence.iter().any(|e| e.starts_with(evidence)),
            "{id}: no evidence starting with {evidence:?} in {:#?}",
            first.evidence
        );
        let others: Vec<&str> = report
            .results
            .iter()
            .filter(|f| f.matched && f.scenario != *id)
            .map(|f| f.scenario.as_str())
            .collect();
        assert!(
            others.is_empty(),
            "{id}: other scenarios matched too: {others:?}"
        );
        lab.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calico_check_names_only_the_nodes_with_affected_kernels() {
    let lab = lab("calico-ipv6/calico-ipv6", Vec::new()).await;
    let report = run(&lab, &bundled()).await;
    let calico = find(&report, "calico-ipv6/calico-ipv6");
    assert_eq!(calico.evidence.len(), 2, "{:#?}", calico.evidence);
    assert!(
        calico
            .evidence
            .iter()
            .any(|e| e.contains("6.8.0-57-generic"))
    );
    assert!(!calico.evidence.iter().any(|e| e.contains("5.15.0-130")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orphaned_claim_is_found_but_not_the_support_vm_claim() {
    let lab = lab("ip-pool-exhausted/orphaned-ipclaim", Vec::new()).await;
    let report = run(&lab, &bundled()).await;
    let ip = find(&report, "ip-pool-exhausted/orphaned-ipclaim");
    assert_eq!(ip.evidence.len(), 1, "{:#?}", ip.evidence);
    assert!(!ip.evidence[0].contains("spectro-mgmt-cluster holds"));
}

fn node(name: &str, ip: &str, heartbeat: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": "now-2h"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}],
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "KubeletReady",
                "lastHeartbeatTime": heartbeat, "lastTransitionTime": "now-2h"
            }],
            "nodeInfo": {"kernelVersion": "6.8.0-60-generic"}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_clock_running_ahead_points_to_the_time_skew_runbook() {
    let skewed = lab(
        "empty",
        vec![
            node("mgmt-1", "10.0.0.1", "now-10s"),
            node("mgmt-2", "10.0.0.2", "now+7m"),
        ],
    )
    .await;
    let report = run(&skewed, &bundled()).await;
    let first = &report.results[0];
    assert_eq!(first.scenario, "time-skew-logouts/time-skew", "{report:#?}");
    assert!(
        first.evidence.iter().any(
            |e| e.starts_with("node mgmt-2 stamps its Ready heartbeat 4")
                && e.contains("in the future")
        ),
        "{:#?}",
        first.evidence
    );
    skewed.shutdown();

    let in_step = lab(
        "empty",
        vec![
            node("mgmt-1", "10.0.0.1", "now-10s"),
            node("mgmt-2", "10.0.0.2", "now-25s"),
        ],
    )
    .await;
    let report = run(&in_step, &bundled()).await;
    assert!(
        !find(&report, "time-skew-logouts/time-skew").matched,
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_cluster_matches_nothing() {
    let lab = lab("empty", Vec::new()).await;
    let report = run(&lab, &bundled()).await;
    assert!(report.results.iter().all(|f| !f.matched), "{report:#?}");
    // Every bundled check is there, each as one result.
    for (id, _) in SCENARIOS {
        find(&report, id);
    }
    find(&report, "time-skew-logouts/time-skew");
}

async fn wait_fixed(lab: &LabHandle) {
    for _ in 0..100 {
        if lab.is_fixed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the lab never reported the scenario fixed");
}

async fn delete_pods(client: &kube::Client, ns: &str, selector: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = pods
        .list(&kube::api::ListParams::default().labels(selector))
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    for p in list.items {
        let name = p.metadata.name.unwrap_or_default();
        pods.delete(&name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete {name}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_scenario_no_longer_matches() {
    let catalog = bundled();
    let merge = |v: Value| Patch::Merge(v);
    for (id, _) in SCENARIOS {
        let lab = lab(id, Vec::new()).await;
        let client = client(&lab).await;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let pp = PatchParams::default();
        match *id {
            "namespace-labels/privileged-labels" => {
                let labels = json!({"metadata": {"labels": {
                    "pod-security.kubernetes.io/enforce": "privileged"}}});
                namespaces
                    .patch("metallb-system", &pp, &merge(labels))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                delete_pods(&client, "metallb-system", "app.kubernetes.io/name=metallb").await;
            }
            "ip-pool-exhausted/orphaned-ipclaim" => {
                let gvk = GroupVersionKind::gvk("ipam.cluster.x-k8s.io", "v1alpha1", "IPClaim");
                let claims: Api<DynamicObject> = Api::namespaced_with(
                    client.clone(),
                    "spectro-mgmt",
                    &ApiResource::from_gvk(&gvk),
                );
                claims
                    .delete("spectro-mgmt-cluster-cp-qx4vw-0", &DeleteParams::default())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "cns-mapping/csi-helper" => {
                let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
                let done = json!({"metadata": {"annotations": {
                    "csi-helper.spectrocloud.com/status": "done"}}});
                cms.patch("vsphere-cloud-config", &pp, &merge(done))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "microk8s-upgrade/upgrade-pod" => {
                let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
                pods.delete("upgrade-pod", &DeleteParams::default().grace_period(0))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "jet-crashloop/jet-crashloop" => {
                let registered = json!({"metadata": {"annotations": {
                    "palette.spectrocloud.com/pcg-registered": "true"}}});
                namespaces
                    .patch("jet-system", &pp, &merge(registered))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "calico-ipv6/calico-ipv6" => {
                let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
                let off = json!({"data": {"felix_ipv6support": "false"}});
                cms.patch("calico-config", &pp, &merge(off))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                delete_pods(&client, "kube-system", "k8s-app=calico-node").await;
            }
            other => panic!("no fix known for {other}"),
        }
        wait_fixed(&lab).await;
        let report = run(&lab, &catalog).await;
        let finding = find(&report, id);
        assert!(
            !finding.matched,
            "{id} still matches after its fix: {finding:#?}"
        );
        assert!(finding.error.is_none(), "{finding:#?}");
        lab.shutdown();
    }
}

fn runbook_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("runbook {args:?}: {e}"))
}

#[test]
fn json_output_has_the_shape_of_the_issue() {
    let lab = Lab::start_blocking(LabOptions {
        scenario: Some("microk8s-upgrade/upgrade-pod".into()),
        timing: timing(),
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = lab.kubeconfig_path().to_string_lossy().into_owned();
    let out = runbook_bin(&["diagnose", "--kubeconfig", &kubeconfig, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let results = v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {v}"));
    assert!(results.len() >= 7, "{v}");
    for r in results {
        assert!(r["runbook"].is_string(), "{r}");
        assert!(r["matched"].is_boolean(), "{r}");
        assert!(
            r["evidence"]
                .as_array()
                .is_some_and(|e| e.iter().all(Value::is_string)),
            "{r}"
        );
    }
    assert_eq!(results[0]["runbook"], "microk8s-upgrade/upgrade-pod");
    assert_eq!(results[0]["matched"], true);
    assert!(results[1..].iter().all(|r| r["matched"] == false), "{v}");

    let text = runbook_bin(&["diagnose", "--kubeconfig", &kubeconfig]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with("1. microk8s-upgrade/upgrade-pod  "),
        "{text}"
    );
    assert!(
        text.contains("   open with: runbook microk8s-upgrade/upgrade-pod\n"),
        "{text}"
    );
}

#[test]
fn an_unreachable_server_exits_2_with_a_reason() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        runbook::lab::kubeconfig_text(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = runbook_bin(&[
        "diagnose",
        "--kubeconfig",
        &kubeconfig.to_string_lossy(),
        "--timeout",
        "3s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the cluster: http://127.0.0.1:") && err.contains("--context"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("Backtrace"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let missing = runbook_bin(&["diagnose", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read the kubeconfig"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_whose_resource_the_server_lacks_says_why() {
    // The jet lab has no IPAM CRDs; the fixture's check reads a resource nobody serves.
    let lab = lab("jet-crashloop/jet-crashloop", Vec::new()).await;
    let catalog = Catalog::load(&[fixtures().join("custom-check.md")], true);
    let report = run(&lab, &catalog).await;
    let ip = find(&report, "ip-pool-exhausted/orphaned-ipclaim");
    assert!(!ip.matched);
    let why = ip.error.as_deref().unwrap_or_default();
    assert!(
        why.starts_with("cannot run: ")
            && why.contains("ipam.cluster.x-k8s.io")
            && why.contains("not served"),
        "{why}"
    );
    let widgets = find(&report, "custom-check/widgets");
    assert!(
        widgets
            .error
            .as_deref()
            .is_some_and(|e| e.contains("example.com")),
        "{widgets:#?}"
    );
    // The rest still ran: jet matched, and errors come last.
    assert_eq!(report.results[0].scenario, "jet-crashloop/jet-crashloop");
    let last = report
        .results
        .last()
        .unwrap_or_else(|| panic!("empty report"));
    assert!(last.error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_file_adds_a_check_without_rust() {
    let lab = lab("backup-stuck/restart-mgmt-pod", Vec::new()).await;
    let catalog = Catalog::load(&[fixtures().join("custom-check.md")], false);
    let report = run(&lab, &catalog).await;
    let found = find(&report, "custom-check/hubble-namespace");
    assert!(found.matched, "{found:#?}");
    assert!(found.evidence[0].starts_with("namespace hubble-system exists (created 20"));
    assert_eq!(report.results[0].scenario, "custom-check/hubble-namespace");
}

#[test]
fn lint_reports_malformed_checks_with_their_lines() {
    let file = fixtures().join("bad-check.md");
    let out = runbook_bin(&["lint", "--no-shellcheck", &file.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = |line: usize, needle: &str| {
        text.lines().any(|l| {
            l.contains(&format!("bad-check.md:{line}:"))
                && l.contains("[bad-check]")
                && l.contains(needle)
        })
    };
    assert!(at(7, "jq program does not compile"), "{text}");
    assert!(at(8, "unknown field `colour`"), "{text}");
    assert!(at(11, "`Pods` is not a resource"), "{text}");
    assert!(at(13, "no-such-scenario"), "{text}");

    let bundled = runbook_bin(&["lint", "--no-shellcheck"]);
    let bundled_text = String::from_utf8_lossy(&bundled.stdout);
    assert!(!bundled_text.contains("[bad-check]"), "{bundled_text}");
}

/// A TCP proxy in front of the lab that records each HTTP request line.
async fn counting_proxy(
    upstream: std::net::SocketAddr,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut ri, mut wi) = inbound.split();
                let (mut ro, mut wo) = outbound.split();
                let up = async {
                    let mut pending = Vec::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match ri.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&buf[..n]);
                        // Requests here are GETs without bodies: each head ends at a blank line.
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
                            if let Some(first) = head.lines().next() {
                                log.lock()
                                    .unwrap_or_else(|e| panic!("{e}"))
                                    .push(first.to_owned());
                            }
                            pending.drain(..end + 4);
                        }
                        if wo.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = wo.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut ro, &mut wi).await;
                    let _ = wi.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resource_kind_is_listed_once_and_only_read() {
    // An open lab (plain HTTP, no token), so that the proxy can read the request lines.
    let lab = Lab::start(LabOptions {
        scenario: Some("practice".into()),
        timing: timing(),
        open: true,
        ..LabOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("lab: {e}"));
    let (proxy, seen) = counting_proxy(lab.addr()).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        runbook::lab::kubeconfig_text(&format!("http://{proxy}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    use_the_worker();
    let (client, _) = diagnose::client(Some(&kubeconfig), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = diagnose::diagnose(&client, &bundled(), Options::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let matched: Vec<&str> = report
        .results
        .iter()
        .filter(|f| f.matched)
        .map(|f| f.scenario.as_str())
        .collect();
    assert_eq!(
        matched.len(),
        6,
        "every lab scenario with a check at once: {matched:?}"
    );

    let requests = seen.lock().unwrap_or_else(|e| panic!("{e}")).clone();
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "only GET requests: {requests:#?}"
    );
    let mut lists: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        let target = r.split(' ').nth(1).unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if query.contains("limit=") {
            *lists.entry(path.to_owned()).or_default() += 1;
        }
    }
    // The vSphere check reads the ConfigMaps of kube-system only.
    let expected: BTreeMap<String, usize> = [
        "/api/v1/namespaces/kube-system/configmaps",
        "/api/v1/events",
        "/api/v1/namespaces",
        "/api/v1/nodes",
        "/api/v1/pods",
        "/apis/ipam.cluster.x-k8s.io/v1alpha1/ipclaims",
    ]
    .iter()
    .map(|p| ((*p).to_owned(), 1))
    .collect();
    assert_eq!(lists, expected, "one list per resource kind: {requests:#?}");
}

#[test]
fn evidence_from_the_cluster_never_drives_the_terminal() {
    // Anyone who can write a ConfigMap writes what `diagnose` prints as evidence.
    let hostile = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "hostile", "namespace": "default"},
        "data": {"note": "ok \u{1b}]52;c;b3duZWQ=\u{7} \u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[1;1H cleared"}
    });
    let lab = Lab::start_blocking(LabOptions {
        scenario: Some("backup-stuck/restart-mgmt-pod".into()),
        extra_objects: vec![hostile],
        timing: timing(),
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("notes.md");
    std::fs::write(
        &file,
        "---\ntitle: \"Notes\"\nchecks:\n  - scenario: note\n    reads: [configmaps]\n    jq: |\n      \
         .configmaps[] | select(.metadata.name == \"hostile\") | \"note: \\(.data.note)\"\n---\n\n\
         ## Scenario - A note {#note}\n\nShows a note.\n\n### Debug Steps\n\n1. Read it.\n\n   \
         ```bash\n   kubectl get configmap hostile\n   ```\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = lab.kubeconfig_path().to_string_lossy().into_owned();
    let out = runbook_bin(&[
        "diagnose",
        "--kubeconfig",
        &kubeconfig,
        "--path",
        &file.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "{text:?}"
    );
    assert!(
        text.contains("note: ok ␛]52;c;b3duZWQ=^G ␛]0;owned^G␛[2J␛[1;1H cleared"),
        "{text}"
    );
    lab.shutdown();
}
