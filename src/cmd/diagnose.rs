//! `runbook diagnose`: one cluster (a kubeconfig context, a Palette cluster, or the pod's own
//! service account) or, with `--fleet`, many; text or JSON; `--emit-events` records matches in
//! the cluster.
//!
//! Exit status, one cluster: 0 when the checks ran, 2 when the cluster or its kubeconfig could
//! not be reached. A fleet: 0 when every cluster was reached, 1 when some were not, 2 when none
//! was (or the fleet could not be listed). A usage error is one line, `runbook: error: ...`,
//! exit 2.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::DiagnoseArgs;
use crate::diagnose::{DiagnoseError, Options, fleet};
use crate::palette;
use crate::runbook::{Catalog, Severity};

/// Runs `runbook diagnose` as the command line asks.
pub fn run(args: &DiagnoseArgs) -> ExitCode {
    let catalog = Catalog::load(&args.paths, true);
    for err in catalog
        .diagnostics()
        .filter(|d| d.severity == Severity::Error && d.code == "bad-check")
    {
        eprintln!("{err}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start a runtime: {e}")),
    };
    let code = if args.fleet.fleet {
        runtime.block_on(run_fleet(args, catalog))
    } else {
        runtime.block_on(run_one(args, &catalog))
    };
    // A check stuck in its program must not keep the process alive.
    runtime.shutdown_background();
    code
}

fn usage(message: &str) -> ExitCode {
    eprintln!("runbook: error: {message}");
    ExitCode::from(2)
}

fn write_out(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => usage(&format!("cannot write the report: {e}")),
    }
}

fn palette_settings(args: &DiagnoseArgs) -> Result<palette::Settings, palette::PaletteError> {
    crate::config::palette_settings(&palette::config::Overrides {
        project: args.fleet.project.clone(),
        ..palette::config::Overrides::default()
    })
}

async fn run_one(args: &DiagnoseArgs, catalog: &Catalog) -> ExitCode {
    let options = Options {
        timeout: args.timeout,
    };
    // Keeps a Palette cluster's fetched kubeconfig until the end.
    let mut fetched = None;
    let connected = if let Some(name) = &args.fleet.palette_cluster {
        let got = async {
            let client = palette::Client::connect(palette_settings(args)?).await?;
            palette::pin::fetch_with(&client, name, palette::Variant::Default).await
        }
        .await;
        match got {
            Ok(f) => {
                let path = f.path().to_owned();
                fetched = Some(f);
                crate::diagnose::client(Some(&path), None).await
            }
            Err(e) => return usage(&e.to_string()),
        }
    } else if args.fleet.in_cluster
        || (args.kubeconfig.is_none()
            && args.context.is_none()
            && crate::diagnose::incluster::wanted())
    {
        crate::diagnose::incluster::client().await
    } else {
        crate::diagnose::client(args.kubeconfig.as_deref(), args.context.as_deref()).await
    };
    let outcome = match connected {
        Ok((client, url)) => crate::diagnose::diagnose(&client, catalog, options)
            .await
            .map(|report| (client, report))
            .map_err(|e| match e {
                DiagnoseError::Unreachable(reason) => {
                    DiagnoseError::Unreachable(format!("{url}: {reason}"))
                }
                other => other,
            }),
        Err(e) => Err(e),
    };
    drop(fetched);
    let (client, report) = match outcome {
        Ok(done) => done,
        Err(e) => {
            eprintln!("runbook diagnose: {e}");
            eprintln!(
                "Check the kubeconfig and context (`--kubeconfig`, `--context`) and that the API \
                 server is up; nothing was diagnosed."
            );
            return ExitCode::from(2);
        }
    };
    if args.fleet.emit_events {
        let emitted = crate::diagnose::events::emit(&client, &report).await;
        eprintln!(
            "events: {} created (reason {}), {} evidence line(s) name no object",
            emitted.created,
            crate::diagnose::events::REASON,
            emitted.skipped
        );
        for f in &emitted.failed {
            eprintln!("runbook diagnose: {f}");
        }
    }
    if args.json {
        match serde_json::to_string(&report) {
            Ok(text) => write_out(&(text + "\n")),
            Err(e) => usage(&e.to_string()),
        }
    } else {
        write_out(&crate::diagnose::render_text(&report))
    }
}

async fn run_fleet(args: &DiagnoseArgs, catalog: Catalog) -> ExitCode {
    let config = match crate::config::Config::load(crate::config::path().as_deref()) {
        Ok(c) => c,
        Err(e) => return usage(&format!("config: {e}")),
    };
    let options = match fleet::Options::resolve(&config.fleet, &args.fleet, args.timeout) {
        Ok(o) => o,
        Err(e) => return usage(&e),
    };
    let targets = if args.fleet.palette {
        let listed = async {
            let client = palette::Client::connect(palette_settings(args)?).await?;
            fleet::palette_targets(Arc::new(client)).await
        }
        .await;
        match listed {
            Ok(t) => t,
            Err(e) => return usage(&e.to_string()),
        }
    } else {
        let Some(glob) = &args.fleet.contexts else {
            return usage("--fleet needs --contexts GLOB or --palette");
        };
        let kubeconfig = match fleet::load_kubeconfig(args.kubeconfig.as_deref()) {
            Ok(k) => k,
            Err(e) => return usage(&e),
        };
        match fleet::context_targets(kubeconfig, glob) {
            Ok(t) => t,
            Err(e) => {
                return usage(&format!(
                    "{e} ({})",
                    fleet::describe_source(args.kubeconfig.as_deref())
                ));
            }
        }
    };
    if targets.is_empty() {
        return usage("the Palette project has no clusters");
    }
    let started = Instant::now();
    let report = fleet::run(targets, Arc::new(catalog), options).await;
    let elapsed = started.elapsed();
    let requests: u64 = report.clusters.iter().map(|c| c.requests).sum();
    let lists: u64 = report.clusters.iter().map(|c| c.lists).sum();
    let count = report.clusters.len().max(1) as u64;
    eprintln!(
        "fleet: {} cluster(s) in {}, {requests} Kubernetes requests ({} per cluster, {} of them lists)",
        report.clusters.len(),
        crate::duration::humanize(elapsed),
        requests.div_ceil(count),
        lists.div_ceil(count)
    );
    let code = report.exit_code();
    let written = if args.json {
        match serde_json::to_string(&report) {
            Ok(text) => write_out(&(text + "\n")),
            Err(e) => usage(&e.to_string()),
        }
    } else {
        write_out(&fleet::render_text(&report, elapsed))
    };
    if written == ExitCode::SUCCESS {
        ExitCode::from(code)
    } else {
        written
    }
}
