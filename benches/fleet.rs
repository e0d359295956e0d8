//! `diagnose --fleet` in process: 10 practice clusters (one `PaletteLab`, each seeded with one
//! scenario, round robin) diagnosed as a fleet (16 at a time, one kube client each) against the
//! baseline of the same 10 clusters diagnosed one after the other with `diagnose::diagnose`,
//! in the same run. The whole-process figures (1, 10, 100 clusters, peak RSS, requests per
//! cluster) come from `benches/fleet_whole_process.sh`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use runbook::diagnose::{self, fleet};
use runbook::palette::lab::{FleetOptions, PaletteLab};
use runbook::runbook::Catalog;

const CLUSTERS: usize = 10;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let lab = runtime
        .block_on(PaletteLab::start(FleetOptions {
            clusters: CLUSTERS,
            ..FleetOptions::default()
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    let catalog = Arc::new(Catalog::load(&[], true));
    let kubeconfig = kube::config::Kubeconfig::read_from(lab.kubeconfig_path())
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = lab.members.iter().map(|m| m.name.clone()).collect();

    let mut group = c.benchmark_group("fleet");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("fleet of 10 (16 at a time)", |b| {
        b.iter(|| {
            let targets =
                fleet::context_targets(kubeconfig.clone(), "*").unwrap_or_else(|e| panic!("{e}"));
            let report = runtime.block_on(fleet::run(
                targets,
                Arc::clone(&catalog),
                fleet::Options::default(),
            ));
            assert!(report.clusters.iter().all(|c| c.error.is_none()));
        });
    });
    group.bench_function("baseline: 10 sequential diagnoses", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for name in &names {
                    let options = kube::config::KubeConfigOptions {
                        context: Some(name.clone()),
                        ..Default::default()
                    };
                    let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    let client = kube::Client::try_from(config).unwrap_or_else(|e| panic!("{e}"));
                    diagnose::diagnose(&client, &catalog, diagnose::Options::default())
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            });
        });
    });
    group.finish();
    lab.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
