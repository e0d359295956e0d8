//! The `runbook` binary: error reporting at the edge, then subcommand dispatch.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, bail, eyre};
use runbook::cli::{
    Cli, Command, ConfigArgs, ExportArgs, LabArgs, LintArgs, ListArgs, ReportArgs, ReportFormat,
    SessionsArgs, ShowArgs, TuiArgs,
};
use runbook::exec::runner::RunMode as Mode;
use runbook::run::run_headless;
use runbook::runbook::{Catalog, Runbook, Severity};
use serde_json::json;

fn main() -> ExitCode {
    // Panics are bugs: color-eyre reports them with a backtrace. Everything `run` returns is
    // the user's to fix: one line, a hint at most, exit 2.
    if let Err(err) = color_eyre::install() {
        eprintln!("runbook: {err}");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match run(cli) {
        Ok(code) => code,
        // `runbook show x | head` closing the pipe early is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Each cause once: many errors already quote their source.
            let mut message = String::new();
            for cause in err.chain().map(ToString::to_string) {
                if !message.contains(&cause) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&cause);
                }
            }
            eprintln!("runbook: error: {message}");
            if let Some(hint) = err
                .chain()
                .find_map(|e| e.downcast_ref::<runbook::target::UserError>())
                .and_then(|u| u.hint.as_deref())
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}

/// clap's word on the command line, as one line and a hint; `--help` and `--version` print
/// as clap prints them.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let text = err.to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    eprintln!("runbook: error: {first}");
    let tip = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "));
    match tip {
        Some(tip) => eprintln!("hint: {tip}"),
        None => eprintln!("hint: `runbook --help` lists the commands and their options"),
    }
    ExitCode::from(2)
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
        Command::Lab(args) => lab(args),
        // A wrong target, flag or context is a usage error: exit 2, like a missing value.
        Command::Run(args) => run_headless(&args).map_err(|e| match e {
            runbook::run::RunError::Target(user) => color_eyre::Report::new(user),
            other => color_eyre::Report::new(other),
        }),
        Command::Fetch(args) => runbook::fetch::command::run(&args).map_err(|e| eyre!(e)),
        Command::Diagnose(args) => Ok(runbook::diagnose::command::run(&args)),
        Command::Sessions(args) => sessions(&args),
        Command::Report(args) => report(&args),
        Command::Export(args) => export(&args),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "runbook", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => man(&args),
        Command::Palette(args) => Ok(runbook::palette::command::run(&args)),
    }
}

/// The manual: one roff document with every subcommand, or a page each into `--dir`.
fn man(args: &runbook::cli::ManArgs) -> Result<ExitCode> {
    let cmd = <Cli as clap::CommandFactory>::command().name("runbook");
    let mut pages = vec![("runbook".to_owned(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("runbook-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    let mut out = std::io::stdout().lock();
    for (name, page) in pages {
        let mut roff = Vec::new();
        clap_mangen::Man::new(page).render(&mut roff)?;
        match &args.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                runbook::atomic::write(&dir.join(format!("{name}.1")), &roff)?;
            }
            None => out.write_all(&roff)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sessions_root() -> Result<std::path::PathBuf> {
    runbook::session::sessions_dir().ok_or_else(|| runbook::session::StoreError::NoDataDir.into())
}

fn sessions(args: &SessionsArgs) -> Result<ExitCode> {
    use runbook::session::store;
    let root = sessions_root()?;
    let mut out = std::io::stdout().lock();
    if args.prune {
        let age = runbook::exec::runner::parse_duration(&args.older_than).ok_or_else(|| {
            color_eyre::eyre::eyre!(
                "--older-than {}: use an age like 30d or 12h",
                args.older_than
            )
        })?;
        let cutoff = chrono::TimeDelta::from_std(age)
            .ok()
            .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let removed = store::prune(&root, cutoff)?;
        if args.json {
            serde_json::to_writer(&mut out, &json!({ "removed": removed }))?;
            writeln!(out)?;
        } else {
            writeln!(out, "removed {} session(s)", removed.len())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (all, errors) = store::list(&root);
    for e in &errors {
        eprintln!("runbook: {e}");
    }
    if args.json {
        let sessions: Vec<_> = all
            .iter()
            .map(|(s, r)| {
                let (done, total) = r.progress();
                json!({
                    "id": r.id,
                    "scenario": r.scenario,
                    "context": r.context.as_ref().map(|c| &c.name),
                    "server": r.context.as_ref().and_then(|c| c.server.as_ref()),
                    "started": r.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "updated": r.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "status": r.status.as_str(),
                    "done": done,
                    "total": total,
                    "path": s.dir(),
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "sessions": sessions }))?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        writeln!(out, "no sessions yet (in {})", root.display())?;
    }
    for (_, r) in &all {
        let (done, total) = r.progress();
        writeln!(
            out,
            "{}  {}  {}  started {}  {done}/{total} {}  last {}",
            r.id,
            r.scenario,
            r.context.as_ref().map_or("-", |c| c.name.as_str()),
            r.started.format("%Y-%m-%d %H:%M"),
            r.status.as_str(),
            r.updated.format("%Y-%m-%d %H:%M"),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: &ReportArgs) -> Result<ExitCode> {
    use runbook::session::{report, store};
    let (store, record) = store::find(&sessions_root()?, &args.session)?;
    let redactor = report::redactor(&[]);
    let text = match args.format {
        ReportFormat::Md => report::markdown(&store, &record, &redactor),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report::json(&store, &record, &redactor))?;
            s.push('\n');
            s
        }
    };
    write_out(args.output.as_deref(), &text)
}

fn export(args: &ExportArgs) -> Result<ExitCode> {
    let (runbook, scenario) =
        runbook::run::resolve(&args.target, args.scenario.as_deref(), &args.paths)?;
    let procedure = runbook::run::pick_procedure(&scenario, args.procedure.as_deref())?;
    let mut vars = runbook::exec::vars::Vars::new();
    for assignment in &args.vars {
        let (name, value) = runbook::exec::vars::Vars::parse_assignment(assignment)?;
        vars.set(&name, value, runbook::exec::vars::Origin::Cli);
    }
    for (name, doc) in &runbook.front_matter.placeholders {
        if doc.secret {
            vars.mark_secret(name);
        }
    }
    let text = runbook::session::export::checklist(&runbook, &scenario, procedure, &vars);
    write_out(args.output.as_deref(), &text)
}

/// To FILE (atomically) or standard output.
fn write_out(path: Option<&Path>, text: &str) -> Result<ExitCode> {
    match path {
        Some(p) => runbook::session::store::write_atomic(p, text.as_bytes())?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
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
    // The same `--var` parsing as `runbook run`.
    let vars = args
        .vars
        .iter()
        .map(|v| runbook::exec::vars::Vars::parse_assignment(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut paths = config.paths.clone();
    paths.extend(args.paths.iter().cloned());
    // A file or folder as TARGET: only its runbooks, its one scenario opened.
    let (target, only_paths) = match &args.target {
        Some(t) if Path::new(t).exists() => {
            let named = runbook::target::resolve(t, &paths)?;
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
                runbook::lab::scenario::list().is_ok_and(|l| l.iter().any(|(id, _)| id == *t))
            })
            .cloned();
        Some(runbook::lab::Lab::start_blocking(
            runbook::lab::LabOptions {
                scenario,
                ..Default::default()
            },
        )?)
    } else {
        None
    };
    let mut nodes = config
        .ssh
        .node_options(&args.nodes)
        .map_err(|e| color_eyre::eyre::eyre!(e))?;
    if lab.is_some() && args.nodes.is_empty() {
        // The practice cluster's nodes are not machines: its node steps stay the user's.
        nodes.source = runbook::exec::nodes::Source::Off;
    }
    let env = Vec::new();
    let mut notice = problems.first().map(|p| format!("config: {p}"));
    if let Some(bad) = runbook::cluster::guard::bad_patterns(&config.contexts).first() {
        notice = Some(format!("config: [contexts.\"{bad}\"] is not a valid glob"));
    }
    // A Palette cluster's kubeconfig, fetched for this session (kept until it ends).
    let palette = match (args.palette_cluster.as_deref())
        .map(runbook::palette::pin::fetch_blocking)
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
    let workspace = runbook::cluster::Workspace::open(
        lab.as_ref()
            .map(runbook::lab::LabHandle::kubeconfig_path)
            .or(palette.as_ref().map(runbook::palette::pin::Fetched::path)),
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
    let options = runbook::app::Options {
        target,
        only_paths,
        paths,
        theme: runbook::ui::Theme {
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
        cwd: lab.as_deref().map(runbook::lab::LabHandle::dir),
        notice,
        workspace: Some(workspace),
        nodes,
        recording: runbook::drive::Recording::from_config(
            &config,
            lab.as_deref().map(runbook::lab::LabHandle::url),
        ),
        lab: lab.clone().map(runbook::app::SharedLab),
    };
    runbook::app::run(options)?;
    // The TUI's runtime is gone with its job: this is the last holder (else dropping stops it).
    if let Some(lab) = lab.and_then(|l| std::sync::Arc::try_unwrap(l).ok()) {
        lab.shutdown();
    }
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
            print!("{}", runbook::config::listing());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn lab(args: LabArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.list {
        for (id, title) in runbook::lab::scenario::list()? {
            writeln!(out, "{id}\t{title}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.palette {
        return Ok(runbook::palette::command::serve_fleet(&args));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let handle = runbook::lab::Lab::start(runbook::lab::LabOptions {
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

fn indent(text: &str) -> String {
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

fn list(args: &ListArgs) -> Result<ExitCode> {
    let catalog = runbook::fetch::load_catalog(&args.paths, !args.no_bundled);
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
                    "origin": r.fetched.as_ref().map(|f| json!({"url": f.url, "fetched_at": f.fetched_at})),
                    "scenarios": r.scenarios.iter().map(|s| json!({"id": s.id, "title": s.title})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "runbooks": runbooks }))?;
        writeln!(out)?;
    } else {
        for r in &catalog.runbooks {
            let origin = r.fetched.as_ref().map_or_else(
                || r.path.display().to_string(),
                runbook::fetch::describe_origin,
            );
            writeln!(out, "{}  {}  ({origin})", r.id, r.title)?;
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
    let runbooks: Vec<Runbook> = if path.exists() {
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
        let catalog = runbook::fetch::load_catalog(&args.paths, true);
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
            if let Some(f) = &r.fetched {
                writeln!(out, "({})", runbook::fetch::describe_origin(f))?;
            }
            write!(out, "{}", runbook::runbook::outline(r))?;
        }
    }
    out.flush()?;
    // Shown in full, so a fetched runbook at this content may now run.
    for r in &runbooks {
        if let Some(f) = &r.fetched {
            let scenario = (r.id != args.target)
                .then(|| r.scenarios.first().map(|s| s.id.as_str()))
                .flatten();
            if let Err(e) = runbook::fetch::cache::mark_reviewed(&r.path, &f.sha256, scenario) {
                eprintln!("runbook: cannot record that {} was shown: {e}", r.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn lint(args: &LintArgs) -> Result<ExitCode> {
    let catalog = if args.paths.is_empty() {
        runbook::fetch::load_catalog(&[], true)
    } else {
        Catalog::load(&args.paths, false)
    };
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
