//! Issue 13 §4: the lab's restricted user. Started with `restricted_user`, the lab's kubeconfig
//! makes `trainee` current; RBAC (the seeded objects) decides its requests, refused ones get
//! the real 403 `Status`, and `kubectl auth whoami|can-i` answer for it. The admin context
//! stays usable, and what the admin grants takes effect at once.

use crate::lab_support::{TestLab, fast_timing, kubectl_available, stderr, stdout};
use runbook::lab::{Lab, LabOptions, PRACTICE};

fn restricted_lab() -> TestLab {
    let handle = Lab::start_blocking(LabOptions {
        scenario: Some(PRACTICE.to_owned()),
        timing: fast_timing(),
        restricted_user: true,
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("lab did not start: {e}"));
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    TestLab { handle, cache }
}

#[test]
fn the_restricted_user_is_refused_as_rbac_refuses() {
    if !kubectl_available() {
        return;
    }
    let lab = restricted_lab();
    let config = std::fs::read_to_string(lab.kubeconfig()).unwrap_or_default();
    assert!(
        config.contains("current-context: runbook-lab-trainee\n"),
        "{config}"
    );

    let who = lab.kubectl_ok(&["auth", "whoami"]);
    assert!(
        who.contains("Username    trainee") && who.contains("[system:authenticated]"),
        "{who}"
    );
    // Reads in `default` are granted by the RoleBinding to `view`.
    let pods = lab.kubectl_ok(&["get", "pods"]);
    assert!(pods.contains("upgrade-pod"), "{pods}");

    for (args, want) in [
        (
            &["get", "pods", "-n", "kube-system"][..],
            r#"Error from server (Forbidden): pods is forbidden: User "trainee" cannot list resource "pods" in API group "" in the namespace "kube-system""#,
        ),
        (
            &["get", "nodes"][..],
            r#"Error from server (Forbidden): nodes is forbidden: User "trainee" cannot list resource "nodes" in API group "" at the cluster scope"#,
        ),
        (
            &["delete", "pod", "upgrade-pod"][..],
            r#"Error from server (Forbidden): pods "upgrade-pod" is forbidden: User "trainee" cannot delete resource "pods" in API group "" in the namespace "default""#,
        ),
        (
            &["get", "deploy", "-n", "hubble-system", "auth"][..],
            r#"Error from server (Forbidden): deployments.apps "auth" is forbidden: User "trainee" cannot get resource "deployments" in API group "apps" in the namespace "hubble-system""#,
        ),
        (
            &["logs", "-n", "jet-system", "jet-7d9f8c6b5d-q4z7m"][..],
            r#"Error from server (Forbidden): pods "jet-7d9f8c6b5d-q4z7m" is forbidden: User "trainee" cannot get resource "pods" in API group "" in the namespace "jet-system""#,
        ),
    ] {
        let out = lab.kubectl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert_eq!(stderr(&out).trim(), want, "{args:?}");
    }
    let raw = lab.kubectl(&["get", "--raw", "/api/v1/namespaces/kube-system/secrets"]);
    assert!(
        stderr(&raw).contains("secrets is forbidden"),
        "{}",
        stderr(&raw)
    );

    let yes = lab.kubectl(&["auth", "can-i", "list", "pods"]);
    assert_eq!((yes.status.code(), stdout(&yes).trim()), (Some(0), "yes"));
    let no = lab.kubectl(&["auth", "can-i", "delete", "pods", "-n", "default"]);
    assert_eq!((no.status.code(), stdout(&no).trim()), (Some(1), "no"));
    let list = lab.kubectl_ok(&["auth", "can-i", "--list", "-n", "default"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("pods ") && l.trim_end().ends_with("[get list watch]")),
        "{list}"
    );
    let elsewhere = lab.kubectl_ok(&["auth", "can-i", "--list", "-n", "kube-system"]);
    assert!(
        !elsewhere.lines().any(|l| l.starts_with("pods ")),
        "{elsewhere}"
    );

    // The admin's context still works, and a binding it makes takes effect at once.
    lab.kubectl_ok(&[
        "--context",
        "runbook-lab",
        "create",
        "rolebinding",
        "trainee-edit",
        "-n",
        "kube-system",
        "--clusterrole=edit",
        "--user=trainee",
    ]);
    let now = lab.kubectl(&["get", "pods", "-n", "kube-system", "-o", "name"]);
    assert_eq!(now.status.code(), Some(0), "{}", stderr(&now));
}

#[test]
fn without_the_option_the_kubeconfig_has_only_the_admin() {
    let lab = crate::lab_support::start(PRACTICE);
    let config = std::fs::read_to_string(lab.kubeconfig()).unwrap_or_default();
    assert!(
        config.contains("current-context: runbook-lab\n"),
        "{config}"
    );
    assert!(!config.contains("trainee"), "{config}");
}
