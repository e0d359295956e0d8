//! `runbook lab`: the practice cluster (or a practice Palette fleet) served until Ctrl-C.

use std::io::Write;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::cli::LabArgs;

pub fn lab(args: LabArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.list {
        for (id, title) in crate::lab::scenario::list()? {
            writeln!(out, "{id}\t{title}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.palette {
        return Ok(super::palette::serve_fleet(&args));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let handle = crate::lab::Lab::start(crate::lab::LabOptions {
            scenario: args.scenario,
            port: args.port,
            kubeconfig: args.kubeconfig,
            ..Default::default()
        })
        .await?;
        writeln!(
            out,
            "runbook lab: {} ({})",
            handle.scenario_id(),
            handle.scenario_title()
        )?;
        writeln!(out, "API server: {}", handle.url())?;
        writeln!(
            out,
            "Point kubectl at it:\n  export KUBECONFIG={}",
            handle.kubeconfig_path().display()
        )?;
        if !handle.hint().is_empty() {
            writeln!(out, "In this lab:\n{}", indent(handle.hint()))?;
        }
        writeln!(out, "Stop with Ctrl-C.")?;
        out.flush()?;
        drop(out);
        wait_for_stop().await;
        handle.shutdown();
        Ok::<_, color_eyre::eyre::Report>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
