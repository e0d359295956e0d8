//! Each practice scenario whose fix runs through the Kubernetes API, fixed by running its
//! bundled runbook headless (`runbook run --yes`) against the lab with the real kubectl.

use std::process::Command;

fn run_fixes(scenario: &str, vars: &[(&str, &str)]) {
    run_fixes_with(scenario, vars, false);
}

/// `kubeconfig_var`: pass the lab's kubeconfig as `path-to-kubeconfig-file` (the runbook
/// exports `KUBECONFIG=<path-to-kubeconfig-file>` in a step).
fn run_fixes_with(scenario: &str, vars: &[(&str, &str)], kubeconfig_var: bool) {
    if !crate::lab_support::kubectl_available() {
        return;
    }
    let lab = crate::lab_support::start(scenario);
    assert!(!lab.handle.is_fixed(), "{scenario} starts broken");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runbook"));
    cmd.args(["run", scenario, "--yes"])
        .current_dir(lab.dir())
        .env("KUBECONFIG", lab.kubeconfig())
        .env("KUBECACHEDIR", lab.cache.path());
    for (k, v) in vars {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    if kubeconfig_var {
        cmd.arg("--var").arg(format!(
            "path-to-kubeconfig-file={}",
            lab.kubeconfig().display()
        ));
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("runbook run: {e}"));
    let transcript = format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !lab.handle.is_fixed() {
        assert!(
            std::time::Instant::now() < deadline,
            "{scenario} is not fixed after its runbook ran:\n{transcript}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!transcript.contains("panicked"), "{transcript}");
}

#[test]
fn microk8s_leftover_upgrade_pod() {
    run_fixes("microk8s-upgrade/upgrade-pod", &[]);
}

#[test]
fn enterprise_backup_stuck() {
    run_fixes(
        "backup-stuck/restart-mgmt-pod",
        &[("mgmt-pod-name", "mgmt-f7f97f4fd-lds69")],
    );
}

#[test]
fn orphaned_ipclaim() {
    run_fixes(
        "ip-pool-exhausted/orphaned-ipclaim",
        &[("claim-name", "spectro-mgmt-cluster-cp-qx4vw-0")],
    );
}

#[test]
fn pack_pods_blocked_by_pod_security() {
    run_fixes_with(
        "namespace-labels/privileged-labels",
        &[("namespace", "metallb-system")],
        true,
    );
}
