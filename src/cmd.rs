//! The subcommands: each file here is one `runbook …` command (or a few close ones) as the
//! user meets it: flags in, text or JSON and an exit status out. The engine, the cluster
//! code and the TUI live elsewhere; a command only wires them together and prints.
//!
//! To add a subcommand: its flags in [`crate::cli`], a file here with a `pub fn`, and an arm in
//! [`dispatch`]. Errors a user can fix are returned (`main` prints them as one line, exit 2);
//! commands that print their own one-line errors return their `ExitCode`.

pub mod catalog;
pub mod diagnose;
pub mod fetch;
pub mod lab;
pub mod palette;
pub mod run;
pub mod sessions;
pub mod tui;

use std::io::Write;
use std::process::ExitCode;

use color_eyre::eyre::{Result, bail, eyre};

use crate::cli::{Cli, Command, ConfigArgs};

/// Runs the command `cli` names (the TUI when it names none).
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        // Whatever ends runbook, the commands it started end with it.
        crate::exec::process::watchdog::start();
        return tui::tui(&cli.tui);
    };
    match command {
        Command::List(args) => catalog::list(&args),
        Command::Show(args) => catalog::show(&args),
        Command::Lint(args) => catalog::lint(&args),
        Command::Config(args) => config(&args),
        Command::Lab(args) => lab::lab(args),
        // A wrong target, flag or context is a usage error: exit 2, like a missing value.
        Command::Run(args) => {
            // Whatever ends runbook, the commands it started end with it.
            crate::exec::process::watchdog::start();
            run::run_headless(&args).map_err(|e| match e {
                run::RunError::Target(user) => color_eyre::Report::new(user),
                other => color_eyre::Report::new(other),
            })
        }
        Command::Fetch(args) => fetch::run(&args).map_err(|e| eyre!(e)),
        Command::Diagnose(args) => {
            // Its jq workers end with it, however it ends.
            crate::exec::process::watchdog::start();
            Ok(diagnose::run(&args))
        }
        Command::Sessions(args) => sessions::sessions(&args),
        Command::Report(args) => sessions::report(&args),
        Command::Export(args) => sessions::export(&args),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "runbook", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => man(&args),
        Command::Palette(args) => Ok(palette::run(&args)),
    }
}

/// The manual: one roff document with every subcommand, or a page each into `--dir`.
fn man(args: &crate::cli::ManArgs) -> Result<ExitCode> {
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
                crate::atomic::write(&dir.join(format!("{name}.1")), &roff)?;
            }
            None => out.write_all(&roff)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn config(args: &ConfigArgs) -> Result<ExitCode> {
    let path = crate::config::path();
    match (args.path, path) {
        (_, None) => bail!("no home folder, so no config file"),
        (true, Some(p)) => println!("{}", p.display()),
        (false, Some(p)) => {
            println!("# {}", p.display());
            match std::fs::read_to_string(&p) {
                Ok(text) => print!("{text}"),
                Err(_) => println!("# (no file yet: every setting is at its default)"),
            }
            print!("{}", crate::config::listing());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM, listened for from the moment it is made: made before the lab starts,
/// a signal that comes while it starts (or right after its kubeconfig appears) still stops it
/// cleanly instead of killing it with its files left behind.
pub struct StopSignals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Starts listening (on the current tokio runtime).
    pub fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Until one of them comes.
    pub async fn wait(mut self) {
        let interrupt = async {
            match &mut self.interrupt {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        let terminate = async {
            match &mut self.terminate {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    }
}
