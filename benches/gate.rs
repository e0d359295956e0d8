//! runbook's gate: its overhead on `kubectl get pods -A` against 5,000 pods in the practice
//! cluster, through the gate (read-only mode) against directly, in the same run. The direct
//! side is the lab's HTTPS with its bearer token; the gate adds a second TLS hop and the
//! forward with kube-rs.
//!
//! Besides criterion's figures it prints the ratio gate/direct as the median of interleaved
//! pairs, so both sides see the same machine load. Needs kubectl on PATH.
//!
//! Run: `cargo bench --bench gate`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use runbook::cluster::Workspace;
use runbook::lab::{Lab, LabOptions};
use serde_json::{Value, json};

fn many_pods(n: usize) -> Vec<Value> {
    let mut out: Vec<Value> = (0..10)
        .map(|i| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{i}")}}))
        .collect();
    for i in 0..n {
        out.push(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("app-{i:05}"), "namespace": format!("bench-{}", i % 10), "labels": {"app": "bench"}},
            "spec": {"nodeName": "spectro-mgmt-cluster-cp-dt44d", "containers": [{"name": "app", "image": "nginx:1.27"}]},
            "status": {"phase": "Running", "podIP": "192.168.0.10", "startTime": "now-1h",
                       "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "nginx:1.27",
                                              "state": {"running": {"startedAt": "now-1h"}}}]}
        }));
    }
    out
}

fn kubectl(kubeconfig: &Path, cache: &Path) -> Duration {
    let started = Instant::now();
    let out = Command::new("kubectl")
        .args(["get", "pods", "-A"])
        .env("KUBECONFIG", kubeconfig)
        .env("KUBECACHEDIR", cache)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 5000);
    took
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn gate_overhead(c: &mut Criterion) {
    if Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("kubectl not found: skipping the gate benchmark");
        return;
    }
    let lab = Lab::start_blocking(LabOptions {
        extra_objects: many_pods(5000),
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = Workspace::open(Some(lab.kubeconfig_path()), None, None, BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut env = BTreeMap::new();
    {
        let _inside = rt.enter();
        assert!(ws.arm(true, false, &mut env), "{:?}", ws.gate_problem);
    }
    let Some(gate) = ws.gate() else {
        panic!("the gate runs")
    };
    let through = gate.kubeconfig();
    let direct = lab.kubeconfig_path().to_owned();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (cache_direct, cache_gate) = (cache.path().join("direct"), cache.path().join("gate"));
    // Warm both discovery caches.
    kubectl(&direct, &cache_direct);
    kubectl(&through, &cache_gate);

    let mut group = c.benchmark_group("gate");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("kubectl_get_pods_all_namespaces_5000_direct", |b| {
        b.iter_custom(|n| (0..n).map(|_| kubectl(&direct, &cache_direct)).sum());
    });
    group.bench_function("kubectl_get_pods_all_namespaces_5000_through_gate", |b| {
        b.iter_custom(|n| (0..n).map(|_| kubectl(&through, &cache_gate)).sum());
    });
    group.finish();

    let mut ratios = Vec::new();
    for _ in 0..15 {
        let d = kubectl(&direct, &cache_direct).as_secs_f64();
        let g = kubectl(&through, &cache_gate).as_secs_f64();
        ratios.push(g / d);
    }
    println!(
        "gate/direct, kubectl get pods -A, 5,000 pods: {:.3}x (median of 15 interleaved pairs)",
        median(ratios)
    );
    drop(ws);
    drop(rt);
    lab.shutdown();
}

criterion_group!(benches, gate_overhead);
criterion_main!(benches);
