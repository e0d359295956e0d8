//! `runbook palette ...`: the Palette commands and their output (their flags are in
//! [`crate::cli::PaletteArgs`]).
//!
//! Each prints its result (text, or JSON with `--json`) and exits 0; any failure is one line,
//! `runbook: error: ...`, and exit status 2. The API key is read from the environment or the
//! config's `api_key_file`, never from a flag. To add a subcommand: a variant of
//! [`PaletteCommand`] in `cli.rs`, a function here, a client method in [`crate::palette::client`].

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use crate::cli::{PaletteArgs, PaletteCommand};
use crate::palette::config::Overrides;
use crate::palette::{Client, PaletteError, Variant};

/// Runs one `runbook palette` command.
pub fn run(args: &PaletteArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("runbook: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &PaletteError) -> bool {
    matches!(e, PaletteError::Write { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run_inner(args: &PaletteArgs) -> Result<(), PaletteError> {
    let settings = crate::config::palette_settings(&Overrides {
        project: args.project.clone(),
        ca_cert: args.ca_cert.clone(),
        timeout: args.timeout,
    })?;
    if let PaletteCommand::Kubeconfig {
        output: Some(path),
        force: false,
        ..
    } = &args.command
    {
        refuse_user_kubeconfig(path)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PaletteError::Other(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async {
        let client = Client::connect(settings).await?;
        match &args.command {
            PaletteCommand::Clusters { json } => clusters(&client, *json).await,
            PaletteCommand::Kubeconfig {
                cluster,
                output,
                variant,
                ..
            } => kubeconfig(&client, cluster, output.as_deref(), *variant).await,
            PaletteCommand::Gateways { json } => gateways(&client, *json).await,
            PaletteCommand::Events { cluster, json } => events(&client, cluster, *json).await,
        }
    })
}

fn stdout_error(source: std::io::Error) -> PaletteError {
    PaletteError::Write {
        path: PathBuf::from("standard output"),
        source,
    }
}

fn print(text: &str) -> Result<(), PaletteError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

async fn clusters(client: &Client, json: bool) -> Result<(), PaletteError> {
    let clusters = client.clusters().await?;
    if json {
        return print(&format!("{}\n", json!({ "clusters": clusters })));
    }
    let rows: Vec<[String; 6]> = clusters
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.project.clone().unwrap_or_else(|| "-".into()),
                c.cloud.clone(),
                c.state.clone(),
                c.health.clone().unwrap_or_else(|| "-".into()),
                c.kubernetes.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    if rows.is_empty() {
        return print(&format!(
            "no clusters in {}\n",
            client.project().map_or_else(
                || "tenant scope".to_owned(),
                |p| format!("project {}", p.name)
            )
        ));
    }
    print(&table(
        ["NAME", "PROJECT", "CLOUD", "STATE", "HEALTH", "KUBERNETES"],
        &rows,
    ))
}

async fn gateways(client: &Client, json: bool) -> Result<(), PaletteError> {
    let gateways = client.gateways().await?;
    if json {
        return print(&format!("{}\n", json!({ "gateways": gateways })));
    }
    if gateways.is_empty() {
        return print("no private cloud gateways\n");
    }
    let rows: Vec<[String; 4]> = gateways
        .iter()
        .map(|g| {
            [
                g.name.clone(),
                g.state.clone(),
                g.health.clone().unwrap_or_else(|| "-".into()),
                match (g.active, g.ready) {
                    (true, true) => "active, ready".into(),
                    (true, false) => "active, not ready".into(),
                    (false, _) => "inactive".into(),
                },
            ]
        })
        .collect();
    print(&table(["NAME", "STATE", "HEALTH", "STATUS"], &rows))
}

async fn events(client: &Client, name: &str, json: bool) -> Result<(), PaletteError> {
    let cluster = client.cluster(name).await?;
    let events = client.events(&cluster).await?;
    if json {
        return print(&format!("{}\n", json!({ "events": events })));
    }
    if events.is_empty() {
        return print(&format!("no events for {}\n", cluster.name));
    }
    let rows: Vec<[String; 4]> = events
        .iter()
        .map(|e| {
            [
                e.time.clone().unwrap_or_else(|| "-".into()),
                e.severity.clone(),
                e.reason.clone(),
                e.message.lines().next().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    print(&table(["TIME", "SEVERITY", "REASON", "MESSAGE"], &rows))
}

async fn kubeconfig(
    client: &Client,
    name: &str,
    output: Option<&Path>,
    variant: Variant,
) -> Result<(), PaletteError> {
    let cluster = client.cluster(name).await?;
    let text = client.kubeconfig(&cluster, variant).await?;
    match output {
        None => print(&text),
        Some(path) => {
            crate::atomic::write_private(path, text.as_bytes()).map_err(|source| {
                PaletteError::Write {
                    path: path.to_owned(),
                    source,
                }
            })?;
            eprintln!(
                "wrote the kubeconfig of {} to {} (mode 0600)",
                cluster.name,
                path.display()
            );
            Ok(())
        }
    }
}

/// `runbook lab --palette --clusters N`: serves the fleet until Ctrl-C or SIGTERM. The key is
/// written to files (mode 0600), never printed.
pub fn serve_fleet(args: &crate::cli::LabArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runbook: error: cannot start a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let served = runtime.block_on(async {
        let fleet = crate::palette::lab::PaletteLab::start(crate::palette::lab::FleetOptions {
            clusters: args.clusters,
            port: args.port,
            ..crate::palette::lab::FleetOptions::default()
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Some(path) = &args.palette_env {
            fleet.write_env(path).map_err(|e| e.to_string())?;
        }
        let env = args
            .palette_env
            .clone()
            .unwrap_or_else(|| fleet.env_path());
        let mut text = format!(
            "runbook lab: {} practice clusters behind a Palette API stand-in\n\
             PALETTE_HOST={}\n\
             The API key is in {} (mode 0600); load it with:\n  set -a; . {}; set +a\n\
             Every cluster's context: export KUBECONFIG={}\n",
            fleet.members.len(),
            fleet.url(),
            env.display(),
            env.display(),
            fleet.kubeconfig_path().display()
        );
        for m in &fleet.members {
            let seeded = if m.scenario == crate::palette::lab::HEALTHY {
                "healthy"
            } else {
                m.scenario.as_str()
            };
            let _ = writeln!(text, "  {}  {}  {seeded}", m.name, m.lab.url());
        }
        text.push_str(
            "Try: runbook palette clusters; runbook diagnose --fleet --palette\nStop with Ctrl-C.\n",
        );
        print(&text).map_err(|e| e.to_string())?;
        wait_for_stop().await;
        fleet.shutdown();
        Ok::<(), String>(())
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("runbook: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `--output` naming the user's own kubeconfig would replace all of it: only with `--force`.
fn refuse_user_kubeconfig(path: &Path) -> Result<(), PaletteError> {
    let mut theirs: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        theirs.push(Path::new(&home).join(".kube").join("config"));
    }
    let canonical = |p: &Path| {
        p.canonicalize()
            .ok()
            .or_else(|| {
                let parent = p.parent()?.canonicalize().ok()?;
                Some(parent.join(p.file_name()?))
            })
            .unwrap_or_else(|| p.to_owned())
    };
    let target = canonical(path);
    if theirs.iter().any(|t| canonical(t) == target) {
        return Err(PaletteError::Other(format!(
            "--output {} is your own kubeconfig and would be replaced, not merged; write \
             elsewhere and add it to KUBECONFIG, or pass --force",
            path.display()
        )));
    }
    Ok(())
}

/// Columns padded to their widest cell.
fn table<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    use std::fmt::Write as _;
    let mut widths = head.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(head.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let t = table(["NAME", "STATE"], &[["a".to_owned(), "Running".to_owned()]]);
        assert_eq!(t, "NAME  STATE\na     Running\n");
    }

    #[test]
    fn the_users_kubeconfig_is_not_replaced_without_force() {
        let Some(home) = std::env::var_os("HOME") else {
            return;
        };
        let theirs = Path::new(&home).join(".kube").join("config");
        assert!(refuse_user_kubeconfig(&theirs).is_err());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(refuse_user_kubeconfig(&dir.path().join("k")).is_ok());
    }
}
