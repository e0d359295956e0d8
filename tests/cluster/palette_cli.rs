//! `runbook palette ...` as a user runs it, against the stand-in on 127.0.0.1: the clusters
//! JSON of the issue, a kubeconfig written 0600 that the real kubectl uses, `--palette-cluster`
//! on `diagnose` and `run`, and every error a user can act on as one line with exit 2: no key,
//! 401, 403, unreachable, TLS (and `--ca-cert` fixing it), not ready yet, rate limiting (waited
//! out as `Retry-After` says, or reported when too long), timeout. The key appears in no output,
//! session or report.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use runbook::lab::{Lab, LabOptions};
use runbook::palette::standin::StandInOptions;
use serde_json::Value;

use super::lab_support;
use super::palette_support::{self as support, assert_one_line_error, palette_env, runbook, text};

/// A stand-in with one running cluster (a real practice cluster behind it) and one still
/// provisioning.
struct World {
    home: tempfile::TempDir,
    key: String,
    _lab: runbook::lab::LabHandle,
    standin: runbook::palette::standin::StandIn,
}

async fn world(tweak: impl FnOnce(&mut StandInOptions)) -> World {
    let lab = Lab::start(LabOptions {
        scenario: Some("microk8s-upgrade/upgrade-pod".into()),
        timing: lab_support::fast_timing(),
        ..LabOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig =
        runbook::palette::lab::kubeconfig_of(&lab, "edge-1").unwrap_or_else(|e| panic!("{e}"));
    let key = support::key();
    let mut options = support::options(
        &key,
        vec![
            support::cluster("edge-1", 1, "Running", Some(kubeconfig)),
            support::cluster("edge-2", 2, "Provisioning", None),
        ],
    );
    tweak(&mut options);
    let standin = support::start(options).await;
    World {
        home: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        key,
        _lab: lab,
        standin,
    }
}

impl World {
    async fn run(&self, args: &[&str]) -> std::process::Output {
        let url = self.standin.url();
        let out = runbook(self.home.path(), &palette_env(&url, &self.key), args).await;
        let (stdout, stderr) = text(&out);
        assert!(
            !stdout.contains(&self.key) && !stderr.contains(&self.key),
            "the API key leaked from {args:?}"
        );
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_json_has_the_shape_of_the_issue_and_text_a_table() {
    let w = world(|_| {}).await;
    let out = w.run(&["palette", "clusters", "--json"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let clusters = v["clusters"].as_array().cloned().unwrap_or_default();
    assert_eq!(clusters.len(), 2, "{v}");
    let keys: Vec<&String> = clusters[0]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["cloud", "health", "name", "project", "state", "uid"]);
    assert_eq!(clusters[0]["name"], "edge-1");
    assert_eq!(clusters[0]["project"], "Default");
    assert_eq!(clusters[0]["state"], "Running");
    assert_eq!(clusters[0]["health"], "Healthy");
    assert_eq!(clusters[1]["health"], Value::Null);
    let out = w
        .run(&["palette", "clusters", "--project", "Default"])
        .await;
    let (stdout, _) = text(&out);
    assert!(
        stdout.starts_with("NAME    PROJECT  CLOUD        STATE         HEALTH   KUBERNETES\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("edge-2  Default  edge-native  Provisioning  -        1.32.4"),
        "{stdout}"
    );
    let out = w.run(&["palette", "gateways"]).await;
    assert!(
        text(&out)
            .0
            .contains("pcg-east  Running  Healthy  active, ready"),
        "{:?}",
        text(&out)
    );
    let out = w.run(&["palette", "events", "edge-1", "--json"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["events"].as_array().map(Vec::len), Some(2), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_is_written_private_and_works_with_real_kubectl() {
    let w = world(|_| {}).await;
    let file = w.home.path().join("edge-1.kubeconfig");
    let out = w
        .run(&[
            "palette",
            "kubeconfig",
            "edge-1",
            "--output",
            &file.to_string_lossy(),
        ])
        .await;
    assert!(out.status.success(), "{:?}", text(&out));
    let mode = std::fs::metadata(&file).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.unwrap_or_default(), 0o600);
    // Nothing else in the folder: no temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(w.home.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "data")
        .collect();
    assert_eq!(names, ["edge-1.kubeconfig"]);
    if lab_support::kubectl_available() {
        let file = file.clone();
        let cache = w.home.path().join(".kube-cache");
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .args(["get", "pods", "-n", "default", "-o", "name"])
                .env("KUBECONFIG", &file)
                .env("KUBECACHEDIR", &cache)
                .output()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("pod/upgrade-pod"), "{stdout}");
    }
    // Your own kubeconfig is not replaced unless asked.
    let theirs = w.home.path().join(".kube/config");
    std::fs::create_dir_all(w.home.path().join(".kube")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&theirs, "mine").unwrap_or_else(|e| panic!("{e}"));
    let out = w
        .run(&[
            "palette",
            "kubeconfig",
            "edge-1",
            "-o",
            &theirs.to_string_lossy(),
        ])
        .await;
    assert_one_line_error(&out, "would be replaced, not merged");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap_or_default(), "mine");
    // Standard output by default.
    let out = w.run(&["palette", "kubeconfig", "edge-1"]).await;
    assert!(
        text(&out).0.contains("current-context: edge-1"),
        "{:?}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn palette_cluster_pins_that_clusters_kubeconfig_for_diagnose_and_run() {
    let w = world(|_| {}).await;
    let out = w
        .run(&["diagnose", "--palette-cluster", "edge-1", "--json"])
        .await;
    assert!(out.status.success(), "{:?}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v["results"][0]["runbook"], "microk8s-upgrade/upgrade-pod",
        "{v}"
    );
    assert_eq!(v["results"][0]["matched"], true);

    let out = w
        .run(&[
            "run",
            "microk8s-upgrade/upgrade-pod",
            "--palette-cluster",
            "edge-1",
            "--read-only",
            "--var",
            "node-name=n1",
        ])
        .await;
    let (stdout, stderr) = text(&out);
    assert!(
        stderr.contains("context edge-1 (https://127.0.0.1:"),
        "the run is pinned to the Palette cluster: {stderr}\n{stdout}"
    );
    // The session and its report hold no trace of the key.
    let data = w.home.path().join("data");
    let everything = support::all_text_under(&data);
    assert!(
        !everything.is_empty(),
        "no session recorded in {}",
        data.display()
    );
    assert!(!everything.contains(&w.key));
    let report = w.run(&["report", "last"]).await;
    assert!(report.status.success(), "{:?}", text(&report));
    assert!(!text(&report).0.contains(&w.key));

    let out = w.run(&["diagnose", "--palette-cluster", "edge-2"]).await;
    assert_one_line_error(
        &out,
        "cluster edge-2 is Provisioning: its kubeconfig is not ready yet",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_is_one_line_a_user_can_act_on() {
    let w = world(|_| {}).await;
    let home = w.home.path();
    let url = w.standin.url();

    let out = runbook(home, &[("PALETTE_HOST", &url)], &["palette", "clusters"]).await;
    assert_one_line_error(&out, "no Palette API key: set PALETTE_API_KEY");

    let wrong = support::key();
    let out = runbook(home, &palette_env(&url, &wrong), &["palette", "clusters"]).await;
    let line = assert_one_line_error(
        &out,
        "refused the API key (401): it is wrong, revoked or expired",
    );
    assert!(!line.contains(&wrong));

    let out = w
        .run(&["palette", "clusters", "--project", support::DENIED])
        .await;
    assert_one_line_error(&out, "may not list clusters in project Restricted (403");

    let out = w.run(&["palette", "clusters", "--project", "Nope"]).await;
    assert_one_line_error(
        &out,
        "no project `Nope` for this API key; it sees: Default, Restricted",
    );

    let out = w.run(&["palette", "kubeconfig", "edge-2"]).await;
    assert_one_line_error(
        &out,
        "cluster edge-2 is Provisioning: its kubeconfig is not ready yet",
    );

    let out = w
        .run(&["palette", "kubeconfig", "edge-1", "--variant", "frp"])
        .await;
    assert_one_line_error(&out, "Palette has no frp kubeconfig for cluster edge-1");

    let out = w.run(&["palette", "kubeconfig", "edge-9"]).await;
    assert_one_line_error(
        &out,
        "no cluster `edge-9` in tenant scope; it has: edge-1, edge-2",
    );

    let dead = format!("http://127.0.0.1:{}", support::closed_port());
    let out = runbook(home, &palette_env(&dead, &w.key), &["palette", "clusters"]).await;
    assert_one_line_error(&out, &format!("cannot reach Palette at {dead}"));

    let out = runbook(
        home,
        &palette_env("http://palette.example.com", &w.key),
        &["palette", "clusters"],
    )
    .await;
    assert_one_line_error(&out, "plain http:// would send the API key in clear");

    // TLS: a private CA is refused until --ca-cert names it.
    let front = support::tls_front(w.standin.addr()).await;
    let https = format!("https://127.0.0.1:{}", front.addr.port());
    let out = runbook(home, &palette_env(&https, &w.key), &["palette", "clusters"]).await;
    assert_one_line_error(&out, "certificate not trusted for 127.0.0.1");
    let ca = front.write_ca(home);
    let out = runbook(
        home,
        &palette_env(&https, &w.key),
        &["palette", "clusters", "--ca-cert", &ca.to_string_lossy()],
    )
    .await;
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("edge-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_is_waited_out_as_retry_after_says_or_reported() {
    let w = world(|o| {
        o.rate_limit_first = 2;
        o.retry_after = 1;
    })
    .await;
    let started = Instant::now();
    let out = w.run(&["palette", "clusters"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two 429s with Retry-After: 1 were not waited out ({:?})",
        started.elapsed()
    );
    let statuses: Vec<String> = w.standin.log().iter().map(|l| l.line.clone()).collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");

    let w = world(|o| {
        o.rate_limit_first = 1;
        o.retry_after = 120;
    })
    .await;
    let started = Instant::now();
    let out = w.run(&["palette", "clusters"]).await;
    assert_one_line_error(
        &out,
        "is rate limiting this address (429) and asks to wait 120s",
    );
    assert!(started.elapsed() < Duration::from_secs(60), "it waited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_palette_times_out_with_a_reason() {
    let w = world(|o| o.delay = Duration::from_secs(5)).await;
    let out = w.run(&["palette", "clusters", "--timeout", "1s"]).await;
    assert_one_line_error(&out, "did not answer within 1s");
}
