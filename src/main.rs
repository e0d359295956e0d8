//! The `runbook` binary: error reporting at the edge, then subcommand dispatch.

use std::process::ExitCode;

use clap::Parser;
use runbook::cli::Cli;

fn main() -> ExitCode {
    // The watchdog of a runbook process (see `exec::process::watchdog`): before anything else.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(runbook::exec::process::watchdog::ARG) {
        return runbook::exec::process::watchdog::main(&args[2..]);
    }
    // A diagnose check's jq worker (see `diagnose::jq::worker`): limits first, nothing else.
    if args.get(1).map(String::as_str) == Some(runbook::diagnose::jq::worker::ARG) {
        return runbook::diagnose::jq::worker::main();
    }
    runbook::diagnose::jq::worker::use_this_binary();
    // Panics are bugs: color-eyre reports them with a backtrace. Everything `run` returns is
    // the user's to fix: one line, a hint at most, exit 2.
    if let Err(err) = color_eyre::install() {
        eprintln!("runbook: {err}");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match runbook::cmd::dispatch(cli) {
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
