//! `runbook diagnose` inside a cluster: with a service account (a static bearer token the lab
//! demands, its CA, over TLS) found through `KUBERNETES_SERVICE_HOST` as in a pod, and
//! `--emit-events` recording each match as an Event (reason `RunbookMatch`) on the object the
//! evidence names, visible to the real kubectl. And `assets/deploy/`: the `ClusterRole` grants
//! exactly `list` on what the bundled checks read plus `create` on events, bound to the
//! `CronJob`'s service account.

use std::collections::BTreeSet;
use std::path::Path;

use clap::Parser;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Event, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, ListParams};
use runbook::lab::{Lab, LabOptions};
use runbook::runbook::Catalog;
use serde::Deserialize;
use serde_json::Value;

use super::lab_support;
use super::palette_support::{self as support, text};

fn deploy_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/deploy"))
}

fn documents(file: &str) -> Vec<Value> {
    let path = deploy_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

fn typed<T: serde::de::DeserializeOwned>(doc: &Value) -> T {
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

#[test]
fn the_cluster_role_grants_exactly_what_the_bundled_checks_read() {
    let catalog = Catalog::load(&[], true);
    let reads: BTreeSet<(String, String)> = runbook::diagnose::plan(&catalog)
        .iter()
        .flat_map(|p| {
            p.check
                .reads
                .iter()
                .map(|r| (r.group.clone(), r.resource.clone()))
        })
        .collect();
    assert!(reads.len() >= 5, "{reads:?}");
    let rbac = documents("rbac.yaml");
    let role: ClusterRole = typed(
        rbac.iter()
            .find(|d| d["kind"] == "ClusterRole")
            .unwrap_or(&Value::Null),
    );
    let mut listed = BTreeSet::new();
    let mut created = BTreeSet::new();
    for rule in role.rules.unwrap_or_default() {
        let groups = rule.api_groups.unwrap_or_default();
        let resources = rule.resources.unwrap_or_default();
        for verb in &rule.verbs {
            for g in &groups {
                for r in &resources {
                    let pair = (g.clone(), r.clone());
                    match verb.as_str() {
                        "list" => listed.insert(pair),
                        "create" => created.insert(pair),
                        other => panic!("a verb no check needs: {other}"),
                    };
                }
            }
        }
    }
    assert_eq!(listed, reads, "list rules vs the checks' reads");
    assert_eq!(
        created,
        BTreeSet::from([(String::new(), "events".to_owned())])
    );

    // Bound to the CronJob's service account, which runs `diagnose --in-cluster --emit-events`.
    let binding: ClusterRoleBinding = typed(
        rbac.iter()
            .find(|d| d["kind"] == "ClusterRoleBinding")
            .unwrap_or(&Value::Null),
    );
    assert_eq!(
        binding.role_ref.name,
        role.metadata.name.clone().unwrap_or_default()
    );
    let subject = binding
        .subjects
        .unwrap_or_default()
        .into_iter()
        .next()
        .unwrap_or_default();
    let account: ServiceAccount = typed(&documents("serviceaccount.yaml")[0]);
    assert_eq!(Some(subject.name), account.metadata.name.clone());
    assert_eq!(subject.namespace, account.metadata.namespace.clone());
    assert_eq!(
        documents("namespace.yaml")[0]["metadata"]["name"],
        subject.namespace.clone().unwrap_or_default()
    );
    let cron: CronJob = typed(&documents("cronjob.yaml")[0]);
    let pod = cron
        .spec
        .and_then(|s| s.job_template.spec)
        .map(|j| j.template.spec.unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(pod.service_account_name, account.metadata.name);
    let args = pod.containers[0].args.clone().unwrap_or_default();
    assert_eq!(
        args[..4],
        ["diagnose", "--in-cluster", "--emit-events", "--json"]
    );
    // The arguments parse as the real binary's.
    let parsed =
        runbook::cli::Cli::try_parse_from(std::iter::once("runbook".to_owned()).chain(args));
    assert!(parsed.is_ok(), "{parsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_cluster_with_a_service_account_token_emits_events_on_the_evidence_objects() {
    let token = support::key();
    let lab = Lab::start(LabOptions {
        scenario: Some("microk8s-upgrade/upgrade-pod".into()),
        timing: lab_support::fast_timing(),
        token: Some(token.clone()),
        ..LabOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // The lab serves HTTPS itself with a CA of its own, as a cluster's API server does.
    let ca_pem = lab.ca_pem().unwrap_or_default().to_owned();
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let account = home.path().join("serviceaccount");
    std::fs::create_dir_all(&account).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(account.join("token"), &token).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(account.join("ca.crt"), &ca_pem).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(account.join("namespace"), "runbook-system").unwrap_or_else(|e| panic!("{e}"));
    let port = lab.addr().port().to_string();
    let account_text = account.to_string_lossy().into_owned();
    let env = [
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
        ("KUBERNETES_SERVICE_PORT", port.as_str()),
        ("RUNBOOK_SERVICE_ACCOUNT_DIR", account_text.as_str()),
    ];
    // No kubeconfig anywhere: the service account is used without being asked for.
    let out = support::runbook(home.path(), &env, &["diagnose", "--json", "--emit-events"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stdout.contains(&token) && !stderr.contains(&token),
        "the token leaked"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        v["results"][0]["runbook"], "microk8s-upgrade/upgrade-pod",
        "{v}"
    );
    assert!(
        stderr.contains("events: 1 created (reason RunbookMatch)"),
        "{stderr}"
    );

    // The Event, read back through the lab's API.
    let client = runbook::diagnose::client(Some(lab.kubeconfig_path()), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .0;
    let events: Api<Event> = Api::namespaced(client, "default");
    let listed = events
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ours: Vec<&Event> = listed
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some("RunbookMatch"))
        .collect();
    assert_eq!(ours.len(), 1, "{:#?}", listed.items);
    let e = ours[0];
    assert_eq!(e.involved_object.kind.as_deref(), Some("Pod"));
    assert_eq!(e.involved_object.name.as_deref(), Some("upgrade-pod"));
    assert_eq!(e.involved_object.namespace.as_deref(), Some("default"));
    assert!(e.involved_object.uid.is_some());
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    let note = e.message.clone().unwrap_or_default();
    assert!(
        note.starts_with(
            "runbook microk8s-upgrade/upgrade-pod: pod default/upgrade-pod is left over"
        ),
        "{note}"
    );

    // The real kubectl shows it (over TLS with the same token).
    if lab_support::kubectl_available() {
        let ca = account.join("ca.crt");
        let server = format!("https://127.0.0.1:{port}");
        let cache = home.path().join(".kube-cache");
        let token = token.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .args(["get", "events", "-n", "default"])
                .arg(format!("--server={server}"))
                .arg(format!("--certificate-authority={}", ca.display()))
                .env("KUBECONFIG", "/dev/null")
                .env("KUBECACHEDIR", &cache)
                .arg(format!("--token={token}"))
                .output()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stdout.contains("RunbookMatch") && stdout.contains("pod/upgrade-pod"),
            "{stdout}"
        );
    }

    // Asked for explicitly where there is no service account: one line, exit 2.
    let out = support::runbook(home.path(), &[], &["diagnose", "--in-cluster"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("KUBERNETES_SERVICE_HOST is not set"),
        "{:?}",
        text(&out)
    );
}
