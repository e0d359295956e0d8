//! For each lab scenario: start the lab, run the bundled runbook's kubectl commands in order
//! (placeholders filled from the runbook's examples, `capture=` variables kept, `expect=` /
//! `expect-no=` checked), run the lab's stand-ins (`LabHandle::stand_ins`) for the steps that
//! happen outside the cluster, and check that the scenario ends fixed. Also: every kubectl command of every bundled runbook
//! runs against the practice lab without a server error.

use std::collections::BTreeMap;

use crate::lab_support::{TestLab, kubectl_available, start, stderr, stdout};
use regex::Regex;
use runbook::runbook::{Block, BlockKind, Catalog, Runbook, Scenario, Step};

fn catalog() -> Catalog {
    Catalog::load(&[], true)
}

fn scenario<'a>(catalog: &'a Catalog, id: &str) -> (&'a Runbook, &'a Scenario) {
    catalog
        .scenario(id)
        .unwrap_or_else(|| panic!("no bundled scenario {id}"))
}

/// Fill `<placeholder>`s from the runbook's examples; kubeconfig paths point at the lab.
fn fill(code: &str, runbook: &Runbook, lab: &TestLab) -> String {
    let re = Regex::new(r"<([a-z0-9-]+)>").unwrap_or_else(|e| panic!("{e}"));
    re.replace_all(code, |c: &regex::Captures<'_>| {
        let name = &c[1];
        if name.contains("kubeconfig") {
            return lab.kubeconfig().display().to_string();
        }
        runbook
            .front_matter()
            .placeholders
            .get(name)
            .and_then(|p| p.example.clone())
            .unwrap_or_else(|| c[0].to_owned())
    })
    .into_owned()
}

fn runs_in_lab(code: &str) -> bool {
    code.contains("kubectl") || code.contains("./csi-helper")
}

fn pattern(attr: Option<&str>) -> Option<Regex> {
    let p = attr?.trim_start_matches('/').trim_end_matches('/');
    Regex::new(&format!("(?m){p}")).ok()
}

struct Runner<'a> {
    lab: &'a TestLab,
    runbook: &'a Runbook,
    vars: Vec<(String, String)>,
    log: Vec<String>,
}

impl Runner<'_> {
    fn block(&mut self, b: &Block) {
        if b.kind != BlockKind::Command
            || !runs_in_lab(&b.code)
            || b.code.contains("export KUBECONFIG")
        {
            return;
        }
        let code = fill(&b.code, self.runbook, self.lab);
        let out = self.lab.sh_env(&code, &self.vars);
        let (o, e) = (stdout(&out), stderr(&out));
        self.log.push(format!("$ {code}\n{o}{e}"));
        assert!(
            out.status.success(),
            "`{code}` failed:\n{o}{e}\n--- so far:\n{}",
            self.log.join("\n")
        );
        if let Some(re) = pattern(b.attribute("expect")) {
            assert!(re.is_match(&o), "`{code}` should print {re}:\n{o}");
        }
        if let Some(re) = pattern(b.attribute("expect-no")) {
            assert!(!re.is_match(&o), "`{code}` should not print {re}:\n{o}");
        }
        if let Some(var) = b.attribute("capture") {
            self.vars.push((var.to_owned(), o.trim().to_owned()));
        }
    }

    /// A step's blocks; of tabbed alternatives only the first tab runs.
    fn step(&mut self, s: &Step, hooks: &BTreeMap<String, String>) {
        if let Some(script) = hooks.get(&s.number) {
            let out = self.lab.sh(script);
            assert!(
                out.status.success(),
                "lab stand-in `{script}` failed: {}{}",
                stdout(&out),
                stderr(&out)
            );
        }
        let first_tab = s
            .blocks
            .iter()
            .find_map(|b| b.attribute("tab").map(str::to_owned));
        for b in &s.blocks {
            if first_tab.is_some()
                && b.attribute("tab").is_some()
                && b.attribute("tab") != first_tab.as_deref()
            {
                continue;
            }
            self.block(b);
        }
        for sub in &s.substeps {
            self.step(sub, hooks);
        }
    }
}

/// Run scenario `id`'s intro and first procedure against its lab, with the lab's stand-ins
/// before the steps they stand in for.
fn run_runbook(id: &str) -> TestLab {
    let lab = start(id);
    assert!(!lab.handle.is_fixed(), "{id} starts fixed");
    let catalog = catalog();
    let (runbook, sc) = scenario(&catalog, id);
    let mut r = Runner {
        lab: &lab,
        runbook,
        vars: Vec::new(),
        log: Vec::new(),
    };
    for b in &sc.intro {
        r.block(b);
    }
    if let Some(p) = sc.procedures.first() {
        let hooks: BTreeMap<String, String> = lab
            .handle
            .stand_ins()
            .iter()
            .filter(|st| st.procedure.is_empty() || st.procedure == p.title)
            .map(|st| (st.step.clone(), st.run.clone()))
            .collect();
        for s in &p.steps {
            r.step(s, &hooks);
        }
    }
    lab
}

#[test]
fn privileged_labels_fix_recreates_running_pods() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("namespace-labels/privileged-labels");
    assert!(lab.handle.is_fixed());
    let pods = lab.handle.list("Pod", Some("metallb-system"));
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Running", "{p}");
        let name = p["metadata"]["name"].as_str().unwrap_or_default();
        assert!(
            !name.ends_with("-abcde") && !name.ends_with("-fghij") && !name.ends_with("-x2kqp"),
            "{name} was not recreated"
        );
    }
}

#[test]
fn deleting_pods_without_the_labels_brings_them_back_broken() {
    if !kubectl_available() {
        return;
    }
    let lab = start("namespace-labels/privileged-labels");
    lab.kubectl_ok(&["delete", "pods", "--namespace", "metallb-system", "--all"]);
    let out = lab.kubectl_ok(&["get", "pods", "--namespace", "metallb-system"]);
    assert_eq!(
        out.matches("CreateContainerConfigError").count(),
        2,
        "{out}"
    );
    assert!(!lab.handle.is_fixed());
}

#[test]
fn orphaned_ipclaim_delete_clears_exhausted_pool() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("ip-pool-exhausted/orphaned-ipclaim");
    assert!(lab.handle.is_fixed());
    assert!(
        lab.handle
            .get("IPClaim", "spectro-mgmt", "spectro-mgmt-cluster-cp-qx4vw-0")
            .is_none()
    );
    let pool = lab
        .handle
        .get("IPPool", "spectro-mgmt", "spectro-mgmt-cluster-cluster1");
    assert_eq!(
        pool.map(|p| p["status"]["conditions"][0]["status"].clone()),
        Some("False".into())
    );
    let out = lab.kubectl_ok(&["get", "ippools", "-n", "spectro-mgmt"]);
    assert!(out.contains("False"), "{out}");
}

#[test]
fn orphaned_ipclaim_helper_finds_exactly_the_orphan() {
    if !kubectl_available() {
        return;
    }
    let lab = start("ip-pool-exhausted/orphaned-ipclaim");
    let catalog = catalog();
    let (_, sc) = scenario(&catalog, "ip-pool-exhausted/orphaned-ipclaim");
    let helper = sc.procedures[0]
        .steps
        .iter()
        .flat_map(|s| s.substeps.iter().chain(std::iter::once(s)))
        .flat_map(|s| s.blocks.iter())
        .find(|b| b.attribute("capture") == Some("ORPHAN_CLAIM"))
        .unwrap_or_else(|| panic!("no capture block"));
    let out = lab.sh(&helper.code);
    assert_eq!(
        stdout(&out).trim(),
        "spectro-mgmt-cluster-cp-qx4vw-0",
        "{}",
        stderr(&out)
    );
}

#[test]
fn deleting_the_wrong_claim_does_not_fix_it() {
    if !kubectl_available() {
        return;
    }
    let lab = start("ip-pool-exhausted/orphaned-ipclaim");
    lab.kubectl_ok(&[
        "delete",
        "ipclaim",
        "--namespace",
        "spectro-mgmt",
        "spectro-mgmt-cluster-cp-dt44d-0",
    ]);
    assert!(!lab.handle.is_fixed());
}

#[test]
fn backup_stuck_mgmt_pod_comes_back_with_a_new_name() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("backup-stuck/restart-mgmt-pod");
    assert!(lab.handle.is_fixed());
    let mgmt: Vec<_> = lab
        .handle
        .list("Pod", Some("hubble-system"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "mgmt")
        .collect();
    assert_eq!(mgmt.len(), 1);
    let name = mgmt[0]["metadata"]["name"].as_str().unwrap_or_default();
    assert!(
        name.starts_with("mgmt-f7f97f4fd-") && name != "mgmt-f7f97f4fd-lds69",
        "{name}"
    );
}

#[test]
fn cns_mapping_csi_helper_stand_in_rewrites_the_cluster_id() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("cns-mapping/csi-helper");
    assert!(lab.handle.is_fixed());
    let cm = lab
        .handle
        .get("ConfigMap", "kube-system", "vsphere-cloud-config");
    let conf = cm
        .map(|c| {
            c["data"]["vsphere.conf"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    assert!(
        conf.contains("896d25b9-bfac-414f-bb6f-52fd469d3a6c/spectro-mgmt-cluster"),
        "{conf}"
    );
}

#[test]
fn microk8s_upgrade_pod_is_deleted() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("microk8s-upgrade/upgrade-pod");
    assert!(lab.handle.is_fixed());
    let out = lab.kubectl(&["get", "pod", "upgrade-pod", "-n", "default"]);
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (NotFound): pods \"upgrade-pod\" not found"
    );
}

#[test]
fn jet_recovers_once_the_pcg_is_registered() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("jet-crashloop/jet-crashloop");
    assert!(lab.handle.is_fixed());
}

#[test]
fn calico_recovers_with_ipv6_off_and_recreated_pods() {
    if !kubectl_available() {
        return;
    }
    let lab = start("calico-ipv6/calico-ipv6");
    lab.kubectl_ok(&[
        "patch",
        "configmap",
        "calico-config",
        "-n",
        "kube-system",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"felix_ipv6support":"false"}}"#,
    ]);
    assert!(
        !lab.handle.is_fixed(),
        "running pods do not pick the change up by themselves"
    );
    lab.kubectl_ok(&[
        "delete",
        "pods",
        "-n",
        "kube-system",
        "-l",
        "k8s-app=calico-node",
    ]);
    assert!(lab.handle.is_fixed());
    let out = lab.sh(
        "kubectl get pods -A -l k8s-app=calico-node -o jsonpath='{range .items[*]}{.metadata.namespace}{\" \"}{.metadata.name}{\"\\n\"}{end}' | while read -r ns pod; do kubectl logs -n \"$ns\" \"$pod\" -c calico-node | grep -- '--set-mark' || true; done",
    );
    assert_eq!(stdout(&out), "", "no pod logs the MARK error any more");
}

#[test]
fn calico_kernel_procedure_with_the_upgrade_kernel_stand_in() {
    if !kubectl_available() {
        return;
    }
    let lab = run_runbook("calico-ipv6/calico-ipv6");
    assert!(lab.handle.is_fixed());
    let nodes = lab.kubectl_ok(&["get", "nodes", "-o", "wide"]);
    assert!(
        !nodes.contains("5.15.0-127") && !nodes.contains("6.8.0-57"),
        "{nodes}"
    );
}

#[test]
fn calico_recovers_on_a_fixed_kernel_only_where_the_kernel_changed() {
    if !kubectl_available() {
        return;
    }
    let lab = start("calico-ipv6/calico-ipv6");
    lab.kubectl_ok(&[
        "patch",
        "node",
        "spectro-mgmt-cluster-cp-dt44d",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"nodeInfo":{"kernelVersion":"5.15.0-130-generic"}}}"#,
    ]);
    lab.kubectl_ok(&[
        "delete",
        "pods",
        "-n",
        "kube-system",
        "-l",
        "k8s-app=calico-node",
    ]);
    let out = lab.kubectl_ok(&["get", "pods", "-n", "kube-system", "-o", "wide"]);
    assert_eq!(out.matches("CrashLoopBackOff").count(), 1, "{out}");
    assert!(!lab.handle.is_fixed());
}

/// Every kubectl command of every bundled runbook, run against the practice lab: no server
/// errors, no unknown resource types, no hangs.
#[test]
fn every_runbook_kubectl_command_runs_against_the_practice_lab() {
    if !kubectl_available() {
        return;
    }
    let catalog = catalog();
    let mut ran = 0;
    for runbook in &catalog.runbooks {
        let lab = start(runbook::lab::PRACTICE);
        let mut blocks: Vec<&Block> = Vec::new();
        for sc in &runbook.scenarios {
            blocks.extend(sc.intro.iter());
            for p in &sc.procedures {
                fn walk<'a>(s: &'a Step, out: &mut Vec<&'a Block>) {
                    out.extend(s.blocks.iter());
                    for sub in &s.substeps {
                        walk(sub, out);
                    }
                }
                for s in &p.steps {
                    walk(s, &mut blocks);
                }
            }
        }
        for b in blocks {
            if b.kind != BlockKind::Command
                || !b.code.contains("kubectl")
                || b.code.contains("export KUBECONFIG")
            {
                continue;
            }
            let code = fill(&b.code, runbook, &lab);
            let out = lab.sh_env(
                &format!("timeout 60 bash -c {}", shell_quote(&code)),
                &[
                    (
                        "ORPHAN_CLAIM".into(),
                        "spectro-mgmt-cluster-cp-qx4vw-0".into(),
                    ),
                    ("MGMT_POD".into(), "mgmt-f7f97f4fd-lds69".into()),
                ],
            );
            let err = stderr(&out);
            ran += 1;
            assert_ne!(out.status.code(), Some(124), "`{code}` hung");
            for bad in [
                "InternalError",
                "the server could not find",
                "doesn't have a resource type",
                "couldn't get",
                "Unable to connect",
            ] {
                assert!(!err.contains(bad), "`{code}` ({}): {err}", runbook.id);
            }
        }
    }
    assert!(ran >= 20, "only {ran} kubectl blocks found");
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
