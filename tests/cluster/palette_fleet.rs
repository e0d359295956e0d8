//! `runbook diagnose --fleet` against practice clusters: over a Palette stand-in's clusters
//! (`runbook lab --palette`'s fleet), each cluster's scenario is ranked first for that cluster,
//! with one list per resource kind per cluster (counted); over kubeconfig contexts, a dead
//! cluster, one that refuses our token (401) and one slower than its limit are reported as that
//! cluster's error while the rest complete; parallelism is bounded; the JSON and exit codes of
//! the issue; the fleet itself from `runbook lab --palette`.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runbook::diagnose::fleet::{self, Options, Source};
use runbook::lab::{Lab, LabHandle, LabOptions};
use runbook::palette::lab::{FleetOptions, HEALTHY, PaletteLab, merged_kubeconfig};
use runbook::runbook::{Catalog, Read};
use serde_json::Value;

use super::lab_support;
use super::palette_support::{self as support, palette_env, runbook, text};

/// The distinct list queries of the bundled checks: what each cluster must be listed for.
fn bundled_queries(catalog: &Catalog) -> usize {
    runbook::diagnose::plan(catalog)
        .iter()
        .flat_map(|p| p.check.reads.iter().map(Read::query))
        .collect::<BTreeSet<_>>()
        .len()
}

/// Scenarios whose checks point to themselves (the rest, and healthy clusters, match nothing).
fn checked(catalog: &Catalog) -> BTreeSet<String> {
    runbook::diagnose::plan(catalog)
        .into_iter()
        .map(|p| p.scenario)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_palette_cluster_gets_its_own_scenario_first_with_one_list_per_kind() {
    // One full rotation: every scenario once, and a healthy cluster.
    let rotation = runbook::palette::lab::rotation().unwrap_or_default();
    let fleet = PaletteLab::start(FleetOptions {
        clusters: rotation.len(),
        timing: lab_support::fast_timing(),
        ..FleetOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fleet.members.len(), rotation.len());
    assert_eq!(
        fleet
            .members
            .iter()
            .filter(|m| m.scenario == HEALTHY)
            .count(),
        1
    );
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = fleet.url();
    let key = fleet.key().expose().to_owned();
    let out = runbook(
        home.path(),
        &palette_env(&url, &key),
        &[
            "diagnose",
            "--fleet",
            "--palette",
            "--json",
            "--parallel",
            "4",
        ],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stdout.contains(&key) && !stderr.contains(&key));
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let clusters = v["clusters"].as_array().cloned().unwrap_or_default();
    assert_eq!(clusters.len(), rotation.len());

    let catalog = Catalog::load(&[], true);
    let with_checks = checked(&catalog);
    for (c, member) in clusters.iter().zip(&fleet.members) {
        let keys: Vec<&String> = c
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["cluster", "error", "results", "source"]);
        assert_eq!(c["cluster"], member.name.as_str());
        assert_eq!(c["source"], "palette");
        assert_eq!(c["error"], Value::Null, "{c}");
        let matched: Vec<&str> = c["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["matched"] == true)
            .filter_map(|r| r["runbook"].as_str())
            .collect();
        if with_checks.contains(&member.scenario) {
            assert_eq!(matched, [member.scenario.as_str()], "{}: {c}", member.name);
            assert_eq!(c["results"][0]["runbook"], member.scenario.as_str());
        } else {
            assert!(
                matched.is_empty(),
                "{} ({}): {matched:?}",
                member.name,
                member.scenario
            );
        }
    }
    let queries = bundled_queries(&catalog);
    assert!(stderr.contains("of them lists"), "{stderr}");

    // The same through the library, counted per cluster.
    let client = runbook::palette::Client::connect(
        runbook::palette::Settings::resolve(
            &|name| match name {
                "PALETTE_HOST" => Some(url.clone()),
                "PALETTE_API_KEY" => Some(key.clone()),
                _ => None,
            },
            &runbook::palette::PaletteConfig::default(),
            None,
            &runbook::palette::config::Overrides::default(),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let targets = fleet::palette_targets(Arc::new(client))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = fleet::run(targets, Arc::new(catalog), Options::default()).await;
    for c in &report.clusters {
        assert_eq!(c.source, Source::Palette);
        // One list per kind the cluster serves (a practice cluster without the IPAM CRDs has
        // nothing to list for `ipclaims`); never two.
        let unserved = c
            .results
            .iter()
            .filter_map(|f| f.error.as_deref())
            .filter(|e| e.contains("not served by this cluster"))
            .filter_map(|e| e.split('`').nth(1))
            .collect::<BTreeSet<_>>()
            .len() as u64;
        assert_eq!(
            c.lists + unserved,
            queries as u64,
            "{}: {} lists, {unserved} unserved",
            c.cluster,
            c.lists
        );
        // /version, discovery, the lists: nothing else.
        assert!(
            c.requests > c.lists && c.requests <= c.lists + 8,
            "{}: {}",
            c.cluster,
            c.requests
        );
    }
    fleet.shutdown();
}

async fn token_lab(scenario: &str, token: &str) -> LabHandle {
    Lab::start(LabOptions {
        scenario: Some(scenario.into()),
        timing: lab_support::fast_timing(),
        token: Some(token.to_owned()),
        ..LabOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_refusing_and_slow_clusters_are_their_own_errors_while_the_rest_complete() {
    let token = support::key();
    let jet = token_lab("jet-crashloop/jet-crashloop", &token).await;
    let cns = token_lab("cns-mapping/csi-helper", &token).await;
    let guarded = token_lab("empty", &token).await;
    let (slow, _hole) = support::black_hole().await;
    let dead = format!("http://127.0.0.1:{}", support::closed_port());
    let jet_url = jet.url();
    let cns_url = cns.url();
    let guarded_url = guarded.url();
    let slow_url = format!("http://{slow}");
    let wrong = support::key();
    let kubeconfig = merged_kubeconfig(&[
        ("prod-a-jet", &jet_url, &token, jet.ca_pem()),
        ("prod-b-cns", &cns_url, &token, cns.ca_pem()),
        ("prod-c-dead", &dead, &token, None),
        ("prod-d-401", &guarded_url, &wrong, guarded.ca_pem()),
        ("prod-e-slow", &slow_url, &token, None),
        ("staging", &jet_url, &token, jet.ca_pem()),
    ]);
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = home.path().join("kubeconfig");
    std::fs::write(&path, &kubeconfig).unwrap_or_else(|e| panic!("{e}"));
    let path_text = path.to_string_lossy().into_owned();
    let started = Instant::now();
    let out = runbook(
        home.path(),
        &[],
        &[
            "diagnose",
            "--fleet",
            "--contexts",
            "prod-*",
            "--kubeconfig",
            &path_text,
            "--json",
            "--cluster-timeout",
            "3s",
        ],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some reached, some not: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_each_prod_cluster_reported(&v, &wrong);
    assert_text_and_exit_codes(home.path(), &path_text).await;
}

/// The JSON over `prod-*`: the two practice clusters matched, the others their own errors
/// (the refused token not shown).
fn assert_each_prod_cluster_reported(v: &Value, wrong: &str) {
    let by_name = |name: &str| {
        v["clusters"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["cluster"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {v}"))
    };
    assert_eq!(
        v["clusters"].as_array().map(Vec::len),
        Some(5),
        "staging is not prod-*"
    );
    for (name, scenario) in [
        ("prod-a-jet", "jet-crashloop/jet-crashloop"),
        ("prod-b-cns", "cns-mapping/csi-helper"),
    ] {
        let c = by_name(name);
        assert_eq!(c["error"], Value::Null, "{c}");
        assert_eq!(c["source"], "context");
        assert_eq!(c["results"][0]["runbook"], scenario, "{c}");
        assert_eq!(c["results"][0]["matched"], true);
    }
    let error = |name: &str| {
        by_name(name)["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        error("prod-c-dead").contains("cannot reach the cluster"),
        "{}",
        error("prod-c-dead")
    );
    let refused = error("prod-d-401");
    assert!(
        refused.contains("401") || refused.contains("Unauthorized"),
        "{refused}"
    );
    assert!(!refused.contains(wrong), "the token leaked: {refused}");
    assert!(
        error("prod-e-slow").contains("no diagnosis within 3s"),
        "{}",
        error("prod-e-slow")
    );
    for name in ["prod-c-dead", "prod-d-401", "prod-e-slow"] {
        assert_eq!(by_name(name)["results"], serde_json::json!([]));
    }
}

/// Text output, and the exit codes when none is reached or no context matches.
async fn assert_text_and_exit_codes(home: &std::path::Path, path_text: &str) {
    // Text: one block per cluster and a totals line.
    let out = runbook(
        home,
        &[],
        &[
            "diagnose",
            "--fleet",
            "--contexts",
            "prod-[ab]-*",
            "--kubeconfig",
            path_text,
        ],
    )
    .await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("prod-a-jet (context)  1 match(es)\n  1. jet-crashloop/jet-crashloop"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 cluster(s): 2 reached, 2 with a match, 0 failed"),
        "{stdout}"
    );

    // None reached: exit 2. No context matches: one line, exit 2.
    let out = runbook(
        home,
        &[],
        &[
            "diagnose",
            "--fleet",
            "--contexts",
            "prod-c-*",
            "--kubeconfig",
            path_text,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    let out = runbook(
        home,
        &[],
        &[
            "diagnose",
            "--fleet",
            "--contexts",
            "dev-*",
            "--kubeconfig",
            path_text,
        ],
    )
    .await;
    support::assert_one_line_error(
        &out,
        "no context matches --contexts dev-*; the kubeconfig has: prod-a-jet",
    );
    let out = runbook(
        home,
        &[],
        &["diagnose", "--fleet", "--kubeconfig", path_text],
    )
    .await;
    support::assert_one_line_error(&out, "--fleet needs --contexts GLOB or --palette");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelism_is_bounded() {
    let (slow, _hole) = support::black_hole().await;
    let slow_url = format!("http://{slow}");
    let names = ["s1", "s2", "s3", "s4"];
    let entries: Vec<(&str, &str, &str, Option<&str>)> = names
        .iter()
        .map(|n| (*n, slow_url.as_str(), "t", None))
        .collect();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&merged_kubeconfig(&entries))
        .unwrap_or_else(|e| panic!("{e}"));
    let targets = fleet::context_targets(kubeconfig, "s*").unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        parallel: 2,
        cluster_timeout: Duration::from_millis(800),
        ..Options::default()
    };
    let started = Instant::now();
    let report = fleet::run(targets, Arc::new(Catalog::load(&[], true)), options).await;
    let elapsed = started.elapsed();
    assert_eq!(report.clusters.len(), 4);
    assert!(report.clusters.iter().all(|c| c.error.is_some()));
    assert_eq!(report.exit_code(), 2);
    // Four clusters that each use their whole limit, two at a time: two rounds.
    assert!(elapsed >= Duration::from_millis(1600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runbook_lab_palette_serves_a_fleet_and_writes_the_env_file() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env_file = home.path().join("palette.env");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["lab", "--palette", "--clusters", "3", "--palette-env"])
        .arg(&env_file)
        .env("HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env_file.exists() {
        assert!(Instant::now() < deadline, "no env file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mode = std::fs::metadata(&env_file).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.unwrap_or_default(), 0o600);
    let env = std::fs::read_to_string(&env_file).unwrap_or_default();
    let get = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .to_owned()
    };
    let (host, key) = (get("PALETTE_HOST"), get("PALETTE_API_KEY"));
    assert!(
        host.starts_with("http://127.0.0.1:") && key.len() == 32,
        "{env}"
    );
    let out = runbook(
        home.path(),
        &palette_env(&host, &key),
        &["palette", "clusters", "--json"],
    )
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = v["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["practice-01", "practice-02", "practice-03"]);
    // Without the key: 401.
    let out = runbook(
        home.path(),
        &palette_env(&host, "wrong"),
        &["palette", "clusters"],
    )
    .await;
    support::assert_one_line_error(&out, "(401)");
    let _ = child.start_kill();
    let printed = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(
        printed.contains("PALETTE_HOST=http://127.0.0.1:"),
        "{printed}"
    );
    assert!(!printed.contains(&key), "the key was printed: {printed}");
}
