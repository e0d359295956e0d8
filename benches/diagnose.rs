//! `diagnose` on a lab with 200 nodes and 500 to 5,000 pods: the median of a full diagnosis
//! (reachability, discovery, one paginated list per resource kind, every bundled check), and as
//! the baseline in the same run a bare `Api<Pod>::list` of the same pods (same page size).
//!
//! Checks run in `runbook __jq` workers, as in the binary (one per diagnosis; the lists are
//! sent to it once).
//!
//! The `checks` group isolates what the worker costs: every bundled check over lists fetched
//! once, evaluated in a fresh worker (spawn, lists sent, checks, close) against the same
//! checks evaluated in-process (the baseline: what diagnose did before the worker, minus its
//! two blocking threads).
//!
//! Run: `cargo bench --bench diagnose`. Growth: time(5000) / time(500), against 10x for linear.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use runbook::diagnose::jq::worker::Evaluator;
use runbook::diagnose::{self, Options, fetch::PAGE_SIZE};
use runbook::lab::{Lab, LabOptions};
use runbook::runbook::Catalog;
use serde_json::{Value, json};

const SIZES: [usize; 4] = [500, 1_000, 2_000, 5_000];
const NODES: usize = 200;

fn cluster(pods: usize) -> Vec<Value> {
    let mut out: Vec<Value> = (0..10)
        .map(|i| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{i}")}}))
        .collect();
    for n in 0..NODES {
        out.push(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{n:03}"), "creationTimestamp": "now-2h"},
            "status": {
                "addresses": [{"type": "InternalIP", "address": format!("10.1.{}.{}", n / 250, n % 250)}],
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "now-20s",
                                "lastTransitionTime": "now-2h"}],
                "nodeInfo": {"kernelVersion": "6.8.0-60-generic"}
            }
        }));
    }
    for i in 0..pods {
        out.push(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("app-{i:05}"), "namespace": format!("bench-{}", i % 10),
                         "labels": {"app": "bench"}},
            "spec": {"nodeName": format!("node-{:03}", i % NODES),
                     "containers": [{"name": "app", "image": "nginx:1.27"}]},
            "status": {"phase": "Running", "podIP": "192.168.0.10", "startTime": "now-1h",
                       "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                                              "image": "nginx:1.27",
                                              "state": {"running": {"startedAt": "now-1h"}}}]}
        }));
    }
    out
}

fn bench(c: &mut Criterion) {
    diagnose::jq::worker::use_program(env!("CARGO_BIN_EXE_runbook").into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let catalog = Catalog::load(&[], true);
    let mut group = c.benchmark_group("diagnose");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for pods in SIZES {
        let lab = Lab::start_blocking(LabOptions {
            scenario: Some("empty".into()),
            extra_objects: cluster(pods),
            ..LabOptions::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let (client, _) = runtime
            .block_on(diagnose::client(Some(lab.kubeconfig_path()), None))
            .unwrap_or_else(|e| panic!("{e}"));
        group.bench_with_input(BenchmarkId::new("full", pods), &pods, |b, _| {
            b.iter(|| {
                let report = runtime
                    .block_on(diagnose::diagnose(&client, &catalog, Options::default()))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(report.results.iter().all(|f| !f.matched));
                report
            });
        });
        group.bench_with_input(BenchmarkId::new("bare_pod_list", pods), &pods, |b, _| {
            b.iter(|| {
                runtime.block_on(async {
                    let api: Api<Pod> = Api::all(client.clone());
                    let mut params = ListParams::default().limit(PAGE_SIZE);
                    let mut count = 0;
                    loop {
                        let page = api.list(&params).await.unwrap_or_else(|e| panic!("{e}"));
                        count += page.items.len();
                        match page.metadata.continue_.filter(|t| !t.is_empty()) {
                            Some(t) => params = params.continue_token(&t),
                            None => break,
                        }
                    }
                    assert_eq!(count, pods);
                    count
                })
            });
        });
        let planned = diagnose::plan(&catalog);
        let queries = planned
            .iter()
            .flat_map(|p| p.check.reads.iter().map(runbook::runbook::Read::query))
            .collect();
        let timeout = Options::default().timeout;
        let lists = runtime.block_on(diagnose::fetch::list_all(&client, &queries, timeout));
        for (name, program) in [
            ("checks_in_process", None),
            (
                "checks_in_worker",
                Some(env!("CARGO_BIN_EXE_runbook").into()),
            ),
        ] {
            group.bench_with_input(BenchmarkId::new(name, pods), &pods, |b, _| {
                b.iter(|| {
                    runtime.block_on(async {
                        let mut evaluator =
                            Evaluator::with_program(diagnose::list_items(&lists), program.clone());
                        let report =
                            diagnose::check_all(&mut evaluator, planned.clone(), &lists, timeout)
                                .await;
                        evaluator.close().await;
                        // The same outcome as a full diagnosis: nothing matches; the checks
                        // whose resource the lab does not serve say so.
                        assert!(report.results.iter().all(|f| !f.matched
                            && f.error.as_ref().is_none_or(|e| e.contains("not served"))));
                        report
                    })
                });
            });
        }
        lab.shutdown();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
