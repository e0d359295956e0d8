//! Lab benchmarks: time from start to ready (TLS identity made, kubeconfig written, `/readyz`
//! answers `ok` over TLS), and
//! `kubectl get pods -A` against 5,000 pods (needs kubectl on PATH; skipped without it).
//!
//! Run: `cargo bench --bench lab`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use runbook::lab::{Lab, LabOptions};
use serde_json::{Value, json};

/// `GET /readyz` over the lab's TLS, trusting only its CA: true when it answers `ok`.
fn readyz(addr: SocketAddr, ca_pem: &str) -> bool {
    use rustls::pki_types::pem::PemObject as _;
    let Ok(ca) = rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()) else {
        return false;
    };
    let mut roots = rustls::RootCertStore::empty();
    if roots.add(ca).is_err() {
        return false;
    }
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions() else {
        return false;
    };
    let config = builder.with_root_certificates(roots).with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let (Ok(conn), Ok(tcp)) = (
        rustls::ClientConnection::new(Arc::new(config), name),
        TcpStream::connect(addr),
    ) else {
        return false;
    };
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    out.starts_with("HTTP/1.1 200") && out.ends_with("ok")
}

fn start_to_ready(c: &mut Criterion) {
    let mut group = c.benchmark_group("lab");
    group.sample_size(30);
    // Timed: start (seed, bind, kubeconfig) until /readyz answers; shutdown is not timed.
    group.bench_function("start_to_ready_practice", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let lab =
                    Lab::start_blocking(LabOptions::default()).unwrap_or_else(|e| panic!("{e}"));
                assert!(lab.kubeconfig_path().is_file());
                assert!(readyz(lab.addr(), lab.ca_pem().unwrap_or_default()));
                total += started.elapsed();
                lab.shutdown();
            }
            total
        });
    });
    group.finish();
}

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

fn kubectl_get_pods(c: &mut Criterion) {
    if Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("kubectl not found: skipping kubectl_get_pods_all_namespaces_5000");
        return;
    }
    let lab = Lab::start_blocking(LabOptions {
        extra_objects: many_pods(5000),
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let cache =
        std::env::temp_dir().join(format!("runbook-lab-bench-cache-{}", std::process::id()));
    let run = || {
        let out = Command::new("kubectl")
            .args(["get", "pods", "-A"])
            .env("KUBECONFIG", lab.kubeconfig_path())
            .env("KUBECACHEDIR", &cache)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 5000);
    };
    run(); // warm the discovery cache
    let mut group = c.benchmark_group("lab");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("kubectl_get_pods_all_namespaces_5000", |b| b.iter(run));
    group.finish();
    let _ = std::fs::remove_dir_all(cache);
}

criterion_group!(benches, start_to_ready, kubectl_get_pods);
criterion_main!(benches);
