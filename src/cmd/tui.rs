//! `runbook` with no subcommand: the options checked, the lab started when asked, then the
//! TUI ([`crate::app`]).

use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::cli::TuiArgs;
use crate::exec::runner::RunMode as Mode;

pub fn tui(args: &TuiArgs) -> Result<ExitCode> {
    let config = crate::config::Config::load(crate::config::path().as_deref())?;
    let (keymap, problems) = crate::action::Keymap::with_overrides(&config.keys);
    let color = !args.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && config.theme.color != Some(false);
    let mode = if args.read_only {
        Mode::ReadOnly
    } else if args.dry_run {
        Mode::DryRun
    } else {
        match config.mode.as_deref() {
            Some("read-only") => Mode::ReadOnly,
            Some("dry-run") => Mode::DryRun,
            _ => Mode::Confirm,
        }
    };
    // The same `--var` parsing as `runbook run`.
    let vars = args
        .vars
        .iter()
        .map(|v| crate::exec::vars::Vars::parse_assignment(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut paths = config.paths.clone();
    paths.extend(args.paths.iter().cloned());
    // A file or folder as TARGET: only its runbooks, its one scenario opened.
    let (target, only_paths) = match &args.target {
        Some(t) if Path::new(t).exists() => {
            let named = crate::target::resolve(t, &paths)?;
            let open = named.scenario().map(|(_, s)| s.id.clone());
            paths = vec![std::path::PathBuf::from(t)];
            (open, true)
        }
        other => (other.clone(), false),
    };
    // The practice cluster: started for the target's scenario when it has one, else with
    // every scenario at once; the commands see only its kubeconfig.
    let lab = if args.lab {
        let scenario = args
            .target
            .as_ref()
            .filter(|t| {
                crate::lab::scenario::list().is_ok_and(|l| l.iter().any(|(id, _)| id == *t))
            })
            .cloned();
        Some(crate::lab::Lab::start_blocking(crate::lab::LabOptions {
            scenario,
            ..Default::default()
        })?)
    } else {
        None
    };
    let mut nodes = config
        .ssh
        .node_options(&args.nodes)
        .map_err(|e| color_eyre::eyre::eyre!(e))?;
    if lab.is_some() && args.nodes.is_empty() {
        // The practice cluster's nodes are not machines: its node steps stay the user's.
        nodes.source = crate::exec::nodes::Source::Off;
    }
    let env = Vec::new();
    let mut notice = problems.first().map(|p| format!("config: {p}"));
    if let Some(bad) = crate::cluster::guard::bad_patterns(&config.contexts).first() {
        notice = Some(format!("config: [contexts.\"{bad}\"] is not a valid glob"));
    }
    // A Palette cluster's kubeconfig, fetched for this session (kept until it ends).
    let palette = match (args.palette_cluster.as_deref())
        .map(|name| {
            crate::config::palette_settings(&crate::palette::config::Overrides::default())
                .and_then(|settings| crate::palette::pin::fetch_blocking(settings, name))
        })
        .transpose()
    {
        Ok(fetched) => fetched,
        Err(e) => {
            eprintln!("runbook: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    // The context every command uses, pinned in a kubeconfig of its own: the practice
    // cluster's, a Palette cluster's, or one of the user's.
    let workspace = crate::cluster::Workspace::open(
        lab.as_ref()
            .map(crate::lab::LabHandle::kubeconfig_path)
            .or(palette.as_ref().map(crate::palette::pin::Fetched::path)),
        args.context.as_deref(),
        args.namespace.as_deref(),
        config.contexts.clone(),
    )?;
    if let Some(lab) = &lab {
        notice = Some(format!(
            "practice cluster: {} at {}",
            lab.scenario_id(),
            lab.url()
        ));
    }
    // Shared with the TUI's job that watches for the fix.
    let lab = lab.map(std::sync::Arc::new);
    let options = crate::app::Options {
        target,
        only_paths,
        paths,
        theme: crate::ui::Theme {
            color,
            ascii: args.ascii || config.theme.ascii == Some(true),
        },
        mode,
        // What the command line asks for holds for the whole run: `m` cannot undo it.
        mode_lock: if args.read_only {
            Some("--read-only".to_owned())
        } else {
            args.dry_run.then(|| "--dry-run".to_owned())
        },
        keymap,
        vars,
        env,
        cwd: lab.as_deref().map(crate::lab::LabHandle::dir),
        notice,
        workspace: Some(workspace),
        nodes,
        recording: crate::drive::Recording::new(
            config.session_output_limit,
            lab.as_deref().map(crate::lab::LabHandle::url),
        ),
        lab: lab.clone().map(crate::app::SharedLab),
    };
    crate::app::run(options)?;
    // The TUI's runtime is gone with its job: this is the last holder (else dropping stops it).
    if let Some(lab) = lab.and_then(|l| std::sync::Arc::try_unwrap(l).ok()) {
        lab.shutdown();
    }
    Ok(ExitCode::SUCCESS)
}
