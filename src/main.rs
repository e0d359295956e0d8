//! The `runbook` binary: error reporting at the edge, then subcommand dispatch.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, bail};
use runbook::cli::{Cli, Command, ConfigArgs, LintArgs, ListArgs, ShowArgs, TuiArgs};
use runbook::run::run_headless;
use runbook::runbook::{Catalog, Runbook, Severity};
use runbook::state::Mode;
use serde_json::json;

fn main() -> ExitCode {
    if let Err(err) = color_eyre::install() {
        eprintln!("runbook: {err}");
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // `runbook show x | head` closing the pipe early is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("runbook: {err:?}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &color_eyre::eyre::Report) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        return tui(&cli.tui);
    };
    match command {
        Command::List(args) => list(&args),
        Command::Show(args) => show(&args),
        Command::Lint(args) => lint(&args),
        Command::Config(args) => config(&args),
        Command::Run(args) => Ok(run_headless(&args)?),
    }
}

fn tui(args: &TuiArgs) -> Result<ExitCode> {
    let config = runbook::config::Config::load(runbook::config::path().as_deref())?;
    let (keymap, problems) = runbook::action::Keymap::with_overrides(&config.keys);
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
    let mut vars = Vec::new();
    for v in &args.vars {
        match v.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                vars.push((name.to_owned(), value.to_owned()));
            }
            _ => bail!("--var {v}: expected NAME=VALUE"),
        }
    }
    let mut paths = config.paths.clone();
    paths.extend(args.paths.iter().cloned());
    let options = runbook::app::Options {
        target: args.target.clone(),
        paths,
        theme: runbook::ui::Theme {
            color,
            ascii: args.ascii || config.theme.ascii == Some(true),
        },
        mode,
        keymap,
        vars,
        env: Vec::new(),
        notice: problems.first().map(|p| format!("config: {p}")),
    };
    runbook::app::run(options)?;
    Ok(ExitCode::SUCCESS)
}

fn config(args: &ConfigArgs) -> Result<ExitCode> {
    let path = runbook::config::path();
    match (args.path, path) {
        (_, None) => bail!("no home folder, so no config file"),
        (true, Some(p)) => println!("{}", p.display()),
        (false, Some(p)) => {
            println!("# {}", p.display());
            match std::fs::read_to_string(&p) {
                Ok(text) => print!("{text}"),
                Err(_) => println!("# (no file yet: every setting is at its default)"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs) -> Result<ExitCode> {
    let catalog = Catalog::load(&args.paths, !args.no_bundled);
    let mut out = std::io::stdout().lock();
    if args.json {
        let runbooks: Vec<_> = catalog
            .runbooks
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "path": r.path,
                    "title": r.title,
                    "tags": r.front_matter.tags,
                    "scenarios": r.scenarios.iter().map(|s| json!({"id": s.id, "title": s.title})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "runbooks": runbooks }))?;
        writeln!(out)?;
    } else {
        for r in &catalog.runbooks {
            writeln!(out, "{}  {}  ({})", r.id, r.title, r.path.display())?;
            for s in &r.scenarios {
                writeln!(out, "  {}  {}", s.id, s.title)?;
            }
        }
    }
    for err in catalog
        .diagnostics()
        .filter(|d| d.severity == Severity::Error)
    {
        eprintln!("{err}");
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: &ShowArgs) -> Result<ExitCode> {
    let path = Path::new(&args.target);
    let runbooks: Vec<Runbook> = if path.is_file() {
        match runbook::runbook::Catalog::load(&[path.to_owned()], false) {
            Catalog { runbooks, errors } if runbooks.is_empty() => {
                bail!(
                    "{}",
                    errors.first().map(ToString::to_string).unwrap_or_default()
                )
            }
            c => c.runbooks,
        }
    } else {
        let catalog = Catalog::load(&args.paths, true);
        if let Some(r) = catalog.runbook(&args.target) {
            vec![r.clone()]
        } else if let Some((r, s)) = catalog
            .runbooks
            .iter()
            .find_map(|r| r.scenario(&args.target).map(|s| (r, s)))
        {
            let mut only = r.clone();
            only.scenarios = vec![s.clone()];
            vec![only]
        } else {
            bail!(
                "no runbook or scenario `{}`; `runbook list` shows the ids",
                args.target
            )
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json!({ "runbooks": runbooks }))?;
        writeln!(out)?;
    } else {
        for r in &runbooks {
            write!(out, "{}", runbook::runbook::outline(r))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn lint(args: &LintArgs) -> Result<ExitCode> {
    let catalog = Catalog::load(&args.paths, args.paths.is_empty());
    let options = runbook::lint::Options {
        shellcheck: !args.no_shellcheck,
    };
    let mut findings: Vec<_> = catalog.errors.clone();
    for r in &catalog.runbooks {
        findings.extend(runbook::lint::lint_runbook(r, options));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json!({ "findings": findings }))?;
        writeln!(out)?;
    } else {
        for f in &findings {
            writeln!(out, "{f}")?;
        }
    }
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
