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
        let stop = super::StopSignals::listen();
        let handle = crate::lab::Lab::start(crate::lab::LabOptions {
            scenario: args.scenario,
            port: args.port,
            kubeconfig: args.kubeconfig,
            restricted_user: args.user == "restricted",
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
        if args.user == "restricted" {
            writeln!(
                out,
                "Current context: runbook-lab-trainee (user trainee, reads namespace default only); \
                 the admin's: --context runbook-lab"
            )?;
        }
        writeln!(
            out,
            "Point kubectl at it:\n  export KUBECONFIG={}",
            handle.kubeconfig_path().display()
        )?;
        if !handle.files().is_empty() {
            writeln!(out, "Helper files, written beside it:")?;
            for f in handle.files() {
                writeln!(out, "  {}", f.display())?;
            }
        }
        if !handle.hint().is_empty() {
            writeln!(out, "In this lab:\n{}", indent(handle.hint()))?;
        }
        writeln!(out, "Stop with Ctrl-C.")?;
        out.flush()?;
        drop(out);
        stop.wait().await;
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
