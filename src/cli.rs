//! Command-line definitions (clap). `main.rs` dispatches them; user-facing help lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "runbook",
    version,
    about = "Guided troubleshooting of Palette-managed Kubernetes clusters",
    long_about = "Loads Markdown runbooks (the bundled Palette ones plus any you name), shows each \
                  troubleshooting scenario as a checklist, and runs its commands. With no \
                  subcommand it opens the TUI on the catalog, or on TARGET.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// How the TUI starts (`runbook [TARGET]`).
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// A scenario id (`backup-stuck/restart-mgmt-pod`) or runbook id to open; the catalog when
    /// absent.
    pub target: Option<String>,
    /// Extra runbook files or folders, loaded after the bundled runbooks.
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Refuse destructive commands.
    #[arg(long, conflicts_with = "dry_run")]
    pub read_only: bool,
    /// Show the filled-in commands, run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A placeholder value, asked once otherwise (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// No colours (also when `NO_COLOR` is set).
    #[arg(long)]
    pub no_color: bool,
    /// ASCII glyphs only.
    #[arg(long)]
    pub ascii: bool,
    /// Point every command at the built-in practice cluster, started for TARGET's scenario
    /// (or with every scenario at once), instead of your kubeconfig's cluster.
    #[arg(long)]
    pub lab: bool,
    /// The kube context to use (default: the kubeconfig's current one). Commands run against
    /// it through a generated kubeconfig; yours is never changed.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace commands default to (default: the context's).
    #[arg(long, short = 'n', value_name = "NAME")]
    pub namespace: Option<String>,
    /// A node for steps marked `target=nodes` (`host`, `user@host:port`; repeatable); replaces
    /// `[ssh] nodes` from the config. Default: the cluster's nodes' `InternalIP` addresses.
    #[arg(long = "node", value_name = "ADDR")]
    pub nodes: Vec<String>,
    /// A Palette cluster whose kubeconfig (fetched with your Palette API key) the commands use,
    /// the way --context pins a context; yours is never changed.
    #[arg(long, value_name = "NAME", conflicts_with = "lab")]
    pub palette_cluster: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List runbooks and their scenarios, with the ids other commands take.
    List(ListArgs),
    /// Show a runbook or scenario: its procedures, steps and blocks.
    Show(ShowArgs),
    /// Check runbooks for mistakes; exits 1 when any error is found.
    Lint(LintArgs),
    /// Run a scenario's steps without the TUI; exits 0 only when every step passed.
    Run(RunArgs),
    /// Start the practice cluster: a local Kubernetes API seeded with a broken scenario.
    Lab(LabArgs),
    /// Which runbook fits? Run the runbooks' read-only checks against a cluster and rank the
    /// scenarios that match, with their evidence.
    Diagnose(DiagnoseArgs),
    /// Where the config file is, and what it holds.
    Config(ConfigArgs),
    /// Download runbooks (or index files listing them) from URLs into the cache; they join the
    /// catalog, and each must be shown (`runbook show`) before it can run.
    Fetch(FetchArgs),
    /// List recorded sessions, newest first; `--prune` removes old ones.
    Sessions(SessionsArgs),
    /// A session's transcript for a support ticket (secrets redacted).
    Report(ReportArgs),
    /// A scenario as a numbered copy-paste checklist, values filled in, for someone to run
    /// it themselves.
    Export(ExportArgs),
    /// Palette: list clusters, gateways and events; download a cluster's kubeconfig.
    Palette(PaletteArgs),
    /// Shell completions for bash, zsh or fish, on standard output.
    Completions(CompletionsArgs),
    /// The manual page (roff), every subcommand included; `--dir` writes one page each.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish (elvish and powershell work too).
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write runbook.1 and runbook-SUBCOMMAND.1 into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Prints one line per URL: fetched, unchanged (304), offline (the cached copy, \
                  with its age) or failed (why). Exit status: 0, or 1 when a URL failed and \
                  has no cached copy."
)]
pub struct FetchArgs {
    /// Runbook or index URLs; default: `sources` in the config file.
    pub urls: Vec<String>,
    /// Allow plain http:// URLs.
    #[arg(long)]
    pub allow_http: bool,
    /// Also trust the CA certificates in this PEM file (a server with a private CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Give up on a URL after this long (`30s`, `2m`).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: String,
    /// Print JSON: {"results":[{"url","status","kind","index","path","id",...}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the config file's path.
    #[arg(long)]
    pub path: bool,
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
    /// Who the kubeconfig's current context is: `admin` (kubeadm's admin, may do anything) or
    /// `restricted` (user `trainee`: reads `default` only, everything else is refused with 403
    /// Forbidden, as RBAC refuses it; the admin context `runbook-lab` stays in the kubeconfig).
    #[arg(long, value_name = "USER", default_value = "admin", value_parser = ["admin", "restricted"])]
    pub user: String,
    /// Serve a fleet of practice clusters behind a Palette API stand-in (--port is then the
    /// stand-in's).
    #[arg(long, conflicts_with_all = ["scenario", "kubeconfig"])]
    pub palette: bool,
    /// How many practice clusters (with --palette): each seeded with one scenario, round
    /// robin, plus healthy ones.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "palette")]
    pub clusters: usize,
    /// Write `PALETTE_HOST=...` and `PALETTE_API_KEY=...` lines to FILE (mode 0600) once the
    /// fleet is ready.
    #[arg(long, value_name = "FILE", requires = "palette")]
    pub palette_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when the checks ran (whether or not anything matched), 2 when \
                  the cluster cannot be reached or the kubeconfig cannot be read. With --fleet: \
                  0 when every cluster was reached, 1 when some were not, 2 when none was; JSON \
                  {\"clusters\":[{\"cluster\",\"source\",\"results\",\"error\"}]}. Only GET \
                  requests are made; nothing is written to the cluster, except the Events of \
                  --emit-events."
)]
pub struct DiagnoseArgs {
    /// Kubeconfig context to use (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Kubeconfig file (default: `KUBECONFIG`, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Print JSON: {"results":[{"runbook":"<scenario id>","matched","evidence":[..],"title",
    /// "path","score","error"?}]}, best match first.
    #[arg(long)]
    pub json: bool,
    /// Limit for each API call and each check (`10s`, `1500ms`, `1m`).
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = crate::duration::limit_arg)]
    pub timeout: std::time::Duration,
    /// Extra runbook files or folders whose checks run too.
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Fleet diagnosis, in-cluster runs, events and Palette clusters.
    #[command(flatten)]
    pub fleet: crate::diagnose::fleet::FleetArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Extra runbook files or folders, loaded after the bundled runbooks.
    pub paths: Vec<PathBuf>,
    /// Print JSON: {"runbooks":[{"id","path","title","tags","origin","scenarios":[{"id","title"}]}]}
    /// (`origin` is `{"url","fetched_at"}` for a fetched runbook, else null).
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
    /// Mark a fetched runbook as reviewed even though the output is not a terminal (it is
    /// marked only when shown on one otherwise).
    #[arg(long)]
    pub accept: bool,
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

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when every step passed, 1 when a step failed, was blocked or \
                  is pending, 2 when a placeholder has no value or the command line is wrong (unknown \
                  target or context, a protected context without --confirm-context), 128+N \
                  when stopped by signal N."
)]
pub struct RunArgs {
    /// A scenario id (`backup-stuck/restart-mgmt-pod`), a runbook id with one scenario, or a
    /// runbook file.
    pub target: String,
    /// Which procedure: its number (1-based) or (part of) its title. Default: the first.
    #[arg(long, value_name = "N|NAME")]
    pub procedure: Option<String>,
    /// Which scenario of a runbook with several (its id or slug).
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
    /// A placeholder value, `name=value` (`--var namespace=kube-system`); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Run destructive commands and count manual and on-node steps as done without asking.
    #[arg(long)]
    pub yes: bool,
    /// Refuse destructive commands; their steps are reported as blocked.
    #[arg(long, conflicts_with = "yes")]
    pub read_only: bool,
    /// Print each filled-in command (secrets masked) and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start at this step (1-based, counting sub-steps in order).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub from_step: usize,
    /// One JSON object per line per event: `step_started`, `command_started`, output,
    /// `command_finished`, `step_finished`, summary.
    #[arg(long)]
    pub json: bool,
    /// Bound for each command without a `timeout=` attribute (`90s`, `10m`).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// Save each command's full output (secrets masked) under this folder.
    #[arg(long, value_name = "DIR")]
    pub save_output: Option<PathBuf>,
    /// Extra runbook files or folders to look the id up in.
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The kube context to use (default: the kubeconfig's current one). Commands run against
    /// it through a generated kubeconfig; yours is never changed.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace commands default to (default: the context's).
    #[arg(long, short = 'n', value_name = "NAME")]
    pub namespace: Option<String>,
    /// For a context the config protects with `guard = "confirm-name"`: its name, typed
    /// out, lets destructive commands run (with --yes).
    #[arg(long, value_name = "NAME")]
    pub confirm_context: Option<String>,
    /// A node for steps marked `target=nodes` (`host`, `user@host:port`; repeatable); replaces
    /// `[ssh] nodes` from the config. Default: the cluster's nodes' `InternalIP` addresses.
    #[arg(long = "node", value_name = "ADDR")]
    pub nodes: Vec<String>,
    /// Do not record a session (by default each run is saved; its id is printed at the end).
    #[arg(long)]
    pub no_session: bool,
    /// Replace secrets in what is printed (output, commands, `--json` events) with markers
    /// such as `‹redacted:aws-secret-key#1›`; off by default so you see your own output.
    #[arg(long)]
    pub redact: bool,
    /// Print commands' output byte for byte; by default escape sequences other than colours
    /// are shown as `␛` and control characters as `^X`.
    #[arg(long)]
    pub raw_output: bool,
    /// A Palette cluster whose kubeconfig (fetched with your Palette API key) the commands use,
    /// the way --context pins a context; yours is never changed.
    #[arg(long, value_name = "NAME")]
    pub palette_cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Print JSON: {"sessions":[{"id","scenario","context","server","started","updated",
    /// "status","done","total","path"}]}.
    #[arg(long)]
    pub json: bool,
    /// Remove sessions whose last activity is older than `--older-than`, and sessions whose
    /// files cannot be read (whatever their age).
    #[arg(long)]
    pub prune: bool,
    /// Age for `--prune` (`30d`, `12h`).
    #[arg(long, value_name = "AGE", default_value = "30d", requires = "prune")]
    pub older_than: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Secrets are replaced by markers (`‹redacted:password#1›`, the same number for the \
                  same value) and the report ends with the list of what was redacted. With \
                  --check, prints FILE:LINE:KIND for each secret found in the files and exits 1 \
                  when there is any, 0 when there is none."
)]
pub struct ReportArgs {
    /// A session id, a unique prefix of one, or `last`.
    #[arg(required_unless_present = "check")]
    pub session: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Write the report to FILE (readable by you only) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Scan these text files (a log a customer wants to attach) for secrets instead, with
    /// the same detectors; repeatable.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["session", "output", "no_redact"])]
    pub check: Vec<PathBuf>,
    /// Leave secrets in (for your own eyes; never for a ticket).
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A scenario id, a runbook id with one scenario, or a runbook file.
    pub target: String,
    /// Which scenario of a runbook with several (its id or slug).
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
    /// Which procedure: its number (1-based) or (part of) its title. Default: the first.
    #[arg(long, value_name = "N|NAME")]
    pub procedure: Option<String>,
    /// A value to fill in, `name=value`; repeatable. Secret values are never written.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Write the checklist to FILE (readable by you only) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Extra runbook files or folders to look the id up in.
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Leave values that look like secrets in (they are replaced by markers by default).
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The API key comes from PALETTE_API_KEY (or SPECTROCLOUD_APIKEY) or [palette] \
                  api_key_file in the config; the endpoint from PALETTE_HOST (or \
                  SPECTROCLOUD_HOST), default Palette SaaS. Exit status: 0, or 2 with one line \
                  saying what went wrong."
)]
pub struct PaletteArgs {
    #[command(subcommand)]
    pub command: PaletteCommand,
    /// Project name or uid (default: `PALETTE_PROJECT`, then `[palette] project`; none: every
    /// project the key can see).
    #[arg(long, global = true, value_name = "NAME|UID")]
    pub project: Option<String>,
    /// Also trust the CA certificates in this PEM file (a self-hosted Palette).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Limit for each API request (`30s`, `2m`).
    #[arg(long, global = true, value_name = "DUR", value_parser = crate::duration::limit_arg)]
    pub timeout: Option<std::time::Duration>,
}

#[derive(Debug, Subcommand)]
pub enum PaletteCommand {
    /// The clusters of the project: name, project, cloud, state, health, Kubernetes version.
    Clusters {
        /// Print JSON: {"clusters":[{"name","uid","project","cloud","state","health"}]}.
        #[arg(long)]
        json: bool,
    },
    /// A cluster's kubeconfig, to standard output or a file (mode 0600, written atomically).
    Kubeconfig {
        /// The cluster's name (or uid).
        cluster: String,
        /// Write it to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Which kubeconfig Palette hands out.
        #[arg(long, value_enum, default_value = "default")]
        variant: crate::palette::Variant,
        /// Allow --output to replace your ~/.kube/config (or a file in KUBECONFIG) entirely.
        #[arg(long)]
        force: bool,
    },
    /// The private cloud gateways and their status.
    Gateways {
        /// Print JSON: {"gateways":[{"name","uid","state","health","active","ready"}]}.
        #[arg(long)]
        json: bool,
    },
    /// A cluster's recent events, as Palette recorded them.
    Events {
        /// The cluster's name (or uid).
        cluster: String,
        /// Print JSON: {"events":[{"time","severity","reason","message","component"}]}.
        #[arg(long)]
        json: bool,
    },
}
