//! Knowing the cluster, against the real lab and real kubectl: the pinned context is the one
//! every step's `kubectl` talks to, the user's kubeconfig is never written, guard rails per
//! context hold in `runbook run`, health says why in words, and pickers list live objects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::lab_support::{kubectl_available, start, stderr, stdout};
use runbook::cluster::health::{Health, probe};
use runbook::cluster::pick::{PickSpec, list};
use runbook::cluster::{Source, Workspace};

/// A kubeconfig with two contexts: `broken` (current, nothing listens there) and `lab`.
fn user_kubeconfig(dir: &Path, lab_server: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: broken\nclusters:\n- name: lab\n  cluster:\n    server: {lab_server}\n- name: broken\n  cluster:\n    server: http://127.0.0.1:9\nusers:\n- name: trainee\n  user:\n    token: not-a-secret\ncontexts:\n- name: broken\n  context:\n    cluster: broken\n    user: trainee\n- name: lab\n  context:\n    cluster: lab\n    user: trainee\n"
    );
    let path = dir.join("config");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The lab's `server:` value for a kubeconfig, followed by its `certificate-authority-data`
/// line (the lab serves HTTPS with a CA of its own).
fn lab_server(kubeconfig: &Path) -> String {
    let server = Source::from_file(kubeconfig)
        .and_then(|s| s.resolve(None))
        .unwrap_or_else(|e| panic!("{e}"))
        .server;
    let text = std::fs::read_to_string(kubeconfig).unwrap_or_default();
    match text
        .lines()
        .find(|l| l.trim_start().starts_with("certificate-authority-data:"))
    {
        Some(ca) => format!("{server}\n    {}", ca.trim_start()),
        None => server,
    }
}

/// `runbook run` with only our kubeconfig and config in its environment.
fn runbook_run(home: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
        .arg("run")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("KUBECACHEDIR", home.join("kube-cache"))
        .env_remove("CI_NO_SUCH")
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cluster/context.md")
        .display()
        .to_string()
}

fn write_config(home: &Path, text: &str) {
    let dir = home.join(".config/runbook");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("config.toml"), text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn kubectl_in_every_step_talks_to_the_pinned_context_and_the_users_file_is_untouched() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = user_kubeconfig(home.path(), &lab_server(lab.kubeconfig()));
    let before = std::fs::read(&config).unwrap_or_default();
    let modified = std::fs::metadata(&config).and_then(|m| m.modified()).ok();

    let out = runbook_run(home.path(), &config, &[&fixture(), "--context", "lab"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.lines().any(|l| l.trim() == "lab"),
        "current-context in the step: {text}"
    );
    assert!(text.contains("mgmt-f7f97f4fd-lds69"), "{text}");
    assert!(stderr(&out).contains("context lab"), "{}", stderr(&out));

    // The user's current context (`broken`) is what runs without --context: the step fails.
    let out = runbook_run(home.path(), &config, &[&fixture()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).lines().any(|l| l.trim() == "broken"));

    assert_eq!(std::fs::read(&config).unwrap_or_default(), before);
    assert_eq!(
        std::fs::metadata(&config).and_then(|m| m.modified()).ok(),
        modified
    );

    let out = runbook_run(home.path(), &config, &[&fixture(), "--context", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no context `nope`") && stderr(&out).contains("broken, lab"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_session_records_the_pinned_context_the_commands_used() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = lab_server(lab.kubeconfig());
    let config = user_kubeconfig(home.path(), &server);
    let data = home.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &fixture(), "--context", "lab"])
        .env("KUBECONFIG", &config)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("KUBECACHEDIR", home.path().join("kube-cache"))
        .env("RUNBOOK_DATA_DIR", &data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let folder = std::fs::read_dir(data.join("sessions"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .next()
        .unwrap_or_else(|| panic!("no session"));
    let text = std::fs::read_to_string(folder.join("session.json")).unwrap_or_default();
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    // The file's current context is `broken`; every command talked to `lab`.
    assert_eq!(json["context"]["name"], "lab", "{json}");
    let url = server.lines().next().unwrap_or_default();
    assert_eq!(json["context"]["server"], url, "{json}");
}

/// `runbook run` of the switch fixture with `OTHER_KUBECONFIG` set; the session's json.
fn run_switch(
    home: &Path,
    kubeconfig: &Path,
    other: &Path,
    args: &[&str],
) -> (Output, serde_json::Value) {
    let data = home.join(format!("data-{}", args.len()));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/switch.md");
    let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .arg("run")
        .arg(&fixture)
        .args(["--context", "broken"])
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("OTHER_KUBECONFIG", other)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("KUBECACHEDIR", home.join("kube-cache"))
        .env("RUNBOOK_DATA_DIR", &data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let folder = std::fs::read_dir(data.join("sessions"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .next()
        .unwrap_or_else(|| panic!("no session"));
    let text = std::fs::read_to_string(folder.join("session.json")).unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out, json)
}

#[test]
fn a_step_that_points_kubeconfig_elsewhere_moves_the_pin_or_is_put_back() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = lab_server(lab.kubeconfig());
    let config = user_kubeconfig(home.path(), &server);
    // The other file's current context is `lab`.
    let other = home.path().join("other.yaml");
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    std::fs::write(
        &other,
        text.replace("current-context: broken", "current-context: lab"),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // Confirmed (--yes): step 2 talks to `lab`, and the run and the session say so.
    let (out, json) = run_switch(home.path(), &config, &other, &["--yes"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("commands now talk to context lab"), "{text}");
    assert!(text.lines().any(|l| l.trim() == "lab"), "{text}");
    assert!(stderr(&out).contains("context lab ("), "{}", stderr(&out));
    assert_eq!(json["context"]["name"], "lab", "{json}");

    // Not confirmed (no terminal, no --yes): nothing switches.
    let (out, json) = run_switch(home.path(), &config, &other, &[]);
    let text = stdout(&out);
    assert!(text.contains("step 1 blocked"), "{text}");
    assert!(text.contains("KUBECONFIG"), "the reason names it: {text}");
    assert!(text.lines().any(|l| l.trim() == "broken"), "{text}");
    assert_eq!(json["context"]["name"], "broken", "{json}");

    // A file that is not a kubeconfig: the pinned context stays, and the run says why.
    let junk = home.path().join("junk.yaml");
    std::fs::write(&junk, "not: [a kubeconfig").unwrap_or_else(|e| panic!("{e}"));
    let (out, _) = run_switch(home.path(), &config, &junk, &["--yes", "--timeout", "60s"]);
    let text = stdout(&out);
    assert!(text.contains("cannot be used"), "{text}");
    assert!(text.lines().any(|l| l.trim() == "broken"), "{text}");
}

#[test]
fn a_namespace_flag_becomes_the_default_namespace_of_every_command() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = user_kubeconfig(home.path(), &lab_server(lab.kubeconfig()));
    let dir = home.path().join("rb");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("ns.md");
    std::fs::write(
        &file,
        "---\ntitle: ns\ndescription: d\n---\n\n## Scenario - NS {#ns}\n\n### Debug Steps\n\n1. Pods of the default namespace.\n\n   ```bash expect=/mgmt/\n   kubectl get pods --no-headers\n   ```\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();
    let out = runbook_run(
        home.path(),
        &config,
        &[&file, "--context", "lab", "--namespace", "hubble-system"],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_read_only_context_refuses_destructive_commands_even_with_yes() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = user_kubeconfig(home.path(), &lab_server(lab.kubeconfig()));
    write_config(home.path(), "[contexts.\"la*\"]\nguard = \"read-only\"\n");
    let out = runbook_run(
        home.path(),
        &config,
        &[
            &fixture(),
            "--context",
            "lab",
            "--procedure",
            "2",
            "--yes",
            "--var",
            "pod-name=mgmt-f7f97f4fd-lds69",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("READ-ONLY"), "{}", stderr(&out));
    assert!(
        lab.handle
            .get("Pod", "hubble-system", "mgmt-f7f97f4fd-lds69")
            .is_some(),
        "the pod must still exist"
    );
}

#[test]
fn a_protected_context_runs_destructive_commands_only_with_its_name() {
    if !kubectl_available() {
        return;
    }
    let lab = start("backup-stuck/restart-mgmt-pod");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = user_kubeconfig(home.path(), &lab_server(lab.kubeconfig()));
    write_config(home.path(), "[contexts.lab]\nguard = \"confirm-name\"\n");
    let args = [
        fixture(),
        "--context".into(),
        "lab".into(),
        "--procedure".into(),
        "2".into(),
        "--yes".into(),
        "--var".into(),
        "pod-name=mgmt-f7f97f4fd-lds69".into(),
    ];
    let mut refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = runbook_run(home.path(), &config, &refs);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--confirm-context lab"),
        "{}",
        stderr(&out)
    );
    assert!(
        lab.handle
            .get("Pod", "hubble-system", "mgmt-f7f97f4fd-lds69")
            .is_some()
    );
    refs.extend(["--confirm-context", "lab"]);
    let out = runbook_run(home.path(), &config, &refs);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("deleted"), "{}", stdout(&out));
}

fn pinned_at(server: &str, dir: &Path) -> (Workspace, PathBuf) {
    let config = user_kubeconfig(dir, server);
    let ws = Workspace::open(Some(&config), Some("lab"), None, BTreeMap::default())
        .unwrap_or_else(|e| panic!("{e}"));
    (ws, config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn health_names_the_version_and_identity_or_says_why_not() {
    let lab = start("backup-stuck/restart-mgmt-pod");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rt = runtime();
    let bound = Duration::from_secs(3);

    let (ws, _) = pinned_at(&lab_server(lab.kubeconfig()), dir.path());
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let health = rt.block_on(probe(&pinned, None, bound));
    let Health::Up {
        version, identity, ..
    } = &health
    else {
        panic!("{health:?}")
    };
    assert_eq!(version, "v1.32.4-runbook-lab");
    // The lab answers SelfSubjectReview (`kubectl auth whoami`) like a kubeadm cluster.
    assert_eq!(identity.as_deref(), Some("kubernetes-admin"));

    // Nothing listens: refused, in words.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"));
    let (ws, _) = pinned_at(&format!("https://{closed}"), dir.path());
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let health = rt.block_on(probe(&pinned, None, bound));
    assert!(
        matches!(&health, Health::Down(r) if r.contains("connection refused")),
        "{health:?}"
    );

    // A server that does not speak TLS on an https:// address.
    let open = runbook::lab::Lab::start_blocking(runbook::lab::LabOptions {
        scenario: Some("backup-stuck/restart-mgmt-pod".to_owned()),
        open: true,
        ..runbook::lab::LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let plain = open.url().replace("http://", "https://");
    let (ws, _) = pinned_at(&plain, dir.path());
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let health = rt.block_on(probe(&pinned, None, bound));
    assert!(
        matches!(&health, Health::Down(r) if r.starts_with("TLS error")),
        "{health:?}"
    );

    // A server that accepts and never answers: bounded, and says so.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = silent.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (ws, _) = pinned_at(&format!("http://{addr}"), dir.path());
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let started = Instant::now();
    let health = rt.block_on(probe(&pinned, None, bound));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(&health, Health::Down(r) if r.contains("no answer")),
        "{health:?}"
    );
    drop(silent);
}

#[test]
fn refused_credentials_are_named_as_such() {
    // A lab that demands a static token, as a real API server with a token file does.
    let lab = runbook::lab::Lab::start_blocking(runbook::lab::LabOptions {
        scenario: Some("backup-stuck/restart-mgmt-pod".to_owned()),
        token: Some("fresh-token".to_owned()),
        timing: crate::lab_support::fast_timing(),
        ..runbook::lab::LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = runtime();
    let bound = Duration::from_secs(3);
    // Its own kubeconfig carries the token: healthy.
    let ws = Workspace::open(Some(lab.kubeconfig_path()), None, None, BTreeMap::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let health = rt.block_on(probe(&pinned, None, bound));
    assert!(matches!(health, Health::Up { .. }), "{health:?}");
    // An old token (ours, `not-a-secret`): 401, said in words.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (ws, _) = pinned_at(&lab_server(lab.kubeconfig_path()), dir.path());
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let health = rt.block_on(probe(&pinned, None, bound));
    assert!(
        matches!(&health, Health::Down(r) if r.contains("401 Unauthorized") && r.contains("expired")),
        "{health:?}"
    );
    lab.shutdown();
}

#[test]
fn no_kubeconfig_is_a_reason_not_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = dir.path().join("nope");
    // Source::load reads the environment; check the same path through a missing file.
    let err = Source::from_file(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("nope"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &fixture(), "--dry-run"])
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &fixture(), "--context", "lab", "--dry-run"])
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no kubeconfig"), "{}", stderr(&out));
}

#[test]
fn pickers_list_live_objects_with_their_status() {
    let lab = start("practice");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (ws, _) = pinned_at(&lab_server(lab.kubeconfig()), dir.path());
    let pinned = ws.pinned().cloned().unwrap_or_else(|| panic!("pinned"));
    let rt = runtime();
    rt.block_on(async {
        let client = pinned.client().await.unwrap_or_else(|e| panic!("{e}"));
        let spec = |resource: &str, contains: Option<&str>| PickSpec {
            resource: resource.to_owned(),
            namespace: None,
            selector: None,
            fields: None,
            contains: contains.map(str::to_owned),
            value: None,
        };
        let namespaces = list(&client, &spec("namespaces", None), None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let hubble = namespaces
            .iter()
            .find(|c| c.name == "hubble-system")
            .unwrap_or_else(|| panic!("{namespaces:?}"));
        assert!(hubble.detail.starts_with("Active"), "{hubble:?}");

        let pods = list(&client, &spec("pods", Some("mgmt")), Some("hubble-system"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pods.len(), 1, "{pods:?}");
        assert_eq!(pods[0].name, "mgmt-f7f97f4fd-lds69");
        assert!(pods[0].detail.contains("Running"), "{:?}", pods[0]);

        let claims = list(
            &client,
            &spec("ipclaims.ipam.cluster.x-k8s.io", None),
            Some("spectro-mgmt"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            claims
                .iter()
                .any(|c| c.name == "spectro-mgmt-cluster-cp-qx4vw-0"),
            "{claims:?}"
        );

        // Nodes offer their address where the runbook wants one.
        let mut by_ip = spec("nodes", None);
        by_ip.value = Some("Internal-IP".to_owned());
        let nodes = list(&client, &by_ip, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            nodes
                .iter()
                .any(|n| n.value == "192.0.2.11" && n.name != n.value),
            "{nodes:?}"
        );

        let missing = list(&client, &spec("widgets", None), None).await;
        assert_eq!(missing, Err("this cluster has no `widgets`".to_owned()));
    });
}
