//! `runbook lab` as a user runs it: `--list`, start, kubeconfig, stop on SIGTERM, and the
//! refusal to write over the user's own kubeconfig.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runbook::runbook::Catalog;

fn runbook() -> Command {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
}

#[test]
fn list_prints_one_lab_per_line_with_a_bundled_scenario_id_first() {
    let out = runbook()
        .args(["lab", "--list"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let catalog = Catalog::load(&[], true);
    let ids: Vec<&str> = text.lines().filter_map(|l| l.split('\t').next()).collect();
    for want in [
        "namespace-labels/privileged-labels",
        "ip-pool-exhausted/orphaned-ipclaim",
        "backup-stuck/restart-mgmt-pod",
        "cns-mapping/csi-helper",
        "microk8s-upgrade/upgrade-pod",
        "jet-crashloop/jet-crashloop",
        "calico-ipv6/calico-ipv6",
    ] {
        assert!(ids.contains(&want), "{want} missing from:\n{text}");
    }
    for id in &ids {
        assert!(
            catalog.scenario(id).is_some(),
            "lab {id} practises no bundled scenario"
        );
    }
}

#[test]
fn unknown_scenario_is_a_clear_error() {
    let out = runbook()
        .args(["lab", "--scenario", "nope/nope"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lab scenario `nope/nope`"));
}

#[test]
fn never_writes_over_the_users_kubeconfig() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let theirs = home.path().join(".kube/config");
    std::fs::create_dir_all(home.path().join(".kube")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&theirs, "mine").unwrap_or_else(|e| panic!("{e}"));
    let out = runbook()
        .args(["lab", "--kubeconfig"])
        .arg(&theirs)
        .env("HOME", home.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to write"));
    assert_eq!(std::fs::read_to_string(&theirs).unwrap_or_default(), "mine");
}

#[test]
fn serves_until_sigterm_and_prints_how_to_use_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.path().join("lab.kubeconfig");
    let child = runbook()
        .args([
            "lab",
            "--scenario",
            "backup-stuck/restart-mgmt-pod",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for_file(&kubeconfig);
    let text = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
    assert!(text.contains("server: https://127.0.0.1:"), "{text}");
    assert!(
        text.contains("certificate-authority-data: ") && text.contains("token: "),
        "{text}"
    );
    if crate::lab_support::kubectl_available() {
        let out = Command::new("kubectl")
            .args(["get", "pods", "-n", "hubble-system"])
            .env("KUBECONFIG", &kubeconfig)
            .env("KUBECACHEDIR", dir.path().join("cache"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(String::from_utf8_lossy(&out.stdout).contains("mgmt-f7f97f4fd-lds69"));
    }
    let stdout = stop(child);
    assert!(
        stdout.contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
        "{stdout}"
    );
}

/// Waits (10 s at most) for `path` to be written.
fn wait_for_file(path: &std::path::Path) {
    let started = Instant::now();
    while !path.is_file() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(path.is_file(), "no {} written", path.display());
}

/// Stops a `runbook lab` with SIGTERM, checks it ended cleanly, and returns what it printed.
fn stop(mut child: std::process::Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "did not stop cleanly on SIGTERM"
    );
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn helper_files_beside_a_named_kubeconfig_are_listed_and_never_replace_yours() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.path().join("lab.kubeconfig");
    let helper = dir.path().join("pcg-register");
    let lab = || {
        let mut c = runbook();
        c.args([
            "lab",
            "--scenario",
            "jet-crashloop/jet-crashloop",
            "--kubeconfig",
        ])
        .arg(&kubeconfig);
        c
    };
    // A file of yours where the lab's helper goes: refused, one line, nothing replaced.
    std::fs::write(&helper, "mine").unwrap_or_else(|e| panic!("{e}"));
    let out = lab().output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("runbook: error: refusing to replace ")
            && stderr.contains("pcg-register"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&helper).unwrap_or_default(), "mine");
    assert!(!kubeconfig.exists(), "a refused lab left its kubeconfig");

    // Without one: written, executable, and named in what the lab prints.
    std::fs::remove_file(&helper).unwrap_or_else(|e| panic!("{e}"));
    let child = lab()
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for_file(&kubeconfig);
    let stdout = stop(child);
    assert!(
        stdout.contains(&format!(
            "Helper files, written beside it:\n  {}",
            helper.display()
        )),
        "{stdout}"
    );
    let mode = std::fs::metadata(&helper)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111);
    assert!(mode.is_ok_and(|m| m != 0), "the helper is not executable");
}

#[test]
fn user_restricted_makes_the_trainee_current_and_keeps_the_admin_context() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.path().join("lab.kubeconfig");
    let child = runbook()
        .args(["lab", "--user", "restricted", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for_file(&kubeconfig);
    let text = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
    assert!(
        text.contains("current-context: runbook-lab-trainee\n")
            && text.contains("- name: runbook-lab\n")
            && text.matches("token: ").count() == 2,
        "{text}"
    );
    if crate::lab_support::kubectl_available() {
        let kubectl = |args: &[&str]| {
            Command::new("kubectl")
                .args(args)
                .env("KUBECONFIG", &kubeconfig)
                .env("KUBECACHEDIR", dir.path().join("cache"))
                .output()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let refused = kubectl(&["get", "nodes"]);
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(
                r#"nodes is forbidden: User "trainee" cannot list resource "nodes" in API group "" at the cluster scope"#
            ),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        let admin = kubectl(&["--context", "runbook-lab", "get", "nodes", "-o", "name"]);
        assert!(admin.status.success());
    }
    let stdout = stop(child);
    assert!(
        stdout.contains("Current context: runbook-lab-trainee"),
        "{stdout}"
    );
    let bad = runbook()
        .args(["lab", "--user", "root"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(2));
}
