//! Command-line definitions (clap). `main.rs` dispatches them; user-facing help lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "runbook",
    version,
    about = "Guided troubleshooting of Palette-managed Kubernetes clusters",
    long_about = "Loads Markdown runbooks (the bundled Palette ones plus any you name), shows each \
                  troubleshooting scenario as a checklist, and runs its commands."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List runbooks and their scenarios, with the ids other commands take.
    List(ListArgs),
    /// Show a runbook or scenario: its procedures, steps and blocks.
    Show(ShowArgs),
    /// Check runbooks for mistakes; exits 1 when any error is found.
    Lint(LintArgs),
    /// Start the practice cluster: a local Kubernetes API seeded with a broken scenario.
    Lab(LabArgs),
}

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Lab scenario id (a runbook scenario id, e.g. `backup-stuck/restart-mgmt-pod`); default:
    /// every scenario at once.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Where to write the lab's kubeconfig (default: a fresh temporary folder). Never your
    /// ~/.kube/config.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Print the lab scenarios, one per line, id first, and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Extra runbook files or folders, loaded after the bundled runbooks.
    pub paths: Vec<PathBuf>,
    /// Print JSON: {"runbooks":[{"id","path","title","tags","scenarios":[{"id","title"}]}]}.
    #[arg(long)]
    pub json: bool,
    /// Leave the bundled runbooks out.
    #[arg(long)]
    pub no_bundled: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A runbook file, a runbook id (`backup-stuck`) or a scenario id (`backup-stuck/restart-mgmt-pod`).
    pub target: String,
    /// Extra runbook files or folders to look the id up in.
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the full model as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Runbook files or folders; the bundled runbooks when none is given.
    pub paths: Vec<PathBuf>,
    /// Print findings as JSON: {"findings":[{"path","line","col","severity","code","message"}]}.
    #[arg(long)]
    pub json: bool,
    /// Do not run shellcheck on command blocks even when it is installed.
    #[arg(long)]
    pub no_shellcheck: bool,
}
